//! The `expenses` collection: amounts in integer minor units, embedded splits,
//! and a `participants` array (creator, payers, split users) that the
//! `{participants, date}` index serves filtered "my expenses" queries from.
//! Unfiltered pages go through the month counts and the timeline instead.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use super::batch::{conflicted, missed, Batch};
use super::journal::{expense_entry, ExpenseChange, JOURNALED};
use super::timeline::date_range;
use super::{as_int, at_version, now, GroupDoc, Store};
use crate::store::StoreError;

pub mod conversions;
mod document;
pub mod trash;

use document::settle_filter;

pub use document::{ExchangeDoc, ExpenseDoc, Kind, PayerDoc, RateSource, RecurringRef, SplitDoc};

/// Which expenses a listing covers.
#[derive(Debug, Clone, Default)]
pub struct ExpenseFilter {
    pub participant: Option<ObjectId>,
    pub with_friend: Option<ObjectId>,
    pub group: Option<ObjectId>,
    pub settled: Option<bool>,
}

impl ExpenseFilter {
    /// What `user` takes part in, with a friend, settled or not.
    pub fn mine(user: ObjectId, with_friend: Option<ObjectId>, settled: Option<bool>) -> Self {
        Self {
            participant: Some(user),
            with_friend,
            group: None,
            settled,
        }
    }

    pub(super) fn to_document(&self) -> Document {
        let mut f = Document::new();
        match (self.participant, self.with_friend) {
            (Some(me), Some(friend)) => {
                f.insert("participants", doc! { "$all": [me, friend] });
            }
            (Some(me), None) => {
                f.insert("participants", me);
            }
            _ => {}
        }
        if let Some(group) = self.group {
            f.insert("group", group);
        }
        if let Some(settled) = self.settled {
            f.insert("isSettled", settled);
        }
        f
    }
}

pub(super) const COLLECTION: &str = "expenses";

impl Store {
    /// Inserts the expense, books its balances and journals it, atomically,
    /// in one `bulkWrite`.
    pub async fn insert_expense(
        &self,
        expense: &ExpenseDoc,
        actor: ObjectId,
    ) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        created(&mut batch, expense, actor)?;
        self.write_batch(batch).await?;
        Ok(())
    }

    /// Inserts imported expenses, each with the key of its source row (see
    /// `store::imports`), books their balances and journals them, atomically,
    /// in one `bulkWrite`. False when another import wrote one of the keys
    /// meanwhile, or a concurrent transaction conflicted: nothing was
    /// written, and the caller reads which keys are new again.
    pub async fn import_expenses(
        &self,
        rows: &[(ExpenseDoc, String)],
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        for (expense, key) in rows {
            created(&mut batch, expense, actor)?;
            batch.insert(super::imports::KEYS, super::imports::key_doc(key, expense));
        }
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

    pub async fn expense_by_id(&self, id: ObjectId) -> Result<Option<ExpenseDoc>, StoreError> {
        Ok(self.expenses().find_one(doc! { "_id": id }).await?)
    }

    /// A page of a filtered listing (with a friend, or by settlement), newest
    /// `date` first, and the total: the `count` command counts from the index,
    /// then the page is skipped to.
    pub async fn list_expenses(
        &self,
        filter: &ExpenseFilter,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, u64), StoreError> {
        let filter = filter.to_document();
        let reply = self
            .db
            .run_command(doc! { "count": "expenses", "query": filter.clone() })
            .await?;
        let total = reply.get("n").and_then(as_int).unwrap_or(0);
        let page = self.newest_first(filter, skip, limit).await?;
        Ok((page, u64::try_from(total).unwrap_or(0)))
    }

    async fn newest_first(
        &self,
        filter: Document,
        skip: u64,
        limit: i64,
    ) -> Result<Vec<ExpenseDoc>, StoreError> {
        Ok(self
            .expenses()
            .find(filter)
            .sort(doc! { "date": -1, "_id": -1 })
            .skip(skip)
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    /// A page of every expense the user takes part in, newest `date` first,
    /// and the total. The month counts turn the page into a date window, the
    /// timeline names the expenses in it, then they are read by id: three
    /// short reads wherever the page lies in the history.
    pub async fn user_expense_page(
        &self,
        user: ObjectId,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, u64), StoreError> {
        let counts = self.expense_months_of(user).await?;
        let total = counts.total();
        let Some(window) = counts.window(skip, limit.unsigned_abs()) else {
            return Ok((Vec::new(), total));
        };
        let ids = self.timeline_page(user, window, limit).await?;
        Ok((self.expenses_in_order(&ids).await?, total))
    }

    /// The expenses and payments with these ids, in this order (missing
    /// ones left out).
    pub async fn expenses_by_ids(&self, ids: &[ObjectId]) -> Result<Vec<ExpenseDoc>, StoreError> {
        self.expenses_in_order(ids).await
    }

    /// The expenses with these ids, in this order (missing ones left out).
    pub(super) async fn expenses_in_order(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<ExpenseDoc>, StoreError> {
        super::in_order(&self.expenses(), ids, |e| e.id).await
    }

    /// A page of the group's expenses, newest `date` first, and the total:
    /// the group's month counts turn the page into a date window that the
    /// `{group, date}` index seeks into.
    pub async fn group_expense_page(
        &self,
        group: &GroupDoc,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, u64), StoreError> {
        let counts = group.expense_counts();
        let total = counts.total();
        let Some(window) = counts.window(skip, limit.unsigned_abs()) else {
            return Ok((Vec::new(), total));
        };
        let filter = doc! { "group": group.id, "date": date_range(window) };
        let page = self.newest_first(filter, window.skip, limit).await?;
        Ok((page, total))
    }

    /// Replaces `old` (as read) with `new` (its next version), rebooks its
    /// balances and journals the change by `actor`, atomically; false when
    /// it changed meanwhile (or is gone): nothing was written.
    pub async fn replace_expense(
        &self,
        old: &ExpenseDoc,
        new: &ExpenseDoc,
        change: ExpenseChange,
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        batch
            .update(COLLECTION, as_read(old), changed_fields(old, new)?)
            .require_match();
        batch.project(Some(old), Some(new));
        journal(&mut batch, change, actor, Some(old), Some(new));
        self.write_batch(batch).await
    }

    /// Deletes `old` (as read): moves it to the trash, where it can be
    /// restored from for the retention period, unbooks its balances and
    /// journals the deletion by `actor`, atomically; false when it changed
    /// meanwhile (or is gone). Its comments and receipt stay with it until
    /// the trash is purged.
    pub async fn delete_expense(
        &self,
        old: &ExpenseDoc,
        actor: ObjectId,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        deleted(&mut batch, old, actor, now())?;
        self.write_batch(batch).await
    }

    /// Settles `user`'s share of `old` (as read, where the rule held) and
    /// rebooks the balances, atomically; None when it changed meanwhile.
    /// When every split but the payer's is settled, the expense becomes
    /// settled.
    pub async fn settle_split(
        &self,
        old: &ExpenseDoc,
        user: ObjectId,
    ) -> Result<Option<ExpenseDoc>, StoreError> {
        let at = now();
        let mut new = old.clone();
        new.settle_share(user, at);
        // The rule as it is checked in memory, and the version read: an
        // edit or another settlement meanwhile makes this write miss.
        let mut filter = settle_filter(old.id, user);
        filter.insert("version", at_version(old.version));
        let mut batch = Batch::new();
        batch
            .update(COLLECTION, filter, changed_fields(old, &new)?)
            .require_match();
        batch.project(Some(old), Some(&new));
        journal(
            &mut batch,
            ExpenseChange::Settled,
            user,
            Some(old),
            Some(&new),
        );
        Ok(self.write_batch(batch).await?.then_some(new))
    }

    /// Runs the writes in one transaction; false when a required write
    /// missed (the transaction aborted: nothing was written).
    pub(crate) async fn write_batch(&self, batch: Batch) -> Result<bool, StoreError> {
        // Not causally consistent: a retried transaction would otherwise
        // send `readConcern` with its first command, which SecantusDB
        // refuses on `bulkWrite` (the writes need no causal read anyway).
        let mut session = self
            .client
            .start_session()
            .causal_consistency(false)
            .await?;
        let batch = &batch;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let done = session
                .start_transaction()
                .and_run2(async |s| self.run_batch(s, batch).await)
                .await;
            return match done {
                Ok(()) => Ok(true),
                Err(e) if missed(&e) => Ok(false),
                // A write conflict reported per operation carries no
                // transient label for `and_run2` to retry on: tried again
                // here, after a short pause that grows.
                Err(e) if conflicted(&e) && attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(std::time::Duration::from_millis(2 << attempt)).await;
                    continue;
                }
                Err(e) => Err(e.into()),
            };
        }
    }
}

/// How many times a transaction meeting write conflicts is tried.
const CONFLICT_ATTEMPTS: u32 = 8;

/// The filter matching `e` as it was read: its id at its version.
fn as_read(e: &ExpenseDoc) -> Document {
    doc! { "_id": e.id, "version": at_version(e.version) }
}

/// The document as written, with `jv` (the version the journal has an
/// entry for) equal to its version: a replica of the release before the
/// journal drops or leaves `jv` when it writes, which is how the back-fill
/// (`journal::backfill`) finds its changes.
fn to_document(e: &ExpenseDoc) -> Result<Document, StoreError> {
    let mut d = mongodb::bson::to_document(e).map_err(StoreError::internal)?;
    d.insert(JOURNALED, e.version);
    Ok(d)
}

/// The update taking the document from `old` (as read) to `new`: `$set`
/// of the top-level fields that differ, `$unset` of those `new` lacks.
/// Cheaper for the database than replacing the whole document (measured on
/// secantusd-rs: 0.07–0.10 ms of its CPU less per edit), and fields this
/// release does not know stay as they are.
pub(super) fn changed_fields(old: &ExpenseDoc, new: &ExpenseDoc) -> Result<Document, StoreError> {
    let (before, after) = (to_document(old)?, to_document(new)?);
    let mut set = Document::new();
    for (key, value) in &after {
        if before.get(key) != Some(value) {
            set.insert(key.clone(), value.clone());
        }
    }
    let mut update = doc! { "$set": set };
    let gone: Document = before
        .keys()
        .filter(|key| !after.contains_key(*key))
        .map(|key| (key.clone(), Bson::from("")))
        .collect();
    if !gone.is_empty() {
        update.insert("$unset", gone);
    }
    Ok(update)
}

/// Adds a new expense to the batch: the document, its bookings, its entry.
pub(super) fn created(
    batch: &mut Batch,
    expense: &ExpenseDoc,
    actor: ObjectId,
) -> Result<(), StoreError> {
    batch.insert(COLLECTION, to_document(expense)?);
    batch.project(None, Some(expense));
    journal(batch, ExpenseChange::Created, actor, None, Some(expense));
    Ok(())
}

/// Adds the deletion of `old` (as read) by `actor` at `at` to the batch:
/// the document moves to the trash, its bookings are undone, its entry.
fn deleted(
    batch: &mut Batch,
    old: &ExpenseDoc,
    actor: ObjectId,
    at: mongodb::bson::DateTime,
) -> Result<(), StoreError> {
    batch
        .delete(COLLECTION, as_read(old), false)
        .require_match();
    batch.insert(
        trash::COLLECTION,
        doc! {
            "_id": old.id,
            "doc": to_document(old)?,
            "deletedAt": at,
            "deletedBy": actor,
            "participants": old.participants.clone(),
        },
    );
    batch.project(Some(old), None);
    journal(batch, ExpenseChange::Deleted, actor, Some(old), None);
    Ok(())
}

/// Adds the change's journal entry to the batch.
fn journal(
    batch: &mut Batch,
    change: ExpenseChange,
    actor: ObjectId,
    old: Option<&ExpenseDoc>,
    new: Option<&ExpenseDoc>,
) {
    if let Some(entry) = expense_entry(change, actor, old, new) {
        batch.journal(&entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::expenses::document::Kind;

    #[test]
    fn an_edit_sets_what_changed_and_unsets_what_went() {
        let at = now();
        let old = ExpenseDoc {
            description: "Taxi".into(),
            amount: 1200,
            notes: Some("airport".into()),
            settled_at: Some(at),
            ..ExpenseDoc::blank(Kind::Expense, ObjectId::new(), ObjectId::new(), at)
        };
        let mut new = old.clone();
        new.description = "Airport taxi".into();
        new.notes = None;
        new.settled_at = None;
        new.version += 1;
        let update = changed_fields(&old, &new).unwrap();
        let set = update.get_document("$set").unwrap();
        let mut keys: Vec<&str> = set.keys().map(String::as_str).collect();
        keys.sort_unstable();
        // Notes are written as null, as a replacement wrote them.
        assert_eq!(keys, ["description", JOURNALED, "notes", "version"]);
        assert_eq!(set.get_str("description").unwrap(), "Airport taxi");
        assert_eq!(set.get("notes"), Some(&Bson::Null));
        assert_eq!(set.get("version"), Some(&Bson::Int64(new.version)));
        let unset = update.get_document("$unset").unwrap();
        assert_eq!(unset.keys().collect::<Vec<_>>(), ["settledAt"]);
    }
}
