//! `/v1/auth` sessions: the token pair login, register and refresh hand
//! out, refresh (rotation, a retried refresh, reuse), logout, logout-all and
//! the list of my sessions.

use actix_web::{web, HttpResponse};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::views::iso;
use super::{ok, Checks};
use crate::auth::jwt::now_secs;
use crate::auth::sessions::{RefreshToken, SessionPolicy, REUSE_DEPTH};
use crate::auth::{AuthUser, JwtKeys, SessionId, UserStatusCache};
use crate::error::ApiError;
use crate::store::sessions::SessionDoc;
use crate::store::Store;

/// What login, register and refresh hand out.
pub(super) struct TokenPair {
    token: String,
    refresh: RefreshToken,
    expires_in: u64,
    session: String,
}

impl TokenPair {
    fn new(
        keys: &JwtKeys,
        user: ObjectId,
        session: &str,
        refresh: RefreshToken,
        iat: i64,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            token: keys.issue(user, session, u64::try_from(iat).unwrap_or(0))?,
            refresh,
            expires_in: keys.ttl().as_secs(),
            session: session.to_owned(),
        })
    }

    /// `token` (as before), `refreshToken`, `expiresIn` (the access token's
    /// lifetime in seconds) and `sessionId`.
    pub(super) fn write_into(self, data: &mut serde_json::Value) {
        data["token"] = self.token.into();
        data["refreshToken"] = self.refresh.expose().into();
        data["expiresIn"] = self.expires_in.into();
        data["sessionId"] = self.session.into();
    }
}

/// A new session for `user`: its first refresh token and access token. A
/// user over `sessions.max_per_user` loses the least recently used ones.
pub(super) async fn open_session(
    store: &Store,
    keys: &JwtKeys,
    policy: &SessionPolicy,
    cache: &UserStatusCache,
    user: ObjectId,
    device: String,
) -> Result<TokenPair, ApiError> {
    let refresh = RefreshToken::new()?;
    let at = mongodb::bson::DateTime::now();
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
    let evicted = store.open_session(&session, policy.max_per_user).await?;
    cache.revoked(evicted.iter().map(String::as_str)).await;
    TokenPair::new(keys, user, &session.id, refresh, iat)
}

fn later(at: mongodb::bson::DateTime, by: std::time::Duration) -> mongodb::bson::DateTime {
    let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    mongodb::bson::DateTime::from_millis(at.timestamp_millis().saturating_add(millis))
}

fn session_ended(message: &str) -> ApiError {
    ApiError::Unauthorized {
        message: message.into(),
        code: Some("SESSION_REVOKED"),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefreshBody {
    refresh_token: Option<String>,
}

/// `POST /v1/auth/refresh {refreshToken}`: a new pair for the current
/// refresh token, which stops working. The same token again within
/// `sessions.reuse_grace_seconds` (a retry) gets the same pair; an earlier
/// token of the session means someone else holds the family: the session ends
/// (401 `SESSION_REVOKED`) for everyone. A secret the session never had (a
/// known key with a made-up secret) is a plain 401 that ends nothing.
#[tracing::instrument(name = "refresh", skip_all)]
pub(super) async fn refresh(
    body: web::Json<RefreshBody>,
    store: web::Data<Store>,
    keys: web::Data<JwtKeys>,
    policy: web::Data<SessionPolicy>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checks::default();
    let raw = c.required(
        "refreshToken",
        body.into_inner().refresh_token,
        "Refresh token is required",
    );
    let raw = c.finish(raw)?;
    let token = RefreshToken::parse(&raw).ok_or_else(invalid_refresh)?;
    let ended = || session_ended("This session has ended: log in again");
    let mut session = store.session_by_key(&token.key).await?.ok_or_else(ended)?;
    let at = mongodb::bson::DateTime::now();
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
                let pair = TokenPair::new(&keys, rotated.user, &rotated.id, next, iat)?;
                return Ok(pair_response(pair));
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
        let pair = TokenPair::new(&keys, session.user, &session.id, next, session.access_iat)?;
        return Ok(pair_response(pair));
    }
    // An earlier token of the session: the family leaked. End it, whoever
    // holds it.
    if store.revoke_session(session.user, &session.id).await? {
        tracing::warn!(user_id = %session.user, session_id = %session.id, rotations_behind = behind, "a refresh token was used again after its rotation: session revoked");
    }
    cache.revoked([session.id.as_str()]).await;
    Err(ended())
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized {
        message: "Invalid refresh token".into(),
        code: Some("INVALID_REFRESH_TOKEN"),
    }
}

fn pair_response(pair: TokenPair) -> HttpResponse {
    let mut data = serde_json::json!({});
    pair.write_into(&mut data);
    ok("Token refreshed", data)
}

/// The caller's session; a token from before sessions has none to end.
fn current_session(user: &AuthUser) -> Result<SessionId, ApiError> {
    user.session
        .ok_or_else(|| ApiError::bad_request("This token has no session: log in again to get one"))
}

/// `POST /v1/auth/logout`: ends the caller's session.
pub(super) async fn logout(
    user: AuthUser,
    store: web::Data<Store>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let session = current_session(&user)?;
    store.revoke_session(user.id, session.as_str()).await?;
    cache.revoked([session.as_str()]).await;
    Ok(ok("Logged out", serde_json::Value::Null))
}

/// `POST /v1/auth/logout-all`: ends every session of the caller's, and
/// every token of theirs without a session (the old server's).
pub(super) async fn logout_all(
    user: AuthUser,
    store: web::Data<Store>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let ended = store.revoke_user_sessions(user.id, None).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    cache
        .put(user.id, store.end_legacy_tokens(user.id).await?)
        .await;
    Ok(ok(
        "Logged out everywhere",
        serde_json::json!({ "sessionsEnded": ended.len() }),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    id: String,
    device: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    current: bool,
}

/// `GET /v1/auth/sessions`: my live sessions, the most recently used first
/// (never a token).
pub(super) async fn sessions(
    user: AuthUser,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let current = user.session;
    let list: Vec<SessionView> = store
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
        .collect();
    Ok(ok("Sessions retrieved successfully", list))
}

/// `DELETE /v1/auth/sessions/:id`: ends one of my sessions (someone else's,
/// or one already ended: 404).
pub(super) async fn end_session(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let id = SessionId::parse(&path).ok_or_else(|| ApiError::not_found("Session not found"))?;
    if !store.revoke_session(user.id, id.as_str()).await? {
        return Err(ApiError::not_found("Session not found"));
    }
    cache.revoked([id.as_str()]).await;
    Ok(ok("Session ended", serde_json::Value::Null))
}
