//! `AuthUser`: the authenticated caller of a protected route, and the cache
//! of what authenticating a request needs to know (read by the extractor in
//! `crate::http::caller`).
//!
//! The token is verified in memory. Whether its session is still live (or,
//! for a token without a session, whether the account is still active and
//! the token was issued after the user's last logout-all, password change or
//! deactivation) is answered from a short-lived per-process cache
//! (`auth.status_cache_seconds`; a bounded `moka` cache, where requests that
//! miss the same entry together share one read), so an authenticated read
//! costs no extra database round trip on a warm cache. A revocation or deactivation through
//! this process takes effect at once; other replicas notice within the cache
//! lifetime. Tokens without a session can be refused altogether
//! (`auth.accept_legacy_tokens = false`).

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use mongodb::bson::oid::ObjectId;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::StoreError;
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

/// Entries a cache holds at most, of users and of sessions each; past that
/// the least likely to be asked for again make room (moka's TinyLFU).
const CAPACITY: u64 = 100_000;

/// Values remembered for a short time, at most [`CAPACITY`] of them. Callers
/// that miss the same key at the same time share one load; a zero lifetime
/// turns caching off (every call loads).
struct TtlCache<K, V> {
    cache: Option<Cache<K, V>>,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(ttl: Duration, capacity: u64) -> Self {
        Self {
            cache: (!ttl.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(capacity)
                    .time_to_live(ttl)
                    .build()
            }),
        }
    }

    /// The cached value, else the one `load` gives (which is then cached).
    async fn get_or_load<E>(
        &self,
        key: K,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
    {
        match &self.cache {
            Some(cache) => cache.try_get_with(key, load).await,
            None => load.await.map_err(Arc::new),
        }
    }

    async fn put(&self, key: K, value: V) {
        if let Some(cache) = &self.cache {
            cache.insert(key, value).await;
        }
    }
}

/// The error of a load, for each caller that waited for it (moka hands them
/// one `Arc`): the error itself when nothing else holds it; else a database
/// outage stays a 503 (its cause is cloned), and anything else (the store's
/// loads fail with nothing else) is a 500 caused by the shared error.
fn shared_error(e: Arc<StoreError>) -> ApiError {
    Arc::try_unwrap(e)
        .map(ApiError::from)
        .unwrap_or_else(|shared| match &*shared {
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause.clone()),
            _ => ApiError::internal(shared),
        })
}

/// Remembers, for a short time, what a user's tokens without a session need
/// (whether the account is active, which of those tokens are cut) and
/// whether a session is live.
pub struct UserStatusCache {
    users: TtlCache<ObjectId, UserStatus>,
    sessions: TtlCache<SessionId, bool>,
}

impl UserStatusCache {
    /// Entries live `ttl` (`auth.status_cache_seconds`; zero: not cached).
    pub fn new(ttl: Duration) -> Self {
        Self {
            users: TtlCache::new(ttl, CAPACITY),
            sessions: TtlCache::new(ttl, CAPACITY),
        }
    }

    /// Records the user's status as this process just read or wrote it
    /// (a cut through their tokens takes effect here at once).
    pub async fn put(&self, id: ObjectId, status: UserStatus) {
        self.users.put(id, status).await;
    }

    /// Records sessions revoked through this process: refused here at once.
    pub async fn revoked<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids.into_iter().filter_map(SessionId::parse) {
            self.sessions.put(id, false).await;
        }
    }

    /// The user's status: cached, else one indexed lookup by `_id` (shared
    /// by the requests that miss it together).
    pub async fn status(&self, store: &Store, id: ObjectId) -> Result<UserStatus, ApiError> {
        self.users
            .get_or_load(id, store.user_status(id))
            .await
            .map_err(shared_error)
    }

    /// Whether the session may act: cached, else one lookup by `_id` (shared
    /// by the requests that miss it together). A deactivated account has no
    /// live session, so this answers for the account too.
    pub async fn is_live(
        &self,
        store: &Store,
        session: SessionId,
        user: ObjectId,
    ) -> Result<bool, ApiError> {
        self.sessions
            .get_or_load(session, store.session_is_live(session.as_str(), user))
            .await
            .map_err(shared_error)
    }
}

/// What a cut keeps of a token without a session: the SHA-256 hex of the
/// whole token (never the token itself).
pub fn fingerprint(token: &str) -> String {
    crate::random::hex(&Sha256::digest(token.as_bytes()))
}
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures_util::future::join_all;

    use super::*;

    /// A load that counts its calls and answers `value` after `delay`.
    async fn load(calls: &AtomicU32, delay: Duration, value: u32) -> Result<u32, ApiError> {
        calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(delay).await;
        Ok(value)
    }

    #[tokio::test]
    async fn a_value_is_served_from_the_cache_until_its_lifetime_ends() {
        let cache = TtlCache::new(Duration::from_millis(300), CAPACITY);
        let calls = AtomicU32::new(0);
        let get = || cache.get_or_load(7, load(&calls, Duration::ZERO, 70));
        assert_eq!(get().await.unwrap(), 70);
        assert_eq!(get().await.unwrap(), 70);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the second read is cached");
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert_eq!(get().await.unwrap(), 70);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "expired after the TTL");
    }

    #[tokio::test]
    async fn what_this_process_writes_is_served_at_once() {
        let cache = TtlCache::new(Duration::from_secs(30), CAPACITY);
        let calls = AtomicU32::new(0);
        assert_eq!(
            cache
                .get_or_load(1, load(&calls, Duration::ZERO, 1))
                .await
                .unwrap(),
            1
        );
        cache.put(1, 2).await;
        assert_eq!(
            cache
                .get_or_load(1, load(&calls, Duration::ZERO, 1))
                .await
                .unwrap(),
            2
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_share_one_load() {
        let cache = TtlCache::new(Duration::from_secs(30), CAPACITY);
        let calls = AtomicU32::new(0);
        let misses =
            (0..20).map(|_| cache.get_or_load(1, load(&calls, Duration::from_millis(50), 5)));
        let answers = join_all(misses).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(5))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another key is loaded on its own.
        let other = cache.get_or_load(2, load(&calls, Duration::ZERO, 6)).await;
        assert_eq!((other.unwrap(), calls.load(Ordering::SeqCst)), (6, 2));
    }

    #[tokio::test]
    async fn a_failed_load_answers_its_waiters_and_is_not_cached() {
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(30), CAPACITY);
        let calls = AtomicU32::new(0);
        let failing = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<u32, _>(StoreError::EmailTaken)
        };
        let answers = join_all((0..5).map(|_| cache.get_or_load(1, failing()))).await;
        assert!(answers.iter().all(Result::is_err));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(cache.get_or_load(1, failing()).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2, "an error is not cached");
    }

    #[test]
    fn a_shared_error_keeps_a_5xx() {
        let alone = Arc::new(StoreError::EmailTaken);
        assert!(
            matches!(shared_error(alone), ApiError::BadRequest(m) if m == "User already exists with this email")
        );
        let shared = Arc::new(StoreError::EmailTaken);
        let _other_holder = shared.clone();
        assert!(matches!(shared_error(shared), ApiError::Internal(_)));
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let cache = TtlCache::new(Duration::from_secs(30), 50);
        for key in 0..5_000u32 {
            cache.put(key, key).await;
        }
        let inner = cache.cache.as_ref().expect("caching is on");
        inner.run_pending_tasks().await;
        assert!(inner.entry_count() <= 50, "{}", inner.entry_count());
    }

    #[tokio::test]
    async fn a_zero_lifetime_caches_nothing() {
        let cache = TtlCache::new(Duration::ZERO, CAPACITY);
        let calls = AtomicU32::new(0);
        cache.put(1, 9).await;
        for _ in 0..3 {
            let v = cache.get_or_load(1, load(&calls, Duration::ZERO, 1)).await;
            assert_eq!(v.unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
