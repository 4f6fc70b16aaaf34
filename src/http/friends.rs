//! `/v1/users/friends`: my friends, bulk add, accepting and declining
//! requests, removal, and the balance with one friend
//! (`crate::app::friends`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ok, parse_id, Envelope};
use crate::app;
use crate::app::friends::{
    Candidate, EntryResult, FriendBalance, FriendView, FriendsView, Parsed, Rejected, Removal,
};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::domain::email::Email;
use crate::domain::inputs::UserName;
use crate::domain::text;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

const MAX_FRIENDS_PER_REQUEST: usize = 100;

/// My friends (registered, in every state) and my pending friends (not
/// registered yet).
#[utoipa::path(get, path = "/v1/users/friends", tag = "friends",
    security(("bearer" = [])),
    responses((status = 200, description = "My friends", body = Envelope<FriendsView>)))]
pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let view = app::friends::list(&state, user).await?;
    Ok(ok("Friends retrieved successfully", view))
}

#[derive(Deserialize, ToSchema)]
pub struct AddBody {
    #[schema(required = true, nullable = false, min_items = 1, max_items = 100)]
    friends: Option<Vec<FriendEntry>>,
}

/// Someone to add: a name, and an email or a phone number.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FriendEntry {
    #[schema(min_length = 1, max_length = 50)]
    name: Option<String>,
    #[schema(format = Email)]
    email: Option<String>,
    phone_number: Option<String>,
}

/// Add friends in bulk. A registered user (by email, else phone) becomes a
/// friend; anyone else is stored as a pending friend until they register.
/// Each entry gets its own result; an entry with neither an email nor a
/// phone number makes the whole request a 400.
#[utoipa::path(post, path = "/v1/users/friends", tag = "friends",
    security(("bearer" = [])),
    responses((status = 200, description = "The result of each entry", body = Envelope<Vec<EntryResult>>)))]
pub async fn add(
    user: AuthUser,
    body: web::Json<AddBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entries = body.into_inner().friends.unwrap_or_default();
    if entries.is_empty() {
        return Err(ApiError::bad_request("Please provide at least one friend"));
    }
    if entries.len() > MAX_FRIENDS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_FRIENDS_PER_REQUEST} friends can be added at once"
        )));
    }
    let parsed = parse_entries(entries)?;
    let added = app::friends::add(&state, user, parsed).await?;
    Ok(ok(&added.message, added.results))
}

/// The trimmed text of an optional field, None when absent or blank.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Parses every entry. An entry with neither an email nor a phone number
/// makes the whole request a 400 that names each such entry.
fn parse_entries(entries: Vec<FriendEntry>) -> Result<Vec<Parsed>, ApiError> {
    let without_contact: Vec<FieldError> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| given(&e.email).is_none() && given(&e.phone_number).is_none())
        .map(|(i, e)| no_contact_error(i, given(&e.name)))
        .collect();
    if !without_contact.is_empty() {
        return Err(ApiError::validation(without_contact));
    }
    Ok(entries.into_iter().map(parse_entry).collect())
}

/// `friends[2]`: "Friend 3 (Sam) needs an email or a phone number".
fn no_contact_error(index: usize, name: Option<&str>) -> FieldError {
    let which = match name.filter(|n| n.chars().count() <= 50) {
        Some(name) => format!("Friend {} ({name})", index + 1),
        None => format!("Friend {}", index + 1),
    };
    FieldError::new(
        &format!("friends[{index}]"),
        format!("{which} needs an email or a phone number"),
    )
}

/// One entry, which has an email or a phone number (see [`parse_entries`]):
/// the candidate, or the entry back with the reason it failed.
fn parse_entry(entry: FriendEntry) -> Parsed {
    let rejected = |entry: FriendEntry, message: String| Rejected {
        name: entry.name,
        email: entry.email,
        phone_number: entry.phone_number,
        message,
    };
    let name = match entry.name.as_deref().map(UserName::try_from) {
        Some(Ok(n)) => n,
        Some(Err(m)) => return Err(rejected(entry, m)),
        None => return Err(rejected(entry, "Name is required".into())),
    };
    let email = match given(&entry.email).map(Email::parse) {
        Some(Ok(e)) => Some(e),
        Some(Err(m)) => return Err(rejected(entry, m.into())),
        None => None,
    };
    let phone = match given(&entry.phone_number).map(text::phone) {
        Some(Ok(p)) => Some(p),
        Some(Err(m)) => return Err(rejected(entry, m)),
        None => None,
    };
    Ok(Candidate { name, email, phone })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// `pending` removes one of my pending friends instead.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Remove a friend (or, with `type=pending`, a pending friend).
#[utoipa::path(delete, path = "/v1/users/friends/{friend_id}", tag = "friends",
    params(("friend_id" = Id, Path, description = "The friend"), RemoveQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Removed", body = Envelope<Null>)))]
pub async fn remove(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<RemoveQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    let (which, message) = match query.kind.as_deref() {
        Some("pending") => (Removal::Pending, "Pending friend removed successfully"),
        None | Some("friend") | Some("") => (Removal::Friend, "Friend removed successfully"),
        Some(_) => return Err(ApiError::bad_request("type must be \"pending\" when given")),
    };
    app::friends::remove(&state, user, id, which).await?;
    Ok(ok(message, serde_json::Value::Null))
}

/// Accepts a friend request: we become mutual friends, and each sees the
/// other's contact details.
#[utoipa::path(post, path = "/v1/users/friends/{friend_id}/accept", tag = "friends",
    params(("friend_id" = Id, Path, description = "Who asked")),
    security(("bearer" = [])),
    responses((status = 200, description = "The friend", body = Envelope<FriendView>)))]
pub async fn accept(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    let friend = app::friends::accept(&state, user, id).await?;
    Ok(ok("Friend request accepted", friend))
}

/// Declines a friend request: the entry goes on both sides.
#[utoipa::path(post, path = "/v1/users/friends/{friend_id}/decline", tag = "friends",
    params(("friend_id" = Id, Path, description = "Who asked")),
    security(("bearer" = [])),
    responses((status = 200, description = "Declined", body = Envelope<Null>)))]
pub async fn decline(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    app::friends::decline(&state, user, id).await?;
    Ok(ok("Friend request declined", serde_json::Value::Null))
}

/// My balance with one friend (not a friend: 400).
#[utoipa::path(get, path = "/v1/users/friends/{friend_id}/balance", tag = "friends",
    params(("friend_id" = Id, Path, description = "The friend")),
    security(("bearer" = [])),
    responses((status = 200, description = "The balance", body = Envelope<FriendBalance>)))]
pub async fn balance(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    let data = app::friends::balance(&state, user, id).await?;
    Ok(ok("Balance retrieved successfully", data))
}
