//! Removing stored bytes no picture uses: what a crash between an upload and
//! its transaction's commit (or a failed delete) leaves behind.

use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

use super::BUCKET;
use crate::store::Store;
use crate::store::StoreError;

impl Store {
    /// Removes stored bytes no picture uses: blobs without references, and
    /// GridFS files (or chunks left of one) that no blob refers to and that
    /// are older than `grace` (so uploads whose transaction is still running
    /// are left alone). Returns the number of files removed.
    pub async fn sweep_images(&self, grace: Duration) -> Result<u64, StoreError> {
        let mut removed = 0;
        let unused: Vec<Document> = self
            .blobs()
            .find(doc! { "refs": { "$lte": 0 } })
            .await?
            .try_collect()
            .await?;
        for blob in unused {
            let deleted = self
                .blobs()
                .delete_one(doc! { "_id": blob.get("_id").cloned().unwrap_or(Bson::Null), "refs": { "$lte": 0 } })
                .await?;
            if let (1, Ok(file)) = (deleted.deleted_count, blob.get_object_id("file")) {
                self.discard_files([file]).await;
                removed += 1;
            }
        }
        // Ids start with their creation time in seconds: the smallest id of
        // the cutoff second bounds everything created before it.
        let seconds = SystemTime::now()
            .checked_sub(grace)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        let cutoff = ObjectId::from_bytes(bytes);
        let old = doc! { "$lt": cutoff };
        // Files, then chunks whose files document may be gone: both read in
        // id order, a batch at a time, so memory stays flat however many.
        let files = self
            .db
            .collection::<Document>(&format!("{BUCKET}.files"))
            .find(doc! { "_id": old.clone() })
            .projection(doc! { "_id": 1 })
            .sort(doc! { "_id": 1 })
            .await?
            .map_ok(|d| d.get_object_id("_id").ok());
        removed += self.sweep_files(files).await?;
        let chunks = self
            .db
            .collection::<Document>(&format!("{BUCKET}.chunks"))
            .find(doc! { "files_id": old })
            .projection(doc! { "_id": 0, "files_id": 1 })
            .sort(doc! { "files_id": 1, "n": 1 })
            .await?
            .map_ok(|d| d.get_object_id("files_id").ok());
        removed += self.sweep_files(chunks).await?;
        Ok(removed)
    }

    /// Deletes the files in `ids` (sorted, possibly repeated) that no blob
    /// refers to, checking 500 at a time.
    async fn sweep_files(
        &self,
        ids: impl futures_util::Stream<Item = mongodb::error::Result<Option<ObjectId>>>,
    ) -> Result<u64, StoreError> {
        const BATCH: usize = 500;
        let mut ids = std::pin::pin!(ids);
        let mut batch: Vec<ObjectId> = Vec::with_capacity(BATCH);
        let mut removed = 0;
        loop {
            let next = ids.try_next().await?;
            if let Some(Some(id)) = next {
                if batch.last() != Some(&id) {
                    batch.push(id);
                }
                if batch.len() < BATCH {
                    continue;
                }
            }
            let used: Vec<ObjectId> = self
                .blobs()
                .distinct("file", doc! { "file": { "$in": &batch } })
                .await?
                .into_iter()
                .filter_map(|b| b.as_object_id())
                .collect();
            for file in batch.drain(..).filter(|f| !used.contains(f)) {
                // Chunks go even when their files document is already gone.
                match self.bucket().delete(file.into()).await {
                    Ok(()) => {}
                    Err(e) if matches!(*e.kind, mongodb::error::ErrorKind::GridFs(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                tracing::info!(%file, "removed a picture file nothing refers to");
                removed += 1;
            }
            if next.is_none() {
                return Ok(removed);
            }
        }
    }
}
