//! `AuthUser`: the authenticated caller of a protected route.
//!
//! The token is verified in memory. Whether its session is still live (or,
//! for a token without a session, whether the account is still active) is
//! answered from a short-lived per-process cache (`auth.status_cache_seconds`),
//! so an authenticated read costs no extra database round trip on a warm
//! cache. A revocation or deactivation through this process takes effect at
//! once; other replicas notice within the cache lifetime.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use mongodb::bson::oid::ObjectId;

use super::JwtKeys;
use crate::error::ApiError;
use crate::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: ObjectId,
    /// The session of the token; None for a token issued before sessions.
    pub session: Option<SessionId>,
}

/// A session id (32 hex digits), `Copy` like the rest of [`AuthUser`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    pub fn parse(s: &str) -> Option<Self> {
        crate::random::is_hex_id(s)
            .then(|| s.as_bytes().try_into().ok().map(Self))
            .flatten()
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entries remembered for a short time, at most [`MAX_CACHED`] of them.
struct TtlMap<K> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, bool)>>,
}

const MAX_CACHED: usize = 100_000;

impl<K: Eq + Hash> TtlMap<K> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<bool> {
        let entries = self.entries.read().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then_some(*value)
    }

    fn put(&self, key: K, value: bool) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_CACHED {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
                if entries.len() >= MAX_CACHED {
                    entries.clear();
                }
            }
            entries.insert(key, (Instant::now(), value));
        }
    }
}

/// Remembers, for a short time, whether a user id is an active account and
/// whether a session is live.
pub struct UserStatusCache {
    users: TtlMap<ObjectId>,
    sessions: TtlMap<SessionId>,
}

impl UserStatusCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            users: TtlMap::new(ttl),
            sessions: TtlMap::new(ttl),
        }
    }

    pub fn put(&self, id: ObjectId, active: bool) {
        self.users.put(id, active);
    }

    /// Records sessions revoked through this process: refused here at once.
    pub fn revoked<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids.into_iter().filter_map(SessionId::parse) {
            self.sessions.put(id, false);
        }
    }

    /// Whether the user may act: cached, else one indexed lookup by `_id`.
    pub async fn is_active(&self, store: &Store, id: ObjectId) -> Result<bool, ApiError> {
        if let Some(active) = self.users.get(&id) {
            return Ok(active);
        }
        let active = store.user_is_active(id).await?;
        self.put(id, active);
        Ok(active)
    }

    /// Whether the session may act: cached, else one lookup by `_id`. A
    /// deactivated account has no live session, so this answers for the
    /// account too.
    pub async fn is_live(
        &self,
        store: &Store,
        session: SessionId,
        user: ObjectId,
    ) -> Result<bool, ApiError> {
        if let Some(live) = self.sessions.get(&session) {
            return Ok(live);
        }
        let live = store.session_is_live(session.as_str(), user).await?;
        self.sessions.put(session, live);
        Ok(live)
    }
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
            let keys = req
                .app_data::<web::Data<JwtKeys>>()
                .ok_or_else(|| ApiError::internal("JwtKeys missing from app data"))?;
            let verified = keys.verify(bearer_token(&req)?)?;
            let store = req
                .app_data::<web::Data<Store>>()
                .ok_or_else(|| ApiError::internal("Store missing from app data"))?;
            let cache = req
                .app_data::<web::Data<UserStatusCache>>()
                .ok_or_else(|| ApiError::internal("UserStatusCache missing from app data"))?;
            let id = verified.user;
            let session = match verified.session.as_deref() {
                Some(sid) => {
                    let session = SessionId::parse(sid)
                        .ok_or_else(|| ApiError::unauthorized("Invalid token"))?;
                    if !cache.is_live(store, session, id).await? {
                        return Err(ApiError::Unauthorized {
                            message: "This session has ended: log in again".into(),
                            code: Some("SESSION_REVOKED"),
                        });
                    }
                    Some(session)
                }
                None => {
                    if !cache.is_active(store, id).await? {
                        return Err(ApiError::unauthorized(
                            "User not found or account is deactivated",
                        ));
                    }
                    None
                }
            };
            Ok(AuthUser { id, session })
        })
    }
}
