//! Blocks: the people I blocked. Blocking ends any friendship both ways;
//! the blocked person can no longer add me (their add is answered as usual
//! and writes nothing), find me in search, or put me into an expense,
//! payment or group.

use mongodb::bson::oid::ObjectId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::users::me;
use crate::auth::AuthUser;
use crate::domain::friendship::MAX_BLOCKED;
use crate::error::ApiError;
use crate::state::{AppState, Links};
use crate::store::Person;

/// A blocked person: id, name and photo, nothing else.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockedView {
    #[serde(rename = "_id")]
    #[schema(value_type = crate::app::schema::Id)]
    id: String,
    name: String,
    profile_image: Option<String>,
}

impl BlockedView {
    fn of(p: &Person, links: &Links) -> Self {
        Self {
            id: p.id.to_hex(),
            name: p.name.clone(),
            profile_image: p.profile_image.as_deref().map(|s| links.picture(s)),
        }
    }
}

pub async fn list(app: &AppState, user: AuthUser) -> Result<Vec<BlockedView>, ApiError> {
    let doc = me(&app.store, user).await?;
    let people = app.store.people(user.id, &doc.blocked).await?;
    Ok(people
        .iter()
        .map(|p| BlockedView::of(p, &app.links))
        .collect())
}

/// Blocks `id`, who must exist (as I may see them).
pub async fn block(app: &AppState, user: AuthUser, id: ObjectId) -> Result<BlockedView, ApiError> {
    let store = &app.store;
    if id == user.id {
        return Err(ApiError::bad_request("You cannot block yourself"));
    }
    let found = store.people(user.id, &[id]).await?;
    let Some(person) = found.first() else {
        return Err(ApiError::not_found("User not found"));
    };
    if !store.block(user.id, id).await? {
        return Err(ApiError::bad_request(format!(
            "You can block at most {MAX_BLOCKED} people"
        )));
    }
    tracing::info!(user_id = %user.id, "user blocked someone");
    Ok(BlockedView::of(person, &app.links))
}

pub async fn unblock(app: &AppState, user: AuthUser, id: ObjectId) -> Result<(), ApiError> {
    if !app.store.unblock(user.id, id).await? {
        return Err(ApiError::not_found("This user is not blocked"));
    }
    Ok(())
}
