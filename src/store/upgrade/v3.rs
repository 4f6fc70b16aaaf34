//! Schema 2 → 3: expenses are typed (`type`, `splitType`), so several payers
//! and split modes can be told apart from the documents before them.

use mongodb::bson::{doc, Document};

use crate::store::Store;

/// The record of this step in `migrations`.
pub(super) const V3_MIGRATION: &str = "v3-postings";

/// Expenses written before they were typed.
fn untyped() -> Document {
    doc! { "type": { "$exists": false } }
}

impl Store {
    /// Schema 2 → 3: every expense says what it is (`type: "expense"`) and
    /// how it was split (`splitType: "exact"`, the only mode there was). One
    /// idempotent update that matches only documents not yet converted, so a
    /// crash midway is resumed by running it again. The ledger is rebuilt
    /// from postings afterwards (its version changed with this release).
    pub(super) async fn upgrade_to_v3(&self) -> mongodb::error::Result<()> {
        let n = self
            .expenses()
            .update_many(
                untyped(),
                doc! { "$set": { "type": "expense", "splitType": "exact" } },
            )
            .await?
            .modified_count;
        self.record_step(V3_MIGRATION, doc! { "typedExpenses": n as i64 })
            .await?;
        tracing::info!(
            expenses = n,
            "upgrade (schema 2 -> 3): expenses typed, split mode exact"
        );
        Ok(())
    }

    /// The dry run of this step: how many expenses it would type.
    pub(super) async fn untyped_expense_count(&self) -> mongodb::error::Result<u64> {
        self.expenses().count_documents(untyped()).await
    }
}
