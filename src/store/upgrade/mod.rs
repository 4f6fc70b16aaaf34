//! Versioned upgrades of the stored documents, and the preparation every
//! process runs before it serves ([`Store::prepare`]: indexes, the schema
//! upgrade, the ledger).
//!
//! The database records its schema version in `meta` (`_id: "schema"`). A
//! document's format is known from that version, never guessed from a
//! field's type: the old Node server stored a whole amount as an int32 (`100`
//! meaning 100.00), which reads like a Splitlyr amount of one cent. One
//! module per step:
//!
//! - version 0: the old Node server's documents (amounts are floats in major
//!   units, mongoose placeholders, no ledger);
//! - version 1 (`v1`): Splitlyr's (integer minor units, `payers`,
//!   `participants`); expenses that cannot be converted are quarantined;
//! - version 2 (`v2`): expenses and groups carry a `version` (optimistic
//!   concurrency), and a user has at most one pending friend per email and
//!   per phone number (unique indexes, built once the duplicates are gone);
//! - version 3 (`v3`): expenses are typed (`type`, `splitType`), which lets
//!   several payers and split modes be told apart;
//! - version 4 (`v4`): profile photos are stored pictures, not inline data
//!   URIs;
//! - version 5 (`v5`): users carry `nameKey` (the folded name) for prefix
//!   search; friendships are unchanged (an entry in neither `friendsOut`
//!   nor `friendsIn` is mutual).
//! - version 6 (`v6`): expenses written before the journal carry `jv`, the
//!   version the journal accounts for (their history: no entries).
//!
//! A database without a recorded version is at version 1 when a Splitlyr
//! ledger was ever built in it (Splitlyr releases before versions were
//! recorded), else at version 0: the old server's, or a new empty one.
//!
//! One process at a time upgrades, holding a lease (`lease`); the others
//! wait, not ready (see `state::Readiness`), until the database is
//! current. Every step is idempotent or resumable and records what it did
//! in `migrations` (read back as the `report`), so a crash at any point is
//! finished by the next process to take the lease, and no document is
//! converted twice.

mod lease;
mod report;
mod v1;
mod v2;
mod v3;
mod v4;
mod v5;
mod v6;

use mongodb::bson::{doc, Document};
use mongodb::Collection;

pub use report::{ExpenseCounts, MovedExpense, MovedSplit, UpgradeReport, UserCounts};
pub use v1::OLD_PLACEHOLDER_IMAGE;

use self::lease::{owner_id, WAIT_POLL};
use super::{now, Store};
use crate::store::readiness::{Phase, Readiness};
use crate::store::StoreError;

/// The schema this release reads and writes.
pub const SCHEMA_VERSION: i32 = 6;

/// The record of step 1 (the old server's documents) in `migrations`.
const V1_MIGRATION: &str = "v1-node-documents";

/// A part of an upgrade step that runs in a transaction of its own
/// ([`Store::in_transaction`]).
#[derive(Clone, Copy)]
enum Step {
    /// Schema 1: the users' placeholders removed.
    Users,
    /// Schema 1: the next batch of this many expenses converted.
    Expenses(usize),
    /// Schema 2: duplicate pending friends removed.
    PendingDuplicates,
}

impl Store {
    fn migrations(&self) -> Collection<Document> {
        self.db.collection("migrations")
    }

    /// Records in `migrations` that the step `id` finished, adding `counts`
    /// (what it changed) to what earlier runs of it counted.
    async fn record_step(&self, id: &str, counts: Document) -> mongodb::error::Result<()> {
        self.migrations()
            .update_one(
                doc! { "_id": id },
                doc! { "$inc": counts, "$set": { "finishedAt": now() } },
            )
            .upsert(true)
            .await?;
        Ok(())
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
    pub async fn schema_version(&self) -> Result<i32, StoreError> {
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

    /// Everything the database needs before this process serves: indexes,
    /// the schema upgrade and the ledger. Waits while another process holds
    /// the upgrade lease. `readiness` tells the API and `/v1/healthz` where
    /// it stands.
    pub async fn prepare(&self, readiness: &Readiness, batch: usize) -> Result<(), StoreError> {
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

    /// Runs every step from the database's version on, records the new
    /// version and rebuilds the ledger if its rules changed.
    async fn upgrade_holding_lease(&self, owner: &str, batch: usize) -> Result<(), StoreError> {
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
        if version < 6 {
            self.upgrade_to_v6(version).await?;
        }
        if self.recorded_schema().await? != Some(SCHEMA_VERSION) {
            self.record_schema(SCHEMA_VERSION).await?;
        }
        Ok(self.ensure_ledger().await?)
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
            let outcome = match self.run_step(&mut session, step).await {
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

    async fn run_step(
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
}
