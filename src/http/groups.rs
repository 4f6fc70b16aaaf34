//! `/v1/groups`: create, list, read, update, soft delete, membership. Each
//! handler parses the request and calls `crate::app::groups`.

use actix_web::{web, HttpRequest, HttpResponse};
use mongodb::bson::oid::ObjectId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::versions::{expected_version, tagged, IfMatch, VersionConflict};
use super::{created, ok, parse_id, Checks, Envelope, Failure};
use crate::app::groups::{self, GroupChanges, GroupView, NewGroup, MAX_MEMBERS};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::domain::email::Email;
use crate::domain::group::Role;
use crate::domain::inputs::{GroupDescription, GroupName};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// Users to add besides me (unknown ids are skipped; members who are
    /// not yet my friends become friends).
    #[schema(value_type = Option<Vec<Id>>)]
    members: Option<Vec<String>>,
}

impl CreateBody {
    fn parse(self) -> Result<NewGroup, ApiError> {
        let mut c = Checks::default();
        let name = c
            .required("name", self.name, "Group name is required")
            .and_then(|n| c.check("name", GroupName::try_from(n.as_str())));
        let description = c.check(
            "description",
            GroupDescription::try_from(self.description.as_deref().unwrap_or("")),
        );
        let raw_members = self.members.unwrap_or_default();
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
        let ((name, description), members) = c.finish(name.zip(description).zip(members))?;
        Ok(NewGroup {
            name,
            description,
            members,
        })
    }
}

/// Create a group; I am its admin.
#[utoipa::path(post, path = "/v1/groups", tag = "groups",
    security(("bearer" = [])),
    responses((status = 201, description = "The group", body = Envelope<GroupView>,
        headers(("ETag" = String, description = "Its version, for `If-Match`")))))]
pub async fn create(
    user: AuthUser,
    body: web::Json<CreateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().parse()?;
    let view = groups::create(&state, user, new).await?;
    let version = view.version();
    Ok(tagged(created("Group created successfully", view), version))
}

/// My groups.
#[utoipa::path(get, path = "/v1/groups", tag = "groups",
    security(("bearer" = [])),
    responses((status = 200, description = "My active groups", body = Envelope<Vec<GroupView>>)))]
pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let views = groups::list(&state, user).await?;
    Ok(ok("Groups retrieved successfully", views))
}

/// One group, for its members.
#[utoipa::path(get, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = Id, Path, description = "The group")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group", body = Envelope<GroupView>,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        (status = 403, description = "Not a member", body = Failure),
    ))]
pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "group")?;
    let view = groups::get(&state, user, id).await?;
    let version = view.version();
    Ok(tagged(ok("Group retrieved successfully", view), version))
}

/// The fields to change: a name, a description or both.
#[derive(Deserialize, ToSchema)]
pub struct UpdateBody {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// The version the change is based on (as `If-Match`).
    version: Option<i64>,
}

impl UpdateBody {
    fn parse(self) -> Result<GroupChanges, ApiError> {
        if self.name.is_none() && self.description.is_none() {
            return Err(ApiError::bad_request(
                "Provide a name or a description to update",
            ));
        }
        let mut c = Checks::default();
        let name = match self.name {
            Some(n) => c.check("name", GroupName::try_from(n.as_str())).map(Some),
            None => Some(None),
        };
        let description = match self.description {
            Some(d) => c
                .check("description", GroupDescription::try_from(d.as_str()))
                .map(Some),
            None => Some(None),
        };
        let (name, description) = c.finish(name.zip(description))?;
        Ok(GroupChanges { name, description })
    }
}

/// Rename a group or change its description (any member).
#[utoipa::path(put, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = Id, Path, description = "The group"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group as changed", body = Envelope<GroupView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not a member", body = Failure),
        VersionConflict,
    ))]
pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<UpdateBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let expected = expected_version(&req, body.version)?;
    let changes = body.parse()?;
    let id = parse_id(&path, "group")?;
    let view = groups::update(&state, user, id, expected, changes).await?;
    let version = view.version();
    Ok(tagged(ok("Group updated successfully", view), version))
}

/// Delete a group (an admin).
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "groups",
    params(("id" = Id, Path, description = "The group"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Not an admin", body = Failure),
        VersionConflict,
    ))]
pub async fn delete(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let id = parse_id(&path, "group")?;
    groups::delete(&state, user, id, expected).await?;
    Ok(ok("Group deleted successfully", serde_json::Value::Null))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddMemberBody {
    /// A registered user's email.
    #[schema(required = true, nullable = false, format = Email)]
    member_email: Option<String>,
    /// `member` (default) or `admin` (admins only).
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
}

impl AddMemberBody {
    /// The email and the role (member unless named).
    fn parse(self) -> Result<(Email, Role), ApiError> {
        let mut c = Checks::default();
        let email = c
            .required("memberEmail", self.member_email, "Member email is required")
            .and_then(|e| c.check("memberEmail", Email::parse(&e)));
        let role = match self.role.as_deref() {
            None => Some(Role::Member),
            Some(r) => c.check("role", Role::try_from(r)),
        };
        c.finish(email.zip(role))
    }
}

/// Add a registered user by email; they become my friend too.
#[utoipa::path(post, path = "/v1/groups/{id}/members", tag = "groups",
    params(("id" = Id, Path, description = "The group"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group with its new member", body = Envelope<GroupView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not allowed (not a member, or blocked)", body = Failure),
        VersionConflict,
    ))]
pub async fn add_member(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<AddMemberBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let (email, role) = body.into_inner().parse()?;
    let id = parse_id(&path, "group")?;
    let view = groups::add_member(&state, user, id, expected, email, role).await?;
    let version = view.version();
    Ok(tagged(ok("Member added successfully", view), version))
}

/// Remove a member: myself, or anyone if I am an admin.
#[utoipa::path(delete, path = "/v1/groups/{id}/members/{member_id}", tag = "groups",
    params(
        ("id" = Id, Path, description = "The group"),
        ("member_id" = Id, Path, description = "The member's user id"),
        IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group without them", body = Envelope<GroupView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not an admin", body = Failure),
        VersionConflict,
    ))]
pub async fn remove_member(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let (group_id, member_id) = path.into_inner();
    let member = parse_id(&member_id, "member")?;
    let id = parse_id(&group_id, "group")?;
    let view = groups::remove_member(&state, user, id, member, expected).await?;
    let version = view.version();
    Ok(tagged(ok("Member removed successfully", view), version))
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    #[schema(value_type = Role, required = true)]
    role: Option<String>,
}

impl RoleBody {
    fn parse(self) -> Result<Role, ApiError> {
        let mut c = Checks::default();
        let role = c
            .required("role", self.role, "Role must be admin or member")
            .and_then(|r| c.check("role", Role::try_from(r.as_str())));
        c.finish(role)
    }
}

/// An admin makes a member an admin (handing over) or an admin a member.
#[utoipa::path(patch, path = "/v1/groups/{id}/members/{member_id}", tag = "groups",
    summary = "Change a member's role (an admin; the last admin stays one)",
    params(
        ("id" = Id, Path, description = "The group"),
        ("member_id" = Id, Path, description = "The member's user id"),
        IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group", body = Envelope<GroupView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not an admin", body = Failure),
        VersionConflict,
    ))]
pub async fn change_role(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: web::Json<RoleBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let (group_id, member_id) = path.into_inner();
    let member = parse_id(&member_id, "member")?;
    let role = body.into_inner().parse()?;
    let id = parse_id(&group_id, "group")?;
    let view = groups::change_role(&state, user, id, member, role, expected).await?;
    let version = view.version();
    Ok(tagged(ok("Member role changed", view), version))
}

/// Leave a group (not a member: 400).
#[utoipa::path(delete, path = "/v1/groups/{id}/leave", tag = "groups",
    params(("id" = Id, Path, description = "The group"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Left", body = Envelope<Null>),
        VersionConflict,
    ))]
pub async fn leave(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let id = parse_id(&path, "group")?;
    groups::leave(&state, user, id, expected).await?;
    Ok(ok("You have left the group", serde_json::Value::Null))
}
