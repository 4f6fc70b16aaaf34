//! Schema 5 → 6: the journal starts. Every expense and payment written
//! before it is history the journal has no entry for and needs none, so
//! each is marked journaled at its version (`jv`, see
//! `store::journal::backfill`). From then on, a document whose mark is not
//! its version was written by a replica of the previous release during the
//! rolling deploy, and the back-fill journals it. (One pipeline update:
//! the database applies it document by document, in place.)
//!
//! The step is recorded in `migrations` (`_id: "v6-journal"`) with when it
//! ran and whether a release before the journal wrote here (schema 1 to 5):
//! only then can such a release still be running, and only for the rolling
//! deploy that began then, which is when the back-fill runs
//! ([`Store::backfill_until`]).

use mongodb::bson::{doc, Document};

use crate::store::{now, Store, StoreError};

/// The record of this step in `migrations`.
const JOURNAL_STEP: &str = "v6-journal";

impl Store {
    /// `from`: the schema the database was at.
    pub(super) async fn upgrade_to_v6(&self, from: i32) -> mongodb::error::Result<()> {
        let marked = self
            .db
            .collection::<Document>("expenses")
            .update_many(
                doc! { "jv": { "$exists": false } },
                vec![doc! { "$set": { "jv": { "$ifNull": ["$version", 0_i64] } } }],
            )
            .await?;
        self.migrations()
            .update_one(
                doc! { "_id": JOURNAL_STEP },
                doc! { "$set": {
                    "finishedAt": now(),
                    "afterRelease": from >= 1,
                    "marked": i64::try_from(marked.modified_count).unwrap_or(i64::MAX),
                } },
            )
            .upsert(true)
            .await?;
        tracing::info!(
            expenses = marked.modified_count,
            "expenses written before the journal marked as its history (schema 5 -> 6)"
        );
        Ok(())
    }
}

impl Store {
    /// Until when the journal's back-fill runs: `window` after the journal
    /// started in a database a release before it wrote (the rolling deploy
    /// that introduced it); None when it does not (a new database, or one
    /// the journal started in before records were kept, or the bench's).
    pub async fn backfill_until(
        &self,
        window: std::time::Duration,
    ) -> Result<Option<std::time::SystemTime>, StoreError> {
        let step = self
            .migrations()
            .find_one(doc! { "_id": JOURNAL_STEP })
            .await?;
        Ok(step
            .filter(|d| d.get_bool("afterRelease").unwrap_or(false))
            .and_then(|d| d.get_datetime("finishedAt").ok().copied())
            .map(|at| at.to_system_time() + window))
    }
}
