//! Finding the group a caller acts on, and changing it version-checked:
//! every write of a group is decided on the group as read and written only
//! if it is still at that version (`crate::app::versions::retry`).

use mongodb::bson::{oid::ObjectId, Document};

use super::view::render_one;
use crate::app::versions;
use crate::auth::AuthUser;
use crate::domain::group::Role;
use crate::error::ApiError;
use crate::state::AppState;
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
    decide: impl Fn(&GroupDoc) -> Result<Document, ApiError>,
) -> Result<GroupDoc, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let group = active_group(store, id).await?;
        let update = decide(&group)?;
        if expected.is_some_and(|v| v != group.version) {
            return Err(conflict(app, viewer, &group).await);
        }
        Ok(store
            .change_group(group.id, group.version, update, request.clone())
            .await?)
    })
    .await?;
    match written {
        Some(changed) => Ok(changed),
        None => Err(conflict(app, viewer, &active_group(store, id).await?).await),
    }
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
