//! Pictures over HTTP: `GET /v1/images/:id` serves them; profile photos
//! (`PUT`/`DELETE /v1/users/profile/image`) and receipts
//! (`PUT`/`DELETE /v1/expenses/:id/receipt`) upload and remove them.

use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag, IfNoneMatch};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use utoipa::ToSchema;

use super::expenses::one;

use super::users::profile_response;
use super::{parse_id, Envelope, Failure};
use crate::app::expenses::view::ExpenseView;
use crate::app::pictures;
use crate::app::schema::Id;
use crate::app::users::ProfileView;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::images::input;
use crate::images::intake::Admission;
use crate::images::process::Purpose;
use crate::state::AppState;
use crate::store::Replacing;

/// A year: what is behind a picture URL never changes (a new picture gets a
/// new id).
const FOREVER: u32 = 365 * 24 * 3600;

/// A picture's bytes, as a raw body or in the API description (schema only).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct ImageBytes(Vec<u8>);

/// An upload as a multipart form (schema only: `crate::images::input` reads it).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The picture (also taken from a part named `file`, `photo` or
    /// `receipt`, or the first part with a file name).
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// An upload as JSON, the way the app sends it (schema only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadDataUri {
    /// A base64 data URI, `data:image/jpeg;base64,...` (also read from
    /// `receipt` or `profileImage`).
    image: String,
}

/// The picture's bytes with its type, a strong ETag (the content's SHA-256)
/// and immutable caching; `If-None-Match` → 304 without reading the bytes.
/// Avatars are public to whoever has the unguessable URL (the app's image
/// component sends no token); receipts need the token of someone who may see
/// the expense, and look absent to anyone else.
#[utoipa::path(get, path = "/v1/images/{id}", tag = "pictures",
    summary = "A picture: a profile photo, or a receipt for whoever may see its expense",
    description = "Sent with a strong `ETag` and immutable caching; `If-None-Match` answers 304. \
        A profile photo is public to whoever has its URL; a receipt needs the token of someone \
        who may see its expense, and looks absent (404) to anyone else.",
    params(("id" = String, Path, description = "The picture (32 hex digits, from its URL)")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The picture",
            content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp")),
            headers(
                ("ETag" = String, description = "The content's SHA-256"),
                ("Cache-Control" = String, description = "Immutable: a new picture gets a new URL"),
            )),
        (status = 304, description = "Not modified (`If-None-Match`)"),
    ))]
pub async fn serve(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (image, purpose) =
        pictures::picture(&state, &path, async || AuthUser::extract(&req).await).await?;
    let visibility = match purpose {
        Purpose::Avatar => CacheDirective::Public,
        Purpose::Receipt => CacheDirective::Private,
    };
    let tag = EntityTag::new_strong(image.blob.clone());
    let caching = CacheControl(vec![
        visibility,
        CacheDirective::MaxAge(FOREVER),
        CacheDirective::Extension("immutable".into(), None),
    ]);
    let fresh = match <IfNoneMatch as header::Header>::parse(&req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&tag)),
        Err(_) => false,
    };
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header(header::ETag(tag))
            .insert_header(caching)
            .finish());
    }
    let bytes = pictures::bytes(&state, &image).await?;
    Ok(HttpResponse::Ok()
        .content_type(image.content_type.as_str())
        .insert_header(header::ETag(tag))
        .insert_header(caching)
        .body(bytes))
}

/// A `PUT` upload's bytes: admitted, then read within its deadline.
pub async fn put_upload(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    who: (AuthUser, Purpose),
    replacing: Replacing<'_>,
) -> Result<(Admission, Vec<u8>), ApiError> {
    let pictures = &state.pictures;
    let max = pictures.max_upload_bytes();
    let declared = input::declared_length(req.headers());
    let limit = input::upload_body_limit(req, max);
    let admission =
        pictures::admit_upload(&state.store, pictures, who, replacing, declared, limit).await?;
    let bytes = pictures
        .read(who.1, &admission, input::upload_bytes(req, payload, max))
        .await?;
    Ok((admission, bytes))
}

/// `PUT /v1/users/profile/image`: a photo as raw bytes, multipart or a data URI.
#[utoipa::path(put, path = "/v1/users/profile/image", tag = "pictures",
    summary = "Set my profile photo",
    request_body(
        description = "A JPEG, PNG or WebP: a multipart file, a JSON data URI, \
            a data URI as the body, or the raw bytes",
        content(
            (UploadForm = "multipart/form-data"),
            (UploadDataUri = "application/json"),
            (ImageBytes = "image/jpeg"),
            (ImageBytes = "image/png"),
            (ImageBytes = "image/webp"),
        )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "My profile with the new photo", body = Envelope<ProfileView>),
        (status = 408, description = "The body did not arrive in time", body = Failure),
        (status = 415, description = "Not a JPEG, PNG or WebP picture", body = Failure),
    ))]
pub async fn put_profile_image(
    req: HttpRequest,
    user: AuthUser,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = (user, Purpose::Avatar);
    let (_admission, bytes) = put_upload(&req, payload, &state, who, Replacing::Photo).await?;
    let updated = pictures::set_photo(&state, user, bytes).await?;
    Ok(profile_response(
        "Profile photo updated",
        &updated,
        &state.links,
    ))
}

/// `DELETE /v1/users/profile/image`.
#[utoipa::path(delete, path = "/v1/users/profile/image", tag = "pictures",
    summary = "Remove my profile photo",
    security(("bearer" = [])),
    responses((status = 200, description = "My profile without a photo", body = Envelope<ProfileView>)))]
pub async fn delete_profile_image(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let updated = pictures::remove_photo(&state, user).await?;
    Ok(profile_response(
        "Profile photo removed",
        &updated,
        &state.links,
    ))
}

/// `PUT /v1/expenses/:id/receipt`: by the creator or a payer (of a payment:
/// whoever recorded it).
#[utoipa::path(put, path = "/v1/expenses/{id}/receipt", tag = "pictures",
    summary = "Attach a photo of the receipt (its creator or a payer)",
    params(("id" = Id, Path, description = "The expense or payment")),
    request_body(
        description = "A JPEG, PNG or WebP: a multipart file, a JSON data URI, \
            a data URI as the body, or the raw bytes",
        content(
            (UploadForm = "multipart/form-data"),
            (UploadDataUri = "application/json"),
            (ImageBytes = "image/jpeg"),
            (ImageBytes = "image/png"),
            (ImageBytes = "image/webp"),
        )),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense with its receipt", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not mine to change", body = Failure),
        (status = 408, description = "The body did not arrive in time", body = Failure),
        (status = 415, description = "Not a JPEG, PNG or WebP picture", body = Failure),
    ))]
pub async fn put_receipt(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    // The expense is checked before the upload is read or decoded.
    let expense = pictures::receipt_target(&state, user, id).await?;
    let replacing = Replacing::Picture(expense.receipt.as_ref().map(|r| r.id.as_str()));
    let who = (user, Purpose::Receipt);
    let (_admission, bytes) = put_upload(&req, payload, &state, who, replacing).await?;
    let answer = pictures::put_receipt(&state, user, id, bytes).await?;
    Ok(one("Receipt saved", answer))
}

/// `DELETE /v1/expenses/:id/receipt`.
#[utoipa::path(delete, path = "/v1/expenses/{id}/receipt", tag = "pictures",
    summary = "Remove the receipt (its creator or a payer)",
    params(("id" = Id, Path, description = "The expense or payment")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense without a receipt", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not mine to change", body = Failure),
    ))]
pub async fn delete_receipt(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = pictures::delete_receipt(&state, user, id).await?;
    Ok(one("Receipt removed", answer))
}
