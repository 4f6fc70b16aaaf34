//! The `comments` collection: what people wrote on an expense or a payment,
//! `{_id, on, author, text, createdAt}` under an `{on: 1, _id: 1}` index
//! (an object's comments, oldest first). Who may read or write them is the
//! application's rule (`app::comments`); they stay while their expense is in
//! the trash and go when it is purged, in the same transaction.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::ClientSession;
use serde::{Deserialize, Serialize};

use super::batch::Batch;
use super::journal::EntryDoc;
use super::Store;
use crate::store::StoreError;

const COLLECTION: &str = "comments";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// The expense or payment.
    pub on: ObjectId,
    pub author: ObjectId,
    pub text: String,
    pub created_at: DateTime,
}

impl Store {
    fn comments(&self) -> mongodb::Collection<CommentDoc> {
        self.db.collection(COLLECTION)
    }

    /// Inserts the comment and its journal entry, atomically.
    pub async fn insert_comment(
        &self,
        comment: &CommentDoc,
        entry: &EntryDoc,
    ) -> Result<(), StoreError> {
        let mut batch = Batch::new();
        let document = mongodb::bson::to_document(comment).map_err(StoreError::internal)?;
        batch.insert(COLLECTION, document).journal(entry);
        self.write_batch(batch).await?;
        Ok(())
    }

    /// One page of the comments on `on`, oldest first, and how many there
    /// are in all.
    pub async fn comments_on(
        &self,
        on: ObjectId,
        skip: u64,
        limit: i64,
    ) -> Result<(Vec<CommentDoc>, u64), StoreError> {
        let filter = doc! { "on": on };
        let coll = self.comments();
        let page = async {
            coll.find(filter.clone())
                .sort(doc! { "on": 1, "_id": 1 })
                .skip(skip)
                .limit(limit)
                .await?
                .try_collect::<Vec<_>>()
                .await
        };
        let total = async { coll.count_documents(filter.clone()).await };
        Ok(futures_util::try_join!(page, total)?)
    }

    pub async fn comment(&self, id: ObjectId) -> Result<Option<CommentDoc>, StoreError> {
        Ok(self.comments().find_one(doc! { "_id": id }).await?)
    }

    /// Deletes comment `id` if `author` wrote it, with its journal entry,
    /// atomically; false when it was already gone.
    pub async fn delete_comment(
        &self,
        id: ObjectId,
        author: ObjectId,
        entry: &EntryDoc,
    ) -> Result<bool, StoreError> {
        let mut batch = Batch::new();
        batch
            .delete(COLLECTION, doc! { "_id": id, "author": author }, false)
            .require_match()
            .journal(entry);
        self.write_batch(batch).await
    }

    /// Inside the transaction that deletes the expense or payment `on`.
    pub(super) async fn delete_comments_on(
        &self,
        session: &mut ClientSession,
        on: ObjectId,
    ) -> mongodb::error::Result<()> {
        self.comments()
            .delete_many(doc! { "on": on })
            .session(session)
            .await?;
        Ok(())
    }
}
