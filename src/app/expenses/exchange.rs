//! An expense booked in another currency than it was paid in: `exchange`
//! of the request (`{currency, rate?}`, `{currency, amount?}` or just
//! `{currency}`), resolved into the stored [`ExchangeDoc`] (the rate given,
//! implied by the converted amount given, or the rate table's for the
//! expense's date), and how an edit carries a stored exchange over.
//!
//! The converted total is the expense's amount at the rate, rounded once
//! to the exchange currency's minor unit, half away from zero; the ledger
//! divides it between payers and shares (`store::ledger`).

use mongodb::bson::DateTime;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::app::rates::table_rate;
use crate::domain::exchange::{convert, implied_rate, Rate};
use crate::domain::money::{positive_amount, AmountInput, Currency, MajorUnits};
use crate::error::{ApiError, Checks, FieldError};
use crate::store::{ExchangeDoc, ExpenseDoc, RateSource, Store};

/// `exchange` of an expense body: book the expense in `currency`.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInput {
    /// The ISO 4217 code balances and settle-up hold the expense in (not
    /// the expense's own `currency`).
    pub currency: String,
    /// Units of `currency` per unit of the expense's currency, as decimal
    /// text (`"0.9254"`) or a number; at most 12 decimals.
    #[schema(value_type = Option<String>)]
    pub rate: Option<AmountInput>,
    /// The converted total instead of a rate (a card statement's, fees
    /// included): the rate is the one it implies.
    #[schema(value_type = Option<f64>)]
    pub amount: Option<AmountInput>,
}

/// `exchange` as an edit sends it: absent (carry the stored one over),
/// `null` (book the expense in its own currency again) or a new one.
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<ExchangeInput>>, D::Error> {
    Option::<ExchangeInput>::deserialize(d).map(Some)
}

/// The exchange of an expense as it reads.
#[derive(Serialize, ToSchema)]
pub struct ExchangeView {
    /// The currency it is booked in.
    currency: String,
    /// Units of `currency` per unit of the expense's currency, exact
    /// decimal text.
    rate: String,
    /// The expense's amount in `currency`.
    amount: MajorUnits,
    /// `given`, `amount` (implied by the converted amount given) or `table`.
    #[schema(value_type = RateSourceCode)]
    source: &'static str,
    /// The rate's day: the rate table's, or the expense's date.
    #[schema(format = Date)]
    date: String,
}

/// `source` of [`ExchangeView`] (schema only).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum RateSourceCode {
    Given,
    Amount,
    Table,
}

impl ExchangeView {
    pub fn of(x: &ExchangeDoc) -> Self {
        Self {
            currency: x.currency.code().to_owned(),
            rate: x.rate.clone(),
            amount: MajorUnits {
                minor: x.amount,
                currency: x.currency,
            },
            source: x.source.code(),
            date: x.date.clone(),
        }
    }
}

/// What was paid: the parsed expense's total, currency and date.
pub struct Paid {
    /// Minor units of `currency`.
    pub total: i64,
    pub currency: Currency,
    pub date: DateTime,
}

/// The day (UTC) of a date.
fn day(date: DateTime) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(date.timestamp_millis())
        .unwrap_or_default()
        .date_naive()
}

fn day_of(expense: &Paid) -> chrono::NaiveDate {
    day(expense.date)
}

fn refused(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, message)])
}

/// The exchange to store with `expense`: from `input` (as the body sent
/// it: `None` absent, `Some(None)` null) or, when absent, carried over from
/// `stored` (an edit):
/// - a `given` rate stays and converts the (possibly new) amount;
/// - an `amount` (converted total) stays while the amount and currency do;
///   once they change it converts at the rate it implied, as `given`;
/// - a `table` rate stays (with its day) while the date and currency do; a
///   new date or currency reads the table again; a new amount converts at
///   the kept rate.
pub async fn resolve(
    store: &Store,
    input: Option<Option<ExchangeInput>>,
    expense: &Paid,
    stored: Option<&ExpenseDoc>,
) -> Result<Option<ExchangeDoc>, ApiError> {
    match input {
        Some(None) => Ok(None),
        Some(Some(input)) => parse(store, input, expense).await.map(Some),
        None => match stored.and_then(|s| s.exchange.as_ref().map(|x| (s, x))) {
            Some((stored, x)) => carry_over(store, stored, x, expense).await.map(Some),
            None => Ok(None),
        },
    }
}

/// A new exchange from the request.
async fn parse(
    store: &Store,
    input: ExchangeInput,
    expense: &Paid,
) -> Result<ExchangeDoc, ApiError> {
    let mut c = Checks::default();
    let currency = c.check(
        "exchange.currency",
        Currency::parse(&input.currency)
            .map_err(|e| e.to_string())
            .and_then(|to| {
                if to == expense.currency {
                    Err(format!(
                        "The expense is in {to} already: name another currency"
                    ))
                } else {
                    Ok(to)
                }
            }),
    );
    if input.rate.is_some() && input.amount.is_some() {
        c.check(
            "exchange",
            Err::<(), _>("Give the rate or the converted amount, not both"),
        );
    }
    let rate = match &input.rate {
        Some(raw) => c.check("exchange.rate", rate_of(raw)),
        None => None,
    };
    let amount = match (&input.amount, currency) {
        (Some(raw), Some(to)) => c.check(
            "exchange.amount",
            raw.decimal()
                .and_then(|d| positive_amount(d, to))
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    };
    let to = c.finish(currency)?;
    let day = day_of(expense);
    if let Some(rate) = rate {
        return given(expense, to, rate, day);
    }
    if let Some(amount) = amount {
        let rate = implied_rate(expense.total, expense.currency, amount, to)
            .map_err(|e| refused("exchange.amount", e.to_string()))?;
        return Ok(ExchangeDoc {
            currency: to,
            rate: rate.to_string(),
            amount,
            source: RateSource::Amount,
            date: day.format("%Y-%m-%d").to_string(),
        });
    }
    from_table(store, expense, to).await
}

/// A rate as the request states it: text, or a number's shortest digits.
pub fn rate_of(raw: &AmountInput) -> Result<Rate, String> {
    let text = match raw {
        AmountInput::Text(text) => text.clone(),
        AmountInput::Number(n) if n.is_finite() => format!("{n}"),
        AmountInput::Number(_) => return Err("Rate must be a decimal number".into()),
    };
    Rate::parse(&text).map_err(|e| e.to_string())
}

/// The expense converted at `rate`, stated with it.
fn given(
    expense: &Paid,
    to: Currency,
    rate: Rate,
    day: chrono::NaiveDate,
) -> Result<ExchangeDoc, ApiError> {
    let amount = converted(expense, to, rate, "exchange.rate")?;
    Ok(ExchangeDoc {
        currency: to,
        rate: rate.to_string(),
        amount,
        source: RateSource::Given,
        date: day.format("%Y-%m-%d").to_string(),
    })
}

/// The expense's total in `to` at `rate`: refused when it comes to nothing.
fn converted(expense: &Paid, to: Currency, rate: Rate, field: &str) -> Result<i64, ApiError> {
    match convert(expense.total, expense.currency, to, rate) {
        Ok(amount) if amount > 0 => Ok(amount),
        Ok(_) => Err(refused(
            field,
            format!("At this rate the amount comes to less than one {to} minor unit"),
        )),
        Err(e) => Err(refused(field, e.to_string())),
    }
}

/// The expense converted at the rate table's rate for its date (the latest
/// table on or before it).
async fn from_table(store: &Store, expense: &Paid, to: Currency) -> Result<ExchangeDoc, ApiError> {
    let day = day_of(expense);
    let found = table_rate(store, expense.currency, to, Some(day)).await?;
    let Some(found) = found else {
        return Err(refused(
            "exchange",
            format!(
                "No exchange rate from {} to {to} is known on or before {}: give a rate or the converted amount",
                expense.currency,
                day.format("%Y-%m-%d")
            ),
        ));
    };
    Ok(ExchangeDoc {
        currency: to,
        rate: found.rate.to_string(),
        amount: converted(expense, to, found.rate, "exchange")?,
        source: RateSource::Table,
        date: found.date.format("%Y-%m-%d").to_string(),
    })
}

/// The stored exchange as it applies to the edited expense (see
/// [`resolve`]).
async fn carry_over(
    store: &Store,
    stored: &ExpenseDoc,
    x: &ExchangeDoc,
    expense: &Paid,
) -> Result<ExchangeDoc, ApiError> {
    if x.currency == expense.currency {
        return Err(refused(
            "exchange",
            format!(
                "The expense is booked in {} already: send exchange null or another currency",
                x.currency
            ),
        ));
    }
    let rate = Rate::parse(&x.rate).map_err(ApiError::internal)?;
    let same_money = expense.total == stored.amount && expense.currency == stored.currency;
    let same_day = day_of(expense) == day(stored.date);
    match x.source {
        RateSource::Amount if same_money => Ok(x.clone()),
        RateSource::Given | RateSource::Amount => given(expense, x.currency, rate, day_of(expense)),
        RateSource::Table if same_day && expense.currency == stored.currency => Ok(ExchangeDoc {
            amount: converted(expense, x.currency, rate, "exchange")?,
            ..x.clone()
        }),
        RateSource::Table => from_table(store, expense, x.currency).await,
    }
}
