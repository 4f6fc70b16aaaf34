//! `sessions`: one document per login, the family of its refresh tokens.
//! Its `_id` is the session id access tokens carry (`sid`); its `key` is the
//! part of the refresh tokens that stays through rotations; `hash` is the
//! SHA-256 of the current token's secret (never the token), `rotations` how
//! many tokens came before it (no rotated hash is kept: an earlier token is
//! recognised by the chain of successors, see `auth::sessions`). Revoked and
//! expired sessions are removed by the TTL index on `expiresAt` (a revoked
//! one gets `expiresAt` = now).

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{now, Store};
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub user: ObjectId,
    pub key: String,
    pub hash: String,
    /// When the access token handed out with the current refresh token was
    /// issued (seconds): a retried refresh gets that very token again.
    pub access_iat: i64,
    #[serde(default)]
    pub previous: Option<PreviousToken>,
    /// How many times the refresh token was rotated: how far back a
    /// presented token can be from the current one. None for sessions from
    /// before it was counted (searched as deep as the limit allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotations: Option<i64>,
    /// From the login's `device` field or `User-Agent`.
    pub device: String,
    pub created_at: DateTime,
    pub last_used_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default)]
    pub revoked_at: Option<DateTime>,
}

/// The refresh token the current one replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousToken {
    pub hash: String,
    pub rotated_at: DateTime,
}

impl SessionDoc {
    pub fn is_live(&self, at: DateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > at
    }
}

/// A session that is neither revoked nor expired.
fn live(at: DateTime) -> Document {
    doc! { "revokedAt": null, "expiresAt": { "$gt": at } }
}

impl Store {
    fn sessions(&self) -> mongodb::Collection<SessionDoc> {
        self.db.collection("sessions")
    }

    /// Stores a new session; then the user's live sessions beyond `max`, the
    /// least recently used first, are revoked: their ids.
    pub async fn open_session(
        &self,
        session: &SessionDoc,
        max: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.sessions().insert_one(session).await?;
        let mut filter = live(session.created_at);
        filter.insert("user", session.user);
        let extra: Vec<Document> = self
            .sessions()
            .clone_with_type::<Document>()
            .find(filter)
            .projection(doc! { "_id": 1 })
            .sort(doc! { "lastUsedAt": -1, "_id": -1 })
            .skip(u64::from(max))
            .await?
            .try_collect()
            .await?;
        let ids: Vec<String> = extra
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect();
        if !ids.is_empty() {
            self.revoke_sessions(doc! { "_id": { "$in": &ids } })
                .await?;
        }
        Ok(ids)
    }

    pub async fn session_by_key(&self, key: &str) -> Result<Option<SessionDoc>, StoreError> {
        Ok(self.sessions().find_one(doc! { "key": key }).await?)
    }

    /// Replaces the current token `presented` by `next` (a hash each), as one
    /// conditional write: of two refreshes with the same token, one rotates
    /// and the other finds it rotated. The session as it now is, or None.
    pub async fn rotate_session(
        &self,
        session: &SessionDoc,
        presented: &str,
        next: &str,
        access_iat: i64,
        expires_at: DateTime,
    ) -> Result<Option<SessionDoc>, StoreError> {
        let at = now();
        let mut filter = live(at);
        filter.insert("_id", &session.id);
        filter.insert("hash", presented);
        let mut set = doc! {
            "hash": next,
            "accessIat": access_iat,
            "previous": { "hash": presented, "rotatedAt": at },
            "lastUsedAt": at,
            "expiresAt": expires_at,
        };
        // The filter's hash makes this the document `session` was read as.
        if let Some(n) = session.rotations {
            set.insert("rotations", n.saturating_add(1));
        }
        Ok(self
            .sessions()
            .find_one_and_update(filter, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await?)
    }

    /// Whether the session `id` of `user` may still be used (one lookup by
    /// `_id`; callers cache the answer).
    pub async fn session_is_live(&self, id: &str, user: ObjectId) -> Result<bool, StoreError> {
        let mut filter = live(now());
        filter.insert("_id", id);
        filter.insert("user", user);
        let found = self
            .sessions()
            .clone_with_type::<Document>()
            .find_one(filter)
            .projection(doc! { "_id": 1 })
            .await?;
        Ok(found.is_some())
    }

    /// The user's live sessions, the most recently used first.
    pub async fn sessions_of(&self, user: ObjectId) -> Result<Vec<SessionDoc>, StoreError> {
        let mut filter = live(now());
        filter.insert("user", user);
        Ok(self
            .sessions()
            .find(filter)
            .sort(doc! { "lastUsedAt": -1, "_id": -1 })
            .limit(1000)
            .await?
            .try_collect()
            .await?)
    }

    /// Revokes the session `id` if it is `user`'s and live; whether it was.
    pub async fn revoke_session(&self, user: ObjectId, id: &str) -> Result<bool, StoreError> {
        let mut filter = live(now());
        filter.insert("_id", id);
        filter.insert("user", user);
        Ok(!self.revoke_sessions(filter).await?.is_empty())
    }

    /// Revokes all of `user`'s live sessions but `keep`: their ids.
    pub async fn revoke_user_sessions(
        &self,
        user: ObjectId,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let mut filter = live(now());
        filter.insert("user", user);
        if let Some(keep) = keep {
            filter.insert("_id", doc! { "$ne": keep });
        }
        self.revoke_sessions(filter).await
    }

    /// Revokes the sessions matching `filter`: their ids. The TTL index
    /// removes them within a minute; a token of one that is gone is refused
    /// like a revoked one.
    async fn revoke_sessions(&self, filter: Document) -> Result<Vec<String>, StoreError> {
        let ids: Vec<String> = self
            .sessions()
            .clone_with_type::<Document>()
            .find(filter)
            .projection(doc! { "_id": 1 })
            .limit(10_000)
            .await?
            .try_collect::<Vec<Document>>()
            .await?
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return Ok(ids);
        }
        let at = now();
        self.sessions()
            .update_many(
                doc! { "_id": { "$in": &ids } },
                doc! { "$set": { "revokedAt": at, "expiresAt": at } },
            )
            .await?;
        Ok(ids)
    }
}
