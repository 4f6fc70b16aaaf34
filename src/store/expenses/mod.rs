//! The `expenses` collection: amounts in integer minor units, embedded splits,
//! and a `participants` array (creator, payers, split users) that the
//! `{participants, date}` index serves filtered "my expenses" queries from.
//! Unfiltered pages go through the month counts and the timeline instead.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::options::ReturnDocument;

use super::timeline::date_range;
use super::{as_int, at_version, now, GroupDoc, Store};
use crate::store::StoreError;

mod document;

use document::settle_filter;
pub use document::{ExpenseDoc, Kind, PayerDoc, SplitDoc};

/// Which expenses a listing covers.
#[derive(Debug, Clone, Default)]
pub struct ExpenseFilter {
    pub participant: Option<ObjectId>,
    pub with_friend: Option<ObjectId>,
    pub group: Option<ObjectId>,
    pub settled: Option<bool>,
}

impl ExpenseFilter {
    fn to_document(&self) -> Document {
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

impl Store {
    /// Inserts the expense and books its balances, atomically.
    pub async fn insert_expense(&self, expense: &ExpenseDoc) -> Result<(), StoreError> {
        let mut session = self.client.start_session().await?;
        session
            .start_transaction()
            .and_run2(async |s| {
                self.expenses().insert_one(expense).session(&mut *s).await?;
                self.apply_projections(s, None, Some(expense)).await
            })
            .await?;
        Ok(())
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

    /// The expenses with these ids, in this order (missing ones left out).
    pub(super) async fn expenses_in_order(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<ExpenseDoc>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_id: HashMap<ObjectId, ExpenseDoc> = self
            .expenses()
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .map_ok(|e| (e.id, e))
            .try_collect()
            .await?;
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
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

    /// Replaces the expense as it was at version `read` with `expense` (whose
    /// version is the next one) and rebooks its balances, atomically; false
    /// when it changed meanwhile (or is gone): nothing was written.
    pub async fn replace_expense(
        &self,
        expense: &ExpenseDoc,
        read: i64,
    ) -> Result<bool, StoreError> {
        let mut session = self.client.start_session().await?;
        let replaced = session
            .start_transaction()
            .and_run2(async |s| {
                let old = self
                    .expenses()
                    .find_one_and_replace(
                        doc! { "_id": expense.id, "version": at_version(read) },
                        expense,
                    )
                    .return_document(ReturnDocument::Before)
                    .session(&mut *s)
                    .await?;
                let Some(old) = old else { return Ok(false) };
                self.apply_projections(s, Some(&old), Some(expense)).await?;
                Ok(true)
            })
            .await?;
        Ok(replaced)
    }

    /// Deletes the expense as it was at version `read`, unbooks its balances
    /// and releases its receipt, atomically; false when it changed meanwhile
    /// (or is gone): nothing was deleted.
    pub async fn delete_expense(&self, id: ObjectId, read: i64) -> Result<bool, StoreError> {
        let filter = doc! { "_id": id, "version": at_version(read) };
        let mut session = self.client.start_session().await?;
        let (deleted, freed) = session
            .start_transaction()
            .and_run2(async |s| {
                let old = self
                    .expenses()
                    .find_one_and_delete(filter.clone())
                    .session(&mut *s)
                    .await?;
                let Some(old) = old else {
                    return Ok((false, None));
                };
                self.apply_projections(s, Some(&old), None).await?;
                self.delete_comments_on(s, old.id).await?;
                let freed = match &old.receipt {
                    Some(r) => self.release_image(s, &r.id).await?,
                    None => None,
                };
                Ok((true, freed))
            })
            .await?;
        self.discard_files(freed).await;
        Ok(deleted)
    }

    /// Marks `user`'s unsettled split settled, atomically with the balances;
    /// None when there was none to settle. When every split but the payer's is
    /// settled, the expense becomes settled.
    pub async fn settle_split(
        &self,
        id: ObjectId,
        user: ObjectId,
    ) -> Result<Option<ExpenseDoc>, StoreError> {
        let mut session = self.client.start_session().await?;
        let settled = session
            .start_transaction()
            .and_run2(async |s| {
                let at = now();
                let old = self
                    .expenses()
                    .find_one_and_update(
                        // The rule as it is checked in memory, so an edit
                        // that broke it meanwhile makes this write miss.
                        settle_filter(id, user),
                        doc! {
                            "$set": {
                                "splitWith.$[mine].settled": true,
                                "splitWith.$[mine].settledAt": at,
                                "updatedAt": at,
                            },
                            "$inc": { "version": 1 },
                        },
                    )
                    // An array filter rather than the positional `$`: SecantusDB's
                    // findAndModify rejects `$` ("did not find the match needed").
                    // The filter names the user only (a user has one split; the query
                    // already requires it unsettled): SecantusDB re-evaluates filters
                    // after each path, so `settled: false` would skip `settledAt`.
                    .array_filters(vec![doc! { "mine.user": user }])
                    .return_document(ReturnDocument::Before)
                    .session(&mut *s)
                    .await?;
                let Some(old) = old else { return Ok(None) };
                let mut new = old.clone();
                new.settle_share(user, at);
                if new.is_settled && !old.is_settled {
                    self.expenses()
                        .update_one(
                            doc! { "_id": id },
                            doc! { "$set": { "isSettled": true, "settledAt": at } },
                        )
                        .session(&mut *s)
                        .await?;
                }
                self.apply_projections(s, Some(&old), Some(&new)).await?;
                Ok(Some(new))
            })
            .await?;
        Ok(settled)
    }
}
