//! Groups: creating, listing, reading, renaming and (softly) deleting them;
//! membership in `members`, the version-checked change every write goes
//! through in `change`, and how a group reads in `view`.

mod change;
pub mod invites;
mod members;
mod view;

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};

pub use change::{active_group, conflict, group_entry, member_group, GroupEvent};
pub use members::{add_member, change_role, leave, remove_member, MAX_MEMBERS};
pub use view::{members, people_of, render_groups, render_one, GroupView, MemberView};

use crate::auth::AuthUser;
use crate::domain::group::Role;
use crate::domain::inputs::{GroupDescription, GroupName};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{GroupDoc, MemberDoc};
use change::{change_group, is_admin, not_a_member};

/// A new group as requested: at most [`MAX_MEMBERS`] member ids.
pub struct NewGroup {
    pub name: GroupName,
    pub description: GroupDescription,
    pub members: Vec<ObjectId>,
}

/// Creates the group with the caller as its admin and the requested people
/// as members: unknown or inactive ids are skipped, and anyone blocked
/// either way refuses the whole group. Each member gets the caller's friend
/// request in the same transaction.
pub async fn create(app: &AppState, user: AuthUser, new: NewGroup) -> Result<GroupView, ApiError> {
    let store = &app.store;
    let mut wanted: Vec<ObjectId> = new
        .members
        .into_iter()
        .filter(|id| *id != user.id)
        .collect();
    wanted.sort();
    wanted.dedup();
    let (found, blocked) = futures_util::try_join!(
        store.active_user_ids(&wanted),
        store.any_block_between(user.id, &wanted)
    )?;
    if blocked {
        return Err(ApiError::bad_request(
            "Some of these people cannot be added to a group with you",
        ));
    }
    let now = DateTime::now();
    let member = |id: ObjectId, role: Role| MemberDoc {
        id: ObjectId::new(),
        user: id,
        role,
        joined_at: now,
    };
    let mut members = vec![member(user.id, Role::Admin)];
    members.extend(
        wanted
            .iter()
            .filter(|id| found.contains(id))
            .map(|id| member(*id, Role::Member)),
    );
    let group = GroupDoc {
        id: ObjectId::new(),
        name: new.name.into_string(),
        description: new.description.into_string(),
        members,
        created_by: user.id,
        is_active: true,
        created_at: now,
        updated_at: now,
        expense_months: Default::default(),
        // No expenses yet: everyone who will take part is added as they do.
        people: Vec::new(),
        people_complete: true,
        version: 1,
    };
    let entry = group_entry(GroupEvent::Created, user.id, None, &group);
    store.create_group(&group, &entry).await?;
    render_one(app, user.id, &group).await
}

/// The active groups the caller belongs to, newest first.
pub async fn list(app: &AppState, user: AuthUser) -> Result<Vec<GroupView>, ApiError> {
    let groups = app.store.groups_of(user.id).await?;
    render_groups(app, user.id, &groups).await
}

/// One group the caller belongs to.
pub async fn get(app: &AppState, user: AuthUser, id: ObjectId) -> Result<GroupView, ApiError> {
    let group = member_group(&app.store, id, user).await?;
    render_one(app, user.id, &group).await
}

/// A change of name and/or description (at least one of them).
pub struct GroupChanges {
    pub name: Option<GroupName>,
    pub description: Option<GroupDescription>,
}

/// Any member renames the group or changes its description.
pub async fn update(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
    changes: GroupChanges,
) -> Result<GroupView, ApiError> {
    let mut set = Document::new();
    if let Some(name) = changes.name {
        set.insert("name", name.into_string());
    }
    if let Some(description) = changes.description {
        set.insert("description", description.into_string());
    }
    let event = GroupEvent::Updated;
    let updated = change_group(app, user.id, id, expected, None, event, |group| {
        if !group.is_member(user.id) {
            return Err(not_a_member());
        }
        Ok(doc! { "$set": set.clone() })
    })
    .await?;
    render_one(app, user.id, &updated).await
}

/// An admin deletes the group (softly: it stops being active).
pub async fn delete(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    change_group(
        app,
        user.id,
        id,
        expected,
        None,
        GroupEvent::Deleted,
        |group| {
            if !is_admin(group, user.id) {
                return Err(ApiError::forbidden(
                    "Only the group's admins can delete this group",
                ));
            }
            Ok(doc! { "$set": { "isActive": false } })
        },
    )
    .await?;
    Ok(())
}
