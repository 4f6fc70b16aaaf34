//! Back-fill for rolling deploys: while replicas of the release before the
//! journal still run next to this one, their writes of expenses and
//! payments carry no entry, and the activity and the sync feeds would miss
//! them. This release marks every expense it writes with `jv` (the version
//! it journaled); the previous release drops or leaves that mark when it
//! writes. A pass reads the expenses in id order and, for each whose `jv` is
//! not its version, writes the missing entry (`expense.created` when the
//! journal has none for it, else `expense.updated`, the fields changed
//! unknown; several changes between two passes make one entry) and the mark, in one transaction conditional on the version, so
//! two replicas never write it twice. The previous release also deletes
//! for good: a pass remembers what it saw, and an expense gone since the
//! last pass and not in the trash gets an `expense.deleted` entry.
//!
//! Passes run for a while after a start (a rolling deploy's length:
//! `database.backfill_minutes`), every `database.backfill_interval_ms`;
//! each reads every expense once, so it costs about as much as one pass
//! over the collection.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson};
use serde::Deserialize;

use super::{expense_entry, EntryDoc, ExpenseChange, JOURNALED};
use crate::store::batch::Batch;
use crate::store::{at_version, ExpenseDoc, Store, StoreError};

/// Above this many expenses, deletions are not tracked between passes (the
/// memory it would take); creations and edits still are.
/// (About 30 MB at the bound.)
const TRACK_AT_MOST: usize = 200_000;

#[derive(Deserialize)]
struct Scanned {
    #[serde(flatten)]
    doc: ExpenseDoc,
    #[serde(default)]
    jv: Option<i64>,
}

/// What a pass remembers of each expense until the next: enough to write
/// the entry of its deletion (about 150 bytes).
#[derive(Debug, Clone)]
struct Seen {
    id: ObjectId,
    kind: crate::store::Kind,
    description: String,
    amount: i64,
    currency: crate::domain::money::Currency,
    created_by: ObjectId,
    paid_by: ObjectId,
    /// The payee of a payment.
    payee: Option<ObjectId>,
    group: Option<ObjectId>,
    participants: Vec<ObjectId>,
}

impl Seen {
    /// From the few fields a pass reads of each expense.
    fn read(d: &mongodb::bson::Document) -> Option<Self> {
        let ids = |key: &str| -> Vec<ObjectId> {
            d.get_array(key)
                .map(|a| a.iter().filter_map(Bson::as_object_id).collect())
                .unwrap_or_default()
        };
        Some(Self {
            id: d.get_object_id("_id").ok()?,
            kind: match d.get_str("type") {
                Ok("payment") => crate::store::Kind::Payment,
                _ => crate::store::Kind::Expense,
            },
            description: d.get_str("description").unwrap_or_default().to_owned(),
            amount: d.get("amount").and_then(crate::store::as_int).unwrap_or(0),
            currency: d
                .get_str("currency")
                .ok()
                .and_then(|c| crate::domain::money::Currency::stored(c).ok())
                .unwrap_or_default(),
            created_by: d.get_object_id("createdBy").ok()?,
            paid_by: d.get_object_id("paidBy").ok()?,
            payee: d
                .get_array("splitWith")
                .ok()
                .and_then(|a| a.first())
                .and_then(Bson::as_document)
                .and_then(|s| s.get_object_id("user").ok()),
            group: d.get_object_id("group").ok(),
            participants: ids("participants"),
        })
    }

    /// The document as far as its deletion's entry reads it.
    fn doc(&self) -> ExpenseDoc {
        let mut d = ExpenseDoc {
            description: self.description.clone(),
            amount: self.amount,
            currency: self.currency,
            paid_by: self.paid_by,
            group: self.group,
            participants: self.participants.clone(),
            ..ExpenseDoc::blank(
                self.kind,
                self.id,
                self.created_by,
                mongodb::bson::DateTime::now(),
            )
        };
        if let Some(payee) = self.payee {
            d.split_with.push(crate::store::SplitDoc {
                id: ObjectId::new(),
                user: payee,
                amount: self.amount,
                settled: false,
                settled_at: None,
                weight: None,
            });
        }
        d
    }
}

/// The state kept between passes.
#[derive(Debug, Default)]
pub struct Backfill {
    previous: Option<Vec<Seen>>,
}

/// What a pass wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Filled {
    pub changed: usize,
    pub deleted: usize,
}

impl Store {
    /// One pass: entries for the changes the previous release made since
    /// the last pass.
    pub async fn backfill_pass(&self, state: &mut Backfill) -> Result<Filled, StoreError> {
        let mut filled = Filled::default();
        let mut seen: Vec<Seen> = Vec::new();
        let mut tracking = true;
        // What the previous release wrote: the database compares the mark
        // with the version, and only those documents travel.
        let unmarked: Vec<Scanned> = self
            .db
            .collection::<Scanned>("expenses")
            .find(doc! { "$expr": { "$ne": [ { "$ifNull": ["$jv", -1_i64] }, { "$ifNull": ["$version", 0_i64] } ] } })
            .limit(1000)
            .await?
            .try_collect()
            .await?;
        let unmarked: Vec<(ExpenseDoc, Option<i64>)> =
            unmarked.into_iter().map(|s| (s.doc, s.jv)).collect();
        // What exists now, in a few fields each, to see deletions.
        let mut cursor = self
            .db
            .collection::<mongodb::bson::Document>("expenses")
            .find(doc! {})
            .projection(doc! {
                "type": 1, "description": 1, "amount": 1, "currency": 1, "createdBy": 1,
                "paidBy": 1, "splitWith.user": 1, "group": 1, "participants": 1,
            })
            .sort(doc! { "_id": 1 })
            .batch_size(1000)
            .await?;
        while let Some(d) = cursor.try_next().await? {
            if tracking {
                let Some(one) = Seen::read(&d) else { continue };
                seen.push(one);
                if seen.len() > TRACK_AT_MOST {
                    tracking = false;
                    seen = Vec::new();
                }
            }
        }
        for (doc, jv) in unmarked {
            // Without a mark: created by the previous release, or replaced
            // by it (which drops the mark); the journal tells which.
            let created = jv.is_none()
                && self
                    .journal()
                    .clone_with_type::<mongodb::bson::Document>()
                    .find_one(doc! { "e": doc.id })
                    .projection(doc! { "_id": 1 })
                    .await?
                    .is_none();
            let change = if created {
                ExpenseChange::Created
            } else {
                ExpenseChange::Updated
            };
            if self.mark_journaled(&doc, change).await? {
                filled.changed += 1;
            }
        }
        if let (Some(previous), true) = (&state.previous, tracking) {
            let now: HashSet<ObjectId> = seen.iter().map(|s| s.id).collect();
            let gone: Vec<&Seen> = previous.iter().filter(|s| !now.contains(&s.id)).collect();
            if !gone.is_empty() {
                let ids: Vec<ObjectId> = gone.iter().map(|s| s.id).collect();
                let trashed: HashSet<ObjectId> = self
                    .db
                    .collection::<mongodb::bson::Document>("trash")
                    .find(doc! { "_id": { "$in": &ids } })
                    .projection(doc! { "_id": 1 })
                    .await?
                    .try_collect::<Vec<_>>()
                    .await?
                    .iter()
                    .filter_map(|d| d.get_object_id("_id").ok())
                    .collect();
                let entries: Vec<EntryDoc> = gone
                    .iter()
                    .filter(|s| !trashed.contains(&s.id))
                    .filter_map(|s| {
                        let mut e = expense_entry(
                            ExpenseChange::Deleted,
                            s.created_by,
                            Some(&s.doc()),
                            None,
                        )?;
                        e.subject.insert("backfill", true);
                        Some(e)
                    })
                    .collect();
                filled.deleted = entries.len();
                if !entries.is_empty() {
                    self.journal().insert_many(entries).await?;
                }
            }
        }
        state.previous = tracking.then_some(seen);
        Ok(filled)
    }

    /// Writes the missing entry of `doc` (as read) and marks it journaled,
    /// in one transaction that holds only while it is at that version.
    /// False when it changed meanwhile (the next pass sees it again).
    async fn mark_journaled(
        &self,
        doc: &ExpenseDoc,
        change: ExpenseChange,
    ) -> Result<bool, StoreError> {
        let Some(mut entry) = expense_entry(change, doc.created_by, None, Some(doc)) else {
            return Ok(false);
        };
        // Who made the change is not known: the entry says so.
        entry.subject.insert("backfill", true);
        let mut batch = Batch::new();
        batch
            .update(
                "expenses",
                doc! {
                    "_id": doc.id,
                    "version": at_version(doc.version),
                    JOURNALED: { "$ne": Bson::Int64(doc.version) },
                },
                doc! { "$set": { JOURNALED: doc.version } },
            )
            .require_match()
            .journal(&entry);
        self.write_batch_once(batch).await
    }
}
