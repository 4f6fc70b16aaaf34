//! The API description at `/v1/openapi.json` and the page that renders it at
//! `/v1/docs`, as served: outside the readiness gate, the page with a policy
//! of its own that still forbids anything from elsewhere.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_description_is_served_as_openapi_3_1_json() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .expect("request is sent");

    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = res.json().await.expect("JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    // Every operation of the app, e.g. the expense the app edits.
    let put = &doc["paths"]["/v1/expenses/{id}"]["put"];
    assert_eq!(
        put["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ExpenseBody"
    );
    assert_eq!(doc["components"]["schemas"]["Money"]["type"], "number");
}

#[tokio::test]
async fn the_page_is_ours_with_a_policy_that_lets_only_its_own_script_run() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/v1/docs"))
        .send()
        .await
        .expect("request is sent");

    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // One policy, the page's (the API's `default-src 'none'` alone would
    // block its inline script and style).
    let policies: Vec<_> = headers
        .get_all("content-security-policy")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(policies.len(), 1, "{policies:?}");
    let policy = &policies[0];
    for directive in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = res.text().await.expect("body");
    assert!(html.contains("<script>") && html.contains("openapi.json"));
    assert!(
        !html.contains("<script src"),
        "nothing loaded from elsewhere"
    );
}

#[tokio::test]
async fn other_responses_keep_the_strict_policy() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .expect("request is sent");

    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}
