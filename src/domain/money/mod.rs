//! Money primitives. This module owns how amounts enter the server (exact
//! decimal parsing of JSON numbers and numeric strings), how they are stored
//! (an integer count of the currency's minor unit) and how they leave it (JSON
//! numbers in major units, and human-readable messages).
//!
//! Floats take no part in arithmetic: client input becomes an exact
//! [`Decimal`] first, and everything after that is integer math.
//!
//! Its parts: `currency` names a currency and its minor unit, `amount` turns
//! client input into exact values and minor units, and `format` writes stored
//! amounts out as JSON numbers and sentences. Their items are re-exported
//! here, so `crate::domain::money::X` is the path of each; [`MoneyError`],
//! which the first two answer, lives here.

use thiserror::Error;

mod amount;
mod currency;
mod format;
mod schema;

pub use amount::{
    positive_amount, round_to_minor, AmountInput, Decimal, DECIMAL_SCALE, MAX_MAJOR_UNITS,
};
pub use currency::{stored_currency, Currency};
pub use format::{
    format_major, format_money_message, format_signed, minor_to_f64, FixedUnits, MajorUnits,
};

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

#[cfg(test)]
mod tests;
