//! Where euro reference rates come from, read into [`RateTable`]s without a
//! float in between:
//!
//! - the ECB's CSV files ([`parse_ecb_csv`]): a header `Date, USD, JPY, …`
//!   and one row per day, rates per euro; the daily file dates its row
//!   `04 December 2026`, the historical file `2026-12-04`; a value may be
//!   `N/A` (no fixing that day, or a currency no longer quoted); fields may
//!   carry spaces, lines a trailing comma;
//! - a Frankfurter-compatible `/latest` answer ([`parse_latest_json`]):
//!   `{"amount":1.0,"base":"EUR","date":"2026-12-04","rates":{"USD":1.0812}}`,
//!   each number read from its JSON text as an exact decimal.
//!
//! Codes outside the ISO 4217 table (a currency withdrawn since) are
//! skipped and counted, not refused: the rest of the file is still good.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::exchange::{Rate, RateTable, EURO};
use crate::domain::money::Currency;

/// Most columns a rate file may have (the ECB publishes about 40).
pub const MAX_COLUMNS: usize = 400;
/// Most days a rate file may have (the ECB's history since 1999 is ~7,000).
pub const MAX_DAYS: usize = 50_000;

/// What a file gave: its tables, and what was left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub tables: Vec<RateTable>,
    /// `N/A` or empty values.
    pub missing: usize,
    /// Columns whose code is not a currency we know.
    pub unknown_codes: Vec<String>,
}

/// A day as either ECB file writes it.
fn parse_day(text: &str) -> Option<chrono::NaiveDate> {
    let text = text.trim();
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%d %B %Y"))
        .ok()
}

/// The fields of one line, trimmed, without the empty one a trailing comma
/// leaves.
fn fields(line: &str) -> Vec<&str> {
    let mut fields: Vec<&str> = line.split(',').map(str::trim).collect();
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    fields
}

/// Reads an ECB euro reference rate CSV (daily or historical). Refuses
/// (with a sentence naming the line) a file without the `Date` header, a
/// row with a date it cannot read or a value that is not a rate.
pub fn parse_ecb_csv(text: &str) -> Result<Parsed, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("The file is empty")?;
    let header = fields(header.trim_start_matches('\u{feff}'));
    if !header
        .first()
        .is_some_and(|h| h.eq_ignore_ascii_case("date"))
    {
        return Err("Line 1: the header must start with Date".into());
    }
    if header.len() > MAX_COLUMNS {
        return Err(format!("Line 1: more than {MAX_COLUMNS} columns"));
    }
    let mut parsed = Parsed::default();
    let columns: Vec<Option<Currency>> = header[1..]
        .iter()
        .map(|code| match Currency::parse(code) {
            Ok(c) if c.code() != EURO => Some(c),
            _ => {
                parsed.unknown_codes.push((*code).to_owned());
                None
            }
        })
        .collect();
    for (index, line) in lines {
        let number = index + 1;
        let row = fields(line);
        let Some((day, values)) = row.split_first() else {
            continue;
        };
        let date = parse_day(day).ok_or_else(|| format!("Line {number}: {day} is not a date"))?;
        let mut per_euro = BTreeMap::new();
        for (value, column) in values.iter().zip(&columns) {
            let Some(currency) = column else { continue };
            if value.is_empty() || value.eq_ignore_ascii_case("N/A") {
                parsed.missing += 1;
                continue;
            }
            let rate = Rate::parse(value)
                .map_err(|e| format!("Line {number}, {currency}: {e} ({value})"))?;
            per_euro.insert(*currency, rate);
        }
        if parsed.tables.len() == MAX_DAYS {
            return Err(format!("More than {MAX_DAYS} days in one file"));
        }
        parsed.tables.push(RateTable { date, per_euro });
    }
    Ok(parsed)
}

/// The numbers stay their JSON text (`RawValue`) until read as decimals.
#[derive(Deserialize)]
struct Latest {
    amount: Option<Box<RawValue>>,
    base: String,
    date: String,
    rates: BTreeMap<String, Box<RawValue>>,
}

/// Reads a Frankfurter-compatible `/latest` answer with base EUR: each rate
/// from its own JSON text (`1.0812`), never through a float.
pub fn parse_latest_json(body: &[u8]) -> Result<Parsed, String> {
    let latest: Latest =
        serde_json::from_slice(body).map_err(|e| format!("not a rate answer: {e}"))?;
    if latest.base != EURO {
        return Err(format!("base {} instead of EUR", latest.base));
    }
    if let Some(amount) = &latest.amount {
        let one = Rate::parse(amount.get());
        if one != Ok(Rate::ONE) {
            return Err(format!("amount {} instead of 1", amount.get()));
        }
    }
    let date = parse_day(&latest.date).ok_or_else(|| format!("{} is not a date", latest.date))?;
    if latest.rates.len() > MAX_COLUMNS {
        return Err(format!("more than {MAX_COLUMNS} rates"));
    }
    let mut parsed = Parsed::default();
    let mut per_euro = BTreeMap::new();
    for (code, raw) in &latest.rates {
        let currency = match Currency::parse(code) {
            Ok(c) if c.code() != EURO => c,
            _ => {
                parsed.unknown_codes.push(code.clone());
                continue;
            }
        };
        let rate = Rate::parse(raw.get()).map_err(|e| format!("{code}: {e} ({})", raw.get()))?;
        per_euro.insert(currency, rate);
    }
    parsed.tables.push(RateTable { date, per_euro });
    Ok(parsed)
}
