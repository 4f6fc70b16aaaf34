//! The bound on open currencies: a group, and a pair of people, can owe in
//! at most [`MAX_OPEN_CURRENCIES`] currencies at once, so every balance and
//! settle-up view (which works per currency) stays bounded in cost.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use super::delta::Delta;
use crate::store::ExpenseDoc;
use crate::store::Store;
use crate::store::StoreError;

/// Most currencies with a non-zero balance in one group or between two people.
pub const MAX_OPEN_CURRENCIES: usize = 10;

impl Store {
    /// Whether booking `expense` would open its currency where
    /// [`MAX_OPEN_CURRENCIES`] others are open already: in its group, or
    /// between a pair of people it moves money between. Reads only balances
    /// in other currencies, so the common single-currency case reads nothing
    /// back; at most two queries, run together.
    pub async fn opens_too_many_currencies(
        &self,
        expense: &ExpenseDoc,
    ) -> Result<bool, StoreError> {
        let delta = Delta::between(None, Some(expense));
        let pairs: BTreeSet<(ObjectId, ObjectId)> =
            delta.pairs.values().map(|(a, b, _, _)| (*a, *b)).collect();
        let others = doc! { "$ne": 0 };
        let other_currency = doc! { "$ne": expense.booked_currency().code() };
        let by_pair = async {
            if pairs.is_empty() {
                return Ok::<_, StoreError>(false);
            }
            let either: Vec<Document> =
                pairs.iter().map(|(a, b)| doc! { "a": a, "b": b }).collect();
            let rows: Vec<Document> = self
                .db
                .collection::<Document>("balances")
                .find(doc! { "$or": either, "net": others.clone(), "currency": other_currency.clone() })
                .projection(doc! { "a": 1, "b": 1, "currency": 1 })
                .await?
                .try_collect()
                .await?;
            let mut open: BTreeMap<(ObjectId, ObjectId), BTreeSet<String>> = BTreeMap::new();
            for row in &rows {
                if let (Ok(a), Ok(b), Ok(c)) = (
                    row.get_object_id("a"),
                    row.get_object_id("b"),
                    row.get_str("currency"),
                ) {
                    open.entry((a, b)).or_default().insert(c.to_owned());
                }
            }
            Ok(open.values().any(|c| c.len() >= MAX_OPEN_CURRENCIES))
        };
        let in_group = async {
            let Some(group) = expense.group else {
                return Ok::<_, StoreError>(false);
            };
            let rows: Vec<Document> = self
                .db
                .collection::<Document>("groupbalances")
                .find(doc! { "group": group, "net": others.clone(), "currency": other_currency.clone() })
                .projection(doc! { "currency": 1, "_id": 0 })
                .await?
                .try_collect()
                .await?;
            let open: BTreeSet<&str> = rows
                .iter()
                .filter_map(|r| r.get_str("currency").ok())
                .collect();
            Ok(open.len() >= MAX_OPEN_CURRENCIES)
        };
        let (pair, group) = futures_util::try_join!(by_pair, in_group)?;
        Ok(pair || group)
    }
}
