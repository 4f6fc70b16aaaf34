//! `/v1/sync`: parse → `crate::app::sync` → the envelope.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ok, Envelope, Failure};
use crate::app::sync::{self, SyncPage};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `cursor` of the previous page; none to start with a snapshot.
    #[param(max_length = 80)]
    since: Option<String>,
    /// 1–200 (default 100).
    limit: Option<i64>,
}

/// Everything I can see, then every change since: each object with what
/// its single-item GET answers, or a tombstone. Page until `hasMore` is
/// false, keep the last `cursor`, and ask with it later.
#[utoipa::path(get, path = "/v1/sync", tag = "sync",
    params(SyncQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of changes", body = Envelope<SyncPage>),
        (status = 400, description = "A malformed cursor or limit", body = Failure),
        (status = 410, description = "The cursor is older than the history kept (`SYNC_CURSOR_EXPIRED`): start again without `since`", body = Failure),
    ))]
pub async fn sync(
    user: AuthUser,
    query: web::Query<SyncQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=sync::MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "limit must be between 1 and {}",
                sync::MAX_LIMIT
            )))
        }
    };
    let since = q.since.as_deref().filter(|s| !s.is_empty());
    if since.is_some_and(|s| s.len() > 80) {
        return Err(ApiError::bad_request("Invalid sync cursor"));
    }
    let page = sync::page(&state, user, since, limit).await?;
    Ok(ok("Changes retrieved successfully", page))
}
