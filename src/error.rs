//! The one error type every handler returns, and its mapping to the contract's
//! JSON envelope. Clients see a safe human sentence; logs see the full cause chain.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(thiserror::Error)]
pub enum ApiError {
    /// 400 with per-field `errors`.
    #[error("{message}")]
    Validation {
        message: String,
        errors: Vec<FieldError>,
    },
    /// 400: a business rule was broken.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no, bad or expired credentials.
    #[error("{message}")]
    Unauthorized {
        message: String,
        code: Option<&'static str>,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 409 `VERSION_CONFLICT`: the document changed since the version the
    /// client read (or changed too often to re-apply the edit); `current` is
    /// the document as it is now, rendered as the client reads it.
    #[error("{message}")]
    VersionConflict {
        message: String,
        current: serde_json::Value,
    },
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// 408: the body did not arrive within the read timeout; the connection
    /// is closed after this answer.
    #[error("The request body did not arrive in time")]
    BodyTimeout,
    /// 413 with a reason: a picture too large, or over the storage quota
    /// (`QUOTA_EXCEEDED`).
    #[error("{message}")]
    TooLarge {
        message: String,
        code: Option<&'static str>,
    },
    /// 415: content that is not an image we accept (told by the bytes).
    #[error("{0}")]
    UnsupportedMedia(String),
    /// 429: too many of `what` (uploads by this user, refreshes of this
    /// session); `Retry-After` in whole seconds.
    #[error("Too many {what}, please try again later")]
    Throttled {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// 429: too many failed logins for this email from this client, or for
    /// this email from all clients. The same for every email, known or not;
    /// `Retry-After` in whole seconds (>= 1), the longest wait that applies.
    #[error("Too many failed login attempts, please try again later")]
    LoginLocked { retry_after_secs: u64 },
    /// 429: the client's rate limit, refused by a handler rather than by the
    /// middleware; answered alike (`Retry-After`, `X-RateLimit-After`).
    #[error("{}", TOO_MANY_REQUESTS)]
    RateLimited { retry_after_secs: u64 },
    #[error("The database is unavailable, please try again shortly")]
    Unavailable(#[source] mongodb::error::Error),
    /// 503 `UPLOADS_BUSY`: no room to read another large body now;
    /// `Retry-After` in whole seconds.
    #[error("The server is busy with other uploads, please try again shortly")]
    Busy { retry_after_secs: u64 },
    #[error("Something went wrong, please try again later")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized {
            message: message.into(),
            code: None,
        }
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let message = errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "Validation failed".into());
        Self::Validation { message, errors }
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::TooLarge {
            message: message.into(),
            code: None,
        }
    }
    pub fn internal(e: impl Into<BoxError>) -> Self {
        Self::Internal(e.into())
    }
}

impl std::fmt::Debug for ApiError {
    /// Logs get the whole cause chain; the client never sees it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{self}")?;
        let mut current = std::error::Error::source(self);
        while let Some(cause) = current {
            writeln!(f, "Caused by: {cause}")?;
            current = cause.source();
        }
        Ok(())
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(e: mongodb::error::Error) -> Self {
        use mongodb::error::ErrorKind;
        match *e.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. } => Self::Unavailable(e),
            _ => Self::Internal(Box::new(e)),
        }
    }
}

/// True when the error is a duplicate-key violation (E11000).
pub fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == 11000)),
        _ => false,
    }
}

/// Collects field errors and turns them into one validation error.
#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn check<T>(&mut self, field: &str, result: Result<T, impl Into<String>>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(m) => {
                self.0.push(FieldError::new(field, m));
                None
            }
        }
    }

    pub fn required<T>(&mut self, field: &str, value: Option<T>, message: &str) -> Option<T> {
        if value.is_none() {
            self.0.push(FieldError::new(field, message));
        }
        value
    }

    /// The parsed values when every check passed, else all the field errors.
    /// Combine values with `Option::zip`.
    pub fn finish<T>(self, values: Option<T>) -> Result<T, ApiError> {
        match values {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(ApiError::validation(self.0)),
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
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.response_in(ErrorsShape::List)
    }
}

/// The message of a refusal by a client's rate limit.
pub const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.";

/// The contract's error envelope for responses built outside handlers
/// (rate limiter, 404 fallback).
pub fn envelope(message: &str) -> serde_json::Value {
    serde_json::json!({ "success": false, "message": message })
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
}
