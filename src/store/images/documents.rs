//! Inside a picture transaction: the picture documents, their owner's usage
//! against the quota, and the receipt an expense refers to; and the quota
//! check made before an upload's body is read.

use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::{stored_image_id, Abort, Blob, ImageDoc, ReceiptRef, Replacing};
use crate::images::process::{Picture, Purpose};
use crate::store::journal::{expense_entry, ExpenseChange};
use crate::store::StoreError;
use crate::store::{as_int, at_version, now, ExpenseDoc, Store};

/// A picture about to be stored, before its blob is known.
pub(super) struct NewImage<'a> {
    pub(super) id: String,
    pub(super) picture: &'a Picture,
    pub(super) purpose: Purpose,
    pub(super) owner: ObjectId,
    pub(super) expense: Option<ObjectId>,
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

impl Store {
    /// Refuses ([`StoreError::QuotaExceeded`]) an upload by `owner` that
    /// cannot fit whatever its size: their stored pictures, less the one it
    /// would replace (when theirs), already fill `quota`. Checked before the
    /// upload's body is read; the transaction that stores it checks again
    /// with the real size.
    pub async fn check_picture_room(
        &self,
        owner: ObjectId,
        replacing: Replacing<'_>,
        quota: u64,
    ) -> Result<(), StoreError> {
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
            return Err(StoreError::QuotaExceeded { quota });
        }
        Ok(())
    }

    /// Inside a transaction: the picture `id` names, if any.
    pub(super) async fn image_in(
        &self,
        s: &mut ClientSession,
        id: Option<&str>,
    ) -> mongodb::error::Result<Option<ImageDoc>> {
        let Some(id) = id else { return Ok(None) };
        self.image_docs()
            .find_one(doc! { "_id": id })
            .session(&mut *s)
            .await
    }

    /// Inside a transaction: stores the document of a new picture in `blob`,
    /// charged to its owner within `quota` (`credit` bytes of it given back
    /// by the picture it replaces), one more reference to the blob; the
    /// blob's file.
    pub(super) async fn add_image(
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

    /// Sets or clears the receipt of the expense as read at its version, as
    /// a new version; None when it is at another version.
    pub(super) async fn set_receipt(
        &self,
        s: &mut ClientSession,
        expense: &ExpenseDoc,
        receipt: Option<&ReceiptRef>,
        actor: ObjectId,
    ) -> mongodb::error::Result<Option<ExpenseDoc>> {
        let at = now();
        let change = match receipt {
            Some(r) => doc! {
                "$set": { "receipt": mongodb::bson::to_bson(r)?, "updatedAt": at, "jv": expense.version + 1 },
                "$inc": { "version": 1 },
            },
            None => doc! {
                "$unset": { "receipt": "" },
                "$set": { "updatedAt": at, "jv": expense.version + 1 },
                "$inc": { "version": 1 },
            },
        };
        let updated = self
            .expenses()
            .find_one_and_update(
                doc! { "_id": expense.id, "version": at_version(expense.version) },
                change,
            )
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?;
        if let Some(updated) = &updated {
            let change = match receipt {
                Some(_) => ExpenseChange::ReceiptAdded,
                None => ExpenseChange::ReceiptRemoved,
            };
            if let Some(entry) = expense_entry(change, actor, Some(expense), Some(updated)) {
                self.journal_in(s, &[entry]).await?;
            }
        }
        Ok(updated)
    }

    /// Inside a transaction: `id` is no longer used. Its document goes, its
    /// owner's usage drops, and when it was the last use of its bytes, the
    /// blob goes too: the file to delete once the transaction has committed.
    pub(in crate::store) async fn release_image(
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
}
