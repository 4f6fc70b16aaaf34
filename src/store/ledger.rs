//! Running balances, kept in step with expenses inside the same transaction,
//! so reading balances costs O(counterparties) instead of O(history).
//!
//! - `balances`: one document per (pair of users, currency); `net` is what
//!   user `b` owes user `a` (a < b), in minor units, over unsettled splits.
//! - `groupbalances`: one document per (group, member, currency); `net` > 0
//!   means the member is owed.
//! - `grouppairs`: one document per (group, pair of users, currency), like
//!   `balances` but for the group's documents only (plain pairwise debts of
//!   a group, `settle-up?simplify=false`).
//!
//! - `userbalances`: one document per user with an entry per counterparty
//!   and currency, and `expenseMonths`: how many expenses the user takes part
//!   in per month of their date (`"2025-11": 42`); `groups.expenseMonths`
//!   counts a group's expenses alike. Listing totals and page windows come
//!   from them.
//! - `timeline`: one entry per (participant, expense) (see `timeline.rs`).
//!
//! What a document moves is its postings (`domain::postings`). Every
//! expense or payment write computes the ledger delta between the postings
//! of the old and new versions of the document and applies it with one batched `update` command
//! per collection. `ensure_ledger` rebuilds everything from the expenses.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use mongodb::bson::DateTime;
use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::ClientSession;
use serde::Deserialize;

use super::{as_int, ExpenseDoc, Refill, Store};
use crate::domain::months::{Month, MonthCounts};
use crate::domain::postings::{postings, Bill, Share};
use crate::error::ApiError;

mod checks;
mod open;
pub use checks::LedgerDocs;
pub use open::MAX_OPEN_CURRENCIES;

/// The fields of an expense the ledger depends on, read without the rest of
/// the document when rebuilding (memory stays flat however long the history).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerSource {
    paid_by: ObjectId,
    /// Several payers; empty in documents written before they were stored.
    #[serde(default)]
    payers: Vec<PayerSource>,
    currency: String,
    #[serde(default)]
    group: Option<ObjectId>,
    split_with: Vec<SourceSplit>,
    #[serde(default)]
    participants: Vec<ObjectId>,
    date: DateTime,
}

#[derive(Deserialize)]
struct PayerSource {
    user: ObjectId,
    amount: i64,
}

#[derive(Deserialize)]
struct SourceSplit {
    user: ObjectId,
    amount: i64,
    settled: bool,
}

impl From<&ExpenseDoc> for LedgerSource {
    fn from(e: &ExpenseDoc) -> Self {
        Self {
            paid_by: e.paid_by,
            payers: e
                .payers
                .iter()
                .map(|p| PayerSource {
                    user: p.user,
                    amount: p.amount,
                })
                .collect(),
            currency: e.currency.clone(),
            group: e.group,
            split_with: e
                .split_with
                .iter()
                .map(|s| SourceSplit {
                    user: s.user,
                    amount: s.amount,
                    settled: s.settled,
                })
                .collect(),
            participants: e.participants.clone(),
            date: e.date,
        }
    }
}

impl LedgerSource {
    /// Who paid and who owes: the stored payers with the main payer
    /// (`paidBy`, to whom settled shares were repaid) first; the whole
    /// amount paid by `paidBy` when no payers are stored.
    fn bill(&self) -> Bill<ObjectId> {
        let owed: i64 = self.split_with.iter().map(|s| s.amount).sum();
        let mut payers: Vec<(ObjectId, i64)> =
            self.payers.iter().map(|p| (p.user, p.amount)).collect();
        if payers.is_empty() {
            payers.push((self.paid_by, owed));
        }
        payers.sort_by_key(|(user, _)| *user != self.paid_by);
        Bill {
            payers,
            shares: self
                .split_with
                .iter()
                .map(|s| Share {
                    user: s.user,
                    amount: s.amount,
                    settled: s.settled,
                })
                .collect(),
        }
    }
}

fn source_projection() -> Document {
    doc! {
        "paidBy": 1, "payers.user": 1, "payers.amount": 1, "currency": 1, "group": 1, "participants": 1,
        "splitWith.user": 1, "splitWith.amount": 1, "splitWith.settled": 1, "date": 1,
    }
}

/// (group, a, b, currency, net): what `b` owes `a` (a < b) in the group.
type GroupPair = (ObjectId, ObjectId, ObjectId, String, i64);

/// Expense counts per month of each user's or group's history.
type Counts = BTreeMap<ObjectId, BTreeMap<Month, i64>>;

/// Signed increments keyed by document id.
#[derive(Default)]
struct Delta {
    pairs: BTreeMap<String, (ObjectId, ObjectId, String, i64)>,
    members: BTreeMap<String, (ObjectId, ObjectId, String, i64)>,
    /// Pair balances inside each group: (group, a, b, currency, net).
    group_pairs: BTreeMap<String, GroupPair>,
    /// Per participant (`userbalances.expenseMonths`) and per group
    /// (`groups.expenseMonths`).
    user_counts: Counts,
    group_counts: Counts,
}

impl Delta {
    /// Counts the expense in its month for every participant and its group,
    /// and books what each unsettled split of someone other than the payer
    /// owes the payer.
    fn add(&mut self, e: &LedgerSource, sign: i64) {
        let month = Month::of(e.date.timestamp_millis());
        for user in &e.participants {
            *self
                .user_counts
                .entry(*user)
                .or_default()
                .entry(month)
                .or_default() += sign;
        }
        if let Some(group) = e.group {
            *self
                .group_counts
                .entry(group)
                .or_default()
                .entry(month)
                .or_default() += sign;
        }
        let bill = e.bill();
        for p in postings(&bill) {
            let (creditor, debtor, amount) = (p.creditor, p.debtor, sign * p.amount);
            // net is what b owes a.
            let (a, b, inc) = if creditor < debtor {
                (creditor, debtor, amount)
            } else {
                (debtor, creditor, -amount)
            };
            let key = format!("{}:{}:{}", a.to_hex(), b.to_hex(), e.currency);
            self.pairs
                .entry(key)
                .or_insert((a, b, e.currency.clone(), 0))
                .3 += inc;
            let Some(group) = e.group else { continue };
            let key = format!(
                "{}:{}:{}:{}",
                group.to_hex(),
                a.to_hex(),
                b.to_hex(),
                e.currency
            );
            self.group_pairs
                .entry(key)
                .or_insert((group, a, b, e.currency.clone(), 0))
                .4 += inc;
            for (user, inc) in [(creditor, amount), (debtor, -amount)] {
                let key = format!("{}:{}:{}", group.to_hex(), user.to_hex(), e.currency);
                self.members
                    .entry(key)
                    .or_insert((group, user, e.currency.clone(), 0))
                    .3 += inc;
            }
        }
    }

    fn between(old: Option<&ExpenseDoc>, new: Option<&ExpenseDoc>) -> Self {
        let mut d = Self::default();
        if let Some(old) = old {
            d.add(&old.into(), -1);
        }
        if let Some(new) = new {
            d.add(&new.into(), 1);
        }
        d.prune();
        d
    }

    /// Drops entries that came to zero.
    fn prune(&mut self) {
        self.pairs.retain(|_, v| v.3 != 0);
        self.members.retain(|_, v| v.3 != 0);
        self.group_pairs.retain(|_, v| v.4 != 0);
        for counts in [&mut self.user_counts, &mut self.group_counts] {
            for months in counts.values_mut() {
                months.retain(|_, n| *n != 0);
            }
            counts.retain(|_, months| !months.is_empty());
        }
    }

    /// The pair, group-member and group-pair documents this delta describes.
    fn into_documents(self) -> LedgerDocs {
        LedgerDocs {
            pairs: self
                .pairs
                .into_iter()
                .map(|(k, v)| pair_doc(k, v))
                .collect(),
            members: self
                .members
                .into_iter()
                .map(|(k, v)| member_doc(k, v))
                .collect(),
            group_pairs: self
                .group_pairs
                .into_iter()
                .map(|(k, v)| group_pair_doc(k, v))
                .collect(),
        }
    }
}

/// Per-user view of pair balances: for each user, `"<counterparty>:<CUR>"` →
/// what the counterparty owes them. Stored in one `userbalances` document per
/// user (with the user's month counts), so listing my balances reads one
/// document however many people I share expenses with.
type UserEntries = BTreeMap<ObjectId, BTreeMap<String, i64>>;

fn user_entries(pairs: &BTreeMap<String, (ObjectId, ObjectId, String, i64)>) -> UserEntries {
    let mut out = UserEntries::new();
    for (a, b, currency, net) in pairs.values() {
        *out.entry(*a)
            .or_default()
            .entry(format!("{}:{currency}", b.to_hex()))
            .or_default() += net;
        *out.entry(*b)
            .or_default()
            .entry(format!("{}:{currency}", a.to_hex()))
            .or_default() -= net;
    }
    for entries in out.values_mut() {
        entries.retain(|_, n| *n != 0);
    }
    out.retain(|_, entries| !entries.is_empty());
    out
}

/// One `update` command upserting each user's `userbalances` document:
/// `$inc` of `entries.<key>` and of `expenseMonths.<month>`.
fn user_increments(entries: &UserEntries, counts: &Counts) -> Option<Document> {
    let mut incs: BTreeMap<ObjectId, Document> = BTreeMap::new();
    for (user, e) in entries {
        let inc = incs.entry(*user).or_default();
        for (key, n) in e {
            inc.insert(format!("entries.{key}"), *n);
        }
    }
    for (user, months) in counts {
        inc_months(incs.entry(*user).or_default(), months);
    }
    let updates: Vec<Document> = incs
        .into_iter()
        .map(|(user, inc)| doc! { "q": { "_id": user }, "u": { "$inc": inc }, "upsert": true })
        .collect();
    (!updates.is_empty())
        .then(|| doc! { "update": "userbalances", "updates": updates, "ordered": true })
}

/// The integer fields of the subdocument `key` of `doc`.
fn int_fields<'a>(doc: &'a Document, key: &str) -> impl Iterator<Item = (&'a String, i64)> {
    let fields = doc.get_document(key).ok();
    fields
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, as_int(v)?)))
}

fn parse_entries(doc: &Document) -> BTreeMap<String, i64> {
    int_fields(doc, "entries")
        .filter(|(_, n)| *n != 0)
        .map(|(k, n)| (k.clone(), n))
        .collect()
}

/// One `update` command with an upserting `$inc` of `net` per document.
fn increments(collection: &str, docs: impl Iterator<Item = Document>) -> Option<Document> {
    let updates: Vec<Document> = docs
        .map(|mut fields| {
            // The document as the rebuild writes it: `_id` and `net` (the
            // increment here) apart, its fields are set when it is created.
            let id = fields.remove("_id");
            let inc = fields.remove("net");
            doc! {
                "q": { "_id": id },
                "u": { "$inc": { "net": inc }, "$setOnInsert": fields },
                "upsert": true,
            }
        })
        .collect();
    (!updates.is_empty())
        .then(|| doc! { "update": collection, "updates": updates, "ordered": true })
}

/// How counts are written: added to the stored ones, or replacing them.
#[derive(Clone, Copy)]
enum CountOp {
    Inc,
    Set,
}

/// One `update` command writing the month counts of each group: `$inc` of
/// `expenseMonths.<month>`, or `$set` of `expenseMonths`.
fn group_counters<'a>(
    op: CountOp,
    counts: impl IntoIterator<Item = (&'a ObjectId, &'a BTreeMap<Month, i64>)>,
) -> Option<Document> {
    let updates: Vec<Document> = counts
        .into_iter()
        .map(|(id, months)| {
            let u = match op {
                CountOp::Inc => {
                    let mut inc = Document::new();
                    inc_months(&mut inc, months);
                    doc! { "$inc": inc }
                }
                CountOp::Set => doc! { "$set": { "expenseMonths": months_document(months) } },
            };
            doc! { "q": { "_id": id }, "u": u }
        })
        .collect();
    (!updates.is_empty()).then(|| doc! { "update": "groups", "updates": updates, "ordered": true })
}

fn months_document(months: &BTreeMap<Month, i64>) -> Document {
    months.iter().map(|(m, n)| (m.key(), (*n).into())).collect()
}

/// Month counts as stored in a `userbalances` or `groups` document.
fn stored_months(doc: &Document) -> MonthCounts {
    MonthCounts::from_stored(int_fields(doc, "expenseMonths"))
}

/// Adds an `expenseMonths.<month>` field per month to an `$inc` document.
fn inc_months(inc: &mut Document, months: &BTreeMap<Month, i64>) {
    for (month, n) in months {
        inc.insert(format!("expenseMonths.{}", month.key()), *n);
    }
}

/// Month counts keyed by ("users" or "groups", id).
pub type MonthsByOwner = BTreeMap<(&'static str, ObjectId), MonthCounts>;

/// A balance row as seen from one user: the counterparty owes them `net`.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub counterparty: ObjectId,
    pub currency: String,
    pub net: i64,
}

#[derive(Deserialize)]
struct PairDoc {
    a: ObjectId,
    b: ObjectId,
    currency: String,
    net: i64,
}

/// What `b` owes `a` in one group and currency (`grouppairs`).
#[derive(Debug, Clone, Deserialize)]
pub struct GroupPairDoc {
    pub a: ObjectId,
    pub b: ObjectId,
    pub currency: String,
    pub net: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupBalanceDoc {
    pub user: ObjectId,
    pub currency: String,
    pub net: i64,
}

/// Bump when the ledger's meaning changes: the next start rebuilds it.
/// Version 2 added the per-user and per-group expense counters; version 3
/// the per-user `userbalances` documents; version 4 counts per month
/// (`expenseMonths` replaces `expenseCount`) and the `timeline`.
/// Version 5 books postings (several payers, payments), keeps pair
/// balances inside groups (`grouppairs`) and the `paymentlog`.
const LEDGER_VERSION: i32 = 5;

fn pair_doc(id: String, (a, b, currency, net): (ObjectId, ObjectId, String, i64)) -> Document {
    doc! { "_id": id, "a": a, "b": b, "currency": currency, "net": net }
}

fn group_pair_doc(id: String, (group, a, b, currency, net): GroupPair) -> Document {
    doc! { "_id": id, "group": group, "a": a, "b": b, "currency": currency, "net": net }
}

fn member_doc(
    id: String,
    (group, user, currency, net): (ObjectId, ObjectId, String, i64),
) -> Document {
    doc! { "_id": id, "group": group, "user": user, "currency": currency, "net": net }
}

impl Store {
    /// Every expense, only the fields the ledger needs, in modest batches.
    async fn ledger_sources(&self) -> mongodb::error::Result<mongodb::Cursor<LedgerSource>> {
        self.expenses()
            .clone_with_type::<LedgerSource>()
            .find(doc! {})
            .projection(source_projection())
            .batch_size(1000)
            .await
    }

    /// The whole ledger recomputed from every expense (one pass, zeros
    /// dropped), and the number of expenses read.
    async fn full_delta(&self) -> mongodb::error::Result<(Delta, u64)> {
        let mut delta = Delta::default();
        let mut cursor = self.ledger_sources().await?;
        let mut expenses = 0u64;
        while let Some(e) = cursor.try_next().await? {
            delta.add(&e, 1);
            expenses += 1;
        }
        delta.prune();
        Ok((delta, expenses))
    }

    /// Whether the ledger was built by this version of its rules.
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

    /// Replaces every document of `collection` with `docs`.
    async fn replace_all(
        &self,
        collection: &str,
        docs: impl Iterator<Item = Document> + Send,
    ) -> mongodb::error::Result<()> {
        let mut refill = Refill::start(self.db.collection(collection)).await?;
        refill.extend(docs).await?;
        refill.finish().await
    }

    /// Builds the ledger from the expenses when it is missing or outdated
    /// (first start, or an upgrade). Streams the expenses once. Called by
    /// `prepare` under the upgrade lease, so replicas starting together never
    /// rebuild concurrently.
    pub(super) async fn ensure_ledger(&self) -> mongodb::error::Result<()> {
        if self.ledger_is_current().await? {
            return Ok(());
        }
        let meta = self.meta();
        let (mut delta, expenses) = self.full_delta().await?;
        // Written one collection at a time from the maps, each consumed as
        // its documents go out a chunk at a time: the rebuild never holds a
        // second copy of the ledger as documents.
        let mut entries = user_entries(&delta.pairs);
        let user_counts = std::mem::take(&mut delta.user_counts);
        let group_counts = std::mem::take(&mut delta.group_counts);
        let users: BTreeSet<ObjectId> = entries.keys().chain(user_counts.keys()).copied().collect();
        let user_docs = users.into_iter().map(|user| {
            let fields: Document = entries
                .remove(&user)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, n)| (k, n.into()))
                .collect();
            let months = user_counts
                .get(&user)
                .map(months_document)
                .unwrap_or_default();
            doc! { "_id": user, "entries": fields, "expenseMonths": months }
        });
        self.replace_all("userbalances", user_docs).await?;
        let Delta {
            pairs,
            members,
            group_pairs,
            ..
        } = delta;
        let pair_docs = pairs.into_iter().map(|(k, v)| pair_doc(k, v));
        self.replace_all("balances", pair_docs).await?;
        let member_docs = members.into_iter().map(|(k, v)| member_doc(k, v));
        self.replace_all("groupbalances", member_docs).await?;
        let group_pair_docs = group_pairs.into_iter().map(|(k, v)| group_pair_doc(k, v));
        self.replace_all("grouppairs", group_pair_docs).await?;
        // Counters of earlier versions.
        self.db
            .collection::<Document>("users")
            .update_many(
                doc! {},
                doc! { "$unset": { "expenseCount": "", "expenseMonths": "" } },
            )
            .await?;
        self.db
            .collection::<Document>("groups")
            .update_many(
                doc! {},
                doc! { "$set": { "expenseMonths": {} }, "$unset": { "expenseCount": "" } },
            )
            .await?;
        let groups: Vec<_> = group_counts.iter().collect();
        for chunk in groups.chunks(1000) {
            if let Some(command) = group_counters(CountOp::Set, chunk.iter().copied()) {
                self.db.run_command(command).await?;
            }
        }
        self.rebuild_timeline().await?;
        self.rebuild_paymentlog().await?;
        meta.update_one(
            doc! { "_id": "ledger" },
            doc! { "$set": { "version": LEDGER_VERSION, "rebuiltAt": DateTime::now(), "expenses": expenses as i64 } },
        )
        .upsert(true)
        .await?;
        tracing::info!(expenses, "balance ledger rebuilt from expenses");
        Ok(())
    }

    /// Applies the balance and counter change from `old` to `new` inside the caller's transaction.
    pub(super) async fn apply_ledger(
        &self,
        session: &mut ClientSession,
        old: Option<&ExpenseDoc>,
        new: Option<&ExpenseDoc>,
    ) -> mongodb::error::Result<()> {
        let delta = Delta::between(old, new);
        let entries = user_entries(&delta.pairs);
        let Delta {
            pairs,
            members,
            group_pairs,
            user_counts,
            group_counts,
        } = delta;
        let commands = [
            increments("balances", pairs.into_iter().map(|(k, v)| pair_doc(k, v))),
            increments(
                "groupbalances",
                members.into_iter().map(|(k, v)| member_doc(k, v)),
            ),
            increments(
                "grouppairs",
                group_pairs.into_iter().map(|(k, v)| group_pair_doc(k, v)),
            ),
            group_counters(CountOp::Inc, &group_counts),
            user_increments(&entries, &user_counts),
        ];
        let timeline = super::timeline::changes(old, new);
        let payments = super::paymentlog::changes(old, new);
        for command in commands
            .into_iter()
            .flatten()
            .chain(timeline)
            .chain(payments)
        {
            self.db.run_command(command).session(&mut *session).await?;
        }
        Ok(())
    }

    /// My non-zero balances, per currency: with everyone (one `userbalances`
    /// document) or with one counterparty (their pair documents).
    pub async fn ledger_for(
        &self,
        me: ObjectId,
        counterparty: Option<ObjectId>,
    ) -> Result<Vec<LedgerRow>, ApiError> {
        let Some(other) = counterparty else {
            return self.user_balances(me).await;
        };
        let (a, b) = if me < other { (me, other) } else { (other, me) };
        let filter = doc! { "a": a, "b": b, "net": { "$ne": 0 } };
        let docs: Vec<PairDoc> = self
            .db
            .collection::<PairDoc>("balances")
            .find(filter)
            .projection(doc! { "a": 1, "b": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .into_iter()
            .map(|d| {
                if d.a == me {
                    LedgerRow {
                        counterparty: d.b,
                        currency: d.currency,
                        net: d.net,
                    }
                } else {
                    LedgerRow {
                        counterparty: d.a,
                        currency: d.currency,
                        net: -d.net,
                    }
                }
            })
            .collect())
    }

    /// How many expenses the user takes part in, per month.
    pub async fn expense_months_of(&self, user: ObjectId) -> Result<MonthCounts, ApiError> {
        let found = self
            .db
            .collection::<Document>("userbalances")
            .find_one(doc! { "_id": user })
            .projection(doc! { "expenseMonths": 1 })
            .await?;
        Ok(found.map(|d| stored_months(&d)).unwrap_or_default())
    }

    /// My non-zero balances with everyone: one document read.
    async fn user_balances(&self, me: ObjectId) -> Result<Vec<LedgerRow>, ApiError> {
        let found = self
            .db
            .collection::<Document>("userbalances")
            .find_one(doc! { "_id": me })
            .await?;
        Ok(found
            .map(|d| parse_entries(&d))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, net)| {
                let (cp, currency) = key.split_once(':')?;
                Some(LedgerRow {
                    counterparty: ObjectId::parse_str(cp).ok()?,
                    currency: currency.to_string(),
                    net,
                })
            })
            .collect())
    }

    /// Non-zero member balances of a group.
    pub async fn group_ledger(&self, group: ObjectId) -> Result<Vec<GroupBalanceDoc>, ApiError> {
        Ok(self
            .db
            .collection::<GroupBalanceDoc>("groupbalances")
            .find(doc! { "group": group, "net": { "$ne": 0 } })
            .projection(doc! { "user": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?)
    }

    /// Non-zero pair balances inside a group.
    pub async fn group_pairs(&self, group: ObjectId) -> Result<Vec<GroupPairDoc>, ApiError> {
        Ok(self
            .db
            .collection::<GroupPairDoc>("grouppairs")
            .find(doc! { "group": group, "net": { "$ne": 0 } })
            .projection(doc! { "a": 1, "b": 1, "currency": 1, "net": 1 })
            .await?
            .try_collect()
            .await?)
    }
}
