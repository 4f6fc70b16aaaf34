//! Membership: adding (capped, never someone blocked either way), removing,
//! changing roles and leaving. A group is never left without an admin while
//! it has members: the last admin cannot be made a member, and when the
//! last admin goes, the member who joined first after them takes over.

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};

use super::change::{change_group, is_admin, member_group, not_a_member, GroupEvent};
use super::view::{render_one, GroupView};
use crate::auth::AuthUser;
use crate::domain::email::Email;
use crate::domain::friendship::Typed;
use crate::domain::group::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{GroupDoc, MemberDoc, Request};

/// The most members a group has.
pub const MAX_MEMBERS: usize = 100;

pub(super) fn full() -> ApiError {
    ApiError::bad_request(format!("A group can have at most {MAX_MEMBERS} members"))
}

/// The registered, active user with `email` joins the group as `role`, and
/// gets the caller's friend request (knowing the email typed; being put in a
/// group reveals nothing of either). Any member adds members; only admins add
/// admins.
pub async fn add_member(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    expected: Option<i64>,
    email: Email,
    role: Role,
) -> Result<GroupView, ApiError> {
    let store = &app.store;
    // Who may see whether an email is registered: members only (and admins
    // when adding an admin), as checked again when the member is written.
    let group = member_group(store, group_id, user).await?;
    let may_add = |group: &GroupDoc| match group.member(user.id) {
        None => Err(not_a_member()),
        Some(me) if role == Role::Admin && me.role != Role::Admin => {
            Err(ApiError::forbidden("Only group admins can add admins"))
        }
        Some(_) => Ok(()),
    };
    may_add(&group)?;
    if group.members.len() >= MAX_MEMBERS {
        return Err(full());
    }
    let unknown = || ApiError::not_found("User not found with this email");
    let invitee = store
        .user_by_email(email.as_str())
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(unknown)?;
    // Someone who blocked the caller (or whom they blocked) is answered like
    // an unknown email.
    if store.any_block_between(user.id, &[invitee.id]).await? {
        return Err(unknown());
    }
    let member = mongodb::bson::to_bson(&MemberDoc {
        id: ObjectId::new(),
        user: invitee.id,
        role,
        joined_at: DateTime::now(),
    })
    .map_err(ApiError::internal)?;
    let request = Request {
        id: invitee.id,
        typed: Typed {
            email: Some(email.into_string()),
            phone: None,
        },
    };
    let request = Some((user.id, request));
    let event = GroupEvent::MemberAdded(invitee.id);
    let updated = change_group(app, user.id, group_id, expected, request, event, |group| {
        may_add(group)?;
        if group.is_member(invitee.id) {
            return Err(ApiError::bad_request(
                "User is already a member of this group",
            ));
        }
        if group.members.len() >= MAX_MEMBERS {
            return Err(full());
        }
        Ok(doc! { "$push": { "members": member.clone() } })
    })
    .await?;
    render_one(app, user.id, &updated).await
}

/// Takes `member` out of the group: anyone themselves, admins anyone.
pub async fn remove_member(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    member: ObjectId,
    expected: Option<i64>,
) -> Result<GroupView, ApiError> {
    let event = if member == user.id {
        GroupEvent::Left
    } else {
        GroupEvent::MemberRemoved(member)
    };
    let updated = change_group(app, user.id, group_id, expected, None, event, |group| {
        let Some(me) = group.member(user.id) else {
            return Err(not_a_member());
        };
        if member != user.id && me.role != Role::Admin {
            return Err(ApiError::forbidden(
                "Only group admins can remove other members",
            ));
        }
        if !group.is_member(member) {
            return Err(ApiError::not_found("Member not found in this group"));
        }
        members_without(group, member)
    })
    .await?;
    let how = if member == user.id {
        "left"
    } else {
        "was removed from"
    };
    pause_series_of(app, group_id, member, how).await?;
    render_one(app, user.id, &updated).await
}

/// Pauses the recurring series of the group that `member` is in (their
/// expenses could no longer be created), saying why.
async fn pause_series_of(
    app: &AppState,
    group: ObjectId,
    member: ObjectId,
    how: &str,
) -> Result<(), ApiError> {
    let reason = format!(
        "A person in this series ({}) {how} the group",
        member.to_hex()
    );
    app.store
        .pause_series_where(doc! { "group": group, "people": member }, &reason)
        .await?;
    Ok(())
}

/// An admin makes a member an admin (handing over) or an admin a member;
/// the last admin cannot be made a member.
pub async fn change_role(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    member: ObjectId,
    role: Role,
    expected: Option<i64>,
) -> Result<GroupView, ApiError> {
    let event = GroupEvent::RoleChanged(member);
    let updated = change_group(app, user.id, group_id, expected, None, event, |group| {
        if !group.is_member(user.id) {
            return Err(not_a_member());
        }
        if !is_admin(group, user.id) {
            return Err(ApiError::forbidden("Only group admins can change roles"));
        }
        let Some(index) = group.members.iter().position(|m| m.user == member) else {
            return Err(ApiError::not_found("Member not found in this group"));
        };
        let admins = group
            .members
            .iter()
            .filter(|m| m.role == Role::Admin)
            .count();
        if role == Role::Member && group.members[index].role == Role::Admin && admins == 1 {
            return Err(ApiError::bad_request(
                "Make another member an admin first: a group needs an admin",
            ));
        }
        Ok(doc! { "$set": { format!("members.{index}.role"): role.as_str() } })
    })
    .await?;
    render_one(app, user.id, &updated).await
}

/// The caller leaves the group (handing it over when they were its last
/// admin).
pub async fn leave(
    app: &AppState,
    user: AuthUser,
    group_id: ObjectId,
    expected: Option<i64>,
) -> Result<(), ApiError> {
    change_group(
        app,
        user.id,
        group_id,
        expected,
        None,
        GroupEvent::Left,
        |group| {
            if !group.is_member(user.id) {
                return Err(ApiError::bad_request("You are not a member of this group"));
            }
            members_without(group, user.id)
        },
    )
    .await?;
    pause_series_of(app, group_id, user.id, "left").await?;
    Ok(())
}

/// The update that takes `user` out of the group. When they were its last
/// admin, the member who joined first after them becomes admin, so a group
/// is never left without one while it has members.
fn members_without(group: &GroupDoc, user: ObjectId) -> Result<Document, ApiError> {
    let rest = remaining_members(group, user);
    let members = mongodb::bson::to_bson(&rest).map_err(ApiError::internal)?;
    Ok(doc! { "$set": { "members": members } })
}

/// The members but `user`, with the admin handed over if `user` was the last.
fn remaining_members(group: &GroupDoc, user: ObjectId) -> Vec<MemberDoc> {
    let mut rest: Vec<MemberDoc> = group
        .members
        .iter()
        .filter(|m| m.user != user)
        .cloned()
        .collect();
    if !rest.iter().any(|m| m.role == Role::Admin) {
        if let Some(heir) = rest.iter_mut().min_by_key(|m| (m.joined_at, m.id)) {
            heir.role = Role::Admin;
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(members: &[(Role, i64)]) -> GroupDoc {
        let now = DateTime::from_millis(0);
        GroupDoc {
            id: ObjectId::new(),
            name: "Trip".into(),
            description: String::new(),
            members: members
                .iter()
                .map(|&(role, joined)| MemberDoc {
                    id: ObjectId::new(),
                    user: ObjectId::new(),
                    role,
                    joined_at: DateTime::from_millis(joined),
                })
                .collect(),
            created_by: ObjectId::new(),
            is_active: true,
            created_at: now,
            updated_at: now,
            expense_months: Default::default(),
            people: Vec::new(),
            people_complete: false,
            version: 1,
        }
    }

    fn roles(members: &[MemberDoc]) -> Vec<Role> {
        members.iter().map(|m| m.role).collect()
    }

    #[test]
    fn the_last_admin_leaving_hands_over_to_the_earliest_member() {
        use Role::{Admin, Member};
        let g = group(&[(Admin, 1), (Member, 5), (Member, 3)]);
        let rest = remaining_members(&g, g.members[0].user);
        assert_eq!(roles(&rest), [Member, Admin]);
    }

    #[test]
    fn another_admin_or_a_member_leaving_changes_no_role() {
        use Role::{Admin, Member};
        let g = group(&[(Admin, 1), (Admin, 2), (Member, 3)]);
        let rest = remaining_members(&g, g.members[0].user);
        assert_eq!(roles(&rest), [Admin, Member]);
        let rest = remaining_members(&g, g.members[2].user);
        assert_eq!(roles(&rest), [Admin, Admin]);
        let alone = group(&[(Admin, 1)]);
        assert!(remaining_members(&alone, alone.members[0].user).is_empty());
    }
}
