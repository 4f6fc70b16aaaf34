use std::collections::BTreeSet;

use utoipa::openapi::path::PathItem;
use utoipa::OpenApi;

use super::{ApiDoc, RENDERED};
use crate::http::routes::{docs, endpoints, probes};

/// The methods a path of the description has operations for.
fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
        ("HEAD", &item.head),
        ("OPTIONS", &item.options),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter(|(_, op)| op.is_some())
    .map(|(m, _)| m)
    .collect()
}

#[test]
fn the_description_and_the_route_table_name_the_same_routes() {
    let routed: BTreeSet<(String, String)> = endpoints()
        .iter()
        .map(|e| (e.method.to_string(), format!("/v1{}", e.path)))
        .chain(
            probes()
                .iter()
                .chain(&docs())
                .map(|e| (e.method.to_string(), e.path.to_string())),
        )
        .collect();
    let described: BTreeSet<(String, String)> = ApiDoc::openapi()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            methods(item)
                .into_iter()
                .map(|m| (m.to_string(), path.clone()))
        })
        .collect();
    let undescribed: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undescribed.is_empty() && unrouted.is_empty(),
        "routes missing from the description: {undescribed:?}\n\
         described operations that are not routes: {unrouted:?}"
    );
}

#[test]
fn operation_ids_are_unique_and_every_operation_has_a_summary_and_a_success() {
    let doc = ApiDoc::openapi();
    let mut ids = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
        {
            let id = op.operation_id.clone().unwrap_or_default();
            assert!(ids.insert(id.clone()), "{id} twice");
            assert!(op.summary.is_some(), "{id} ({path}) has no doc comment");
            assert!(
                op.responses.responses.keys().any(|s| s.starts_with('2')),
                "{id} ({path}) has no success response"
            );
        }
    }
}

#[test]
fn every_write_that_takes_if_match_documents_its_conflict() {
    let doc = ApiDoc::openapi();
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        for op in [&item.post, &item.put, &item.patch, &item.delete]
            .into_iter()
            .flatten()
        {
            let takes_if_match = op.parameters.iter().flatten().any(|p| p.name == "If-Match");
            if takes_if_match {
                checked += 1;
                let conflict = op.responses.responses.get("409");
                assert!(conflict.is_some(), "{path}: If-Match without a 409");
            }
        }
    }
    assert!(checked >= 10, "only {checked} writes take If-Match");
}

#[test]
fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let json = serde_json::to_value(ApiDoc::openapi()).expect("serializable");
    assert!(json["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.1")));
    let schemas = json["components"]["schemas"]
        .as_object()
        .expect("named schemas");
    let mut refs = Vec::new();
    collect_refs(&json, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn money_is_a_number_and_ids_are_hex() {
    let json = serde_json::to_value(ApiDoc::openapi()).expect("serializable");
    let schemas = &json["components"]["schemas"];
    assert_eq!(schemas["Money"]["type"], "number");
    assert_eq!(schemas["ObjectId"]["pattern"], "^[0-9a-fA-F]{24}$");
    let amount = &schemas["ExpenseView"]["properties"]["amount"];
    assert_eq!(amount["$ref"], "#/components/schemas/Money");
}

#[test]
fn the_page_allows_exactly_its_own_inline_script_and_style() {
    let (page, policy) = &*RENDERED;
    assert!(!page.contains("/*SCRIPT*/") && !page.contains("/*STYLE*/"));
    assert!(page.contains("openapi.json"));
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(policy.contains("style-src 'sha256-"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    // Nothing from elsewhere: no URL of another host in the page.
    assert!(!page.contains("http://") && !page.contains("https://"));
}
