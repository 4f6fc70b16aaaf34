//! The `pendingfriends` collection: people a user added who have not registered
//! yet. Registration turns them into real mutual friendships.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::ClientSession;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::friendships::{known_as, Request};
use super::users::contact_filter;
use super::{is_duplicate_key, StoreError};
use super::{now, Store, UserDoc};
use crate::domain::friendship::Typed;

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
    ) -> Result<Vec<PendingFriendDoc>, StoreError> {
        Ok(self
            .pending()
            .find(doc! { "addedBy": me })
            .sort(doc! { "createdAt": 1, "_id": 1 })
            .await?
            .try_collect()
            .await?)
    }

    /// Sends `me`'s friend requests to registered users, accepts theirs
    /// (`accepts`: people who had asked `me`) and stores pending friends for
    /// the rest, all in one transaction. `Stale` (nothing written) when what the
    /// caller planned from no longer holds: someone it would pend registered,
    /// or an identical pending record was written concurrently. A person who
    /// registers while this commits is caught afterwards and befriended; the
    /// ids of such records are returned.
    pub async fn add_friends(
        &self,
        me: ObjectId,
        requests: &[Request],
        accepts: &[ObjectId],
        pending: &[PendingFriendDoc],
    ) -> Result<FriendsAdded, StoreError> {
        if requests.is_empty() && accepts.is_empty() && pending.is_empty() {
            return Ok(FriendsAdded::Done(Vec::new()));
        }
        let ids: Vec<ObjectId> = pending.iter().map(|p| p.id).collect();
        let contacts = Contacts::of(pending);
        let mut session = self.client.start_session().await?;
        let written = session
            .start_transaction()
            .and_run2(async |s| {
                // Read in the transaction, before any write: a registration
                // committed since the caller's plan makes the plan stale.
                if !pending.is_empty() && self.anyone_registered(s, &contacts).await? {
                    return Ok(false);
                }
                self.request_in(s, me, requests).await?;
                self.accept_in(s, me, accepts).await?;
                if pending.is_empty() {
                    return Ok(true);
                }
                self.pending().insert_many(pending).session(&mut *s).await?;
                self.users()
                    .update_one(
                        doc! { "_id": me },
                        doc! { "$addToSet": { "pendingFriends": { "$each": &ids } }, "$set": { "updatedAt": now() } },
                    )
                    .session(&mut *s)
                    .await?;
                Ok(true)
            })
            .await;
        match written {
            Ok(true) => {}
            Ok(false) => return Ok(FriendsAdded::Stale),
            Err(e) if is_duplicate_key(&e) => return Ok(FriendsAdded::Stale),
            Err(e) => return Err(e.into()),
        }
        // A registration that committed after this transaction read, and
        // swept for pending records before it committed, saw neither: the
        // later of the two commits looks again, so here it is this one.
        let mut converted = Vec::new();
        for user in self
            .users_by_contacts(&contacts.emails, &contacts.phones)
            .await?
        {
            converted.extend(
                self.convert_pending(user.id, &user.email, user.phone_number.as_deref())
                    .await?,
            );
        }
        Ok(FriendsAdded::Done(converted))
    }

    async fn anyone_registered(
        &self,
        s: &mut ClientSession,
        contacts: &Contacts,
    ) -> mongodb::error::Result<bool> {
        let found = self
            .users()
            .clone_with_type::<Document>()
            .find_one(contacts.filter())
            .projection(doc! { "_id": 1 })
            .session(&mut *s)
            .await?;
        Ok(found.is_some())
    }

    /// Removes one of my pending friends; false when it is not mine or unknown.
    pub async fn remove_pending_friend(
        &self,
        me: ObjectId,
        id: ObjectId,
    ) -> Result<bool, StoreError> {
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
    /// friend record naming its email or phone into a friend request from its
    /// adder (incoming for the newcomer, who learns only the adder's name); then
    /// looks once more, for records written by adds that committed meanwhile.
    /// Returns how many users asked the newcomer.
    pub async fn register_user(&self, user: &UserDoc) -> Result<usize, StoreError> {
        let phone = user.phone_number.as_deref();
        let mut session = self.client.start_session().await?;
        let result = session
            .start_transaction()
            .and_run2(async |s| {
                self.users().insert_one(user).session(&mut *s).await?;
                self.convert_pending_in(s, user.id, &user.email, phone)
                    .await
            })
            .await;
        let adders = match result {
            Ok((adders, _)) => adders,
            Err(e) if is_duplicate_key(&e) => return Err(StoreError::EmailTaken),
            Err(e) => return Err(e.into()),
        };
        let late = self.convert_pending(user.id, &user.email, phone).await?;
        Ok(adders + late.len())
    }

    /// Turns the pending records naming `email` or `phone` into friend
    /// requests from their adders to `user`, atomically; returns the records' ids.
    pub async fn convert_pending(
        &self,
        user: ObjectId,
        email: &str,
        phone: Option<&str>,
    ) -> Result<Vec<ObjectId>, StoreError> {
        let mut session = self.client.start_session().await?;
        let (_, ids) = session
            .start_transaction()
            .and_run2(async |s| self.convert_pending_in(s, user, email, phone).await)
            .await?;
        Ok(ids)
    }

    /// [`Store::convert_pending`] inside the caller's transaction: how many
    /// adders asked, and the records converted. What each adder typed (the
    /// email or phone the newcomer registered with, or both) is kept for the
    /// adder alone (`knownAs`).
    async fn convert_pending_in(
        &self,
        s: &mut ClientSession,
        user: ObjectId,
        email: &str,
        phone: Option<&str>,
    ) -> mongodb::error::Result<(usize, Vec<ObjectId>)> {
        let mut contact = vec![doc! { "email": email }];
        if let Some(phone) = phone {
            contact.push(doc! { "phoneNumber": phone });
        }
        let records: Vec<PendingFriendDoc> = self
            .pending()
            .find(doc! { "$or": contact })
            .session(&mut *s)
            .await?
            .stream(&mut *s)
            .try_collect()
            .await?;
        let ids: Vec<ObjectId> = records.iter().map(|r| r.id).collect();
        if ids.is_empty() {
            return Ok((0, ids));
        }
        let typed = typed_by_adder(&records);
        let adders: Vec<ObjectId> = typed.iter().map(|(a, _)| *a).collect();
        let known_as: Vec<Document> = typed.iter().map(|(by, t)| known_as(*by, t)).collect();
        let at = now();
        self.users()
            .update_one(
                doc! { "_id": user },
                doc! {
                    "$addToSet": {
                        "friends": { "$each": &adders },
                        "friendsIn": { "$each": &adders },
                    },
                    "$push": { "knownAs": { "$each": known_as } },
                    "$set": { "updatedAt": at },
                },
            )
            .session(&mut *s)
            .await?;
        self.users()
            .update_many(
                doc! { "_id": { "$in": &adders } },
                doc! {
                    "$addToSet": { "friends": user, "friendsOut": user },
                    "$pull": { "pendingFriends": { "$in": &ids } },
                    "$set": { "updatedAt": at },
                },
            )
            .session(&mut *s)
            .await?;
        self.pending()
            .delete_many(doc! { "_id": { "$in": &ids } })
            .session(&mut *s)
            .await?;
        Ok((adders.len(), ids))
    }
}

/// Per adder (in id order), what they typed in their records: a person
/// pended by email and again by phone is one request knowing both.
fn typed_by_adder(records: &[PendingFriendDoc]) -> Vec<(ObjectId, Typed)> {
    let mut by: BTreeMap<ObjectId, Typed> = BTreeMap::new();
    for r in records {
        let t = by.entry(r.added_by).or_default();
        if t.email.is_none() {
            t.email.clone_from(&r.email);
        }
        if t.phone.is_none() {
            t.phone.clone_from(&r.phone_number);
        }
    }
    by.into_iter().collect()
}

/// What [`Store::add_friends`] did.
#[derive(Debug)]
pub enum FriendsAdded {
    /// Written; the pending records (by id) whose person registered while it
    /// committed, and who are friends now.
    Done(Vec<ObjectId>),
    /// Nothing written: plan again from what is stored now.
    Stale,
}

/// The emails and phone numbers of pending records.
struct Contacts {
    emails: Vec<String>,
    phones: Vec<String>,
}

impl Contacts {
    fn of(pending: &[PendingFriendDoc]) -> Self {
        Self {
            emails: pending.iter().filter_map(|p| p.email.clone()).collect(),
            phones: pending
                .iter()
                .filter_map(|p| p.phone_number.clone())
                .collect(),
        }
    }

    fn filter(&self) -> Document {
        contact_filter(&self.emails, &self.phones)
    }
}
