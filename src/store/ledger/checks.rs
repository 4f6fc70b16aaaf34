//! Consistency checks: the stored ledger next to a recomputation from every
//! expense, for tests and for an operator's audit.
//!
//! Pair balances and counts are recomputed by the same [`Delta`] the writes
//! apply (a check that increments never drift from a full recomputation).
//! Member balances are recomputed independently, by the domain's
//! [`group_balances`]: the oracle for how the writes book them.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use super::delta::{user_entries, Delta, UserEntries};
use super::documents::{group_pair_doc, member_doc, pair_doc, parse_entries, stored_months};
use crate::domain::balance::group_balances;
use crate::domain::money::Currency;
use crate::domain::months::MonthCounts;
use crate::domain::postings::Bill;
use crate::store::StoreError;
use crate::store::{sort_by_id, Store};

/// Month counts keyed by ("users" or "groups", id).
pub type MonthsByOwner = BTreeMap<(&'static str, ObjectId), MonthCounts>;

/// Ledger documents with a non-zero net, by collection.
#[derive(Debug, Default, PartialEq)]
pub struct LedgerDocs {
    /// `balances`
    pub pairs: Vec<Document>,
    /// `groupbalances`
    pub members: Vec<Document>,
    /// `grouppairs`
    pub group_pairs: Vec<Document>,
}

impl LedgerDocs {
    /// Each list sorted by `_id`, for comparisons.
    pub fn sorted(mut self) -> Self {
        for list in [&mut self.pairs, &mut self.members, &mut self.group_pairs] {
            sort_by_id(list);
        }
        self
    }
}

impl Store {
    /// The ledger as it should be, recomputed from every expense, without
    /// zero nets. For consistency checks. Holds every group expense's bill
    /// in memory at once (the oracle adds them up in one call).
    pub async fn recompute_ledger(&self) -> Result<LedgerDocs, StoreError> {
        let mut delta = Delta::default();
        let mut group_bills: Vec<(Currency, Bill<(ObjectId, ObjectId)>)> = Vec::new();
        let mut cursor = self.ledger_sources().await?;
        while let Some(e) = cursor.try_next().await? {
            delta.add(&e, 1);
            // Every stored code reads (`Currency::stored`), in the table or not.
            if let (Some(group), Ok(currency)) = (e.group, Currency::stored(e.booked_currency())) {
                group_bills.push((currency, e.bill().map(|user| (group, user))));
            }
        }
        delta.prune();
        let members = group_balances(group_bills)
            .into_iter()
            .flat_map(|((group, user), balance)| {
                balance.by_currency.into_iter().map(move |(currency, net)| {
                    let code = currency.code().to_owned();
                    let id = format!("{}:{}:{code}", group.to_hex(), user.to_hex());
                    member_doc(id, (group, user, code, net))
                })
            })
            .collect();
        let docs = LedgerDocs {
            pairs: delta
                .pairs
                .into_iter()
                .map(|(k, v)| pair_doc(k, v))
                .collect(),
            members,
            group_pairs: (delta.group_pairs.into_iter())
                .map(|(k, v)| group_pair_doc(k, v))
                .collect(),
        };
        Ok(docs.sorted())
    }

    /// The stored ledger documents with a non-zero net, sorted by id.
    pub async fn stored_ledger(&self) -> Result<LedgerDocs, StoreError> {
        Ok(LedgerDocs {
            pairs: self.nonzero_rows("balances").await?,
            members: self.nonzero_rows("groupbalances").await?,
            group_pairs: self.nonzero_rows("grouppairs").await?,
        })
    }

    async fn nonzero_rows(&self, collection: &str) -> mongodb::error::Result<Vec<Document>> {
        self.db
            .collection::<Document>(collection)
            .find(doc! { "net": { "$ne": 0 } })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await
    }

    /// The month counts of every user and group (keyed by collection and id),
    /// as stored and as recomputed from the expenses; empty ones left out. For
    /// consistency checks.
    pub async fn expense_months_stored_and_expected(
        &self,
    ) -> Result<(MonthsByOwner, MonthsByOwner), StoreError> {
        let (delta, _) = self.full_delta().await?;
        let mut expected = MonthsByOwner::new();
        let mut stored = MonthsByOwner::new();
        for (name, collection, counts) in [
            ("users", "userbalances", &delta.user_counts),
            ("groups", "groups", &delta.group_counts),
        ] {
            for (id, months) in counts {
                let counts = MonthCounts::from_stored(months.iter().map(|(m, n)| (m.key(), *n)));
                expected.insert((name, *id), counts);
            }
            let mut cursor = self
                .db
                .collection::<Document>(collection)
                .find(doc! {})
                .projection(doc! { "expenseMonths": 1 })
                .await?;
            while let Some(d) = cursor.try_next().await? {
                let counts = stored_months(&d);
                if counts.total() > 0 {
                    stored.insert((name, d.get_object_id("_id").unwrap_or_default()), counts);
                }
            }
        }
        Ok((stored, expected))
    }

    /// Per-user entries as stored and as recomputed from the expenses (non-zero
    /// only). For consistency checks.
    pub async fn user_entries_stored_and_expected(
        &self,
    ) -> Result<(UserEntries, UserEntries), StoreError> {
        let (delta, _) = self.full_delta().await?;
        let expected = user_entries(&delta.pairs);
        let docs: Vec<Document> = self
            .db
            .collection::<Document>("userbalances")
            .find(doc! {})
            .await?
            .try_collect()
            .await?;
        let stored: UserEntries = docs
            .iter()
            .filter_map(|d| Some((d.get_object_id("_id").ok()?, parse_entries(d))))
            .filter(|(_, e)| !e.is_empty())
            .collect();
        Ok((stored, expected))
    }
}
