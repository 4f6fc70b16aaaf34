//! Pictures in the database, with no new infrastructure (backups carry them):
//! - the bytes in GridFS, bucket `imagefiles`, one file per distinct content;
//! - `imageblobs`: a content's SHA-256 → its file, and how many pictures use it;
//! - `images`: one document per picture in use (an avatar, a receipt), named
//!   by an unguessable id, the one in its URL.
//!
//! A picture's documents change in one transaction with what refers to it
//! (the user's `profileImage`, the expense's `receipt`) and with its owner's
//! usage (`imageBytes` on the user, checked against the quota). GridFS writes
//! cannot join a transaction, so bytes are uploaded before it and deleted
//! after it commits; a crash in between leaves a file no blob refers to,
//! which [`Store::sweep_images`] removes once it is older than a grace period.

use std::time::{Duration, SystemTime};

use futures_util::{AsyncReadExt, AsyncWriteExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::{GridFsBucketOptions, ReturnDocument};
use mongodb::{ClientSession, Collection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{as_int, at_version, now, ExpenseDoc, Store, UserDoc};
use crate::error::ApiError;
use crate::images::process::{Picture, Purpose};
use crate::images::IMAGE_PATH;

const BUCKET: &str = "imagefiles";

/// One picture in use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDoc {
    /// 128 random bits, hex: the URL's last segment.
    #[serde(rename = "_id")]
    pub id: String,
    /// SHA-256 of the bytes (hex): the `imageblobs` id and the strong ETag.
    pub blob: String,
    /// The GridFS file holding the bytes.
    pub file: ObjectId,
    /// `avatar` or `receipt`.
    pub kind: String,
    /// Whose quota it counts against: the user who uploaded it.
    pub owner: ObjectId,
    /// A receipt's expense.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expense: Option<ObjectId>,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub size: i64,
    pub created_at: DateTime,
}

impl ImageDoc {
    pub fn purpose(&self) -> Option<Purpose> {
        Purpose::from_code(&self.kind)
    }
}

/// A receipt as its expense carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptRef {
    pub id: String,
    pub width: i32,
    pub height: i32,
}

/// What a profile update does to the photo.
#[derive(Debug, Default)]
pub enum PhotoChange {
    #[default]
    Keep,
    /// A picture we store.
    Stored(Picture),
    /// Someone else's `https://` URL, as before.
    Link(String),
    Remove,
}

/// Why a picture transaction gave up; carried out of it as a custom error,
/// which aborts it.
#[derive(Debug, Clone, Copy)]
enum Abort {
    OverQuota,
    /// The blob was deleted between looking it up and claiming it.
    BlobGone,
}

/// What an upload would replace, when its owner's room is checked before
/// its body is read ([`Store::check_picture_room`]).
#[derive(Debug, Clone, Copy)]
pub enum Replacing<'a> {
    /// The owner's profile photo, whatever it is.
    Photo,
    /// This picture (a receipt's), if any.
    Picture(Option<&'a str>),
}

/// The stored id of a `profileImage` that is one of our pictures.
pub fn stored_image_id(profile_image: &str) -> Option<&str> {
    profile_image.strip_prefix(IMAGE_PATH)
}

/// The bytes of a picture about to be referred to: their hash, and the file
/// uploaded for them when no blob had them yet.
struct Blob {
    hash: String,
    size: i64,
    uploaded: Option<ObjectId>,
}

fn quota_error(quota: u64) -> ApiError {
    ApiError::TooLarge {
        message: format!(
            "Your pictures would use more than your {} MiB; remove a receipt or your photo first",
            quota >> 20
        ),
        code: Some("QUOTA_EXCEEDED"),
    }
}

/// How many times a picture transaction starts over because the blob it
/// found was deleted meanwhile (each start after the first uploads its own).
const BLOB_ATTEMPTS: usize = 3;

impl Store {
    fn image_docs(&self) -> Collection<ImageDoc> {
        self.db.collection("images")
    }
    fn blobs(&self) -> Collection<Document> {
        self.db.collection("imageblobs")
    }
    fn bucket(&self) -> GridFsBucket {
        self.db.gridfs_bucket(
            GridFsBucketOptions::builder()
                .bucket_name(BUCKET.to_string())
                .build(),
        )
    }

    pub async fn image_by_id(&self, id: &str) -> Result<Option<ImageDoc>, ApiError> {
        Ok(self.image_docs().find_one(doc! { "_id": id }).await?)
    }

    /// A stored picture's bytes (bounded: what we store is re-encoded and small).
    pub async fn image_bytes(&self, image: &ImageDoc) -> Result<Vec<u8>, ApiError> {
        let mut stream = self
            .bucket()
            .open_download_stream(image.file.into())
            .await?;
        let mut bytes = Vec::with_capacity(usize::try_from(image.size).unwrap_or(0));
        stream
            .read_to_end(&mut bytes)
            .await
            .map_err(ApiError::internal)?;
        Ok(bytes)
    }

    /// Changes the profile fields in `set` and the photo, atomically; the
    /// user as it now is (None: no such user).
    pub(super) async fn change_photo(
        &self,
        user: ObjectId,
        mut set: Document,
        photo: PhotoChange,
        quota: u64,
    ) -> Result<Option<UserDoc>, ApiError> {
        let picture = match &photo {
            PhotoChange::Stored(p) => Some(p),
            _ => None,
        };
        let mut unset = Document::new();
        match &photo {
            PhotoChange::Link(url) => {
                set.insert("profileImage", url.as_str());
            }
            PhotoChange::Remove => {
                unset.insert("profileImage", "");
            }
            PhotoChange::Keep | PhotoChange::Stored(_) => {}
        }
        for attempt in 0..BLOB_ATTEMPTS {
            let blob = match picture {
                Some(p) => Some(self.blob_for(p, attempt > 0).await?),
                None => None,
            };
            let mut session = self.client.start_session().await?;
            let result = session
                .start_transaction()
                .and_run2(async |s| {
                    let Some(current) = self
                        .users()
                        .find_one(doc! { "_id": user })
                        .session(&mut *s)
                        .await?
                    else {
                        return Ok(Attached::nothing(None));
                    };
                    let old = match current.profile_image.as_deref().and_then(stored_image_id) {
                        Some(id) => {
                            self.image_docs()
                                .find_one(doc! { "_id": id })
                                .session(&mut *s)
                                .await?
                        }
                        None => None,
                    };
                    let mut fields = set.clone();
                    let mut claimed = None;
                    if let (Some(picture), Some(blob)) = (picture, &blob) {
                        let id = crate::random::hex_id().map_err(mongodb::error::Error::custom)?;
                        fields.insert("profileImage", format!("{IMAGE_PATH}{id}"));
                        let new = NewImage {
                            id,
                            picture,
                            purpose: Purpose::Avatar,
                            owner: user,
                            expense: None,
                        };
                        let credit = old.as_ref().map_or(0, |o| o.size);
                        claimed = Some(self.add_image(s, new, blob, credit, quota).await?);
                    }
                    let mut update = doc! { "$set": fields };
                    if !unset.is_empty() {
                        update.insert("$unset", unset.clone());
                    }
                    let mut freed = Vec::new();
                    if let Some(old) = &old {
                        freed.extend(self.release_image(s, &old.id).await?);
                    }
                    let updated = self
                        .users()
                        .find_one_and_update(doc! { "_id": user }, update)
                        .return_document(ReturnDocument::After)
                        .session(&mut *s)
                        .await?;
                    Ok(Attached {
                        value: updated,
                        freed,
                        claimed,
                    })
                })
                .await;
            let uploaded = blob.as_ref().and_then(|b| b.uploaded);
            if let Some(updated) = self.conclude(result, uploaded, quota).await? {
                return Ok(updated);
            }
        }
        Err(ApiError::internal("a picture's blob kept disappearing"))
    }

    /// Refuses (413 `QUOTA_EXCEEDED`) an upload by `owner` that cannot fit
    /// whatever its size: their stored pictures, less the one it would
    /// replace (when theirs), already fill `quota`. Checked before the
    /// upload's body is read; the transaction that stores it checks again
    /// with the real size.
    pub async fn check_picture_room(
        &self,
        owner: ObjectId,
        replacing: Replacing<'_>,
        quota: u64,
    ) -> Result<(), ApiError> {
        let Some(user) = self
            .users()
            .clone_with_type::<Document>()
            .find_one(doc! { "_id": owner })
            .projection(doc! { "imageBytes": 1, "profileImage": 1 })
            .await?
        else {
            // The upload itself finds no user and says so.
            return Ok(());
        };
        let used = user.get("imageBytes").and_then(as_int).unwrap_or(0);
        let replaced = match replacing {
            Replacing::Photo => user.get_str("profileImage").ok().and_then(stored_image_id),
            Replacing::Picture(id) => id,
        };
        let credit = match replaced {
            Some(id) => self
                .image_docs()
                .find_one(doc! { "_id": id })
                .await?
                .filter(|image| image.owner == owner)
                .map_or(0, |image| image.size),
            None => 0,
        };
        if used - credit >= i64::try_from(quota).unwrap_or(i64::MAX) {
            return Err(quota_error(quota));
        }
        Ok(())
    }

    /// Puts `picture` as the receipt of `expense` (as read, at its version),
    /// charged to `by`; None when the expense changed meanwhile (nothing
    /// written: read it again).
    pub async fn put_receipt(
        &self,
        expense: &ExpenseDoc,
        by: ObjectId,
        picture: &Picture,
        quota: u64,
    ) -> Result<Option<ExpenseDoc>, ApiError> {
        for attempt in 0..BLOB_ATTEMPTS {
            let blob = self.blob_for(picture, attempt > 0).await?;
            let mut session = self.client.start_session().await?;
            let result = session
                .start_transaction()
                .and_run2(async |s| {
                    let old = match &expense.receipt {
                        Some(r) => {
                            self.image_docs()
                                .find_one(doc! { "_id": &r.id })
                                .session(&mut *s)
                                .await?
                        }
                        None => None,
                    };
                    let credit = old.as_ref().filter(|o| o.owner == by).map_or(0, |o| o.size);
                    // The expense first: when it changed, nothing else is written.
                    let id = crate::random::hex_id().map_err(mongodb::error::Error::custom)?;
                    let receipt = ReceiptRef {
                        id: id.clone(),
                        width: i32::try_from(picture.width).unwrap_or(i32::MAX),
                        height: i32::try_from(picture.height).unwrap_or(i32::MAX),
                    };
                    let Some(updated) = self.set_receipt(s, expense, Some(&receipt)).await? else {
                        return Ok(Attached::nothing(None));
                    };
                    let new = NewImage {
                        id,
                        picture,
                        purpose: Purpose::Receipt,
                        owner: by,
                        expense: Some(expense.id),
                    };
                    let claimed = self.add_image(s, new, &blob, credit, quota).await?;
                    let mut freed = Vec::new();
                    if let Some(old) = &old {
                        freed.extend(self.release_image(s, &old.id).await?);
                    }
                    Ok(Attached {
                        value: Some(updated),
                        freed,
                        claimed: Some(claimed),
                    })
                })
                .await;
            if let Some(updated) = self.conclude(result, blob.uploaded, quota).await? {
                return Ok(updated);
            }
        }
        Err(ApiError::internal("a picture's blob kept disappearing"))
    }

    /// Removes the receipt of `expense` (as read); None when it changed
    /// meanwhile.
    pub async fn remove_receipt(
        &self,
        expense: &ExpenseDoc,
    ) -> Result<Option<ExpenseDoc>, ApiError> {
        let Some(receipt) = &expense.receipt else {
            return Ok(Some(expense.clone()));
        };
        let mut session = self.client.start_session().await?;
        let (updated, freed) = session
            .start_transaction()
            .and_run2(async |s| {
                let Some(updated) = self.set_receipt(s, expense, None).await? else {
                    return Ok((None, Vec::new()));
                };
                let freed = self.release_image(s, &receipt.id).await?;
                Ok((Some(updated), freed.into_iter().collect::<Vec<_>>()))
            })
            .await?;
        self.discard_files(freed).await;
        Ok(updated)
    }

    /// Inside a transaction: stores the document of a new picture in `blob`,
    /// charged to its owner within `quota` (`credit` bytes of it given back
    /// by the picture it replaces), one more reference to the blob; the
    /// blob's file.
    async fn add_image(
        &self,
        s: &mut ClientSession,
        new: NewImage<'_>,
        blob: &Blob,
        credit: i64,
        quota: u64,
    ) -> mongodb::error::Result<ObjectId> {
        self.charge(s, new.owner, blob.size, credit, quota).await?;
        let file = self.claim_blob(s, blob).await?;
        self.image_docs()
            .insert_one(new.into_doc(blob, file))
            .session(&mut *s)
            .await?;
        Ok(file)
    }

    /// After a picture transaction: on success, deletes the files it freed
    /// and our upload unless it became the blob's file, and gives its value;
    /// on failure, deletes our upload unless a blob refers to it, and gives
    /// None when the blob vanished meanwhile (start over), the quota or other
    /// error otherwise.
    async fn conclude<T>(
        &self,
        result: mongodb::error::Result<Attached<T>>,
        uploaded: Option<ObjectId>,
        quota: u64,
    ) -> Result<Option<T>, ApiError> {
        match result {
            Ok(done) => {
                let unused = uploaded.filter(|u| done.claimed != Some(*u));
                self.discard_files(done.freed.into_iter().chain(unused))
                    .await;
                Ok(Some(done.value))
            }
            Err(e) => {
                self.discard_unclaimed(uploaded).await;
                match e.get_custom::<Abort>() {
                    Some(Abort::OverQuota) => Err(quota_error(quota)),
                    Some(Abort::BlobGone) => Ok(None),
                    None => Err(e.into()),
                }
            }
        }
    }

    /// Sets or clears the receipt of the expense as read at its version, as
    /// a new version; None when it is at another version.
    async fn set_receipt(
        &self,
        s: &mut ClientSession,
        expense: &ExpenseDoc,
        receipt: Option<&ReceiptRef>,
    ) -> mongodb::error::Result<Option<ExpenseDoc>> {
        let at = now();
        let change = match receipt {
            Some(r) => doc! {
                "$set": { "receipt": mongodb::bson::to_bson(r)?, "updatedAt": at },
                "$inc": { "version": 1 },
            },
            None => doc! {
                "$unset": { "receipt": "" },
                "$set": { "updatedAt": at },
                "$inc": { "version": 1 },
            },
        };
        self.expenses()
            .find_one_and_update(
                doc! { "_id": expense.id, "version": at_version(expense.version) },
                change,
            )
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await
    }

    /// Inside a transaction: `id` is no longer used. Its document goes, its
    /// owner's usage drops, and when it was the last use of its bytes, the
    /// blob goes too: the file to delete once the transaction has committed.
    pub(super) async fn release_image(
        &self,
        s: &mut ClientSession,
        id: &str,
    ) -> mongodb::error::Result<Option<ObjectId>> {
        let Some(image) = self
            .image_docs()
            .find_one_and_delete(doc! { "_id": id })
            .session(&mut *s)
            .await?
        else {
            return Ok(None);
        };
        self.users()
            .update_one(
                doc! { "_id": image.owner },
                doc! { "$inc": { "imageBytes": -image.size } },
            )
            .session(&mut *s)
            .await?;
        let blob = self
            .blobs()
            .find_one_and_update(doc! { "_id": &image.blob }, doc! { "$inc": { "refs": -1 } })
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?;
        match blob {
            Some(b) if b.get("refs").and_then(as_int).unwrap_or(0) <= 0 => {
                self.blobs()
                    .delete_one(doc! { "_id": &image.blob })
                    .session(&mut *s)
                    .await?;
                Ok(b.get_object_id("file").ok())
            }
            _ => Ok(None),
        }
    }

    /// Inside a transaction: adds `size` bytes to `owner`'s usage, `credit`
    /// of which are given back in the same transaction (the picture being
    /// replaced); aborts it when that would exceed `quota`. The conditional
    /// update makes two uploads at once unable to both squeeze in.
    async fn charge(
        &self,
        s: &mut ClientSession,
        owner: ObjectId,
        size: i64,
        credit: i64,
        quota: u64,
    ) -> mongodb::error::Result<()> {
        let room = i64::try_from(quota).unwrap_or(i64::MAX) + credit - size;
        if room < 0 {
            return Err(mongodb::error::Error::custom(Abort::OverQuota));
        }
        let charged = self
            .users()
            .update_one(
                doc! { "_id": owner, "$or": [
                    { "imageBytes": { "$exists": false } },
                    { "imageBytes": { "$lte": room } },
                ] },
                doc! { "$inc": { "imageBytes": size } },
            )
            .session(&mut *s)
            .await?;
        if charged.matched_count == 0 {
            return Err(mongodb::error::Error::custom(Abort::OverQuota));
        }
        Ok(())
    }

    /// The blob for `picture`'s bytes: the existing one, or a new upload
    /// (always a new upload when `fresh`).
    async fn blob_for(&self, picture: &Picture, fresh: bool) -> Result<Blob, ApiError> {
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

    async fn upload(&self, bytes: &[u8], hash: &str) -> Result<ObjectId, ApiError> {
        let id = ObjectId::new();
        let mut stream = self.bucket().open_upload_stream(hash).id(id.into()).await?;
        stream.write_all(bytes).await.map_err(ApiError::internal)?;
        stream.close().await.map_err(ApiError::internal)?;
        Ok(id)
    }

    /// Inside a transaction: one more picture uses the blob; its file. An
    /// upload creates the blob if no one else did meanwhile (else theirs is
    /// used, and ours discarded after commit).
    async fn claim_blob(
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
    pub(super) async fn discard_files(&self, files: impl IntoIterator<Item = ObjectId>) {
        for file in files {
            if let Err(e) = self.bucket().delete(file.into()).await {
                tracing::warn!(error = %e, %file, "could not delete a picture's file; the sweep will");
            }
        }
    }

    /// Deletes our upload unless a blob refers to it: after a transaction
    /// that failed (whose commit may still have happened).
    async fn discard_unclaimed(&self, uploaded: Option<ObjectId>) {
        let Some(file) = uploaded else { return };
        match self.blobs().find_one(doc! { "file": file }).await {
            Ok(None) => self.discard_files([file]).await,
            Ok(Some(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, %file, "could not check an upload; the sweep will")
            }
        }
    }

    /// Removes stored bytes no picture uses: blobs without references, and
    /// GridFS files (or chunks left of one) that no blob refers to and that
    /// are older than `grace` (so uploads whose transaction is still running
    /// are left alone). Returns the number of files removed.
    pub async fn sweep_images(&self, grace: Duration) -> Result<u64, ApiError> {
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
    ) -> Result<u64, ApiError> {
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

/// What a picture transaction did: its value, the files its released blobs
/// had (to delete once it committed), and the file of the blob it claimed.
struct Attached<T> {
    value: T,
    freed: Vec<ObjectId>,
    claimed: Option<ObjectId>,
}

impl<T> Attached<T> {
    /// Nothing written.
    fn nothing(value: T) -> Self {
        Self {
            value,
            freed: Vec::new(),
            claimed: None,
        }
    }
}

/// A picture about to be stored, before its blob is known.
struct NewImage<'a> {
    id: String,
    picture: &'a Picture,
    purpose: Purpose,
    owner: ObjectId,
    expense: Option<ObjectId>,
}

impl NewImage<'_> {
    fn into_doc(self, blob: &Blob, file: ObjectId) -> ImageDoc {
        ImageDoc {
            id: self.id,
            blob: blob.hash.clone(),
            file,
            kind: self.purpose.code().to_string(),
            owner: self.owner,
            expense: self.expense,
            content_type: self.picture.content_type.to_string(),
            width: i32::try_from(self.picture.width).unwrap_or(i32::MAX),
            height: i32::try_from(self.picture.height).unwrap_or(i32::MAX),
            size: blob.size,
            created_at: now(),
        }
    }
}
