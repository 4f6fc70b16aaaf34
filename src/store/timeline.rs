//! The `timeline` collection: one small document per (participant, expense),
//! `{_id: "<user>:<expense>", u, d, e}` with `d` the expense date, under a
//! plain `{u: 1, d: 1, e: 1}` index (read backwards). Pages of "my expenses" read it within
//! a date window (see `domain::months`), then fetch the expenses by id.
//!
//! The multikey `expenses.{participants, date}` index holds the same keys,
//! but SecantusDB does not seek to a date bound inside a multikey index: a
//! window there costs as much as every newer entry of the user, while on this
//! index it costs the entries inside the window. The timeline is a projection
//! of the expenses (see `projection`): kept in the expense transactions with
//! the ledger and rebuilt with it.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;

use super::{ExpenseDoc, Refill, Store};
use crate::domain::months::Window;
use crate::store::StoreError;

const COLLECTION: &str = "timeline";

fn entry_id(user: ObjectId, expense: ObjectId) -> String {
    format!("{}:{}", user.to_hex(), expense.to_hex())
}

fn entry(user: ObjectId, date: DateTime, expense: ObjectId) -> Document {
    doc! { "_id": entry_id(user, expense), "u": user, "d": date, "e": expense }
}

/// The timeline as a projection (see `projection`): the commands moving it
/// from `old` to `new` (either may be absent), run inside the expense's
/// transaction: an `insert` for people joining, an `update` re-dating the
/// entries of people staying when the date changed, and a `delete` for
/// people leaving. Plain inserts, not upserts:
/// they cost the database about half as much.
pub(super) fn changes(old: Option<&ExpenseDoc>, new: Option<&ExpenseDoc>) -> Vec<Document> {
    let Some(expense) = new.or(old).map(|e| e.id) else {
        return Vec::new();
    };
    let people = |e: Option<&ExpenseDoc>| -> BTreeSet<ObjectId> {
        e.map(|e| e.participants.iter().copied().collect())
            .unwrap_or_default()
    };
    let (before, after) = (people(old), people(new));
    let mut commands = Vec::new();
    if let Some(new) = new {
        let joining: Vec<Document> = after
            .difference(&before)
            .map(|user| entry(*user, new.date, expense))
            .collect();
        if !joining.is_empty() {
            commands.push(doc! { "insert": COLLECTION, "documents": joining, "ordered": true });
        }
        let redated: Vec<String> = match old {
            Some(old) if old.date != new.date => before
                .intersection(&after)
                .map(|user| entry_id(*user, expense))
                .collect(),
            _ => Vec::new(),
        };
        if !redated.is_empty() {
            commands.push(doc! {
                "update": COLLECTION,
                "updates": [{
                    "q": { "_id": { "$in": redated } },
                    "u": { "$set": { "d": new.date } },
                    "multi": true,
                }],
            });
        }
    }
    let leaving: Vec<String> = before
        .difference(&after)
        .map(|user| entry_id(*user, expense))
        .collect();
    if !leaving.is_empty() {
        commands.push(doc! {
            "delete": COLLECTION,
            "deletes": [{ "q": { "_id": { "$in": leaving } }, "limit": 0 }],
        });
    }
    commands
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

/// The expenses named by the entries a cursor reads, in its order.
async fn expense_ids(entries: mongodb::Cursor<Document>) -> mongodb::error::Result<Vec<ObjectId>> {
    let entries: Vec<Document> = entries.try_collect().await?;
    Ok(entries
        .iter()
        .filter_map(|d| d.get_object_id("e").ok())
        .collect())
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
        let mut refill = Refill::start(self.timeline()).await?;
        let mut cursor = self.dated_expenses().await?;
        while let Some(e) = cursor.try_next().await? {
            // Collected: a borrowing iterator held across the await is not
            // `Send` for the spawned preparation task.
            let entries: Vec<Document> = e
                .participants
                .iter()
                .map(|u| entry(*u, e.date, e.id))
                .collect();
            refill.extend(entries).await?;
        }
        refill.finish().await
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
        let entries = self
            .timeline()
            .find(filter)
            .sort(doc! { "d": -1, "e": -1 })
            .skip(window.skip)
            .limit(limit)
            .projection(doc! { "_id": 0, "e": 1 })
            .await?;
        expense_ids(entries).await
    }

    /// The ids of `user`'s expenses and payments in id order, after `after`,
    /// at most `limit`: a snapshot's pages (the entry ids sort by expense
    /// within a user).
    pub async fn timeline_ids_after(
        &self,
        user: ObjectId,
        after: Option<ObjectId>,
        limit: i64,
    ) -> Result<Vec<ObjectId>, StoreError> {
        let from = match after {
            Some(e) => doc! { "$gt": entry_id(user, e) },
            None => doc! { "$gt": format!("{}:", user.to_hex()) },
        };
        let mut range = from;
        range.insert("$lt", format!("{};", user.to_hex()));
        let entries = self
            .timeline()
            .find(doc! { "_id": range })
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .projection(doc! { "_id": 0, "e": 1 })
            .await?;
        Ok(expense_ids(entries).await?)
    }

    /// The timeline as stored and as it follows from the expenses, sorted.
    /// For consistency checks.
    pub async fn timeline_stored_and_expected(
        &self,
    ) -> Result<(Vec<TimelineEntry>, Vec<TimelineEntry>), StoreError> {
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
