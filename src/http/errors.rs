//! Errors as HTTP answers: each [`ApiError`] variant's status, the
//! contract's error envelope (`{success: false, message, errors?, code?,
//! data?}` with `Retry-After` where it applies), and the store's own errors
//! mapped to them — once, here.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{ApiError, FieldError};
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(e) => Self::Unavailable(e),
            StoreError::Internal(e) => Self::Internal(e),
            StoreError::EmailTaken => Self::bad_request("User already exists with this email"),
            StoreError::QuotaExceeded { quota } => Self::TooLarge {
                message: format!(
                    "Your pictures would use more than your {} MiB; remove a receipt or your photo first",
                    quota >> 20
                ),
                code: Some("QUOTA_EXCEEDED"),
            },
        }
    }
}

/// How a validation failure lays out `errors`: the screens of the app read
/// them differently (see the contract's envelope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorsShape {
    /// `[{"field": "email", "message": "..."}]`: every screen but sign-in.
    List,
    /// `{"email": ["..."]}`: the sign-in screen shows each under its input.
    ByField,
}

/// `errors` of a validation failure: a list, or (on `/v1/auth`) each
/// field's messages.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum ErrorsView<'a> {
    List(&'a [FieldError]),
    ByField(BTreeMap<&'a str, Vec<&'a str>>),
}

impl<'a> ErrorsView<'a> {
    fn new(errors: &'a [FieldError], shape: ErrorsShape) -> Self {
        match shape {
            ErrorsShape::List => Self::List(errors),
            ErrorsShape::ByField => {
                let mut by_field: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for e in errors {
                    by_field.entry(&e.field).or_default().push(&e.message);
                }
                Self::ByField(by_field)
            }
        }
    }
}

/// The error envelope: `success` is false, `message` a sentence to show.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    success: bool,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<ErrorsView<'a>>,
    /// A machine-readable reason where the app acts on it
    /// (`VERSION_CONFLICT`, `ACCOUNT_DEACTIVATED`, `QUOTA_EXCEEDED`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// With `VERSION_CONFLICT`: the document as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a serde_json::Value>,
}

impl ApiError {
    /// The envelope, with validation `errors` laid out in `shape`.
    pub fn response_in(&self, shape: ErrorsShape) -> HttpResponse {
        let (errors, code, data) = match self {
            Self::Validation { errors, .. } => (Some(ErrorsView::new(errors, shape)), None, None),
            Self::Unauthorized { code, .. } | Self::TooLarge { code, .. } => (None, *code, None),
            Self::Busy { .. } => (None, Some("UPLOADS_BUSY"), None),
            Self::Coded { code, .. } => (None, Some(*code), None),
            Self::VersionConflict { current, .. } => {
                (None, Some("VERSION_CONFLICT"), Some(current))
            }
            _ => (None, None, None),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::LoginLocked { retry_after_secs }
        | Self::RateLimited { retry_after_secs }
        | Self::Busy { retry_after_secs }
        | Self::Throttled {
            retry_after_secs, ..
        } = self
        {
            response.insert_header((actix_web::http::header::RETRY_AFTER, *retry_after_secs));
        }
        if let Self::Coded {
            retry_after_secs: Some(secs),
            ..
        } = self
        {
            response.insert_header((actix_web::http::header::RETRY_AFTER, *secs));
        }
        if let Self::RateLimited { retry_after_secs } = self {
            response.insert_header(("x-ratelimit-after", *retry_after_secs));
        }
        response.json(ErrorBody {
            success: false,
            message: self.to_string(),
            errors,
            code,
            data,
        })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::VersionConflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge | Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::LoginLocked { .. } | Self::RateLimited { .. } | Self::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Coded { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.response_in(ErrorsShape::List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn render(error: &ApiError, shape: ErrorsShape) -> (StatusCode, Value) {
        let response = error.response_in(shape);
        let status = response.status();
        let bytes = actix_web::body::to_bytes(response.into_body());
        let bytes = futures_util::FutureExt::now_or_never(bytes)
            .expect("a JSON body is ready at once")
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[test]
    fn validation_errors_as_a_list_or_keyed_by_field() {
        let error = ApiError::validation(vec![
            FieldError::new("password", "Password is too short"),
            FieldError::new("email", "Email is required"),
            FieldError::new("password", "Password is too common"),
        ]);
        let list = json!({
            "success": false,
            "message": "Password is too short",
            "errors": [
                {"field": "password", "message": "Password is too short"},
                {"field": "email", "message": "Email is required"},
                {"field": "password", "message": "Password is too common"},
            ],
        });
        assert_eq!(
            render(&error, ErrorsShape::List),
            (StatusCode::BAD_REQUEST, list.clone())
        );
        assert_eq!(error.error_response().status(), StatusCode::BAD_REQUEST);
        let by_field = json!({
            "success": false,
            "message": "Password is too short",
            "errors": {
                "email": ["Email is required"],
                "password": ["Password is too short", "Password is too common"],
            },
        });
        assert_eq!(
            render(&error, ErrorsShape::ByField),
            (StatusCode::BAD_REQUEST, by_field)
        );
    }

    #[test]
    fn other_errors_render_alike_in_both_shapes() {
        let error = ApiError::Unauthorized {
            message: "Account is deactivated".into(),
            code: Some("ACCOUNT_DEACTIVATED"),
        };
        let expected = json!({
            "success": false,
            "message": "Account is deactivated",
            "code": "ACCOUNT_DEACTIVATED",
        });
        for shape in [ErrorsShape::List, ErrorsShape::ByField] {
            assert_eq!(
                render(&error, shape),
                (StatusCode::UNAUTHORIZED, expected.clone())
            );
        }
    }

    #[test]
    fn store_errors_keep_their_statuses_codes_and_messages() {
        let down = mongodb::error::Error::from(std::io::ErrorKind::ConnectionReset);
        let cases = [
            (
                StoreError::from(down),
                StatusCode::SERVICE_UNAVAILABLE,
                json!({
                    "success": false,
                    "message": "The database is unavailable, please try again shortly",
                }),
            ),
            (
                StoreError::internal("a picture's blob kept disappearing"),
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({
                    "success": false,
                    "message": "Something went wrong, please try again later",
                }),
            ),
            (
                StoreError::EmailTaken,
                StatusCode::BAD_REQUEST,
                json!({ "success": false, "message": "User already exists with this email" }),
            ),
            (
                StoreError::QuotaExceeded { quota: 20 << 20 },
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({
                    "success": false,
                    "message": "Your pictures would use more than your 20 MiB; remove a receipt or your photo first",
                    "code": "QUOTA_EXCEEDED",
                }),
            ),
        ];
        for (error, status, body) in cases {
            let error = ApiError::from(error);
            assert_eq!(render(&error, ErrorsShape::List), (status, body));
        }
    }
}
