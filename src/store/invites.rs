//! Joining groups: guests (members without an account, `users` documents
//! marked `guest`) and the `invites` collection, links that let someone
//! join a group. Only the
//! SHA-256 of a link's token is stored (unique index on `hash`), so the
//! database never holds a usable link; uses are counted by the joins
//! themselves, in their transactions (`Store::join_group`).

use futures_util::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::batch::Batch;
use super::expenses::trash::COLLECTION as TRASH;
use super::expenses::{changed_fields, COLLECTION as EXPENSES};
use super::journal::{expense_entry, EntryDoc, ExpenseChange};
use super::{at_version, now, ExpenseDoc, GroupDoc, MemberDoc, Store, StoreError, UserDoc};
use crate::domain::group::Role;

pub(super) const COLLECTION: &str = "invites";

/// An invite link, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub group: ObjectId,
    /// SHA-256 of the token, hex.
    pub hash: String,
    pub created_by: ObjectId,
    pub created_at: DateTime,
    pub expires_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<i64>,
    #[serde(default)]
    pub uses: i64,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime>,
}

/// A join through an invite, decided on what was read: written all at once
/// or not at all.
pub struct Join<'a> {
    /// Who joins.
    pub actor: ObjectId,
    pub invite: &'a InviteDoc,
    /// The group as read and its members after the join.
    pub group: &'a GroupDoc,
    pub members: Vec<MemberDoc>,
    pub entries: Vec<EntryDoc>,
    /// A guest handed over: the expenses and payments rewritten (as read,
    /// as they become), deleted ones in the trash (id, document after), and
    /// the guest's account, removed.
    pub rewritten: Vec<(ExpenseDoc, ExpenseDoc)>,
    pub trashed: Vec<(ObjectId, Document, Vec<ObjectId>)>,
    pub guest: Option<ObjectId>,
}

impl Store {
    fn invites(&self) -> mongodb::Collection<InviteDoc> {
        self.db.collection(COLLECTION)
    }

    pub async fn insert_invite(&self, invite: &InviteDoc) -> Result<(), StoreError> {
        self.invites().insert_one(invite).await?;
        Ok(())
    }

    /// The group's invites, newest first (at most `limit`).
    pub async fn invites_of(
        &self,
        group: ObjectId,
        limit: i64,
    ) -> Result<Vec<InviteDoc>, StoreError> {
        Ok(self
            .invites()
            .find(doc! { "group": group })
            .sort(doc! { "_id": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await?)
    }

    pub async fn invite_by_hash(&self, hash: &str) -> Result<Option<InviteDoc>, StoreError> {
        Ok(self.invites().find_one(doc! { "hash": hash }).await?)
    }

    /// Revokes the group's invite (already revoked: unchanged). None: no
    /// such invite in that group.
    pub async fn revoke_invite(
        &self,
        group: ObjectId,
        id: ObjectId,
    ) -> Result<Option<InviteDoc>, StoreError> {
        self.invites()
            .update_one(
                doc! { "_id": id, "group": group, "revokedAt": null },
                doc! { "$set": { "revokedAt": now() } },
            )
            .await?;
        Ok(self
            .invites()
            .find_one(doc! { "_id": id, "group": group })
            .await?)
    }

    /// How many invites the group has that are neither revoked nor expired.
    pub async fn live_invites(&self, group: ObjectId) -> Result<u64, StoreError> {
        Ok(self
            .invites()
            .count_documents(doc! {
                "group": group, "revokedAt": null, "expiresAt": { "$gt": now() },
            })
            .await?)
    }

    /// The expenses and payments of `group` that `person` takes part in
    /// (at most `limit`), and the deleted ones in the trash.
    pub async fn taking_part_in_group(
        &self,
        group: ObjectId,
        person: ObjectId,
        limit: i64,
    ) -> Result<(Vec<ExpenseDoc>, Vec<(ObjectId, Document)>), StoreError> {
        let live: Vec<ExpenseDoc> = self
            .db
            .collection::<ExpenseDoc>(EXPENSES)
            .find(doc! { "participants": person, "group": group })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        let trashed: Vec<Document> = self
            .db
            .collection::<Document>(TRASH)
            .find(doc! { "participants": person, "doc.group": group })
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        let trashed = trashed
            .into_iter()
            .filter_map(|t| {
                Some((
                    t.get_object_id("_id").ok()?,
                    t.get_document("doc").ok()?.clone(),
                ))
            })
            .collect();
        Ok((live, trashed))
    }

    /// Inserts the guest and makes them a member of `group` (at the version
    /// read), journaled, in one transaction. False when the group changed
    /// meanwhile: nothing was written.
    pub async fn add_guest(
        &self,
        guest: &UserDoc,
        group: &GroupDoc,
        member: &MemberDoc,
        entry: &EntryDoc,
    ) -> Result<bool, StoreError> {
        let guest = mongodb::bson::to_document(guest).map_err(StoreError::internal)?;
        let member = mongodb::bson::to_bson(member).map_err(StoreError::internal)?;
        let mut batch = Batch::new();
        batch.insert("users", guest);
        batch
            .update(
                "groups",
                doc! { "_id": group.id, "isActive": true, "version": at_version(group.version) },
                doc! {
                    "$push": { "members": member },
                    "$set": { "updatedAt": now() },
                    "$inc": { "version": 1 },
                },
            )
            .require_match();
        batch.journal(entry);
        self.write_batch(batch).await
    }

    /// Writes `join` in one transaction: the invite's use (while it is still
    /// usable), the group's members (at the version read), the handed-over
    /// expenses (each at the version read, their balances rebooked), the
    /// trash, the guest's removal and the entries. False when anything
    /// changed meanwhile: nothing was written.
    pub async fn join_group(&self, join: Join<'_>) -> Result<bool, StoreError> {
        let at = now();
        let mut usable = doc! {
            "_id": join.invite.id, "revokedAt": null, "expiresAt": { "$gt": at },
        };
        if let Some(max) = join.invite.max_uses {
            usable.insert("uses", doc! { "$lt": max });
        }
        let members = mongodb::bson::to_bson(&join.members).map_err(StoreError::internal)?;
        let mut batch = Batch::new();
        batch
            .update(COLLECTION, usable, doc! { "$inc": { "uses": 1 } })
            .require_match();
        batch
            .update(
                "groups",
                doc! { "_id": join.group.id, "isActive": true, "version": at_version(join.group.version) },
                doc! {
                    "$set": { "members": members, "updatedAt": at },
                    "$inc": { "version": 1 },
                },
            )
            .require_match();
        for (old, new) in &join.rewritten {
            batch
                .update(
                    EXPENSES,
                    doc! { "_id": old.id, "version": at_version(old.version) },
                    changed_fields(old, new)?,
                )
                .require_match();
            batch.project(Some(old), Some(new));
            if let Some(entry) =
                expense_entry(ExpenseChange::Updated, join.actor, Some(old), Some(new))
            {
                batch.journal(&entry);
            }
        }
        for (id, document, participants) in &join.trashed {
            batch.update(
                TRASH,
                doc! { "_id": id },
                doc! { "$set": { "doc": document.clone(), "participants": participants.clone() } },
            );
        }
        if let Some(guest) = join.guest {
            batch
                .delete("users", doc! { "_id": guest, "guest": true }, false)
                .require_match();
        }
        for entry in &join.entries {
            batch.journal(entry);
        }
        self.write_batch(batch).await
    }
}
