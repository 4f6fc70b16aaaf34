use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::domain::exchange_sources::{parse_ecb_csv, parse_latest_json};
use crate::domain::postings::{nets, postings};

fn cur(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn rate(text: &str) -> Rate {
    Rate::parse(text).unwrap()
}

#[test]
fn rates_are_exact_decimals_and_bad_text_is_refused() {
    assert_eq!(rate("1.0812").to_string(), "1.0812");
    assert_eq!(rate(" 160.10 ").to_string(), "160.1");
    assert_eq!(rate("0.000000000001").to_string(), "0.000000000001");
    for (text, error) in [
        ("", ExchangeError::NotARate),
        ("abc", ExchangeError::NotARate),
        ("-1", ExchangeError::NotARate),
        ("1e3", ExchangeError::NotARate),
        (".5", ExchangeError::NotARate),
        ("1.2.3", ExchangeError::NotARate),
        ("0", ExchangeError::NotPositive),
        ("0.0000000000001", ExchangeError::TooPrecise),
        ("1000000001", ExchangeError::TooLarge),
    ] {
        assert_eq!(Rate::parse(text), Err(error), "{text:?}");
    }
}

#[test]
fn a_conversion_rounds_once_half_away_from_zero() {
    let (usd, eur, jpy) = (cur("USD"), cur("EUR"), cur("JPY"));
    // 10.00 USD at 0.925 = 9.25 EUR exactly.
    assert_eq!(convert(1000, usd, eur, rate("0.925")), Ok(925));
    // 0.01 USD at 0.5 = 0.005 EUR: half a cent goes away from zero.
    assert_eq!(convert(1, usd, eur, rate("0.5")), Ok(1));
    assert_eq!(convert(-1, usd, eur, rate("0.5")), Ok(-1));
    // 0.01 USD at 0.4999 rounds down.
    assert_eq!(convert(1, usd, eur, rate("0.4999")), Ok(0));
    // Into a currency without decimals, and out of one.
    assert_eq!(convert(12345, usd, jpy, rate("148.5")), Ok(18332));
    assert_eq!(convert(18332, jpy, usd, rate("0.006734")), Ok(12345));
    assert_eq!(
        convert(i64::MAX, usd, jpy, rate("1000000")),
        Err(ExchangeError::OutOfRange)
    );
}

#[test]
fn a_converted_total_implies_its_rate() {
    let (usd, eur) = (cur("USD"), cur("EUR"));
    // 100.00 USD came to 93.87 EUR on the card statement.
    assert_eq!(
        implied_rate(10000, usd, 9387, eur).unwrap().to_string(),
        "0.9387"
    );
    // A third, to 12 decimals, half away from zero.
    assert_eq!(
        implied_rate(300, usd, 100, eur).unwrap().to_string(),
        "0.333333333333"
    );
    assert_eq!(
        implied_rate(0, usd, 100, eur),
        Err(ExchangeError::NotPositive)
    );
}

#[test]
fn cross_rates_go_through_the_euro() {
    let table = RateTable {
        date: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
        per_euro: BTreeMap::from([(cur("USD"), rate("1.08")), (cur("JPY"), rate("162"))]),
    };
    let (usd, jpy, eur, gbp) = (cur("USD"), cur("JPY"), cur("EUR"), cur("GBP"));
    assert_eq!(table.rate(usd, jpy), Some(rate("150")));
    assert_eq!(table.rate(eur, usd), Some(rate("1.08")));
    assert_eq!(table.rate(usd, eur), Some(rate("0.925925925926")));
    assert_eq!(table.rate(usd, usd), Some(Rate::ONE));
    assert_eq!(table.rate(usd, gbp), None);
    assert_eq!(table.day(), "2026-12-04");
}

#[test]
fn apportioning_gives_the_leftover_to_the_largest_remainders() {
    assert_eq!(apportion(100, &[1, 1, 1]), Some(vec![34, 33, 33]));
    assert_eq!(apportion(925, &[500, 300, 200]), Some(vec![463, 277, 185]));
    assert_eq!(apportion(0, &[0, 0]), Some(vec![0, 0]));
    assert_eq!(apportion(5, &[0, 0]), None);
    assert_eq!(apportion(5, &[-1, 2]), None);
}

#[test]
fn a_converted_bill_keeps_who_paid_and_who_owes() {
    let bill = Bill {
        payers: vec![("al", 3000), ("bo", 7000)],
        shares: vec![
            Share {
                user: "al",
                amount: 3334,
                settled: false,
            },
            Share {
                user: "bo",
                amount: 3333,
                settled: false,
            },
            Share {
                user: "cy",
                amount: 3333,
                settled: true,
            },
        ],
    };
    let converted = convert_bill(&bill, 1_484_993).unwrap();
    assert_eq!(converted.payers, vec![("al", 445_498), ("bo", 1_039_495)]);
    let shares: Vec<(&str, i64, bool)> = converted
        .shares
        .iter()
        .map(|s| (s.user, s.amount, s.settled))
        .collect();
    assert_eq!(
        shares,
        vec![
            ("al", 495_097, false),
            ("bo", 494_948, false),
            ("cy", 494_948, true)
        ]
    );
}

#[test]
fn converted_group_balances_still_sum_to_zero() {
    let nets = [("al", 1001), ("bo", -500), ("cy", -501)];
    let (usd, jpy) = (cur("USD"), cur("JPY"));
    let converted = convert_nets(&nets, usd, jpy, rate("150.5")).unwrap();
    assert_eq!(converted, vec![("al", 1507), ("bo", -753), ("cy", -754)]);
    // Not zero-sum (my balances with several friends): each on its own.
    let mine = [("bo", 1001), ("cy", 1001)];
    let converted = convert_nets(&mine, usd, jpy, rate("150.5")).unwrap();
    assert_eq!(converted, vec![("bo", 1507), ("cy", 1507)]);
}

const ECB_DAILY: &str =
    "Date, USD, JPY, BGN, CYP, GBP, \n04 December 2026, 1.0812, 162.00, N/A, 0.5842, 0.8611, \n";

const ECB_HISTORY: &str =
    "Date,USD,JPY,GBP,\n2026-12-04,1.0812,162.00,0.8611,\n2026-12-03,1.0790,N/A,0.8600,\n\n";

#[test]
fn the_ecb_files_read_in_both_date_formats() {
    let daily = parse_ecb_csv(ECB_DAILY).unwrap();
    assert_eq!(daily.tables.len(), 1);
    assert_eq!(daily.tables[0].day(), "2026-12-04");
    assert_eq!(daily.missing, 1, "BGN is N/A");
    assert_eq!(daily.unknown_codes, vec!["CYP".to_string()]);
    assert_eq!(
        daily.tables[0].per_euro.get(&cur("JPY")),
        Some(&rate("162"))
    );
    assert!(!daily.tables[0].per_euro.contains_key(&cur("BGN")));

    let history = parse_ecb_csv(ECB_HISTORY).unwrap();
    let days: Vec<String> = history.tables.iter().map(RateTable::day).collect();
    assert_eq!(days, vec!["2026-12-04", "2026-12-03"]);
    assert_eq!(history.tables[1].per_euro.len(), 2, "JPY was N/A");
    assert_eq!(history.tables[0], daily.tables[0]);

    assert!(parse_ecb_csv("").is_err());
    assert!(parse_ecb_csv("Day,USD\n2026-12-04,1\n").is_err());
    let bad_date = parse_ecb_csv("Date,USD\n4/12/2026,1.08\n").unwrap_err();
    assert!(bad_date.contains("Line 2"), "{bad_date}");
    let bad_value = parse_ecb_csv("Date,USD\n2026-12-04,1.08x\n").unwrap_err();
    assert!(bad_value.contains("USD"), "{bad_value}");
}

#[test]
fn a_latest_answer_reads_its_numbers_exactly() {
    let body = br#"{"amount":1.0,"base":"EUR","date":"2026-12-04","rates":{"USD":1.0812,"JPY":162.1,"XYZ":3,"GBP":0.86110000000000000001}}"#;
    let parsed = parse_latest_json(body);
    // 20 decimals is more than a rate may have: refused, not rounded.
    assert!(parsed.unwrap_err().contains("GBP"));
    let body = br#"{"amount":1.0,"base":"EUR","date":"2026-12-04","rates":{"USD":1.0812,"JPY":162.1,"XYZ":3}}"#;
    let parsed = parse_latest_json(body).unwrap();
    assert_eq!(parsed.unknown_codes, vec!["XYZ".to_string()]);
    let table = &parsed.tables[0];
    assert_eq!(table.day(), "2026-12-04");
    assert_eq!(table.per_euro.get(&cur("USD")), Some(&rate("1.0812")));
    let usd = br#"{"amount":1.0,"base":"USD","date":"2026-12-04","rates":{}}"#;
    assert!(parse_latest_json(usd).is_err());
    assert!(parse_latest_json(b"not json").is_err());
}

proptest! {
    #[test]
    fn apportioned_parts_always_sum_exactly(
        total in 0_i64..1_000_000_000_000,
        weights in prop::collection::vec(0_i64..1_000_000_000, 1..50),
    ) {
        prop_assume!(weights.iter().any(|w| *w > 0));
        let parts = apportion(total, &weights).unwrap();
        prop_assert_eq!(parts.iter().sum::<i64>(), total);
        let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
        for (part, weight) in parts.iter().zip(&weights) {
            // Each within one unit of its exact quota.
            let quota = i128::from(total) * i128::from(*weight);
            prop_assert!((i128::from(*part) * sum - quota).abs() < sum);
        }
    }

    #[test]
    fn converting_a_sum_and_its_parts_agree(
        parts in prop::collection::vec(1_i64..10_000_000, 1..20),
        mantissa in 1_i64..1_000_000_000,
        scale in 0_u32..=9,
    ) {
        let (usd, jpy) = (cur("USD"), cur("JPY"));
        let rate = Rate::new(Decimal::new(mantissa, scale)).unwrap();
        let total: i64 = parts.iter().sum();
        let converted = convert(total, usd, jpy, rate).unwrap();
        let divided = apportion(converted, &parts).unwrap();
        // The parts of the converted total are the converted total...
        prop_assert_eq!(divided.iter().sum::<i64>(), converted);
        // ...and each is its own conversion, give or take a unit.
        for (part, share) in parts.iter().zip(&divided) {
            let alone = convert(*part, usd, jpy, rate).unwrap();
            prop_assert!((alone - share).abs() <= 1, "{} vs {}", alone, share);
        }
    }

    #[test]
    fn a_converted_bill_books_exactly_the_converted_amount(
        paid in prop::collection::vec(0_i64..1_000_000, 1..5),
        owed in prop::collection::vec((0_i64..1_000_000, any::<bool>()), 1..8),
        total in 0_i64..1_000_000_000,
    ) {
        prop_assume!(paid.iter().any(|p| *p > 0) && owed.iter().any(|(o, _)| *o > 0));
        let bill = Bill {
            payers: paid.iter().enumerate().map(|(i, a)| (i, *a)).collect(),
            shares: owed
                .iter()
                .enumerate()
                .map(|(i, (amount, settled))| Share { user: 100 + i, amount: *amount, settled: *settled })
                .collect(),
        };
        let converted = convert_bill(&bill, total).unwrap();
        prop_assert_eq!(converted.payers.iter().map(|(_, a)| a).sum::<i64>(), total);
        prop_assert_eq!(converted.shares.iter().map(|s| s.amount).sum::<i64>(), total);
        // The postings of the converted bill balance.
        let net: i128 = nets(&postings(&converted)).values().sum();
        prop_assert_eq!(net, 0);
    }

    #[test]
    fn converted_zero_sum_balances_stay_zero_sum(
        credits in prop::collection::vec(0_i64..10_000_000, 1..10),
        split in prop::collection::vec(1_i64..100, 1..10),
        mantissa in 1_i64..1_000_000_000,
        scale in 0_u32..=8,
    ) {
        let owed: i64 = credits.iter().sum();
        let debts = apportion(owed, &split).unwrap();
        let mut balances: Vec<(usize, i64)> = credits.iter().copied().enumerate().collect();
        balances.extend(debts.iter().enumerate().map(|(i, d)| (1000 + i, -d)));
        let rate = Rate::new(Decimal::new(mantissa, scale)).unwrap();
        let converted = convert_nets(&balances, cur("EUR"), cur("KWD"), rate).unwrap();
        prop_assert_eq!(converted.iter().map(|(_, n)| n).sum::<i64>(), 0);
        for ((_, before), (_, after)) in balances.iter().zip(&converted) {
            // A creditor stays a creditor (or even), a debtor a debtor.
            prop_assert!(before.signum() * after.signum() >= 0);
        }
    }
}
