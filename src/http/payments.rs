//! `/v1/payments`: record, list, read, edit and delete payments. Parse →
//! `crate::app::payments` → render.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::expenses::one;

use super::versions::{expected_version, tagged, IfMatch, VersionConflict};
use super::{created, ok, ok_page, optional_id, parse_id, Envelope, Failure, Page};
use crate::app::expenses::view::ExpenseView;
use crate::app::payments::{self, PaymentBody};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Kind;

/// Record that money changed hands: `to` (I paid them) or `from` (they
/// paid me), between friends or in a group we share. It is an expense of
/// `type: "payment"`.
#[utoipa::path(post, path = "/v1/payments", tag = "payments",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The payment as stored", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        (status = 403, description = "We may not share it (blocked, or not a friend or fellow member)", body = Failure),
    ))]
pub async fn create(
    user: AuthUser,
    body: web::Json<PaymentBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let answer = payments::create(&state, user, body.into_inner()).await?;
    Ok(tagged(
        created("Payment recorded", answer.view),
        answer.version,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
    /// Only payments between me and this friend.
    #[param(value_type = Option<Id>)]
    friend_id: Option<String>,
    /// Only payments in this group.
    #[param(value_type = Option<Id>)]
    group_id: Option<String>,
}

/// Payments I made or received, newest `date` first.
#[utoipa::path(get, path = "/v1/payments", tag = "payments",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of them", body = Envelope<Vec<ExpenseView>>)))]
pub async fn list(
    user: AuthUser,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let with_friend = optional_id(q.friend_id.as_deref(), "friend")?;
    let group = optional_id(q.group_id.as_deref(), "group")?;
    let (views, total) = payments::list(&state, user, with_friend, group, &page).await?;
    Ok(ok_page(
        "Payments retrieved successfully",
        views,
        &page,
        total,
    ))
}

/// Payment ids are parsed as the expense ids they are ("Invalid expense ID
/// format"), as before.
fn payment_id(raw: &str) -> Result<mongodb::bson::oid::ObjectId, ApiError> {
    parse_id(raw, "expense")
}

/// Bring back a deleted payment with its balances (either of its people,
/// within 30 days of the deletion).
#[utoipa::path(post, path = "/v1/payments/{id}/restore", tag = "payments",
    params(("id" = Id, Path, description = "The deleted payment")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The payment, restored", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 404, description = "No deleted payment of mine with this id", body = Failure),
        (status = 409, description = "It is not deleted", body = Failure),
        (status = 410, description = "Deleted more than 30 days ago (`RESTORE_EXPIRED`)", body = Failure),
    ))]
pub async fn restore(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = payment_id(&path)?;
    let answer = crate::app::expenses::restore(&state, user, id, Kind::Payment).await?;
    Ok(super::expenses::one(
        "Payment restored successfully",
        answer,
    ))
}

/// One payment, for the people in it.
#[utoipa::path(get, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = Id, Path, description = "The payment")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The payment", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        (status = 403, description = "Not mine to see", body = Failure),
    ))]
pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let answer = payments::get(&state, user, payment_id(&path)?).await?;
    Ok(one("Payment retrieved successfully", answer))
}

/// Change a payment's amount, currency, date or note (whoever recorded it).
#[utoipa::path(put, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = Id, Path, description = "The payment"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The payment as changed", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not mine to change", body = Failure),
        VersionConflict,
    ))]
pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<PaymentBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let expected = expected_version(&req, body.version)?;
    let id = payment_id(&path)?;
    let answer = payments::update(&state, user, id, expected, body).await?;
    Ok(one("Payment updated successfully", answer))
}

/// Delete a payment (whoever recorded it).
#[utoipa::path(delete, path = "/v1/payments/{id}", tag = "payments",
    params(("id" = Id, Path, description = "The payment"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Not mine to delete", body = Failure),
        VersionConflict,
    ))]
pub async fn delete(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    payments::delete(&state, user, payment_id(&path)?, expected).await?;
    Ok(ok("Payment deleted successfully", serde_json::Value::Null))
}
