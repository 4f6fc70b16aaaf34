//! `/v1/users/blocks`: the people I blocked (`crate::app::blocks`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{ok, parse_id, Checks};
use crate::app;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let data = app::blocks::list(&state, user).await?;
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
    let mut c = Checks::default();
    let id = c
        .required("userId", body.into_inner().user_id, "userId is required")
        .and_then(|raw| c.check("userId", parse_id(&raw, "user").map_err(|e| e.to_string())));
    let id = c.finish(id)?;
    let blocked = app::blocks::block(&state, user, id).await?;
    Ok(ok("User blocked", blocked))
}

pub async fn unblock(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "user")?;
    app::blocks::unblock(&state, user, id).await?;
    Ok(ok("User unblocked", serde_json::Value::Null))
}
