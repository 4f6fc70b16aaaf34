//! A group's export in Splitwise's layout (`domain::splitwise`): a column
//! per person (the members, then anyone else its documents name), a row per
//! expense and payment with each person's net in it, and a `Total balance`
//! row per currency, accumulated while the rows stream by (memory: people ×
//! currencies).

use std::collections::{BTreeMap, HashMap, HashSet};

use mongodb::bson::oid::ObjectId;

use super::cells::{booked, category_text, positions, today, Csv};
use super::stream::Rows;
use crate::app::views::day;
use crate::domain::money::format_signed;
use crate::domain::money::Currency;
use crate::domain::splitwise::{neutralize, FIXED_COLUMNS, TOTAL_BALANCE};
use crate::error::ApiError;
use crate::store::exports::Exported;

/// The people's columns: who, and the name at the top.
pub(super) struct Columns {
    ids: Vec<ObjectId>,
    names: Vec<String>,
}

impl Columns {
    /// `people` in order with their names (None: a deleted user), made
    /// unique and safe as column names.
    pub(super) fn new(people: Vec<(ObjectId, Option<String>)>) -> Self {
        let (ids, names): (Vec<ObjectId>, Vec<Option<String>>) = people.into_iter().unzip();
        let names = unique_names(names.iter().map(|n| n.as_deref().unwrap_or("Deleted user")));
        Self { ids, names }
    }
}

/// The names as column names: never empty, safe in a spreadsheet, and each
/// one different from the others and from the fixed columns (ignoring
/// case), since an importer finds its columns by name: a second `Al`
/// becomes `Al (2)`.
pub(super) fn unique_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken: HashSet<String> = FIXED_COLUMNS.iter().map(|c| c.to_lowercase()).collect();
    names
        .into_iter()
        .map(|name| {
            let base = match name.trim() {
                "" => "Someone",
                trimmed => trimmed,
            };
            let mut candidate = neutralize(base).into_owned();
            let mut n = 1;
            while !taken.insert(candidate.to_lowercase()) {
                n += 1;
                candidate = neutralize(&format!("{base} ({n})")).into_owned();
            }
            candidate
        })
        .collect()
}

/// The rows of a group's export.
pub(super) struct GroupCsv {
    csv: Csv,
    columns: Columns,
    index: HashMap<ObjectId, usize>,
    /// Per currency, each column's sum so far.
    totals: BTreeMap<Currency, Vec<i128>>,
}

impl GroupCsv {
    pub(super) fn new(columns: Columns) -> Self {
        let index = columns
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        Self {
            csv: Csv::new(),
            columns,
            index,
            totals: BTreeMap::new(),
        }
    }

    /// Each column's net in the document.
    fn nets(&self, e: &crate::store::ExpenseDoc) -> Result<Vec<i64>, ApiError> {
        let mut cells = vec![0_i64; self.columns.ids.len()];
        for (user, net) in positions(e) {
            // Someone who joined the group's documents after the columns
            // were read: their share has nowhere to go, and a row whose
            // nets do not sum to zero would import as other balances.
            let Some(&at) = self.index.get(&user) else {
                return Err(ApiError::Conflict(
                    "The group changed during the export: export it again".into(),
                ));
            };
            cells[at] = net;
        }
        Ok(cells)
    }
}

impl Rows for GroupCsv {
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        let header = FIXED_COLUMNS
            .iter()
            .copied()
            .chain(self.columns.names.iter().map(String::as_str));
        self.csv.record(header, out)?;
        self.csv.blank_line(out)
    }

    fn row(&mut self, doc: &Exported, out: &mut Vec<u8>) -> Result<(), ApiError> {
        let e = &doc.expense;
        let cells = self.nets(e)?;
        let (currency, amount) = booked(e);
        let totals = self
            .totals
            .entry(currency)
            .or_insert_with(|| vec![0; cells.len()]);
        for (total, net) in totals.iter_mut().zip(&cells) {
            *total += i128::from(*net);
        }
        let fixed = [
            day(e.date),
            neutralize(&e.description).into_owned(),
            category_text(e),
            format_signed(amount, currency),
            currency.code().to_owned(),
        ];
        let nets = cells.iter().map(|net| format_signed(*net, currency));
        self.csv.record(fixed.into_iter().chain(nets), out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        self.csv.blank_line(out)?;
        let today = today();
        for (currency, totals) in &self.totals {
            let fixed = [
                today.clone(),
                TOTAL_BALANCE.into(),
                " ".into(),
                " ".into(),
                currency.code().to_owned(),
            ];
            let sums = totals
                .iter()
                .map(|t| format_signed(i64::try_from(*t).unwrap_or(0), *currency));
            self.csv.record(fixed.into_iter().chain(sums), out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_safe_and_never_a_fixed_column() {
        let names = unique_names(["Al", "Bo", "al", "Al", "=cmd", "", "Currency", "Al (2)"]);
        assert_eq!(
            names,
            [
                "Al",
                "Bo",
                "al (2)",
                "Al (3)",
                "'=cmd",
                "Someone",
                "Currency (2)",
                "Al (2) (2)"
            ]
        );
    }
}
