//! Pictures: profile photos and receipts. What an upload must pass before
//! its body is read, who may see a receipt, and the writes that attach or
//! remove a picture (with the quota, atomically with the document).

use mongodb::bson::oid::ObjectId;

use super::expenses::access::{self, Access};
use super::expenses::view::ExpenseView;
use super::expenses::{change_expense, find, rendered, Versioned};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::images::intake::Admission;
use crate::images::process::Purpose;
use crate::images::Pictures;
use crate::state::AppState;
use crate::store::images::ImageDoc;
use crate::store::{ExpenseDoc, PhotoChange, ProfileChanges, Replacing, Store, UserDoc};

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

/// A stored picture to serve: an avatar to anyone with its URL; a receipt
/// only to someone who may see its expense (`viewer`, asked for only then).
/// Anything else looks absent.
pub async fn picture<F>(
    app: &AppState,
    id: &str,
    viewer: F,
) -> Result<(ImageDoc, Purpose), ApiError>
where
    F: AsyncFnOnce() -> Result<AuthUser, ApiError>,
{
    let missing = || ApiError::not_found("Image not found");
    if !crate::random::is_hex_id(id) {
        return Err(missing());
    }
    let image = app.store.image_by_id(id).await?.ok_or_else(missing)?;
    let purpose = image.purpose().ok_or_else(missing)?;
    if purpose == Purpose::Receipt {
        let user = viewer().await?;
        let expense = match image.expense {
            Some(id) => app.store.expense_by_id(id).await?,
            None => None,
        };
        if expense.is_none_or(|e| access::of(&e, user.id) == Access::None) {
            return Err(missing());
        }
    }
    Ok((image, purpose))
}

/// The bytes of a picture [`picture`] allowed.
pub async fn bytes(app: &AppState, image: &ImageDoc) -> Result<Vec<u8>, ApiError> {
    Ok(app.store.image_bytes(image).await?)
}

/// Decodes an uploaded photo (bounded, off the async workers) and makes it
/// the caller's profile photo.
pub async fn set_photo(
    app: &AppState,
    user: AuthUser,
    bytes: Vec<u8>,
) -> Result<UserDoc, ApiError> {
    let picture = app.pictures.prepare(bytes, Purpose::Avatar).await?;
    let changes = ProfileChanges {
        photo: PhotoChange::Stored(picture),
        ..Default::default()
    };
    save_profile(app, user, changes).await
}

/// Removes the caller's profile photo.
pub async fn remove_photo(app: &AppState, user: AuthUser) -> Result<UserDoc, ApiError> {
    let changes = ProfileChanges {
        photo: PhotoChange::Remove,
        ..Default::default()
    };
    save_profile(app, user, changes).await
}

/// Writes profile changes, counting a stored photo in the metrics.
pub async fn save_profile(
    app: &AppState,
    user: AuthUser,
    changes: ProfileChanges,
) -> Result<UserDoc, ApiError> {
    let (store, pictures) = (&app.store, &app.pictures);
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
    result?.ok_or_else(|| ApiError::not_found("User not found"))
}

/// The expense whose receipt `user` is about to replace, checked before
/// the upload is read: its current receipt is what the upload replaces.
pub async fn receipt_target(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<ExpenseDoc, ApiError> {
    let expense = find(&app.store, id).await?;
    receipt_editor(user)(&expense)?;
    Ok(expense)
}

/// Decodes an uploaded receipt and attaches it to expense `id`.
pub async fn put_receipt(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
    bytes: Vec<u8>,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let (store, pictures) = (&app.store, &app.pictures);
    let picture = &pictures.prepare(bytes, Purpose::Receipt).await?;
    let allowed = receipt_editor(user);
    let result = change_expense(app, user.id, id, None, allowed, async |stored| {
        Ok(store
            .put_receipt(stored, user.id, picture, pictures.quota())
            .await?)
    })
    .await;
    match &result {
        Ok(_) => pictures.stored(Purpose::Receipt, picture.bytes.len()),
        Err(e) => pictures.failed(Purpose::Receipt, e),
    }
    rendered(app, user, &result?).await
}

/// Removes the receipt of expense `id`.
pub async fn delete_receipt(
    app: &AppState,
    user: AuthUser,
    id: ObjectId,
) -> Result<Versioned<ExpenseView>, ApiError> {
    let store = &app.store;
    let allowed = receipt_editor(user);
    let updated = change_expense(app, user.id, id, None, allowed, async |stored| {
        Ok(store.remove_receipt(stored, user.id).await?)
    })
    .await?;
    rendered(app, user, &updated).await
}

/// Receipts change by whoever may edit the expense; its other people are
/// refused, everyone else finds nothing.
fn receipt_editor(user: AuthUser) -> impl Fn(&ExpenseDoc) -> Result<(), ApiError> {
    move |stored| match access::of(stored, user.id) {
        Access::Edit => Ok(()),
        Access::None => Err(ApiError::not_found("Expense not found")),
        Access::View | Access::Settle => Err(ApiError::forbidden(
            "Only the creator or the payer can change the receipt",
        )),
    }
}
