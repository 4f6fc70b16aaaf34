//! bcrypt hashing and verification, always on the blocking pool so a login
//! never stalls the async workers serving other requests.

use crate::error::ApiError;

/// Hashes a password with the configured cost.
#[tracing::instrument(name = "hash_password", skip_all)]
pub async fn hash(password: String, cost: u32) -> Result<String, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| bcrypt::hash(password, cost)))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Checks a password against a stored hash. A malformed hash counts as a mismatch.
#[tracing::instrument(name = "verify_password", skip_all)]
pub async fn verify(password: String, hash: String) -> Result<bool, ApiError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| bcrypt::verify(password, &hash).unwrap_or(false))
    })
    .await
    .map_err(ApiError::internal)
}

/// bcrypt only looks at the first 72 bytes; longer passwords are refused at
/// registration rather than silently truncated (`domain::inputs::Password`).
pub use crate::domain::inputs::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
