//! The `trash` collection: deleted expenses and payments, `{_id, doc,
//! deletedAt, deletedBy, participants}`, moved here in the deleting
//! transaction so every read of `expenses` (lists, counts, balances,
//! settle-up, the old group listing) stays untouched by soft deletion.
//! Restoring moves the document back, as its next version, and books it
//! again; a purge after the retention period removes it for good with its
//! comments and receipt.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::Deserialize;

use super::{journal, to_document, ExpenseChange, ExpenseDoc, COLLECTION as EXPENSES};
use crate::store::batch::Batch;
use crate::store::{now, Store, StoreError};

pub(in crate::store) const COLLECTION: &str = "trash";

/// A deleted expense or payment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrashedDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub doc: ExpenseDoc,
    pub deleted_at: DateTime,
    pub deleted_by: ObjectId,
}

impl Store {
    fn trash(&self) -> mongodb::Collection<TrashedDoc> {
        self.db.collection(COLLECTION)
    }

    /// The deleted expense or payment with this id, if it is in the trash.
    pub async fn trashed_by_id(&self, id: ObjectId) -> Result<Option<TrashedDoc>, StoreError> {
        Ok(self.trash().find_one(doc! { "_id": id }).await?)
    }

    /// Brings `trashed` back as its next version, books it again and
    /// journals the restore by `actor`, atomically; None when it left the
    /// trash meanwhile (restored or purged by someone else).
    pub async fn restore_expense(
        &self,
        trashed: &TrashedDoc,
        actor: ObjectId,
    ) -> Result<Option<ExpenseDoc>, StoreError> {
        let mut restored = trashed.doc.clone();
        restored.version = trashed.doc.version + 1;
        restored.updated_at = now();
        let mut batch = Batch::new();
        batch
            .delete(
                COLLECTION,
                doc! { "_id": trashed.id, "deletedAt": trashed.deleted_at },
                false,
            )
            .require_match();
        batch.insert(EXPENSES, to_document(&restored)?);
        batch.project(None, Some(&restored));
        journal(
            &mut batch,
            ExpenseChange::Restored,
            actor,
            None,
            Some(&restored),
        );
        Ok(self.write_batch(batch).await?.then_some(restored))
    }

    /// Removes for good what was deleted more than `retention` ago, with its
    /// comments and its receipt, each in its own transaction (so replicas
    /// purging together remove each once); at most `limit` per call.
    /// Returns how many were purged.
    pub async fn purge_trash(&self, retention: Duration, limit: i64) -> Result<u64, StoreError> {
        let cutoff =
            now().timestamp_millis() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        let due: Vec<Document> = self
            .db
            .collection::<Document>(COLLECTION)
            .find(doc! { "deletedAt": { "$lt": DateTime::from_millis(cutoff) } })
            .projection(doc! { "_id": 1, "doc.receipt": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        let mut purged = 0;
        for item in due {
            let Ok(id) = item.get_object_id("_id") else {
                continue;
            };
            let receipt = item
                .get_document("doc")
                .ok()
                .and_then(|d| d.get_document("receipt").ok())
                .and_then(|r| r.get_str("id").ok())
                .map(str::to_owned);
            // By hand rather than with `and_run2`: the purge runs in a
            // spawned task, which must be `Send`. A conflict (another
            // replica purging it) leaves it to the other.
            let mut session = self.client.start_session().await?;
            session.start_transaction().await?;
            let step = self.purge_in(&mut session, id, receipt.as_deref()).await;
            let (gone, freed) = match step {
                Ok(done) => match session.commit_transaction().await {
                    Ok(()) => done,
                    Err(e) => {
                        tracing::warn!(error = %e, %id, "purging a deleted expense did not commit");
                        continue;
                    }
                },
                Err(e) => {
                    let _ = session.abort_transaction().await;
                    tracing::warn!(error = %e, %id, "purging a deleted expense failed");
                    continue;
                }
            };
            self.discard_files(freed).await;
            purged += u64::from(gone);
        }
        Ok(purged)
    }

    /// Inside the purge's transaction: the trash document, its comments and
    /// its receipt go; whether it was still there, and the file freed.
    async fn purge_in(
        &self,
        s: &mut mongodb::ClientSession,
        id: ObjectId,
        receipt: Option<&str>,
    ) -> mongodb::error::Result<(bool, Option<ObjectId>)> {
        let gone = self
            .trash()
            .delete_one(doc! { "_id": id })
            .session(&mut *s)
            .await?;
        if gone.deleted_count == 0 {
            return Ok((false, None));
        }
        self.delete_comments_on(s, id).await?;
        let freed = match receipt {
            Some(r) => self.release_image(s, r).await?,
            None => None,
        };
        Ok((true, freed))
    }
}
