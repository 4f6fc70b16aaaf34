//! Pictures over HTTP: `GET /v1/images/:id` serves them; profile photos
//! (`PUT`/`DELETE /v1/users/profile/image`) and receipts
//! (`PUT`/`DELETE /v1/expenses/:id/receipt`) upload and remove them.

use actix_web::http::header::{self, CacheControl, CacheDirective, EntityTag, IfNoneMatch};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Scope};

use super::expenses::{change_expense, view::render_one};
use super::ok;
use super::users::profile_response;
use super::versions::tagged;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::images::intake::Admission;
use crate::images::process::Purpose;
use crate::images::{input, Pictures};
use crate::store::{ExpenseDoc, PhotoChange, ProfileChanges, Replacing, Store};

pub fn scope() -> Scope {
    web::scope("/images").route("/{id}", web::get().to(serve))
}

/// A year: what is behind a picture URL never changes (a new picture gets a
/// new id).
const FOREVER: u32 = 365 * 24 * 3600;

/// The picture's bytes with its type, a strong ETag (the content's SHA-256)
/// and immutable caching; `If-None-Match` → 304 without reading the bytes.
/// Avatars are public to whoever has the unguessable URL (the app's image
/// component sends no token); receipts need the token of someone who may see
/// the expense, and look absent to anyone else.
async fn serve(
    req: HttpRequest,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let missing = || ApiError::not_found("Image not found");
    if !crate::random::is_hex_id(&path) {
        return Err(missing());
    }
    let image = store.image_by_id(&path).await?.ok_or_else(missing)?;
    let purpose = image.purpose().ok_or_else(missing)?;
    let visibility = match purpose {
        Purpose::Avatar => CacheDirective::Public,
        Purpose::Receipt => {
            let user = AuthUser::extract(&req).await?;
            let expense = match image.expense {
                Some(id) => store.expense_by_id(id).await?,
                None => None,
            };
            if !expense.is_some_and(|e| e.involves(user.id)) {
                return Err(missing());
            }
            CacheDirective::Private
        }
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
    let bytes = store.image_bytes(&image).await?;
    Ok(HttpResponse::Ok()
        .content_type(image.content_type.as_str())
        .insert_header(header::ETag(tag))
        .insert_header(caching)
        .body(bytes))
}

/// What an upload must pass before a byte of its body is read, cheapest
/// first: its declared size (`limit`), the per-user upload limit, its
/// owner's quota (with what it would replace given back), then room in the
/// large-body budget, waited for at most `server.large_body_wait_ms`. The
/// admission holds that room, and the body's read deadline, until dropped:
/// keep it until the upload is stored or refused.
pub async fn admit_upload(
    store: &Store,
    pictures: &Pictures,
    (user, purpose): (AuthUser, Purpose),
    replacing: Replacing<'_>,
    declared: Option<usize>,
    limit: usize,
) -> Result<Admission, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        pictures.failed(purpose, &ApiError::PayloadTooLarge);
        return Err(ApiError::PayloadTooLarge);
    }
    pictures.admit(user.id, purpose)?;
    store
        .check_picture_room(user.id, replacing, pictures.quota())
        .await
        .map_err(ApiError::from)
        .inspect_err(|e| pictures.failed(purpose, e))?;
    pictures.room(purpose, declared.unwrap_or(limit)).await
}

/// A `PUT` upload's bytes: admitted, then read within its deadline.
async fn put_upload(
    req: &HttpRequest,
    payload: web::Payload,
    store: &Store,
    pictures: &Pictures,
    who: (AuthUser, Purpose),
    replacing: Replacing<'_>,
) -> Result<(Admission, Vec<u8>), ApiError> {
    let max = pictures.max_upload_bytes();
    let declared = input::declared_length(req.headers());
    let limit = input::upload_body_limit(req, max);
    let admission = admit_upload(store, pictures, who, replacing, declared, limit).await?;
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
    store: web::Data<Store>,
    pictures: web::Data<Pictures>,
) -> Result<HttpResponse, ApiError> {
    let who = (user, Purpose::Avatar);
    let (_admission, bytes) =
        put_upload(&req, payload, &store, &pictures, who, Replacing::Photo).await?;
    let picture = pictures.prepare(bytes, Purpose::Avatar).await?;
    let changes = ProfileChanges {
        photo: PhotoChange::Stored(picture),
        ..Default::default()
    };
    save_profile(&store, &pictures, user, changes, "Profile photo updated").await
}

/// `DELETE /v1/users/profile/image`.
pub async fn delete_profile_image(
    user: AuthUser,
    store: web::Data<Store>,
    pictures: web::Data<Pictures>,
) -> Result<HttpResponse, ApiError> {
    let changes = ProfileChanges {
        photo: PhotoChange::Remove,
        ..Default::default()
    };
    save_profile(&store, &pictures, user, changes, "Profile photo removed").await
}

/// Writes profile changes, counting a stored photo in the metrics.
pub async fn save_profile(
    store: &Store,
    pictures: &Pictures,
    user: AuthUser,
    changes: ProfileChanges,
    message: &str,
) -> Result<HttpResponse, ApiError> {
    let stored = match &changes.photo {
        PhotoChange::Stored(p) => Some(p.bytes.len()),
        _ => None,
    };
    let result = store
        .update_profile(user.id, changes, pictures.quota())
        .await
        .map_err(ApiError::from);
    if let Some(size) = stored {
        match &result {
            Ok(_) => pictures.stored(Purpose::Avatar, size),
            Err(e) => pictures.failed(Purpose::Avatar, e),
        }
    }
    let updated = result?.ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(profile_response(message, &updated))
}

/// `PUT /v1/expenses/:id/receipt`: by the creator or a payer (of a payment:
/// whoever recorded it).
pub async fn put_receipt(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    payload: web::Payload,
    store: web::Data<Store>,
    pictures: web::Data<Pictures>,
) -> Result<HttpResponse, ApiError> {
    // The expense is checked before the upload is read or decoded.
    let allowed = receipt_editor(user);
    let expense = super::expenses::find(&store, &path).await?;
    allowed(&expense)?;
    let replacing = Replacing::Picture(expense.receipt.as_ref().map(|r| r.id.as_str()));
    let who = (user, Purpose::Receipt);
    let (_admission, bytes) = put_upload(&req, payload, &store, &pictures, who, replacing).await?;
    let picture = pictures.prepare(bytes, Purpose::Receipt).await?;
    let result = change_expense(&store, user.id, &path, None, allowed, async |stored| {
        Ok(store
            .put_receipt(stored, user.id, &picture, pictures.quota())
            .await?)
    })
    .await;
    match &result {
        Ok(_) => pictures.stored(Purpose::Receipt, picture.bytes.len()),
        Err(e) => pictures.failed(Purpose::Receipt, e),
    }
    receipt_response(&store, user.id, &result?, "Receipt saved").await
}

/// `DELETE /v1/expenses/:id/receipt`.
pub async fn delete_receipt(
    user: AuthUser,
    path: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let allowed = receipt_editor(user);
    let updated = change_expense(&store, user.id, &path, None, allowed, async |stored| {
        Ok(store.remove_receipt(stored).await?)
    })
    .await?;
    receipt_response(&store, user.id, &updated, "Receipt removed").await
}

fn receipt_editor(user: AuthUser) -> impl Fn(&ExpenseDoc) -> Result<(), ApiError> {
    move |stored| {
        if stored.may_edit(user.id) {
            Ok(())
        } else if stored.involves(user.id) {
            Err(ApiError::forbidden(
                "Only the creator or the payer can change the receipt",
            ))
        } else {
            Err(ApiError::not_found("Expense not found"))
        }
    }
}

async fn receipt_response(
    store: &Store,
    viewer: mongodb::bson::oid::ObjectId,
    expense: &ExpenseDoc,
    message: &str,
) -> Result<HttpResponse, ApiError> {
    let view = render_one(store, viewer, expense).await?;
    Ok(tagged(ok(message, view), expense.version))
}
