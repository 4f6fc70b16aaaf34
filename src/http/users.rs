//! `/v1/users`: my profile, password, user search, my balances, deactivation
//! (`crate::app::users`).

use actix_web::dev::Decompress;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::bearer_fingerprint;
use super::{ok, ok_page, Checks, Envelope, Failure, Page};
use crate::app;
use crate::app::pictures::{admit_upload, save_profile};
use crate::app::schema::Null;
use crate::app::sessions::SessionsEnded;
use crate::app::users::{BalanceView, Photo, ProfileUpdate, ProfileView, SearchResult};
use crate::auth::AuthUser;
use crate::domain::inputs::{Password, UserName};
use crate::domain::money::Currency;
use crate::domain::text;
use crate::error::ApiError;
use crate::images::intake::Admission;
use crate::images::process::Purpose;
use crate::images::{input, Pictures};
use crate::state::{AppState, Links};
use crate::store::{PhotoChange, Replacing, Store, UserDoc};

/// My profile.
#[utoipa::path(get, path = "/v1/users/profile", tag = "users",
    security(("bearer" = [])),
    responses((status = 200, description = "My profile", body = Envelope<ProfileView>)))]
pub async fn profile(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let view = app::users::profile(&state, user).await?;
    Ok(ok("Profile retrieved successfully", view))
}

/// The envelope with my profile (also the picture handlers' answer).
pub fn profile_response(message: &str, doc: &UserDoc, links: &Links) -> HttpResponse {
    ok(message, ProfileView::of(doc, links))
}

/// The fields of my profile to change: at least one.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBody {
    #[schema(min_length = 1, max_length = 50)]
    name: Option<String>,
    /// A photo as a data URI (`data:image/jpeg;base64,...`), an `https://`
    /// URL, or empty to remove it.
    profile_image: Option<String>,
    /// Empty removes it.
    phone_number: Option<String>,
    /// The currency of my single balance numbers (ISO 4217).
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
pub async fn profile_body(
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

/// Change my profile: name, photo, phone number, default currency.
#[utoipa::path(patch, path = "/v1/users/profile", tag = "users",
    request_body = ProfileBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My profile as changed", body = Envelope<ProfileView>),
        (status = 415, description = "A photo that is not a JPEG, PNG or WebP picture", body = Failure),
    ))]
pub async fn update_profile(
    req: HttpRequest,
    user: AuthUser,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (store, pictures) = (&state.store, &state.pictures);
    let (body, admission) = profile_body(&req, payload, store, pictures, user).await?;
    let update = parse_profile(body)?;
    let changes = app::users::profile_changes(&state, user, update, admission.is_some()).await?;
    let updated = save_profile(&state, user, changes).await?;
    Ok(profile_response(
        "Profile updated successfully",
        &updated,
        &state.links,
    ))
}

/// The fields of `PATCH /profile`: at least one, each valid.
fn parse_profile(body: ProfileBody) -> Result<ProfileUpdate, ApiError> {
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
        Some(n) => c.check("name", UserName::try_from(n.as_str())).map(Some),
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
    let (((name, photo), phone_number), default_currency) =
        c.finish(name.zip(image).zip(phone).zip(currency))?;
    Ok(ProfileUpdate {
        name,
        photo,
        phone_number,
        default_currency,
    })
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

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    #[schema(required = true, nullable = false)]
    current_password: Option<String>,
    /// At least 6 characters, at most 72 bytes.
    #[schema(required = true, nullable = false, min_length = 6)]
    new_password: Option<String>,
}

/// Change my password; every other session of mine ends.
#[utoipa::path(patch, path = "/v1/users/change-password", tag = "users",
    security(("bearer" = [])),
    responses((status = 200, description = "Changed: how many other sessions ended", body = Envelope<SessionsEnded>)))]
pub async fn change_password(
    req: HttpRequest,
    user: AuthUser,
    body: web::Json<ChangePasswordBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut c = Checks::default();
    let current = c.required(
        "currentPassword",
        body.current_password,
        "Current password is required",
    );
    let new = c
        .required("newPassword", body.new_password, "Password is required")
        .and_then(|p| c.check("newPassword", Password::try_from(p)));
    let (current, new) = c.finish(current.zip(new))?;
    let bearer = bearer_fingerprint(&req);
    let ended = app::users::change_password(&state, user, current, new, bearer).await?;
    Ok(ok("Password changed successfully", ended))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The search term (2–100 characters): a whole email address, a phone
    /// number, or the start of a name.
    user_id: Option<String>,
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
}

/// Find people by a whole email address, a phone number or the start of a
/// name (part of an email finds nobody).
#[utoipa::path(get, path = "/v1/users", tag = "users",
    params(SearchQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of the people found", body = Envelope<Vec<SearchResult>>)))]
pub async fn search(
    user: AuthUser,
    query: web::Query<SearchQuery>,
    state: web::Data<AppState>,
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
    let (data, total) =
        app::users::search(&state, user, term, page.skip(), page.limit_i64()).await?;
    Ok(ok_page("Users retrieved successfully", data, &page, total))
}

/// `?convertTo=` of the balance views.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConvertQuery {
    /// Also show each balance in this currency (ISO 4217) at the latest
    /// known rates: `converted`, an estimate.
    #[serde(rename = "convertTo")]
    pub convert_to: Option<String>,
}

/// My balance with each friend I have an open one with.
#[utoipa::path(get, path = "/v1/users/balances", tag = "users",
    params(ConvertQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The balances", body = Envelope<Vec<BalanceView>>)))]
pub async fn balances(
    user: AuthUser,
    query: web::Query<ConvertQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let convert_to = app::estimates::parse_convert_to(query.convert_to.as_deref())?;
    let data = app::users::balances(&state, user, convert_to).await?;
    Ok(ok("Balances retrieved successfully", data))
}

/// Deactivate my account: every session ends, and no login works again.
#[utoipa::path(delete, path = "/v1/users/deactivate-user", tag = "users",
    security(("bearer" = [])),
    responses((status = 200, description = "Deactivated", body = Envelope<Null>)))]
pub async fn deactivate(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    app::users::deactivate(&state, user).await?;
    Ok(ok(
        "Account deactivated successfully",
        serde_json::Value::Null,
    ))
}
