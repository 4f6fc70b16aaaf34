//! `/v1/users/blocks`: the people I blocked. Blocking ends any friendship
//! both ways; the blocked person can no longer add me (their add is answered
//! as usual and writes nothing), find me in search, or put me into an
//! expense, payment or group.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::users::me;
use super::{ok, parse_id, Checks};
use crate::auth::AuthUser;
use crate::domain::friendship::MAX_BLOCKED;
use crate::error::ApiError;
use crate::state::{AppState, Links};
use crate::store::Person;

/// A blocked person: id, name and photo, nothing else.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BlockedView {
    #[serde(rename = "_id")]
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

pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let doc = me(&store, user).await?;
    let people = store.people(user.id, &doc.blocked).await?;
    let data: Vec<BlockedView> = people
        .iter()
        .map(|p| BlockedView::of(p, &state.links))
        .collect();
    Ok(ok("Blocked users retrieved successfully", data))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockBody {
    user_id: Option<String>,
}

pub async fn block(
    user: AuthUser,
    body: web::Json<BlockBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let mut c = Checks::default();
    let id = c
        .required("userId", body.into_inner().user_id, "userId is required")
        .and_then(|raw| c.check("userId", parse_id(&raw, "user").map_err(|e| e.to_string())));
    let id = c.finish(id)?;
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
    Ok(ok("User blocked", BlockedView::of(person, &state.links)))
}

pub async fn unblock(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let store = &state.store;
    let id = parse_id(&path, "user")?;
    if !store.unblock(user.id, id).await? {
        return Err(ApiError::not_found("This user is not blocked"));
    }
    Ok(ok("User unblocked", serde_json::Value::Null))
}
