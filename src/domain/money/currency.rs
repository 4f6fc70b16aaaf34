//! [`Currency`]: an ISO 4217 code, how it is parsed, and the precision of its
//! minor unit.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::MoneyError;

/// An ISO 4217 currency code: three upper-case ASCII letters naming a
/// currency of [`crate::domain::iso4217`]'s table (anything else is a 400, so a
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
                if crate::domain::iso4217::is_known(&code) {
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
