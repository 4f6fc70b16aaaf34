//! JSON shapes of the contract: ids as 24-hex strings, dates as ISO-8601 with
//! milliseconds, amounts in major units, referenced users populated.

use std::collections::HashMap;

use mongodb::bson::{oid::ObjectId, DateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::schema::Id;
use crate::domain::balance::{collect_nets, MemberBalance};
use crate::domain::money::{format_money_message, Currency, MajorUnits};
use crate::error::ApiError;
use crate::state::{AppState, Links};
use crate::store::{ledger::LedgerRow, Person};

pub fn iso(dt: DateTime) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(dt.timestamp_millis())
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The day of a stored date (UTC), `YYYY-MM-DD`.
pub fn day(dt: DateTime) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(dt.timestamp_millis())
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

pub fn iso_opt(dt: Option<DateTime>) -> Option<String> {
    dt.map(iso)
}

pub fn ids(list: &[ObjectId]) -> Vec<String> {
    list.iter().map(|id| id.to_hex()).collect()
}

/// `{_id, name, email, profileImage}`: a user as other objects embed them,
/// with the email only where the viewer may see it (else empty: the app
/// reads a string).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    pub id: String,
    pub name: String,
    /// Empty where the viewer may not see it.
    pub email: String,
    /// The picture's URL.
    pub profile_image: Option<String>,
    /// A group's member without an account (absent for everyone else).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub guest: bool,
}

impl UserRef {
    pub fn of(p: &Person, links: &Links) -> Self {
        Self {
            id: p.id.to_hex(),
            name: p.name.clone(),
            email: p.email.clone(),
            profile_image: p.profile_image.as_deref().map(|s| links.picture(s)),
            guest: p.guest,
        }
    }
}

/// `{_id, name, email}`: the creator of a group or an expense.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatorRef {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    pub id: String,
    pub name: String,
    pub email: String,
}

/// `{_id, name}`: a group as other objects name it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupRef {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    pub id: String,
    pub name: String,
}

/// Users fetched in one query as the viewer may see them
/// ([`Store::people`]), looked up by id while rendering. A user that no
/// longer exists renders as a bare reference rather than failing the request.
pub struct Directory(HashMap<ObjectId, Person>, Links);

impl Directory {
    pub fn new(people: Vec<Person>, links: &Links) -> Self {
        Self(
            people.into_iter().map(|p| (p.id, p)).collect(),
            links.clone(),
        )
    }

    /// `ids` as `viewer` may see them, in one query.
    pub async fn load(
        app: &AppState,
        viewer: ObjectId,
        ids: &[ObjectId],
    ) -> Result<Self, ApiError> {
        Ok(Self::new(app.store.people(viewer, ids).await?, &app.links))
    }

    /// How pictures are linked.
    pub fn links(&self) -> &Links {
        &self.1
    }

    pub fn user(&self, id: ObjectId) -> UserRef {
        match self.0.get(&id) {
            Some(p) => UserRef::of(p, &self.1),
            None => UserRef {
                id: id.to_hex(),
                name: "Deleted user".into(),
                email: String::new(),
                profile_image: None,
                guest: false,
            },
        }
    }

    /// The currency of `id`'s single balance numbers (USD unless chosen).
    pub fn default_currency(&self, id: ObjectId) -> Currency {
        self.0
            .get(&id)
            .and_then(|u| u.default_currency)
            .unwrap_or_default()
    }

    pub fn creator(&self, id: ObjectId) -> CreatorRef {
        let UserRef {
            id, name, email, ..
        } = self.user(id);
        CreatorRef { id, name, email }
    }
}

/// Per-counterparty balances from the ledger rows.
pub fn nets(rows: &[LedgerRow]) -> HashMap<ObjectId, MemberBalance> {
    collect_nets(rows.iter().map(|r| (r.counterparty, r.currency, r.net)))
}

/// The single number the app shows for a balance: `(currency, minor,
/// other_currencies)`. With one currency open, that currency's amount; with
/// several, the amount in `default` only, and `other_currencies` says the
/// number does not cover everything (amounts in different currencies are
/// never added together).
pub fn single_balance(b: &MemberBalance, default: Currency) -> (Currency, i64, bool) {
    let (currency, other) = number_currency(b.by_currency.keys().copied(), default);
    let minor = b.by_currency.get(&currency).copied().unwrap_or(0);
    (currency, minor, other)
}

/// The currency a single balance number is given in, over the currencies
/// `open` (repeats allowed): the only one, else `default`; and whether other
/// currencies are open beside it.
pub fn number_currency(
    open: impl IntoIterator<Item = Currency>,
    default: Currency,
) -> (Currency, bool) {
    let mut open = open.into_iter();
    let Some(first) = open.next() else {
        return (default, false);
    };
    if open.all(|c| c == first) {
        (first, false)
    } else {
        (default, true)
    }
}

/// A balance with a friend, as the app shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceFields {
    /// The single number the app shows, in `currency` (> 0: they owe me).
    balance: MajorUnits,
    /// The only currency open, else my default currency.
    #[schema(value_type = String)]
    currency: Currency,
    /// Whether other currencies are open beside `currency` (never added in).
    other_currencies: bool,
    /// Every open currency, exactly.
    balances: Vec<CurrencyAmount>,
    /// "You are owed $12.50", "You owe $12.50", "You are all settled up".
    message: String,
}

/// An amount in one currency.
#[derive(Serialize, ToSchema)]
pub struct CurrencyAmount {
    #[schema(value_type = String)]
    currency: Currency,
    amount: MajorUnits,
}

/// `balance` (the single number of [`single_balance`], in `currency`),
/// `otherCurrencies`, `balances` (exact per currency) and the human `message`
/// of a balance with a friend.
pub fn balance_fields(b: &MemberBalance, default: Currency) -> BalanceFields {
    let balances = b
        .by_currency
        .iter()
        .map(|(currency, minor)| CurrencyAmount {
            currency: *currency,
            amount: MajorUnits {
                minor: *minor,
                currency: *currency,
            },
        })
        .collect();
    let (currency, minor, other) = single_balance(b, default);
    BalanceFields {
        balance: MajorUnits { minor, currency },
        currency,
        other_currencies: other,
        balances,
        message: describe_balance(b),
    }
}

/// "You are owed $12.50", "You owe $12.50", several currencies joined by "; ".
pub fn describe_balance(b: &MemberBalance) -> String {
    let parts: Vec<String> = b
        .by_currency
        .iter()
        .filter(|(_, minor)| **minor != 0)
        .map(|(currency, minor)| {
            let amount = format_money_message(minor.abs(), *currency);
            if *minor > 0 {
                format!("You are owed {amount}")
            } else {
                format!("You owe {amount}")
            }
        })
        .collect();
    if parts.is_empty() {
        "You are all settled up".into()
    } else {
        parts.join("; ")
    }
}
