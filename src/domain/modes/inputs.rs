//! The per-person inputs of the weighted modes (percentages, shares,
//! adjustments): each checked on its own, naming the entry at fault, then as
//! a list. Split out of `modes` only to keep files short.

use super::{
    proportional, required, Division, ModeError, MAX_SHARES, PERCENT_DECIMALS, SHARE_DECIMALS,
    WHOLE_PERCENT,
};
use crate::domain::money::{
    format_money_message, round_to_minor, Currency, Decimal, MAX_MAJOR_UNITS,
};

/// Percentages, each in (0, 100] with at most 2 decimals, totalling 100.
pub(super) fn percentages(values: &[Option<Decimal>]) -> Result<Vec<Decimal>, ModeError> {
    let percentages = required(values, "A percentage is required for each person")?;
    let mut hundredths = 0;
    for (index, percentage) in percentages.iter().enumerate() {
        // Zero is refused like zero shares: someone who owes nothing is left
        // out of the split rather than listed with nothing to pay.
        if *percentage <= Decimal::ZERO {
            return Err(ModeError::entry(index, "Percentage must be greater than 0"));
        }
        let units = percentage
            .to_fixed(PERCENT_DECIMALS)
            .ok_or_else(|| ModeError::entry(index, "Percentage can have at most 2 decimals"))?;
        if units > WHOLE_PERCENT {
            return Err(ModeError::entry(
                index,
                "Percentage cannot be more than 100",
            ));
        }
        hundredths += units;
    }
    if hundredths != WHOLE_PERCENT {
        return Err(ModeError::list(format!(
            "Percentages must add up to exactly 100 (they add up to {})",
            Decimal::from_fixed(hundredths, PERCENT_DECIMALS)?
        )));
    }
    Ok(percentages)
}

/// Shares, each in (0, 1 000 000] with at most 3 decimals.
pub(super) fn shares(values: &[Option<Decimal>]) -> Result<Vec<Decimal>, ModeError> {
    let shares = required(values, "A number of shares is required for each person")?;
    for (index, share) in shares.iter().enumerate() {
        if *share <= Decimal::ZERO {
            return Err(ModeError::entry(index, "Shares must be greater than 0"));
        }
        let units = share
            .to_fixed(SHARE_DECIMALS)
            .ok_or_else(|| ModeError::entry(index, "Shares can have at most 3 decimals"))?;
        if units > MAX_SHARES * 10_i64.pow(SHARE_DECIMALS) {
            return Err(ModeError::entry(
                index,
                format!("Shares cannot be more than {MAX_SHARES}"),
            ));
        }
    }
    Ok(shares)
}

/// Equal parts of what the adjustments leave, plus each adjustment.
pub(super) fn adjusted(
    total: i64,
    currency: Currency,
    values: &[Option<Decimal>],
) -> Result<Division, ModeError> {
    let mut adjustments = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let minor = match value {
            Some(value) => round_to_minor(*value, currency)
                .map_err(|error| ModeError::entry(index, error.to_string()))?,
            None => 0,
        };
        adjustments.push(minor);
    }
    // At most MAX_SPLITS adjustments of at most 1e12 minor units each.
    let sum: i64 = adjustments.iter().sum();
    let base = total - sum;
    if base < 0 {
        return Err(ModeError::list(format!(
            "Adjustments cannot add up to more than the total (they add up to {} of {})",
            format_money_message(sum, currency),
            format_money_message(total, currency)
        )));
    }
    // Negative adjustments raise the base above the total. It is held to the
    // bound of any amount (1e9 major units): more is absurd, and the bound
    // is what keeps `largest_remainder` in range.
    if i128::from(base) > MAX_MAJOR_UNITS * i128::from(currency.minor_per_major()) {
        return Err(ModeError::list("Adjustments are too large for this total"));
    }
    let equal = proportional(base, &vec![Decimal::ONE; values.len()])?;
    let mut parts = Vec::with_capacity(values.len());
    for (index, (share, adjustment)) in equal.into_iter().zip(&adjustments).enumerate() {
        let part = share + adjustment;
        if part < 0 {
            return Err(ModeError::entry(
                index,
                format!(
                    "This adjustment would make the person's part negative ({})",
                    format_money_message(part, currency)
                ),
            ));
        }
        parts.push(part);
    }
    Ok(Division {
        parts,
        weights: adjustments.into_iter().map(Some).collect(),
    })
}
