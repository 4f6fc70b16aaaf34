//! The `rates` collection: one document per day of euro reference rates,
//! `{_id: "2026-12-04", base: "EUR", rates: {"USD": "1.0812", …}, source,
//! updatedAt}`, each rate as exact decimal text. The `_id` is the day, so
//! storing a day again replaces it (imports are idempotent) and the table
//! in force on a day is the first at or before it in `_id` order.

use mongodb::bson::{doc, Document};
use serde::{Deserialize, Serialize};

use super::{now, Store, StoreError};
use crate::domain::exchange::{Rate, RateTable, EURO};
use crate::domain::money::Currency;

const COLLECTION: &str = "rates";
/// Days written at once by an import.
const WRITES_AT_ONCE: usize = 8;

#[derive(Serialize, Deserialize)]
struct RateDoc {
    #[serde(rename = "_id")]
    day: String,
    base: String,
    rates: std::collections::BTreeMap<String, String>,
    source: String,
}

impl RateDoc {
    fn of(table: &RateTable, source: &str) -> Self {
        Self {
            day: table.day(),
            base: EURO.into(),
            rates: table
                .per_euro
                .iter()
                .map(|(c, r)| (c.code().to_owned(), r.to_string()))
                .collect(),
            source: source.into(),
        }
    }

    /// The table, without any rate that does not read (a hand-edited
    /// document): those currencies are simply not known that day.
    fn table(self) -> Option<RateTable> {
        let date = chrono::NaiveDate::parse_from_str(&self.day, "%Y-%m-%d").ok()?;
        let per_euro = self
            .rates
            .iter()
            .filter_map(|(code, rate)| {
                Some((Currency::stored(code).ok()?, Rate::parse(rate).ok()?))
            })
            .collect();
        Some(RateTable { date, per_euro })
    }
}

impl Store {
    fn rate_docs(&self) -> mongodb::Collection<RateDoc> {
        self.db.collection(COLLECTION)
    }

    /// Stores each table as its day's document (replacing what that day
    /// had), a few at a time. `source` says where they came from (`ecb-csv`,
    /// `http`). Returns how many days were new.
    pub async fn put_rate_tables(
        &self,
        tables: &[RateTable],
        source: &str,
    ) -> Result<u64, StoreError> {
        let mut new_days = 0;
        for chunk in tables.chunks(WRITES_AT_ONCE) {
            let written = futures_util::future::try_join_all(
                chunk.iter().map(|table| self.put_rate_table(table, source)),
            )
            .await?;
            new_days += written.iter().filter(|new| **new).count() as u64;
        }
        Ok(new_days)
    }

    /// One day's table; true when the day was not stored before.
    async fn put_rate_table(&self, table: &RateTable, source: &str) -> Result<bool, StoreError> {
        let mut document = mongodb::bson::to_document(&RateDoc::of(table, source))
            .map_err(StoreError::internal)?;
        document.insert("updatedAt", now());
        let result = self
            .rate_docs()
            .clone_with_type::<Document>()
            .replace_one(doc! { "_id": table.day() }, document)
            .upsert(true)
            .await?;
        Ok(result.upserted_id.is_some())
    }

    /// The table in force on `day` (`YYYY-MM-DD`): the latest at or before
    /// it; the latest of all without a day.
    pub async fn rate_table(&self, day: Option<&str>) -> Result<Option<RateTable>, StoreError> {
        let filter = match day {
            Some(day) => doc! { "_id": { "$lte": day } },
            None => doc! {},
        };
        let found = self
            .rate_docs()
            .find_one(filter)
            .sort(doc! { "_id": -1 })
            .await?;
        Ok(found.and_then(RateDoc::table))
    }
}
