//! The `expenses` collection: amounts in integer minor units, embedded splits,
//! and a `participants` array (creator, payers, split users) that the
//! `{participants, date}` index serves every "my expenses" query from.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{now, Store};
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SplitDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user: ObjectId,
    /// Minor units of the expense currency.
    pub amount: i64,
    pub settled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime>,
}

/// Who paid how much. Today an expense has one payer paying the whole amount;
/// the array lets several payers be stored without a migration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PayerDoc {
    pub user: ObjectId,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub description: String,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub created_by: ObjectId,
    pub paid_by: ObjectId,
    pub payers: Vec<PayerDoc>,
    pub split_with: Vec<SplitDoc>,
    pub category: String,
    pub date: DateTime,
    #[serde(default)]
    pub group: Option<ObjectId>,
    #[serde(default)]
    pub notes: Option<String>,
    pub is_settled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime>,
    pub participants: Vec<ObjectId>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

impl ExpenseDoc {
    /// Recomputes `participants` from creator, payers and split users.
    pub fn refresh_participants(&mut self) {
        let mut p = vec![self.created_by, self.paid_by];
        p.extend(self.payers.iter().map(|x| x.user));
        p.extend(self.split_with.iter().map(|s| s.user));
        p.sort();
        p.dedup();
        self.participants = p;
    }

    pub fn involves(&self, user: ObjectId) -> bool {
        self.created_by == user
            || self.paid_by == user
            || self.split_with.iter().any(|s| s.user == user)
    }

    pub fn may_edit(&self, user: ObjectId) -> bool {
        self.created_by == user || self.paid_by == user
    }
}

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

/// One row of a balance aggregation: the net amount (minor units) that
/// `counterparty` owes the subject in `currency` (negative: the subject owes).
#[derive(Debug, Clone, Deserialize)]
pub struct NetRow {
    pub counterparty: ObjectId,
    pub currency: String,
    pub net: i64,
}

/// One row of a group ledger: `debtor` owes `creditor` `amount` in `currency`.
#[derive(Debug, Clone, Deserialize)]
pub struct DebtRow {
    pub creditor: ObjectId,
    pub debtor: ObjectId,
    pub currency: String,
    pub amount: i64,
}

impl Store {
    pub async fn insert_expense(&self, expense: &ExpenseDoc) -> Result<(), ApiError> {
        self.expenses().insert_one(expense).await?;
        Ok(())
    }

    pub async fn expense_by_id(&self, id: ObjectId) -> Result<Option<ExpenseDoc>, ApiError> {
        Ok(self.expenses().find_one(doc! { "_id": id }).await?)
    }

    /// A page of expenses, newest `date` first, and the total count.
    pub async fn list_expenses(
        &self,
        filter: &ExpenseFilter,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, u64), ApiError> {
        let filter = filter.to_document();
        let total = self.expenses().count_documents(filter.clone()).await?;
        let page = self
            .expenses()
            .find(filter)
            .sort(doc! { "date": -1, "_id": -1 })
            .skip(skip)
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        Ok((page, total))
    }

    /// Replaces an unsettled expense; None when it is gone or got settled meanwhile.
    pub async fn replace_unsettled_expense(&self, expense: &ExpenseDoc) -> Result<bool, ApiError> {
        let result = self
            .expenses()
            .replace_one(doc! { "_id": expense.id, "isSettled": false }, expense)
            .await?;
        Ok(result.matched_count == 1)
    }

    pub async fn delete_expense(&self, id: ObjectId) -> Result<(), ApiError> {
        self.expenses().delete_one(doc! { "_id": id }).await?;
        Ok(())
    }

    /// Marks `user`'s unsettled split settled; None when there was none to settle.
    /// When every split but the payer's is settled, the expense becomes settled.
    pub async fn settle_split(
        &self,
        id: ObjectId,
        user: ObjectId,
    ) -> Result<Option<ExpenseDoc>, ApiError> {
        let at = now();
        let updated = self
            .expenses()
            .find_one_and_update(
                doc! { "_id": id, "splitWith": { "$elemMatch": { "user": user, "settled": false } } },
                doc! { "$set": {
                    "splitWith.$[mine].settled": true,
                    "splitWith.$[mine].settledAt": at,
                    "updatedAt": at,
                } },
            )
            // An array filter rather than the positional `$`: SecantusDB's
            // findAndModify rejects `$` ("did not find the match needed").
            // The filter names the user only (a user has one split; the query
            // already requires it unsettled): SecantusDB re-evaluates filters
            // after each path, so `settled: false` would skip `settledAt`.
            .array_filters(vec![doc! { "mine.user": user }])
            .return_document(ReturnDocument::After)
            .await?;
        let Some(mut expense) = updated else {
            return Ok(None);
        };
        let all_settled = expense
            .split_with
            .iter()
            .all(|s| s.settled || s.user == expense.paid_by);
        if all_settled && !expense.is_settled {
            // Idempotent: concurrent settlers may both get here; both write the same.
            self.expenses()
                .update_one(
                    doc! { "_id": id },
                    doc! { "$set": { "isSettled": true, "settledAt": at } },
                )
                .await?;
            expense.is_settled = true;
            expense.settled_at = Some(at);
        }
        Ok(Some(expense))
    }

    /// Net unsettled amounts between `me` and everyone I share expenses with, per
    /// currency, computed by the database in one aggregation.
    pub async fn net_balances(
        &self,
        me: ObjectId,
        counterparty: Option<ObjectId>,
    ) -> Result<Vec<NetRow>, ApiError> {
        let mut participants = doc! { "participants": me };
        if let Some(other) = counterparty {
            participants = doc! { "participants": { "$all": [me, other] } };
        }
        let pipeline = vec![
            doc! { "$match": participants },
            doc! { "$unwind": "$splitWith" },
            doc! { "$match": {
                "splitWith.settled": false,
                "$expr": { "$ne": ["$splitWith.user", "$paidBy"] },
                "$or": [ { "paidBy": me }, { "splitWith.user": me } ],
            } },
            doc! { "$project": {
                "currency": 1,
                "counterparty": { "$cond": [ { "$eq": ["$paidBy", me] }, "$splitWith.user", "$paidBy" ] },
                "net": { "$cond": [ { "$eq": ["$paidBy", me] }, "$splitWith.amount", { "$subtract": [0, "$splitWith.amount"] } ] },
            } },
            doc! { "$group": {
                "_id": { "counterparty": "$counterparty", "currency": "$currency" },
                "net": { "$sum": "$net" },
            } },
            doc! { "$project": { "_id": 0, "counterparty": "$_id.counterparty", "currency": "$_id.currency", "net": 1 } },
        ];
        let rows: Vec<NetRow> = self
            .expenses()
            .aggregate(pipeline)
            .with_type::<NetRow>()
            .await?
            .try_collect()
            .await?;
        Ok(match counterparty {
            Some(other) => rows
                .into_iter()
                .filter(|r| r.counterparty == other)
                .collect(),
            None => rows,
        })
    }

    /// Unsettled debts inside a group, summed per (creditor, debtor, currency),
    /// and the group's number of expenses.
    pub async fn group_debts(&self, group: ObjectId) -> Result<(Vec<DebtRow>, u64), ApiError> {
        let pipeline = vec![
            doc! { "$match": { "group": group } },
            doc! { "$unwind": "$splitWith" },
            doc! { "$match": { "splitWith.settled": false, "$expr": { "$ne": ["$splitWith.user", "$paidBy"] } } },
            doc! { "$group": {
                "_id": { "creditor": "$paidBy", "debtor": "$splitWith.user", "currency": "$currency" },
                "amount": { "$sum": "$splitWith.amount" },
            } },
            doc! { "$project": {
                "_id": 0,
                "creditor": "$_id.creditor",
                "debtor": "$_id.debtor",
                "currency": "$_id.currency",
                "amount": 1,
            } },
        ];
        let rows = self
            .expenses()
            .aggregate(pipeline)
            .with_type::<DebtRow>()
            .await?
            .try_collect()
            .await?;
        let count = self
            .expenses()
            .count_documents(doc! { "group": group })
            .await?;
        Ok((rows, count))
    }
}
