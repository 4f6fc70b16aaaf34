//! `/v1/groups`: create, list, read, update, soft delete, membership.

use actix_web::{web, HttpRequest, HttpResponse};
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::versions::{expected_version, tagged};
use super::{created, ok, parse_id, Checks};
use crate::app::versions;
use crate::app::views::{iso, CreatorRef, Directory, UserRef};
use crate::auth::AuthUser;
use crate::domain::friendship::Typed;
use crate::domain::{email::Email, text};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{GroupDoc, MemberDoc, Request, Store};

const MAX_MEMBERS: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
    #[serde(rename = "_id")]
    id: String,
    user: UserRef,
    role: String,
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
                role: m.role.clone(),
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

/// An active group by path id: malformed → 400, unknown or deleted → 404.
pub async fn active_group(store: &Store, raw_id: &str) -> Result<GroupDoc, ApiError> {
    let id = parse_id(raw_id, "group")?;
    store
        .group_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Group not found"))
}

/// An active group the caller belongs to: unknown → 404, not a member → 403.
pub async fn member_group(
    store: &Store,
    raw_id: &str,
    user: AuthUser,
) -> Result<GroupDoc, ApiError> {
    let group = active_group(store, raw_id).await?;
    if !group.is_member(user.id) {
        return Err(ApiError::forbidden("You are not a member of this group"));
    }
    Ok(group)
}

#[derive(Deserialize)]
pub struct CreateBody {
    name: Option<String>,
    description: Option<String>,
    members: Option<Vec<String>>,
}

pub async fn create(
    user: AuthUser,
    body: web::Json<CreateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let body = body.into_inner();
    let mut c = Checks::default();
    let name = c
        .required("name", body.name, "Group name is required")
        .and_then(|n| c.check("name", text::bounded(&n, "Group name", 1, 100)));
    let description = c.check(
        "description",
        text::bounded(
            body.description.as_deref().unwrap_or(""),
            "Description",
            0,
            500,
        ),
    );
    let raw_members = body.members.unwrap_or_default();
    let members = if raw_members.len() > MAX_MEMBERS {
        c.check::<Vec<ObjectId>>(
            "members",
            Err(format!("A group can have at most {MAX_MEMBERS} members")),
        )
    } else {
        let parsed: Result<Vec<ObjectId>, _> = raw_members
            .iter()
            .map(|m| ObjectId::parse_str(m.trim()))
            .collect();
        c.check(
            "members",
            parsed.map_err(|_| "Members must be valid user IDs"),
        )
    };
    let ((name, description), requested) = c.finish(name.zip(description).zip(members))?;

    // Unknown ids are skipped: only registered, active users become members.
    let mut wanted: Vec<ObjectId> = requested.into_iter().filter(|id| *id != user.id).collect();
    wanted.sort();
    wanted.dedup();
    let (found, blocked) = futures_util::try_join!(
        store.active_user_ids(&wanted),
        store.any_block_between(user.id, &wanted)
    )?;
    if blocked {
        return Err(cannot_add());
    }
    let now = DateTime::now();
    let member = |id: ObjectId, role: &str| MemberDoc {
        id: ObjectId::new(),
        user: id,
        role: role.into(),
        joined_at: now,
    };
    let mut members = vec![member(user.id, "admin")];
    members.extend(
        wanted
            .iter()
            .filter(|id| found.contains(id))
            .map(|id| member(*id, "member")),
    );
    let group = GroupDoc {
        id: ObjectId::new(),
        name,
        description,
        members,
        created_by: user.id,
        is_active: true,
        created_at: now,
        updated_at: now,
        expense_months: Default::default(),
        version: 1,
    };
    store.create_group(&group).await?;
    let view = render_one(&state, user.id, &group).await?;
    Ok(tagged(
        created("Group created successfully", view),
        group.version,
    ))
}

pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let groups = store.groups_of(user.id).await?;
    Ok(ok(
        "Groups retrieved successfully",
        render_groups(&state, user.id, &groups).await?,
    ))
}

pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let group = member_group(&store, &path, user).await?;
    let view = render_one(&state, user.id, &group).await?;
    Ok(tagged(
        ok("Group retrieved successfully", view),
        group.version,
    ))
}

/// Changes the group as freshly read: `decide` checks the caller may make
/// the change to that version and returns the update, which is written only
/// if the group is still at that version; otherwise it is read and decided
/// again. With `expected` (If-Match), another version is a 409 instead.
pub async fn change_group(
    app: &AppState,
    viewer: ObjectId,
    raw_id: &str,
    expected: Option<i64>,
    request: Option<(ObjectId, Request)>,
    decide: impl Fn(&GroupDoc) -> Result<Document, ApiError>,
) -> Result<GroupDoc, ApiError> {
    let store = &app.store;
    let written = versions::retry(async || {
        let group = active_group(store, raw_id).await?;
        let update = decide(&group)?;
        if expected.is_some_and(|v| v != group.version) {
            return Err(conflict(app, viewer, &group).await);
        }
        store
            .change_group(group.id, group.version, update, request.clone())
            .await
    })
    .await?;
    match written {
        Some(changed) => Ok(changed),
        None => Err(conflict(app, viewer, &active_group(store, raw_id).await?).await),
    }
}

/// 409 `VERSION_CONFLICT` with the group as it is now.
pub async fn conflict(app: &AppState, viewer: ObjectId, current: &GroupDoc) -> ApiError {
    versions::conflict("group", render_one(app, viewer, current).await)
}

fn cannot_add() -> ApiError {
    ApiError::bad_request("Some of these people cannot be added to a group with you")
}

fn full() -> ApiError {
    ApiError::bad_request(format!("A group can have at most {MAX_MEMBERS} members"))
}

/// Whether `user` is one of the group's current admins (having created the
/// group gives no rights once its creator is no longer an admin member).
fn is_admin(group: &GroupDoc, user: ObjectId) -> bool {
    group.member(user).is_some_and(|m| m.role == "admin")
}

/// The update that takes `user` out of the group. When they were its last
/// admin, the member who joined first after them becomes admin, so a group
/// is never left without one while it has members.
fn members_without(group: &GroupDoc, user: ObjectId) -> Result<Document, ApiError> {
    let mut rest: Vec<MemberDoc> = group
        .members
        .iter()
        .filter(|m| m.user != user)
        .cloned()
        .collect();
    if !rest.iter().any(|m| m.role == "admin") {
        if let Some(heir) = rest.iter_mut().min_by_key(|m| (m.joined_at, m.id)) {
            heir.role = "admin".into();
        }
    }
    let members = mongodb::bson::to_bson(&rest).map_err(ApiError::internal)?;
    Ok(doc! { "$set": { "members": members } })
}

fn not_a_member() -> ApiError {
    ApiError::forbidden("You are not a member of this group")
}

#[derive(Deserialize)]
pub struct UpdateBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<i64>,
}

pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<UpdateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _store = &state.store;
    let body = body.into_inner();
    let expected = expected_version(&req, body.version)?;
    if body.name.is_none() && body.description.is_none() {
        return Err(ApiError::bad_request(
            "Provide a name or a description to update",
        ));
    }
    let mut c = Checks::default();
    let name = match body.name {
        Some(n) => c
            .check("name", text::bounded(&n, "Group name", 1, 100))
            .map(Some),
        None => Some(None),
    };
    let description = match body.description {
        Some(d) => c
            .check("description", text::bounded(&d, "Description", 0, 500))
            .map(Some),
        None => Some(None),
    };
    let (name, description) = c.finish(name.zip(description))?;
    let mut set = Document::new();
    if let Some(name) = name {
        set.insert("name", name);
    }
    if let Some(description) = description {
        set.insert("description", description);
    }
    let updated = change_group(&state, user.id, &path, expected, None, |group| {
        if !group.is_member(user.id) {
            return Err(not_a_member());
        }
        Ok(doc! { "$set": set.clone() })
    })
    .await?;
    let view = render_one(&state, user.id, &updated).await?;
    Ok(tagged(
        ok("Group updated successfully", view),
        updated.version,
    ))
}

pub async fn delete(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _store = &state.store;
    let expected = expected_version(&req, None)?;
    change_group(&state, user.id, &path, expected, None, |group| {
        if !is_admin(group, user.id) {
            return Err(ApiError::forbidden(
                "Only the group's admins can delete this group",
            ));
        }
        Ok(doc! { "$set": { "isActive": false } })
    })
    .await?;
    Ok(ok("Group deleted successfully", serde_json::Value::Null))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddMemberBody {
    member_email: Option<String>,
    role: Option<String>,
}

pub async fn add_member(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<AddMemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let expected = expected_version(&req, None)?;
    let body = body.into_inner();
    let mut c = Checks::default();
    let email = c
        .required("memberEmail", body.member_email, "Member email is required")
        .and_then(|e| c.check("memberEmail", Email::parse(&e)));
    let role = match body.role.as_deref() {
        None | Some("member") => Some("member"),
        Some("admin") => Some("admin"),
        Some(_) => c.check("role", Err("Role must be admin or member")),
    };
    let (email, role) = c.finish(email.zip(role))?;
    // Who may see whether an email is registered: members only (and admins
    // when adding an admin), as checked again when the member is written.
    let group = member_group(&store, &path, user).await?;
    let may_add = |group: &GroupDoc| match group.member(user.id) {
        None => Err(not_a_member()),
        Some(me) if role == "admin" && me.role != "admin" => {
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
        role: role.into(),
        joined_at: DateTime::now(),
    })
    .map_err(ApiError::internal)?;
    // Being put in a group reveals nothing: the inviter's friend request
    // (knowing the email they typed) goes to the new member.
    let request = Request {
        id: invitee.id,
        typed: Typed {
            email: Some(email.into_string()),
            phone: None,
        },
    };
    let request = Some((user.id, request));
    let updated = change_group(&state, user.id, &path, expected, request, |group| {
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
    let view = render_one(&state, user.id, &updated).await?;
    Ok(tagged(
        ok("Member added successfully", view),
        updated.version,
    ))
}

pub async fn remove_member(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _store = &state.store;
    let expected = expected_version(&req, None)?;
    let (group_id, member_id) = path.into_inner();
    let member_id = parse_id(&member_id, "member")?;
    let updated = change_group(&state, user.id, &group_id, expected, None, |group| {
        let Some(me) = group.member(user.id) else {
            return Err(not_a_member());
        };
        if member_id != user.id && me.role != "admin" {
            return Err(ApiError::forbidden(
                "Only group admins can remove other members",
            ));
        }
        if !group.is_member(member_id) {
            return Err(ApiError::not_found("Member not found in this group"));
        }
        members_without(group, member_id)
    })
    .await?;
    let view = render_one(&state, user.id, &updated).await?;
    Ok(tagged(
        ok("Member removed successfully", view),
        updated.version,
    ))
}

#[derive(Deserialize)]
pub struct RoleBody {
    role: Option<String>,
}

/// An admin makes a member an admin (handing over) or an admin a member;
/// the last admin cannot be made a member.
pub async fn change_role(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: web::Json<RoleBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _store = &state.store;
    let expected = expected_version(&req, None)?;
    let (group_id, member_id) = path.into_inner();
    let member_id = parse_id(&member_id, "member")?;
    let role = match body.into_inner().role.as_deref() {
        Some("admin") => "admin",
        Some("member") => "member",
        _ => {
            return Err(ApiError::validation(vec![crate::error::FieldError::new(
                "role",
                "Role must be admin or member",
            )]))
        }
    };
    let updated = change_group(&state, user.id, &group_id, expected, None, |group| {
        if !group.is_member(user.id) {
            return Err(not_a_member());
        }
        if !is_admin(group, user.id) {
            return Err(ApiError::forbidden("Only group admins can change roles"));
        }
        let Some(index) = group.members.iter().position(|m| m.user == member_id) else {
            return Err(ApiError::not_found("Member not found in this group"));
        };
        let admins = group.members.iter().filter(|m| m.role == "admin").count();
        if role == "member" && group.members[index].role == "admin" && admins == 1 {
            return Err(ApiError::bad_request(
                "Make another member an admin first: a group needs an admin",
            ));
        }
        Ok(doc! { "$set": { format!("members.{index}.role"): role } })
    })
    .await?;
    let view = render_one(&state, user.id, &updated).await?;
    Ok(tagged(ok("Member role changed", view), updated.version))
}

pub async fn leave(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let _store = &state.store;
    let expected = expected_version(&req, None)?;
    change_group(&state, user.id, &path, expected, None, |group| {
        if !group.is_member(user.id) {
            return Err(ApiError::bad_request("You are not a member of this group"));
        }
        members_without(group, user.id)
    })
    .await?;
    Ok(ok("You have left the group", serde_json::Value::Null))
}
