//! Split modes. This module owns how an expense's total is divided between
//! people from what the client sends for each of them: exact amounts, equal
//! parts, percentages, shares, or equal parts with per-person adjustments;
//! and several payers' amounts, which must add up to the total exactly.
//!
//! Inputs arrive as exact decimals and leave as integer minor-unit parts that
//! add up to the total exactly. A mode's inputs are also kept as integer
//! weights, so an expense whose amount is edited later is divided again by
//! the same inputs rather than by the old parts.
//!
//! Rounding is the largest-remainder method of [`largest_remainder`]
//! everywhere, so no mode creates or loses a minor unit.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::money::{format_major, Currency, Decimal, FixedUnits, MoneyError, MAX_MAJOR_UNITS};
use super::split::{apportion, largest_remainder, SplitError, MAX_SPLITS};

mod inputs;
use inputs::{adjusted, percentages, shares};

/// How an expense's total (or its paid amount) is divided between people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    #[default]
    Exact,
    Equal,
    Percentage,
    Shares,
    Adjustment,
}

impl SplitMode {
    pub const ALL: [SplitMode; 5] = [
        SplitMode::Exact,
        SplitMode::Equal,
        SplitMode::Percentage,
        SplitMode::Shares,
        SplitMode::Adjustment,
    ];

    /// "exact" | "equal" | "percentage" | "shares" | "adjustment", trimmed
    /// and case-insensitive; the error is a sentence naming them all.
    pub fn parse(raw: &str) -> Result<SplitMode, String> {
        let raw = raw.trim();
        SplitMode::ALL
            .into_iter()
            .find(|mode| raw.eq_ignore_ascii_case(mode.code()))
            .ok_or_else(|| {
                let codes: Vec<&str> = SplitMode::ALL.iter().map(|mode| mode.code()).collect();
                format!("Split mode must be one of: {}", codes.join(", "))
            })
    }

    pub fn code(self) -> &'static str {
        match self {
            SplitMode::Exact => "exact",
            SplitMode::Equal => "equal",
            SplitMode::Percentage => "percentage",
            SplitMode::Shares => "shares",
            SplitMode::Adjustment => "adjustment",
        }
    }

    /// The JSON field name of an entry's input in this mode (None: Equal
    /// takes no input).
    pub fn input_field(self) -> Option<&'static str> {
        match self {
            SplitMode::Exact => Some("amount"),
            SplitMode::Equal => None,
            SplitMode::Percentage => Some("percentage"),
            SplitMode::Shares => Some("shares"),
            SplitMode::Adjustment => Some("adjustment"),
        }
    }

    /// Decimals of the fixed-point integer a [`Weight`] holds in this mode;
    /// None for the modes that keep no weight.
    pub fn weight_decimals(self, currency: Currency) -> Option<u32> {
        match self {
            SplitMode::Exact | SplitMode::Equal => None,
            SplitMode::Percentage => Some(PERCENT_DECIMALS),
            SplitMode::Shares => Some(SHARE_DECIMALS),
            SplitMode::Adjustment => Some(currency.decimals()),
        }
    }
}

/// A mode's input for one person as stored: an integer, so it round-trips
/// exactly. Percentage: hundredths of a percent (33.33 % → 3333). Shares:
/// thousandths of a share (1.5 → 1500). Adjustment: minor units of the
/// currency (+5.00 USD → 500, may be negative). Exact/Equal: None.
pub type Weight = Option<i64>;

/// A mode failure. `entry` is the index of the offending entry in the list
/// (None: the list as a whole); `message` is a sentence for the app that
/// reads on its own, e.g. "Percentages must add up to exactly 100 (they add
/// up to 99.9)". The HTTP layer prefixes the field from `entry` and
/// [`SplitMode::input_field`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ModeError {
    pub entry: Option<usize>,
    pub message: String,
}

impl ModeError {
    fn list(message: impl Into<String>) -> ModeError {
        ModeError {
            entry: None,
            message: message.into(),
        }
    }
    fn entry(index: usize, message: impl Into<String>) -> ModeError {
        ModeError {
            entry: Some(index),
            message: message.into(),
        }
    }
}

impl From<MoneyError> for ModeError {
    fn from(error: MoneyError) -> ModeError {
        ModeError::list(error.to_string())
    }
}

impl From<SplitError> for ModeError {
    fn from(error: SplitError) -> ModeError {
        ModeError::list(error.to_string())
    }
}

/// The parts of a total, in entry order, and the weight kept for each entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub parts: Vec<i64>,
    pub weights: Vec<Weight>,
}

const PERCENT_DECIMALS: u32 = 2;
/// 100 % in hundredths.
const WHOLE_PERCENT: i64 = 10_000;
const SHARE_DECIMALS: u32 = 3;
/// A bound on one person's shares, so a client cannot make the shares'
/// sum (and the weights stored) arbitrarily large; a million is far beyond
/// any real ratio.
const MAX_SHARES: i64 = 1_000_000;

/// Divides `total` minor units (> 0) of `currency` between the entries
/// according to `mode`; `values[i]` is entry i's input exactly as the client
/// sent it, None when absent.
///
/// - Exact: an amount is required on every entry; they must add up to
///   `amount_input` (the expense amount as sent) within the app's 0.01
///   tolerance ([`apportion`]). No weights.
/// - Equal: values are ignored; equal parts. No weights.
/// - Percentage: required on every entry, each greater than 0 and at most
///   100, with at most 2 decimals, totalling exactly 100. Weight: hundredths.
/// - Shares: required on every entry, each greater than 0 and at most
///   1 000 000, with at most 3 decimals. Weight: thousandths.
/// - Adjustment: optional (absent is 0), rounded to the currency's minor
///   unit (halves away from zero). What the adjustments leave of the total
///   (the base) must not be negative, nor above 1e9 major units; it is split
///   equally, then each entry's adjustment is added, and no part may end up
///   negative. Weight: the adjustment in minor units, `Some(0)` for an
///   absent one.
///
/// Parts always sum to `total` exactly and each is within one minor unit of
/// its exact quota. Where units are left over after taking every quota's
/// floor, they go one each to the larger fractional remainders first, and
/// between equal remainders to the earlier entry in the list: so equal parts
/// of 100.00 in three are 33.34, 33.33, 33.33.
pub fn divide(
    mode: SplitMode,
    total: i64,
    amount_input: Decimal,
    currency: Currency,
    values: &[Option<Decimal>],
) -> Result<Division, ModeError> {
    if values.is_empty() {
        return Err(SplitError::Empty.into());
    }
    if values.len() > MAX_SPLITS {
        return Err(SplitError::TooMany.into());
    }
    check_total(total, currency)?;
    let no_weights = vec![None; values.len()];
    match mode {
        SplitMode::Exact => {
            let amounts = required(values, "An amount is required for each person")?;
            // `apportion` refuses negatives too, but cannot say which one.
            if let Some(index) = amounts.iter().position(|amount| amount.is_negative()) {
                return Err(ModeError::entry(index, SplitError::Negative.to_string()));
            }
            let parts = apportion(total, &amounts, amount_input, currency)?;
            Ok(Division {
                parts,
                weights: no_weights,
            })
        }
        SplitMode::Equal => Ok(Division {
            parts: proportional(total, &vec![Decimal::ONE; values.len()])?,
            weights: no_weights,
        }),
        SplitMode::Percentage => {
            let percentages = percentages(values)?;
            weighted(total, &percentages, PERCENT_DECIMALS)
        }
        SplitMode::Shares => {
            let shares = shares(values)?;
            weighted(total, &shares, SHARE_DECIMALS)
        }
        SplitMode::Adjustment => adjusted(total, currency, values),
    }
}

/// Amounts that must add up EXACTLY to `total` minor units of `currency`
/// (no tolerance), e.g. several payers' `amount`s: each present, not
/// negative, with at most the currency's decimals. Returns them in minor
/// units, in entry order.
pub fn exact_parts(
    total: i64,
    currency: Currency,
    values: &[Option<Decimal>],
) -> Result<Vec<i64>, ModeError> {
    if values.is_empty() {
        return Err(ModeError::list("At least one payer is required"));
    }
    if values.len() > MAX_SPLITS {
        return Err(ModeError::list(format!(
            "An expense can have at most {MAX_SPLITS} payers"
        )));
    }
    check_total(total, currency)?;
    let decimals = currency.decimals();
    let mut parts = Vec::with_capacity(values.len());
    for (index, value) in required(values, "An amount is required for each payer")?
        .into_iter()
        .enumerate()
    {
        if value.is_negative() {
            return Err(ModeError::entry(index, "Amount cannot be negative"));
        }
        let minor = value.to_fixed(decimals).ok_or_else(|| {
            ModeError::entry(
                index,
                match decimals {
                    0 => format!("Amount must be a whole number of {currency}"),
                    _ => format!("Amount can have at most {decimals} decimals in {currency}"),
                },
            )
        })?;
        parts.push(minor);
    }
    // At most MAX_SPLITS values of at most 1e12 minor units each.
    let sum: i64 = parts.iter().sum();
    if sum != total {
        return Err(ModeError::list(format!(
            "Payer amounts must add up to exactly the total (they add up to {})",
            format_major(sum.unsigned_abs(), currency)
        )));
    }
    Ok(parts)
}

/// The stored weights turned back into the values [`divide`] takes, so an
/// expense whose amount is edited is divided again by the same inputs.
/// `currency` is the one the weights were stored with (adjustments are in
/// its minor units). Exact and Equal keep no weights: None each. A weight
/// out of any valid range (a damaged document) also becomes None, which
/// `divide` then reports as a missing value instead of failing here.
pub fn values_of(mode: SplitMode, weights: &[Weight], currency: Currency) -> Vec<Option<Decimal>> {
    let Some(decimals) = mode.weight_decimals(currency) else {
        return vec![None; weights.len()];
    };
    weights
        .iter()
        .map(|weight| weight.and_then(|units| Decimal::from_fixed(units, decimals).ok()))
        .collect()
}

/// A stored weight as a JSON number for responses: 3333 in Percentage →
/// 33.33, 1500 in Shares → 1.5, -250 in Adjustment (USD) → -2.5, whole
/// numbers as integers. None for no weight or a mode without weights.
pub fn weight_json(
    mode: SplitMode,
    weight: Weight,
    currency: Currency,
) -> Option<serde_json::Value> {
    let decimals = mode.weight_decimals(currency)?;
    serde_json::to_value(FixedUnits {
        units: weight?,
        decimals,
    })
    .ok()
}

/// The same bounds `apportion` puts on a total, checked for every mode.
fn check_total(total: i64, currency: Currency) -> Result<(), MoneyError> {
    if total <= 0 {
        return Err(MoneyError::NotPositive);
    }
    if i128::from(total) > MAX_MAJOR_UNITS * i128::from(currency.minor_per_major()) {
        return Err(MoneyError::TooLarge);
    }
    Ok(())
}

/// Every value, or an error naming the first entry without one.
fn required(values: &[Option<Decimal>], message: &str) -> Result<Vec<Decimal>, ModeError> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| value.ok_or_else(|| ModeError::entry(index, message)))
        .collect()
}

/// Parts proportional to already validated weights, the weights kept as
/// fixed-point integers with `decimals` decimals.
fn weighted(total: i64, weights: &[Decimal], decimals: u32) -> Result<Division, ModeError> {
    Ok(Division {
        parts: proportional(total, weights)?,
        weights: weights
            .iter()
            .map(|weight| weight.to_fixed(decimals))
            .collect(),
    })
}

/// [`largest_remainder`] on inputs already checked: its None cases (empty or
/// negative weights, a total out of range) were all refused before.
fn proportional(total: i64, weights: &[Decimal]) -> Result<Vec<i64>, ModeError> {
    largest_remainder(total, weights)
        .ok_or_else(|| ModeError::list("The total cannot be divided by these values"))
}

#[cfg(test)]
#[path = "modes_props.rs"]
mod props;
#[cfg(test)]
#[path = "modes_tests.rs"]
mod tests;
