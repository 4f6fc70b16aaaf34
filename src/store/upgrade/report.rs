//! What an upgrade did, or in a dry run would do: the report kept in
//! `migrations` (one record per schema step) and printed by `splitlyr
//! upgrade`.

use std::collections::BTreeMap;

use mongodb::bson::{doc, oid::ObjectId, Document};
use serde::{Deserialize, Serialize};

use super::v2::V2_MIGRATION;
use super::v3::V3_MIGRATION;
use super::v4::V4_MIGRATION;
use super::SCHEMA_VERSION;
use super::V1_MIGRATION;
use crate::store::StoreError;
use crate::store::{as_int, Store};

const COUNTED_COLLECTIONS: [&str; 5] =
    ["users", "groups", "expenses", "pendingfriends", "contacts"];

/// What an upgrade did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpgradeReport {
    pub from_version: i32,
    pub to_version: i32,
    pub dry_run: bool,
    /// Documents per collection when the upgrade looked.
    pub documents: BTreeMap<String, u64>,
    pub expenses: ExpenseCounts,
    pub users: UserCounts,
    /// Expenses whose rounding moved a split by more than half a minor unit
    /// (each is listed in the log and in `migrations`).
    pub moved_expenses: u64,
    /// Pending friends repeating an earlier one's adder and email or phone
    /// (schema 2 keeps the oldest).
    pub pending_duplicates: u64,
    /// Expenses of an earlier Splitlyr release given `type: "expense"` and
    /// `splitType: "exact"` (schema 3).
    pub typed_expenses: u64,
    /// Profile photos the old server kept inline (a whole data URI in the
    /// user document) made stored pictures (schema 4); in a dry run, those
    /// there are.
    pub inline_photos: u64,
    /// Inline photos that were not a picture we accept, removed (schema 4).
    pub dropped_photos: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExpenseCounts {
    pub converted: u64,
    /// Already in Splitlyr's format (written by Splitlyr itself).
    pub already_current: u64,
    pub quarantined: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserCounts {
    pub placeholder_images: u64,
    pub empty_phones: u64,
}

/// One converted expense whose splits moved by more than half a minor unit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MovedExpense {
    pub expense: ObjectId,
    pub description: String,
    pub currency: String,
    pub amount_before: String,
    pub amount_after: String,
    pub splits: Vec<MovedSplit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MovedSplit {
    pub user: ObjectId,
    pub before: String,
    pub after: String,
}

impl std::fmt::Display for MovedExpense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expense {} {:?} {} {} -> {}:",
            self.expense.to_hex(),
            self.description,
            self.currency,
            self.amount_before,
            self.amount_after
        )?;
        for s in &self.splits {
            write!(
                f,
                " split of {} {} -> {};",
                s.user.to_hex(),
                s.before,
                s.after
            )?;
        }
        Ok(())
    }
}

/// A count a step recorded in its `migrations` document (0 when absent).
fn recorded(record: &Document, key: &str) -> u64 {
    record
        .get(key)
        .and_then(as_int)
        .map_or(0, |n| n.unsigned_abs())
}

impl Store {
    /// Counts of every collection the upgrade reads.
    pub(super) async fn document_counts(&self) -> mongodb::error::Result<BTreeMap<String, u64>> {
        let mut counts = BTreeMap::new();
        for name in COUNTED_COLLECTIONS {
            let n = self
                .db
                .collection::<Document>(name)
                .count_documents(doc! {})
                .await?;
            counts.insert(name.to_owned(), n);
        }
        Ok(counts)
    }

    /// The report of the last upgrade from the old server's documents, as
    /// recorded in `migrations` (empty counts when there was none).
    pub async fn upgrade_report(&self) -> Result<UpgradeReport, StoreError> {
        let mut report: UpgradeReport = self
            .migration_record(V1_MIGRATION)
            .await?
            .map(mongodb::bson::from_document)
            .transpose()
            .map_err(StoreError::internal)?
            .unwrap_or_default();
        report.to_version = SCHEMA_VERSION;
        if let Some(v2) = self.migration_record(V2_MIGRATION).await? {
            report.pending_duplicates = recorded(&v2, "pendingDuplicates");
        }
        if let Some(v3) = self.migration_record(V3_MIGRATION).await? {
            report.typed_expenses = recorded(&v3, "typedExpenses");
        }
        if let Some(v4) = self.migration_record(V4_MIGRATION).await? {
            report.inline_photos = recorded(&v4, "inlinePhotos");
            report.dropped_photos = recorded(&v4, "droppedPhotos");
        }
        Ok(report)
    }

    async fn migration_record(&self, id: &str) -> mongodb::error::Result<Option<Document>> {
        self.migrations().find_one(doc! { "_id": id }).await
    }

    /// What the upgrade would do, without writing anything: documents per
    /// collection, what each step from the database's version on would
    /// change, and every expense whose rounding moves a split by more than
    /// half a minor unit (handed to `on_moved` as found, so memory stays flat).
    pub async fn upgrade_dry_run(
        &self,
        on_moved: impl FnMut(&MovedExpense),
    ) -> Result<UpgradeReport, StoreError> {
        let from_version = self.schema_version().await?;
        let mut report = UpgradeReport {
            from_version,
            to_version: SCHEMA_VERSION,
            dry_run: true,
            documents: self.document_counts().await?,
            ..UpgradeReport::default()
        };
        if from_version < 2 {
            report.pending_duplicates = self.duplicate_pending_count().await?;
        }
        // Schema 0's documents are written typed by the conversion to 1.
        if (1..3).contains(&from_version) {
            report.typed_expenses = self.untyped_expense_count().await?;
        }
        if from_version < 4 {
            report.inline_photos = self.inline_photo_count().await?;
        }
        if from_version < 1 {
            self.v1_dry_run(&mut report, on_moved).await?;
        }
        Ok(report)
    }
}
