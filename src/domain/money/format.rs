//! Stored amounts on the way out: JSON numbers in major units
//! ([`MajorUnits`], [`FixedUnits`]), floats ([`minor_to_f64`]) and text for
//! messages and files ([`format_money_message`], [`format_major`],
//! [`format_signed`]).

use serde::{Serialize, Serializer};

use super::currency::Currency;

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

/// Minor units as decimal text with a sign and exactly the currency's
/// decimals (`-625` USD → `-6.25`, `0` → `0.00`, `1500` JPY → `1500`).
pub fn format_signed(minor: i64, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}", format_major(minor.unsigned_abs(), currency))
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
