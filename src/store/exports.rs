//! What the exports read: the expenses and payments of a group or of a
//! user, oldest `date` first, from a cursor (one batch in memory at a time,
//! however long the history), who appears in a group's documents, and
//! people's and groups' names by id. The order follows an index: a group's
//! documents the `{group, date, _id}` one, a user's the `{participants,
//! date, _id}` one read backwards.

use std::collections::HashMap;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, Bson, Document, RawDocumentBuf};

use super::{ExpenseDoc, ExpenseFilter, Store, StoreError};

/// Documents the cursor asks the database for at a time.
const BATCH: u32 = 500;

/// One document of an export: the expense (or payment) as the server reads
/// it, and the stored fields it does not model that an export passes on.
#[derive(Debug, Clone)]
pub struct Exported {
    pub expense: ExpenseDoc,
    /// `exchange` (conversion data), as stored, when the document has it.
    pub exchange: Option<Bson>,
}

/// The documents of an export, in order, as the cursor yields them.
pub type ExportCursor = BoxStream<'static, Result<Exported, StoreError>>;

impl Store {
    /// Every expense and payment of `group`, oldest `date` first (then `_id`).
    pub async fn group_export(&self, group: ObjectId) -> Result<ExportCursor, StoreError> {
        self.oldest_first(doc! { "group": group }).await
    }

    /// Every expense and payment `filter` selects (it names a participant),
    /// oldest `date` first (then `_id`).
    pub async fn user_export(&self, filter: &ExpenseFilter) -> Result<ExportCursor, StoreError> {
        self.oldest_first(filter.to_document()).await
    }

    async fn oldest_first(&self, filter: Document) -> Result<ExportCursor, StoreError> {
        let cursor = self
            .db
            .collection::<RawDocumentBuf>("expenses")
            .find(filter)
            .sort(doc! { "date": 1, "_id": 1 })
            .batch_size(BATCH)
            .await?;
        Ok(cursor
            .map_err(StoreError::from)
            .and_then(|raw| async move { exported(&raw) })
            .boxed())
    }

    /// Everyone who appears in a document of `group` (creators, payers,
    /// people in the splits), current members or not, in no order.
    pub async fn group_people(&self, group: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        let found = self
            .expenses()
            .distinct("participants", doc! { "group": group })
            .await?;
        Ok(found.iter().filter_map(Bson::as_object_id).collect())
    }

    /// The names of the users `ids` (unknown ones left out), in one query.
    pub async fn user_names(
        &self,
        ids: &[ObjectId],
    ) -> Result<HashMap<ObjectId, String>, StoreError> {
        super::names_by_id(&self.db, "users", ids).await
    }
}

/// The expense of a raw document, and the fields passed on as stored.
fn exported(raw: &RawDocumentBuf) -> Result<Exported, StoreError> {
    let expense: ExpenseDoc =
        mongodb::bson::from_slice(raw.as_bytes()).map_err(StoreError::internal)?;
    let exchange = match raw.get("exchange").map_err(StoreError::internal)? {
        Some(value) => Some(Bson::try_from(value.to_raw_bson()).map_err(StoreError::internal)?),
        None => None,
    };
    Ok(Exported { expense, exchange })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Kind;

    #[test]
    fn a_stored_exchange_is_passed_on_and_its_absence_is_none() {
        let id = ObjectId::new();
        let now = mongodb::bson::DateTime::now();
        let expense = ExpenseDoc::blank(Kind::Expense, id, id, now);
        let mut stored = mongodb::bson::to_document(&expense).unwrap();
        let plain = RawDocumentBuf::from_document(&stored).unwrap();
        assert!(exported(&plain).unwrap().exchange.is_none());

        stored.insert("exchange", doc! { "from": "EUR", "rate": "1.08" });
        let with = exported(&RawDocumentBuf::from_document(&stored).unwrap()).unwrap();
        assert_eq!(with.expense.id, id);
        assert_eq!(
            with.exchange,
            Some(Bson::Document(doc! { "from": "EUR", "rate": "1.08" }))
        );
    }
}
