//! `/v1/users`: my profile, password, user search, my balances, deactivation.

use actix_web::{web, HttpResponse, Scope};
use serde::{Deserialize, Serialize};

use super::views::{balance_fields, ids, iso, iso_opt, nets, UserRef};
use super::{auth::new_password, ok, ok_page, Checks, Page};
use crate::auth::{password, AuthUser, UserStatusCache};
use crate::domain::money::Currency;
use crate::domain::text;
use crate::error::ApiError;
use crate::state::AuthConfig;
use crate::store::{ProfileChanges, Store, UserDoc};

pub fn scope() -> Scope {
    web::scope("/users")
        .route("", web::get().to(search))
        .route("/profile", web::get().to(profile))
        .route("/profile", web::patch().to(update_profile))
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
            profile_image: u.profile_image.clone(),
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
    Ok(ok(
        "Profile retrieved successfully",
        ProfileView::from(&doc),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileBody {
    name: Option<String>,
    profile_image: Option<String>,
    phone_number: Option<String>,
    default_currency: Option<String>,
}

async fn update_profile(
    user: AuthUser,
    body: web::Json<ProfileBody>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
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
    let image = match body.profile_image {
        Some(i) => c
            .check("profileImage", text::bounded(&i, "Profile image", 0, 2048))
            .map(Some),
        None => Some(None),
    };
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
    let (((name, profile_image), phone_number), default_currency) =
        c.finish(name.zip(image).zip(phone).zip(currency))?;
    let changes = ProfileChanges {
        name,
        profile_image,
        phone_number,
        default_currency,
    };
    let updated = store
        .update_profile(user.id, changes)
        .await?
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(ok(
        "Profile updated successfully",
        ProfileView::from(&updated),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    user: AuthUser,
    body: web::Json<ChangePasswordBody>,
    store: web::Data<Store>,
    config: web::Data<AuthConfig>,
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
    store.set_password(user.id, &hash).await?;
    Ok(ok("Password changed successfully", serde_json::Value::Null))
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
    let (found, total) = store
        .search_users(user.id, term, page.skip(), page.limit_i64())
        .await?;
    let data: Vec<UserRef> = found.iter().map(UserRef::from_summary).collect();
    Ok(ok_page("Users retrieved successfully", data, &page, total))
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
                "_id": p.id.to_hex(), "name": p.name, "profileImage": p.profile_image,
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
    store.deactivate_user(user.id).await?;
    cache.put(user.id, false);
    tracing::info!(user_id = %user.id, "account deactivated");
    Ok(ok(
        "Account deactivated successfully",
        serde_json::Value::Null,
    ))
}
