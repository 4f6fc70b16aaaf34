//! Schema 5 → 6: the journal starts. Every expense and payment written
//! before it is history the journal has no entry for and needs none, so
//! each is marked journaled at its version (`jv`, see
//! `store::journal::backfill`). From then on, a document whose mark is not
//! its version was written by a replica of the previous release during the
//! rolling deploy, and the back-fill journals it. (One pipeline update:
//! the database applies it document by document, in place.)

use mongodb::bson::{doc, Document};

use crate::store::Store;

impl Store {
    pub(super) async fn upgrade_to_v6(&self) -> mongodb::error::Result<()> {
        let marked = self
            .db
            .collection::<Document>("expenses")
            .update_many(
                doc! { "jv": { "$exists": false } },
                vec![doc! { "$set": { "jv": { "$ifNull": ["$version", 0_i64] } } }],
            )
            .await?;
        tracing::info!(
            expenses = marked.modified_count,
            "expenses written before the journal marked as its history (schema 5 -> 6)"
        );
        Ok(())
    }
}
