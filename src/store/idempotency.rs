//! The `idempotency` collection: one document per user and `Idempotency-Key`
//! (`_id` `"<userHex>:<key>"`), claimed by the attempt that does the work and
//! then holding its answer for 24 hours (a TTL index on `expiresAt`).
//!
//! A claim is `pending` while its attempt (`owner`, a random token) runs,
//! `committed` once the attempt's change committed (set inside the change's
//! own transaction: [`claim_op`], added by `Store::run_batch`), and `done`
//! with the answer stored. The claim is also the fence: a change only
//! commits while its attempt still owns the claim (the marking write is
//! required to match `{_id, owner}`), so once a retry has taken an expired
//! claim over, a late commit of the first attempt can no longer land.

use std::time::Duration;

use mongodb::bson::{doc, oid::ObjectId, Binary, DateTime, Document};

use super::{now, Store, StoreError};

const COLLECTION: &str = "idempotency";

/// How long a key and its answer are kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The largest answer body kept for replays; larger ones are kept as their
/// status only (`tooLarge`).
pub const MAX_STORED_BODY: usize = 64 * 1024;

tokio::task_local! {
    /// The claim of the request being handled, if it sent a key: read by
    /// [`claim_op`] so the change's transaction records the key.
    static CLAIM: Claim;
}

/// A claim held by one attempt.
#[derive(Debug, Clone)]
pub struct Claim {
    id: String,
    owner: String,
}

impl Claim {
    /// Runs `work` with this claim recorded by every change it commits.
    pub async fn scope<F: std::future::Future>(&self, work: F) -> F::Output {
        CLAIM.scope(self.clone(), work).await
    }
}

/// The write that records the current request's claim in its change's
/// transaction: `(collection, filter, update)`, marking the claim
/// `committed` while it is still this attempt's. `Store::run_batch` adds it
/// to the change's batch, required to match (so a lost claim aborts the
/// change). None when the request sent no key.
pub(crate) fn claim_op() -> Option<(&'static str, Document, Document)> {
    CLAIM
        .try_with(|claim| {
            (
                COLLECTION,
                doc! { "_id": &claim.id, "owner": &claim.owner },
                doc! { "$set": { "state": "committed", "committedAt": now() } },
            )
        })
        .ok()
}

/// What a committed change did: its journal event (`expense.created`) and
/// the object (`expense`, its id).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub event: String,
    pub kind: String,
    pub id: ObjectId,
}

fn outcome_of(found: &Document) -> Option<Outcome> {
    let o = found.get_document("outcome").ok()?;
    Some(Outcome {
        event: o.get_str("event").ok()?.to_owned(),
        kind: o.get_str("k").ok()?.to_owned(),
        id: o.get_object_id("id").ok()?,
    })
}

/// What a request with a key is: which user, which request (method, path
/// and query, and the body), and how long its attempt may hold the key.
#[derive(Debug, Clone)]
pub struct KeyedRequest {
    pub user: ObjectId,
    pub key: String,
    /// `METHOD /path?query`, for people reading the collection (cut to 300
    /// characters); compared through `route_hash`.
    pub route: String,
    pub route_hash: String,
    pub body_hash: String,
    pub lease: Duration,
}

/// A stored answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// None when it was larger than [`MAX_STORED_BODY`].
    pub body: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

/// What a claim attempt found.
#[derive(Debug)]
pub enum Claimed {
    /// This attempt does the work.
    Mine(Claim),
    /// The work is done and this is its answer.
    Answered(Answer),
    /// The work committed but its answer was never stored (the process died
    /// between the commit and the answer, or the deadline fired after it):
    /// what it did, when the change recorded it.
    Committed(Option<Outcome>),
    /// The key was used for another request (route or body).
    Reused,
    /// Another attempt holds the key, for at most this long.
    Busy(Duration),
}

impl Store {
    fn keys(&self) -> mongodb::Collection<Document> {
        self.db.collection(COLLECTION)
    }

    /// Claims the key for this attempt, or says what holds it.
    pub async fn claim_key(&self, req: &KeyedRequest) -> Result<Claimed, StoreError> {
        let id = format!("{}:{}", req.user.to_hex(), req.key);
        // Unique per attempt (not a secret: it never leaves the server).
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let at = now();
        let lease_until = later(at, req.lease);
        let fresh = doc! {
            "_id": &id,
            "user": req.user,
            "route": req.route.chars().take(300).collect::<String>(),
            "routeHash": &req.route_hash,
            "bodyHash": &req.body_hash,
            "state": "pending",
            "owner": &owner,
            "leaseUntil": lease_until,
            "createdAt": at,
            "expiresAt": later(at, RETENTION),
        };
        // A takeover can race with another; a few rounds settle it.
        for _ in 0..3 {
            match self.keys().insert_one(fresh.clone()).await {
                Ok(_) => return Ok(Claimed::Mine(Claim { id, owner })),
                Err(e) if super::is_duplicate_key(&e) => {}
                Err(e) => return Err(e.into()),
            }
            let Some(found) = self.keys().find_one(doc! { "_id": &id }).await? else {
                continue; // expired meanwhile: insert again
            };
            if found.get_str("routeHash").ok() != Some(req.route_hash.as_str())
                || found.get_str("bodyHash").ok() != Some(req.body_hash.as_str())
            {
                return Ok(Claimed::Reused);
            }
            let until = found
                .get_datetime("leaseUntil")
                .map(|d| d.timestamp_millis())
                .unwrap_or(0);
            let left = until - now().timestamp_millis();
            let state = found.get_str("state").unwrap_or("pending");
            match state {
                "done" => return Ok(Claimed::Answered(answer_of(&found))),
                // Committed, its attempt alive: about to store its answer.
                _ if left > 0 => {
                    return Ok(Claimed::Busy(Duration::from_millis(left.unsigned_abs())))
                }
                // Committed, its attempt gone without storing the answer.
                "committed" => return Ok(Claimed::Committed(outcome_of(&found))),
                _ => {}
            }
            // The attempt that held it is gone: take it over, unless it moved.
            let taken = self
                .keys()
                .update_one(
                    doc! { "_id": &id, "state": "pending", "owner": found.get_str("owner").unwrap_or_default() },
                    doc! { "$set": { "owner": &owner, "leaseUntil": later(now(), req.lease) } },
                )
                .await?;
            if taken.matched_count == 1 {
                return Ok(Claimed::Mine(Claim { id, owner }));
            }
        }
        Ok(Claimed::Busy(req.lease))
    }

    /// The claim's document as stored.
    pub async fn key_state(&self, claim_id: &str) -> Result<Option<Document>, StoreError> {
        Ok(self.keys().find_one(doc! { "_id": claim_id }).await?)
    }

    /// Stores the answer of the attempt that holds `claim`; false when the
    /// claim is no longer its own (taken over: its change did not commit).
    pub async fn answer_key(&self, claim: &Claim, answer: &Answer) -> Result<bool, StoreError> {
        let mut set = doc! { "state": "done", "status": i32::from(answer.status), "doneAt": now() };
        match &answer.body {
            Some(body) => {
                set.insert(
                    "body",
                    Binary {
                        subtype: mongodb::bson::spec::BinarySubtype::Generic,
                        bytes: body.clone(),
                    },
                );
            }
            None => {
                set.insert("tooLarge", true);
            }
        }
        if let Some(ct) = &answer.content_type {
            set.insert("contentType", ct);
        }
        if let Some(etag) = &answer.etag {
            set.insert("etag", etag);
        }
        let done = self
            .keys()
            .update_one(
                doc! { "_id": &claim.id, "owner": &claim.owner },
                doc! { "$set": set },
            )
            .await?;
        Ok(done.matched_count == 1)
    }

    /// Gives the key up after a failure that changed nothing (a 5xx before
    /// any commit), so a retry does the work. A committed claim stays.
    pub async fn release_key(&self, claim: &Claim) -> Result<(), StoreError> {
        self.keys()
            .delete_one(doc! { "_id": &claim.id, "owner": &claim.owner, "state": "pending" })
            .await?;
        Ok(())
    }
}

impl Claim {
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn answer_of(found: &Document) -> Answer {
    let status = found
        .get("status")
        .and_then(super::as_int)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    Answer {
        status,
        body: found.get_binary_generic("body").ok().cloned(),
        content_type: found.get_str("contentType").ok().map(str::to_owned),
        etag: found.get_str("etag").ok().map(str::to_owned),
    }
}

fn later(at: DateTime, by: Duration) -> DateTime {
    DateTime::from_millis(
        at.timestamp_millis()
            .saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX)),
    )
}
