//! The one error type every handler returns, and its mapping to the contract's
//! JSON envelope. Clients see a safe human sentence; logs see the full cause chain.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    #[error("Request body is too large")]
    PayloadTooLarge,
    #[error("The database is unavailable, please try again shortly")]
    Unavailable(#[source] mongodb::error::Error),
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

#[derive(Serialize)]
struct ErrorBody<'a> {
    success: bool,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (errors, code) = match self {
            Self::Validation { errors, .. } => (Some(errors.as_slice()), None),
            Self::Unauthorized { code, .. } => (None, *code),
            _ => (None, None),
        };
        HttpResponse::build(self.status_code()).json(ErrorBody {
            success: false,
            message: self.to_string(),
            errors,
            code,
        })
    }
}

/// The contract's error envelope for responses built outside handlers
/// (rate limiter, 404 fallback).
pub fn envelope(message: &str) -> serde_json::Value {
    serde_json::json!({ "success": false, "message": message })
}
