//! Optimistic concurrency as clients see it. Every expense and group carries
//! a `version`, counted up by each change, shown in its JSON and as the
//! `ETag` of single-document responses (`ETag: "7"`). A write may name the
//! version it was based on, with `If-Match: "7"` or a `version` field in the
//! body: when the document has changed since, the write is refused with 409
//! `VERSION_CONFLICT` and the current document, so two phones editing one
//! expense never overwrite each other silently. Without it the server
//! re-applies the fields the client sent to the current document
//! (`crate::app::versions`). This module reads the precondition and tags
//! the answer.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;

/// `If-Match`, as the API description lists it among a write's parameters
/// (schema only: [`expected_version`] reads the header).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct IfMatch {
    /// The version the change is based on, as sent in `ETag` (`"3"`); `*`
    /// or none: apply it to the current version.
    #[param(rename = "If-Match", nullable = false)]
    if_match: Option<String>,
}

/// The 409 of a version-checked write, as the API description lists it.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "Changed since that version (`VERSION_CONFLICT`; `data` is the current \
        object where the write answers with one)"
)]
#[allow(dead_code)]
pub struct VersionConflict(super::Failure);

/// The version a write is based on: from `If-Match`, else from the body's
/// `version`; none when the client gives neither (or `If-Match: *`).
pub fn expected_version(
    req: &HttpRequest,
    body_version: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    let from_header = match req.headers().get(header::IF_MATCH) {
        Some(value) => parse_if_match(value)?,
        None => None,
    };
    match (from_header, body_version) {
        (Some(h), Some(b)) if h != b => Err(ApiError::bad_request(
            "If-Match and the body's version name different versions",
        )),
        (Some(v), _) | (None, Some(v)) if v < 0 => Err(bad_version()),
        (h, b) => Ok(h.or(b)),
    }
}

fn bad_version() -> ApiError {
    ApiError::bad_request("If-Match (or version) must name one version, as sent in ETag (\"3\")")
}

/// `"3"`, `W/"3"` or a bare `3`; `*` matches any version. A list of several
/// versions is refused: a document has one.
fn parse_if_match(value: &HeaderValue) -> Result<Option<i64>, ApiError> {
    let raw = value.to_str().map_err(|_| bad_version())?.trim();
    if raw == "*" {
        return Ok(None);
    }
    let tag = raw.strip_prefix("W/").unwrap_or(raw);
    let tag = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag);
    if tag.is_empty() || tag.len() > 18 || !tag.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_version());
    }
    tag.parse().map(Some).map_err(|_| bad_version())
}

/// Adds `ETag: "<version>"` to a response about one document.
pub fn tagged(mut response: HttpResponse, version: i64) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn expected(if_match: Option<&str>, body: Option<i64>) -> Result<Option<i64>, String> {
        let mut req = TestRequest::default();
        if let Some(v) = if_match {
            req = req.insert_header((header::IF_MATCH, v));
        }
        expected_version(&req.to_http_request(), body).map_err(|e| e.to_string())
    }

    #[test]
    fn if_match_takes_the_forms_clients_send() {
        assert_eq!(expected(Some("\"3\""), None), Ok(Some(3)));
        assert_eq!(expected(Some("W/\"3\""), None), Ok(Some(3)));
        assert_eq!(expected(Some(" 12 "), None), Ok(Some(12)));
        // A document written before versions shows version 0.
        assert_eq!(expected(Some("\"0\""), None), Ok(Some(0)));
        assert_eq!(expected(Some("*"), None), Ok(None));
        assert_eq!(expected(None, Some(4)), Ok(Some(4)));
        assert_eq!(expected(Some("\"4\""), Some(4)), Ok(Some(4)));
        assert_eq!(expected(None, None), Ok(None));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "\"3\", \"4\"",
            "\"\"",
            "abc",
            "\"-1\"",
            "99999999999999999999",
        ] {
            assert!(expected(Some(bad), None).is_err(), "{bad}");
        }
        assert!(expected(None, Some(-1)).is_err());
        assert!(expected(Some("\"3\""), Some(4)).is_err());
    }
}
