//! Friend requests, acceptance, removal and blocks on the `users` documents.
//!
//! Both people of a friendship list each other in `friends`; until the added
//! person agrees, the adder also lists them in `friendsOut` and they list the
//! adder in `friendsIn`. What the adder typed to find them (an email, a phone)
//! is kept on the added person's document in `knownAs` (`{by, email,
//! phoneNumber}`), where [`Store::people`] reads it for the adder alone. Each
//! change of both sides is one transaction, or part of the caller's.

use mongodb::bson::{doc, oid::ObjectId, Document};
use mongodb::ClientSession;
use serde::Deserialize;

use super::journal::{EntryDoc, ObjectRef};
use super::{now, Store};
use crate::domain::friendship::{Target, Typed, MAX_BLOCKED, MAX_FRIENDS};
use crate::store::StoreError;

/// A friend request to write: whom, and what the adder typed to find them.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: ObjectId,
    pub typed: Typed,
}

/// A registered user a bulk add names, as the adder's decision needs them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    blocks_me: bool,
    #[serde(default)]
    friend_count: i64,
}

impl Candidate {
    pub fn target(&self) -> Target {
        Target {
            id: self.id,
            blocks_me: self.blocks_me,
            friend_count: usize::try_from(self.friend_count).unwrap_or(usize::MAX),
        }
    }
}

/// The stored form of a `knownAs` entry.
pub(super) fn known_as(by: ObjectId, typed: &Typed) -> Document {
    let mut entry = doc! { "by": by };
    if let Some(email) = &typed.email {
        entry.insert("email", email);
    }
    if let Some(phone) = &typed.phone {
        entry.insert("phoneNumber", phone);
    }
    entry
}

/// The journal entry of a change between `me` and `other`, by `me`.
fn friend_entry(kind: &str, me: ObjectId, other: ObjectId, audience: Vec<ObjectId>) -> EntryDoc {
    EntryDoc::new(
        kind,
        me,
        ObjectRef {
            kind: "friend".into(),
            id: other,
        },
        audience,
    )
    .with_subject(doc! { "a": me, "b": other })
}

/// Matches a user whose list of `field` has room for one more.
fn has_room(field: &str, max: usize) -> Document {
    doc! { format!("{field}.{}", max - 1): { "$exists": false } }
}

impl Store {
    /// Registered users with any of the emails or phone numbers, each with
    /// whether they blocked `me` and how many friends they have, in one query.
    pub async fn add_candidates(
        &self,
        me: ObjectId,
        emails: &[String],
        phones: &[String],
    ) -> Result<Vec<Candidate>, StoreError> {
        if emails.is_empty() && phones.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = [
            doc! { "$match": super::users::contact_filter(emails, phones) },
            doc! { "$project": {
                "email": 1, "phoneNumber": 1,
                "blocksMe": { "$in": [me, { "$ifNull": ["$blocked", []] }] },
                "friendCount": { "$size": { "$ifNull": ["$friends", []] } },
            } },
        ];
        self.users_aggregate(pipeline).await
    }

    /// Writes `me`'s requests inside the caller's transaction, to those who
    /// have not blocked `me`, are not connected with them yet and have room;
    /// returns the ids written.
    pub(super) async fn request_in(
        &self,
        s: &mut ClientSession,
        me: ObjectId,
        requests: &[Request],
    ) -> mongodb::error::Result<Vec<ObjectId>> {
        let at = now();
        let mut written = Vec::with_capacity(requests.len());
        for r in requests.iter().filter(|r| r.id != me) {
            let mut filter =
                doc! { "_id": r.id, "blocked": { "$ne": me }, "friends": { "$ne": me } };
            filter.extend(has_room("friends", MAX_FRIENDS));
            let mut update = doc! {
                "$addToSet": { "friends": me, "friendsIn": me },
                "$set": { "updatedAt": at },
            };
            if r.typed != Typed::default() {
                update.insert("$push", doc! { "knownAs": known_as(me, &r.typed) });
            }
            let done = self
                .users()
                .update_one(filter, update)
                .session(&mut *s)
                .await?;
            if done.matched_count == 1 {
                written.push(r.id);
            }
        }
        if !written.is_empty() {
            self.journal_friends(s, "friend.added", me, &written)
                .await?;
            self.users()
                .update_one(
                    doc! { "_id": me },
                    doc! {
                        "$addToSet": {
                            "friends": { "$each": &written },
                            "friendsOut": { "$each": &written },
                        },
                        "$set": { "updatedAt": at },
                    },
                )
                .session(&mut *s)
                .await?;
        }
        Ok(written)
    }

    /// Accepts the requests of `others` to `me` inside the caller's
    /// transaction; returns whether `me` had a request from any of them.
    pub(super) async fn accept_in(
        &self,
        s: &mut ClientSession,
        me: ObjectId,
        others: &[ObjectId],
    ) -> mongodb::error::Result<bool> {
        if others.is_empty() {
            return Ok(true);
        }
        let at = now();
        let mine = self
            .users()
            .update_one(
                doc! { "_id": me, "friendsIn": { "$in": others } },
                doc! { "$pull": { "friendsIn": { "$in": others } }, "$set": { "updatedAt": at } },
            )
            .session(&mut *s)
            .await?;
        if mine.matched_count == 0 {
            return Ok(false);
        }
        self.users()
            .update_many(
                doc! { "_id": { "$in": others } },
                doc! { "$pull": { "friendsOut": me }, "$set": { "updatedAt": at } },
            )
            .session(&mut *s)
            .await?;
        self.journal_friends(s, "friend.accepted", me, others)
            .await?;
        Ok(true)
    }

    /// Journals `kind` by `me` with each of `others`, seen by both, inside
    /// the caller's transaction.
    async fn journal_friends(
        &self,
        s: &mut ClientSession,
        kind: &str,
        me: ObjectId,
        others: &[ObjectId],
    ) -> mongodb::error::Result<()> {
        if others.is_empty() {
            return Ok(());
        }
        let entries: Vec<EntryDoc> = others
            .iter()
            .map(|other| friend_entry(kind, me, *other, vec![me, *other]))
            .collect();
        self.journal_in(s, &entries).await
    }

    /// Ends whatever connects `a` and `b`, both ways, inside the caller's
    /// transaction; returns whether they were connected.
    async fn disconnect_in(
        &self,
        s: &mut ClientSession,
        a: ObjectId,
        b: ObjectId,
    ) -> mongodb::error::Result<bool> {
        let at = now();
        let mut connected = false;
        for (x, y) in [(a, b), (b, a)] {
            let done = self
                .users()
                .update_one(
                    doc! { "_id": x },
                    doc! {
                        "$pull": {
                            "friends": y, "friendsOut": y, "friendsIn": y,
                            "knownAs": { "by": y },
                        },
                        "$set": { "updatedAt": at },
                    },
                )
                .session(&mut *s)
                .await?;
            connected |= done.modified_count == 1;
        }
        if connected {
            self.journal_friends(s, "friend.removed", a, &[b]).await?;
        }
        Ok(connected)
    }

    /// Accepts `other`'s request to `me`; false when there is none.
    pub async fn accept_friend(&self, me: ObjectId, other: ObjectId) -> Result<bool, StoreError> {
        let mut session = self.client.start_session().await?;
        Ok(session
            .start_transaction()
            .and_run2(async |s| self.accept_in(s, me, &[other]).await)
            .await?)
    }

    /// Declines `other`'s request to `me` (the entry goes on both sides);
    /// false when there is none.
    pub async fn decline_friend(&self, me: ObjectId, other: ObjectId) -> Result<bool, StoreError> {
        let mut session = self.client.start_session().await?;
        Ok(session
            .start_transaction()
            .and_run2(async |s| {
                let asked = self
                    .users()
                    .clone_with_type::<Document>()
                    .find_one(doc! { "_id": me, "friendsIn": other })
                    .projection(doc! { "_id": 1 })
                    .session(&mut *s)
                    .await?;
                if asked.is_none() {
                    return Ok(false);
                }
                self.disconnect_in(s, me, other).await
            })
            .await?)
    }

    /// Ends the friendship (in any state) both ways, atomically.
    pub async fn unfriend(&self, me: ObjectId, friend: ObjectId) -> Result<(), StoreError> {
        let mut session = self.client.start_session().await?;
        session
            .start_transaction()
            .and_run2(async |s| self.disconnect_in(s, me, friend).await)
            .await?;
        Ok(())
    }

    /// `me` blocks `other`: any friendship ends both ways, in one
    /// transaction. False when `me` already blocks [`MAX_BLOCKED`] people.
    pub async fn block(&self, me: ObjectId, other: ObjectId) -> Result<bool, StoreError> {
        let mut session = self.client.start_session().await?;
        Ok(session
            .start_transaction()
            .and_run2(async |s| {
                let mut filter = doc! { "_id": me };
                filter.extend(has_room("blocked", MAX_BLOCKED));
                let done = self
                    .users()
                    .update_one(
                        filter,
                        doc! { "$addToSet": { "blocked": other }, "$set": { "updatedAt": now() } },
                    )
                    .session(&mut *s)
                    .await?;
                if done.matched_count == 0 {
                    return Ok(false);
                }
                self.disconnect_in(s, me, other).await?;
                // Only the blocker hears of it.
                let entry = friend_entry("friend.blocked", me, other, vec![me]);
                self.journal_in(s, &[entry]).await?;
                Ok(true)
            })
            .await?)
    }

    /// `me` no longer blocks `other`; false when they did not.
    pub async fn unblock(&self, me: ObjectId, other: ObjectId) -> Result<bool, StoreError> {
        let done = self
            .users()
            .update_one(
                doc! { "_id": me, "blocked": other },
                doc! { "$pull": { "blocked": other }, "$set": { "updatedAt": now() } },
            )
            .await?;
        Ok(done.modified_count == 1)
    }

    /// Whether `me` and any of `others` block one another, in one query.
    pub async fn any_block_between(
        &self,
        me: ObjectId,
        others: &[ObjectId],
    ) -> Result<bool, StoreError> {
        let others: Vec<ObjectId> = others.iter().copied().filter(|o| *o != me).collect();
        if others.is_empty() {
            return Ok(false);
        }
        let found = self
            .users()
            .clone_with_type::<Document>()
            .find_one(doc! { "$or": [
                { "_id": { "$in": &others }, "blocked": me },
                { "_id": me, "blocked": { "$in": &others } },
            ] })
            .projection(doc! { "_id": 1 })
            .await?;
        Ok(found.is_some())
    }
}
