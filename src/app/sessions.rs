//! Sessions: the token pair login, register and refresh hand out, the
//! refresh-token rotation protocol (rotation, a retried refresh, reuse of an
//! earlier token), logout, logout-all, and the list of my sessions.

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::views::iso;
use crate::auth::jwt::now_secs;
use crate::auth::sessions::{RefreshToken, REUSE_DEPTH};
use crate::auth::{AuthUser, JwtKeys, SessionId};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::sessions::SessionDoc;

/// What login, register and refresh hand out: `token` (as before),
/// `refreshToken`, `expiresIn` (the access token's lifetime in seconds) and
/// `sessionId`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// The access token, for `Authorization: Bearer`.
    token: String,
    /// For `POST /v1/auth/refresh` (each use hands out a new one).
    refresh_token: String,
    /// The access token's lifetime in seconds.
    expires_in: u64,
    session_id: String,
}

impl TokenPair {
    fn new(
        keys: &JwtKeys,
        user: ObjectId,
        session: &str,
        refresh: &RefreshToken,
        iat: i64,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            token: keys.issue(user, session, u64::try_from(iat).unwrap_or(0))?,
            refresh_token: refresh.expose(),
            expires_in: keys.ttl().as_secs(),
            session_id: session.to_owned(),
        })
    }
}

/// A new session for `user`: its first refresh token and access token. A
/// user over `sessions.max_per_user` loses the least recently used ones.
pub async fn open_session(
    app: &AppState,
    user: ObjectId,
    device: String,
) -> Result<TokenPair, ApiError> {
    let policy = &app.sessions;
    let refresh = RefreshToken::new()?;
    let at = DateTime::now();
    let iat = now_secs() as i64;
    let session = SessionDoc {
        id: crate::random::hex_id()?,
        user,
        key: refresh.key.clone(),
        hash: refresh.hash(),
        access_iat: iat,
        previous: None,
        rotations: Some(0),
        device,
        created_at: at,
        last_used_at: at,
        expires_at: later(at, policy.ttl),
        revoked_at: None,
    };
    let evicted = app
        .store
        .open_session(&session, policy.max_per_user)
        .await?;
    app.status_cache
        .revoked(evicted.iter().map(String::as_str))
        .await;
    TokenPair::new(&app.jwt, user, &session.id, &refresh, iat)
}

fn later(at: DateTime, by: std::time::Duration) -> DateTime {
    let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_millis(at.timestamp_millis().saturating_add(millis))
}

fn session_ended(message: &str) -> ApiError {
    ApiError::Unauthorized {
        message: message.into(),
        code: Some("SESSION_REVOKED"),
    }
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized {
        message: "Invalid refresh token".into(),
        code: Some("INVALID_REFRESH_TOKEN"),
    }
}

/// A new pair for the refresh token `raw`, which stops working. The same
/// token again within `sessions.reuse_grace_seconds` (a retry) gets the same
/// pair; an earlier token of the session means someone else holds the
/// family: the session ends (401 `SESSION_REVOKED`) for everyone. A secret
/// the session never had (a known key with a made-up secret) is a plain 401
/// that ends nothing.
pub async fn refresh(app: &AppState, raw: &str) -> Result<TokenPair, ApiError> {
    let (store, policy) = (&app.store, &app.sessions);
    let token = RefreshToken::parse(raw).ok_or_else(invalid_refresh)?;
    let ended = || session_ended("This session has ended: log in again");
    let mut session = store.session_by_key(&token.key).await?.ok_or_else(ended)?;
    let at = DateTime::now();
    if session.revoked_at.is_some() {
        return Err(ended());
    }
    if session.expires_at <= at {
        return Err(ApiError::Unauthorized {
            message: "This session has expired: log in again".into(),
            code: Some("SESSION_EXPIRED"),
        });
    }
    let presented = token.hash();
    let next = token.successor(&policy.rotation);
    if presented == session.hash {
        // Counted only for a token that is the session's, so a forger cannot
        // use up its owner's refreshes.
        policy.refreshes.check(&token.key)?;
        let iat = now_secs() as i64;
        let expires = later(at, policy.ttl);
        match store
            .rotate_session(&session, &presented, &next.hash(), iat, expires)
            .await?
        {
            Some(rotated) => {
                return TokenPair::new(&app.jwt, rotated.user, &rotated.id, &next, iat);
            }
            // Another refresh with this token rotated it first: judged below
            // against the session as it now is.
            None => session = store.session_by_key(&token.key).await?.ok_or_else(ended)?,
        }
    }
    let depth = session.rotations.map_or(REUSE_DEPTH, |n| {
        u32::try_from(n).unwrap_or(REUSE_DEPTH).min(REUSE_DEPTH)
    });
    let Some(behind) = token.rotations_behind(&policy.rotation, &session.hash, depth) else {
        tracing::info!(session_id = %session.id, "refresh refused: a secret this session never had");
        return Err(invalid_refresh());
    };
    let retried = behind == 1
        && session.previous.as_ref().is_some_and(|p| {
            at.timestamp_millis() - p.rotated_at.timestamp_millis()
                <= i64::try_from(policy.grace.as_millis()).unwrap_or(i64::MAX)
        });
    // The same pair again, as long as it has not itself been traded in.
    if retried && session.is_live(at) {
        policy.refreshes.check(&token.key)?;
        let iat = session.access_iat;
        return TokenPair::new(&app.jwt, session.user, &session.id, &next, iat);
    }
    // An earlier token of the session: the family leaked. End it, whoever
    // holds it.
    if store.revoke_session(session.user, &session.id).await? {
        tracing::warn!(user_id = %session.user, session_id = %session.id, rotations_behind = behind, "a refresh token was used again after its rotation: session revoked");
    }
    app.status_cache.revoked([session.id.as_str()]).await;
    Err(ended())
}

/// Ends the caller's session; a token from before sessions has none to end
/// (400).
pub async fn logout(app: &AppState, user: AuthUser) -> Result<(), ApiError> {
    let session = user.session.ok_or_else(|| {
        ApiError::bad_request("This token has no session: log in again to get one")
    })?;
    app.store.revoke_session(user.id, session.as_str()).await?;
    app.status_cache.revoked([session.as_str()]).await;
    Ok(())
}

/// How many sessions a logout-all, a password change or a deactivation
/// ended: `{"sessionsEnded": n}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionsEnded {
    pub sessions_ended: usize,
}

/// Ends every session of the caller's, and every token of theirs without a
/// session (the old server's).
pub async fn logout_all(app: &AppState, user: AuthUser) -> Result<SessionsEnded, ApiError> {
    let (store, cache) = (&app.store, &app.status_cache);
    let ended = store.revoke_user_sessions(user.id, None).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    cache
        .put(user.id, store.end_legacy_tokens(user.id).await?)
        .await;
    Ok(SessionsEnded {
        sessions_ended: ended.len(),
    })
}

/// A live session as its owner sees it (never a token).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    id: String,
    device: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    /// The session of the token this request was made with.
    current: bool,
}

/// My live sessions, the most recently used first.
pub async fn list(app: &AppState, user: AuthUser) -> Result<Vec<SessionView>, ApiError> {
    let current = user.session;
    Ok(app
        .store
        .sessions_of(user.id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: current.is_some_and(|c| c.as_str() == s.id),
            id: s.id,
            device: s.device,
            created_at: iso(s.created_at),
            last_used_at: iso(s.last_used_at),
            expires_at: iso(s.expires_at),
        })
        .collect())
}

/// Ends one of my sessions, `id` as the path names it (someone else's, or
/// one already ended: 404).
pub async fn end(app: &AppState, user: AuthUser, id: &str) -> Result<(), ApiError> {
    let missing = || ApiError::not_found("Session not found");
    let id = SessionId::parse(id).ok_or_else(missing)?;
    if !app.store.revoke_session(user.id, id.as_str()).await? {
        return Err(missing());
    }
    app.status_cache.revoked([id.as_str()]).await;
    Ok(())
}
