//! Projections of the `expenses` collection: collections derived from the
//! expenses and payments, kept in step with them inside each write's
//! transaction (so they never disagree), and rebuilt from them when their
//! rules change.
//!
//! Every projection has one shape, [`Changes`]: a pure function from a
//! change of one document (old → new, either absent) to the database
//! commands that move the projection alike. The ledger (`ledger`), the
//! timeline (`timeline`) and the payment log (`paymentlog`) are the ones
//! there are; another (a journal, say) is one more entry in [`PROJECTIONS`]
//! and, if it can be derived from the expenses, one more rebuild.

use mongodb::bson::{doc, DateTime, Document};

use super::batch::Batch;
use super::{ledger, paymentlog, timeline, ExpenseDoc, Store};

/// The commands moving a projection from `old` to `new`.
pub(super) type Changes = fn(Option<&ExpenseDoc>, Option<&ExpenseDoc>) -> Vec<Document>;

/// Every projection, in the order their commands run.
const PROJECTIONS: [Changes; 3] = [ledger::changes, timeline::changes, paymentlog::changes];

/// Bump when what the projections hold changes: the next start rebuilds
/// them (recorded in `meta` as `_id: "ledger"`).
/// Version 2 added the per-user and per-group expense counters; version 3
/// the per-user `userbalances` documents; version 4 counts per month
/// (`expenseMonths` replaces `expenseCount`) and the `timeline`.
/// Version 5 books postings (several payers, payments), keeps pair
/// balances inside groups (`grouppairs`) and the `paymentlog`.
const LEDGER_VERSION: i32 = 5;

impl Batch {
    /// Adds the writes moving every projection from `old` to `new`.
    pub(crate) fn project(
        &mut self,
        old: Option<&ExpenseDoc>,
        new: Option<&ExpenseDoc>,
    ) -> &mut Self {
        for changes in PROJECTIONS {
            for command in changes(old, new) {
                self.command(command);
            }
        }
        self
    }
}

impl Store {
    /// Whether the projections were built by this version of their rules.
    pub(super) async fn ledger_is_current(&self) -> mongodb::error::Result<bool> {
        Ok(self
            .meta()
            .find_one(doc! { "_id": "ledger", "version": LEDGER_VERSION })
            .await?
            .is_some())
    }

    /// Whether a ledger of any version was ever built here: only Splitlyr
    /// builds one, so its documents are in Splitlyr's format.
    pub(super) async fn ledger_was_built(&self) -> mongodb::error::Result<bool> {
        Ok(self
            .meta()
            .find_one(doc! { "_id": "ledger" })
            .await?
            .is_some())
    }

    /// Builds every projection from the expenses when missing or outdated
    /// (first start, or an upgrade). Called by `prepare` under the upgrade
    /// lease, so replicas starting together never rebuild concurrently.
    pub(super) async fn ensure_ledger(&self) -> mongodb::error::Result<()> {
        if self.ledger_is_current().await? {
            return Ok(());
        }
        let expenses = self.rebuild_ledger().await?;
        self.rebuild_timeline().await?;
        self.rebuild_paymentlog().await?;
        self.meta()
            .update_one(
                doc! { "_id": "ledger" },
                doc! { "$set": { "version": LEDGER_VERSION, "rebuiltAt": DateTime::now(), "expenses": expenses as i64 } },
            )
            .upsert(true)
            .await?;
        tracing::info!(expenses, "balance ledger rebuilt from expenses");
        Ok(())
    }
}
