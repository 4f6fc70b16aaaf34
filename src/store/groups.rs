//! The `groups` collection. Members are embedded; deletion is soft (`isActive`).

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::friendships::Request;
use super::{at_version, now, Store};
use crate::domain::friendship::Typed;
use crate::domain::group::Role;
use crate::domain::months::MonthCounts;
use crate::store::journal::EntryDoc;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user: ObjectId,
    pub role: Role,
    pub joined_at: DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub members: Vec<MemberDoc>,
    pub created_by: ObjectId,
    pub is_active: bool,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// How many expenses the group holds per month (`"2025-11": 4`),
    /// maintained with every expense write.
    #[serde(default)]
    pub expense_months: BTreeMap<String, i64>,
    /// Everyone who ever took part in one of its expenses or payments
    /// (members or not, e.g. since gone), added with every expense write
    /// that brings someone in: what an export's columns are. Complete when
    /// `people_complete` (groups created by this release; others once an
    /// export has gathered it from their expenses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<ObjectId>,
    #[serde(default)]
    pub people_complete: bool,
    /// Counts changes of name, description, members and state from 1 (not
    /// the expense counts); every write checks it, as for expenses.
    #[serde(default)]
    pub version: i64,
}

impl GroupDoc {
    pub fn member(&self, user: ObjectId) -> Option<&MemberDoc> {
        self.members.iter().find(|m| m.user == user)
    }
    pub fn is_member(&self, user: ObjectId) -> bool {
        self.member(user).is_some()
    }
    pub fn expense_counts(&self) -> MonthCounts {
        MonthCounts::from_stored(self.expense_months.iter().map(|(k, n)| (k, *n)))
    }
}

impl Store {
    /// Inserts the group and, atomically, sends the creator's friend request
    /// to every member not connected with them yet (which reveals nothing of
    /// either: contact details follow only acceptance).
    pub async fn create_group(&self, group: &GroupDoc, entry: &EntryDoc) -> Result<(), StoreError> {
        let requests: Vec<Request> = group
            .members
            .iter()
            .filter(|m| m.user != group.created_by)
            .map(|m| Request {
                id: m.user,
                typed: Typed::default(),
            })
            .collect();
        let mut session = self.client.start_session().await?;
        session
            .start_transaction()
            .and_run2(async |s| {
                self.groups().insert_one(group).session(&mut *s).await?;
                self.journal_in(s, std::slice::from_ref(entry)).await?;
                self.request_in(s, group.created_by, &requests).await?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Which of `ids` are registered, active users, in one query.
    pub async fn active_user_ids(&self, ids: &[ObjectId]) -> Result<Vec<ObjectId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let docs: Vec<mongodb::bson::Document> = self
            .users()
            .clone_with_type::<mongodb::bson::Document>()
            .find(doc! { "_id": { "$in": ids }, "isActive": true })
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_object_id("_id").ok())
            .collect())
    }

    /// Names of groups by id, in one query (for rendering expenses).
    pub async fn group_names(
        &self,
        ids: &[ObjectId],
    ) -> Result<std::collections::HashMap<ObjectId, String>, StoreError> {
        super::names_by_id(&self.db, "groups", ids).await
    }

    pub async fn groups_of(&self, me: ObjectId) -> Result<Vec<GroupDoc>, StoreError> {
        Ok(self
            .groups()
            .find(doc! { "members.user": me, "isActive": true })
            .sort(doc! { "createdAt": -1, "_id": -1 })
            .await?
            .try_collect()
            .await?)
    }

    /// The groups with these ids (active or not), in id order.
    pub async fn groups_by_ids(&self, ids: &[ObjectId]) -> Result<Vec<GroupDoc>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .groups()
            .find(doc! { "_id": { "$in": ids } })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?)
    }

    /// Whether `a` and `b` are both members of an active group.
    pub async fn share_a_group(&self, a: ObjectId, b: ObjectId) -> Result<bool, StoreError> {
        let found = self
            .groups()
            .clone_with_type::<mongodb::bson::Document>()
            .find_one(doc! { "members.user": { "$all": [a, b] }, "isActive": true })
            .projection(doc! { "_id": 1 })
            .await?;
        Ok(found.is_some())
    }

    /// An active group by id.
    pub async fn group_by_id(&self, id: ObjectId) -> Result<Option<GroupDoc>, StoreError> {
        Ok(self
            .groups()
            .find_one(doc! { "_id": id, "isActive": true })
            .await?)
    }

    /// Applies `update` to the group only while it is active and at version
    /// `read`, counting the version up, and journals it (`entry` of the group
    /// as written); with `request` (inviter, request) the inviter's friend
    /// request goes to the new member. All in one transaction. None when the
    /// group changed meanwhile (or was deleted): nothing was written.
    pub async fn change_group(
        &self,
        id: ObjectId,
        read: i64,
        mut update: Document,
        request: Option<(ObjectId, Request)>,
        entry: impl Fn(&GroupDoc) -> EntryDoc,
    ) -> Result<Option<GroupDoc>, StoreError> {
        let filter = doc! { "_id": id, "isActive": true, "version": at_version(read) };
        let mut set = update.get_document("$set").cloned().unwrap_or_default();
        set.insert("updatedAt", now());
        update.insert("$set", set);
        update.insert("$inc", doc! { "version": 1 });
        let mut session = self.client.start_session().await?;
        let updated = session
            .start_transaction()
            .and_run2(async |s| {
                let updated = self
                    .groups()
                    .find_one_and_update(filter.clone(), update.clone())
                    .return_document(ReturnDocument::After)
                    .session(&mut *s)
                    .await?;
                let Some(updated) = updated else {
                    return Ok(None);
                };
                self.journal_in(s, &[entry(&updated)]).await?;
                if let Some((inviter, request)) = &request {
                    self.request_in(s, *inviter, std::slice::from_ref(request))
                        .await?;
                }
                Ok(Some(updated))
            })
            .await?;
        Ok(updated)
    }
}

impl Store {
    /// Adds `people` (gathered from the group's expenses) to its `people`
    /// and marks the set complete; writes that add meanwhile are kept.
    pub async fn complete_group_people(
        &self,
        group: ObjectId,
        people: &[ObjectId],
    ) -> Result<(), StoreError> {
        self.groups()
            .update_one(
                doc! { "_id": group },
                doc! {
                    "$addToSet": { "people": { "$each": people } },
                    "$set": { "peopleComplete": true },
                },
            )
            .await?;
        Ok(())
    }
}
