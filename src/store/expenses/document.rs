//! An `expenses` document and the rules read off it: who is in it
//! (`participants`), the settle rule's view of it (`Shares`) and the filter
//! its conditional settle write is derived from.

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use crate::domain::category::StoredCategory;
use crate::domain::modes::SplitMode;
use crate::domain::money::Currency;
use crate::domain::settle_share::{conditions, Condition, Shares};
use crate::store::ReceiptRef;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SplitDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user: ObjectId,
    /// Minor units of the expense currency.
    pub amount: i64,
    pub settled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime>,
    /// The person's input to the expense's split mode (see
    /// `domain::modes::Weight`), so an edit re-divides by the same inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

/// Who paid how much: one entry per payer, the main payer (`paidBy`) first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PayerDoc {
    pub user: ObjectId,
    pub amount: i64,
    /// The payer's input to `payersSplitType`, as `SplitDoc::weight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
}

/// What a document of `expenses` records. A payment is stored as a bill
/// paid by the payer and owed entirely by the payee, so the ledger, the
/// lists and the month counts treat it like any expense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Also every document written before payments existed (no `type`).
    #[default]
    Expense,
    Payment,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Expense => "expense",
            Kind::Payment => "payment",
        }
    }
}

/// Where the rate of an expense's conversion came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// Stated with the expense.
    Given,
    /// Implied by the converted amount stated with the expense.
    Amount,
    /// The rate table's, for the expense's date.
    Table,
}

impl RateSource {
    pub fn code(self) -> &'static str {
        match self {
            RateSource::Given => "given",
            RateSource::Amount => "amount",
            RateSource::Table => "table",
        }
    }
}

/// An expense paid in one currency and booked in another: balances and
/// settle-up hold `amount` of `currency`, divided between the payers and
/// the shares in proportion to what they are in the expense's own currency
/// (`domain::exchange::convert_bill`, applied by the ledger).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeDoc {
    #[serde(with = "crate::domain::money::stored_currency")]
    pub currency: Currency,
    /// Units of `currency` per unit of the expense's currency, exact decimal
    /// text (`domain::exchange::Rate`).
    pub rate: String,
    /// Minor units of `currency`: the expense's amount converted.
    pub amount: i64,
    pub source: RateSource,
    /// The rate's day (`YYYY-MM-DD`): the table's for `table`, else the
    /// expense's date.
    pub date: String,
}

/// A stored `exchange` this release reads; any other shape (this release
/// writes none, but the exports pass on whatever a document carries) reads
/// as none, rather than making the whole expense unreadable.
fn readable_exchange<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ExchangeDoc>, D::Error> {
    let stored = Option::<mongodb::bson::Bson>::deserialize(d)?;
    Ok(stored.and_then(|b| mongodb::bson::from_bson(b).ok()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpenseDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    #[serde(rename = "type", default)]
    pub kind: Kind,
    pub description: String,
    /// Minor units of `currency`.
    pub amount: i64,
    #[serde(with = "crate::domain::money::stored_currency")]
    pub currency: Currency,
    pub created_by: ObjectId,
    pub paid_by: ObjectId,
    pub payers: Vec<PayerDoc>,
    /// How the amount paid was divided between several payers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payers_split_type: Option<SplitMode>,
    /// How the amount owed was divided (exact for documents written before
    /// split modes).
    #[serde(default)]
    pub split_type: SplitMode,
    pub split_with: Vec<SplitDoc>,
    pub category: StoredCategory,
    pub date: DateTime,
    #[serde(default)]
    pub group: Option<ObjectId>,
    #[serde(default)]
    pub notes: Option<String>,
    pub is_settled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime>,
    pub participants: Vec<ObjectId>,
    /// A photo of the receipt (see `store::images`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptRef>,
    /// The recurring series (and which of its occurrences) that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<RecurringRef>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// Booked in another currency than it was paid in.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "readable_exchange"
    )]
    pub exchange: Option<ExchangeDoc>,
    /// The conversion (`conversions`) this payment is one half of: it is
    /// deleted and restored with it, not on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<ObjectId>,
    /// Counts the expense's changes from 1; every write checks the version
    /// it read in its filter, so concurrent writers never overwrite each other.
    #[serde(default)]
    pub version: i64,
}

/// The occurrence of a recurring series an expense is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecurringRef {
    pub series_id: ObjectId,
    pub sequence: i64,
}

impl ExpenseDoc {
    /// A new expense (or payment) of `kind` recorded by `creator` at `now`,
    /// version 1, with nothing in it yet: no amount, `paidBy` the creator but
    /// no `payers` listed, no splits, category other, dated `now`. The caller
    /// sets what it knows with `..ExpenseDoc::blank(..)`.
    pub fn blank(kind: Kind, id: ObjectId, creator: ObjectId, now: DateTime) -> Self {
        Self {
            id,
            kind,
            description: String::new(),
            amount: 0,
            currency: Currency::default(),
            created_by: creator,
            paid_by: creator,
            payers: Vec::new(),
            payers_split_type: None,
            split_type: SplitMode::default(),
            split_with: Vec::new(),
            category: crate::domain::category::Category::Other.into(),
            date: now,
            group: None,
            notes: None,
            is_settled: false,
            settled_at: None,
            participants: Vec::new(),
            receipt: None,
            recurring: None,
            created_at: now,
            updated_at: now,
            exchange: None,
            conversion: None,
            version: 1,
        }
    }

    /// The currency balances hold it in: the exchange's, else its own.
    pub fn booked_currency(&self) -> Currency {
        self.exchange.as_ref().map_or(self.currency, |x| x.currency)
    }

    /// Recomputes `participants` from creator, payers and split users.
    pub fn refresh_participants(&mut self) {
        let mut p = vec![self.created_by, self.paid_by];
        p.extend(self.payers.iter().map(|x| x.user));
        p.extend(self.split_with.iter().map(|s| s.user));
        p.sort();
        p.dedup();
        self.participants = p;
    }

    /// Who received a payment: its one split (the payer if it has none).
    pub fn payee(&self) -> ObjectId {
        self.split_with.first().map_or(self.paid_by, |s| s.user)
    }

    /// More than one person paid.
    pub fn has_several_payers(&self) -> bool {
        self.payers.len() > 1
    }

    /// Settles `user`'s share as of `at`, in memory, as the store's settle
    /// write does in the database; the last debt settled settles the
    /// expense (see [`ExpenseDoc::close_if_settled`]).
    pub fn settle_share(&mut self, user: ObjectId, at: DateTime) {
        for split in self.split_with.iter_mut().filter(|x| x.user == user) {
            split.settled = true;
            split.settled_at = Some(at);
        }
        self.updated_at = at;
        self.version += 1;
        self.close_if_settled(at);
    }

    /// Marks the expense settled (as of `at`) when every debt in it is: the
    /// one place this half of the settle rule is applied, after a settle
    /// and after an edit. True when it changed.
    pub fn close_if_settled(&mut self, at: DateTime) -> bool {
        if self.is_settled || !self.debts_settled() {
            return false;
        }
        self.is_settled = true;
        self.settled_at = Some(at);
        true
    }
}

impl Shares for ExpenseDoc {
    fn is_payment(&self) -> bool {
        self.kind == Kind::Payment
    }
    fn payer_count(&self) -> usize {
        self.payers.len()
    }
    fn payer(&self) -> ObjectId {
        self.paid_by
    }
    fn shares(&self) -> impl Iterator<Item = (ObjectId, bool)> {
        self.split_with.iter().map(|s| (s.user, s.settled))
    }
}

/// The filter of the settle write: the expense `id`, where every condition
/// of the settle rule (`domain::settle_share::conditions`) still holds.
pub(super) fn settle_filter(id: ObjectId, user: ObjectId) -> Document {
    let mut filter = doc! { "_id": id };
    let mut share = Document::new();
    for condition in conditions(user) {
        match condition {
            Condition::NotAPayment => {
                filter.insert("type", doc! { "$ne": Kind::Payment.code() });
            }
            Condition::OnePayer => {
                filter.insert("payers.1", doc! { "$exists": false });
            }
            Condition::HasShare(user) => {
                share.insert("user", user);
            }
            Condition::ShareUnsettled(_) => {
                share.insert("settled", false);
            }
        }
    }
    filter.insert("splitWith", doc! { "$elemMatch": share });
    filter
}
