//! Balances and month counts as the views read them: one document or a few
//! rows each, never the history.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};
use serde::Deserialize;

use super::documents::{parse_entries, stored_months};
use crate::domain::balance::PairNet;
use crate::domain::money::Currency;
use crate::domain::months::MonthCounts;
use crate::store::Store;
use crate::store::StoreError;

/// A balance row as seen from one user: the counterparty owes them `net`.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub counterparty: ObjectId,
    pub currency: Currency,
    pub net: i64,
}

/// What `b` owes `a` (a < b) in one currency: a `balances` document, or
/// one of `grouppairs` (in one group).
#[derive(Debug, Clone, Deserialize)]
pub struct PairDoc {
    pub a: ObjectId,
    pub b: ObjectId,
    #[serde(with = "crate::domain::money::stored_currency")]
    pub currency: Currency,
    pub net: i64,
}

impl PairDoc {
    fn pair(&self) -> PairNet<ObjectId> {
        PairNet {
            a: self.a,
            b: self.b,
            net: self.net,
        }
    }

    /// Who owes whom: `(debtor, creditor, amount)` with `amount >= 0`.
    pub fn debt(&self) -> (ObjectId, ObjectId, i64) {
        self.pair().debt()
    }
}

/// A member's balance in one group and currency: > 0 when owed.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupBalanceDoc {
    pub user: ObjectId,
    #[serde(with = "crate::domain::money::stored_currency")]
    pub currency: Currency,
    pub net: i64,
}

impl Store {
    /// My non-zero balances, per currency: with everyone (one `userbalances`
    /// document) or with one counterparty (their pair documents).
    pub async fn ledger_for(
        &self,
        me: ObjectId,
        counterparty: Option<ObjectId>,
    ) -> Result<Vec<LedgerRow>, StoreError> {
        let Some(other) = counterparty else {
            return self.user_balances(me).await;
        };
        let (a, b) = if me < other { (me, other) } else { (other, me) };
        let filter = doc! { "a": a, "b": b, "net": { "$ne": 0 } };
        let docs: Vec<PairDoc> = self
            .db
            .collection::<PairDoc>("balances")
            .find(filter)
            .projection(doc! { "a": 1, "b": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .into_iter()
            .map(|d| {
                let (counterparty, net) = d.pair().seen_by(&me);
                LedgerRow {
                    counterparty,
                    currency: d.currency,
                    net,
                }
            })
            .collect())
    }

    /// How many expenses the user takes part in, per month.
    pub async fn expense_months_of(&self, user: ObjectId) -> Result<MonthCounts, StoreError> {
        let found = self
            .db
            .collection::<Document>("userbalances")
            .find_one(doc! { "_id": user })
            .projection(doc! { "expenseMonths": 1 })
            .await?;
        Ok(found.map(|d| stored_months(&d)).unwrap_or_default())
    }

    /// My non-zero balances with everyone: one document read.
    async fn user_balances(&self, me: ObjectId) -> Result<Vec<LedgerRow>, StoreError> {
        let found = self
            .db
            .collection::<Document>("userbalances")
            .find_one(doc! { "_id": me })
            .await?;
        Ok(found
            .map(|d| parse_entries(&d))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, net)| {
                let (cp, currency) = key.split_once(':')?;
                Some(LedgerRow {
                    counterparty: ObjectId::parse_str(cp).ok()?,
                    // Keys are written from a stored currency's code.
                    currency: Currency::stored(currency).ok()?,
                    net,
                })
            })
            .collect())
    }

    /// Non-zero member balances of a group.
    pub async fn group_ledger(&self, group: ObjectId) -> Result<Vec<GroupBalanceDoc>, StoreError> {
        Ok(self
            .db
            .collection::<GroupBalanceDoc>("groupbalances")
            .find(doc! { "group": group, "net": { "$ne": 0 } })
            .projection(doc! { "user": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?)
    }

    /// Non-zero pair balances inside a group.
    pub async fn group_pairs(&self, group: ObjectId) -> Result<Vec<PairDoc>, StoreError> {
        Ok(self
            .db
            .collection::<PairDoc>("grouppairs")
            .find(doc! { "group": group, "net": { "$ne": 0 } })
            .projection(doc! { "a": 1, "b": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?)
    }
}
