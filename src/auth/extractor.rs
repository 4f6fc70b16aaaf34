//! `AuthUser`: the authenticated caller of a protected route, and the cache
//! of what authenticating a request needs to know (read by the extractor in
//! `crate::http::caller`).
//!
//! The token is verified in memory. Whether its session is still live (or,
//! for a token without a session, whether the account is still active and
//! the token was issued after the user's last logout-all, password change or
//! deactivation) is answered from a short-lived per-process cache
//! (`auth.status_cache_seconds`), so an authenticated read costs no extra
//! database round trip on a warm cache. A revocation or deactivation through
//! this process takes effect at once; other replicas notice within the cache
//! lifetime. Tokens without a session can be refused altogether
//! (`auth.accept_legacy_tokens = false`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use mongodb::bson::oid::ObjectId;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{Store, UserStatus};

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
struct TtlMap<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

const MAX_CACHED: usize = 100_000;

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    fn put(&self, key: K, value: V) {
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

/// Remembers, for a short time, what a user's tokens without a session need
/// (whether the account is active, which of those tokens are cut) and
/// whether a session is live.
pub struct UserStatusCache {
    users: TtlMap<ObjectId, UserStatus>,
    sessions: TtlMap<SessionId, bool>,
}

impl UserStatusCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            users: TtlMap::new(ttl),
            sessions: TtlMap::new(ttl),
        }
    }

    /// Records the user's status as this process just read or wrote it
    /// (a cut through their tokens takes effect here at once).
    pub fn put(&self, id: ObjectId, status: UserStatus) {
        self.users.put(id, status);
    }

    /// Records sessions revoked through this process: refused here at once.
    pub fn revoked<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids.into_iter().filter_map(SessionId::parse) {
            self.sessions.put(id, false);
        }
    }

    /// The user's status: cached, else one indexed lookup by `_id`.
    pub async fn status(&self, store: &Store, id: ObjectId) -> Result<UserStatus, ApiError> {
        if let Some(status) = self.users.get(&id) {
            return Ok(status);
        }
        let status = store.user_status(id).await?;
        self.put(id, status.clone());
        Ok(status)
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

/// What a cut keeps of a token without a session: the SHA-256 hex of the
/// whole token (never the token itself).
pub fn fingerprint(token: &str) -> String {
    crate::random::hex(&Sha256::digest(token.as_bytes()))
}
