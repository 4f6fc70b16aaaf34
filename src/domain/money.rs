//! Money primitives. This module owns how amounts enter the server (exact
//! decimal parsing of JSON numbers and numeric strings), how they are stored
//! (an integer count of the currency's minor unit) and how they leave it (JSON
//! numbers in major units, and human-readable messages).
//!
//! Floats take no part in arithmetic: client input becomes an exact
//! [`Decimal`] first, and everything after that is integer math.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

/// `10^15`: one major unit expressed in [`Decimal`] mantissa units.
pub const DECIMAL_SCALE: i128 = 1_000_000_000_000_000;
/// Digits kept after the decimal point by [`Decimal`].
const SCALE_DIGITS: i64 = 15;
/// [`SCALE_DIGITS`] for exponents, which `pow` takes as u32.
const SCALE_DECIMALS: u32 = SCALE_DIGITS as u32;
/// Largest accepted magnitude in major units. Larger values are client bugs
/// ("absurd numbers"), and the bound is what keeps all later i128 math safe.
pub const MAX_MAJOR_UNITS: i128 = 1_000_000_000;
const MAX_SCALED: i128 = MAX_MAJOR_UNITS * DECIMAL_SCALE;

/// A money validation failure; `Display` is the sentence shown in the app.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("Currency must be a 3-letter code")]
    InvalidCurrency,
    #[error("Currency must be an ISO 4217 code such as USD, EUR or INR")]
    UnknownCurrency,
    #[error("Amount must be a valid number")]
    NotANumber,
    #[error("Amount is too large")]
    TooLarge,
    #[error("Amount must be greater than 0")]
    NotPositive,
}

/// An ISO 4217 currency code: three upper-case ASCII letters naming a
/// currency of [`super::iso4217`]'s table (anything else is a 400, so a
/// client cannot open an unbounded number of made-up currencies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    /// Trims, checks for exactly three ASCII letters, upper-cases them and
    /// looks the code up in the ISO 4217 table.
    pub fn parse(input: &str) -> Result<Currency, MoneyError> {
        match input.trim().as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|l| l.is_ascii_alphabetic()) => {
                let code = [
                    a.to_ascii_uppercase(),
                    b.to_ascii_uppercase(),
                    c.to_ascii_uppercase(),
                ];
                if super::iso4217::is_known(&code) {
                    Ok(Currency(code))
                } else {
                    Err(MoneyError::UnknownCurrency)
                }
            }
            _ => Err(MoneyError::InvalidCurrency),
        }
    }

    pub fn code(&self) -> &str {
        // The bytes are ASCII letters by construction, so this never falls
        // back; "XXX" is ISO 4217's "no currency" code.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in this currency's minor unit.
    pub const fn decimals(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" => 3,
            _ => 2,
        }
    }

    /// Minor units in one major unit (1, 100 or 1000).
    pub const fn minor_per_major(&self) -> i64 {
        10_i64.pow(self.decimals())
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::USD
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.code().to_owned()
    }
}

/// An exact decimal amount in major units, as the client sent it:
/// `scaled / 10^15`, with `|value| <= 1_000_000_000`.
///
/// Digits past the 15th decimal are truncated (toward zero). That is safe: a
/// double carries ~17 significant digits, so for money-sized values anything
/// past the 15th decimal is float noise, and the finest decisions made on a
/// `Decimal` (the 0.01 split tolerance, rounding to a minor unit) are many
/// orders of magnitude coarser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Decimal {
    scaled: i128,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal { scaled: 0 };
    pub const ONE: Decimal = Decimal {
        scaled: DECIMAL_SCALE,
    };

    /// Builds a value from its mantissa in units of `10^-15`.
    pub fn from_scaled(scaled: i128) -> Result<Decimal, MoneyError> {
        if scaled.unsigned_abs() > MAX_SCALED.unsigned_abs() {
            return Err(MoneyError::TooLarge);
        }
        Ok(Decimal { scaled })
    }

    /// The exact value of `minor` minor units of `currency`.
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Decimal, MoneyError> {
        Decimal::from_fixed(minor, currency.decimals())
    }

    /// `units / 10^decimals`: `from_fixed(3333, 2)` is 33.33. Like [`parse`],
    /// digits past the 15th decimal are truncated toward zero.
    ///
    /// [`parse`]: Decimal::parse
    pub fn from_fixed(units: i64, decimals: u32) -> Result<Decimal, MoneyError> {
        let units = i128::from(units);
        // |units| < 1e19, so times at most 1e15 it stays far below i128::MAX.
        let scaled = match SCALE_DECIMALS.checked_sub(decimals) {
            Some(up) => units * 10_i128.pow(up),
            None => 10_i128
                .checked_pow(decimals - SCALE_DECIMALS)
                .map_or(0, |down| units / down),
        };
        Decimal::from_scaled(scaled)
    }

    /// The value as a whole number of `10^-decimals`: 33.33 is `Some(3333)`
    /// for 2 decimals, 33.333 is None (it has more decimals than that), as is
    /// a count that does not fit an i64. Exact: it counts the mantissa's
    /// trailing zeros, so it answers "at most `decimals` decimals?" as well.
    pub fn to_fixed(self, decimals: u32) -> Option<i64> {
        let units = match SCALE_DECIMALS.checked_sub(decimals) {
            Some(down) => {
                let unit = 10_i128.pow(down);
                if self.scaled % unit != 0 {
                    return None;
                }
                self.scaled / unit
            }
            None => self
                .scaled
                .checked_mul(10_i128.checked_pow(decimals - SCALE_DECIMALS)?)?,
        };
        i64::try_from(units).ok()
    }

    /// A JSON number as serde_json hands it over. Rust's `Display` for `f64`
    /// prints the shortest digits that round-trip (never in exponent form),
    /// the same digits JavaScript's `JSON.stringify` sent; they are then
    /// parsed exactly.
    pub fn from_f64(value: f64) -> Result<Decimal, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotANumber);
        }
        Decimal::parse(&format!("{value}"))
    }

    /// Parses `-?digits(.digits)?`, surrounding whitespace ignored, with an
    /// optional `e[+-]digits` exponent (JavaScript writes `1e-7` and `1e+21`;
    /// accepting them costs nothing and keeps `{:?}` float text parseable).
    pub fn parse(text: &str) -> Result<Decimal, MoneyError> {
        let text = text.trim();
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, parse_exponent(exponent)?),
            None => (unsigned, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, "0"));
        if !is_digits(int_part) || !is_digits(frac_part) {
            return Err(MoneyError::NotANumber);
        }
        // With the decimal point after `point` digits, digit i of
        // int_part||frac_part weighs 10^(point - 1 - i): those weighing at
        // least 10^-15 (i < point + 15) are kept, the rest truncated.
        let point = int_part.len() as i64 + exponent;
        let digit_count = (int_part.len() + frac_part.len()) as i64;
        let kept_until = point + SCALE_DIGITS;
        let kept = kept_until.clamp(0, digit_count);
        let mut scaled: i128 = 0;
        for digit in int_part
            .bytes()
            .chain(frac_part.bytes())
            .take(kept as usize)
        {
            scaled = scaled * 10 + i128::from(digit - b'0');
            // Bailing out early keeps long digit strings from overflowing.
            if scaled > MAX_SCALED {
                return Err(MoneyError::TooLarge);
            }
        }
        if scaled != 0 {
            for _ in kept..kept_until {
                scaled *= 10;
                if scaled > MAX_SCALED {
                    return Err(MoneyError::TooLarge);
                }
            }
        }
        Decimal::from_scaled(if negative { -scaled } else { scaled })
    }

    /// The mantissa: the value times `10^15`.
    pub const fn scaled(self) -> i128 {
        self.scaled
    }

    pub const fn is_negative(self) -> bool {
        self.scaled < 0
    }
}

/// The exact value without trailing zeros (`33.33`, `-2.5`, `100`), for
/// messages such as "they add up to 99.9".
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.is_negative() { "-" } else { "" };
        let scale = DECIMAL_SCALE.unsigned_abs();
        let (whole, fraction) = (
            self.scaled.unsigned_abs() / scale,
            self.scaled.unsigned_abs() % scale,
        );
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{fraction:015}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl FromStr for Decimal {
    type Err = MoneyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Decimal::parse(text)
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_exponent(text: &str) -> Result<i64, MoneyError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if !is_digits(digits) {
        return Err(MoneyError::NotANumber);
    }
    // Past 10^6 the value is already zero or over the limit; saturating
    // keeps the position arithmetic in `parse` small.
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX).min(1_000_000);
    Ok(if negative { -magnitude } else { magnitude })
}

/// An amount field of a request body: a JSON number or a numeric string.
///
/// Deserializing only checks the JSON type (with a readable message); the
/// value is validated by [`AmountInput::decimal`], so handlers can report a
/// clean sentence for the field, e.g. `amount: Option<AmountInput>`.
#[derive(Debug, Clone, PartialEq)]
pub enum AmountInput {
    Number(f64),
    Text(String),
}

impl AmountInput {
    pub fn decimal(&self) -> Result<Decimal, MoneyError> {
        match self {
            AmountInput::Number(value) => Decimal::from_f64(*value),
            AmountInput::Text(text) => Decimal::parse(text),
        }
    }
}

impl<'de> Deserialize<'de> for AmountInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AmountVisitor)
    }
}

struct AmountVisitor;

impl Visitor<'_> for AmountVisitor {
    type Value = AmountInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount given as a number or a numeric string")
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<AmountInput, E> {
        Ok(AmountInput::Number(value))
    }
    // Integers within the accepted range are exact as f64; larger ones are
    // rejected later as too large either way.
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<AmountInput, E> {
        Ok(AmountInput::Number(value as f64))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<AmountInput, E> {
        Ok(AmountInput::Number(value as f64))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<AmountInput, E> {
        Ok(AmountInput::Text(value.to_owned()))
    }
}

/// `amount` rounded to the nearest minor unit of `currency`, halves away from
/// zero (`12.345` USD → 1235 cents, `-0.005` → -1). Used where the client may
/// send more decimals than the currency has (the app sends `parseFloat` of
/// the text typed) and to take over amounts the old server stored as floats.
pub fn round_to_minor(amount: Decimal, currency: Currency) -> Result<i64, MoneyError> {
    let per_minor = DECIMAL_SCALE / i128::from(currency.minor_per_major());
    let magnitude = amount.scaled.unsigned_abs();
    let per = per_minor.unsigned_abs();
    let mut minor = magnitude / per;
    if (magnitude % per) * 2 >= per {
        minor += 1;
    }
    // |minor| <= 10^9 * 10^3 by the Decimal bound, so this always fits.
    let minor = i64::try_from(minor).map_err(|_| MoneyError::TooLarge)?;
    Ok(if amount.is_negative() { -minor } else { minor })
}

/// An expense total in minor units: [`round_to_minor`] (the app sends
/// `parseFloat` of the text typed, so `12.345` USD is stored as 12.35), and it
/// must come out greater than zero (`0.004` USD does not).
pub fn positive_amount(amount: Decimal, currency: Currency) -> Result<i64, MoneyError> {
    match round_to_minor(amount, currency)? {
        minor if minor > 0 => Ok(minor),
        _ => Err(MoneyError::NotPositive),
    }
}

/// Minor units as a major-unit float. One correctly rounded division of two
/// exactly representable integers yields the double nearest the decimal, so
/// shortest formatting prints it back exactly (`33.34`, `0.005`).
pub fn minor_to_f64(minor: i64, currency: Currency) -> f64 {
    minor as f64 / currency.minor_per_major() as f64
}

/// Serializes a stored amount as a JSON number in major units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorUnits {
    pub minor: i64,
    pub currency: Currency,
}

impl Serialize for MajorUnits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_scaled(self.minor, self.currency.minor_per_major(), serializer)
    }
}

/// Serializes `units / 10^decimals` as a JSON number, whole values as
/// integers like [`MajorUnits`]: a percentage kept in hundredths (3333 →
/// 33.33), shares kept in thousandths (2000 → 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedUnits {
    pub units: i64,
    pub decimals: u32,
}

impl Serialize for FixedUnits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let per_major = 10_i64
            .checked_pow(self.decimals)
            .ok_or_else(|| serde::ser::Error::custom("too many decimals for a JSON number"))?;
        serialize_scaled(self.units, per_major, serializer)
    }
}

fn serialize_scaled<S: Serializer>(
    value: i64,
    per_major: i64,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    // serde_json prints every f64 with a fraction (`1000.0`); whole amounts go
    // out as integers so the app sees `1000`.
    if value % per_major == 0 {
        serializer.serialize_i64(value / per_major)
    } else {
        serializer.serialize_f64(value as f64 / per_major as f64)
    }
}

/// Money for a sentence such as "You are owed $12.50": `$` for USD, otherwise
/// the code after the number; always the currency's number of decimals.
pub fn format_money_message(minor: i64, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let number = format_major(minor.unsigned_abs(), currency);
    if currency == Currency::USD {
        format!("{sign}${number}")
    } else {
        format!("{sign}{number} {currency}")
    }
}

/// A non-negative amount of minor units in major units with exactly the
/// currency's decimals: `1235` USD → `12.35`, `5` JPY → `5`.
pub fn format_major(magnitude: u64, currency: Currency) -> String {
    let per_major = currency.minor_per_major().unsigned_abs();
    let whole = magnitude / per_major;
    let width = currency.decimals() as usize;
    if width == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{:0width$}", magnitude % per_major)
    }
}

#[path = "money_schema.rs"]
mod schema;

#[cfg(test)]
#[path = "money_tests.rs"]
mod tests;
