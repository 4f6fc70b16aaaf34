//! What imports leave behind besides their expenses: the key of every
//! source row written (`imported`, `_id`: the key, which names the group),
//! so a re-run or an overlapping file writes each row once, even when two
//! imports of it run at the same time (the second one's insert of a key
//! fails and its batch aborts); and the import jobs (`importjobs`), each
//! with its progress, which the importer reads while a large file is
//! written in batches.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::{now, ExpenseDoc, Store, StoreError};

/// The collection of row keys.
pub(super) const KEYS: &str = "imported";
const JOBS: &str = "importjobs";

/// The key document of a row written as `expense`.
pub(super) fn key_doc(key: &str, expense: &ExpenseDoc) -> Document {
    doc! { "_id": key, "group": expense.group, "expense": expense.id, "at": now() }
}

/// An import, as it runs and once it is done.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImportJob {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub group: ObjectId,
    pub by: ObjectId,
    pub source: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Data rows in the file, and how many have been gone through.
    pub rows: i64,
    pub rows_done: i64,
    pub expenses: i64,
    pub payments: i64,
    pub skipped: i64,
    /// Rows an earlier import wrote already.
    pub already_imported: i64,
    /// The rows skipped (line, reason), the first 100.
    #[serde(default)]
    pub skipped_rows: Vec<SkippedRow>,
    /// The file's balances per currency, which the import reproduces.
    #[serde(default)]
    pub currencies: Vec<CurrencyBalances>,
    #[serde(default)]
    pub error: Option<String>,
    pub started_at: DateTime,
    pub updated_at: DateTime,
    #[serde(default)]
    pub finished_at: Option<DateTime>,
}

/// One currency's balance per member column (decimal text).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CurrencyBalances {
    pub currency: String,
    pub balances: Vec<ColumnAmount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnAmount {
    pub column: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SkippedRow {
    pub line: i64,
    pub reason: String,
}

impl Store {
    /// Which of `keys` an earlier import wrote.
    pub async fn imported_keys(&self, keys: &[String]) -> Result<HashSet<String>, StoreError> {
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        let found: Vec<Document> = self
            .db
            .collection::<Document>(KEYS)
            .find(doc! { "_id": { "$in": keys } })
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
            .collect())
    }

    fn jobs(&self) -> mongodb::Collection<ImportJob> {
        self.db.collection(JOBS)
    }

    pub async fn insert_import_job(&self, job: &ImportJob) -> Result<(), StoreError> {
        self.jobs().insert_one(job).await?;
        Ok(())
    }

    /// Saves the job's progress (after each batch) or its end.
    pub async fn save_import_job(&self, job: &ImportJob) -> Result<(), StoreError> {
        self.jobs().replace_one(doc! { "_id": job.id }, job).await?;
        Ok(())
    }

    pub async fn import_job(&self, id: ObjectId) -> Result<Option<ImportJob>, StoreError> {
        Ok(self.jobs().find_one(doc! { "_id": id }).await?)
    }
}
