//! The ledger as pure deltas: what booking (or unbooking) one expense or
//! payment adds to every running balance and month count. No database: the
//! same [`Delta`] is written as increments by a change and as whole
//! documents by the rebuild.

use std::collections::BTreeMap;

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;

use crate::domain::balance::PairNet;
use crate::domain::exchange::convert_bill;
use crate::domain::months::Month;
use crate::domain::postings::{postings, Bill, Share};
use crate::store::ExpenseDoc;

/// The fields of an expense the ledger depends on, read without the rest of
/// the document when rebuilding (memory stays flat however long the history).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LedgerSource {
    paid_by: ObjectId,
    /// Several payers; empty in documents written before they were stored.
    #[serde(default)]
    payers: Vec<PayerSource>,
    pub(super) currency: String,
    #[serde(default)]
    pub(super) group: Option<ObjectId>,
    split_with: Vec<SourceSplit>,
    #[serde(default)]
    participants: Vec<ObjectId>,
    date: DateTime,
    /// Booked in another currency (`ExchangeDoc`): only what booking needs.
    /// Read as `ExpenseDoc` reads it: another shape is none.
    #[serde(default, deserialize_with = "exchange_source")]
    exchange: Option<ExchangeSource>,
}

#[derive(Deserialize)]
struct ExchangeSource {
    currency: String,
    amount: i64,
}

fn exchange_source<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ExchangeSource>, D::Error> {
    let stored = Option::<mongodb::bson::Bson>::deserialize(d)?;
    Ok(stored.and_then(|b| mongodb::bson::from_bson(b).ok()))
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
            currency: e.currency.code().to_owned(),
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
            exchange: e.exchange.as_ref().map(|x| ExchangeSource {
                currency: x.currency.code().to_owned(),
                amount: x.amount,
            }),
        }
    }
}

impl LedgerSource {
    /// The projection that reads only these fields.
    pub(super) fn projection() -> Document {
        doc! {
            "paidBy": 1, "payers.user": 1, "payers.amount": 1, "currency": 1, "group": 1, "participants": 1,
            "splitWith.user": 1, "splitWith.amount": 1, "splitWith.settled": 1, "date": 1,
            "exchange.currency": 1, "exchange.amount": 1,
        }
    }

    /// The currency the balances hold the document in: the exchange's when
    /// it was converted, else its own.
    pub(super) fn booked_currency(&self) -> &str {
        self.exchange
            .as_ref()
            .map_or(self.currency.as_str(), |x| x.currency.as_str())
    }

    /// What the ledger books: [`LedgerSource::own_bill`], or for an expense
    /// booked in another currency that bill converted (the exchange's amount
    /// divided between payers and shares in proportion to the bill's, by the
    /// largest remainder: `domain::exchange::convert_bill`). This is the one
    /// place an expense's conversion becomes bookings, for live writes and
    /// the rebuild alike.
    pub(super) fn bill(&self) -> Bill<ObjectId> {
        let own = self.own_bill();
        match &self.exchange {
            // Only when amounts are negative, which parsing never lets
            // through: book the bill unconverted rather than nothing.
            Some(x) => convert_bill(&own, x.amount).unwrap_or(own),
            None => own,
        }
    }

    /// Who paid and who owes, in the document's own currency: the stored
    /// payers with the main payer (`paidBy`, to whom settled shares were
    /// repaid) first; the whole amount paid by `paidBy` when no payers are
    /// stored.
    fn own_bill(&self) -> Bill<ObjectId> {
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

/// (a, b, currency, net): what `b` owes `a` (a < b), see [`PairNet`].
pub(super) type Pair = (ObjectId, ObjectId, String, i64);

/// (group, member, currency, net): > 0 when the member is owed.
pub(super) type Member = (ObjectId, ObjectId, String, i64);

/// (group, a, b, currency, net): what `b` owes `a` (a < b) in the group.
pub(super) type GroupPair = (ObjectId, ObjectId, ObjectId, String, i64);

/// Expense counts per month of each user's or group's history.
pub(super) type Counts = BTreeMap<ObjectId, BTreeMap<Month, i64>>;

/// Signed increments keyed by document id.
#[derive(Default)]
pub(super) struct Delta {
    /// `balances`
    pub(super) pairs: BTreeMap<String, Pair>,
    /// `groupbalances`
    pub(super) members: BTreeMap<String, Member>,
    /// `grouppairs`: pair balances inside each group.
    pub(super) group_pairs: BTreeMap<String, GroupPair>,
    /// Per participant (`userbalances.expenseMonths`) and per group
    /// (`groups.expenseMonths`).
    pub(super) user_counts: Counts,
    pub(super) group_counts: Counts,
    /// Per group, the people a write brings into its expenses
    /// (`groups.people`).
    pub(super) group_people: BTreeMap<ObjectId, std::collections::BTreeSet<ObjectId>>,
}

impl Delta {
    /// Counts the expense in its month for every participant and its group,
    /// and books its postings (`sign` -1 unbooks them).
    pub(super) fn add(&mut self, e: &LedgerSource, sign: i64) {
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
        let currency = e.booked_currency().to_owned();
        for p in postings(&e.bill()) {
            let amount = sign * p.amount;
            let PairNet { a, b, net } = PairNet::owed(p.debtor, p.creditor, amount);
            let key = format!("{}:{}:{}", a.to_hex(), b.to_hex(), currency);
            self.pairs
                .entry(key)
                .or_insert((a, b, currency.clone(), 0))
                .3 += net;
            let Some(group) = e.group else { continue };
            let key = format!(
                "{}:{}:{}:{}",
                group.to_hex(),
                a.to_hex(),
                b.to_hex(),
                currency
            );
            self.group_pairs
                .entry(key)
                .or_insert((group, a, b, currency.clone(), 0))
                .4 += net;
            for (user, inc) in [(p.creditor, amount), (p.debtor, -amount)] {
                let key = format!("{}:{}:{}", group.to_hex(), user.to_hex(), currency);
                self.members
                    .entry(key)
                    .or_insert((group, user, currency.clone(), 0))
                    .3 += inc;
            }
        }
    }

    /// What changing a document from `old` to `new` books (either may be
    /// absent: an insert or a delete), without the entries that cancel.
    pub(super) fn between(old: Option<&ExpenseDoc>, new: Option<&ExpenseDoc>) -> Self {
        let mut d = Self::default();
        if let Some(old) = old {
            d.add(&old.into(), -1);
        }
        if let Some(new) = new {
            d.add(&new.into(), 1);
            if let Some(group) = new.group {
                let known = |p: &ObjectId| {
                    old.is_some_and(|o| o.group == new.group && o.participants.contains(p))
                };
                let added: std::collections::BTreeSet<ObjectId> = new
                    .participants
                    .iter()
                    .filter(|p| !known(p))
                    .copied()
                    .collect();
                if !added.is_empty() {
                    d.group_people.insert(group, added);
                }
            }
        }
        d.prune();
        d
    }

    /// Drops entries that came to zero.
    pub(super) fn prune(&mut self) {
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
}

/// Per-user view of pair balances: for each user, `"<counterparty>:<CUR>"` →
/// what the counterparty owes them. Stored in one `userbalances` document per
/// user (with the user's month counts), so listing my balances reads one
/// document however many people I share expenses with.
pub type UserEntries = BTreeMap<ObjectId, BTreeMap<String, i64>>;

/// The pair balances as each of the two people sees them.
pub(super) fn user_entries(pairs: &BTreeMap<String, Pair>) -> UserEntries {
    let mut out = UserEntries::new();
    for (a, b, currency, net) in pairs.values() {
        let pair = PairNet {
            a: *a,
            b: *b,
            net: *net,
        };
        for me in [a, b] {
            let (other, owed) = pair.seen_by(me);
            *out.entry(*me)
                .or_default()
                .entry(format!("{}:{currency}", other.to_hex()))
                .or_default() += owed;
        }
    }
    for entries in out.values_mut() {
        entries.retain(|_, n| *n != 0);
    }
    out.retain(|_, entries| !entries.is_empty());
    out
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
