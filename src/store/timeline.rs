//! The `timeline` collection: one small document per (participant, expense),
//! `{_id: "<user>:<expense>", u, d, e}` with `d` the expense date, under a
//! plain `{u: 1, d: 1, e: 1}` index (read backwards). Pages of "my expenses" read it within
//! a date window (see `domain::months`), then fetch the expenses by id.
//!
//! The multikey `expenses.{participants, date}` index holds the same keys,
//! but SecantusDB does not seek to a date bound inside a multikey index: a
//! window there costs as much as every newer entry of the user, while on this
//! index it costs the entries inside the window. The timeline is kept in the
//! expense transactions with the rest of the ledger and rebuilt with it.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;

use super::{ExpenseDoc, Store};
use crate::domain::months::Window;

const COLLECTION: &str = "timeline";

fn entry_id(user: ObjectId, expense: ObjectId) -> String {
    format!("{}:{}", user.to_hex(), expense.to_hex())
}

fn entry(user: ObjectId, date: DateTime, expense: ObjectId) -> Document {
    doc! { "_id": entry_id(user, expense), "u": user, "d": date, "e": expense }
}

/// The commands moving the timeline from `old` to `new` (either may be
/// absent): an `update` upserting new or re-dated entries, and a `delete` of
/// the entries of people no longer taking part.
pub(super) fn changes(
    old: Option<&ExpenseDoc>,
    new: Option<&ExpenseDoc>,
) -> (Option<Document>, Option<Document>) {
    let dated = |e: Option<&ExpenseDoc>| -> BTreeMap<ObjectId, DateTime> {
        e.map(|e| e.participants.iter().map(|u| (*u, e.date)).collect())
            .unwrap_or_default()
    };
    let (before, after) = (dated(old), dated(new));
    let Some(expense) = new.or(old).map(|e| e.id) else {
        return (None, None);
    };
    let updates: Vec<Document> = after
        .iter()
        .filter(|(user, date)| before.get(user) != Some(date))
        .map(|(user, date)| {
            doc! {
                "q": { "_id": entry_id(*user, expense) },
                "u": { "$set": { "u": user, "d": date, "e": expense } },
                "upsert": true,
            }
        })
        .collect();
    let gone: Vec<String> = before
        .keys()
        .filter(|user| !after.contains_key(user))
        .map(|user| entry_id(*user, expense))
        .collect();
    let upserts = (!updates.is_empty())
        .then(|| doc! { "update": COLLECTION, "updates": updates, "ordered": true });
    let deletes = (!gone.is_empty()).then(|| {
        doc! {
            "delete": COLLECTION,
            "deletes": [{ "q": { "_id": { "$in": gone } }, "limit": 0 }],
        }
    });
    (upserts, deletes)
}

#[derive(Deserialize)]
struct Dated {
    #[serde(rename = "_id")]
    id: ObjectId,
    #[serde(default)]
    participants: Vec<ObjectId>,
    date: DateTime,
}

/// The condition on a date that keeps it inside the window.
pub(super) fn date_range(window: Window) -> Document {
    doc! {
        "$gte": DateTime::from_millis(window.from),
        "$lt": DateTime::from_millis(window.until),
    }
}

/// A timeline entry: (user, date, expense).
pub type TimelineEntry = (ObjectId, DateTime, ObjectId);

impl Store {
    pub(super) fn timeline(&self) -> mongodb::Collection<Document> {
        self.db.collection(COLLECTION)
    }

    /// Every expense's id, date and participants, in modest batches.
    async fn dated_expenses(&self) -> mongodb::error::Result<mongodb::Cursor<Dated>> {
        self.expenses()
            .clone_with_type::<Dated>()
            .find(doc! {})
            .projection(doc! { "participants": 1, "date": 1 })
            .batch_size(1000)
            .await
    }

    /// Rewrites the timeline from the expenses, streaming (memory stays flat).
    pub(super) async fn rebuild_timeline(&self) -> mongodb::error::Result<()> {
        let timeline = self.timeline();
        timeline.delete_many(doc! {}).await?;
        let mut cursor = self.dated_expenses().await?;
        let mut batch = Vec::with_capacity(1000);
        while let Some(e) = cursor.try_next().await? {
            batch.extend(e.participants.iter().map(|u| entry(*u, e.date, e.id)));
            if batch.len() >= 1000 {
                timeline.insert_many(std::mem::take(&mut batch)).await?;
            }
        }
        if !batch.is_empty() {
            timeline.insert_many(batch).await?;
        }
        Ok(())
    }

    /// The ids of the user's expenses on one page: `limit` entries of the
    /// window, newest first, after the window's skip.
    pub(super) async fn timeline_page(
        &self,
        user: ObjectId,
        window: Window,
        limit: i64,
    ) -> mongodb::error::Result<Vec<ObjectId>> {
        let filter = doc! { "u": user, "d": date_range(window) };
        let entries: Vec<Document> = self
            .timeline()
            .find(filter)
            .sort(doc! { "d": -1, "e": -1 })
            .skip(window.skip)
            .limit(limit)
            .projection(doc! { "_id": 0, "e": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(entries
            .iter()
            .filter_map(|d| d.get_object_id("e").ok())
            .collect())
    }

    /// The timeline as stored and as it follows from the expenses, sorted.
    /// For consistency checks.
    pub async fn timeline_stored_and_expected(
        &self,
    ) -> mongodb::error::Result<(Vec<TimelineEntry>, Vec<TimelineEntry>)> {
        let mut expected = Vec::new();
        let mut cursor = self.dated_expenses().await?;
        while let Some(e) = cursor.try_next().await? {
            expected.extend(e.participants.iter().map(|u| (*u, e.date, e.id)));
        }
        let docs: Vec<Document> = self.timeline().find(doc! {}).await?.try_collect().await?;
        let mut stored: Vec<TimelineEntry> = docs
            .iter()
            .filter_map(|d| {
                let (u, e) = (d.get_object_id("u").ok()?, d.get_object_id("e").ok()?);
                // An entry is found by its id: a wrong one would never be updated.
                (d.get_str("_id").ok()? == entry_id(u, e)).then_some((
                    u,
                    *d.get_datetime("d").ok()?,
                    e,
                ))
            })
            .collect();
        stored.sort();
        expected.sort();
        Ok((stored, expected))
    }
}
