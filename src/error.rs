//! The one error type of the application and its handlers: what went wrong,
//! as the client will be told (a safe human sentence; logs see the full cause
//! chain). Its statuses and the contract's envelope are the http layer's
//! (`crate::http::errors`), as is the mapping of the store's own errors.

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
    /// Any status with a machine-readable `code` (and, with
    /// `retry_after_secs`, a `Retry-After`): 410 `RESTORE_EXPIRED`, 422
    /// `IDEMPOTENCY_KEY_REUSED`, 503 `OUTCOME_UNKNOWN`, …
    #[error("{message}")]
    Coded {
        status: u16,
        code: &'static str,
        message: String,
        retry_after_secs: Option<u64>,
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
    /// `status` with `code` and a sentence.
    pub fn coded(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self::Coded {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
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

/// The store's errors as the client sees them: written once, here.
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

/// The message of a refusal by a client's rate limit.
pub const TOO_MANY_REQUESTS: &str = "Too many requests, please try again later.";

/// The contract's error envelope for responses built outside handlers
/// (rate limiter, 404 fallback).
pub fn envelope(message: &str) -> serde_json::Value {
    serde_json::json!({ "success": false, "message": message })
}
