//! How a group reads: its members and creator populated, as the viewer may
//! see them, fetched in one query for any number of groups.

use mongodb::bson::oid::ObjectId;
use serde::Serialize;

use crate::app::views::{iso, CreatorRef, Directory, UserRef};
use crate::domain::group::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::GroupDoc;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
    #[serde(rename = "_id")]
    id: String,
    user: UserRef,
    role: Role,
    joined_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    description: String,
    members: Vec<MemberView>,
    created_by: CreatorRef,
    is_active: bool,
    created_at: String,
    updated_at: String,
    /// Sent back in `If-Match` to change only this version.
    version: i64,
}

impl GroupView {
    /// The version shown, for the `ETag` of the answer.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The populated member list alone, for the group balance view.
    pub fn members_value(&self) -> serde_json::Value {
        serde_json::to_value(&self.members).unwrap_or_default()
    }
}

fn group_view(g: &GroupDoc, people: &Directory) -> GroupView {
    GroupView {
        id: g.id.to_hex(),
        name: g.name.clone(),
        description: g.description.clone(),
        members: g
            .members
            .iter()
            .map(|m| MemberView {
                id: m.id.to_hex(),
                user: people.user(m.user),
                role: m.role,
                joined_at: iso(m.joined_at),
            })
            .collect(),
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
pub fn members_value(group: &GroupDoc, people: &Directory) -> serde_json::Value {
    group_view(group, people).members_value()
}
