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

impl Currency {
    /// A code as a stored document has it: any three ASCII letters, since
    /// releases before the ISO 4217 table accepted any (requests are held to
    /// the table by [`Currency::parse`]). A code outside the table has two
    /// decimals, as it had when it was written.
    pub fn stored(code: &str) -> Result<Currency, MoneyError> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|l| l.is_ascii_alphabetic()) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(MoneyError::InvalidCurrency),
        }
    }
}

/// Serde of a stored currency field (`#[serde(with = "stored_currency")]`):
/// written as its code, read with [`Currency::stored`], so a document an
/// earlier release wrote always reads, and every reader gets a `Currency`.
pub mod stored_currency {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Currency;

    pub fn serialize<S: Serializer>(currency: &Currency, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(currency.code())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let code = String::deserialize(d)?;
        Currency::stored(&code).map_err(serde::de::Error::custom)
    }

    /// The same for an optional field.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::Currency;

        pub fn serialize<S: Serializer>(c: &Option<Currency>, s: S) -> Result<S::Ok, S::Error> {
            match c {
                Some(c) => s.serialize_some(c.code()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Currency>, D::Error> {
            match Option::<String>::deserialize(d)? {
                // A blank or broken value reads as none chosen (the default).
                Some(code) => Ok(Currency::stored(&code).ok()),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod stored_tests {
    use super::*;

    #[test]
    fn stored_codes_read_whatever_an_earlier_release_wrote() {
        assert_eq!(Currency::stored("EUR").unwrap().code(), "EUR");
        // Outside the table: refused in a request, read as it is when stored.
        assert!(Currency::parse("ABC").is_err());
        let abc = Currency::stored("abc").unwrap();
        assert_eq!((abc.code(), abc.decimals()), ("ABC", 2));
        assert!(Currency::stored("EURO").is_err());
    }
}
