//! `/v1/payments`: record, list, read, edit and delete payments. Parse →
//! `crate::app::payments` → render.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::expenses::one;
use super::versions::{expected_version, tagged};
use super::{created, ok, ok_page, optional_id, parse_id, Page};
use crate::app::payments::{self, PaymentBody};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    friend_id: Option<String>,
    group_id: Option<String>,
}

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

pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let answer = payments::get(&state, user, payment_id(&path)?).await?;
    Ok(one("Payment retrieved successfully", answer))
}

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
