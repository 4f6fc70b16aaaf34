//! The `AuthUser` extractor that guards every protected route: the bearer
//! token verified in memory, its session (or, for a token without one, the
//! account) checked through the status cache (see `crate::auth::extractor`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, FromRequest, HttpRequest};

use super::state;
use crate::auth::extractor::fingerprint;
use crate::auth::jwt::Verified;
use crate::auth::{AuthUser, SessionId};
use crate::error::ApiError;
use crate::state::AppState;

/// The fingerprint of the request's bearer token, if it has one.
pub fn bearer_fingerprint(req: &HttpRequest) -> Option<String> {
    bearer_token(req).ok().map(fingerprint)
}

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("No token provided"))?;
    match value.strip_prefix("Bearer ").map(str::trim) {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(ApiError::unauthorized("No token provided")),
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let verified = state.jwt.verify(bearer_token(&req)?)?;
            let id = verified.user;
            let session = match verified.session.as_deref() {
                Some(sid) => {
                    let session = SessionId::parse(sid)
                        .ok_or_else(|| ApiError::unauthorized("Invalid token"))?;
                    if !state
                        .status_cache
                        .is_live(&state.store, session, id)
                        .await?
                    {
                        return Err(ApiError::Unauthorized {
                            message: "This session has ended: log in again".into(),
                            code: Some("SESSION_REVOKED"),
                        });
                    }
                    Some(session)
                }
                None => {
                    check_legacy(&req, &state, &verified).await?;
                    None
                }
            };
            Ok(AuthUser { id, session })
        })
    }
}

/// A token without a session (the old server's): refused when such tokens
/// are no longer accepted, when the account is not active, or when the token
/// is from before the user's last cut (logout-all, password change,
/// deactivation).
pub async fn check_legacy(
    req: &HttpRequest,
    state: &AppState,
    verified: &Verified,
) -> Result<(), ApiError> {
    if !state.auth.accept_legacy_tokens {
        return Err(ApiError::Unauthorized {
            message: "This token is no longer accepted: log in again".into(),
            code: Some("LEGACY_TOKEN_REFUSED"),
        });
    }
    let status = state
        .status_cache
        .status(&state.store, verified.user)
        .await?;
    if !status.is_active {
        return Err(ApiError::unauthorized(
            "User not found or account is deactivated",
        ));
    }
    let cut = status.legacy_tokens.as_ref();
    let fingerprint = || bearer_fingerprint(req).unwrap_or_default();
    if cut.is_some_and(|cut| cut.ends(verified.issued_at, fingerprint)) {
        return Err(ApiError::Unauthorized {
            message: "This token has ended: log in again".into(),
            code: Some("SESSION_REVOKED"),
        });
    }
    Ok(())
}
