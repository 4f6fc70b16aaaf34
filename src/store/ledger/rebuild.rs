//! The ledger recomputed from every expense, streaming: when it is missing
//! or its rules changed (see `store::projection`).

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Document};

use super::delta::{user_entries, Delta, LedgerSource};
use super::documents::{group_counters, group_pair_doc, member_doc, months_document, pair_doc};
use crate::store::{Refill, Store};

impl Store {
    /// Every expense, only the fields the ledger needs, in modest batches.
    pub(super) async fn ledger_sources(
        &self,
    ) -> mongodb::error::Result<mongodb::Cursor<LedgerSource>> {
        self.expenses()
            .clone_with_type::<LedgerSource>()
            .find(doc! {})
            .projection(LedgerSource::projection())
            .batch_size(1000)
            .await
    }

    /// The whole ledger recomputed from every expense (one pass, zeros
    /// dropped), and the number of expenses read.
    pub(super) async fn full_delta(&self) -> mongodb::error::Result<(Delta, u64)> {
        let mut delta = Delta::default();
        let mut cursor = self.ledger_sources().await?;
        let mut expenses = 0u64;
        while let Some(e) = cursor.try_next().await? {
            delta.add(&e, 1);
            expenses += 1;
        }
        delta.prune();
        Ok((delta, expenses))
    }

    /// Replaces every document of `collection` with `docs`.
    async fn replace_all(
        &self,
        collection: &str,
        docs: impl Iterator<Item = Document> + Send,
    ) -> mongodb::error::Result<()> {
        let mut refill = Refill::start(self.db.collection(collection)).await?;
        refill.extend(docs).await?;
        refill.finish().await
    }

    /// Rewrites the balances and month counts from the expenses, streaming
    /// them once; the number of expenses read.
    pub(in crate::store) async fn rebuild_ledger(&self) -> mongodb::error::Result<u64> {
        let (mut delta, expenses) = self.full_delta().await?;
        // Written one collection at a time from the maps, each consumed as
        // its documents go out a chunk at a time: the rebuild never holds a
        // second copy of the ledger as documents.
        let mut entries = user_entries(&delta.pairs);
        let user_counts = std::mem::take(&mut delta.user_counts);
        let group_counts = std::mem::take(&mut delta.group_counts);
        let users: BTreeSet<ObjectId> = entries.keys().chain(user_counts.keys()).copied().collect();
        let user_docs = users.into_iter().map(|user| {
            let fields: Document = entries
                .remove(&user)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, n)| (k, n.into()))
                .collect();
            let months = user_counts
                .get(&user)
                .map(months_document)
                .unwrap_or_default();
            doc! { "_id": user, "entries": fields, "expenseMonths": months }
        });
        self.replace_all("userbalances", user_docs).await?;
        let Delta {
            pairs,
            members,
            group_pairs,
            ..
        } = delta;
        let pair_docs = pairs.into_iter().map(|(k, v)| pair_doc(k, v));
        self.replace_all("balances", pair_docs).await?;
        let member_docs = members.into_iter().map(|(k, v)| member_doc(k, v));
        self.replace_all("groupbalances", member_docs).await?;
        let group_pair_docs = group_pairs.into_iter().map(|(k, v)| group_pair_doc(k, v));
        self.replace_all("grouppairs", group_pair_docs).await?;
        // Counters of earlier versions.
        self.db
            .collection::<Document>("users")
            .update_many(
                doc! {},
                doc! { "$unset": { "expenseCount": "", "expenseMonths": "" } },
            )
            .await?;
        self.db
            .collection::<Document>("groups")
            .update_many(
                doc! {},
                doc! { "$set": { "expenseMonths": {} }, "$unset": { "expenseCount": "" } },
            )
            .await?;
        let groups: Vec<_> = group_counts.iter().collect();
        for chunk in groups.chunks(1000) {
            if let Some(command) = group_counters(chunk.iter().copied()) {
                self.db.run_command(command).await?;
            }
        }
        Ok(expenses)
    }
}
