//! Friends: my friends with their state, the bulk add (requests to
//! registered people, pending friends for the others; planned in [`plan`]),
//! accepting and declining requests, removal, and the balance with one
//! friend.

mod plan;

use futures_util::TryFutureExt;
use mongodb::bson::{doc, oid::ObjectId};
use serde::Serialize;
use utoipa::ToSchema;

pub use plan::{Candidate, EntryResult, Parsed, Rejected};

use crate::app::schema::Id;
use crate::app::users::me;
use crate::app::versions;
use crate::app::views::{balance_fields, nets, BalanceFields, UserRef};
use crate::auth::AuthUser;
use crate::domain::friendship::Status;
use crate::error::ApiError;
use crate::state::{AppState, Links};
use crate::store::{FriendsAdded, Person};
use plan::Plan;

/// A friend entry as its owner sees it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FriendView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
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
    fn of(p: &Person, status: Status, links: &Links) -> Self {
        Self {
            id: p.id.to_hex(),
            name: p.name.clone(),
            email: Some(p.email.clone()),
            phone_number: p.phone_number.clone(),
            profile_image: Some(p.profile_image.as_deref().map(|s| links.picture(s))),
            status,
        }
    }
}

/// My registered friends (every state) and my pending friends.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FriendsView {
    friends: Vec<FriendView>,
    pending_friends: Vec<FriendView>,
}

pub async fn list(app: &AppState, user: AuthUser) -> Result<FriendsView, ApiError> {
    let store = &app.store;
    let doc = me(store, user).await?;
    let (friends, pending) = futures_util::try_join!(
        store.people(user.id, &doc.friends),
        store.pending_friends_of(user.id)
    )?;
    let relations = doc.relations();
    let friends = friends
        .iter()
        .filter_map(|p| Some(FriendView::of(p, relations.status(p.id)?, &app.links)))
        .collect();
    let pending_friends = pending
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
    Ok(FriendsView {
        friends,
        pending_friends,
    })
}

/// Those of `ids` who are my registered friends (in any state) now, as
/// `GET /v1/users/friends` lists them; the others are left out.
pub async fn friend_views(
    app: &AppState,
    user: AuthUser,
    ids: &[ObjectId],
) -> Result<std::collections::HashMap<ObjectId, FriendView>, ApiError> {
    let store = &app.store;
    let doc = me(store, user).await?;
    let relations = doc.relations();
    let wanted: Vec<ObjectId> = ids
        .iter()
        .copied()
        .filter(|id| relations.status(*id).is_some())
        .collect();
    let people = store.people(user.id, &wanted).await?;
    Ok(people
        .iter()
        .filter_map(|p| {
            let view = FriendView::of(p, relations.status(p.id)?, &app.links);
            Some((p.id, view))
        })
        .collect())
}

/// My registered friends' ids (every state), in id order.
pub async fn friend_ids(app: &AppState, user: AuthUser) -> Result<Vec<ObjectId>, ApiError> {
    let mut ids = me(&app.store, user).await?.friends;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// What a bulk add answers: how many were added and made pending, and the
/// result of each entry.
pub struct Added {
    pub message: String,
    pub results: Vec<EntryResult>,
}

/// Adds the entries: planned from what is stored, written only if that
/// still holds (a registration or an identical add meanwhile makes the plan
/// stale, and it is made again).
pub async fn add(app: &AppState, user: AuthUser, entries: Vec<Parsed>) -> Result<Added, ApiError> {
    let store = &app.store;
    let emails: Vec<String> = entries
        .iter()
        .filter_map(|c| Some(c.as_ref().ok()?.email.as_ref()?.as_str().to_owned()))
        .collect();
    let phones: Vec<String> = entries
        .iter()
        .filter_map(|c| c.as_ref().ok()?.phone.clone())
        .collect();
    let added = versions::retry(async || {
        let (doc, registered, my_pending) = futures_util::try_join!(
            me(store, user),
            store
                .add_candidates(user.id, &emails, &phones)
                .map_err(ApiError::from),
            store.pending_friends_of(user.id).map_err(ApiError::from)
        )?;
        let mut plan = Plan::new(user.id, doc.relations(), &my_pending);
        for entry in &entries {
            plan.entry(entry, &registered);
        }
        let converted = match store
            .add_friends(user.id, &plan.requests, &plan.accepts, &plan.pend)
            .await?
        {
            FriendsAdded::Stale => return Ok(None),
            FriendsAdded::Done(converted) => converted,
        };
        let message = format!(
            "{} friend(s) added, {} pending friend(s) created",
            plan.added + converted.len(),
            plan.pend.len() - converted.len()
        );
        Ok(Some(Added {
            message,
            results: plan.results_after(&converted),
        }))
    })
    .await?;
    added.ok_or_else(|| {
        ApiError::Conflict(
            "Your friends changed while they were being added; please try again".into(),
        )
    })
}

/// Which of my friend entries a removal names.
#[derive(Clone, Copy)]
pub enum Removal {
    /// A registered friend (any state).
    Friend,
    /// A pending friend.
    Pending,
}

pub async fn remove(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    which: Removal,
) -> Result<(), ApiError> {
    let store = &app.store;
    match which {
        Removal::Pending => {
            if !store.remove_pending_friend(user.id, id).await? {
                return Err(ApiError::not_found("Pending friend not found"));
            }
        }
        Removal::Friend => {
            let doc = me(store, user).await?;
            if !doc.friends.contains(&id) {
                return Err(ApiError::not_found("Friend not found"));
            }
            store.unfriend(user.id, id).await?;
            // Series outside a group between the two can no longer be created.
            let reason = "A friendship in this series ended";
            store
                .pause_series_where(
                    doc! { "group": null, "people": { "$all": [user.id, id] } },
                    reason,
                )
                .await?;
        }
    }
    Ok(())
}

/// Accepts a friend request: we become mutual friends, and each sees the
/// other's contact details.
pub async fn accept(app: &AppState, user: AuthUser, id: ObjectId) -> Result<FriendView, ApiError> {
    let store = &app.store;
    if !store.accept_friend(user.id, id).await? {
        return Err(ApiError::not_found("Friend request not found"));
    }
    let people = store.people(user.id, &[id]).await?;
    let friend = people
        .first()
        .ok_or_else(|| ApiError::not_found("Friend not found"))?;
    Ok(FriendView::of(friend, Status::Mutual, &app.links))
}

/// Declines a friend request: the entry goes on both sides.
pub async fn decline(app: &AppState, user: AuthUser, id: ObjectId) -> Result<(), ApiError> {
    if !app.store.decline_friend(user.id, id).await? {
        return Err(ApiError::not_found("Friend request not found"));
    }
    Ok(())
}

/// My balance with one friend, and the friend.
#[derive(Serialize, ToSchema)]
pub struct FriendBalance {
    #[serde(flatten)]
    balance: BalanceFields,
    friend: UserRef,
}

/// My balance with one friend, in my default currency and per currency,
/// with the friend.
pub async fn balance(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<FriendBalance, ApiError> {
    let store = &app.store;
    let doc = me(store, user).await?;
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
    Ok(FriendBalance {
        balance: balance_fields(&net, doc.default_currency()),
        friend: UserRef::of(friend, &app.links),
    })
}
