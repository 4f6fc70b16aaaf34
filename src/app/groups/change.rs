//! Finding the group a caller acts on, and changing it version-checked:
//! every write of a group is decided on the group as read and written only
//! if it is still at that version (`crate::app::versions::retry`).

use mongodb::bson::{doc, oid::ObjectId, Document};

use super::view::render_one;
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::group::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::journal::{EntryDoc, FieldChange, ObjectRef};
use crate::store::{GroupDoc, Request, Store};

/// An active group: unknown or deleted → 404.
pub async fn active_group(store: &Store, id: ObjectId) -> Result<GroupDoc, ApiError> {
    store
        .group_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Group not found"))
}

/// An active group the caller belongs to: unknown → 404, not a member → 403.
pub async fn member_group(
    store: &Store,
    id: ObjectId,
    user: AuthUser,
) -> Result<GroupDoc, ApiError> {
    let group = active_group(store, id).await?;
    if !group.is_member(user.id) {
        return Err(not_a_member());
    }
    Ok(group)
}

/// Changes the group as freshly read: `decide` checks the caller may make
/// the change to that version and returns the update, which is written only
/// if the group is still at that version; otherwise it is read and decided
/// again. With `expected` (If-Match), another version is a 409 instead.
/// With `request` (inviter, request), the friend request is sent in the
/// same transaction as the change.
pub async fn change_group(
    app: &AppState,
    viewer: ObjectId,
    id: ObjectId,
    expected: Option<i64>,
    request: Option<(ObjectId, Request)>,
    event: GroupEvent,
    decide: impl Fn(&GroupDoc) -> Result<Document, ApiError>,
) -> Result<GroupDoc, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let group = active_group(store, id).await?;
        let update = decide(&group)?;
        if expected.is_some_and(|v| v != group.version) {
            return Err(conflict(app, viewer, &group).await);
        }
        let entry = |after: &GroupDoc| group_entry(event, viewer, Some(&group), after);
        Ok(store
            .change_group(group.id, group.version, update, request.clone(), entry)
            .await?)
    })
    .await?;
    match written {
        Some(changed) => Ok(changed),
        None => Err(conflict(app, viewer, &active_group(store, id).await?).await),
    }
}

/// What a change of a group did, for its journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupEvent {
    Created,
    /// Renamed, or its description changed.
    Updated,
    MemberAdded(ObjectId),
    MemberRemoved(ObjectId),
    /// The actor left.
    Left,
    RoleChanged(ObjectId),
    Deleted,
    /// Expenses imported into it (the rows have entries of their own).
    Imported,
    /// Its expenses exported.
    Exported,
    /// The actor joined through an invite link.
    Joined,
    /// A member without an account added.
    GuestAdded(ObjectId),
}

/// The journal entry of `event` by `actor`, the group going from `before`
/// to `after`: seen by the members before and after (a member removed sees
/// that they were).
pub fn group_entry(
    event: GroupEvent,
    actor: ObjectId,
    before: Option<&GroupDoc>,
    after: &GroupDoc,
) -> EntryDoc {
    let (kind, member) = match event {
        GroupEvent::Created => ("group.created", None),
        GroupEvent::Updated => ("group.updated", None),
        GroupEvent::MemberAdded(m) => ("group.member_added", Some(m)),
        GroupEvent::MemberRemoved(m) => ("group.member_removed", Some(m)),
        GroupEvent::Left => ("group.member_left", Some(actor)),
        GroupEvent::RoleChanged(m) => ("group.role_changed", Some(m)),
        GroupEvent::Deleted => ("group.deleted", None),
        GroupEvent::Imported => ("group.imported", None),
        GroupEvent::Exported => ("group.exported", None),
        GroupEvent::Joined => ("group.member_joined", Some(actor)),
        GroupEvent::GuestAdded(m) => ("group.guest_added", Some(m)),
    };
    let audience = before
        .into_iter()
        .chain([after])
        .flat_map(|g| g.members.iter().map(|m| m.user))
        .chain(member)
        .collect();
    let mut subject = doc! { "name": after.name.as_str() };
    if let Some(m) = member {
        subject.insert("member", m);
        if let Some(role) = after.member(m).map(|x| x.role) {
            subject.insert("role", role.as_str());
        }
    }
    let mut entry = EntryDoc::new(
        kind,
        actor,
        ObjectRef {
            kind: "group".into(),
            id: after.id,
        },
        audience,
    )
    .in_group(Some(after.id))
    .with_subject(subject);
    entry.version = (event != GroupEvent::Deleted).then_some(after.version);
    if let Some(before) = before {
        for (field, from, to) in [
            ("name", &before.name, &after.name),
            ("description", &before.description, &after.description),
        ] {
            if from != to {
                entry.changes.push(FieldChange {
                    field: field.into(),
                    from: Some(from.as_str().into()),
                    to: Some(to.as_str().into()),
                });
            }
        }
    }
    entry
}

/// 409 `VERSION_CONFLICT` with the group as it is now.
pub async fn conflict(app: &AppState, viewer: ObjectId, current: &GroupDoc) -> ApiError {
    versions::conflict("group", render_one(app, viewer, current).await)
}

/// Whether `user` is one of the group's current admins (having created the
/// group gives no rights once its creator is no longer an admin member).
pub fn is_admin(group: &GroupDoc, user: ObjectId) -> bool {
    group.member(user).is_some_and(|m| m.role == Role::Admin)
}

pub fn not_a_member() -> ApiError {
    ApiError::forbidden("You are not a member of this group")
}
