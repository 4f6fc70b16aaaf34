//! The HTTP layer: the route table (`routes`), one file of handlers per
//! resource, the extractors, the success envelope, id and pagination
//! parsing, and the mapping of errors to the contract's envelope. Handlers
//! parse the request, call the application layer (`crate::app`) and render.

pub mod activity;
pub mod auth;
pub mod blocks;
mod caller;
pub mod comments;
pub mod contact;
pub mod conversions;
pub mod errors;
pub mod expenses;
pub mod exports;
pub mod friends;
pub mod groups;
pub mod health;
pub mod idempotency;
pub mod images;
pub mod imports;
pub mod invites;
pub mod middleware;
pub mod openapi;
pub mod payments;
pub mod rates;
pub mod recurring;
pub mod routes;
pub mod sessions;
pub mod settle;
pub mod sync;
pub mod users;
pub mod versions;

use actix_web::error::{JsonPayloadError, PayloadError};
use actix_web::{web, HttpRequest, HttpResponse};
use mongodb::bson::oid::ObjectId;
use serde::Serialize;

use crate::error::{envelope, ApiError};
use crate::state::AppState;

pub use crate::app::{Page, Pagination, MAX_PAGE_SIZE};
pub use crate::error::Checks;
pub use caller::bearer_fingerprint;

/// The application state (see `crate::state`), as registered on the server.
pub fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState missing from app data"))
}

/// The contract's success envelope:
/// `{"success": true, "message": ..., "data": ..., "pagination"?: ...}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Envelope<'a, T> {
    pub success: bool,
    pub message: &'a str,
    pub data: T,
    /// On lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    pub fn new(message: &'a str, data: T) -> Self {
        Self {
            success: true,
            message,
            data,
            pagination: None,
        }
    }
}

/// The error envelope, as the API description names it
/// (`body = Failure` in `#[utoipa::path]`).
pub type Failure = errors::ErrorBody<'static>;

/// 200 with the success envelope.
pub fn ok<T: Serialize>(message: &str, data: T) -> HttpResponse {
    HttpResponse::Ok().json(Envelope::new(message, data))
}

/// 201 with the success envelope.
pub fn created<T: Serialize>(message: &str, data: T) -> HttpResponse {
    HttpResponse::Created().json(Envelope::new(message, data))
}

/// Success envelope of list endpoints: adds `pagination`.
pub fn ok_page<T: Serialize>(message: &str, data: T, page: &Page, total: u64) -> HttpResponse {
    HttpResponse::Ok().json(Envelope {
        pagination: Some(page.describe(total)),
        ..Envelope::new(message, data)
    })
}

/// Parses a 24-hex id from a path segment; `what` names it in the message
/// ("Invalid expense ID format").
pub fn parse_id(raw: &str, what: &str) -> Result<ObjectId, ApiError> {
    ObjectId::parse_str(raw).map_err(|_| ApiError::bad_request(format!("Invalid {what} ID format")))
}

/// An optional id from a query parameter: absent or blank is none,
/// malformed is a 400 naming `what`.
pub fn optional_id(raw: Option<&str>, what: &str) -> Result<Option<ObjectId>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => parse_id(r, what).map(Some),
        None => Ok(None),
    }
}

/// JSON bodies: size-limited, and every failure is a 4xx in the envelope.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            let api = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => ApiError::PayloadTooLarge,
                JsonPayloadError::Payload(PayloadError::Overflow) => ApiError::PayloadTooLarge,
                JsonPayloadError::ContentType => not_json(),
                JsonPayloadError::Deserialize(e) => json_error(e),
                _ => ApiError::bad_request("Request body must be valid JSON"),
            };
            api.into()
        })
}

pub fn not_json() -> ApiError {
    ApiError::bad_request("Content-Type must be application/json")
}

/// A body that is not what the route reads, as `web::Json` reports it.
fn json_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::bad_request(format!("Invalid request body: {}", strip_position(e)))
    } else {
        ApiError::bad_request("Request body must be valid JSON")
    }
}

/// Parses a JSON body read by the handler itself, with the same checks and
/// messages as `web::Json` (a JSON `Content-Type`, then the fields).
pub fn parse_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    if !is_json(req) {
        return Err(not_json());
    }
    serde_json::from_slice(body).map_err(|e| json_error(&e))
}

/// `application/json`, or any `+json` type, as `web::Json` accepts.
pub fn is_json(req: &HttpRequest) -> bool {
    use actix_web::HttpMessage;
    matches!(req.mime_type(), Ok(Some(m))
        if m.subtype() == actix_web::mime::JSON || m.suffix() == Some(actix_web::mime::JSON))
}

/// serde_json appends " at line 1 column 9"; the app shows messages to people.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|_, _| ApiError::bad_request("Invalid query parameters").into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::bad_request("Invalid path").into())
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let message = format!("Route {} not found", req.path());
    HttpResponse::NotFound().json(envelope(&message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed envelope writes what the `json!` literals it replaced wrote.
    #[test]
    fn the_envelope_is_the_json_it_replaced() {
        let data = json!({ "_id": "65a1b2c3d4e5f60718293a4b", "amount": 12.5 });
        let one =
            serde_json::to_value(Envelope::new("Expense created successfully", &data)).unwrap();
        assert_eq!(
            one,
            json!({ "success": true, "message": "Expense created successfully", "data": data })
        );
        let page = Page::from_query(Some(2), Some(10)).unwrap();
        let listed = serde_json::to_value(Envelope {
            pagination: Some(page.describe(25)),
            ..Envelope::new("Expenses retrieved successfully", [&data])
        })
        .unwrap();
        assert_eq!(
            listed,
            json!({
                "success": true,
                "message": "Expenses retrieved successfully",
                "data": [data],
                "pagination": { "current": 2, "limit": 10, "pages": 3, "total": 25 },
            })
        );
        // Key order as before: the app's JSON parser does not care, people reading logs do.
        let text = serde_json::to_string(&Envelope::new("m", 1)).unwrap();
        assert_eq!(text, r#"{"success":true,"message":"m","data":1}"#);
    }
}
