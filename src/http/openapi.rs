//! The API description: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` annotations and the request and response types they
//! name (`utoipa` derives each schema from the type's serde shape), served at
//! `/v1/openapi.json`, and a page of our own at `/v1/docs` that renders it.
//!
//! What every operation shares is added here once ([`Conventions`]): the
//! bearer scheme, the error envelope, and the error statuses any request may
//! meet (a malformed input, an unknown id, a rate limit, a database not yet
//! ready), so an annotation lists only what is particular to its route. A
//! test checks that the document and the route table name the same methods
//! and paths.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::HttpResponse;
use base64::Engine;
use sha2::{Digest, Sha256};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::{activity, auth, blocks, comments, contact, expenses, friends, groups, health, images};
use super::{conversions, exports, imports, invites, payments, rates, recurring};
use super::{sessions, settle, sync, users};
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Splitlyr API",
        description = include_str!("docs/about.md"),
    ),
    paths(
        auth::register,
        auth::login,
        sessions::refresh,
        sessions::logout,
        sessions::logout_all,
        sessions::sessions,
        sessions::end_session,
        users::search,
        users::profile,
        users::update_profile,
        users::change_password,
        users::balances,
        users::deactivate,
        friends::list,
        friends::add,
        friends::remove,
        friends::accept,
        friends::decline,
        friends::balance,
        blocks::list,
        blocks::block,
        blocks::unblock,
        groups::create,
        groups::list,
        groups::get,
        groups::update,
        groups::delete,
        groups::add_member,
        groups::remove_member,
        groups::change_role,
        groups::leave,
        invites::create_invite,
        invites::list_invites,
        invites::revoke_invite,
        invites::add_guest,
        invites::preview,
        invites::accept,
        settle::group,
        exports::group_export,
        settle::mine,
        expenses::create,
        expenses::list,
        exports::mine_export,
        expenses::group_expenses,
        expenses::group_balance,
        expenses::get,
        expenses::update,
        expenses::delete,
        expenses::settle,
        expenses::restore,
        activity::feed,
        sync::sync,
        activity::expense_history,
        activity::payment_history,
        images::put_receipt,
        images::delete_receipt,
        images::put_profile_image,
        images::delete_profile_image,
        images::serve,
        payments::create,
        payments::list,
        payments::get,
        payments::update,
        payments::delete,
        payments::restore,
        recurring::create,
        recurring::list,
        recurring::get,
        recurring::update,
        recurring::delete,
        imports::splitwise,
        imports::job,
        rates::show,
        conversions::create,
        conversions::get,
        conversions::delete,
        conversions::restore,
        comments::expense_comments,
        comments::comment_on_expense,
        comments::delete_expense_comment,
        comments::payment_comments,
        comments::comment_on_payment,
        comments::delete_payment_comment,
        contact::submit,
        health::healthz,
        health::livez,
        document,
        page,
    ),
    tags(
        (name = "auth", description = "Accounts and sessions: register, login, refresh tokens"),
        (name = "users", description = "My profile, password, balances; finding people"),
        (name = "friends", description = "Friends, friend requests, the balance with a friend"),
        (name = "imports", description = "Bringing a group's history over from Splitwise"),
        (name = "blocks", description = "People I blocked"),
        (name = "groups", description = "Groups and their members"),
        (name = "invites", description = "Invite links to a group, and guests: members without an account"),
        (name = "settle-up", description = "Suggested payments that settle balances"),
        (name = "expenses", description = "Expenses: amounts, who paid, who owes"),
        (name = "payments", description = "Money that changed hands between two people"),
        (name = "recurring", description = "Recurring expenses: a schedule whose occurrences become expenses"),
        (name = "currency", description = "Exchange rates, and moving balances from one currency to another"),
        (name = "pictures", description = "Profile photos and receipts"),
        (name = "comments", description = "What people wrote on an expense or a payment"),
        (name = "sync", description = "Offline sync: a snapshot, then every change since a cursor"),
        (name = "activity", description = "Who changed what, and when: the feed and one object's history"),
        (name = "contact", description = "The public contact form"),
        (name = "ops", description = "Probes"),
        (name = "docs", description = "This description"),
    ),
    modifiers(&Conventions),
)]
pub struct ApiDoc;

/// What every operation shares: see the module doc.
struct Conventions;

/// The statuses any operation of `/v1` may answer with the error envelope:
/// a malformed input, an unknown id (or path), a rate limit, a database
/// unreachable or not yet prepared.
const COMMON: [(&str, &str); 4] = [
    (
        "400",
        "Invalid input: the message says what (validation failures list `errors`)",
    ),
    ("404", "Not found"),
    (
        "429",
        "Too many requests (`Retry-After` says when to try again)",
    ),
    (
        "503",
        "The database is unavailable or being prepared (`Retry-After`)",
    ),
];

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `token` of register or login"))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = !OUTSIDE_API.contains(&path.as_str());
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                name(op);
                summarize(op);
                complete(op, api);
            }
        }
    }
}

/// Paths outside the API proper: no input to refuse, no id to look up, and
/// the probes answer 503 themselves.
const OUTSIDE_API: [&str; 4] = ["/v1/healthz", "/v1/livez", "/v1/openapi.json", "/v1/docs"];

/// `tag.function`, unique where a function name alone (`create`) is not.
fn name(op: &mut Operation) {
    let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
    if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
        *id = format!("{tag}.{id}");
    }
}

/// The doc comment's first sentence as the summary, the whole comment as
/// the description (utoipa takes the first paragraph as the summary).
fn summarize(op: &mut Operation) {
    let Some(text) = op.summary.take() else {
        return;
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = text.find(". ").map_or(text.as_str(), |end| &text[..end]);
    let first = first.trim_end_matches('.').to_string();
    if first.len() + 1 < text.len() {
        op.description = Some(match op.description.take() {
            Some(rest) => format!("{text}\n\n{rest}"),
            None => text,
        });
    }
    op.summary = Some(first);
}

/// Adds the shared error responses the operation does not list itself.
fn complete(op: &mut Operation, api: bool) {
    let secured = serde_json::to_value(&op.security)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .is_some_and(|reqs| {
            reqs.iter()
                .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
        });
    let mut shared: Vec<(&str, &str)> = Vec::new();
    if api {
        shared.extend(COMMON);
    } else {
        shared.push(COMMON[2]);
    }
    if secured {
        shared.push((
            "401",
            "No token, or one that is invalid, expired or revoked",
        ));
    }
    if op.request_body.is_some() {
        shared.push(("413", "The body is too large"));
    }
    for (status, description) in shared {
        let envelope = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build();
        let response = ResponseBuilder::new()
            .description(description)
            .content("application/json", envelope)
            .build();
        op.responses
            .responses
            .entry(status.into())
            .or_insert(RefOr::T(response));
    }
}

/// The document as served, serialized once.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// This description, as JSON.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn document() -> Result<HttpResponse, ApiError> {
    let json = DOCUMENT
        .as_ref()
        .map_err(|e| ApiError::internal(e.clone()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json.as_str()))
}

const PAGE: &str = include_str!("docs/page.html");
const SCRIPT: &str = include_str!("docs/docs.js");
const STYLE: &str = include_str!("docs/docs.css");

/// The page with its script and style inlined, and the policy that lets
/// exactly those run: the hashes of the two inline blocks (not
/// `'unsafe-inline'`, so nothing else injected into the page would), the
/// description fetched from this origin, nothing else loaded.
static RENDERED: LazyLock<(String, String)> = LazyLock::new(|| {
    let hash = |text: &str| {
        let digest = Sha256::digest(text.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    };
    let page = PAGE
        .replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT);
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash(SCRIPT),
        hash(STYLE)
    );
    (page, policy)
});

/// A page that renders this description: operations by tag with their
/// parameters, bodies and responses, then every schema. Served from the
/// binary; it loads nothing but `/v1/openapi.json`.
#[utoipa::path(get, path = "/v1/docs", tag = "docs",
    responses((status = 200, description = "The page", body = String, content_type = "text/html")))]
pub async fn page() -> HttpResponse {
    let (page, policy) = &*RENDERED;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, policy.as_str()))
        .body(page.as_str())
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
