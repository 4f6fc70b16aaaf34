//! The `recurring` collection (one document per series: its schedule, the
//! expense template, the next sequence and when it falls due) and
//! `occurrences`, one tiny document per (series, sequence) created or
//! skipped, `_id: "<seriesId>:<sequence>"`.
//!
//! Exactly once: an occurrence's expense is inserted in one transaction with
//! its `occurrences` document (a second insert of the same `_id` fails on
//! the unique `_id`) and the series' advance, which matches only the version
//! that was read and its `next` sequence. Two replicas, or a retry, that
//! race for one occurrence: one commits, the other writes nothing.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use super::batch::Batch;
use super::expenses::created;
use super::{at_version, ExpenseDoc, Store, StoreError};
use crate::domain::recurrence::{Frequency, SeriesStatus};

pub(super) const COLLECTION: &str = "recurring";
pub(super) const OCCURRENCES: &str = "occurrences";

/// A `recurring` document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub created_by: ObjectId,
    #[serde(default)]
    pub group: Option<ObjectId>,
    /// The creator and everyone in the template: who may see the series.
    pub people: Vec<ObjectId>,
    /// The body of `POST /v1/expenses` each occurrence is created from
    /// (its known fields only; `date` is the occurrence's).
    pub template: Document,
    /// The first sequence the current template applies to.
    pub template_from: i64,
    pub frequency: Frequency,
    pub interval: i64,
    /// `YYYY-MM-DD`.
    pub start_date: String,
    /// IANA name.
    pub time_zone: String,
    #[serde(default)]
    pub end_after: Option<i64>,
    #[serde(default)]
    pub end_date: Option<String>,
    pub status: SeriesStatus,
    #[serde(default)]
    pub paused_reason: Option<String>,
    /// The next occurrence's sequence (from 1).
    pub next: i64,
    /// Its day (None once completed).
    #[serde(default)]
    pub next_date: Option<String>,
    /// When it falls due (None once completed).
    #[serde(default)]
    pub due: Option<DateTime>,
    /// How many occurrences were created, and skipped.
    pub created_count: i64,
    pub skipped_count: i64,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    pub version: i64,
}

/// What one occurrence's transaction does besides advancing the series.
pub enum Occurrence<'a> {
    /// The expense of sequence `next` of the series as read.
    Created(&'a ExpenseDoc),
    /// Sequence `next` is skipped: no expense, ever.
    Skipped,
}

impl Store {
    fn series(&self) -> Collection<SeriesDoc> {
        self.db.collection(COLLECTION)
    }

    /// Inserts a new series, in a transaction of its own (so a request's
    /// `Idempotency-Key` is recorded with it, see `batch`).
    pub async fn insert_series(&self, series: &SeriesDoc) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        let document = mongodb::bson::to_document(series).map_err(StoreError::internal)?;
        batch.insert(COLLECTION, document);
        self.write_batch(batch).await?;
        Ok(())
    }

    pub async fn series_by_id(&self, id: ObjectId) -> Result<Option<SeriesDoc>, StoreError> {
        Ok(self.series().find_one(doc! { "_id": id }).await?)
    }

    /// A page of the series `user` is in (created or in the template),
    /// active first, then newest first; and the total.
    pub async fn series_of(
        &self,
        user: ObjectId,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<SeriesDoc>, u64), StoreError> {
        let filter = doc! { "people": user };
        let total = self.series().count_documents(filter.clone()).await?;
        // `active` < `completed` < `paused`: active ones come first.
        let page = self
            .series()
            .find(filter)
            .sort(doc! { "status": 1, "_id": -1 })
            .skip(skip)
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok((page, total))
    }

    /// Active series due at `now` or before, soonest first.
    pub async fn due_series(
        &self,
        now: DateTime,
        limit: i64,
    ) -> Result<Vec<SeriesDoc>, StoreError> {
        Ok(self
            .series()
            .find(doc! { "status": SeriesStatus::Active.code(), "due": { "$lte": now } })
            .sort(doc! { "due": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// Writes `new` over `old` if it is still the version read; false when
    /// it changed meanwhile (nothing written).
    pub async fn replace_series(
        &self,
        old: &SeriesDoc,
        new: &SeriesDoc,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        batch
            .update(COLLECTION, as_read(old), series_set(new)?)
            .require_match();
        self.write_batch_once(batch).await
    }

    /// Deletes the series if it is still the version read (its expenses
    /// stay); false when it changed meanwhile.
    pub async fn delete_series(&self, old: &SeriesDoc) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        batch
            .delete(COLLECTION, as_read(old), false)
            .require_match();
        self.write_batch_once(batch).await
    }

    /// Occurrence `old.next` (created with its expense, or skipped) and the
    /// series advanced to `new`, in one transaction; false when the series
    /// changed meanwhile or the occurrence exists already (nothing written).
    pub async fn advance_series(
        &self,
        old: &SeriesDoc,
        new: &SeriesDoc,
        occurrence: Occurrence<'_>,
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        let mut marker = doc! {
            "_id": occurrence_id(old.id, old.next),
            "series": old.id,
            "sequence": old.next,
            "at": super::now(),
        };
        match occurrence {
            Occurrence::Created(expense) => {
                marker.insert("expense", expense.id);
                batch.insert(OCCURRENCES, marker);
                created(&mut batch, expense, actor)?;
            }
            Occurrence::Skipped => {
                marker.insert("skipped", true);
                batch.insert(OCCURRENCES, marker);
            }
        }
        let mut filter = as_read(old);
        filter.insert("next", old.next);
        batch
            .update(COLLECTION, filter, series_set(new)?)
            .require_match();
        match self.write_batch_once(batch).await {
            Err(StoreError::Internal(e))
                if e.downcast_ref::<mongodb::error::Error>()
                    .is_some_and(super::is_duplicate_key) =>
            {
                Ok(false)
            }
            other => other,
        }
    }

    /// Pauses the active series matching `filter` with `reason` (a member
    /// left a group, a friendship ended); how many.
    pub async fn pause_series_where(
        &self,
        mut filter: Document,
        reason: &str,
    ) -> Result<u64, StoreError> {
        filter.insert("status", SeriesStatus::Active.code());
        let done = self
            .series()
            .update_many(
                filter,
                doc! {
                    "$set": {
                        "status": SeriesStatus::Paused.code(),
                        "pausedReason": reason,
                        "updatedAt": super::now(),
                    },
                    "$inc": { "version": 1 },
                },
            )
            .await?;
        Ok(done.modified_count)
    }

    /// The occurrences of `series` recorded so far: (sequence, skipped).
    pub async fn occurrences_of(&self, series: ObjectId) -> Result<Vec<(i64, bool)>, StoreError> {
        let docs: Vec<Document> = self
            .db
            .collection::<Document>(OCCURRENCES)
            .find(doc! { "series": series })
            .sort(doc! { "sequence": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .iter()
            .map(|d| {
                (
                    d.get("sequence").and_then(super::as_int).unwrap_or(0),
                    d.get_bool("skipped").unwrap_or(false),
                )
            })
            .collect())
    }
}

/// `<seriesId>:<sequence>`.
fn occurrence_id(series: ObjectId, sequence: i64) -> String {
    format!("{}:{sequence}", series.to_hex())
}

fn as_read(s: &SeriesDoc) -> Document {
    doc! { "_id": s.id, "version": at_version(s.version) }
}

/// `$set` of every field but `_id`.
fn series_set(s: &SeriesDoc) -> Result<Document, StoreError> {
    let mut d = mongodb::bson::to_document(s).map_err(StoreError::internal)?;
    d.remove("_id");
    Ok(doc! { "$set": d })
}
