//! Currency conversion, exact: a [`Rate`] (a positive decimal, never a
//! float), converting minor units at a rate ([`convert`], rounded half away
//! from zero once, on the converted total), the rate a converted total
//! implies ([`implied_rate`]), dividing a converted total between the parts
//! of a bill by the largest remainder ([`apportion`], [`convert_bill`]) so
//! they sum to it exactly, converting a zero-sum set of balances so it stays
//! zero-sum ([`convert_nets`]), and a table of euro reference rates with
//! cross rates through the euro ([`RateTable`]).
//!
//! Reading rate files and feeds is `exchange_sources`.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

use crate::domain::money::Currency;
use crate::domain::postings::{Bill, Share};

/// Digits after the decimal point a rate may have (given, or derived: a
/// cross rate or an implied rate is rounded to this many, half away from
/// zero, and that rounded rate is the one shown and used).
pub const RATE_DECIMALS: u32 = 12;
/// The largest rate accepted (a million units of one currency for one of
/// another is already beyond any real pair); with [`RATE_DECIMALS`] it keeps
/// every product below in i128.
const MAX_RATE: i128 = 1_000_000_000;
/// Longest rate text read.
const MAX_RATE_TEXT: usize = 40;

/// Why a rate or a conversion is refused; `Display` is the client's sentence.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExchangeError {
    #[error("Rate must be a decimal number such as 1.0812")]
    NotARate,
    #[error("Rate must be greater than 0")]
    NotPositive,
    #[error("Rate is too large")]
    TooLarge,
    #[error("Rate has more than 12 decimals")]
    TooPrecise,
    #[error("The converted amount is out of range")]
    OutOfRange,
}

/// Units of the target currency for one unit of the source currency
/// (major units both), exact: `mantissa / 10^scale`, `0 < rate <= 1e9`, at
/// most [`RATE_DECIMALS`] decimals, normalized (no trailing zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(Decimal);

impl Rate {
    /// `1`.
    pub const ONE: Rate = Rate(Decimal::ONE);

    /// Parses plain decimal text (`1.0812`, ` 160 `), exactly: no sign, no
    /// exponent, at most 12 decimals.
    pub fn parse(text: &str) -> Result<Rate, ExchangeError> {
        let text = text.trim();
        if text.is_empty()
            || text.len() > MAX_RATE_TEXT
            || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            || text.starts_with('.')
            || text.ends_with('.')
        {
            return Err(ExchangeError::NotARate);
        }
        let value = Decimal::from_str_exact(text).map_err(|_| ExchangeError::NotARate)?;
        Rate::new(value)
    }

    /// A rate from an exact value; refused beyond [`RATE_DECIMALS`].
    pub fn new(value: Decimal) -> Result<Rate, ExchangeError> {
        let value = value.normalize();
        if value.scale() > RATE_DECIMALS {
            return Err(ExchangeError::TooPrecise);
        }
        if value <= Decimal::ZERO {
            return Err(ExchangeError::NotPositive);
        }
        if value > Decimal::from_i128_with_scale(MAX_RATE, 0) {
            return Err(ExchangeError::TooLarge);
        }
        Ok(Rate(value))
    }

    /// A derived value rounded to [`RATE_DECIMALS`] (half away from zero).
    pub fn rounded(value: Decimal) -> Result<Rate, ExchangeError> {
        Rate::new(
            value.round_dp_with_strategy(RATE_DECIMALS, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// The rate the other way round (`1 / self`), rounded.
    pub fn inverse(self) -> Result<Rate, ExchangeError> {
        let inverse = Decimal::ONE
            .checked_div(self.0)
            .ok_or(ExchangeError::TooLarge)?;
        Rate::rounded(inverse)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `10^n` for the few exponents used here (decimals of a currency or a rate).
fn pow10(n: u32) -> i128 {
    10_i128.pow(n)
}

/// `numerator / denominator` (denominator > 0) rounded half away from zero.
fn div_round(numerator: i128, denominator: i128) -> i128 {
    let (q, r) = (numerator / denominator, numerator % denominator);
    if 2 * r.abs() >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

/// `minor` minor units of `from` in minor units of `to` at `rate`, rounded
/// once, half away from zero (`-0.5` → `-1`). Exact integer arithmetic:
/// with |minor| < 1e15, a rate below 1e9 with 12 decimals and at most 3
/// decimals per currency, every product stays below 1e40 / 100.
pub fn convert(minor: i64, from: Currency, to: Currency, rate: Rate) -> Result<i64, ExchangeError> {
    let (mantissa, scale) = (rate.0.mantissa(), rate.0.scale());
    let numerator = i128::from(minor)
        .checked_mul(mantissa)
        .and_then(|n| n.checked_mul(pow10(to.decimals())))
        .ok_or(ExchangeError::OutOfRange)?;
    let denominator = pow10(scale) * pow10(from.decimals());
    i64::try_from(div_round(numerator, denominator)).map_err(|_| ExchangeError::OutOfRange)
}

/// The rate at which `from_minor` of `from` became `to_minor` of `to` (a
/// card statement's total, fees included), rounded to [`RATE_DECIMALS`].
pub fn implied_rate(
    from_minor: i64,
    from: Currency,
    to_minor: i64,
    to: Currency,
) -> Result<Rate, ExchangeError> {
    if from_minor <= 0 || to_minor <= 0 {
        return Err(ExchangeError::NotPositive);
    }
    let paid = Decimal::from_i128_with_scale(i128::from(from_minor), from.decimals());
    let got = Decimal::from_i128_with_scale(i128::from(to_minor), to.decimals());
    let rate = got.checked_div(paid).ok_or(ExchangeError::TooLarge)?;
    Rate::rounded(rate)
}

/// Divides `total` (>= 0) between `weights` (>= 0) in proportion to them:
/// each part the floor of its quota, the units left over one each to the
/// largest remainders (ties: the earlier weight). The parts sum to `total`
/// exactly. None when a value is negative or the weights sum to zero while
/// `total` does not.
pub fn apportion(total: i64, weights: &[i64]) -> Option<Vec<i64>> {
    if total < 0 || weights.iter().any(|w| *w < 0) {
        return None;
    }
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum == 0 {
        return (total == 0).then(|| vec![0; weights.len()]);
    }
    let total = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = total * i128::from(*weight);
        parts.push(exact / sum);
        remainders.push((exact % sum, index));
    }
    let leftover = usize::try_from(total - parts.iter().sum::<i128>()).ok()?;
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, index) in remainders.iter().take(leftover) {
        parts[index] += 1;
    }
    parts.into_iter().map(|p| i64::try_from(p).ok()).collect()
}

/// The bill with its payers and its shares each divided from `total` (the
/// converted amount) in proportion to what they were, so both sum to it
/// exactly; settled flags and the main payer stay as they are.
pub fn convert_bill<K: Clone>(bill: &Bill<K>, total: i64) -> Option<Bill<K>> {
    let paid: Vec<i64> = bill.payers.iter().map(|(_, a)| *a).collect();
    let owed: Vec<i64> = bill.shares.iter().map(|s| s.amount).collect();
    let paid = apportion(total, &paid)?;
    let owed = apportion(total, &owed)?;
    Some(Bill {
        payers: bill
            .payers
            .iter()
            .zip(paid)
            .map(|((k, _), a)| (k.clone(), a))
            .collect(),
        shares: bill
            .shares
            .iter()
            .zip(owed)
            .map(|(s, amount)| Share {
                user: s.user.clone(),
                amount,
                settled: s.settled,
            })
            .collect(),
    })
}

/// Balances in `from` converted to `to` at `rate`. When they sum to zero (a
/// group's), the total owed is converted once and divided between the
/// creditors and between the debtors by [`apportion`], so the converted
/// balances sum to zero exactly; otherwise each is converted on its own.
pub fn convert_nets<K: Clone>(
    nets: &[(K, i64)],
    from: Currency,
    to: Currency,
    rate: Rate,
) -> Result<Vec<(K, i64)>, ExchangeError> {
    let sum: i128 = nets.iter().map(|(_, n)| i128::from(*n)).sum();
    if sum != 0 {
        return nets
            .iter()
            .map(|(k, n)| Ok((k.clone(), convert(*n, from, to, rate)?)))
            .collect();
    }
    let credits: Vec<i64> = nets.iter().map(|(_, n)| (*n).max(0)).collect();
    let debts: Vec<i64> = nets.iter().map(|(_, n)| (-*n).max(0)).collect();
    let owed: i64 = credits.iter().sum();
    let converted = convert(owed, from, to, rate)?;
    let credits = apportion(converted, &credits).ok_or(ExchangeError::OutOfRange)?;
    let debts = apportion(converted, &debts).ok_or(ExchangeError::OutOfRange)?;
    Ok(nets
        .iter()
        .zip(credits.into_iter().zip(debts))
        .map(|((k, _), (c, d))| (k.clone(), c - d))
        .collect())
}

/// The euro reference rates of one day: units of each currency per euro
/// (the euro itself is 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    /// `YYYY-MM-DD`.
    pub date: chrono::NaiveDate,
    pub per_euro: BTreeMap<Currency, Rate>,
}

/// ISO 4217's code of the euro, the base of every table.
pub const EURO: &str = "EUR";

impl RateTable {
    /// Units of `currency` per euro, if the table has it.
    pub fn per_euro(&self, currency: Currency) -> Option<Rate> {
        if currency.code() == EURO {
            return Some(Rate::ONE);
        }
        self.per_euro.get(&currency).copied()
    }

    /// Units of `to` for one `from`, through the euro (`USD → JPY` is
    /// JPY per euro / USD per euro), rounded to [`RATE_DECIMALS`]. None when
    /// either is missing from the table.
    pub fn rate(&self, from: Currency, to: Currency) -> Option<Rate> {
        if from == to {
            return Some(Rate::ONE);
        }
        let (from, to) = (self.per_euro(from)?, self.per_euro(to)?);
        let cross = to.value().checked_div(from.value())?;
        Rate::rounded(cross).ok()
    }

    /// `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
