//! Exchange rates: the table of euro reference rates (`store::rates`), what
//! `GET /v1/rates` shows of it, loading the ECB's CSV files into it (the
//! `splitlyr rates import` command), the optional HTTP source that refreshes
//! it daily ([`source`]), and the rate between two currencies on a day, as
//! expenses, estimates and conversions read it.

mod fetch;
pub mod source;

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::exchange::{Rate, RateTable, EURO};
use crate::domain::exchange_sources::{parse_ecb_csv, Parsed};
use crate::domain::money::Currency;
use crate::error::{ApiError, FieldError};
use crate::store::Store;

/// The rates known for a day.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatesView {
    /// The table's own day (`YYYY-MM-DD`): the latest on or before the day
    /// asked for.
    date: String,
    /// Always `EUR`: every rate is units of the currency per euro.
    base: &'static str,
    /// Currency code → units per euro, as exact decimal text.
    #[schema(value_type = HashMap<String, String>)]
    rates: BTreeMap<String, String>,
}

impl RatesView {
    fn of(table: &RateTable) -> Self {
        Self {
            date: table.day(),
            base: EURO,
            rates: table
                .per_euro
                .iter()
                .map(|(c, r)| (c.code().to_owned(), r.to_string()))
                .collect(),
        }
    }
}

/// `YYYY-MM-DD` as a day (a 400 naming `field` otherwise).
pub fn parse_day(raw: &str, field: &str) -> Result<chrono::NaiveDate, ApiError> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::validation(vec![FieldError::new(field, "Date must be YYYY-MM-DD")]))
}

/// The table in force on `day` (the latest without one): 404 when none is.
pub async fn show(store: &Store, day: Option<chrono::NaiveDate>) -> Result<RatesView, ApiError> {
    let day = day.map(|d| d.format("%Y-%m-%d").to_string());
    match store.rate_table(day.as_deref()).await? {
        Some(table) => Ok(RatesView::of(&table)),
        None => Err(ApiError::not_found(match day {
            Some(day) => format!("No exchange rates are known on or before {day}"),
            None => "No exchange rates are known yet".into(),
        })),
    }
}

/// A rate between two currencies and the day of the table it came from.
#[derive(Debug, Clone, Copy)]
pub struct TableRate {
    pub rate: Rate,
    pub date: chrono::NaiveDate,
}

/// The rate from `from` to `to` in the table in force on `day` (the latest
/// without one); None when no table is, or it lacks either currency.
pub async fn table_rate(
    store: &Store,
    from: Currency,
    to: Currency,
    day: Option<chrono::NaiveDate>,
) -> Result<Option<TableRate>, ApiError> {
    let day = day.map(|d| d.format("%Y-%m-%d").to_string());
    let Some(table) = store.rate_table(day.as_deref()).await? else {
        return Ok(None);
    };
    Ok(table.rate(from, to).map(|rate| TableRate {
        rate,
        date: table.date,
    }))
}

/// What an import stored.
#[derive(Debug)]
pub struct Imported {
    pub parsed: Parsed,
    /// Days that were not in the table before.
    pub new_days: u64,
}

/// Largest rate file read (the ECB's full history is about 6 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Reads an ECB euro reference CSV (daily or historical) and stores every
/// day of it; a day stored before is replaced, so importing the same file
/// again changes nothing.
pub async fn import_ecb(store: &Store, text: &str) -> Result<Imported, String> {
    let parsed = parse_ecb_csv(text)?;
    let new_days = store
        .put_rate_tables(&parsed.tables, "ecb-csv")
        .await
        .map_err(|e| e.to_string())?;
    Ok(Imported { parsed, new_days })
}
