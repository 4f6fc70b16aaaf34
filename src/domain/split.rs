//! Split apportionment. This module owns turning the per-person split amounts
//! a client sends (exact decimals in major units) into integer minor-unit
//! parts that add up exactly to the expense total.
//!
//! The app computes equal splits as floats (100 / 3 = 33.333333333333336
//! each) and checks `|sum(splits) - amount| <= 0.01`. The server accepts
//! exactly that tolerance, evaluated in exact decimal, then apportions with the
//! largest-remainder method so rounding never creates or loses a minor unit.

use thiserror::Error;

use super::money::{Currency, Decimal, MoneyError, DECIMAL_SCALE, MAX_MAJOR_UNITS};

/// Most participants a single expense may be split between.
pub const MAX_SPLITS: usize = 100;
/// 0.01 major units in [`Decimal`] mantissa units. It is in major units for
/// every currency because that is what the app checks.
pub const SPLIT_TOLERANCE: i128 = DECIMAL_SCALE / 100;

/// A split validation failure; `Display` is the sentence shown in the app.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SplitError {
    #[error("At least one split is required")]
    Empty,
    #[error("An expense can be split between at most 100 people")]
    TooMany,
    #[error("Split amounts cannot be negative")]
    Negative,
    #[error("Split amounts must equal the total expense amount")]
    Mismatch,
    /// The total itself is out of range (not positive, or too large).
    #[error(transparent)]
    Total(#[from] MoneyError),
}

/// Divides `total_minor` between the `shares` in proportion to them.
///
/// `amount_input` is the expense amount exactly as the client sent it and
/// `total_minor` is that amount in minor units (see `money::positive_amount`);
/// the shares must add up to `amount_input` within [`SPLIT_TOLERANCE`].
///
/// Each part is the floor of its exact quota `total * share / sum(shares)`;
/// the leftover units go one each to the largest fractional remainders, ties
/// to the earlier index. So the parts sum to `total_minor` exactly, each is
/// within one unit of its quota, a zero share gets zero, and the same input
/// always yields the same output.
pub fn apportion(
    total_minor: i64,
    shares: &[Decimal],
    amount_input: Decimal,
    currency: Currency,
) -> Result<Vec<i64>, SplitError> {
    if shares.is_empty() {
        return Err(SplitError::Empty);
    }
    if shares.len() > MAX_SPLITS {
        return Err(SplitError::TooMany);
    }
    if shares.iter().any(|share| share.is_negative()) {
        return Err(SplitError::Negative);
    }
    if total_minor <= 0 {
        return Err(MoneyError::NotPositive.into());
    }
    let total = i128::from(total_minor);
    if total > MAX_MAJOR_UNITS * i128::from(currency.minor_per_major()) {
        return Err(MoneyError::TooLarge.into());
    }

    // Overflow bounds (i128::MAX is about 1.7e38):
    // - each share is at most 1e9 major = 1e24 mantissa units (Decimal's
    //   invariant), so `sum` of at most 100 shares is at most 1e26;
    // - `total` is at most 1e9 major in minor units with up to 3 decimals,
    //   i.e. 1e12 (checked just above), so `total * share` is at most 1e36.
    let sum: i128 = shares.iter().map(|share| share.scaled()).sum();
    if sum == 0 || (sum - amount_input.scaled()).abs() > SPLIT_TOLERANCE {
        return Err(SplitError::Mismatch);
    }

    // Every reason for None was checked above.
    largest_remainder(total_minor, shares).ok_or(SplitError::Mismatch)
}

/// Divides `total_minor` (>= 0) between `shares` in proportion to them by the
/// largest-remainder method, ties to the earlier index, with no tolerance
/// check: the parts always sum to `total_minor` exactly. None when a share is
/// negative, the total is negative or too large, or the shares sum to zero.
/// [`apportion`] validates client input and then calls this; taking over the
/// old server's float splits calls it directly.
pub fn largest_remainder(total_minor: i64, shares: &[Decimal]) -> Option<Vec<i64>> {
    // total <= 1e12 and each share <= 1e24 mantissa units, so with at most
    // MAX_SPLITS shares nothing below overflows; longer lists are refused.
    if total_minor < 0
        || shares.len() > MAX_SPLITS
        || i128::from(total_minor) > MAX_MAJOR_UNITS * 1000
        || shares.iter().any(|share| share.is_negative())
    {
        return None;
    }
    let total = i128::from(total_minor);
    let sum: i128 = shares.iter().map(|share| share.scaled()).sum();
    if sum == 0 {
        return None;
    }
    let mut parts = Vec::with_capacity(shares.len());
    let mut remainders = Vec::with_capacity(shares.len());
    for (index, share) in shares.iter().enumerate() {
        let numerator = total * share.scaled();
        // Both operands are non-negative, so `/` is the floor.
        parts.push(numerator / sum);
        remainders.push((numerator % sum, index));
    }
    // Every floor drops less than one unit, so 0 <= leftover < shares.len()
    // and the conversion cannot fail.
    let leftover = usize::try_from(total - parts.iter().sum::<i128>()).unwrap_or(0);
    // Largest remainder first; equal remainders keep index order so the
    // earlier participant gets the extra unit, independent of sort internals.
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, index) in remainders.iter().take(leftover) {
        parts[index] += 1;
    }
    // Each part is at most `total`, which fits in i64.
    parts
        .into_iter()
        .map(|part| i64::try_from(part).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{positive_amount, AmountInput};
    use proptest::prelude::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("valid test currency")
    }
    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).expect("valid test decimal")
    }
    /// The handler's path: amount and shares as JSON values, then apportion.
    fn split_json(amount: &str, shares: &str, code: &str) -> Result<Vec<i64>, SplitError> {
        let currency = cur(code);
        let amount: AmountInput = serde_json::from_str(amount).expect("json amount");
        let shares: Vec<AmountInput> = serde_json::from_str(shares).expect("json shares");
        let amount = amount.decimal()?;
        let shares = shares
            .iter()
            .map(AmountInput::decimal)
            .collect::<Result<Vec<_>, _>>()?;
        apportion(
            positive_amount(amount, currency)?,
            &shares,
            amount,
            currency,
        )
    }
    fn split(amount: &str, shares: &str) -> Result<Vec<i64>, SplitError> {
        split_json(amount, shares, "USD")
    }

    #[test]
    fn hundred_three_ways() {
        assert_eq!(
            split("100", r#"["33.33", "33.33", "33.34"]"#),
            Ok(vec![3333, 3333, 3334])
        );
        let app = "[33.333333333333336, 33.333333333333336, 33.333333333333336]";
        assert_eq!(split("100", app), Ok(vec![3334, 3333, 3333]));
        assert_eq!(split("100.00", app), Ok(vec![3334, 3333, 3333]));
    }

    #[test]
    fn tolerance_is_exact_and_inclusive() {
        assert_eq!(
            split("10.00", "[3.33, 3.33, 3.33]"),
            Ok(vec![334, 333, 333])
        );
        assert_eq!(split("10", "[3.33, 3.33, 3.32]"), Err(SplitError::Mismatch));
        assert_eq!(split("10", "[5, 5.01]"), Ok(vec![500, 500]));
        // 9.989999999999999 and 10.010000000000001: 0.010000000000001 off.
        assert_eq!(
            split("10", "[3.33, 3.33, 3.329999999999999]"),
            Err(SplitError::Mismatch)
        );
        assert_eq!(
            split("10", r#"["5", "5.010000000000001"]"#),
            Err(SplitError::Mismatch)
        );
        // A Rust literal, not JSON: serde_json's default float parser reads
        // this text one ULP low (10.01); see the `float_roundtrip` feature.
        let over = Decimal::from_f64(10.010000000000001).expect("finite");
        assert_eq!(
            apportion(1000, &[over], dec("10"), Currency::USD),
            Err(SplitError::Mismatch)
        );
        let err = split("10", "[4, 5]").expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "Split amounts must equal the total expense amount"
        );
        // 0.01 major even for a currency without decimals.
        assert_eq!(
            split_json("1000", "[500, 499.99]", "JPY"),
            Ok(vec![500, 500])
        );
        assert_eq!(
            split_json("1000", "[500, 499.98]", "JPY"),
            Err(SplitError::Mismatch)
        );
    }

    #[test]
    fn currencies_with_other_decimals() {
        assert_eq!(
            split_json("1000", "[333.33, 333.33, 333.33]", "JPY"),
            Ok(vec![334, 333, 333])
        );
        assert_eq!(
            split_json("10", "[3.333, 3.333, 3.334]", "BHD"),
            Ok(vec![3333, 3333, 3334])
        );
        assert_eq!(split_json("0.01", "[0.005, 0.005]", "KWD"), Ok(vec![5, 5]));
    }

    #[test]
    fn zero_and_single_shares() {
        assert_eq!(split("12.50", r#"["12.50"]"#), Ok(vec![1250]));
        assert_eq!(
            split("100", "[0, 33.333333333333336, 0, 66.66666666666667]"),
            Ok(vec![0, 3333, 0, 6667])
        );
        assert_eq!(split("0.01", "[0.01, 0]"), Ok(vec![1, 0]));
        assert_eq!(split("0.01", "[0, 0]"), Err(SplitError::Mismatch));
    }

    #[test]
    fn invalid_input_is_rejected() {
        assert_eq!(split("10", "[]"), Err(SplitError::Empty));
        assert_eq!(split("10", "[11, -1]"), Err(SplitError::Negative));
        assert_eq!(
            split("0", "[0]"),
            Err(SplitError::Total(MoneyError::NotPositive))
        );
        assert_eq!(
            split("-10", "[-10]"),
            Err(SplitError::Total(MoneyError::NotPositive))
        );
        assert_eq!(
            split("1e10", "[1e10]"),
            Err(SplitError::Total(MoneyError::TooLarge))
        );
        assert_eq!(
            split("10", r#"["NaN"]"#),
            Err(SplitError::Total(MoneyError::NotANumber))
        );
        assert_eq!(
            split("10", "[1e300]"),
            Err(SplitError::Total(MoneyError::TooLarge))
        );
        let hundred_and_one = vec![Decimal::ZERO; 101];
        assert_eq!(
            apportion(1, &hundred_and_one, dec("0.01"), Currency::USD),
            Err(SplitError::TooMany)
        );
        assert_eq!(
            apportion(0, &[dec("0")], Decimal::ZERO, Currency::USD),
            Err(MoneyError::NotPositive.into())
        );
        let too_big = apportion(i64::MAX, &[dec("1")], dec("1"), Currency::USD);
        assert_eq!(too_big, Err(SplitError::Total(MoneyError::TooLarge)));
        assert_eq!(
            SplitError::Empty.to_string(),
            "At least one split is required"
        );
        assert_eq!(
            SplitError::Negative.to_string(),
            "Split amounts cannot be negative"
        );
    }

    #[test]
    fn extremes_do_not_overflow() {
        let bhd = cur("BHD");
        let max = dec("1000000000");
        assert_eq!(
            apportion(1_000_000_000_000, &[max], max, bhd),
            Ok(vec![1_000_000_000_000])
        );
        let hundred = vec![dec("10000000"); 100];
        assert_eq!(
            apportion(1_000_000_000_000, &hundred, max, bhd),
            Ok(vec![10_000_000_000; 100])
        );
        let lopsided = [dec("999999999.999999999999999"), dec("0.000000000000001")];
        assert_eq!(
            apportion(1_000_000_000_000, &lopsided, max, bhd),
            Ok(vec![1_000_000_000_000, 0])
        );
        // Shares at the maximum each, accepted only if the total matches.
        let maxed = vec![max; 100];
        assert_eq!(
            apportion(1_000_000_000_000, &maxed, max, bhd),
            Err(SplitError::Mismatch)
        );
    }

    const JITTER: i128 = SPLIT_TOLERANCE / 20 - 20;

    #[test]
    fn largest_remainder_fits_any_shares_to_the_total() {
        // The old server's float splits: 3 x 33.333333333333336 onto 100.00.
        let third = dec("33.333333333333336");
        assert_eq!(
            largest_remainder(10_000, &[third, third, third]),
            Some(vec![3334, 3333, 3333])
        );
        // Shares that do not sum to the total are scaled to it.
        assert_eq!(
            largest_remainder(1235, &[dec("6.17"), dec("6.17")]),
            Some(vec![618, 617])
        );
        assert_eq!(
            largest_remainder(0, &[dec("1"), dec("2")]),
            Some(vec![0, 0])
        );
        assert_eq!(largest_remainder(100, &[dec("0"), dec("0")]), None);
        assert_eq!(largest_remainder(100, &[dec("-1"), dec("2")]), None);
        assert_eq!(largest_remainder(-1, &[dec("1")]), None);
    }

    /// A total and 1..=20 shares that add up to it within the tolerance.
    fn split_case() -> impl Strategy<Value = (i64, Currency, Vec<Decimal>)> {
        let weights = prop::collection::vec((0..=1000_i128, -JITTER..=JITTER), 1..=20);
        (1..=100_000_000_000_i64, 0..3_usize, weights)
            .prop_filter("some weight", |(_, _, w)| {
                w.iter().any(|&(weight, _)| weight > 0)
            })
            .prop_map(|(total, pick, weights)| {
                let currency = cur(["JPY", "USD", "BHD"][pick]);
                let total = total.min(1_000_000_000 * currency.minor_per_major());
                let amount = Decimal::from_minor(total, currency)
                    .expect("in range")
                    .scaled();
                let weight_sum: i128 = weights.iter().map(|&(weight, _)| weight).sum();
                let shares = weights
                    .iter()
                    .map(|&(weight, jitter)| amount * weight / weight_sum + jitter)
                    .map(|scaled| scaled.clamp(0, MAX_MAJOR_UNITS * DECIMAL_SCALE))
                    .map(|scaled| Decimal::from_scaled(scaled).expect("in range"))
                    .collect();
                (total, currency, shares)
            })
    }

    proptest! {
        #[test]
        fn parts_sum_exactly_and_stay_near_quota((total, currency, shares) in split_case()) {
            let amount = Decimal::from_minor(total, currency)?;
            let parts = apportion(total, &shares, amount, currency)?;
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i128 = shares.iter().map(|share| share.scaled()).sum();
            for (part, share) in parts.iter().zip(&shares) {
                prop_assert!(*part >= 0);
                // |part - total * share / sum| < 1, multiplied through by sum.
                let gap = i128::from(*part) * sum - i128::from(total) * share.scaled();
                prop_assert!(gap.abs() < sum, "part {} share {:?}", part, share);
            }
            prop_assert_eq!(apportion(total, &shares, amount, currency)?, parts);
        }

        #[test]
        fn equal_shares_differ_by_at_most_one_larger_first(total in 1..=100_000_000_000_i64, n in 1..=100_usize) {
            let amount = Decimal::from_minor(total, Currency::USD)?;
            let count = i128::try_from(n).expect("small");
            let shares = vec![Decimal::from_scaled(amount.scaled() / count)?; n];
            let parts = apportion(total, &shares, amount, Currency::USD)?;
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            prop_assert!(parts.windows(2).all(|pair| pair[0] >= pair[1]));
            prop_assert!(parts[0] - parts[n - 1] <= 1);
        }
    }
}
