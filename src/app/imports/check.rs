//! The first read of a file, before anything is written: every row is
//! readable and bookable, and the rows add up, per currency and member, to
//! the file's `Total balance` rows exactly; otherwise the whole file is
//! refused. Keeps only sums (members × currencies) and a few rows.

use std::collections::BTreeMap;

use crate::domain::money::format_signed;
use crate::domain::money::Currency;
use crate::domain::splitwise_import::{booking, Booking, FileError, Record, Records, SourceRow};
use crate::store::imports::{ColumnAmount, CurrencyBalances, SkippedRow};

/// How many rows a dry run shows as they would be stored.
pub const PREVIEW_ROWS: usize = 5;
/// How many skipped rows are listed (all are counted).
pub const LISTED_SKIPS: usize = 100;

/// What the first read found.
#[derive(Debug, Default)]
pub struct Checked {
    pub rows: i64,
    pub expenses: i64,
    pub payments: i64,
    pub skipped: i64,
    pub skipped_rows: Vec<SkippedRow>,
    /// Each currency's balance per member column, from the rows (equal to
    /// the file's totals).
    pub balances: BTreeMap<Currency, Vec<i64>>,
    pub preview: Vec<(SourceRow, Booking)>,
}

impl Checked {
    /// The balances as the job shows them.
    pub fn currencies(&self, columns: &[String]) -> Vec<CurrencyBalances> {
        self.balances
            .iter()
            .map(|(currency, nets)| CurrencyBalances {
                currency: currency.code().to_owned(),
                balances: columns
                    .iter()
                    .zip(nets)
                    .map(|(c, n)| ColumnAmount {
                        column: c.clone(),
                        amount: format_signed(*n, *currency),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Reads the whole file once (see the module docs).
pub fn check(csv: &str, columns: usize) -> Result<Checked, FileError> {
    let mut checked = Checked::default();
    let mut totals: BTreeMap<Currency, (u64, Vec<i64>)> = BTreeMap::new();
    let mut totals_started = false;
    for record in Records::new(csv, columns) {
        match record? {
            Record::Total {
                line,
                currency,
                nets,
            } => {
                totals_started = true;
                if totals.insert(currency, (line, nets)).is_some() {
                    return Err(FileError::Row {
                        line,
                        message: format!("a second Total balance row for {currency}"),
                    });
                }
            }
            Record::Row(row) if totals_started => {
                return Err(FileError::Row {
                    line: row.line,
                    message: "an expense after the Total balance rows".into(),
                })
            }
            Record::Row(row) => {
                checked.rows += 1;
                let sums = checked
                    .balances
                    .entry(row.currency)
                    .or_insert_with(|| vec![0; columns]);
                for (sum, net) in sums.iter_mut().zip(&row.nets) {
                    *sum += net;
                }
                match booking(&row)? {
                    None => {
                        checked.skipped += 1;
                        if checked.skipped_rows.len() < LISTED_SKIPS {
                            checked.skipped_rows.push(SkippedRow {
                                line: i64::try_from(row.line).unwrap_or(i64::MAX),
                                reason: "moves no money between the members".into(),
                            });
                        }
                    }
                    Some(b) => {
                        if row.is_payment() {
                            checked.payments += 1;
                        } else {
                            checked.expenses += 1;
                        }
                        if checked.preview.len() < PREVIEW_ROWS {
                            checked.preview.push((row, b));
                        }
                    }
                }
            }
        }
    }
    if checked.rows > 0 && totals.is_empty() {
        return Err(FileError::NotAnExport(
            "it has no Total balance rows".into(),
        ));
    }
    let currencies: Vec<Currency> = checked
        .balances
        .keys()
        .chain(totals.keys())
        .copied()
        .collect();
    for currency in currencies {
        let zero = vec![0; columns];
        let sums = checked.balances.get(&currency).unwrap_or(&zero);
        let Some((line, expected)) = totals.get(&currency) else {
            if sums == &zero {
                continue;
            }
            return Err(FileError::NotAnExport(format!(
                "it has no Total balance row for {currency}"
            )));
        };
        let line = *line;
        if sums != expected {
            return Err(FileError::Row {
                line,
                message: format!(
                    "the rows in {currency} do not add up to its Total balance row; \
                     the file is incomplete or was changed"
                ),
            });
        }
    }
    checked
        .balances
        .retain(|_, nets| nets.iter().any(|n| *n != 0));
    Ok(checked)
}
