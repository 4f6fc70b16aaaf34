//! `/v1/users/friends`: my friends, bulk add (with pending friends for people
//! not registered yet), removal, and the balance with one friend.

use std::collections::HashSet;

use actix_web::{web, HttpResponse, Scope};
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::users::me;
use super::versions;
use super::views::{balance_fields, nets, UserRef};
use super::{ok, parse_id};
use crate::auth::AuthUser;
use crate::domain::{email::Email, text};
use crate::error::{ApiError, FieldError};
use crate::store::{FriendsAdded, PendingFriendDoc, Store, UserSummary};

const MAX_FRIENDS_PER_REQUEST: usize = 100;

pub fn scope() -> Scope {
    web::scope("/users/friends")
        .route("", web::get().to(list))
        .route("", web::post().to(add))
        .route("/{friend_id}", web::delete().to(remove))
        .route("/{friend_id}/balance", web::get().to(balance))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FriendView {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    email: Option<String>,
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_image: Option<Option<String>>,
}

impl From<&UserSummary> for FriendView {
    fn from(u: &UserSummary) -> Self {
        Self {
            id: u.id.to_hex(),
            name: u.name.clone(),
            email: Some(u.email.clone()),
            phone_number: u.phone_number.clone(),
            profile_image: Some(u.profile_image.as_deref().map(crate::images::public_url)),
        }
    }
}

async fn list(user: AuthUser, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let doc = me(&store, user).await?;
    let (friends, pending) = futures_util::try_join!(
        store.user_summaries(&doc.friends),
        store.pending_friends_of(user.id)
    )?;
    let friends: Vec<FriendView> = friends.iter().map(FriendView::from).collect();
    let pending: Vec<FriendView> = pending
        .iter()
        .map(|p| FriendView {
            id: p.id.to_hex(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone_number: p.phone_number.clone(),
            profile_image: None,
        })
        .collect();
    Ok(ok(
        "Friends retrieved successfully",
        serde_json::json!({ "friends": friends, "pendingFriends": pending }),
    ))
}

#[derive(Deserialize)]
struct AddBody {
    friends: Option<Vec<FriendEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FriendEntry {
    name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryResult {
    name: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    success: bool,
    message: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

/// One validated entry of a bulk add.
struct Candidate {
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

/// An entry of a bulk add: the candidate, or the entry back with the reason
/// it failed (reported in its own result; the other entries still go ahead).
type Parsed = Result<Candidate, (FriendEntry, String)>;

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

/// One entry, which has an email or a phone number (see [`parse_entries`]).
fn parse_entry(entry: FriendEntry) -> Parsed {
    let name = match entry
        .name
        .as_deref()
        .map(|n| text::bounded(n, "Name", 1, 50))
    {
        Some(Ok(n)) => n,
        Some(Err(m)) => return Err((entry, m)),
        None => return Err((entry, "Name is required".into())),
    };
    let email = match given(&entry.email).map(Email::parse) {
        Some(Ok(e)) => Some(e.into_string()),
        Some(Err(m)) => return Err((entry, m.into())),
        None => None,
    };
    let phone = match given(&entry.phone_number).map(text::phone) {
        Some(Ok(p)) => Some(p),
        Some(Err(m)) => return Err((entry, m)),
        None => None,
    };
    Ok(Candidate { name, email, phone })
}

async fn add(
    user: AuthUser,
    body: web::Json<AddBody>,
    store: web::Data<Store>,
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
    let emails: Vec<String> = parsed
        .iter()
        .filter_map(|c| c.as_ref().ok()?.email.clone())
        .collect();
    let phones: Vec<String> = parsed
        .iter()
        .filter_map(|c| c.as_ref().ok()?.phone.clone())
        .collect();
    // Planned from what is stored, written only if that still holds (a
    // registration or an identical add meanwhile makes the plan stale).
    for _ in 0..versions::ATTEMPTS {
        let (doc, registered, my_pending) = futures_util::try_join!(
            me(&store, user),
            store.users_by_contacts(&emails, &phones),
            store.pending_friends_of(user.id)
        )?;
        let mut plan = Plan::new(user.id, &doc.friends, &my_pending);
        for entry in &parsed {
            plan.entry(entry, &registered);
        }
        let converted = match store
            .add_friends(user.id, &plan.befriend, &plan.pend)
            .await?
        {
            FriendsAdded::Stale => continue,
            FriendsAdded::Done(converted) => converted,
        };
        let message = format!(
            "{} friend(s) added, {} pending friend(s) created",
            plan.befriend.len() + converted.len(),
            plan.pend.len() - converted.len()
        );
        return Ok(ok(&message, plan.results_after(&converted)));
    }
    Err(ApiError::Conflict(
        "Your friends changed while they were being added; please try again".into(),
    ))
}

/// What a bulk add writes, and what it answers for each entry.
struct Plan {
    me: ObjectId,
    friends: HashSet<ObjectId>,
    pending_keys: HashSet<String>,
    befriend: Vec<ObjectId>,
    pend: Vec<PendingFriendDoc>,
    /// Per entry, its result and the pending record it created, if any.
    results: Vec<(EntryResult, Option<ObjectId>)>,
}

impl Plan {
    fn new(me: ObjectId, friends: &[ObjectId], my_pending: &[PendingFriendDoc]) -> Self {
        Self {
            me,
            friends: friends.iter().copied().collect(),
            pending_keys: my_pending
                .iter()
                .flat_map(|p| [p.email.clone(), p.phone_number.clone()])
                .flatten()
                .collect(),
            befriend: Vec::new(),
            pend: Vec::new(),
            results: Vec::new(),
        }
    }

    fn entry(&mut self, entry: &Parsed, registered: &[UserSummary]) {
        let c = match entry {
            Ok(c) => c,
            Err((raw, message)) => {
                let result = EntryResult {
                    name: raw.name.clone(),
                    email: raw.email.clone(),
                    phone_number: raw.phone_number.clone(),
                    success: false,
                    message: message.clone(),
                    kind: None,
                };
                self.results.push((result, None));
                return;
            }
        };
        let existing = c
            .email
            .as_ref()
            .and_then(|e| registered.iter().find(|u| &u.email == e))
            .or_else(|| {
                let phone = c.phone.as_ref()?;
                registered
                    .iter()
                    .find(|u| u.phone_number.as_ref() == Some(phone))
            });
        let mut pended = None;
        let (success, message, kind) = match existing {
            Some(u) if u.id == self.me => (
                false,
                "You cannot add yourself as a friend",
                "existing_user",
            ),
            Some(u) if !self.friends.insert(u.id) => {
                (false, "Already friends with this user", "existing_user")
            }
            Some(u) => {
                self.befriend.push(u.id);
                (true, FRIEND_ADDED, "existing_user")
            }
            None => {
                let keys = [c.email.clone(), c.phone.clone()];
                if keys.iter().flatten().any(|k| self.pending_keys.contains(k)) {
                    (false, "Already in your pending friends", "pending_friend")
                } else {
                    self.pending_keys.extend(keys.into_iter().flatten());
                    let record = PendingFriendDoc {
                        id: ObjectId::new(),
                        name: c.name.clone(),
                        email: c.email.clone(),
                        phone_number: c.phone.clone(),
                        added_by: self.me,
                        created_at: mongodb::bson::DateTime::now(),
                    };
                    pended = Some(record.id);
                    self.pend.push(record);
                    (
                        true,
                        "Pending friend created; they will be added when they register",
                        "pending_friend",
                    )
                }
            }
        };
        let result = EntryResult {
            name: Some(c.name.clone()),
            email: c.email.clone(),
            phone_number: c.phone.clone(),
            success,
            message: message.into(),
            kind: Some(kind),
        };
        self.results.push((result, pended));
    }

    /// The results, with pending records whose person registered while they
    /// were written reported as the friendships they became.
    fn results_after(self, converted: &[ObjectId]) -> Vec<EntryResult> {
        self.results
            .into_iter()
            .map(|(mut result, pended)| {
                if pended.is_some_and(|id| converted.contains(&id)) {
                    result.message = FRIEND_ADDED.into();
                    result.kind = Some("existing_user");
                }
                result
            })
            .collect()
    }
}

const FRIEND_ADDED: &str = "Friend added successfully";

#[derive(Deserialize)]
struct RemoveQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn remove(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<RemoveQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    match query.kind.as_deref() {
        Some("pending") => {
            if !store.remove_pending_friend(user.id, id).await? {
                return Err(ApiError::not_found("Pending friend not found"));
            }
            Ok(ok(
                "Pending friend removed successfully",
                serde_json::Value::Null,
            ))
        }
        None | Some("friend") | Some("") => {
            let doc = me(&store, user).await?;
            if !doc.friends.contains(&id) {
                return Err(ApiError::not_found("Friend not found"));
            }
            store.unfriend(user.id, id).await?;
            Ok(ok("Friend removed successfully", serde_json::Value::Null))
        }
        Some(_) => Err(ApiError::bad_request("type must be \"pending\" when given")),
    }
}

async fn balance(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    let doc = me(&store, user).await?;
    if !doc.friends.contains(&id) {
        return Err(ApiError::bad_request("This user is not your friend"));
    }
    let ids = [id];
    let (people, rows) = futures_util::try_join!(
        store.user_summaries(&ids),
        store.ledger_for(user.id, Some(id))
    )?;
    let friend = people
        .first()
        .ok_or_else(|| ApiError::not_found("Friend not found"))?;
    let net = nets(&rows).remove(&id).unwrap_or_default();
    let mut data = balance_fields(&net, doc.default_currency());
    data["friend"] = serde_json::to_value(UserRef::from_summary(friend)).unwrap_or_default();
    Ok(ok("Balance retrieved successfully", data))
}
