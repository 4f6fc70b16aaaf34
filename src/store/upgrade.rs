//! Versioned upgrades of the stored documents, and the preparation every
//! process runs before it serves.
//!
//! The database records its schema version in `meta` (`_id: "schema"`). A
//! document's format is known from that version, never guessed from a
//! field's type: the old Node server stored a whole amount as an int32 (`100`
//! meaning 100.00), which reads like a Splitlyr amount of one cent.
//!
//! - version 0: the old Node server's documents (amounts are floats in major
//!   units, mongoose placeholders, no ledger);
//! - version 1: Splitlyr's (integer minor units, `payers`, `participants`);
//! - version 2: expenses and groups carry a `version` (optimistic
//!   concurrency), and a user has at most one pending friend per email and
//!   per phone number (unique indexes, built once the duplicates are gone);
//! - version 3: expenses are typed (`type`, `splitType`), several payers;
//! - version 4: pictures are stored files, not inline data URIs;
//! - version 5: users carry `nameKey` for prefix search (see `v5`).
//!
//! A database without a recorded version is at version 1 when a Splitlyr
//! ledger was ever built in it (Splitlyr releases before versions were
//! recorded), else at version 0: the old server's, or a new empty one.
//!
//! One process at a time upgrades, holding a lease in `meta` that it renews
//! while it works; the others wait, answering 503, until the database is
//! current. Each step is resumable: expenses are converted in `_id` order in
//! batches, each batch in one transaction with the progress record in
//! `migrations`, so a crash at any point resumes after the last committed
//! batch and no document is converted twice.

mod v5;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use super::{now, ExpenseDoc, PayerDoc, SplitDoc, Store};
use crate::domain::legacy::convert_amounts;
use crate::domain::money::{format_major, Currency, Decimal};
use crate::error::is_duplicate_key;
use crate::store::readiness::{Phase, Readiness};

/// The schema this release reads and writes.
pub const SCHEMA_VERSION: i32 = 5;
/// The record of the upgrade from the old server's documents.
const V1_MIGRATION: &str = "v1-node-documents";
/// The record of the upgrade to versioned documents.
const V2_MIGRATION: &str = "v2-versions";
/// The record of the upgrade to typed documents with split modes.
const V3_MIGRATION: &str = "v3-postings";
/// The record of the upgrade of inline profile photos to stored pictures.
const V4_MIGRATION: &str = "v4-pictures";
const LEASE: &str = "upgrade-lease";
const LEASE_TTL_MS: i64 = 30_000;
const WAIT_POLL: Duration = Duration::from_secs(1);
/// The old server's default profile image (its default phone number is "").
pub const OLD_PLACEHOLDER_IMAGE: &str = "https://via.placeholder.com/150";
/// Expenses that cannot be converted are moved here, with the reason.
const QUARANTINE: &str = "upgradequarantine";
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

impl ExpenseCounts {
    /// Counts one expense by what its conversion came to.
    fn tally(&mut self, conversion: &Conversion) {
        match conversion {
            Conversion::Converted(..) => self.converted += 1,
            Conversion::AlreadyCurrent => self.already_current += 1,
            Conversion::Unconvertible(_) => self.quarantined += 1,
        }
    }
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

/// What becomes of one old expense document.
enum Conversion {
    Converted(Box<ExpenseDoc>, Option<MovedExpense>),
    AlreadyCurrent,
    Unconvertible(String),
}

/// An amount as the old server stored it: a double, an int32/int64 (whole
/// major units), a Decimal128 or a numeric string.
fn old_amount(value: Option<&Bson>) -> Option<(Decimal, String)> {
    let text = match value? {
        Bson::Double(f) if f.is_finite() => format!("{f}"),
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Decimal128(d) => d.to_string(),
        Bson::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Some((Decimal::parse(&text).ok()?, text))
}

fn date_or(doc: &Document, key: &str, fallback: DateTime) -> DateTime {
    doc.get_datetime(key).copied().unwrap_or(fallback)
}

/// Converts one expense written by the old server to Splitlyr's format.
fn convert_expense(old: &Document) -> Conversion {
    // Only Splitlyr writes `participants`: such a document was written by a
    // Splitlyr that ran on this database before the upgrade was recorded.
    if old.contains_key("participants") {
        return Conversion::AlreadyCurrent;
    }
    let Ok(id) = old.get_object_id("_id") else {
        return Conversion::Unconvertible("no ObjectId _id".into());
    };
    let Ok(paid_by) = old.get_object_id("paidBy") else {
        return Conversion::Unconvertible("no payer (paidBy)".into());
    };
    let Some((amount, amount_text)) = old_amount(old.get("amount")) else {
        return Conversion::Unconvertible("the amount is not a number".into());
    };
    let currency = old
        .get_str("currency")
        .ok()
        .and_then(|c| Currency::parse(c).ok())
        .unwrap_or(Currency::USD);
    let mut splits = Vec::new();
    for entry in old
        .get_array("splitWith")
        .map(|a| a.as_slice())
        .unwrap_or(&[])
    {
        let Some(split) = entry.as_document() else {
            return Conversion::Unconvertible("a split is not a document".into());
        };
        let (Ok(user), Some((share, text))) =
            (split.get_object_id("user"), old_amount(split.get("amount")))
        else {
            return Conversion::Unconvertible("a split has no user or no numeric amount".into());
        };
        splits.push((split, user, share, text));
    }
    let shares: Vec<Decimal> = splits.iter().map(|(_, _, share, _)| *share).collect();
    let converted = match convert_amounts(amount, &shares, currency) {
        Ok(c) => c,
        Err(e) => return Conversion::Unconvertible(e.to_string()),
    };
    let created_at = date_or(old, "createdAt", now());
    let split_with: Vec<SplitDoc> = splits
        .iter()
        .zip(&converted.parts)
        .map(|((split, user, _, _), amount)| SplitDoc {
            id: split
                .get_object_id("_id")
                .unwrap_or_else(|_| ObjectId::new()),
            user: *user,
            amount: *amount,
            settled: split.get_bool("settled").unwrap_or(false),
            settled_at: split.get_datetime("settledAt").ok().copied(),
            weight: None,
        })
        .collect();
    let text = |key: &str| old.get_str(key).ok().map(str::to_owned);
    let mut expense = ExpenseDoc {
        kind: Default::default(),
        id,
        description: text("description").unwrap_or_default(),
        amount: converted.total,
        currency: currency.code().to_owned(),
        created_by: old.get_object_id("createdBy").unwrap_or(paid_by),
        paid_by,
        payers: vec![PayerDoc {
            user: paid_by,
            amount: converted.total,
            weight: None,
        }],
        payers_split_type: None,
        split_type: Default::default(),
        split_with,
        category: text("category")
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "other".into()),
        date: date_or(old, "date", created_at),
        group: old.get_object_id("group").ok(),
        notes: text("notes"),
        is_settled: old.get_bool("isSettled").unwrap_or(false),
        settled_at: old.get_datetime("settledAt").ok().copied(),
        participants: Vec::new(),
        receipt: None,
        created_at,
        updated_at: date_or(old, "updatedAt", created_at),
        version: 1,
    };
    expense.refresh_participants();
    let magnitude = |minor: i64| format_major(minor.unsigned_abs(), currency);
    let moved = (!converted.moved.is_empty()).then(|| MovedExpense {
        expense: id,
        description: expense.description.clone(),
        currency: expense.currency.clone(),
        amount_before: amount_text,
        amount_after: magnitude(converted.total),
        splits: converted
            .moved
            .iter()
            .map(|&i| MovedSplit {
                user: splits[i].1,
                before: splits[i].3.clone(),
                after: magnitude(converted.parts[i]),
            })
            .collect(),
    });
    Conversion::Converted(Box::new(expense), moved)
}

/// One batch of conversions, ready to write.
#[derive(Default)]
struct Batch {
    last_id: Option<ObjectId>,
    replacements: Vec<Document>,
    quarantined: Vec<Document>,
    moved: Vec<MovedExpense>,
    counts: ExpenseCounts,
}

impl Batch {
    fn add(&mut self, old: Document) -> mongodb::error::Result<()> {
        self.last_id = old.get_object_id("_id").ok().or(self.last_id);
        let conversion = convert_expense(&old);
        self.counts.tally(&conversion);
        match conversion {
            Conversion::Converted(expense, moved) => {
                let replacement = mongodb::bson::to_document(&*expense)?;
                self.replacements
                    .push(doc! { "q": { "_id": expense.id }, "u": replacement });
                self.moved.extend(moved);
            }
            Conversion::AlreadyCurrent => {}
            Conversion::Unconvertible(reason) => {
                tracing::warn!(expense = ?old.get("_id"), %reason, "expense cannot be converted; moved to {QUARANTINE}");
                self.quarantined.push(doc! {
                    "_id": old.get("_id").cloned().unwrap_or(Bson::Null),
                    "reason": reason,
                    "migration": V1_MIGRATION,
                    "original": old,
                });
            }
        }
        Ok(())
    }
}

/// A step of the schema 0 → 1 upgrade, each run in its own transaction.
#[derive(Clone, Copy)]
enum Step {
    Users,
    /// The next batch of this many expenses.
    Expenses(usize),
    /// Version 2: duplicate pending friends removed.
    PendingDuplicates,
}

/// The pending records (oldest first) that repeat an earlier one's adder and
/// email, or adder and phone number.
fn duplicate_pending(records: &[Document]) -> Vec<ObjectId> {
    let mut seen = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    for record in records {
        let (Ok(id), Ok(adder)) = (record.get_object_id("_id"), record.get_object_id("addedBy"))
        else {
            continue;
        };
        let keys: Vec<(ObjectId, &str, &str)> = ["email", "phoneNumber"]
            .into_iter()
            .filter_map(|field| Some((adder, field, record.get_str(field).ok()?)))
            .filter(|(_, _, value)| !value.is_empty())
            .collect();
        if keys.iter().any(|k| seen.contains(k)) {
            duplicates.push(id);
        } else {
            seen.extend(keys);
        }
    }
    duplicates
}

/// The name a process holds the lease under: pod or host, process, random.
fn owner_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &nonce[..8])
}

fn later(ms: i64) -> DateTime {
    DateTime::from_millis(now().timestamp_millis() + ms)
}

impl Store {
    fn migrations(&self) -> Collection<Document> {
        self.db.collection("migrations")
    }

    /// The recorded schema version, if any.
    async fn recorded_schema(&self) -> mongodb::error::Result<Option<i32>> {
        let found = self.meta().find_one(doc! { "_id": "schema" }).await?;
        Ok(found
            .and_then(|d| d.get("version").and_then(super::as_int))
            .and_then(|v| i32::try_from(v).ok()))
    }

    /// The schema version of the documents: recorded, or else inferred from
    /// whether Splitlyr ever built its ledger here (see the module docs).
    pub async fn schema_version(&self) -> mongodb::error::Result<i32> {
        Ok(match self.recorded_schema().await? {
            Some(version) => version,
            None if self.ledger_was_built().await? => SCHEMA_VERSION,
            None => 0,
        })
    }

    async fn record_schema(&self, version: i32) -> mongodb::error::Result<()> {
        self.meta()
            .update_one(
                doc! { "_id": "schema" },
                doc! { "$set": { "version": version, "recordedAt": now() } },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    /// Schema and ledger are what this release needs.
    async fn is_current(&self) -> mongodb::error::Result<bool> {
        Ok(self.recorded_schema().await? == Some(SCHEMA_VERSION)
            && self.ledger_is_current().await?)
    }

    /// Takes or renews the upgrade lease; false while another process holds it.
    async fn take_lease(&self, owner: &str) -> mongodb::error::Result<bool> {
        let taken = self
            .meta()
            .update_one(
                doc! { "_id": LEASE, "$or": [ { "until": { "$lt": now() } }, { "owner": owner } ] },
                doc! { "$set": { "owner": owner, "until": later(LEASE_TTL_MS) } },
            )
            .upsert(true)
            .await;
        match taken {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn release_lease(&self, owner: &str) -> mongodb::error::Result<()> {
        self.meta()
            .delete_one(doc! { "_id": LEASE, "owner": owner })
            .await?;
        Ok(())
    }

    /// Everything the database needs before this process serves: indexes,
    /// the schema upgrade and the ledger. Waits while another process holds
    /// the upgrade lease. `readiness` tells the API and `/v1/healthz` where
    /// it stands.
    pub async fn prepare(&self, readiness: &Readiness, batch: usize) -> mongodb::error::Result<()> {
        let schema = self.schema_version().await?;
        readiness.set_index_conflicts(self.ensure_indexes(schema).await?);
        let owner = owner_id();
        while !self.is_current().await? {
            if self.take_lease(&owner).await? {
                readiness.set(Phase::Upgrading);
                let renewing = self.renew_lease_in_background(owner.clone());
                let done = self.upgrade_holding_lease(&owner, batch).await;
                renewing.abort();
                self.release_lease(&owner).await?;
                done?;
            } else {
                readiness.set(Phase::WaitingForUpgrade);
                tokio::time::sleep(WAIT_POLL).await;
            }
        }
        if schema < SCHEMA_VERSION {
            // The indexes the upgrade made the documents fit.
            readiness.set_index_conflicts(self.ensure_indexes(SCHEMA_VERSION).await?);
        }
        readiness.set(Phase::Ready);
        Ok(())
    }

    fn renew_lease_in_background(&self, owner: String) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((LEASE_TTL_MS / 3) as u64)).await;
                if let Err(e) = store.take_lease(&owner).await {
                    tracing::warn!(error = %e, "could not renew the upgrade lease");
                }
            }
        })
    }

    async fn upgrade_holding_lease(&self, owner: &str, batch: usize) -> mongodb::error::Result<()> {
        let version = self.schema_version().await?;
        if version < 1 {
            let report = self.upgrade_to_v1(owner, batch).await?;
            tracing::info!(
                report = %serde_json::to_string(&report).unwrap_or_default(),
                "database upgraded from the old server's documents (schema 0 -> 1)"
            );
        }
        if version < 2 {
            self.upgrade_to_v2().await?;
        }
        if version < 3 {
            self.upgrade_to_v3().await?;
        }
        if version < 4 {
            self.upgrade_to_v4().await?;
        }
        if version < 5 {
            self.upgrade_to_v5().await?;
        }
        if self.recorded_schema().await? != Some(SCHEMA_VERSION) {
            self.record_schema(SCHEMA_VERSION).await?;
        }
        self.ensure_ledger().await
    }

    /// Schema 1 → 2: every expense and group starts at version 1, and
    /// duplicate pending friends go. Each step is idempotent, so a crash
    /// midway is resumed by running it again.
    async fn upgrade_to_v2(&self) -> mongodb::error::Result<()> {
        let unversioned = doc! { "version": { "$exists": false } };
        let first = doc! { "$set": { "version": 1_i64 } };
        for collection in ["expenses", "groups"] {
            let n = self
                .db
                .collection::<Document>(collection)
                .update_many(unversioned.clone(), first.clone())
                .await?
                .modified_count;
            tracing::info!(
                collection,
                documents = n,
                "upgrade (schema 1 -> 2): versions start at 1"
            );
        }
        self.in_transaction(Step::PendingDuplicates).await?;
        Ok(())
    }

    /// Schema 2 → 3: every expense says what it is (`type: "expense"`) and
    /// how it was split (`splitType: "exact"`, the only mode there was). One
    /// idempotent update that matches only documents not yet converted, so a
    /// crash midway is resumed by running it again. The ledger is rebuilt
    /// from postings afterwards (its version changed with this release).
    async fn upgrade_to_v3(&self) -> mongodb::error::Result<()> {
        let n = self
            .expenses()
            .update_many(
                doc! { "type": { "$exists": false } },
                doc! { "$set": { "type": "expense", "splitType": "exact" } },
            )
            .await?
            .modified_count;
        self.migrations()
            .update_one(
                doc! { "_id": V3_MIGRATION },
                doc! {
                    "$inc": { "typedExpenses": n as i64 },
                    "$set": { "finishedAt": now() },
                },
            )
            .upsert(true)
            .await?;
        tracing::info!(
            expenses = n,
            "upgrade (schema 2 -> 3): expenses typed, split mode exact"
        );
        Ok(())
    }

    /// Schema 3 → 4: profile photos the old server kept inline (the app's
    /// whole data URI in the user document, embedded in every response that
    /// names the user) become stored pictures, re-encoded like an upload at
    /// the default avatar size. One user at a time, each in the transaction
    /// of a photo change, picked while the data URI is still there: a crash
    /// midway resumes with the next. A photo that is not a picture we accept
    /// is removed (logged with the user's id, counted).
    async fn upgrade_to_v4(&self) -> mongodb::error::Result<()> {
        use crate::images::{input, process};
        const BOUNDS: process::Bounds = process::Bounds {
            max_pixels: 40_000_000,
            max_alloc: 256 << 20,
        };
        const AVATAR_SIDE: u32 = 512;
        let inline = doc! { "profileImage": { "$regex": "^data:", "$options": "i" } };
        let users = self.db.collection::<Document>("users");
        let (mut stored, mut dropped) = (0_i64, 0_i64);
        // One document at a time: an inline photo may be megabytes.
        loop {
            let next = users
                .find_one(inline.clone())
                .projection(doc! { "profileImage": 1 })
                .await?;
            let Some(user) = next else { break };
            let id = user
                .get_object_id("_id")
                .map_err(mongodb::error::Error::custom)?;
            let uri = user.get_str("profileImage").unwrap_or_default().to_owned();
            let picture = tokio::task::spawn_blocking(move || {
                let bytes = input::data_uri_bytes(&uri, "profileImage", 64 << 20)
                    .map_err(|e| e.to_string())?;
                let probe = process::probe(&bytes, &BOUNDS).map_err(|e| e.to_string())?;
                process::reencode(&bytes, &probe, AVATAR_SIDE, &BOUNDS).map_err(|e| e.to_string())
            })
            .await
            .map_err(mongodb::error::Error::custom)?;
            match picture {
                Ok(picture) => {
                    // The same transaction as a photo change from the API.
                    // Its future is not `Send` (the driver's transaction
                    // closure trips rustc's higher-ranked `Send` inference)
                    // and this runs in a spawned task, so it is driven on a
                    // blocking thread.
                    let store = self.clone();
                    let runtime = tokio::runtime::Handle::current();
                    tokio::task::spawn_blocking(move || {
                        let change = super::PhotoChange::Stored(picture);
                        runtime.block_on(store.change_photo(id, Document::new(), change, u64::MAX))
                    })
                    .await
                    .map_err(mongodb::error::Error::custom)?
                    .map_err(|e| mongodb::error::Error::custom(e.to_string()))?;
                    stored += 1;
                }
                Err(reason) => {
                    tracing::warn!(user_id = %id, reason, "upgrade (schema 3 -> 4): an inline profile photo is not a picture we accept; removed");
                    users
                        .update_one(
                            doc! { "_id": id, "profileImage": user.get("profileImage").cloned().unwrap_or(Bson::Null) },
                            doc! { "$unset": { "profileImage": "" } },
                        )
                        .await?;
                    dropped += 1;
                }
            }
        }
        self.migrations()
            .update_one(
                doc! { "_id": V4_MIGRATION },
                doc! {
                    "$inc": { "inlinePhotos": stored, "droppedPhotos": dropped },
                    "$set": { "finishedAt": now() },
                },
            )
            .upsert(true)
            .await?;
        tracing::info!(
            stored,
            dropped,
            "upgrade (schema 3 -> 4): inline profile photos stored as pictures"
        );
        Ok(())
    }

    /// Keeps the oldest pending record per adder and email, and per adder and
    /// phone number (an empty one, the old server's default, is no number),
    /// and unlinks the others from their adders.
    async fn remove_duplicate_pending(
        &self,
        s: &mut mongodb::ClientSession,
    ) -> mongodb::error::Result<()> {
        let pending = self.db.collection::<Document>("pendingfriends");
        for field in ["email", "phoneNumber"] {
            pending
                .update_many(doc! { field: "" }, doc! { "$unset": { field: "" } })
                .session(&mut *s)
                .await?;
        }
        let records: Vec<Document> = pending
            .find(doc! {})
            .projection(doc! { "addedBy": 1, "email": 1, "phoneNumber": 1 })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .session(&mut *s)
            .await?
            .stream(&mut *s)
            .try_collect()
            .await?;
        let duplicates = duplicate_pending(&records);
        self.migrations()
            .update_one(
                doc! { "_id": V2_MIGRATION },
                doc! { "$set": { "pendingDuplicates": duplicates.len() as i64, "finishedAt": now() } },
            )
            .upsert(true)
            .session(&mut *s)
            .await?;
        if duplicates.is_empty() {
            return Ok(());
        }
        tracing::info!(
            records = duplicates.len(),
            "upgrade (schema 1 -> 2): duplicate pending friends removed"
        );
        pending
            .delete_many(doc! { "_id": { "$in": &duplicates } })
            .session(&mut *s)
            .await?;
        self.db
            .collection::<Document>("users")
            .update_many(
                doc! { "pendingFriends": { "$in": &duplicates } },
                doc! { "$pull": { "pendingFriends": { "$in": &duplicates } } },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// Counts of every collection the upgrade reads.
    async fn document_counts(&self) -> mongodb::error::Result<BTreeMap<String, u64>> {
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
    pub async fn upgrade_report(&self) -> mongodb::error::Result<UpgradeReport> {
        let record = self
            .migrations()
            .find_one(doc! { "_id": V1_MIGRATION })
            .await?;
        let mut report: UpgradeReport = record
            .map(mongodb::bson::from_document)
            .transpose()?
            .unwrap_or_default();
        report.to_version = SCHEMA_VERSION;
        if let Some(v2) = self
            .migrations()
            .find_one(doc! { "_id": V2_MIGRATION })
            .await?
        {
            report.pending_duplicates = v2
                .get("pendingDuplicates")
                .and_then(super::as_int)
                .map_or(0, |n| n.unsigned_abs());
        }
        if let Some(v3) = self
            .migrations()
            .find_one(doc! { "_id": V3_MIGRATION })
            .await?
        {
            report.typed_expenses = v3
                .get("typedExpenses")
                .and_then(super::as_int)
                .map_or(0, |n| n.unsigned_abs());
        }
        if let Some(v4) = self
            .migrations()
            .find_one(doc! { "_id": V4_MIGRATION })
            .await?
        {
            let count = |key| {
                v4.get(key)
                    .and_then(super::as_int)
                    .map_or(0, |n: i64| n.unsigned_abs())
            };
            report.inline_photos = count("inlinePhotos");
            report.dropped_photos = count("droppedPhotos");
        }
        Ok(report)
    }

    /// Schema 0 → 1: users' placeholders, then expenses in resumable
    /// batches. Returns the report also kept in `migrations`.
    async fn upgrade_to_v1(
        &self,
        owner: &str,
        batch: usize,
    ) -> mongodb::error::Result<UpgradeReport> {
        let migrations = self.migrations();
        migrations
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! {
                    "$setOnInsert": { "fromVersion": 0, "toVersion": 1, "startedAt": now(), "state": "running" },
                    "$set": { "owner": owner },
                },
            )
            .upsert(true)
            .await?;
        let documents = self.document_counts().await?;
        self.in_transaction(Step::Users).await?;
        while let Some(moved) = self.in_transaction(Step::Expenses(batch)).await? {
            for expense in &moved {
                tracing::info!(expense = %expense, "upgrade rounded an expense's splits by more than half a minor unit");
            }
        }
        migrations
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! { "$set": {
                    "state": "done",
                    "finishedAt": now(),
                    "documents": documents.iter().map(|(k, n)| (k.clone(), Bson::Int64(*n as i64))).collect::<Document>(),
                } },
            )
            .await?;
        self.upgrade_report().await
    }

    /// Runs one step of the upgrade in a transaction of its own, retried
    /// on transient transaction errors as the driver's `and_run` would.
    /// (Written out here, not with `and_run2`, because the preparation runs
    /// in a spawned task and `and_run2`'s closure future is not `Send`.)
    async fn in_transaction(
        &self,
        step: Step,
    ) -> mongodb::error::Result<Option<Vec<MovedExpense>>> {
        use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
        let mut session = self.client.start_session().await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            session.start_transaction().await?;
            let outcome = match self.v1_step(&mut session, step).await {
                Ok(value) => {
                    let mut committed = session.commit_transaction().await;
                    while matches!(&committed, Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT))
                    {
                        committed = session.commit_transaction().await;
                    }
                    committed.map(|()| value)
                }
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    Err(e)
                }
            };
            match outcome {
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < 10 => continue,
                other => return other,
            }
        }
    }

    async fn v1_step(
        &self,
        s: &mut mongodb::ClientSession,
        step: Step,
    ) -> mongodb::error::Result<Option<Vec<MovedExpense>>> {
        match step {
            Step::Users => self.upgrade_v1_users(s).await.map(|()| None),
            Step::Expenses(batch) => self.upgrade_v1_expense_batch(s, batch).await,
            Step::PendingDuplicates => self.remove_duplicate_pending(s).await.map(|()| None),
        }
    }

    /// Unsets the old server's placeholders, once, atomically with the record.
    async fn upgrade_v1_users(&self, s: &mut mongodb::ClientSession) -> mongodb::error::Result<()> {
        let pending = self
            .migrations()
            .find_one(doc! { "_id": V1_MIGRATION, "usersDone": { "$ne": true } })
            .session(&mut *s)
            .await?;
        if pending.is_none() {
            return Ok(());
        }
        let users = self.db.collection::<Document>("users");
        let images = users
            .update_many(
                doc! { "profileImage": OLD_PLACEHOLDER_IMAGE },
                doc! { "$unset": { "profileImage": "" } },
            )
            .session(&mut *s)
            .await?
            .modified_count;
        let phones = users
            .update_many(
                doc! { "phoneNumber": "" },
                doc! { "$unset": { "phoneNumber": "" } },
            )
            .session(&mut *s)
            .await?
            .modified_count;
        self.migrations()
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! { "$set": {
                    "usersDone": true,
                    "users.placeholderImages": images as i64,
                    "users.emptyPhones": phones as i64,
                } },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// Converts the next batch of expenses after the recorded progress,
    /// together with the progress; None when none was left.
    async fn upgrade_v1_expense_batch(
        &self,
        s: &mut mongodb::ClientSession,
        batch: usize,
    ) -> mongodb::error::Result<Option<Vec<MovedExpense>>> {
        let progress = self
            .migrations()
            .find_one(doc! { "_id": V1_MIGRATION })
            .session(&mut *s)
            .await?
            .unwrap_or_default();
        let filter = match progress.get_object_id("lastId") {
            Ok(last) => doc! { "_id": { "$gt": last } },
            Err(_) => doc! {},
        };
        let mut cursor = self
            .db
            .collection::<Document>("expenses")
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::try_from(batch).unwrap_or(500))
            .session(&mut *s)
            .await?;
        let mut work = Batch::default();
        while let Some(old) = cursor.next(&mut *s).await.transpose()? {
            work.add(old)?;
        }
        let Some(last_id) = work.last_id else {
            return Ok(None);
        };
        self.write_v1_batch(s, &work, last_id).await?;
        Ok(Some(work.moved))
    }

    async fn write_v1_batch(
        &self,
        s: &mut mongodb::ClientSession,
        work: &Batch,
        last_id: ObjectId,
    ) -> mongodb::error::Result<()> {
        if !work.replacements.is_empty() {
            self.db
                .run_command(
                    doc! { "update": "expenses", "updates": &work.replacements, "ordered": true },
                )
                .session(&mut *s)
                .await?;
        }
        if !work.quarantined.is_empty() {
            let ids: Vec<Bson> = work
                .quarantined
                .iter()
                .filter_map(|q| q.get("_id").cloned())
                .collect();
            self.db
                .collection::<Document>(QUARANTINE)
                .insert_many(&work.quarantined)
                .session(&mut *s)
                .await?;
            self.db
                .collection::<Document>("expenses")
                .delete_many(doc! { "_id": { "$in": ids } })
                .session(&mut *s)
                .await?;
        }
        if !work.moved.is_empty() {
            let records: Vec<Document> = work
                .moved
                .iter()
                .map(|m| {
                    let mut record = mongodb::bson::to_document(m).unwrap_or_default();
                    record.insert("migration", V1_MIGRATION);
                    record
                })
                .collect();
            self.db
                .collection::<Document>("migrationroundings")
                .insert_many(records)
                .session(&mut *s)
                .await?;
        }
        let c = &work.counts;
        self.migrations()
            .update_one(
                doc! { "_id": V1_MIGRATION },
                doc! {
                    "$set": { "lastId": last_id },
                    "$inc": {
                        "expenses.converted": c.converted as i64,
                        "expenses.alreadyCurrent": c.already_current as i64,
                        "expenses.quarantined": c.quarantined as i64,
                        "movedExpenses": work.moved.len() as i64,
                    },
                },
            )
            .session(&mut *s)
            .await?;
        Ok(())
    }

    /// What the upgrade would do, without writing anything: documents per
    /// collection and every expense whose rounding moves a split by more than
    /// half a minor unit (handed to `on_moved` as found, so memory stays flat).
    pub async fn upgrade_dry_run(
        &self,
        mut on_moved: impl FnMut(&MovedExpense),
    ) -> mongodb::error::Result<UpgradeReport> {
        let from_version = self.schema_version().await?;
        let mut report = UpgradeReport {
            from_version,
            to_version: SCHEMA_VERSION,
            dry_run: true,
            documents: self.document_counts().await?,
            ..UpgradeReport::default()
        };
        if from_version < 2 {
            let records: Vec<Document> = self
                .db
                .collection::<Document>("pendingfriends")
                .find(doc! {})
                .projection(doc! { "addedBy": 1, "email": 1, "phoneNumber": 1 })
                .sort(doc! { "createdAt": 1, "_id": 1 })
                .await?
                .try_collect()
                .await?;
            report.pending_duplicates = duplicate_pending(&records).len() as u64;
        }
        // Schema 0's documents are written typed by the conversion to 1.
        if (1..3).contains(&from_version) {
            report.typed_expenses = self
                .expenses()
                .count_documents(doc! { "type": { "$exists": false } })
                .await?;
        }
        let users = self.db.collection::<Document>("users");
        if from_version < 4 {
            report.inline_photos = users
                .count_documents(doc! { "profileImage": { "$regex": "^data:", "$options": "i" } })
                .await?;
        }
        if from_version >= 1 {
            return Ok(report);
        }
        report.users.placeholder_images = users
            .count_documents(doc! { "profileImage": OLD_PLACEHOLDER_IMAGE })
            .await?;
        report.users.empty_phones = users.count_documents(doc! { "phoneNumber": "" }).await?;
        let mut cursor = self
            .db
            .collection::<Document>("expenses")
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .batch_size(1000)
            .await?;
        while let Some(old) = cursor.try_next().await? {
            let conversion = convert_expense(&old);
            report.expenses.tally(&conversion);
            match conversion {
                Conversion::Converted(_, Some(moved)) => {
                    report.moved_expenses += 1;
                    on_moved(&moved);
                }
                Conversion::Unconvertible(reason) => {
                    tracing::warn!(expense = ?old.get("_id"), %reason, "would not convert");
                }
                _ => {}
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_dinner(amount: Bson, splits: Vec<Bson>) -> Document {
        let ana = ObjectId::parse_str("6b0d6752c87e30f972b51e5f").expect("hex");
        let split_docs: Vec<Document> = splits
            .into_iter()
            .map(|a| doc! { "user": ObjectId::new(), "amount": a, "settled": false, "_id": ObjectId::new() })
            .collect();
        doc! {
            "_id": ObjectId::new(), "description": "Dinner", "amount": amount,
            "createdBy": ana, "paidBy": ana, "splitWith": split_docs, "date": DateTime::now(),
            "group": Bson::Null, "isSettled": false, "__v": 0,
        }
    }

    #[test]
    fn an_int32_amount_is_whole_major_units() {
        let old = old_dinner(Bson::Int32(100), vec![Bson::Int32(60), Bson::Double(40.0)]);
        let Conversion::Converted(e, moved) = convert_expense(&old) else {
            panic!("converts")
        };
        assert_eq!(e.amount, 10_000);
        assert_eq!(
            e.split_with.iter().map(|s| s.amount).collect::<Vec<_>>(),
            vec![6000, 4000]
        );
        assert_eq!((e.currency.as_str(), e.category.as_str()), ("USD", "other"));
        assert_eq!(
            e.payers,
            vec![PayerDoc {
                user: e.paid_by,
                amount: 10_000,
                weight: None,
            }]
        );
        assert!(moved.is_none());
        assert!(!mongodb::bson::to_document(&*e)
            .expect("bson")
            .contains_key("__v"));
    }

    #[test]
    fn moved_splits_are_reported_with_before_and_after() {
        let third = Bson::Double(100.0 / 3.0);
        let old = old_dinner(Bson::Int32(100), vec![third.clone(), third.clone(), third]);
        let Conversion::Converted(_, Some(moved)) = convert_expense(&old) else {
            panic!("converts with a report")
        };
        assert_eq!(moved.splits.len(), 1);
        assert_eq!(moved.splits[0].before, "33.333333333333336");
        assert_eq!(moved.splits[0].after, "33.34");
        assert_eq!(
            (moved.amount_before.as_str(), moved.amount_after.as_str()),
            ("100", "100.00")
        );
    }

    #[test]
    fn splitlyr_documents_and_broken_ones_are_told_apart() {
        let mut current = old_dinner(Bson::Int64(100), vec![Bson::Int64(100)]);
        current.insert("participants", vec![ObjectId::new()]);
        assert!(matches!(
            convert_expense(&current),
            Conversion::AlreadyCurrent
        ));
        let broken = old_dinner(Bson::String("lots".into()), vec![Bson::Int32(1)]);
        assert!(matches!(
            convert_expense(&broken),
            Conversion::Unconvertible(_)
        ));
        let zero_splits = old_dinner(Bson::Int32(10), vec![Bson::Int32(0)]);
        assert!(matches!(
            convert_expense(&zero_splits),
            Conversion::Unconvertible(_)
        ));
    }

    #[test]
    fn the_oldest_pending_record_per_adder_and_contact_is_kept() {
        let (al, bo) = (ObjectId::new(), ObjectId::new());
        let ids: Vec<ObjectId> = (0..6).map(|_| ObjectId::new()).collect();
        let record = |i: usize, adder, email: Option<&str>, phone: Option<&str>| {
            let mut d = doc! { "_id": ids[i], "addedBy": adder };
            if let Some(e) = email {
                d.insert("email", e);
            }
            if let Some(p) = phone {
                d.insert("phoneNumber", p);
            }
            d
        };
        let records = [
            record(0, al, Some("gus@example.com"), None),
            // Same person added by someone else: kept.
            record(1, bo, Some("gus@example.com"), None),
            // Al again, by email: removed.
            record(2, al, Some("gus@example.com"), Some("+15550100")),
            record(3, al, None, Some("+15550199")),
            // Al again, by phone: removed.
            record(4, al, Some("hana@example.com"), Some("+15550199")),
            // An empty phone (the old default) is no phone: kept.
            record(5, al, Some("ivy@example.com"), Some("")),
        ];
        assert_eq!(duplicate_pending(&records), vec![ids[2], ids[4]]);
    }
}
