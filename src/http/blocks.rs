//! `/v1/users/blocks`: the people I blocked (`crate::app::blocks`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ok, parse_id, Checks, Envelope};
use crate::app;
use crate::app::blocks::BlockedView;
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// The people I blocked.
#[utoipa::path(get, path = "/v1/users/blocks", tag = "blocks",
    security(("bearer" = [])),
    responses((status = 200, description = "The people I blocked", body = Envelope<Vec<BlockedView>>)))]
pub async fn list(user: AuthUser, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let data = app::blocks::list(&state, user).await?;
    Ok(ok("Blocked users retrieved successfully", data))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockBody {
    /// Whom to block.
    #[schema(value_type = Id, required = true)]
    user_id: Option<String>,
}

/// Block someone: any friendship between us ends, and while blocked we
/// cannot become friends or share a new expense.
#[utoipa::path(post, path = "/v1/users/blocks", tag = "blocks",
    security(("bearer" = [])),
    responses((status = 200, description = "Blocked", body = Envelope<BlockedView>)))]
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

/// Unblock someone.
#[utoipa::path(delete, path = "/v1/users/blocks/{user_id}", tag = "blocks",
    params(("user_id" = Id, Path, description = "Whom to unblock")),
    security(("bearer" = [])),
    responses((status = 200, description = "Unblocked", body = Envelope<Null>)))]
pub async fn unblock(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "user")?;
    app::blocks::unblock(&state, user, id).await?;
    Ok(ok("User unblocked", serde_json::Value::Null))
}
