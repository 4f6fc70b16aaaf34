//! `/v1/auth` sessions: refresh, logout, logout-all and the list of my
//! sessions (the protocol itself is `crate::app::sessions`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{ok, Checks};
use crate::app;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

/// `POST /v1/auth/refresh {refreshToken}`: a new pair for the current
/// refresh token (see [`app::sessions::refresh`]).
#[tracing::instrument(name = "refresh", skip_all)]
pub async fn refresh(
    body: web::Json<RefreshBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checks::default();
    let raw = c.required(
        "refreshToken",
        body.into_inner().refresh_token,
        "Refresh token is required",
    );
    let raw = c.finish(raw)?;
    let pair = app::sessions::refresh(&state, &raw).await?;
    Ok(ok("Token refreshed", pair))
}

/// `POST /v1/auth/logout`: ends the caller's session.
pub async fn logout(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    app::sessions::logout(&state, user).await?;
    Ok(ok("Logged out", serde_json::Value::Null))
}

/// `POST /v1/auth/logout-all`: ends every session of the caller's, and
/// every token of theirs without a session (the old server's).
pub async fn logout_all(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ended = app::sessions::logout_all(&state, user).await?;
    Ok(ok("Logged out everywhere", ended))
}

/// `GET /v1/auth/sessions`: my live sessions, the most recently used first
/// (never a token).
pub async fn sessions(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = app::sessions::list(&state, user).await?;
    Ok(ok("Sessions retrieved successfully", list))
}

/// `DELETE /v1/auth/sessions/:id`: ends one of my sessions (someone else's,
/// or one already ended: 404).
pub async fn end_session(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    app::sessions::end(&state, user, &path).await?;
    Ok(ok("Session ended", serde_json::Value::Null))
}
