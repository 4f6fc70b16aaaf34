//! The bytes of pictures: one GridFS file per distinct content, found by
//! its SHA-256 through `imageblobs`. GridFS writes cannot join a
//! transaction: files are uploaded before it and deleted after it commits.

use futures_util::{AsyncReadExt, AsyncWriteExt};
use mongodb::bson::{doc, oid::ObjectId};
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;
use sha2::{Digest, Sha256};

use super::{Abort, Blob, ImageDoc};
use crate::images::process::Picture;
use crate::store::StoreError;
use crate::store::{now, Store};

impl Store {
    /// A stored picture's bytes (bounded: what we store is re-encoded and small).
    pub async fn image_bytes(&self, image: &ImageDoc) -> Result<Vec<u8>, StoreError> {
        let mut stream = self
            .bucket()
            .open_download_stream(image.file.into())
            .await?;
        let mut bytes = Vec::with_capacity(usize::try_from(image.size).unwrap_or(0));
        stream
            .read_to_end(&mut bytes)
            .await
            .map_err(StoreError::internal)?;
        Ok(bytes)
    }

    /// The blob for `picture`'s bytes: the existing one, or a new upload
    /// (always a new upload when `fresh`).
    pub(super) async fn blob_for(
        &self,
        picture: &Picture,
        fresh: bool,
    ) -> Result<Blob, StoreError> {
        let hash = crate::random::hex(&Sha256::digest(&picture.bytes));
        let size = i64::try_from(picture.bytes.len()).unwrap_or(i64::MAX);
        let exists = !fresh
            && self
                .blobs()
                .find_one(doc! { "_id": &hash })
                .projection(doc! { "_id": 1 })
                .await?
                .is_some();
        let uploaded = if exists {
            None
        } else {
            Some(self.upload(&picture.bytes, &hash).await?)
        };
        Ok(Blob {
            hash,
            size,
            uploaded,
        })
    }

    async fn upload(&self, bytes: &[u8], hash: &str) -> Result<ObjectId, StoreError> {
        let id = ObjectId::new();
        let mut stream = self.bucket().open_upload_stream(hash).id(id.into()).await?;
        stream
            .write_all(bytes)
            .await
            .map_err(StoreError::internal)?;
        stream.close().await.map_err(StoreError::internal)?;
        Ok(id)
    }

    /// Inside a transaction: one more picture uses the blob; its file. An
    /// upload creates the blob if no one else did meanwhile (else theirs is
    /// used, and ours discarded after commit).
    pub(super) async fn claim_blob(
        &self,
        s: &mut ClientSession,
        blob: &Blob,
    ) -> mongodb::error::Result<ObjectId> {
        let blobs = self.blobs();
        let mut query = blobs.find_one_and_update(
            doc! { "_id": &blob.hash },
            match blob.uploaded {
                Some(file) => doc! {
                    "$inc": { "refs": 1 },
                    "$setOnInsert": { "file": file, "size": blob.size, "createdAt": now() },
                },
                None => doc! { "$inc": { "refs": 1 } },
            },
        );
        if blob.uploaded.is_some() {
            query = query.upsert(true);
        }
        let claimed = query
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?;
        claimed
            .and_then(|b| b.get_object_id("file").ok())
            .ok_or_else(|| mongodb::error::Error::custom(Abort::BlobGone))
    }

    /// Deletes files whose blob is gone. A failure is logged and left to the
    /// sweep.
    pub(in crate::store) async fn discard_files(&self, files: impl IntoIterator<Item = ObjectId>) {
        for file in files {
            if let Err(e) = self.bucket().delete(file.into()).await {
                tracing::warn!(error = %e, %file, "could not delete a picture's file; the sweep will");
            }
        }
    }

    /// Deletes our upload unless a blob refers to it: after a transaction
    /// that failed (whose commit may still have happened).
    pub(super) async fn discard_unclaimed(&self, uploaded: Option<ObjectId>) {
        let Some(file) = uploaded else { return };
        match self.blobs().find_one(doc! { "file": file }).await {
            Ok(None) => self.discard_files([file]).await,
            Ok(Some(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, %file, "could not check an upload; the sweep will")
            }
        }
    }
}
