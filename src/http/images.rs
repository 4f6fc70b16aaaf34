//! Pictures over HTTP: `GET /v1/images/:id` serves them; profile photos
//! (`PUT`/`DELETE /v1/users/profile/image`) and receipts
//! (`PUT`/`DELETE /v1/expenses/:id/receipt`) upload and remove them.

use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag, IfNoneMatch};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use super::expenses::one;
use super::parse_id;
use super::users::profile_response;
use crate::app::pictures;
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

/// The picture's bytes with its type, a strong ETag (the content's SHA-256)
/// and immutable caching; `If-None-Match` → 304 without reading the bytes.
/// Avatars are public to whoever has the unguessable URL (the app's image
/// component sends no token); receipts need the token of someone who may see
/// the expense, and look absent to anyone else.
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
pub async fn delete_receipt(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = pictures::delete_receipt(&state, user, id).await?;
    Ok(one("Receipt removed", answer))
}
