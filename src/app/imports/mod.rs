//! Importing a Splitwise group export into a group I belong to.
//!
//! The file is read twice and never kept as rows: first whole, to refuse
//! it before anything is written ([`check`]: unreadable or unbookable rows,
//! rows that do not add up to its `Total balance` rows, unmapped columns);
//! then in batches of [`BATCH`] rows, each written in one transaction with
//! the rows' keys (see `store::imports`), so a re-run or an overlapping
//! file writes each row once. Every expense is journaled like one recorded
//! by hand, so the import shows in the activity and the sync.
//!
//! A large file runs as a job: the request waits for it up to
//! [`ANSWER_WITHIN`], then answers 202 with the job, whose progress
//! `GET /v1/imports/:id` shows.

mod check;
mod rows;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Deserialize;
use utoipa::ToSchema;

use self::check::{check, Checked};
use self::rows::{expense_of, preview};
use crate::app::groups::{group_entry, member_group, GroupEvent};
use crate::app::views::{iso, iso_opt};
use crate::auth::AuthUser;
use crate::domain::splitwise_import::{booking, member_columns, FileError, Record, Records};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::store::imports::ImportJob;
use crate::store::ledger::MAX_OPEN_CURRENCIES;
use crate::store::{ExpenseDoc, GroupDoc, Store};

/// Rows written per transaction.
pub const BATCH: usize = 200;
/// How long the request waits for its import before answering 202.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(4);
/// Tries of one batch against concurrent writers.
const BATCH_ATTEMPTS: u32 = 8;

/// `POST /v1/groups/:id/import/splitwise`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBody {
    /// The file's text: Splitwise's per-group CSV export.
    pub csv: String,
    /// Each member column of the file → the id of a member of the group.
    pub members: BTreeMap<String, String>,
    /// Check and count without writing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did, or would do (a dry run), or is doing (a job).
pub enum Imported {
    /// A dry run: the job as it would end, and the first rows as they
    /// would be stored.
    DryRun(ImportJob, Vec<serde_json::Value>),
    /// Finished within the request.
    Done(ImportJob),
    /// Still running: its progress.
    Running(ImportJob),
}

/// Imports the file (see the module docs).
pub async fn splitwise(
    app: Arc<AppState>,
    user: AuthUser,
    group: ObjectId,
    body: ImportBody,
) -> Result<Imported, ApiError> {
    let store = &app.store;
    let group = member_group(store, group, user).await?;
    let columns = member_columns(&body.csv).map_err(refusal)?;
    let people = map_columns(&group, &columns, &body.members)?;
    let checked = check(&body.csv, columns.len()).map_err(refusal)?;
    if checked.balances.len() > MAX_OPEN_CURRENCIES {
        return Err(ApiError::bad_request(format!(
            "The file leaves balances in {} currencies; a group can owe in at most \
             {MAX_OPEN_CURRENCIES} at once",
            checked.balances.len()
        )));
    }
    let mut job = new_job(&group, user, &checked, &columns);
    if body.dry_run {
        let mut dry = job.clone();
        run(store, &group, &mut dry, &body.csv, &people, false).await?;
        let shown = checked
            .preview
            .iter()
            .map(|(row, b)| preview(&expense_of(&group, user.id, row, b, &people), row))
            .collect();
        return Ok(Imported::DryRun(dry, shown));
    }
    store.insert_import_job(&job).await?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let runner = app.clone();
    let id = job.id;
    tokio::spawn(async move {
        let store = &runner.store;
        let outcome = run(store, &group, &mut job, &body.csv, &people, true).await;
        finish(&mut job, outcome);
        if let Err(e) = store.save_import_job(&job).await {
            tracing::warn!(error = ?e, job = %job.id, "could not record an import's end");
        }
        let _ = done_tx.send(job);
    });
    match tokio::time::timeout(ANSWER_WITHIN, done_rx).await {
        Ok(Ok(job)) if job.state == "failed" => {
            Err(ApiError::internal(job.error.unwrap_or_default()))
        }
        Ok(Ok(job)) => Ok(Imported::Done(job)),
        _ => Ok(Imported::Running(
            store
                .import_job(id)
                .await?
                .ok_or_else(|| ApiError::not_found("Import not found"))?,
        )),
    }
}

/// An import job, for its importer or the group's members.
pub async fn job(app: &AppState, user: AuthUser, id: ObjectId) -> Result<ImportJob, ApiError> {
    let job = app
        .store
        .import_job(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Import not found"))?;
    if job.by != user.id {
        member_group(&app.store, job.group, user)
            .await
            .map_err(|_| ApiError::not_found("Import not found"))?;
    }
    Ok(job)
}

fn refusal(e: FileError) -> ApiError {
    ApiError::validation(vec![FieldError::new("csv", e.to_string())])
}

/// Each column's member; every column mapped, to a member, each once.
fn map_columns(
    group: &GroupDoc,
    columns: &[String],
    members: &BTreeMap<String, String>,
) -> Result<Vec<ObjectId>, ApiError> {
    let unmapped: Vec<&str> = columns
        .iter()
        .filter(|c| !members.contains_key(*c))
        .map(String::as_str)
        .collect();
    let unknown: Vec<&str> = members
        .keys()
        .filter(|k| !columns.contains(k))
        .map(String::as_str)
        .collect();
    let mut errors = Vec::new();
    if !unmapped.is_empty() {
        errors.push(format!(
            "Map every member column of the file: {}",
            unmapped.join(", ")
        ));
    }
    if !unknown.is_empty() {
        errors.push(format!("Not columns of the file: {}", unknown.join(", ")));
    }
    let mut people = Vec::with_capacity(columns.len());
    let mut seen = HashSet::new();
    let mut strangers = Vec::new();
    for column in columns {
        let Some(raw) = members.get(column) else {
            continue;
        };
        match ObjectId::parse_str(raw.trim()) {
            Ok(id) if group.is_member(id) => {
                if !seen.insert(id) {
                    errors.push(format!("Two columns map to the same member ({column})"));
                }
                people.push(id);
            }
            _ => strangers.push(column.as_str()),
        }
    }
    if !strangers.is_empty() {
        errors.push(format!(
            "Map these columns to members of the group: {}",
            strangers.join(", ")
        ));
    }
    if errors.is_empty() {
        Ok(people)
    } else {
        Err(ApiError::validation(
            errors
                .into_iter()
                .map(|m| FieldError::new("members", m))
                .collect(),
        ))
    }
}

fn new_job(group: &GroupDoc, user: AuthUser, checked: &Checked, columns: &[String]) -> ImportJob {
    let now = DateTime::now();
    ImportJob {
        id: ObjectId::new(),
        group: group.id,
        by: user.id,
        source: "splitwise".into(),
        state: "running".into(),
        rows: checked.rows,
        rows_done: 0,
        expenses: 0,
        payments: 0,
        skipped: checked.skipped,
        already_imported: 0,
        skipped_rows: checked.skipped_rows.clone(),
        currencies: checked.currencies(columns),
        error: None,
        started_at: now,
        updated_at: now,
        finished_at: None,
    }
}

fn finish(job: &mut ImportJob, outcome: Result<(), ApiError>) {
    let now = DateTime::now();
    job.updated_at = now;
    job.finished_at = Some(now);
    match outcome {
        Ok(()) => job.state = "done".into(),
        Err(e) => {
            tracing::warn!(error = ?e, job = %job.id, "an import failed midway; a re-run resumes it");
            job.state = "failed".into();
            job.error =
                Some("The import stopped midway; run it again to import the remaining rows".into());
        }
    }
}

/// The second read: rows in batches, those no earlier import wrote turned
/// into expenses of `group` (as read for the request) and, when `write`,
/// written (else only counted).
async fn run(
    store: &Store,
    group: &GroupDoc,
    job: &mut ImportJob,
    csv: &str,
    people: &[ObjectId],
    write: bool,
) -> Result<(), ApiError> {
    let group_key = group.id.to_hex();
    let mut occurrences: HashMap<[u8; 32], u32> = HashMap::new();
    let mut batch: Vec<(ExpenseDoc, String)> = Vec::with_capacity(BATCH);
    let mut records = Records::new(csv, people.len());
    loop {
        let next = records.next();
        let finished = next.is_none();
        if let Some(record) = next {
            let Record::Row(row) = record.map_err(refusal)? else {
                continue;
            };
            job.rows_done += 1;
            let Some(b) = booking(&row).map_err(refusal)? else {
                continue;
            };
            let n = occurrences.entry(row.fingerprint()).or_default();
            let key = row.key(&group_key, *n);
            *n += 1;
            batch.push((expense_of(group, job.by, &row, &b, people), key));
            if batch.len() < BATCH {
                continue;
            }
        }
        if !batch.is_empty() {
            write_batch(store, job, &mut batch, write).await?;
            if write {
                job.updated_at = DateTime::now();
                store.save_import_job(job).await?;
            }
        }
        if finished {
            if write && job.expenses + job.payments > 0 {
                let mut entry = group_entry(GroupEvent::Imported, job.by, None, group);
                entry.subject.insert("n", job.expenses);
                entry.subject.insert("p", job.payments);
                store.record_entry(&entry).await?;
            }
            return Ok(());
        }
    }
}

/// Writes (or counts) the batch's rows no earlier import wrote; read again
/// when another import wrote some meanwhile.
async fn write_batch(
    store: &Store,
    job: &mut ImportJob,
    batch: &mut Vec<(ExpenseDoc, String)>,
    write: bool,
) -> Result<(), ApiError> {
    for attempt in 1..=BATCH_ATTEMPTS {
        let keys: Vec<String> = batch.iter().map(|(_, k)| k.clone()).collect();
        let known = store.imported_keys(&keys).await?;
        let fresh: Vec<(ExpenseDoc, String)> = batch
            .iter()
            .filter(|(_, k)| !known.contains(k))
            .cloned()
            .collect();
        if write && !fresh.is_empty() && !store.import_expenses(&fresh, job.by).await? {
            tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            continue;
        }
        job.already_imported += i64::try_from(known.len()).unwrap_or(0);
        for (e, _) in &fresh {
            match e.kind {
                crate::store::Kind::Payment => job.payments += 1,
                crate::store::Kind::Expense => job.expenses += 1,
            }
        }
        batch.clear();
        return Ok(());
    }
    Err(ApiError::internal(
        "other writes kept conflicting with the import",
    ))
}

/// An import as the API shows it.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    #[serde(rename = "_id")]
    #[schema(value_type = crate::app::schema::Id)]
    pub id: String,
    #[schema(value_type = crate::app::schema::Id)]
    pub group_id: String,
    /// `splitwise`.
    pub source: String,
    /// `running`, `done`, `failed` (run it again: it resumes), or
    /// `dry-run` (nothing was written).
    pub state: String,
    /// Data rows in the file, and how many have been gone through.
    pub rows: i64,
    pub rows_done: i64,
    /// Expenses and payments written (a dry run: that would be).
    pub expenses: i64,
    pub payments: i64,
    /// Rows that move no money.
    pub skipped: i64,
    /// Rows an earlier import of the same group wrote already.
    pub already_imported: i64,
    /// The first 100 skipped rows: `{line, reason}`.
    #[schema(value_type = Vec<Object>)]
    pub skipped_rows: Vec<crate::store::imports::SkippedRow>,
    /// The file's `Total balance` rows (non-zero currencies): what the
    /// import adds to each member's balance, exactly.
    #[schema(value_type = Vec<Object>)]
    pub currencies: Vec<crate::store::imports::CurrencyBalances>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// A dry run: the first rows as they would be stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub preview: Option<Vec<serde_json::Value>>,
}

impl ImportView {
    pub fn of(job: ImportJob, preview: Option<Vec<serde_json::Value>>) -> Self {
        Self {
            id: job.id.to_hex(),
            group_id: job.group.to_hex(),
            source: job.source,
            state: if preview.is_some() {
                "dry-run".into()
            } else {
                job.state
            },
            rows: job.rows,
            rows_done: job.rows_done,
            expenses: job.expenses,
            payments: job.payments,
            skipped: job.skipped,
            already_imported: job.already_imported,
            skipped_rows: job.skipped_rows,
            currencies: job.currencies,
            error: job.error,
            started_at: iso(job.started_at),
            finished_at: iso_opt(job.finished_at),
            preview,
        }
    }
}
