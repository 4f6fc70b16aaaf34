//! What the exports' rows are made of: CSV records (RFC 4180, CRLF, the
//! `csv` crate), days, each person's net in a document, and the names of
//! people and groups looked up a batch at a time in a bounded cache.

use std::collections::{BTreeMap, HashMap};

use mongodb::bson::oid::ObjectId;

use crate::domain::category::StoredCategory;
use crate::domain::money::Currency;
use crate::domain::postings::{nets, postings};
use crate::domain::splitwise::{neutralize, splitwise_category, PAYMENT};
use crate::error::ApiError;
use crate::store::exports::Exported;
use crate::store::{ledger::bill_of, ExpenseDoc, Kind, Store};

/// CSV records appended to a buffer.
pub(super) struct Csv(csv::WriterBuilder);

impl Csv {
    pub(super) fn new() -> Self {
        let mut builder = csv::WriterBuilder::new();
        builder
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(1024);
        Self(builder)
    }

    /// One record, quoted where RFC 4180 needs it, appended to `out`.
    pub(super) fn record<I, T>(&mut self, fields: I, out: &mut Vec<u8>) -> Result<(), ApiError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut writer = self.0.from_writer(out);
        writer.write_record(fields).map_err(ApiError::internal)?;
        writer.flush().map_err(ApiError::internal)
    }

    /// An empty line (the layout's separator), appended to `out`.
    pub(super) fn blank_line(&mut self, out: &mut Vec<u8>) -> Result<(), ApiError> {
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Today (UTC), `YYYY-MM-DD`.
pub(super) fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Each person's net in the document (paid − owed, as the ledger books it:
/// a settled share was repaid to the main payer), zero ones left out. They
/// sum to zero.
pub(super) fn positions(e: &ExpenseDoc) -> BTreeMap<ObjectId, i64> {
    nets(&postings(&bill_of(e)))
        .into_iter()
        .map(|(user, net)| (user, i64::try_from(net).unwrap_or(0)))
        .collect()
}

/// The currency and amount the balances hold a document in: the exchange's
/// for an expense booked in another currency, else its own. Rows write
/// these, so their nets and the totals match the balances.
pub(super) fn booked(e: &ExpenseDoc) -> (Currency, i64) {
    match &e.exchange {
        Some(x) => (x.currency, x.amount),
        None => (e.currency, e.amount),
    }
}

/// `user`'s share of the document as booked (converted with the rest).
pub(super) fn booked_share(e: &ExpenseDoc, user: ObjectId) -> i64 {
    bill_of(e)
        .shares
        .iter()
        .filter(|s| s.user == user)
        .map(|s| s.amount)
        .sum()
}

/// Splitwise's name of the category (as the group export writes it),
/// `Payment` for a payment, the old server's own text as it is.
pub(super) fn category_text(e: &ExpenseDoc) -> String {
    if e.kind == Kind::Payment {
        return PAYMENT.into();
    }
    match &e.category {
        StoredCategory::Known(c) => splitwise_category(*c).into(),
        StoredCategory::Legacy(text) => neutralize(text).into_owned(),
    }
}

/// What a user without a document is called.
pub(super) const DELETED_USER: &str = "Deleted user";
/// Names kept at most; beyond, the cache starts again.
const MAX_CACHED: usize = 5_000;

/// Names of people and groups, looked up for a batch of documents at a
/// time (one query each for those not seen yet).
pub(super) struct Names {
    store: Store,
    users: HashMap<ObjectId, String>,
    groups: HashMap<ObjectId, String>,
}

impl Names {
    pub(super) fn new(store: Store) -> Self {
        Self {
            store,
            users: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    /// Looks up the names `batch` needs that are not known yet.
    pub(super) async fn load(&mut self, batch: &[Exported]) -> Result<(), ApiError> {
        let mut users: Vec<ObjectId> = batch.iter().flat_map(|d| people(&d.expense)).collect();
        let mut groups: Vec<ObjectId> = batch.iter().filter_map(|d| d.expense.group).collect();
        for (ids, known) in [
            (&mut users, &mut self.users),
            (&mut groups, &mut self.groups),
        ] {
            ids.sort();
            ids.dedup();
            if known.len() + ids.len() > MAX_CACHED {
                known.clear();
            }
            ids.retain(|id| !known.contains_key(id));
        }
        let (mut found_users, mut found_groups) = futures_util::try_join!(
            self.store.user_names(&users),
            self.store.group_names(&groups)
        )?;
        for id in users {
            let name = found_users.remove(&id);
            self.users
                .insert(id, name.unwrap_or_else(|| DELETED_USER.into()));
        }
        for id in groups {
            self.groups
                .insert(id, found_groups.remove(&id).unwrap_or_default());
        }
        Ok(())
    }

    pub(super) fn user(&self, id: ObjectId) -> &str {
        self.users.get(&id).map_or(DELETED_USER, String::as_str)
    }

    pub(super) fn group(&self, id: ObjectId) -> &str {
        self.groups.get(&id).map_or("", String::as_str)
    }
}

/// Everyone a document names: creator, payers, people in its split.
fn people(e: &ExpenseDoc) -> impl Iterator<Item = ObjectId> + '_ {
    [e.created_by, e.paid_by]
        .into_iter()
        .chain(e.payers.iter().map(|p| p.user))
        .chain(e.split_with.iter().map(|s| s.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_rfc_4180_and_blank_lines_are_empty() {
        let mut csv = Csv::new();
        let mut out = Vec::new();
        csv.record(["a", "Taxi, \"airport\"", " "], &mut out)
            .unwrap();
        csv.blank_line(&mut out).unwrap();
        csv.record(["b"], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,\"Taxi, \"\"airport\"\"\", \r\n\r\nb\r\n"
        );
    }

    #[test]
    fn days_are_utc_dates() {
        let date = mongodb::bson::DateTime::parse_rfc3339_str("2026-03-01T23:30:00Z").unwrap();
        assert_eq!(crate::app::views::day(date), "2026-03-01");
    }
}
