//! Users: the caller's own document, my profile and its changes, the
//! password, user search, my balances with my friends, deactivation.

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::estimates::{Converted, Estimator};
use crate::app::schema::Id;
use crate::app::sessions::SessionsEnded;
use crate::app::views::{balance_fields, ids, iso, iso_opt, nets, BalanceFields};
use crate::auth::{password, AuthUser};
use crate::domain::email::Email;
use crate::domain::inputs::{Password, UserName};
use crate::domain::money::Currency;
use crate::domain::text;
use crate::error::ApiError;
use crate::images::input;
use crate::images::process::Purpose;
use crate::state::{AppState, Links};
use crate::store::{PhotoChange, ProfileChanges, SearchBy, Store, UserDoc, UserSummary};

/// The caller's own document; gone between token check and now → 401.
pub async fn me(store: &Store, user: AuthUser) -> Result<UserDoc, ApiError> {
    store
        .user_by_id(user.id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| ApiError::unauthorized("User not found or account is deactivated"))
}

/// My profile as I see it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    email: String,
    /// The photo's URL.
    profile_image: Option<String>,
    phone_number: Option<String>,
    role: String,
    is_active: bool,
    #[schema(format = DateTime)]
    last_login: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(value_type = Vec<Id>)]
    friends: Vec<String>,
    #[schema(value_type = Vec<Id>)]
    pending_friends: Vec<String>,
    /// The currency of the single `balance` numbers (USD unless chosen).
    default_currency: String,
}

impl ProfileView {
    pub fn of(u: &UserDoc, links: &Links) -> Self {
        Self {
            id: u.id.to_hex(),
            name: u.name.clone(),
            email: u.email.clone(),
            profile_image: u.profile_image.as_deref().map(|s| links.picture(s)),
            phone_number: u.phone_number.clone(),
            role: u.role.clone(),
            is_active: u.is_active,
            last_login: iso_opt(u.last_login),
            created_at: iso(u.created_at),
            updated_at: iso(u.updated_at),
            friends: ids(&u.friends),
            pending_friends: ids(&u.pending_friends),
            default_currency: u.default_currency().code().to_string(),
        }
    }
}

pub async fn profile(app: &AppState, user: AuthUser) -> Result<ProfileView, ApiError> {
    let doc = me(&app.store, user).await?;
    Ok(ProfileView::of(&doc, &app.links))
}

/// What `profileImage` asks for, before any decoding.
pub enum Photo {
    Change(PhotoChange),
    /// A data URI, to decode once the rest of the body is known valid.
    Upload(String),
}

/// A profile change as the request asks for it (None: unchanged; an empty
/// phone number removes it).
pub struct ProfileUpdate {
    pub name: Option<UserName>,
    pub photo: Photo,
    pub phone_number: Option<String>,
    pub default_currency: Option<Currency>,
}

/// The changes to write: a photo sent as a data URI is decoded and prepared
/// only now that the rest is known valid, after the per-user upload limit
/// (which a large body passed already on its admission: `admitted`).
pub async fn profile_changes(
    app: &AppState,
    user: AuthUser,
    update: ProfileUpdate,
    admitted: bool,
) -> Result<ProfileChanges, ApiError> {
    let pictures = &app.pictures;
    let photo = match update.photo {
        Photo::Upload(uri) => {
            if !admitted {
                pictures.admit(user.id, Purpose::Avatar)?;
            }
            let bytes = input::data_uri_bytes(&uri, "profileImage", pictures.max_upload_bytes())?;
            PhotoChange::Stored(pictures.prepare(bytes, Purpose::Avatar).await?)
        }
        Photo::Change(change) => change,
    };
    Ok(ProfileChanges {
        name: update.name.map(UserName::into_string),
        photo,
        phone_number: update.phone_number,
        default_currency: update.default_currency,
    })
}

/// Changes my password, after checking the current one. Whoever else was
/// logged in (a lost phone) is logged out; this session stays, or this token
/// (`bearer`: the fingerprint of the request's token) when it has none (the
/// old server's).
pub async fn change_password(
    app: &AppState,
    user: AuthUser,
    current: String,
    new: Password,
    bearer: Option<String>,
) -> Result<SessionsEnded, ApiError> {
    let (store, cache) = (&app.store, &app.status_cache);
    let doc = me(store, user).await?;
    if !password::verify(current, doc.password).await? {
        return Err(ApiError::bad_request("Current password is incorrect"));
    }
    let hash = password::hash(new.into_string(), app.auth.bcrypt_cost).await?;
    let kept = match user.session {
        Some(_) => None,
        None => bearer,
    };
    let status = store.set_password(user.id, &hash, kept.as_deref()).await?;
    cache.put(user.id, status).await;
    let keep = user.session.as_ref().map(|s| s.as_str());
    let ended = store.revoke_user_sessions(user.id, keep).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    Ok(SessionsEnded {
        sessions_ended: ended.len(),
    })
}

/// A person found by a search: their name and photo, and only the contact
/// detail the searcher typed in full (the email as a string, empty
/// otherwise, as the app reads it).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    email: String,
    profile_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
}

impl SearchResult {
    fn of(u: &UserSummary, by: &SearchBy, links: &Links) -> Self {
        Self {
            id: u.id.to_hex(),
            name: u.name.clone(),
            email: match by {
                SearchBy::Email(e) => e.clone(),
                _ => String::new(),
            },
            profile_image: u.profile_image.as_deref().map(|s| links.picture(s)),
            phone_number: match by {
                SearchBy::Phone(p) => Some(p.clone()),
                _ => None,
            },
        }
    }
}

/// One page (`skip`, `limit`) of the people `term` finds, and how many it
/// finds in all. Search is not a directory: part of an email finds nobody.
pub async fn search(
    app: &AppState,
    user: AuthUser,
    term: &str,
    skip: u64,
    limit: i64,
) -> Result<(Vec<SearchResult>, u64), ApiError> {
    let Some(by) = search_by(term) else {
        return Ok((Vec::new(), 0));
    };
    let (found, total) = app.store.search_users(user.id, &by, skip, limit).await?;
    let data = found
        .iter()
        .map(|u| SearchResult::of(u, &by, &app.links))
        .collect();
    Ok((data, total))
}

/// What a search term asks for: a whole email address, a phone number (as
/// it was registered), or else the start of a name. None for a term with an
/// `@` that is not a whole address.
fn search_by(term: &str) -> Option<SearchBy> {
    if term.contains('@') {
        return Email::parse(term)
            .ok()
            .map(|e| SearchBy::Email(e.into_string()));
    }
    let phone_like = term
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    match text::phone(term) {
        Ok(phone) if phone_like => Some(SearchBy::Phone(phone)),
        _ => Some(SearchBy::NamePrefix(text::search_key(term))),
    }
}

/// My balance with a friend, and the friend's name and photo.
#[derive(Serialize, ToSchema)]
pub struct BalanceView {
    #[serde(flatten)]
    balance: BalanceFields,
    friend: FriendSummary,
    /// Only with `?convertTo=`: every open currency converted at the latest
    /// known rates and added up, as an estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    converted: Option<Converted>,
}

/// A friend in [`BalanceView`].
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FriendSummary {
    #[serde(rename = "_id")]
    #[schema(value_type = Id)]
    id: String,
    name: String,
    profile_image: Option<String>,
}

/// My balance with each friend I have one with, in my default currency and
/// per currency, with the friend's name and photo; with `convert_to`, also
/// converted into it (an estimate).
pub async fn balances(
    app: &AppState,
    user: AuthUser,
    convert_to: Option<Currency>,
) -> Result<Vec<BalanceView>, ApiError> {
    let store = &app.store;
    let estimator = Estimator::load(store, convert_to).await?;
    let doc = me(store, user).await?;
    let rows = store.ledger_for(user.id, None).await?;
    let nets = nets(&rows);
    let currency = doc.default_currency();
    let friends: Vec<ObjectId> = doc
        .friends
        .iter()
        .copied()
        .filter(|f| nets.get(f).is_some_and(|n| !n.by_currency.is_empty()))
        .collect();
    let people = store.user_summaries(&friends).await?;
    let mut views = Vec::with_capacity(people.len());
    for p in &people {
        let Some(net) = nets.get(&p.id) else { continue };
        let converted = match &estimator {
            Some(e) => Some(e.view(e.total(net)?)),
            None => None,
        };
        views.push(BalanceView {
            balance: balance_fields(net, currency),
            friend: FriendSummary {
                id: p.id.to_hex(),
                name: p.name.clone(),
                profile_image: p.profile_image.as_deref().map(|s| app.links.picture(s)),
            },
            converted,
        });
    }
    Ok(views)
}

/// Deactivates my account and ends all its sessions.
pub async fn deactivate(app: &AppState, user: AuthUser) -> Result<(), ApiError> {
    let (store, cache) = (&app.store, &app.status_cache);
    cache
        .put(user.id, store.deactivate_user(user.id).await?)
        .await;
    let ended = store.revoke_user_sessions(user.id, None).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    tracing::info!(user_id = %user.id, "account deactivated");
    Ok(())
}
