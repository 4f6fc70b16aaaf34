//! `/v1/expenses/:id/comments` and `/v1/payments/:id/comments`
//! (`crate::app::comments`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{created, ok, ok_page, parse_id, Checks, Envelope, Failure, Page};
use crate::app::comments::{self, CommentView, On};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::domain::inputs::CommentText;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentsQuery {
    /// From 1 (default 1).
    page: Option<u64>,
    /// 1–100 (default 10).
    limit: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
pub struct CommentBody {
    /// Trimmed; 1–1000 characters.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 1000)]
    text: Option<String>,
}

impl CommentBody {
    fn parse(self) -> Result<CommentText, ApiError> {
        let mut c = Checks::default();
        let text = c
            .required("text", self.text, "Comment is required")
            .and_then(|t| c.check("text", CommentText::try_from(t.as_str())));
        c.finish(text)
    }
}

/// The expense's or payment's id from the path.
fn object_id(raw: &str, on: On) -> Result<mongodb::bson::oid::ObjectId, ApiError> {
    parse_id(
        raw,
        match on {
            On::Expense => "expense",
            On::Payment => "payment",
        },
    )
}

async fn list(
    on: On,
    user: AuthUser,
    id: &str,
    query: CommentsQuery,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(query.page, query.limit)?;
    let (views, total) = comments::list(state, user, on, object_id(id, on)?, &page).await?;
    Ok(ok_page(
        "Comments retrieved successfully",
        views,
        &page,
        total,
    ))
}

async fn add(
    on: On,
    user: AuthUser,
    id: &str,
    body: CommentBody,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let text = body.parse()?;
    let view = comments::add(state, user, on, object_id(id, on)?, text).await?;
    Ok(created("Comment added successfully", view))
}

async fn remove(
    on: On,
    user: AuthUser,
    (id, comment): (String, String),
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let comment = parse_id(&comment, "comment")?;
    comments::remove(state, user, on, object_id(&id, on)?, comment).await?;
    Ok(ok("Comment deleted successfully", serde_json::Value::Null))
}

/// The comments on an expense, oldest first (anyone in it).
#[utoipa::path(get, path = "/v1/expenses/{id}/comments", tag = "comments",
    params(("id" = Id, Path, description = "The expense"), CommentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of comments", body = Envelope<Vec<CommentView>>),
        (status = 404, description = "No such expense that I can see", body = Failure),
    ))]
pub async fn expense_comments(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<CommentsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list(On::Expense, user, &path, query.into_inner(), &state).await
}

/// Comment on an expense (anyone in it).
#[utoipa::path(post, path = "/v1/expenses/{id}/comments", tag = "comments",
    params(("id" = Id, Path, description = "The expense")),
    request_body = CommentBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The comment", body = Envelope<CommentView>),
        (status = 404, description = "No such expense that I can see", body = Failure),
    ))]
pub async fn comment_on_expense(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<CommentBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    add(On::Expense, user, &path, body.into_inner(), &state).await
}

/// Delete my comment on an expense.
#[utoipa::path(delete, path = "/v1/expenses/{id}/comments/{comment_id}", tag = "comments",
    params(("id" = Id, Path, description = "The expense"),
        ("comment_id" = Id, Path, description = "The comment")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Someone else's comment", body = Failure),
        (status = 404, description = "No such comment on an expense I can see", body = Failure),
    ))]
pub async fn delete_expense_comment(
    user: AuthUser,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    remove(On::Expense, user, path.into_inner(), &state).await
}

/// The comments on a payment, oldest first (either party).
#[utoipa::path(get, path = "/v1/payments/{id}/comments", tag = "comments",
    params(("id" = Id, Path, description = "The payment"), CommentsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of comments", body = Envelope<Vec<CommentView>>),
        (status = 404, description = "No such payment that I can see", body = Failure),
    ))]
pub async fn payment_comments(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<CommentsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list(On::Payment, user, &path, query.into_inner(), &state).await
}

/// Comment on a payment (either party).
#[utoipa::path(post, path = "/v1/payments/{id}/comments", tag = "comments",
    params(("id" = Id, Path, description = "The payment")),
    request_body = CommentBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The comment", body = Envelope<CommentView>),
        (status = 404, description = "No such payment that I can see", body = Failure),
    ))]
pub async fn comment_on_payment(
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<CommentBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    add(On::Payment, user, &path, body.into_inner(), &state).await
}

/// Delete my comment on a payment.
#[utoipa::path(delete, path = "/v1/payments/{id}/comments/{comment_id}", tag = "comments",
    params(("id" = Id, Path, description = "The payment"),
        ("comment_id" = Id, Path, description = "The comment")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Someone else's comment", body = Failure),
        (status = 404, description = "No such comment on a payment I can see", body = Failure),
    ))]
pub async fn delete_payment_comment(
    user: AuthUser,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    remove(On::Payment, user, path.into_inner(), &state).await
}
