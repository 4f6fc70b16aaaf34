//! The transactions that attach a picture to what refers to it (a user's
//! photo, an expense's receipt) or detach it, each with the blob of its
//! bytes claimed or released, and what follows their commit.

use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;

use super::documents::NewImage;
use super::{stored_image_id, Abort, Blob, PhotoChange, ReceiptRef, IMAGE_PATH};
use crate::images::process::{Picture, Purpose};
use crate::store::StoreError;
use crate::store::{ExpenseDoc, Store, UserDoc};

/// How many times a picture transaction starts over because the blob it
/// found was deleted meanwhile (each start after the first uploads its own).
const BLOB_ATTEMPTS: usize = 3;

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

impl Store {
    /// Runs `transaction` (given its session and the blob of `picture`'s
    /// bytes, none without a picture), then deletes what it freed
    /// ([`Store::conclude`]). The one retry of picture transactions: when the
    /// blob it found was deleted meanwhile, it starts over with an upload of
    /// its own, at most [`BLOB_ATTEMPTS`] times.
    async fn attach<T>(
        &self,
        picture: Option<&Picture>,
        quota: u64,
        mut transaction: impl AsyncFnMut(
            &mut ClientSession,
            Option<&Blob>,
        ) -> mongodb::error::Result<Attached<T>>,
    ) -> Result<T, StoreError> {
        for attempt in 0..BLOB_ATTEMPTS {
            let blob = match picture {
                Some(p) => Some(self.blob_for(p, attempt > 0).await?),
                None => None,
            };
            let mut session = self.client.start_session().await?;
            let result = session
                .start_transaction()
                .and_run2(async |s| transaction(s, blob.as_ref()).await)
                .await;
            let uploaded = blob.as_ref().and_then(|b| b.uploaded);
            if let Some(value) = self.conclude(result, uploaded, quota).await? {
                return Ok(value);
            }
        }
        Err(StoreError::internal("a picture's blob kept disappearing"))
    }

    /// Changes the profile fields in `set` and the photo, atomically; the
    /// user as it now is (None: no such user).
    pub(in crate::store) async fn change_photo(
        &self,
        user: ObjectId,
        mut set: Document,
        photo: PhotoChange,
        quota: u64,
    ) -> Result<Option<UserDoc>, StoreError> {
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
        self.attach(picture, quota, async |s, blob| {
            let Some(current) = self
                .users()
                .find_one(doc! { "_id": user })
                .session(&mut *s)
                .await?
            else {
                return Ok(Attached::nothing(None));
            };
            let photo = current.profile_image.as_deref().and_then(stored_image_id);
            let old = self.image_in(s, photo).await?;
            let mut fields = set.clone();
            let mut claimed = None;
            if let (Some(picture), Some(blob)) = (picture, blob) {
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
        .await
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
    ) -> Result<Option<ExpenseDoc>, StoreError> {
        self.attach(Some(picture), quota, async |s, blob| {
            // Always given with a picture; without one, like a vanished blob.
            let blob = blob.ok_or_else(|| mongodb::error::Error::custom(Abort::BlobGone))?;
            let receipt = expense.receipt.as_ref().map(|r| r.id.as_str());
            let old = self.image_in(s, receipt).await?;
            let credit = old.as_ref().filter(|o| o.owner == by).map_or(0, |o| o.size);
            // The expense first: when it changed, nothing else is written.
            let id = crate::random::hex_id().map_err(mongodb::error::Error::custom)?;
            let receipt = ReceiptRef {
                id: id.clone(),
                width: i32::try_from(picture.width).unwrap_or(i32::MAX),
                height: i32::try_from(picture.height).unwrap_or(i32::MAX),
            };
            let Some(updated) = self.set_receipt(s, expense, Some(&receipt), by).await? else {
                return Ok(Attached::nothing(None));
            };
            let new = NewImage {
                id,
                picture,
                purpose: Purpose::Receipt,
                owner: by,
                expense: Some(expense.id),
            };
            let claimed = self.add_image(s, new, blob, credit, quota).await?;
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
        .await
    }

    /// Removes the receipt of `expense` (as read); None when it changed
    /// meanwhile.
    pub async fn remove_receipt(
        &self,
        expense: &ExpenseDoc,
        by: ObjectId,
    ) -> Result<Option<ExpenseDoc>, StoreError> {
        let Some(receipt) = &expense.receipt else {
            return Ok(Some(expense.clone()));
        };
        let mut session = self.client.start_session().await?;
        let (updated, freed) = session
            .start_transaction()
            .and_run2(async |s| {
                let Some(updated) = self.set_receipt(s, expense, None, by).await? else {
                    return Ok((None, Vec::new()));
                };
                let freed = self.release_image(s, &receipt.id).await?;
                Ok((Some(updated), freed.into_iter().collect::<Vec<_>>()))
            })
            .await?;
        self.discard_files(freed).await;
        Ok(updated)
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
    ) -> Result<Option<T>, StoreError> {
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
                    Some(Abort::OverQuota) => Err(StoreError::QuotaExceeded { quota }),
                    Some(Abort::BlobGone) => Ok(None),
                    None => Err(e.into()),
                }
            }
        }
    }
}
