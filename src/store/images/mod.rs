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
//!
//! - `blobs`: the bytes (upload, claim, read, delete);
//! - `attach`: the transactions that attach or detach a picture, and the one
//!   retry when a blob vanishes meanwhile;
//! - `documents`: the steps inside them on picture documents, usage and the
//!   quota;
//! - `sweep`: bytes no picture uses, removed.

mod attach;
mod blobs;
mod documents;
mod sweep;

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::GridFsBucketOptions;
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::images::process::{Picture, Purpose};
use crate::store::StoreError;

/// Where pictures are served; what `profileImage` holds for a stored photo.
pub const IMAGE_PATH: &str = "/v1/images/";
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

    pub async fn image_by_id(&self, id: &str) -> Result<Option<ImageDoc>, StoreError> {
        Ok(self.image_docs().find_one(doc! { "_id": id }).await?)
    }
}

/// Why a picture transaction gave up; carried out of it as a custom error,
/// which aborts it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Abort {
    OverQuota,
    /// The blob was deleted between looking it up and claiming it.
    BlobGone,
}

/// The bytes of a picture about to be referred to: their hash, and the file
/// uploaded for them when no blob had them yet.
pub(super) struct Blob {
    pub(super) hash: String,
    pub(super) size: i64,
    pub(super) uploaded: Option<ObjectId>,
}
