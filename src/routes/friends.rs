//! `/v1/users/friends`: my friends with their state, bulk add (requests to
//! registered people, pending friends for the others), accepting and
//! declining requests, removal, and the balance with one friend.

use std::collections::HashSet;

use actix_web::{web, HttpResponse, Scope};
use futures_util::TryFutureExt;
use mongodb::bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use super::users::me;
use super::versions;
use super::views::{balance_fields, nets, UserRef};
use super::{ok, parse_id};
use crate::auth::AuthUser;
use crate::domain::friendship::{Add, Relations, Status, Typed};
use crate::domain::{email::Email, text};
use crate::error::{ApiError, FieldError};
use crate::store::{
    Candidate as StoredCandidate, FriendsAdded, PendingFriendDoc, Person, Request, Store,
};

const MAX_FRIENDS_PER_REQUEST: usize = 100;

pub fn scope() -> Scope {
    web::scope("/users/friends")
        .route("", web::get().to(list))
        .route("", web::post().to(add))
        .route("/{friend_id}", web::delete().to(remove))
        .route("/{friend_id}/accept", web::post().to(accept))
        .route("/{friend_id}/decline", web::post().to(decline))
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
    status: Status,
}

impl FriendView {
    /// A registered friend, with the contact details I may see (an empty
    /// email when none: the app reads it as a string).
    fn of(p: &Person, status: Status) -> Self {
        Self {
            id: p.id.to_hex(),
            name: p.name.clone(),
            email: Some(p.email.clone()),
            phone_number: p.phone_number.clone(),
            profile_image: Some(p.profile_image.as_deref().map(crate::images::public_url)),
            status,
        }
    }
}

async fn list(user: AuthUser, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let doc = me(&store, user).await?;
    let (friends, pending) = futures_util::try_join!(
        store.people(user.id, &doc.friends),
        store.pending_friends_of(user.id)
    )?;
    let relations = doc.relations();
    let friends: Vec<FriendView> = friends
        .iter()
        .filter_map(|p| Some(FriendView::of(p, relations.status(p.id)?)))
        .collect();
    let pending: Vec<FriendView> = pending
        .iter()
        .map(|p| FriendView {
            id: p.id.to_hex(),
            name: p.name.clone(),
            email: p.email.clone(),
            phone_number: p.phone_number.clone(),
            profile_image: None,
            status: Status::Pending,
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
    /// The friend entry's state after the add, when the add made or found one.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
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
            store
                .add_candidates(user.id, &emails, &phones)
                .map_err(ApiError::from),
            store.pending_friends_of(user.id).map_err(ApiError::from)
        )?;
        let mut plan = Plan::new(user.id, doc.relations(), &my_pending);
        for entry in &parsed {
            plan.entry(entry, &registered);
        }
        let converted = match store
            .add_friends(user.id, &plan.requests, &plan.accepts, &plan.pend)
            .await?
        {
            FriendsAdded::Stale => continue,
            FriendsAdded::Done(converted) => converted,
        };
        let message = format!(
            "{} friend(s) added, {} pending friend(s) created",
            plan.added + converted.len(),
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
    relations: Relations,
    /// Registered people this add already decided about.
    decided: HashSet<ObjectId>,
    pending_keys: HashSet<String>,
    requests: Vec<Request>,
    accepts: Vec<ObjectId>,
    /// Entries answered as added (requests, acceptances and ignored ones).
    added: usize,
    pend: Vec<PendingFriendDoc>,
    /// Per entry, its result and the pending record it created, if any.
    results: Vec<(EntryResult, Option<ObjectId>)>,
}

impl Plan {
    fn new(me: ObjectId, relations: Relations, my_pending: &[PendingFriendDoc]) -> Self {
        Self {
            me,
            relations,
            decided: HashSet::new(),
            pending_keys: my_pending
                .iter()
                .flat_map(|p| [p.email.clone(), p.phone_number.clone()])
                .flatten()
                .collect(),
            requests: Vec::new(),
            accepts: Vec::new(),
            added: 0,
            pend: Vec::new(),
            results: Vec::new(),
        }
    }

    fn entry(&mut self, entry: &Parsed, registered: &[StoredCandidate]) {
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
                    status: None,
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
        let (success, message, kind, status, pended) = match existing {
            Some(u) => {
                let (success, message, status) = self.registered(c, u);
                (success, message, "existing_user", status, None)
            }
            None => {
                let (success, message, pended) = self.unregistered(c);
                let status = success.then_some(Status::Pending);
                (success, message, "pending_friend", status, pended)
            }
        };
        let result = EntryResult {
            name: Some(c.name.clone()),
            email: c.email.clone(),
            phone_number: c.phone.clone(),
            success,
            message: message.into(),
            kind: Some(kind),
            status,
        };
        self.results.push((result, pended));
    }

    /// An entry naming a registered user: a request, an acceptance, or why
    /// neither. Someone who blocked me is answered like a request, and
    /// nothing is written.
    fn registered(
        &mut self,
        c: &Candidate,
        u: &StoredCandidate,
    ) -> (bool, &'static str, Option<Status>) {
        if !self.decided.insert(u.id) && u.id != self.me {
            return (false, "Already friends with this user", None);
        }
        let planned = self.requests.len();
        match Add::decide(self.me, &self.relations, u.target(), planned) {
            Add::Request => {
                self.requests.push(Request {
                    id: u.id,
                    typed: Typed {
                        email: c.email.clone(),
                        phone: c.phone.clone(),
                    },
                });
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Outgoing))
            }
            Add::Ignored => {
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Outgoing))
            }
            Add::Accept => {
                self.accepts.push(u.id);
                self.added += 1;
                (true, FRIEND_ADDED, Some(Status::Mutual))
            }
            Add::AlreadyFriends => (
                false,
                "Already friends with this user",
                self.relations.status(u.id),
            ),
            Add::Myself => (false, "You cannot add yourself as a friend", None),
            Add::BlockedByMe => (
                false,
                "You have blocked this user; unblock them to add them",
                None,
            ),
            Add::MyListFull => (false, "Your friend list is full", None),
            Add::TheirListFull => (false, "This user cannot take more friends", None),
        }
    }

    /// An entry naming nobody registered: a pending friend, unless I have
    /// one with that email or phone already.
    fn unregistered(&mut self, c: &Candidate) -> (bool, &'static str, Option<ObjectId>) {
        let keys = [c.email.clone(), c.phone.clone()];
        if keys.iter().flatten().any(|k| self.pending_keys.contains(k)) {
            return (false, "Already in your pending friends", None);
        }
        self.pending_keys.extend(keys.into_iter().flatten());
        let record = PendingFriendDoc {
            id: ObjectId::new(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone_number: c.phone.clone(),
            added_by: self.me,
            created_at: mongodb::bson::DateTime::now(),
        };
        let id = record.id;
        self.pend.push(record);
        (
            true,
            "Pending friend created; they will be added when they register",
            Some(id),
        )
    }

    /// The results, with pending records whose person registered while they
    /// were written reported as the requests they became.
    fn results_after(self, converted: &[ObjectId]) -> Vec<EntryResult> {
        self.results
            .into_iter()
            .map(|(mut result, pended)| {
                if pended.is_some_and(|id| converted.contains(&id)) {
                    result.message = FRIEND_ADDED.into();
                    result.kind = Some("existing_user");
                    result.status = Some(Status::Outgoing);
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

/// Accepts a friend request: we become mutual friends, and each sees the
/// other's contact details.
async fn accept(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    if !store.accept_friend(user.id, id).await? {
        return Err(ApiError::not_found("Friend request not found"));
    }
    let people = store.people(user.id, &[id]).await?;
    let friend = people
        .first()
        .ok_or_else(|| ApiError::not_found("Friend not found"))?;
    Ok(ok(
        "Friend request accepted",
        FriendView::of(friend, Status::Mutual),
    ))
}

/// Declines a friend request: the entry goes on both sides.
async fn decline(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "friend")?;
    if !store.decline_friend(user.id, id).await? {
        return Err(ApiError::not_found("Friend request not found"));
    }
    Ok(ok("Friend request declined", serde_json::Value::Null))
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
        store.people(user.id, &ids),
        store.ledger_for(user.id, Some(id))
    )?;
    let friend = people
        .first()
        .ok_or_else(|| ApiError::not_found("Friend not found"))?;
    let net = nets(&rows).remove(&id).unwrap_or_default();
    let mut data = balance_fields(&net, doc.default_currency());
    data["friend"] = serde_json::to_value(UserRef::of(friend)).unwrap_or_default();
    Ok(ok("Balance retrieved successfully", data))
}
