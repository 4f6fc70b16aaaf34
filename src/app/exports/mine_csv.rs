//! My own export: a row per expense and payment I take part in, with what
//! I paid toward it and my net in it; people and groups by name, looked up
//! a batch at a time.

use mongodb::bson::oid::ObjectId;

use super::cells::{booked, booked_share, category_text, positions, Csv, Names};
use super::stream::Rows;
use crate::app::views::day;
use crate::domain::money::format_signed;
use crate::domain::splitwise::neutralize;
use crate::error::ApiError;
use crate::store::exports::Exported;
use crate::store::{ExpenseDoc, Store};

/// The columns of my export.
pub const COLUMNS: [&str; 10] = [
    "Date",
    "Description",
    "Category",
    "Currency",
    "Amount",
    "Group",
    "Payers",
    "My share",
    "My net",
    "Settled",
];

/// The rows of my export.
pub(super) struct MineCsv {
    me: ObjectId,
    csv: Csv,
    names: Names,
}

impl MineCsv {
    pub(super) fn new(store: Store, me: ObjectId) -> Self {
        Self {
            me,
            csv: Csv::new(),
            names: Names::new(store),
        }
    }

    /// The payers' names, joined with `; ` (`paidBy` when none are listed).
    fn payers(&self, e: &ExpenseDoc) -> String {
        if e.payers.is_empty() {
            return self.names.user(e.paid_by).to_owned();
        }
        let names: Vec<&str> = e.payers.iter().map(|p| self.names.user(p.user)).collect();
        names.join("; ")
    }
}

impl Rows for MineCsv {
    fn start(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        self.csv.record(COLUMNS, out)
    }

    async fn prepare(&mut self, batch: &[Exported]) -> Result<(), ApiError> {
        self.names.load(batch).await
    }

    fn row(&mut self, doc: &Exported, out: &mut Vec<u8>) -> Result<(), ApiError> {
        let e = &doc.expense;
        let (currency, amount) = booked(e);
        let share = booked_share(e, self.me);
        let net = positions(e).get(&self.me).copied().unwrap_or(0);
        let group = e.group.map_or("", |g| self.names.group(g));
        let record = [
            day(e.date),
            neutralize(&e.description).into_owned(),
            category_text(e),
            currency.code().to_owned(),
            format_signed(amount, currency),
            neutralize(group).into_owned(),
            neutralize(&self.payers(e)).into_owned(),
            format_signed(share, currency),
            format_signed(net, currency),
            e.is_settled.to_string(),
        ];
        self.csv.record(record, out)
    }

    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), ApiError> {
        Ok(())
    }
}
