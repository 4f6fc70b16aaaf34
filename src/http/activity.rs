//! `/v1/activity` and one object's history: parse → `crate::app::activity`
//! → the envelope with a cursor (`pagination.nextBefore`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{optional_id, parse_id, Failure};
use crate::app::activity::{self, ActivityPage, ActivityView, Before, Scope};
use crate::app::schema::Id;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Kind;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ActivityQuery {
    /// Only this group's activity (a group I was in when it happened).
    group_id: Option<String>,
    /// Only what concerns this friend and me outside groups.
    friend_id: Option<String>,
    /// The cursor: `pagination.nextBefore` of the previous page.
    #[param(max_length = 40)]
    before: Option<String>,
    /// 1–100 (default 20).
    limit: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The cursor: `pagination.nextBefore` of the previous page.
    before: Option<String>,
    /// 1–100 (default 20).
    limit: Option<i64>,
}

/// The cursor of a feed page.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CursorPagination {
    pub limit: i64,
    /// The `before` of the next page (opaque); null on the last.
    pub next_before: Option<String>,
}

/// `{success, message, data: [item], pagination: {limit, nextBefore}}`.
#[derive(Serialize, ToSchema)]
pub struct ActivityEnvelope {
    pub success: bool,
    pub message: &'static str,
    pub data: Vec<ActivityView>,
    pub pagination: CursorPagination,
}

const DEFAULT_LIMIT: i64 = 20;

fn limit_of(raw: Option<i64>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=activity::MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            activity::MAX_LIMIT
        ))),
    }
}

/// The `before` of a request: none, or a `nextBefore` (else 400).
fn cursor(raw: Option<&str>) -> Result<Option<Before>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => Before::parse(r).map(Some).ok_or_else(|| {
            ApiError::bad_request("Invalid cursor: use the nextBefore of the previous page")
        }),
    }
}

fn answer(page: ActivityPage, limit: i64) -> HttpResponse {
    HttpResponse::Ok().json(ActivityEnvelope {
        success: true,
        message: "Activity retrieved successfully",
        data: page.items,
        pagination: CursorPagination {
            limit,
            next_before: page.next_before,
        },
    })
}

/// What happened around me, newest first: expenses, payments, comments,
/// groups and friends, each as I could see it when it happened.
#[utoipa::path(get, path = "/v1/activity", tag = "activity",
    params(ActivityQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the feed", body = ActivityEnvelope),
        (status = 400, description = "A malformed id, cursor or limit", body = Failure),
    ))]
pub async fn feed(
    user: AuthUser,
    query: web::Query<ActivityQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let scope = Scope::Mine {
        group: optional_id(q.group_id.as_deref(), "group")?,
        friend: optional_id(q.friend_id.as_deref(), "friend")?,
    };
    let before = cursor(q.before.as_deref())?;
    let limit = limit_of(q.limit)?;
    let page = activity::page(&state, user, scope, before, limit).await?;
    Ok(answer(page, limit))
}

async fn history(
    kind: Kind,
    user: AuthUser,
    id: &str,
    query: HistoryQuery,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id, kind.code())?;
    let before = cursor(query.before.as_deref())?;
    let limit = limit_of(query.limit)?;
    let page = activity::page(state, user, Scope::Object(kind, id), before, limit).await?;
    Ok(answer(page, limit))
}

/// An expense's history, newest first (its people, also while deleted).
#[utoipa::path(get, path = "/v1/expenses/{id}/activity", tag = "activity",
    params(("id" = Id, Path, description = "The expense"), HistoryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of its history", body = ActivityEnvelope),
        (status = 404, description = "No such expense that I can see", body = Failure),
    ))]
pub async fn expense_history(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    history(Kind::Expense, user, &path, query.into_inner(), &state).await
}

/// A payment's history, newest first (its people, also while deleted).
#[utoipa::path(get, path = "/v1/payments/{id}/activity", tag = "activity",
    params(("id" = Id, Path, description = "The payment"), HistoryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of its history", body = ActivityEnvelope),
        (status = 404, description = "No such payment that I can see", body = Failure),
    ))]
pub async fn payment_history(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    history(Kind::Payment, user, &path, query.into_inner(), &state).await
}
