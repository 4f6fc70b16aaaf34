//! `/v1/users`: my profile, password, user search, my balances, deactivation.

use actix_web::dev::Decompress;
use actix_web::{web, HttpRequest, HttpResponse, Scope};
use serde::{Deserialize, Serialize};

use super::images::{admit_upload, save_profile};
use super::views::{balance_fields, ids, iso, iso_opt, nets};
use super::{auth::new_password, ok, ok_page, Checks, Page};
use crate::auth::extractor::bearer_fingerprint;
use crate::auth::{password, AuthUser, UserStatusCache};
use crate::domain::email::Email;
use crate::domain::money::Currency;
use crate::domain::text;
use crate::error::ApiError;
use crate::images::intake::Admission;
use crate::images::process::Purpose;
use crate::images::{input, public_url, Pictures};
use crate::state::AuthConfig;
use crate::store::{PhotoChange, ProfileChanges, Replacing, SearchBy, Store, UserDoc, UserSummary};

pub fn scope() -> Scope {
    web::scope("/users")
        .route("", web::get().to(search))
        .service(
            web::resource("/profile")
                .route(web::get().to(profile))
                .route(web::patch().to(update_profile)),
        )
        .service(
            web::resource("/profile/image")
                .route(web::put().to(super::images::put_profile_image))
                .route(web::delete().to(super::images::delete_profile_image)),
        )
        .route("/change-password", web::patch().to(change_password))
        .route("/balances", web::get().to(balances))
        .route("/settle-up", web::get().to(super::settle::mine))
        .route("/deactivate-user", web::delete().to(deactivate))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    email: String,
    profile_image: Option<String>,
    phone_number: Option<String>,
    role: String,
    is_active: bool,
    last_login: Option<String>,
    created_at: String,
    updated_at: String,
    friends: Vec<String>,
    pending_friends: Vec<String>,
    /// The currency of the single `balance` numbers (USD unless chosen).
    default_currency: String,
}

impl From<&UserDoc> for ProfileView {
    fn from(u: &UserDoc) -> Self {
        Self {
            id: u.id.to_hex(),
            name: u.name.clone(),
            email: u.email.clone(),
            profile_image: u.profile_image.as_deref().map(public_url),
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

/// The caller's own document; gone between token check and now → 401.
pub async fn me(store: &Store, user: AuthUser) -> Result<UserDoc, ApiError> {
    store
        .user_by_id(user.id)
        .await?
        .filter(|u| u.is_active)
        .ok_or_else(|| ApiError::unauthorized("User not found or account is deactivated"))
}

async fn profile(user: AuthUser, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let doc = me(&store, user).await?;
    Ok(profile_response("Profile retrieved successfully", &doc))
}

/// The envelope with my profile.
pub fn profile_response(message: &str, doc: &UserDoc) -> HttpResponse {
    ok(message, ProfileView::from(doc))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileBody {
    name: Option<String>,
    profile_image: Option<String>,
    phone_number: Option<String>,
    default_currency: Option<String>,
}

/// The body of `PATCH /profile`, the one route that takes a photo inside
/// JSON (the app's "Change photo" sends it as a data URI). A body within
/// `server.body_limit_bytes` is read like any other route's JSON; a larger
/// one is an upload: admitted (per-user limit, quota, room in the
/// large-body budget) before more of it is read, then read within the read
/// timeout, up to the base64 of the largest picture. A body of unknown
/// length (chunked, compressed) counts as large once it outgrows the small
/// limit. The admission, if any, is held until the photo is stored.
async fn profile_body(
    req: &HttpRequest,
    payload: web::Payload,
    store: &Store,
    pictures: &Pictures,
    user: AuthUser,
) -> Result<(ProfileBody, Option<Admission>), ApiError> {
    if !super::is_json(req) {
        return Err(super::not_json());
    }
    let limit = pictures.json_body_limit();
    let small = pictures.small_body_limit();
    let declared = input::declared_length(req.headers());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut payload = Decompress::from_headers(payload.into_inner(), req.headers());
    let mut body = Vec::new();
    if declared.is_none_or(|n| n <= small) {
        let read = input::read_up_to(&mut payload, small, &mut body);
        if pictures.read_small(read).await? {
            return Ok((super::parse_json(req, &body)?, None));
        }
    }
    let who = (user, Purpose::Avatar);
    let admission = admit_upload(store, pictures, who, Replacing::Photo, declared, limit).await?;
    // The body moves into the read, so a body that does not arrive is freed
    // before its admission is released.
    let reading = async move {
        body.reserve(declared.unwrap_or_default().saturating_sub(body.len()));
        if input::read_up_to(&mut payload, limit, &mut body).await? {
            Ok(body)
        } else {
            Err(ApiError::PayloadTooLarge)
        }
    };
    let body = pictures.read(Purpose::Avatar, &admission, reading).await?;
    let parsed = super::parse_json(req, &body)?;
    Ok((parsed, Some(admission)))
}

async fn update_profile(
    req: HttpRequest,
    user: AuthUser,
    payload: web::Payload,
    store: web::Data<Store>,
    pictures: web::Data<Pictures>,
) -> Result<HttpResponse, ApiError> {
    let (body, admission) = profile_body(&req, payload, &store, &pictures, user).await?;
    if body.name.is_none()
        && body.profile_image.is_none()
        && body.phone_number.is_none()
        && body.default_currency.is_none()
    {
        return Err(ApiError::bad_request(
            "Provide at least one of name, profileImage, phoneNumber or defaultCurrency",
        ));
    }
    let mut c = Checks::default();
    let name = match body.name {
        Some(n) => c.check("name", text::bounded(&n, "Name", 1, 50)).map(Some),
        None => Some(None),
    };
    let image = c.check("profileImage", photo_change(body.profile_image));
    let phone = match body.phone_number {
        Some(p) if p.trim().is_empty() => Some(Some(String::new())),
        Some(p) => c.check("phoneNumber", text::phone(&p)).map(Some),
        None => Some(None),
    };
    let currency = match body.default_currency.as_deref() {
        Some(code) => c
            .check(
                "defaultCurrency",
                Currency::parse(code).map_err(|e| e.to_string()),
            )
            .map(Some),
        None => Some(None),
    };
    let (((name, image), phone_number), default_currency) =
        c.finish(name.zip(image).zip(phone).zip(currency))?;
    // The other fields are valid: only now is a photo decoded.
    let photo = match image {
        Photo::Upload(uri) => {
            // A large body passed the per-user limit on admission.
            if admission.is_none() {
                pictures.admit(user.id, Purpose::Avatar)?;
            }
            let bytes = input::data_uri_bytes(&uri, "profileImage", pictures.max_upload_bytes())?;
            PhotoChange::Stored(pictures.prepare(bytes, Purpose::Avatar).await?)
        }
        Photo::Change(change) => change,
    };
    let changes = ProfileChanges {
        name,
        photo,
        phone_number,
        default_currency,
    };
    save_profile(
        &store,
        &pictures,
        user,
        changes,
        "Profile updated successfully",
    )
    .await
}

/// What `profileImage` asks for, before any decoding.
enum Photo {
    Change(PhotoChange),
    /// A data URI, to decode once the rest of the body is known valid.
    Upload(String),
}

/// `profileImage`: absent keeps the photo, empty removes it, a data URI
/// uploads one, an `https://` URL links one (as the old server did).
fn photo_change(value: Option<String>) -> Result<Photo, String> {
    let Some(value) = value else {
        return Ok(Photo::Change(PhotoChange::Keep));
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Ok(Photo::Change(PhotoChange::Remove))
    } else if input::is_data_uri(trimmed) {
        Ok(Photo::Upload(value))
    } else if trimmed
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        let url = text::bounded(trimmed, "Profile image", 9, 2048)?;
        Ok(Photo::Change(PhotoChange::Link(url)))
    } else {
        Err(
            "Profile image must be an https:// URL or an image as a data URI \
             (data:image/jpeg;base64,...)"
                .into(),
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<ChangePasswordBody>,
    store: web::Data<Store>,
    config: web::Data<AuthConfig>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut c = Checks::default();
    let current = c.required(
        "currentPassword",
        body.current_password,
        "Current password is required",
    );
    let new = new_password(body.new_password, "newPassword", &mut c);
    let (current, new) = c.finish(current.zip(new))?;
    let doc = me(&store, user).await?;
    if !password::verify(current, doc.password).await? {
        return Err(ApiError::bad_request("Current password is incorrect"));
    }
    let hash = password::hash(new, config.bcrypt_cost).await?;
    // Whoever else was logged in (a lost phone) is logged out; this session
    // stays, or this token when it has none (the old server's).
    let kept = match user.session {
        Some(_) => None,
        None => bearer_fingerprint(&req),
    };
    let status = store.set_password(user.id, &hash, kept.as_deref()).await?;
    cache.put(user.id, status).await;
    let keep = user.session.as_ref().map(|s| s.as_str());
    let ended = store.revoke_user_sessions(user.id, keep).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    Ok(ok(
        "Password changed successfully",
        serde_json::json!({ "sessionsEnded": ended.len() }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchQuery {
    user_id: Option<String>,
    page: Option<u64>,
    limit: Option<u64>,
}

async fn search(
    user: AuthUser,
    query: web::Query<SearchQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = Page::from_query(query.page, query.limit)?;
    let term = query.user_id.unwrap_or_default();
    let term = term.trim();
    if term.chars().count() < 2 {
        return Err(ApiError::bad_request(
            "Search term must be at least 2 characters",
        ));
    }
    if term.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "Search term cannot be more than 100 characters",
        ));
    }
    let Some(by) = search_by(term) else {
        // Part of an email finds nobody: search is not a directory.
        return Ok(ok_page(
            "Users retrieved successfully",
            Vec::<SearchResult>::new(),
            &page,
            0,
        ));
    };
    let (found, total) = store
        .search_users(user.id, &by, page.skip(), page.limit_i64())
        .await?;
    let data: Vec<SearchResult> = found.iter().map(|u| SearchResult::of(u, &by)).collect();
    Ok(ok_page("Users retrieved successfully", data, &page, total))
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

/// A person found by a search: their name and photo, and only the contact
/// detail the searcher typed in full (the email as a string, empty
/// otherwise, as the app reads it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    email: String,
    profile_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
}

impl SearchResult {
    fn of(u: &UserSummary, by: &SearchBy) -> Self {
        Self {
            id: u.id.to_hex(),
            name: u.name.clone(),
            email: match by {
                SearchBy::Email(e) => e.clone(),
                _ => String::new(),
            },
            profile_image: u.profile_image.as_deref().map(public_url),
            phone_number: match by {
                SearchBy::Phone(p) => Some(p.clone()),
                _ => None,
            },
        }
    }
}

async fn balances(user: AuthUser, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    let doc = me(&store, user).await?;
    let rows = store.ledger_for(user.id, None).await?;
    let nets = nets(&rows);
    let currency = doc.default_currency();
    let friends: Vec<_> = doc
        .friends
        .iter()
        .copied()
        .filter(|f| nets.get(f).is_some_and(|n| !n.by_currency.is_empty()))
        .collect();
    let people = store.user_summaries(&friends).await?;
    let data: Vec<serde_json::Value> = people
        .iter()
        .filter_map(|p| {
            let mut entry = balance_fields(nets.get(&p.id)?, currency);
            entry["friend"] = serde_json::json!({
                "_id": p.id.to_hex(), "name": p.name,
                "profileImage": p.profile_image.as_deref().map(public_url),
            });
            Some(entry)
        })
        .collect();
    Ok(ok("Balances retrieved successfully", data))
}

async fn deactivate(
    user: AuthUser,
    store: web::Data<Store>,
    cache: web::Data<UserStatusCache>,
) -> Result<HttpResponse, ApiError> {
    cache
        .put(user.id, store.deactivate_user(user.id).await?)
        .await;
    let ended = store.revoke_user_sessions(user.id, None).await?;
    cache.revoked(ended.iter().map(String::as_str)).await;
    tracing::info!(user_id = %user.id, "account deactivated");
    Ok(ok(
        "Account deactivated successfully",
        serde_json::Value::Null,
    ))
}
