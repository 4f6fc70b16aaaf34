//! Property tests of `modes`: for valid random input every mode's parts sum
//! exactly to the total, stay near their quotas, and come back unchanged
//! when divided again from the stored weights.
use super::*;
use proptest::prelude::*;
use SplitMode::{Adjustment, Equal, Exact, Percentage, Shares};

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("valid test currency")
}

/// A currency with 0, 2 or 3 decimals and a valid total in it, small totals
/// (where remainders decide most units) as often as any.
fn total_in_currency() -> impl Strategy<Value = (Currency, i64)> {
    (0..3_usize).prop_flat_map(|pick| {
        let currency = cur(["JPY", "USD", "BHD"][pick]);
        let max = MAX_MAJOR_UNITS as i64 * currency.minor_per_major();
        (Just(currency), prop_oneof![1..=1000_i64, 1..=max])
    })
}

/// The invariants of every division, and the round trip through the
/// stored weights.
fn check_division(
    mode: SplitMode,
    total: i64,
    currency: Currency,
    division: &Division,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(division.parts.iter().sum::<i64>(), total);
    prop_assert!(division.parts.iter().all(|&part| part >= 0));
    let values = values_of(mode, &division.weights, currency);
    let amount = Decimal::from_minor(total, currency)?;
    let again = divide(mode, total, amount, currency, &values);
    prop_assert_eq!(again.as_ref(), Ok(division));
    Ok(())
}

/// `part` is within one unit of `total * weight / sum`.
fn near_quota(part: i64, total: i64, weight: i64, sum: i64) -> bool {
    let gap = i128::from(part) * i128::from(sum) - i128::from(total) * i128::from(weight);
    gap.abs() < i128::from(sum)
}

proptest! {
    #[test]
    fn equal_parts_differ_by_at_most_one_larger_first((currency, total) in total_in_currency(), n in 1..=100_usize) {
        let division = divide(Equal, total, Decimal::ZERO, currency, &vec![None; n])?;
        check_division(Equal, total, currency, &division)?;
        let parts = &division.parts;
        prop_assert!(parts.windows(2).all(|pair| pair[0] >= pair[1]));
        prop_assert!(parts[0] - parts[n - 1] <= 1);
        prop_assert_eq!(division.weights, vec![None; n]);
    }

    #[test]
    fn percentages_stay_near_their_quota(
        (currency, total) in total_in_currency(),
        cuts in prop::collection::btree_set(1..WHOLE_PERCENT, 0..MAX_SPLITS),
    ) {
        // Cutting 0..10000 at distinct points gives positive hundredths totalling 100 %.
        let bounds: Vec<i64> = std::iter::once(0).chain(cuts).chain([WHOLE_PERCENT]).collect();
        let hundredths: Vec<i64> = bounds.windows(2).map(|pair| pair[1] - pair[0]).collect();
        let values = hundredths
            .iter()
            .map(|&units| Decimal::from_fixed(units, 2).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        let division = divide(Percentage, total, Decimal::ZERO, currency, &values)?;
        check_division(Percentage, total, currency, &division)?;
        for (part, &units) in division.parts.iter().zip(&hundredths) {
            prop_assert!(near_quota(*part, total, units, WHOLE_PERCENT));
        }
        let weights: Vec<Weight> = hundredths.into_iter().map(Some).collect();
        prop_assert_eq!(division.weights, weights);
    }

    #[test]
    fn shares_stay_near_their_quota(
        (currency, total) in total_in_currency(),
        thousandths in prop::collection::vec(prop_oneof![1..=5000_i64, 1..=1_000_000_000_i64], 1..=MAX_SPLITS),
    ) {
        let values = thousandths
            .iter()
            .map(|&units| Decimal::from_fixed(units, 3).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        let division = divide(Shares, total, Decimal::ZERO, currency, &values)?;
        check_division(Shares, total, currency, &division)?;
        let sum: i64 = thousandths.iter().sum();
        for (part, &units) in division.parts.iter().zip(&thousandths) {
            prop_assert!(near_quota(*part, total, units, sum));
        }
        let weights: Vec<Weight> = thousandths.into_iter().map(Some).collect();
        prop_assert_eq!(division.weights, weights);
    }

    /// Adjustments of at most half an equal part each can never push a
    /// part below zero, and with the total at most 2/3 of the largest amount
    /// the base stays within bounds, so these inputs are always valid. They
    /// carry just under half a minor unit of extra digits, which rounding drops.
    #[test]
    fn small_adjustments_are_always_valid(
        (currency, total) in total_in_currency(),
        entries in prop::collection::vec((any::<bool>(), -1000..=1000_i64, -499..=499_i128), 1..=MAX_SPLITS),
    ) {
        let total = total.min(MAX_MAJOR_UNITS as i64 * currency.minor_per_major() / 3 * 2);
        let bound = total / (2 * entries.len() as i64);
        let per_minor = Decimal::from_minor(1, currency)?.scaled();
        let mut values = Vec::new();
        let mut adjustments = Vec::new();
        for &(present, fraction, jitter) in &entries {
            let minor = if present { fraction * bound / 1000 } else { 0 };
            let scaled = i128::from(minor) * per_minor + per_minor * jitter / 1000;
            values.push(present.then(|| Decimal::from_scaled(scaled)).transpose()?);
            adjustments.push(minor);
        }
        let division = divide(Adjustment, total, Decimal::ZERO, currency, &values)?;
        check_division(Adjustment, total, currency, &division)?;
        let weights: Vec<Weight> = adjustments.iter().copied().map(Some).collect();
        prop_assert_eq!(&division.weights, &weights);
        // Without the adjustments, what is left is an equal split.
        let base: Vec<i64> = division.parts.iter().zip(&adjustments).map(|(p, a)| p - a).collect();
        prop_assert!(base.windows(2).all(|pair| pair[0] >= pair[1]));
        prop_assert!(base[0] - base[base.len() - 1] <= 1);
    }

    /// Any adjustments against an independent oracle: the base split by
    /// integer division, the first `base % n` entries one unit more.
    #[test]
    fn adjustments_match_the_oracle(
        total in 1..=10_000_i64,
        adjustments in prop::collection::vec(prop::option::of(-10_000..=10_000_i64), 1..=10),
    ) {
        let values = adjustments
            .iter()
            .map(|a| a.map(|minor| Decimal::from_minor(minor, Currency::USD)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let result = divide(Adjustment, total, Decimal::ZERO, Currency::USD, &values);
        let adjustments: Vec<i64> = adjustments.iter().map(|a| a.unwrap_or(0)).collect();
        let n = adjustments.len() as i64;
        let base = total - adjustments.iter().sum::<i64>();
        let expected: Vec<i64> = (0..n)
            .zip(&adjustments)
            .map(|(i, a)| base.div_euclid(n) + i64::from(i < base.rem_euclid(n)) + a)
            .collect();
        match result {
            Ok(division) => {
                prop_assert!(base >= 0);
                prop_assert_eq!(&division.parts, &expected);
                check_division(Adjustment, total, Currency::USD, &division)?;
            }
            Err(error) if base < 0 => prop_assert_eq!(error.entry, None),
            Err(error) => {
                let first_negative = expected.iter().position(|&part| part < 0);
                prop_assert!(first_negative.is_some());
                prop_assert_eq!(error.entry, first_negative);
            }
        }
    }

    /// Exact amounts that add up to the total are kept unit for unit.
    #[test]
    fn exact_amounts_that_match_are_kept(
        currency_pick in 0..3_usize,
        amounts in prop::collection::vec(0..=10_000_000_i64, 1..=MAX_SPLITS),
    ) {
        prop_assume!(amounts.iter().any(|&minor| minor > 0));
        let currency = cur(["JPY", "USD", "BHD"][currency_pick]);
        let total: i64 = amounts.iter().sum();
        let values = amounts
            .iter()
            .map(|&minor| Decimal::from_minor(minor, currency).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        let amount = Decimal::from_minor(total, currency)?;
        let division = divide(Exact, total, amount, currency, &values)?;
        prop_assert_eq!(&division.parts, &amounts);
        prop_assert_eq!(division.weights, vec![None; amounts.len()]);
        prop_assert_eq!(exact_parts(total, currency, &values)?, amounts);
    }

    /// `exact_parts` accepts exactly the amounts whose sum is the total.
    #[test]
    fn exact_parts_accepts_exactly_matching_sums(
        currency_pick in 0..3_usize,
        amounts in prop::collection::vec(0..=10_000_000_i64, 1..=20),
        delta in -2..=2_i64,
    ) {
        let currency = cur(["JPY", "USD", "BHD"][currency_pick]);
        let total = amounts.iter().sum::<i64>() + delta;
        prop_assume!(total > 0);
        let values = amounts
            .iter()
            .map(|&minor| Decimal::from_minor(minor, currency).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        match exact_parts(total, currency, &values) {
            Ok(parts) => {
                prop_assert_eq!(delta, 0);
                prop_assert_eq!(parts, amounts);
            }
            Err(error) => {
                prop_assert_ne!(delta, 0);
                prop_assert_eq!(error.entry, None);
            }
        }
    }
}
