//! `/v1/auth` sessions: refresh, logout, logout-all and the list of my
//! sessions (the protocol itself is `crate::app::sessions`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ok, Checks, Envelope, Failure};
use crate::app;
use crate::app::schema::Null;
use crate::app::sessions::{SessionView, SessionsEnded, TokenPair};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    #[schema(required = true, nullable = false)]
    refresh_token: Option<String>,
}

/// `POST /v1/auth/refresh {refreshToken}`: a new pair for the current
/// refresh token (see [`app::sessions::refresh`]).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    summary = "New tokens for a refresh token",
    description = "Each refresh token works once: the answer carries the next one (the same \
        token again within a short grace, a retry, gets the same pair). An older token of the \
        session means someone else holds it: the session ends for everyone.",
    responses(
        (status = 200, description = "The session's new tokens", body = Envelope<TokenPair>),
        (status = 401, description = "An invalid refresh token (`INVALID_REFRESH_TOKEN`), or a \
            session that has ended (`SESSION_REVOKED`) or expired (`SESSION_EXPIRED`)", body = Failure),
    ))]
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
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    summary = "End this session",
    security(("bearer" = [])),
    responses((status = 200, description = "Logged out", body = Envelope<Null>)))]
pub async fn logout(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    app::sessions::logout(&state, user).await?;
    Ok(ok("Logged out", serde_json::Value::Null))
}

/// `POST /v1/auth/logout-all`: ends every session of the caller's, and
/// every token of theirs without a session (the old server's).
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "auth",
    summary = "End every session of mine, this one too",
    security(("bearer" = [])),
    responses((status = 200, description = "How many sessions ended", body = Envelope<SessionsEnded>)))]
pub async fn logout_all(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ended = app::sessions::logout_all(&state, user).await?;
    Ok(ok("Logged out everywhere", ended))
}

/// `GET /v1/auth/sessions`: my live sessions, the most recently used first
/// (never a token).
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "auth",
    summary = "My live sessions, the most recently used first",
    security(("bearer" = [])),
    responses((status = 200, description = "The sessions", body = Envelope<Vec<SessionView>>)))]
pub async fn sessions(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list = app::sessions::list(&state, user).await?;
    Ok(ok("Sessions retrieved successfully", list))
}

/// `DELETE /v1/auth/sessions/:id`: ends one of my sessions (someone else's,
/// or one already ended: 404).
#[utoipa::path(delete, path = "/v1/auth/sessions/{id}", tag = "auth",
    summary = "End one of my sessions (someone else's, or one already ended: 404)",
    params(("id" = String, Path, description = "The session (its `id` in the list)")),
    security(("bearer" = [])),
    responses((status = 200, description = "Ended", body = Envelope<Null>)))]
pub async fn end_session(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    app::sessions::end(&state, user, &path).await?;
    Ok(ok("Session ended", serde_json::Value::Null))
}
