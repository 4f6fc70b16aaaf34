//! `/v1/expenses`: record, list, read, edit, delete, settle my split, and
//! the group views. Parse → `crate::app::expenses` → render.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::versions::{expected_version, tagged, IfMatch, VersionConflict};
use super::{created, ok, ok_page, optional_id, parse_id, Checks, Envelope, Failure, Page};
use crate::app::expenses::group::GroupBalanceView;
use crate::app::expenses::view::ExpenseView;
use crate::app::expenses::{self, input::ExpenseBody, Versioned};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Kind;

/// The answer about one expense: the envelope and its `ETag`.
pub fn one<T: serde::Serialize>(message: &str, answer: Versioned<T>) -> HttpResponse {
    tagged(ok(message, answer.view), answer.version)
}

/// Record an expense. `paidBy` defaults to me. Without `groupId` the payer
/// and everyone in the split are me or my friends; with it, members.
#[utoipa::path(post, path = "/v1/expenses", tag = "expenses",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The expense as stored", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        (status = 403, description = "Someone in it blocked me or I blocked them", body = Failure),
        (status = 404, description = "The payer or the group does not exist", body = Failure),
    ))]
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

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
    /// Only expenses between me and this friend.
    #[param(value_type = Option<Id>)]
    friend_id: Option<String>,
    settled: Option<bool>,
}

/// Expenses and payments I created, paid or share in, newest `date` first.
#[utoipa::path(get, path = "/v1/expenses", tag = "expenses",
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
    let (views, total) = expenses::list(&state, user, with_friend, q.settled, &page).await?;
    Ok(ok_page(
        "Expenses retrieved successfully",
        views,
        &page,
        total,
    ))
}

/// One expense, for its creator, payers and the people in its split (in a
/// group: its members).
#[utoipa::path(get, path = "/v1/expenses/{id}", tag = "expenses",
    params(("id" = Id, Path, description = "The expense")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its version, for `If-Match`"))),
        (status = 403, description = "Not mine to see", body = Failure),
    ))]
pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = expenses::get(&state, user, id).await?;
    Ok(one("Expense retrieved successfully", answer))
}

/// Change an expense (its creator or a payer): the fields sent; the splits
/// are checked against the (new) amount. `If-Match` (or `version`) names
/// the version the change is based on.
#[utoipa::path(put, path = "/v1/expenses/{id}", tag = "expenses",
    params(("id" = Id, Path, description = "The expense"), IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense as changed", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "Not mine to change", body = Failure),
        VersionConflict,
    ))]
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

/// Delete an expense (its creator or a payer).
#[utoipa::path(delete, path = "/v1/expenses/{id}", tag = "expenses",
    params(("id" = Id, Path, description = "The expense"), IfMatch),
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
    let id = parse_id(&path, "expense")?;
    expenses::delete(&state, user, id, expected).await?;
    Ok(ok("Expense deleted successfully", serde_json::Value::Null))
}

/// Bring back a deleted expense with its balances (any of its people,
/// within 30 days of the deletion).
#[utoipa::path(post, path = "/v1/expenses/{id}/restore", tag = "expenses",
    params(("id" = Id, Path, description = "The deleted expense")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense, restored", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 404, description = "No deleted expense of mine with this id", body = Failure),
        (status = 409, description = "It is not deleted", body = Failure),
        (status = 410, description = "Deleted more than 30 days ago (`RESTORE_EXPIRED`)", body = Failure),
    ))]
pub async fn restore(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = expenses::restore(&state, user, id, Kind::Expense).await?;
    Ok(one("Expense restored successfully", answer))
}

/// Mark my split settled; when every split but the payers' is settled, the
/// expense is.
#[utoipa::path(patch, path = "/v1/expenses/{id}/settle", tag = "expenses",
    params(("id" = Id, Path, description = "The expense")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expense", body = Envelope<ExpenseView>,
            headers(("ETag" = String, description = "Its new version"))),
        (status = 403, description = "I am not in its split", body = Failure),
    ))]
pub async fn settle(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "expense")?;
    let answer = expenses::settle(&state, user, id).await?;
    Ok(one("Your split has been settled", answer))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupListQuery {
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
    settled: Option<bool>,
}

/// A group's expenses and payments, for its members, newest `date` first.
#[utoipa::path(get, path = "/v1/expenses/group/{group_id}", tag = "expenses",
    params(("group_id" = Id, Path, description = "The group"), GroupListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of them", body = Envelope<Vec<ExpenseView>>),
        (status = 403, description = "Not a member", body = Failure),
    ))]
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

/// Every member's balance in a group (what others owe them minus what they
/// owe, over unsettled splits); the balances sum to zero.
#[utoipa::path(get, path = "/v1/expenses/group/{group_id}/balance", tag = "expenses",
    params(("group_id" = Id, Path, description = "The group"), super::users::ConvertQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balances", body = Envelope<GroupBalanceView>),
        (status = 403, description = "Not a member", body = Failure),
    ))]
pub async fn group_balance(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<super::users::ConvertQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let convert_to = crate::app::estimates::parse_convert_to(query.convert_to.as_deref())?;
    let group = parse_id(&path, "group")?;
    let data = expenses::group::group_balance(&state, user, group, convert_to).await?;
    Ok(ok("Group balance retrieved successfully", data))
}
