//! How a group reads: its members and creator populated, as the viewer may
//! see them, fetched in one query for any number of groups.

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::schema::Id;
use crate::app::views::{iso, CreatorRef, Directory, UserRef};
use crate::domain::group::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::GroupDoc;

/// A member of a group.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    user: UserRef,
    role: Role,
    #[schema(format = DateTime)]
    joined_at: String,
}

/// A group, its members and creator populated.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    description: String,
    members: Vec<MemberView>,
    created_by: CreatorRef,
    is_active: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Sent back in `If-Match` to change only this version.
    version: i64,
}

impl GroupView {
    /// The version shown, for the `ETag` of the answer.
    pub fn version(&self) -> i64 {
        self.version
    }
}

fn group_view(g: &GroupDoc, people: &Directory) -> GroupView {
    GroupView {
        id: g.id.to_hex(),
        name: g.name.clone(),
        description: g.description.clone(),
        members: members(g, people),
        created_by: people.creator(g.created_by),
        is_active: g.is_active,
        created_at: iso(g.created_at),
        updated_at: iso(g.updated_at),
        version: g.version,
    }
}

/// Renders groups with every member and creator populated in one query.
pub async fn render_groups(
    app: &AppState,
    viewer: ObjectId,
    groups: &[GroupDoc],
) -> Result<Vec<GroupView>, ApiError> {
    let people = people_of(app, viewer, groups).await?;
    Ok(groups.iter().map(|g| group_view(g, &people)).collect())
}

/// One group, rendered as [`render_groups`] does.
pub async fn render_one(
    app: &AppState,
    viewer: ObjectId,
    group: &GroupDoc,
) -> Result<GroupView, ApiError> {
    let mut views = render_groups(app, viewer, std::slice::from_ref(group)).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal("rendering produced no group"))
}

/// Every member and creator of `groups`, in one query.
pub async fn people_of(
    app: &AppState,
    viewer: ObjectId,
    groups: &[GroupDoc],
) -> Result<Directory, ApiError> {
    let mut ids: Vec<ObjectId> = groups
        .iter()
        .flat_map(|g| g.members.iter().map(|m| m.user).chain([g.created_by]))
        .collect();
    ids.sort();
    ids.dedup();
    Directory::load(app, viewer, &ids).await
}

/// A group's populated member list, as the group view shows it.
pub fn members(group: &GroupDoc, people: &Directory) -> Vec<MemberView> {
    group
        .members
        .iter()
        .map(|m| MemberView {
            id: m.id.to_hex(),
            user: people.user(m.user),
            role: m.role,
            joined_at: iso(m.joined_at),
        })
        .collect()
}
