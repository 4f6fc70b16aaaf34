//! The `journal` collection: one entry per change, written in the change's
//! transaction (in its `bulkWrite`, see `batch`), never updated afterwards
//! except for the sequence number the sequencer gives it. Each entry records
//! the actor, the time, the audience (who could see the object at that
//! moment, fixed then) and, for edits, every changed field old → new.
//!
//! Entries are small (a few hundred bytes) and their cost does not depend on
//! how much history there is: an insert with the change (three index
//! entries: `_id`, `{e, _id}`, `{q, _id}`), then the sequencer numbers it
//! and appends it to each viewer's `feed` (`q`, see `sequence`). Activity
//! pages and the offline sync read a viewer's feed by its ids; one object's
//! history reads `{e, _id}`.

pub mod backfill;
mod expense;
pub mod sequence;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use serde::{Deserialize, Serialize};

pub use expense::{expense_entry, ExpenseChange};

use super::batch::Batch;
use super::{Store, StoreError};

pub(super) const COLLECTION: &str = "journal";

/// The field of an `expenses` document saying which version of it the
/// journal recorded (see `backfill`).
pub(in crate::store) const JOURNALED: &str = "jv";

/// How long entries (and the sync feed) are kept: the hourly purge
/// (`Store::purge_journal`) removes older ones. A sync cursor older than
/// this is refused (start over with a snapshot).
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(400 * 24 * 3600);

/// What an entry is about: `expense`, `payment`, `group`, `friend` (the
/// other person's id) or `user`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectRef {
    #[serde(rename = "k")]
    pub kind: String,
    pub id: ObjectId,
}

/// One changed field: its value before and after (absent: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    #[serde(rename = "f")]
    pub field: String,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Bson>,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Bson>,
}

/// A `journal` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// `expense.updated`, `group.member_added`, …
    #[serde(rename = "t")]
    pub kind: String,
    pub at: DateTime,
    #[serde(rename = "by")]
    pub actor: ObjectId,
    /// Who could see the object when it changed.
    #[serde(rename = "aud")]
    pub audience: Vec<ObjectId>,
    #[serde(rename = "o")]
    pub object: ObjectRef,
    /// The expense or payment the entry belongs to (its history).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expense: Option<ObjectId>,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group: Option<ObjectId>,
    /// What the summary names: description, amount, currency, a group's or
    /// comment's text, the other person…
    #[serde(rename = "s", default)]
    pub subject: Document,
    #[serde(rename = "ch", default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// The version of the object this change made (absent: it is gone).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The sequence number, given after commit by the sequencer.
    /// 0 until then: an equality the `{q, _id}` index seeks to (SecantusDB
    /// scans the whole index for `q: null`).
    #[serde(rename = "q", default)]
    pub seq: i64,
}

impl EntryDoc {
    /// An entry of `kind` about `object` by `actor`, now, seen by `audience`.
    pub fn new(kind: &str, actor: ObjectId, object: ObjectRef, audience: Vec<ObjectId>) -> Self {
        let mut audience = audience;
        audience.sort();
        audience.dedup();
        Self {
            id: ObjectId::new(),
            kind: kind.to_owned(),
            at: super::now(),
            actor,
            audience,
            object,
            expense: None,
            group: None,
            subject: Document::new(),
            changes: Vec::new(),
            version: None,
            seq: 0,
        }
    }

    pub fn in_group(mut self, group: Option<ObjectId>) -> Self {
        self.group = group;
        self
    }

    pub fn with_subject(mut self, subject: Document) -> Self {
        self.subject = subject;
        self
    }

    pub(super) fn document(&self) -> Document {
        mongodb::bson::to_document(self).unwrap_or_default()
    }
}

impl Batch {
    /// Adds the entry to the change's writes.
    pub(crate) fn journal(&mut self, entry: &EntryDoc) -> &mut Self {
        self.outcome = Some(doc! {
            "event": entry.kind.as_str(),
            "k": entry.object.kind.as_str(),
            "id": entry.object.id,
        });
        self.insert(COLLECTION, entry.document())
    }
}

impl Store {
    /// Removes entries and feed items older than `retention`: entries by
    /// their id (ids start with their time: the `_id` index bounds them),
    /// feed items by their time (a pass over the feed, hourly). No TTL
    /// indexes: they would cost every insert an index entry more.
    pub async fn purge_journal(&self, retention: std::time::Duration) -> Result<u64, StoreError> {
        let cutoff_ms = super::now().timestamp_millis()
            - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let secs = u32::try_from(cutoff_ms.max(0) / 1000).unwrap_or(u32::MAX);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        let entries = self
            .journal()
            .delete_many(doc! { "_id": { "$lt": ObjectId::from_bytes(bytes) } })
            .await?;
        let feed = self
            .db
            .collection::<Document>(sequence::FEED)
            .delete_many(doc! { "at": { "$lt": DateTime::from_millis(cutoff_ms) } })
            .await?;
        Ok(entries.deleted_count + feed.deleted_count)
    }

    /// Writes one entry on its own: an event that changes nothing else
    /// (an export, the end of an import whose rows have their entries).
    pub async fn record_entry(&self, entry: &EntryDoc) -> Result<(), StoreError> {
        self.journal().insert_one(entry).await?;
        self.journal_written();
        Ok(())
    }

    pub(super) fn journal(&self) -> mongodb::Collection<EntryDoc> {
        self.db.collection(COLLECTION)
    }

    /// Writes entries inside the caller's transaction (changes that are not
    /// one `bulkWrite`), and with them the request's idempotency claim, as
    /// `run_batch` does: a claim taken over meanwhile aborts the change.
    pub(super) async fn journal_in(
        &self,
        s: &mut mongodb::ClientSession,
        entries: &[EntryDoc],
    ) -> mongodb::error::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.journal().insert_many(entries).session(&mut *s).await?;
        self.journal_written();
        if let Some((collection, filter, update)) = super::idempotency::claim_op() {
            let marked = self
                .db
                .collection::<Document>(collection)
                .update_one(filter, update)
                .session(&mut *s)
                .await?;
            if marked.matched_count == 0 {
                return Err(mongodb::error::Error::custom(super::batch::Missed));
            }
        }
        Ok(())
    }

    /// One expense's or payment's history as `viewer` saw it, newest
    /// first, older than `before` (an entry id), at most `limit`.
    pub async fn history(
        &self,
        viewer: ObjectId,
        expense: ObjectId,
        before: Option<ObjectId>,
        limit: i64,
    ) -> Result<Vec<EntryDoc>, StoreError> {
        let mut query = doc! { "e": expense, "aud": viewer };
        if let Some(before) = before {
            query.insert("_id", doc! { "$lt": before });
        }
        // The `{e, _id}` index, read backwards. Not hinted: SecantusDB
        // scans the whole index it is hinted to, where its planner seeks
        // this one to the expense unaided.
        Ok(self
            .journal()
            .find(query)
            .sort(doc! { "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }
}
