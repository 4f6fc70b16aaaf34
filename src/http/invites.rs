//! Invite links (`/v1/groups/:id/invites`, `/v1/invites/:token`) and guests
//! (`/v1/groups/:id/guests`). Each handler parses the request and calls
//! `crate::app::groups::invites`.

use actix_web::{web, HttpResponse};
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{created, ok, optional_id, parse_id, Checks, Envelope, Failure};
use crate::app::groups::invites::{self, Invite, NewInvite, Preview};
use crate::app::groups::GroupView;
use crate::app::schema::Id;
use crate::app::views::iso;
use crate::auth::AuthUser;
use crate::domain::group::Role;
use crate::domain::inputs::UserName;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewInviteBody {
    /// How long the link works, in hours (default a week, at most a year).
    #[schema(minimum = 1, maximum = 8760)]
    expires_in_hours: Option<i64>,
    /// How many people may join with it (default: no limit).
    #[schema(minimum = 1, maximum = 1000)]
    max_uses: Option<i64>,
    /// The role of who joins: `member` (default) or `admin`.
    #[schema(value_type = Option<Role>)]
    role: Option<String>,
}

impl NewInviteBody {
    fn parse(self) -> Result<NewInvite, ApiError> {
        let mut c = Checks::default();
        let hours = self.expires_in_hours.unwrap_or(invites::DEFAULT_HOURS);
        let hours = c.check(
            "expiresInHours",
            if (1..=invites::MAX_HOURS).contains(&hours) {
                Ok(hours)
            } else {
                Err(format!("Between 1 and {} hours", invites::MAX_HOURS))
            },
        );
        let uses = c.check(
            "maxUses",
            match self.max_uses {
                Some(n) if !(1..=invites::MAX_USES).contains(&n) => {
                    Err(format!("Between 1 and {}", invites::MAX_USES))
                }
                other => Ok(other),
            },
        );
        let role = match self.role.as_deref() {
            None => Some(Role::Member),
            Some(r) => c.check("role", Role::try_from(r)),
        };
        let ((hours, uses), role) = c.finish(hours.zip(uses).zip(role))?;
        Ok(NewInvite {
            expires_in_hours: hours,
            max_uses: uses,
            role,
        })
    }
}

/// An invite link as its admins see it; `token` and `url` only in the
/// answer that created it (only the token's hash is stored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[schema(value_type = Id)]
    group: String,
    role: Role,
    #[schema(format = DateTime)]
    expires_at: String,
    /// None: no limit.
    max_uses: Option<i64>,
    uses: i64,
    /// `active`, `revoked`, `expired` or `used_up`.
    status: &'static str,
    #[schema(value_type = Id)]
    created_by: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

impl InviteView {
    fn of(invite: Invite, now: DateTime) -> Self {
        let status = invite.status(now);
        let d = invite.doc;
        Self {
            id: d.id.to_hex(),
            token: invite.token,
            url: invite.url,
            group: d.group.to_hex(),
            role: d.role,
            expires_at: iso(d.expires_at),
            max_uses: d.max_uses,
            uses: d.uses,
            status,
            created_by: d.created_by.to_hex(),
            created_at: iso(d.created_at),
            revoked_at: d.revoked_at.map(iso),
        }
    }
}

/// Create an invite link (an admin). The token is shown only here.
#[utoipa::path(post, path = "/v1/groups/{id}/invites", tag = "invites",
    params(("id" = Id, Path, description = "The group")),
    request_body = NewInviteBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The link, with its token", body = Envelope<InviteView>),
        (status = 400, description = "A bad expiry, use limit or role, or too many live links", body = Failure),
        (status = 403, description = "Not an admin of the group", body = Failure),
    ))]
pub async fn create_invite(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<NewInviteBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().parse()?;
    let id = parse_id(&path, "group")?;
    let invite = invites::create_invite(&state, user, id, new).await?;
    Ok(created(
        "Invite link created",
        InviteView::of(invite, DateTime::now()),
    ))
}

/// The group's invite links, newest first, without their tokens (an admin).
#[utoipa::path(get, path = "/v1/groups/{id}/invites", tag = "invites",
    params(("id" = Id, Path, description = "The group")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The links", body = Envelope<Vec<InviteView>>),
        (status = 403, description = "Not an admin of the group", body = Failure),
    ))]
pub async fn list_invites(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "group")?;
    let now = DateTime::now();
    let views: Vec<InviteView> = invites::list_invites(&state, user, id)
        .await?
        .into_iter()
        .map(|i| InviteView::of(i, now))
        .collect();
    Ok(ok("Invite links retrieved", views))
}

/// Revoke an invite link (an admin); it stops working at once.
#[utoipa::path(delete, path = "/v1/groups/{id}/invites/{invite_id}", tag = "invites",
    params(
        ("id" = Id, Path, description = "The group"),
        ("invite_id" = Id, Path, description = "The invite"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link, revoked", body = Envelope<InviteView>),
        (status = 403, description = "Not an admin of the group", body = Failure),
        (status = 404, description = "No such invite in the group", body = Failure),
    ))]
pub async fn revoke_invite(
    user: AuthUser,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (group, invite) = path.into_inner();
    let group = parse_id(&group, "group")?;
    let invite = parse_id(&invite, "invite")?;
    let revoked = invites::revoke_invite(&state, user, group, invite).await?;
    Ok(ok(
        "Invite link revoked",
        InviteView::of(revoked, DateTime::now()),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitedGroup {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    member_count: usize,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuestRef {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
}

/// What a link leads to, before joining.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewView {
    group: InvitedGroup,
    /// The role of who joins.
    role: Role,
    invited_by: String,
    #[schema(format = DateTime)]
    expires_at: String,
    /// Guests of the group one may take the place of (`claimGuest`).
    guests: Vec<GuestRef>,
}

impl PreviewView {
    fn of(p: Preview) -> Self {
        Self {
            group: InvitedGroup {
                id: p.group.id.to_hex(),
                name: p.group.name.clone(),
                member_count: p.group.members.len(),
            },
            role: p.invite.role,
            invited_by: p.inviter,
            expires_at: iso(p.invite.expires_at),
            guests: p
                .guests
                .into_iter()
                .map(|(id, name)| GuestRef {
                    id: id.to_hex(),
                    name,
                })
                .collect(),
        }
    }
}

/// Preview the group of an invite link (signed in).
#[utoipa::path(get, path = "/v1/invites/{token}", tag = "invites",
    params(("token" = String, Path, description = "The link's token")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group", body = Envelope<PreviewView>),
        (status = 404, description = "No such link", body = Failure),
        (status = 410, description = "`INVITE_EXPIRED`: revoked, expired or used up", body = Failure),
        (status = 429, description = "Too many attempts from this client", body = Failure),
    ))]
pub async fn preview(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let preview = invites::preview(&state, user, &path).await?;
    Ok(ok("Invite retrieved", PreviewView::of(preview)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AcceptBody {
    /// A guest of the group whose shares, payments and balances I take
    /// over (they leave the group).
    #[schema(value_type = Option<Id>)]
    claim_guest: Option<String>,
}

/// Join the group of an invite link, optionally in a guest's place.
#[utoipa::path(post, path = "/v1/invites/{token}/accept", tag = "invites",
    params(("token" = String, Path, description = "The link's token")),
    request_body = AcceptBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group I joined", body = Envelope<GroupView>),
        (status = 400, description = "Already a member, the group is full, or `claimGuest` is not a guest of it", body = Failure),
        (status = 404, description = "No such link", body = Failure),
        (status = 409, description = "`GUEST_SHARES_OVERLAP`: I already take part in some of the guest's expenses", body = Failure),
        (status = 410, description = "`INVITE_EXPIRED`: revoked, expired or used up", body = Failure),
        (status = 429, description = "Too many attempts from this client", body = Failure),
    ))]
pub async fn accept(
    user: AuthUser,
    path: web::Path<String>,
    body: Option<web::Json<AcceptBody>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let claim = optional_id(body.claim_guest.as_deref(), "claimGuest")?;
    let view = invites::accept(&state, user, &path, claim).await?;
    let version = view.version();
    Ok(super::versions::tagged(
        ok("Joined the group", view),
        version,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewGuestBody {
    /// What the group calls them.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 50)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuestAdded {
    #[schema(value_type = Id)]
    guest_id: String,
    group: GroupView,
}

/// Add a member without an account (any member); they may pay and share
/// in the group's expenses until someone joining claims them.
#[utoipa::path(post, path = "/v1/groups/{id}/guests", tag = "invites",
    params(("id" = Id, Path, description = "The group")),
    request_body = NewGuestBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The guest's id and the group", body = Envelope<GuestAdded>),
        (status = 400, description = "A bad name, or the group is full", body = Failure),
        (status = 403, description = "Not a member", body = Failure),
    ))]
pub async fn add_guest(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<NewGuestBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Checks::default();
    let name = c
        .required("name", body.into_inner().name, "Name is required")
        .and_then(|n| c.check("name", UserName::try_from(n.as_str())));
    let name = c.finish(name)?;
    let id = parse_id(&path, "group")?;
    let (group, guest) = invites::add_guest(&state, user, id, name).await?;
    Ok(created(
        "Guest added",
        GuestAdded {
            guest_id: guest.to_hex(),
            group,
        },
    ))
}
