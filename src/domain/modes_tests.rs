//! Unit and property tests of `modes`.
use super::*;
use crate::domain::money::positive_amount;
use serde_json::json;

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("valid test currency")
}
fn dec(text: &str) -> Decimal {
    Decimal::parse(text).expect("valid test decimal")
}
/// Entry values as the client sent them; "_" is an absent one.
fn vals(items: &[&str]) -> Vec<Option<Decimal>> {
    items
        .iter()
        .map(|&item| (item != "_").then(|| dec(item)))
        .collect()
}
/// `divide` with the expense amount as the client sent it.
fn run(mode: SplitMode, amount: &str, code: &str, items: &[&str]) -> Result<Division, ModeError> {
    let (amount, currency) = (dec(amount), cur(code));
    let total = positive_amount(amount, currency).expect("valid test total");
    divide(mode, total, amount, currency, &vals(items))
}

use SplitMode::{Adjustment, Equal, Exact, Percentage, Shares};

/// Mode, amount as sent, currency, entry values, expected parts and weights.
type Case<'a> = (
    SplitMode,
    &'a str,
    &'a str,
    &'a [&'a str],
    &'a [i64],
    &'a [Weight],
);
/// Mode, amount as sent, currency, entry values, expected entry and message.
type ErrorCase<'a> = (
    SplitMode,
    &'a str,
    &'a str,
    &'a [&'a str],
    Option<usize>,
    &'a str,
);

#[test]
fn modes_parse_and_name_their_fields() {
    assert_eq!(SplitMode::parse(" Percentage "), Ok(Percentage));
    assert_eq!(SplitMode::parse("EQUAL"), Ok(Equal));
    for mode in SplitMode::ALL {
        assert_eq!(SplitMode::parse(mode.code()), Ok(mode));
        let json = serde_json::to_string(&mode).expect("serializable");
        assert_eq!(json, format!("\"{}\"", mode.code()));
        assert_eq!(serde_json::from_str::<SplitMode>(&json).ok(), Some(mode));
    }
    for bad in ["", "share", "percent", "exactly"] {
        assert_eq!(
            SplitMode::parse(bad),
            Err("Split mode must be one of: exact, equal, percentage, shares, adjustment".into()),
            "{bad:?}"
        );
    }
    assert_eq!(SplitMode::default(), Exact);
    let fields: Vec<_> = SplitMode::ALL.iter().map(|m| m.input_field()).collect();
    assert_eq!(
        fields,
        [
            Some("amount"),
            None,
            Some("percentage"),
            Some("shares"),
            Some("adjustment")
        ]
    );
}

#[test]
fn every_mode_divides_exactly() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (Exact, "100", "USD", &["33.33", "33.33", "33.34"], &[3333, 3333, 3334], &[None; 3]),
        // The app's floats for 100 / 3, within its 0.01 tolerance.
        (Exact, "100", "USD", &["33.333333333333336"; 3], &[3334, 3333, 3333], &[None; 3]),
        (Equal, "100", "USD", &["_"; 3], &[3334, 3333, 3333], &[None; 3]),
        // Values are ignored, whatever they are.
        (Equal, "10", "USD", &["7", "-1"], &[500, 500], &[None; 2]),
        (Equal, "0.01", "USD", &["_"; 3], &[1, 0, 0], &[None; 3]),
        (Equal, "1000", "JPY", &["_"; 3], &[334, 333, 333], &[None; 3]),
        (Equal, "10", "BHD", &["_"; 3], &[3334, 3333, 3333], &[None; 3]),
        (Percentage, "100", "USD", &["33.33", "33.33", "33.34"], &[3333, 3333, 3334], &[Some(3333), Some(3333), Some(3334)]),
        // Quotas 333.3, 333.3, 333.4: the one unit left goes to the largest remainder.
        (Percentage, "10.00", "USD", &["33.33", "33.33", "33.34"], &[333, 333, 334], &[Some(3333), Some(3333), Some(3334)]),
        // Quotas 0.5, 0.5, 999: equal remainders, the earlier entry gets the unit.
        (Percentage, "10.00", "USD", &["0.05", "0.05", "99.9"], &[1, 0, 999], &[Some(5), Some(5), Some(9990)]),
        // Quotas 1.5, 0.75, 0.75: two units left, larger remainders first.
        (Percentage, "0.03", "USD", &["50", "25", "25"], &[1, 1, 1], &[Some(5000), Some(2500), Some(2500)]),
        (Percentage, "12.34", "USD", &["100"], &[1234], &[Some(10000)]),
        (Percentage, "999", "JPY", &["50", "50.00"], &[500, 499], &[Some(5000), Some(5000)]),
        (Percentage, "1", "BHD", &["33.33", "66.67"], &[333, 667], &[Some(3333), Some(6667)]),
        (Shares, "100", "USD", &["1", "2", "3"], &[1667, 3333, 5000], &[Some(1000), Some(2000), Some(3000)]),
        (Shares, "10", "USD", &["1.5", "0.5"], &[750, 250], &[Some(1500), Some(500)]),
        (Shares, "0.01", "USD", &["1", "1"], &[1, 0], &[Some(1000), Some(1000)]),
        (Shares, "100", "JPY", &["2.5", "2.5", "2.5"], &[34, 33, 33], &[Some(2500); 3]),
        (Shares, "1", "USD", &["1000000", "0.001"], &[100, 0], &[Some(1_000_000_000), Some(1)]),
        // Base 90.00 split 30 / 30 / 30, then A's +10.
        (Adjustment, "100", "USD", &["10", "_", "_"], &[4000, 3000, 3000], &[Some(1000), Some(0), Some(0)]),
        (Adjustment, "100", "USD", &["-10", "_", "5"], &[2500, 3500, 4000], &[Some(-1000), Some(0), Some(500)]),
        // 0.005 rounds to 0.01; the base 9.99 splits 5.00 / 4.99.
        (Adjustment, "10", "USD", &["0.005", "_"], &[501, 499], &[Some(1), Some(0)]),
        (Adjustment, "100", "USD", &["100", "_"], &[10000, 0], &[Some(10000), Some(0)]),
        // Base 2.01: 1.01 - 1.01 is exactly zero, which is allowed.
        (Adjustment, "1", "USD", &["-1.01", "_"], &[0, 100], &[Some(-101), Some(0)]),
        // Equal discounts cancel out; the base (880 000 100.00) is within bounds.
        (Adjustment, "100", "USD", &["-440000000", "-440000000"], &[5000, 5000], &[Some(-44_000_000_000); 2]),
        (Adjustment, "1000", "JPY", &["0.5", "_", "_"], &[334, 333, 333], &[Some(1), Some(0), Some(0)]),
        (Adjustment, "10", "BHD", &["1.2345", "_"], &[5618, 4382], &[Some(1235), Some(0)]),
    ];
    for (mode, amount, code, items, parts, weights) in cases {
        let case = format!("{mode:?} {amount} {code} {items:?}");
        let division = run(*mode, amount, code, items).expect(&case);
        assert_eq!(division.parts, *parts, "{case}");
        assert_eq!(division.weights, *weights, "{case}");
    }
}

#[test]
fn bad_input_names_the_entry() {
    let hundred_and_one = ["1"; 101];
    #[rustfmt::skip]
    let cases: &[ErrorCase] = &[
        (Equal, "10", "USD", &[], None, "At least one split is required"),
        (Percentage, "10", "USD", &[], None, "At least one split is required"),
        (Shares, "10", "USD", &hundred_and_one, None, "An expense can be split between at most 100 people"),
        (Exact, "10", "USD", &["5", "_"], Some(1), "An amount is required for each person"),
        (Exact, "10", "USD", &["11", "-1"], Some(1), "Split amounts cannot be negative"),
        (Exact, "10", "USD", &["-1", "12", "-1"], Some(0), "Split amounts cannot be negative"),
        (Exact, "10", "USD", &["4", "5"], None, "Split amounts must equal the total expense amount"),
        (Percentage, "10", "USD", &["50", "_"], Some(1), "A percentage is required for each person"),
        (Percentage, "10", "USD", &["33.33", "33.33", "33.33"], None, "Percentages must add up to exactly 100 (they add up to 99.99)"),
        (Percentage, "10", "USD", &["50", "50.01"], None, "Percentages must add up to exactly 100 (they add up to 100.01)"),
        (Percentage, "10", "USD", &["49.9", "50"], None, "Percentages must add up to exactly 100 (they add up to 99.9)"),
        (Percentage, "10", "USD", &["33.333", "66.667"], Some(0), "Percentage can have at most 2 decimals"),
        // The app's float for 100 / 3 is refused: percentages are typed, not computed.
        (Percentage, "10", "USD", &["50", "33.333333333333336"], Some(1), "Percentage can have at most 2 decimals"),
        (Percentage, "10", "USD", &["100", "0.00"], Some(1), "Percentage must be greater than 0"),
        (Percentage, "10", "USD", &["-10", "110"], Some(0), "Percentage must be greater than 0"),
        (Percentage, "10", "USD", &["110", "-10"], Some(0), "Percentage cannot be more than 100"),
        (Shares, "10", "USD", &["_", "1"], Some(0), "A number of shares is required for each person"),
        (Shares, "10", "USD", &["1", "0"], Some(1), "Shares must be greater than 0"),
        (Shares, "10", "USD", &["-1"], Some(0), "Shares must be greater than 0"),
        (Shares, "10", "USD", &["1", "1.0001"], Some(1), "Shares can have at most 3 decimals"),
        (Shares, "10", "USD", &["1", "1000000.001"], Some(1), "Shares cannot be more than 1000000"),
        (Adjustment, "100", "USD", &["60", "50"], None, "Adjustments cannot add up to more than the total (they add up to $110.00 of $100.00)"),
        (Adjustment, "100", "EUR", &["60", "40.01"], None, "Adjustments cannot add up to more than the total (they add up to 100.01 EUR of 100.00 EUR)"),
        // Base 250.00: 125 - 150 for the first entry.
        (Adjustment, "100", "USD", &["-150", "_"], Some(0), "This adjustment would make the person's part negative (-$25.00)"),
        // Base 2.02: 1.01 - 1.02, one minor unit below zero.
        (Adjustment, "1", "USD", &["-1.02", "_"], Some(0), "This adjustment would make the person's part negative (-$0.01)"),
        // Base 170.00: 56.67 + 10, 56.67, 56.66 - 80.
        (Adjustment, "100", "USD", &["10", "_", "-80"], Some(2), "This adjustment would make the person's part negative (-$23.34)"),
        // A base of 1 200 000 100.00 is past the bound of any amount.
        (Adjustment, "100", "USD", &["-600000000", "-600000000"], None, "Adjustments are too large for this total"),
    ];
    for (mode, amount, code, items, entry, message) in cases {
        let case = format!("{mode:?} {amount} {code} {items:?}");
        let error = run(*mode, amount, code, items).expect_err(&case);
        assert_eq!(error.entry, *entry, "{case}");
        assert_eq!(error.message, *message, "{case}");
        assert_eq!(error.to_string(), *message, "{case}");
    }
}

#[test]
fn totals_out_of_range_are_refused_in_every_mode() {
    let one = vals(&["1"]);
    for mode in SplitMode::ALL {
        let refuse = |total, code| divide(mode, total, dec("1"), cur(code), &one);
        let error = refuse(0, "USD").expect_err("zero total");
        assert_eq!(error, ModeError::list("Amount must be greater than 0"));
        assert!(refuse(-5, "USD").is_err());
        let error = refuse(1_000_000_001, "JPY").expect_err("too large");
        assert_eq!(error, ModeError::list("Amount is too large"));
        assert!(refuse(100_000_000_001, "USD").is_err());
    }
    assert_eq!(
        divide(Equal, 1_000_000_000_000, dec("1"), cur("BHD"), &one).map(|d| d.parts),
        Ok(vec![1_000_000_000_000])
    );
}

#[test]
fn payer_amounts_must_match_exactly() {
    let payers = |amount: &str, code: &str, items: &[&str]| {
        let currency = cur(code);
        let total = positive_amount(dec(amount), currency).expect("valid test total");
        exact_parts(total, currency, &vals(items))
    };
    let error = |entry, message: &str| {
        Err(ModeError {
            entry,
            message: message.to_owned(),
        })
    };
    assert_eq!(payers("100", "USD", &["60", "40"]), Ok(vec![6000, 4000]));
    assert_eq!(payers("100", "USD", &["100", "0"]), Ok(vec![10000, 0]));
    assert_eq!(payers("1", "BHD", &["0.333", "0.667"]), Ok(vec![333, 667]));
    assert_eq!(payers("1000", "JPY", &["1000"]), Ok(vec![1000]));
    let sum = |text: &str| {
        format!("Payer amounts must add up to exactly the total (they add up to {text})")
    };
    assert_eq!(
        payers("100", "USD", &["60", "39.99"]),
        error(None, &sum("99.99"))
    );
    assert_eq!(
        payers("100", "USD", &["60", "40.01"]),
        error(None, &sum("100.01"))
    );
    assert_eq!(payers("1", "BHD", &["0.5"]), error(None, &sum("0.500")));
    assert_eq!(
        payers("100", "USD", &["60", "_"]),
        error(Some(1), "An amount is required for each payer")
    );
    assert_eq!(
        payers("100", "USD", &["110", "-10"]),
        error(Some(1), "Amount cannot be negative")
    );
    // No tolerance: the app's float thirds are refused here.
    assert_eq!(
        payers("100", "USD", &["33.333333333333336"; 3]),
        error(Some(0), "Amount can have at most 2 decimals in USD")
    );
    assert_eq!(
        payers("1000", "JPY", &["999.5", "0.5"]),
        error(Some(0), "Amount must be a whole number of JPY")
    );
    assert_eq!(
        payers("100", "USD", &[]),
        error(None, "At least one payer is required")
    );
    assert_eq!(
        payers("100", "USD", &["1"; 101]),
        error(None, "An expense can have at most 100 payers")
    );
    assert_eq!(
        exact_parts(0, Currency::USD, &vals(&["0"])),
        error(None, "Amount must be greater than 0")
    );
}

#[test]
fn stored_weights_become_values_and_json() {
    let (usd, jpy, bhd) = (Currency::USD, cur("JPY"), cur("BHD"));
    let some = |text: &str| Some(dec(text));
    assert_eq!(
        values_of(Percentage, &[Some(3333), None, Some(10000)], usd),
        [some("33.33"), None, some("100")]
    );
    assert_eq!(values_of(Shares, &[Some(1500)], usd), [some("1.5")]);
    assert_eq!(values_of(Adjustment, &[Some(-250)], usd), [some("-2.5")]);
    assert_eq!(values_of(Adjustment, &[Some(-250)], jpy), [some("-250")]);
    assert_eq!(values_of(Adjustment, &[Some(-250)], bhd), [some("-0.25")]);
    assert_eq!(values_of(Exact, &[Some(1), None], usd), [None, None]);
    assert_eq!(values_of(Equal, &[Some(1)], usd), [None]);
    // A damaged weight is reported by `divide` as a missing value.
    let damaged = values_of(Percentage, &[Some(i64::MAX)], usd);
    assert_eq!(damaged, [None]);
    let error = divide(Percentage, 100, dec("1"), usd, &damaged).expect_err("missing");
    assert_eq!(error.entry, Some(0));

    let shown =
        |mode, weight, currency| weight_json(mode, weight, currency).map(|value| value.to_string());
    assert_eq!(weight_json(Percentage, Some(3333), usd), Some(json!(33.33)));
    assert_eq!(shown(Percentage, Some(3333), usd).as_deref(), Some("33.33"));
    assert_eq!(shown(Percentage, Some(10000), usd).as_deref(), Some("100"));
    assert_eq!(shown(Shares, Some(1500), usd).as_deref(), Some("1.5"));
    assert_eq!(shown(Shares, Some(2000), usd).as_deref(), Some("2"));
    assert_eq!(shown(Adjustment, Some(-250), usd).as_deref(), Some("-2.5"));
    assert_eq!(shown(Adjustment, Some(500), jpy).as_deref(), Some("500"));
    assert_eq!(shown(Adjustment, Some(1500), bhd).as_deref(), Some("1.5"));
    assert_eq!(shown(Adjustment, Some(0), usd).as_deref(), Some("0"));
    assert_eq!(weight_json(Percentage, None, usd), None);
    assert_eq!(weight_json(Equal, Some(5), usd), None);
    assert_eq!(weight_json(Exact, Some(5), usd), None);
}
