//! `/v1/recurring`: recurring expense series. Parse → `crate::app::recurring`
//! → render.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{created, ok, ok_page, parse_id, Envelope, Failure, Page};
use crate::app::recurring::input::{SeriesBody, SeriesPatch};
use crate::app::recurring::{self, SeriesView};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Start a recurring expense: every occurrence (from `startDate`, each
/// `interval` days, weeks, months or years, until `endAfter` occurrences or
/// `endDate`) becomes an ordinary expense dated on its day, created at
/// 00:00 of that day in `timeZone` (at once for days already begun). The
/// template is checked as `POST /v1/expenses` checks a body; a refusal is a
/// 400 naming the field, and nothing is stored.
#[utoipa::path(post, path = "/v1/recurring", tag = "recurring",
    request_body = SeriesBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The series as stored", body = Envelope<SeriesView>),
    ))]
pub async fn create(
    user: AuthUser,
    body: web::Json<SeriesBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let view = recurring::create(&state, user, body.into_inner()).await?;
    Ok(created("Recurring expense created successfully", view))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
}

/// The series I am in (I created it or I am in its template), active ones
/// first.
#[utoipa::path(get, path = "/v1/recurring", tag = "recurring",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of them", body = Envelope<Vec<SeriesView>>)))]
pub async fn list(
    user: AuthUser,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(query.page, query.limit)?;
    let (views, total) = recurring::list(&state, user, &page).await?;
    Ok(ok_page(
        "Recurring expenses retrieved successfully",
        views,
        &page,
        total,
    ))
}

/// One series, for its people (others: 404).
#[utoipa::path(get, path = "/v1/recurring/{id}", tag = "recurring",
    params(("id" = Id, Path, description = "The series")),
    security(("bearer" = [])),
    responses((status = 200, description = "The series", body = Envelope<SeriesView>)))]
pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "recurring series")?;
    let view = recurring::get(&state, user, id).await?;
    Ok(ok("Recurring expense retrieved successfully", view))
}

/// Pause (`status: paused`), resume (`status: active`; occurrences that fell
/// due while paused are not created), skip the next occurrence (`skip:
/// true`) or change the template (`expense`) of the occurrences not yet
/// created: the series' creator only. The message says from which
/// occurrence the change applies (`templateAppliesFrom` too).
#[utoipa::path(patch, path = "/v1/recurring/{id}", tag = "recurring",
    params(("id" = Id, Path, description = "The series")),
    request_body = SeriesPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The series as changed", body = Envelope<SeriesView>),
        (status = 403, description = "Not its creator", body = Failure),
        (status = 409, description = "Changed meanwhile too often; try again", body = Failure),
    ))]
pub async fn update(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<SeriesPatch>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "recurring series")?;
    let (view, said) = recurring::update(&state, user, id, body.into_inner()).await?;
    Ok(ok(&said, view))
}

/// Delete a series (its creator): no further occurrences; the expenses it
/// created stay.
#[utoipa::path(delete, path = "/v1/recurring/{id}", tag = "recurring",
    params(("id" = Id, Path, description = "The series")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Not its creator", body = Failure),
    ))]
pub async fn delete(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "recurring series")?;
    recurring::delete(&state, user, id).await?;
    Ok(ok(
        "Recurring expense deleted successfully",
        serde_json::Value::Null,
    ))
}
