//! The `pendingfriends` collection: people a user added who have not registered
//! yet. Registration turns them into real mutual friendships.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::{now, Store, UserDoc};
use crate::error::{is_duplicate_key, ApiError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFriendDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    pub added_by: ObjectId,
    pub created_at: DateTime,
}

impl Store {
    pub async fn pending_friends_of(
        &self,
        me: ObjectId,
    ) -> Result<Vec<PendingFriendDoc>, ApiError> {
        Ok(self
            .pending()
            .find(doc! { "addedBy": me })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await?
            .try_collect()
            .await?)
    }

    /// Befriends `me` with registered users and stores pending friends for the
    /// rest, all in one transaction.
    pub async fn add_friends(
        &self,
        me: ObjectId,
        befriend: &[ObjectId],
        pending: &[PendingFriendDoc],
    ) -> Result<(), ApiError> {
        if befriend.is_empty() && pending.is_empty() {
            return Ok(());
        }
        let ids: Vec<ObjectId> = pending.iter().map(|p| p.id).collect();
        let mut session = self.client.start_session().await?;
        session
            .start_transaction()
            .and_run2(async |s| {
                self.link_friends(s, me, befriend).await?;
                if pending.is_empty() {
                    return Ok(());
                }
                self.pending().insert_many(pending).session(&mut *s).await?;
                self.users()
                    .update_one(
                        doc! { "_id": me },
                        doc! { "$addToSet": { "pendingFriends": { "$each": &ids } }, "$set": { "updatedAt": now() } },
                    )
                    .session(&mut *s)
                    .await?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Removes one of my pending friends; false when it is not mine or unknown.
    pub async fn remove_pending_friend(
        &self,
        me: ObjectId,
        id: ObjectId,
    ) -> Result<bool, ApiError> {
        let mut session = self.client.start_session().await?;
        let removed = session
            .start_transaction()
            .and_run2(async |s| {
                let deleted = self
                    .pending()
                    .delete_one(doc! { "_id": id, "addedBy": me })
                    .session(&mut *s)
                    .await?;
                if deleted.deleted_count == 0 {
                    return Ok(false);
                }
                self.users()
                    .update_one(
                        doc! { "_id": me },
                        doc! { "$pull": { "pendingFriends": id }, "$set": { "updatedAt": now() } },
                    )
                    .session(&mut *s)
                    .await?;
                Ok(true)
            })
            .await?;
        Ok(removed)
    }

    /// Inserts a new account and, in the same transaction, turns every pending
    /// friend record naming its email or phone into a mutual friendship.
    /// Returns how many users the newcomer was befriended with.
    pub async fn register_user(&self, user: &UserDoc) -> Result<usize, ApiError> {
        let mut contact = vec![doc! { "email": &user.email }];
        if let Some(phone) = &user.phone_number {
            contact.push(doc! { "phoneNumber": phone });
        }
        let filter = doc! { "$or": contact };
        let mut session = self.client.start_session().await?;
        let result = session
            .start_transaction()
            .and_run2(async |s| {
                self.users().insert_one(user).session(&mut *s).await?;
                let records: Vec<Document> = self
                    .pending()
                    .clone_with_type::<Document>()
                    .find(filter.clone())
                    .projection(doc! { "addedBy": 1 })
                    .session(&mut *s)
                    .await?
                    .stream(&mut *s)
                    .try_collect()
                    .await?;
                let ids: Vec<ObjectId> = records
                    .iter()
                    .filter_map(|d| d.get_object_id("_id").ok())
                    .collect();
                let mut adders: Vec<ObjectId> = records
                    .iter()
                    .filter_map(|d| d.get_object_id("addedBy").ok())
                    .collect();
                adders.sort();
                adders.dedup();
                if ids.is_empty() {
                    return Ok(0);
                }
                self.link_friends(s, user.id, &adders).await?;
                self.users()
                    .update_many(
                        doc! { "_id": { "$in": &adders } },
                        doc! { "$pull": { "pendingFriends": { "$in": &ids } } },
                    )
                    .session(&mut *s)
                    .await?;
                self.pending()
                    .delete_many(doc! { "_id": { "$in": &ids } })
                    .session(&mut *s)
                    .await?;
                Ok(adders.len())
            })
            .await;
        match result {
            Ok(n) => Ok(n),
            Err(e) if is_duplicate_key(&e) => {
                Err(ApiError::bad_request("User already exists with this email"))
            }
            Err(e) => Err(e.into()),
        }
    }
}
