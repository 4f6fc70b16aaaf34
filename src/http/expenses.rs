//! `/v1/expenses`: record, list, read, edit, delete, settle my split, and
//! the group views. Parse → `crate::app::expenses` → render.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::versions::{expected_version, tagged};
use super::{created, ok, ok_page, optional_id, parse_id, Checks, Page};
use crate::app::expenses::{self, input::ExpenseBody, Versioned};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// The answer about one expense: the envelope and its `ETag`.
pub fn one<T: serde::Serialize>(message: &str, answer: Versioned<T>) -> HttpResponse {
    tagged(ok(message, answer.view), answer.version)
}

pub async fn create(
    user: AuthUser,
    body: web::Json<ExpenseBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    let mut c = Checks::default();
    let group = expenses::input::parse_group(&mut c, body.group_id.take().as_deref());
    let group = c.finish(group)?;
    let answer = expenses::create(&state, user, group, body).await?;
    Ok(tagged(
        created("Expense created successfully", answer.view),
        answer.version,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    friend_id: Option<String>,
    settled: Option<bool>,
}

pub async fn list(
    user: AuthUser,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let with_friend = optional_id(q.friend_id.as_deref(), "friend")?;
    let (views, total) = expenses::list(&state, user, with_friend, q.settled, &page).await?;
    Ok(ok_page(
        "Expenses retrieved successfully",
        views,
        &page,
        total,
    ))
}

pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = expenses::get(&state, user, id).await?;
    Ok(one("Expense retrieved successfully", answer))
}

pub async fn update(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<ExpenseBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let expected = expected_version(&req, body.version)?;
    let id = parse_id(&path, "expense")?;
    let answer = expenses::update(&state, user, id, expected, body).await?;
    Ok(one("Expense updated successfully", answer))
}

pub async fn delete(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = expected_version(&req, None)?;
    let id = parse_id(&path, "expense")?;
    expenses::delete(&state, user, id, expected).await?;
    Ok(ok("Expense deleted successfully", serde_json::Value::Null))
}

pub async fn settle(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = expenses::settle(&state, user, id).await?;
    Ok(one("Your split has been settled", answer))
}

#[derive(Deserialize)]
pub struct GroupListQuery {
    page: Option<u64>,
    limit: Option<u64>,
    settled: Option<bool>,
}

pub async fn group_expenses(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<GroupListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = Page::from_query(q.page, q.limit)?;
    let (views, total) =
        expenses::group::group_expenses(&state, user, parse_id(&path, "group")?, q.settled, &page)
            .await?;
    Ok(ok_page(
        "Group expenses retrieved successfully",
        views,
        &page,
        total,
    ))
}

pub async fn group_balance(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let data = expenses::group::group_balance(&state, user, parse_id(&path, "group")?).await?;
    Ok(ok("Group balance retrieved successfully", data))
}
