//! `AuthUser`: the authenticated caller of a protected route.
//!
//! The token is verified in memory. Whether the account still exists and is
//! active is answered from a short-lived per-process cache (`auth.status_cache_seconds`),
//! so an authenticated read costs no extra database round trip on a warm cache.
//! Deactivation through this process takes effect at once; other replicas
//! notice within the cache lifetime.

use std::collections::HashMap;
use std::future::Future;
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
}

/// Remembers, for a short time, whether a user id is an active account.
pub struct UserStatusCache {
    ttl: Duration,
    entries: RwLock<HashMap<ObjectId, (Instant, bool)>>,
}

const MAX_CACHED_USERS: usize = 100_000;

impl UserStatusCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, id: &ObjectId) -> Option<bool> {
        let entries = self.entries.read().ok()?;
        let (at, active) = entries.get(id)?;
        (at.elapsed() < self.ttl).then_some(*active)
    }

    pub fn put(&self, id: ObjectId, active: bool) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_CACHED_USERS {
                let ttl = self.ttl;
                entries.retain(|_, (at, _)| at.elapsed() < ttl);
                if entries.len() >= MAX_CACHED_USERS {
                    entries.clear();
                }
            }
            entries.insert(id, (Instant::now(), active));
        }
    }

    /// Whether the user may act: cached, else one indexed lookup by `_id`.
    pub async fn is_active(&self, store: &Store, id: ObjectId) -> Result<bool, ApiError> {
        if let Some(active) = self.get(&id) {
            return Ok(active);
        }
        let active = store.user_is_active(id).await?;
        self.put(id, active);
        Ok(active)
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
            let id = keys.verify(bearer_token(&req)?)?;
            let store = req
                .app_data::<web::Data<Store>>()
                .ok_or_else(|| ApiError::internal("Store missing from app data"))?;
            let cache = req
                .app_data::<web::Data<UserStatusCache>>()
                .ok_or_else(|| ApiError::internal("UserStatusCache missing from app data"))?;
            if !cache.is_active(store, id).await? {
                return Err(ApiError::unauthorized(
                    "User not found or account is deactivated",
                ));
            }
            Ok(AuthUser { id })
        })
    }
}
