//! `/v1/conversions`: move an open balance to another currency, read,
//! delete and restore such a conversion (`crate::app::conversions`).

use actix_web::{web, HttpResponse};

use super::{created, ok, parse_id, Envelope, Failure};
use crate::app::conversions::{self, ConversionBody, ConversionView};
use crate::app::schema::{Id, Null};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Move our balance with a friend (`friendId`), or every member's balance
/// in a group (`groupId`), from currency `from` to `to`, at `rate` or the
/// latest table rate. Recorded as linked payments in the two currencies.
#[utoipa::path(post, path = "/v1/conversions", tag = "currency",
    request_body = ConversionBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The conversion", body = Envelope<ConversionView>),
        (status = 403, description = "Not a member of the group, or blocked", body = Failure),
    ))]
pub async fn create(
    user: AuthUser,
    body: web::Json<ConversionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let data = conversions::create(&state, user, body.into_inner()).await?;
    Ok(created("Conversion recorded", data))
}

/// One conversion, deleted or not, for the people it concerns.
#[utoipa::path(get, path = "/v1/conversions/{id}", tag = "currency",
    params(("id" = Id, Path, description = "The conversion")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The conversion", body = Envelope<ConversionView>),
        (status = 403, description = "Not one of its people", body = Failure),
    ))]
pub async fn get(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "conversion")?;
    let data = conversions::get(&state, user, id).await?;
    Ok(ok("Conversion retrieved successfully", data))
}

/// Delete a conversion with its payments: the balances are back in `from`
/// as they were. It can be restored for 30 days.
#[utoipa::path(delete, path = "/v1/conversions/{id}", tag = "currency",
    params(("id" = Id, Path, description = "The conversion")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Null>),
        (status = 403, description = "Not one of its people", body = Failure),
        (status = 409, description = "Deleted already, or changed meanwhile", body = Failure),
    ))]
pub async fn delete(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "conversion")?;
    conversions::delete(&state, user, id).await?;
    Ok(ok(
        "Conversion deleted successfully",
        serde_json::Value::Null,
    ))
}

/// Bring back a deleted conversion with its payments (within 30 days).
#[utoipa::path(post, path = "/v1/conversions/{id}/restore", tag = "currency",
    params(("id" = Id, Path, description = "The deleted conversion")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The conversion, restored", body = Envelope<ConversionView>),
        (status = 409, description = "It is not deleted", body = Failure),
        (status = 410, description = "Deleted more than 30 days ago (`RESTORE_EXPIRED`)", body = Failure),
    ))]
pub async fn restore(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "conversion")?;
    let data = conversions::restore(&state, user, id).await?;
    Ok(ok("Conversion restored successfully", data))
}
