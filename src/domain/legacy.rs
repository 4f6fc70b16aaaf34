//! Amounts written by the old Node server: floats in major units, splits
//! computed on the device (`100 / 3` = `33.333333333333336`). Taking them
//! over rounds the total to the currency's minor unit (halves away from zero)
//! and apportions the splits to it by largest remainder, so they sum exactly.

use super::money::{round_to_minor, Currency, Decimal};
use super::split::largest_remainder;

/// An old expense's amounts in integer minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub total: i64,
    pub parts: Vec<i64>,
    /// Indexes of the splits whose stored amount moved by more than half a
    /// minor unit from what the old server stored (reported to the operator).
    pub moved: Vec<usize>,
}

/// Why an old expense cannot be taken over as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    #[error("the amount is not greater than zero once rounded to the currency")]
    NotPositive,
    #[error("the amount is out of range")]
    OutOfRange,
    #[error("the split amounts cannot be apportioned (none, negative, or all zero)")]
    Splits,
}

/// Converts an old expense's total and split amounts (exact decimals of what
/// was stored) to minor units of `currency`.
pub fn convert_amounts(
    amount: Decimal,
    splits: &[Decimal],
    currency: Currency,
) -> Result<Converted, LegacyError> {
    let total = round_to_minor(amount, currency).map_err(|_| LegacyError::OutOfRange)?;
    if total <= 0 {
        return Err(LegacyError::NotPositive);
    }
    let parts = largest_remainder(total, splits).ok_or(LegacyError::Splits)?;
    let per_minor = Decimal::from_minor(1, currency)
        .map_err(|_| LegacyError::OutOfRange)?
        .scaled();
    let moved = parts
        .iter()
        .zip(splits)
        .enumerate()
        .filter(|(_, (part, old))| {
            Decimal::from_minor(**part, currency).map_or(true, |new| {
                (new.scaled() - old.scaled()).abs() * 2 > per_minor
            })
        })
        .map(|(index, _)| index)
        .collect();
    Ok(Converted {
        total,
        parts,
        moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).expect("valid test decimal")
    }
    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("valid test currency")
    }

    #[test]
    fn device_thirds_sum_exactly_and_the_rounded_one_is_reported() {
        let third = dec("33.333333333333336");
        let c =
            convert_amounts(dec("100"), &[third, third, third], Currency::USD).expect("converts");
        assert_eq!(c.total, 10_000);
        assert_eq!(c.parts, vec![3334, 3333, 3333]);
        // 33.34 is 0.67 cents from 33.3333…; 33.33 only 0.33 cents.
        assert_eq!(c.moved, vec![0]);
    }

    #[test]
    fn three_decimals_typed_into_the_app_round_half_away_from_zero() {
        let c = convert_amounts(
            dec("12.345"),
            &[dec("6.1725"), dec("6.1725")],
            Currency::USD,
        )
        .expect("converts");
        assert_eq!(c.total, 1235);
        assert_eq!(c.parts, vec![618, 617]);
        assert_eq!(c.moved, vec![0]);
    }

    #[test]
    fn float_noise_and_exact_amounts_move_nothing() {
        let c = convert_amounts(
            dec("0.30000000000000004"),
            &[dec("0.1"), dec("0.2")],
            Currency::USD,
        )
        .expect("converts");
        assert_eq!((c.total, c.parts.clone()), (30, vec![10, 20]));
        assert!(c.moved.is_empty());
        let eur = convert_amounts(dec("40"), &[dec("40")], cur("EUR")).expect("converts");
        assert_eq!((eur.total, eur.parts), (4000, vec![4000]));
        let yen =
            convert_amounts(dec("1000"), &[dec("500"), dec("500")], cur("JPY")).expect("converts");
        assert_eq!((yen.total, yen.parts), (1000, vec![500, 500]));
    }

    #[test]
    fn impossible_amounts_are_refused() {
        assert_eq!(
            convert_amounts(dec("0.004"), &[dec("0.004")], Currency::USD),
            Err(LegacyError::NotPositive)
        );
        assert_eq!(
            convert_amounts(dec("10"), &[dec("0"), dec("0")], Currency::USD),
            Err(LegacyError::Splits)
        );
        assert_eq!(
            convert_amounts(dec("10"), &[], Currency::USD),
            Err(LegacyError::Splits)
        );
    }
}
