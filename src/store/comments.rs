//! The `comments` collection: what people wrote on an expense or a payment,
//! `{_id, on, author, text, createdAt}` under an `{on: 1, _id: 1}` index
//! (an object's comments, oldest first). Who may read or write them is the
//! application's rule (`app::comments`); deleting an expense deletes its
//! comments in the same transaction.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::ClientSession;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::store::StoreError;

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
        self.db.collection("comments")
    }

    pub async fn insert_comment(&self, comment: &CommentDoc) -> Result<(), StoreError> {
        self.comments().insert_one(comment).await?;
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

    /// Deletes comment `id` if `author` wrote it; false when it was already
    /// gone.
    pub async fn delete_comment(&self, id: ObjectId, author: ObjectId) -> Result<bool, StoreError> {
        let result = self
            .comments()
            .delete_one(doc! { "_id": id, "author": author })
            .await?;
        Ok(result.deleted_count == 1)
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
