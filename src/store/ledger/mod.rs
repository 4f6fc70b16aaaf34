//! Running balances, kept in step with expenses inside the same transaction,
//! so reading balances costs O(counterparties) instead of O(history).
//!
//! - `balances`: one document per (pair of users, currency); `net` is what
//!   user `b` owes user `a` (a < b), in minor units, over unsettled splits
//!   (the convention is `domain::balance::PairNet`'s).
//! - `groupbalances`: one document per (group, member, currency); `net` > 0
//!   means the member is owed.
//! - `grouppairs`: one document per (group, pair of users, currency), like
//!   `balances` but for the group's documents only (plain pairwise debts of
//!   a group, `settle-up?simplify=false`).
//! - `userbalances`: one document per user with an entry per counterparty
//!   and currency, and `expenseMonths`: how many expenses the user takes part
//!   in per month of their date (`"2025-11": 42`); `groups.expenseMonths`
//!   counts a group's expenses alike. Listing totals and page windows come
//!   from them.
//!
//! What a document moves is its postings (`domain::postings`). The ledger is
//! one of the projections of the expenses (see `store::projection`): every
//! expense or payment write computes the `delta` between the postings of
//! the old and new versions of the document, a pure function, and applies it
//! with one batched `update` command per collection (`changes`). Then:
//! - `documents`: the stored form of every collection, and the commands;
//! - `rebuild`: everything recomputed from the expenses;
//! - `reads`: balances as the views read them;
//! - `open`: the bound on currencies open at once;
//! - `checks`: the stored ledger next to a recomputation, for tests and audits.

mod checks;
mod delta;
mod documents;
mod open;
mod reads;
mod rebuild;

use mongodb::bson::{oid::ObjectId, Document};

pub use checks::{LedgerDocs, MonthsByOwner};
pub use open::MAX_OPEN_CURRENCIES;
pub use reads::{GroupBalanceDoc, LedgerRow, PairDoc};

use self::delta::{Delta, LedgerSource};
use super::ExpenseDoc;
use crate::domain::postings::Bill;

/// The ledger as a projection: the commands that move it from `old` to `new`
/// (either may be absent), run inside the document's transaction.
pub(super) fn changes(old: Option<&ExpenseDoc>, new: Option<&ExpenseDoc>) -> Vec<Document> {
    Delta::between(old, new).into_commands()
}

/// Who paid and who owes in `expense`, as the ledger books it (the main
/// payer first; the whole amount paid by `paidBy` when no payers are
/// stored): what an export writes is what the balances hold.
pub fn bill_of(expense: &ExpenseDoc) -> Bill<ObjectId> {
    LedgerSource::from(expense).bill()
}
