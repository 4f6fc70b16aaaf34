//! Unit and property tests of `money`.
use super::amount::MAX_SCALED;
use super::*;
use proptest::prelude::*;
use serde::Serialize;

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("valid test currency")
}
fn dec(text: &str) -> Decimal {
    Decimal::parse(text).expect("valid test decimal")
}
fn json<T: Serialize>(value: T) -> String {
    serde_json::to_string(&value).expect("serializable")
}

#[test]
fn currency_parse_and_serde() {
    assert_eq!(cur(" usd ").code(), "USD");
    assert_eq!(Currency::default(), Currency::USD);
    for bad in ["", "US", "EURO", "U$D", "12A", "ÉUR"] {
        assert_eq!(
            Currency::parse(bad),
            Err(MoneyError::InvalidCurrency),
            "{bad}"
        );
    }
    assert_eq!(
        (
            cur("jpy").decimals(),
            cur("USD").decimals(),
            cur("kwd").decimals()
        ),
        (0, 2, 3)
    );
    assert_eq!(json(cur("eur")), "\"EUR\"");
    assert_eq!(
        serde_json::from_str::<Currency>("\"gbp\"").ok(),
        Some(cur("GBP"))
    );
    let err = serde_json::from_str::<Currency>("\"pounds\"").expect_err("invalid code");
    assert!(
        err.to_string()
            .starts_with("Currency must be a 3-letter code"),
        "{err}"
    );
}

#[test]
fn decimal_parse_is_exact() {
    assert_eq!(dec("12.50").scaled(), 12_500_000_000_000_000);
    assert_eq!(dec(" -3 ").scaled(), -3 * DECIMAL_SCALE);
    assert_eq!(dec("0.30000000000000004").scaled(), 300_000_000_000_000);
    assert_eq!(dec("1e-7").scaled(), 100_000_000);
    assert_eq!(dec("2.5E+3"), dec("2500"));
    assert_eq!(dec("0e999999999999"), Decimal::ZERO);
    assert_eq!(dec("1e-99999999"), Decimal::ZERO);
    assert_eq!(dec("-0.0"), Decimal::ZERO);
    assert_eq!(dec("1000000000").scaled(), MAX_SCALED);
    assert_eq!(dec(&format!("0.{}1", "0".repeat(500))), Decimal::ZERO);
}

#[test]
fn decimal_parse_rejects_garbage_and_huge() {
    for bad in [
        "", "-", ".5", "5.", "abc", "NaN", "Infinity", "1,5", "+1", "--1", "1e", "1e+", "0x10",
    ] {
        assert_eq!(Decimal::parse(bad), Err(MoneyError::NotANumber), "{bad:?}");
    }
    for huge in [
        "1000000000.000001",
        "-1000000001",
        "1E21",
        "1e999999999999",
        &"9".repeat(400),
    ] {
        assert_eq!(Decimal::parse(huge), Err(MoneyError::TooLarge), "{huge}");
    }
}

#[test]
fn decimal_from_f64() {
    assert_eq!(Decimal::from_f64(f64::NAN), Err(MoneyError::NotANumber));
    assert_eq!(
        Decimal::from_f64(f64::NEG_INFINITY),
        Err(MoneyError::NotANumber)
    );
    assert_eq!(Decimal::from_f64(1e21), Err(MoneyError::TooLarge));
    assert_eq!(
        Decimal::from_f64(33.333333333333336),
        Ok(dec("33.333333333333336"))
    );
    assert_eq!(Decimal::from_f64(1e-7), Ok(dec("0.0000001")));
    assert_eq!(Decimal::from_f64(5e-324), Ok(Decimal::ZERO));
    assert_eq!(Decimal::from_f64(-0.0), Ok(Decimal::ZERO));
    assert_eq!(Decimal::from_f64(0.1 + 0.2), Ok(dec("0.300000000000000")));
}

#[test]
fn amount_input_from_json() {
    let parse = |text: &str| serde_json::from_str::<Option<AmountInput>>(text);
    let value = |text: &str| parse(text).expect("json").map(|a| a.decimal());
    assert_eq!(value("12.5"), Some(Ok(dec("12.5"))));
    assert_eq!(value("\"12.50\""), Some(Ok(dec("12.5"))));
    assert_eq!(value("100"), Some(Ok(dec("100"))));
    assert_eq!(value("-3"), Some(Ok(dec("-3"))));
    assert_eq!(
        value("33.333333333333336"),
        Some(Ok(dec("33.333333333333336")))
    );
    assert_eq!(value("null"), None);
    assert_eq!(value("\"twelve\""), Some(Err(MoneyError::NotANumber)));
    assert_eq!(value("1e300"), Some(Err(MoneyError::TooLarge)));
    let err = parse("true").expect_err("wrong type");
    assert!(
        err.to_string()
            .starts_with("invalid type: boolean `true`, expected an amount given as a number or a numeric string"),
        "{err}"
    );
}

#[test]
fn positive_amount_rounds_to_the_minor_unit_and_must_stay_above_zero() {
    let usd = Currency::USD;
    assert_eq!(positive_amount(dec("0.01"), usd), Ok(1));
    assert_eq!(positive_amount(dec("12.5"), usd), Ok(1250));
    assert_eq!(positive_amount(dec("0.30000000000000004"), usd), Ok(30));
    // More decimals than the currency has: halves away from zero.
    assert_eq!(positive_amount(dec("12.345"), usd), Ok(1235));
    assert_eq!(positive_amount(dec("12.344"), usd), Ok(1234));
    assert_eq!(positive_amount(dec("10.001"), usd), Ok(1000));
    assert_eq!(positive_amount(dec("0.005"), usd), Ok(1));
    assert_eq!(positive_amount(dec("1000.5"), cur("JPY")), Ok(1001));
    assert_eq!(positive_amount(dec("12.3455"), cur("BHD")), Ok(12346));
    assert_eq!(
        positive_amount(dec("1000000000"), cur("BHD")),
        Ok(1_000_000_000_000)
    );
    for bad in ["0", "-5", "-0.005", "0.0000001", "0.004", "0.00499999"] {
        let err = positive_amount(dec(bad), usd).expect_err(bad);
        assert_eq!(err.to_string(), "Amount must be greater than 0", "{bad}");
    }
    assert_eq!(
        positive_amount(dec("0.4"), cur("JPY")),
        Err(MoneyError::NotPositive)
    );
}

#[test]
fn rendering_as_json_numbers() {
    let major = |minor, code| {
        json(MajorUnits {
            minor,
            currency: cur(code),
        })
    };
    assert_eq!(major(3334, "USD"), "33.34");
    assert_eq!(major(100_000, "USD"), "1000");
    assert_eq!(major(5, "BHD"), "0.005");
    assert_eq!(major(1000, "JPY"), "1000");
    assert_eq!(major(-1250, "EUR"), "-12.5");
    assert_eq!(major(99_999_999_999, "USD"), "999999999.99");
    assert_eq!(minor_to_f64(3334, Currency::USD), 33.34);
}

#[test]
fn money_messages() {
    assert_eq!(format_money_message(1250, Currency::USD), "$12.50");
    assert_eq!(format_money_message(-5, Currency::USD), "-$0.05");
    assert_eq!(format_money_message(1250, cur("EUR")), "12.50 EUR");
    assert_eq!(format_money_message(1000, cur("JPY")), "1000 JPY");
    assert_eq!(format_money_message(5, cur("BHD")), "0.005 BHD");
    assert_eq!(
        format_money_message(i64::MIN, cur("JPY")),
        "-9223372036854775808 JPY"
    );
}

proptest! {
    // What the server renders must come back unchanged when the app echoes it.
    #[test]
    fn minor_round_trips_through_json_float(minor in 1..=1_000_000_000_000_i64, pick in 0..3_usize) {
        let currency = cur(["JPY", "USD", "BHD"][pick]);
        let minor = minor.min(1_000_000_000 * currency.minor_per_major());
        let float = minor_to_f64(minor, currency);
        let echoed: f64 = serde_json::from_str(&json(float)).expect("json float");
        let back = Decimal::from_f64(echoed).and_then(|d| round_to_minor(d, currency));
        prop_assert_eq!(back, Ok(minor));
        prop_assert_eq!(Decimal::from_f64(float)?, Decimal::from_minor(minor, currency)?);
    }
}

#[test]
fn round_to_minor_halves_away_from_zero() {
    let usd = Currency::USD;
    let r = |t: &str, c| round_to_minor(dec(t), c).expect("in range");
    assert_eq!(r("12.345", usd), 1235);
    assert_eq!(r("12.344999", usd), 1234);
    assert_eq!(r("-12.345", usd), -1235);
    assert_eq!(r("33.333333333333336", usd), 3333);
    assert_eq!(r("0.30000000000000004", usd), 30);
    assert_eq!(r("100", usd), 10000);
    assert_eq!(r("0.004", usd), 0);
    let jpy = cur("JPY");
    assert_eq!(r("1234.5", jpy), 1235);
    let kwd = cur("KWD");
    assert_eq!(r("1.2345", kwd), 1235);
}

#[test]
fn fixed_point_conversions_are_exact() {
    assert_eq!(Decimal::from_fixed(3333, 2), Ok(dec("33.33")));
    assert_eq!(Decimal::from_fixed(-250, 2), Ok(dec("-2.5")));
    assert_eq!(Decimal::from_fixed(1500, 3), Ok(dec("1.5")));
    assert_eq!(Decimal::from_fixed(7, 0), Ok(dec("7")));
    assert_eq!(Decimal::from_fixed(1, 15), Ok(dec("0.000000000000001")));
    // Past 15 decimals digits are truncated, as `parse` does.
    assert_eq!(Decimal::from_fixed(19, 16), Ok(dec("0.000000000000001")));
    assert_eq!(Decimal::from_fixed(i64::MAX, 60), Ok(Decimal::ZERO));
    assert_eq!(Decimal::from_fixed(i64::MAX, 2), Err(MoneyError::TooLarge));
    assert_eq!(Decimal::from_minor(-5, cur("BHD")), Ok(dec("-0.005")));
    assert_eq!(Decimal::ONE, dec("1"));

    assert_eq!(dec("33.33").to_fixed(2), Some(3333));
    assert_eq!(dec("33.3").to_fixed(2), Some(3330));
    assert_eq!(dec("-2.5").to_fixed(2), Some(-250));
    assert_eq!(dec("33.333").to_fixed(2), None);
    assert_eq!(dec("1.0001").to_fixed(3), None);
    assert_eq!(dec("0.000000000000001").to_fixed(14), None);
    assert_eq!(dec("12").to_fixed(0), Some(12));
    assert_eq!(dec("12.5").to_fixed(0), None);
    assert_eq!(dec("1").to_fixed(18), Some(1_000_000_000_000_000_000));
    assert_eq!(dec("10").to_fixed(18), None);
    assert_eq!(dec("1").to_fixed(u32::MAX), None);
}

#[test]
fn decimal_display_is_exact_without_trailing_zeros() {
    for (text, shown) in [
        ("99.90", "99.9"),
        ("100.00", "100"),
        ("-2.50", "-2.5"),
        ("-0.05", "-0.05"),
        ("0", "0"),
        ("0.000000000000001", "0.000000000000001"),
        ("-1000000000", "-1000000000"),
        ("33.333333333333336", "33.333333333333336"),
    ] {
        assert_eq!(dec(text).to_string(), shown, "{text}");
    }
}

#[test]
fn fixed_units_render_like_major_units() {
    let fixed = |units, decimals| json(FixedUnits { units, decimals });
    assert_eq!(fixed(3333, 2), "33.33");
    assert_eq!(fixed(10_000, 2), "100");
    assert_eq!(fixed(1500, 3), "1.5");
    assert_eq!(fixed(-250, 2), "-2.5");
    assert_eq!(fixed(5, 0), "5");
    assert!(serde_json::to_string(&FixedUnits {
        units: 1,
        decimals: 19
    })
    .is_err());
}

proptest! {
    #[test]
    fn fixed_round_trips(units in -1_000_000_000_000_i64..=1_000_000_000_000, decimals in 3..=15_u32) {
        let value = Decimal::from_fixed(units, decimals)?;
        prop_assert_eq!(value.to_fixed(decimals), Some(units));
        prop_assert_eq!(Decimal::parse(&value.to_string())?, value);
        // One decimal fewer is exact only when the last digit is zero.
        prop_assert_eq!(value.to_fixed(decimals - 1).is_some(), units % 10 == 0);
    }
}

#[test]
fn signed_text_has_the_currency_decimals_and_a_sign() {
    assert_eq!(format_signed(-625, cur("USD")), "-6.25");
    assert_eq!(format_signed(0, cur("USD")), "0.00");
    assert_eq!(format_signed(1500, cur("JPY")), "1500");
}
