//! Settle-up suggestions (`crate::app::settle`):
//!
//! - `GET /v1/groups/:id/settle-up?currency=&simplify=`: the fewest
//!   transfers that bring every member's balance in the group to zero, per
//!   currency; `simplify=false` lists the plain pairwise debts instead.
//! - `GET /v1/users/settle-up?currency=`: what I pay and receive to be even
//!   with everyone, per currency.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ok, parse_id, Envelope, Failure};
use crate::app::estimates::parse_convert_to;
use crate::app::schema::Id;
use crate::app::settle::{self, GroupPlanView, GroupQuery, MyPlanView};
use crate::auth::AuthUser;
use crate::domain::money::Currency;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SettleQuery {
    /// Only this currency (ISO 4217); every open one otherwise.
    currency: Option<String>,
    /// The fewest transfers (default true); false lists every pairwise
    /// debt as it stands (groups only).
    simplify: Option<bool>,
    /// Also settle every open balance in this one currency (ISO 4217), at
    /// the latest known rates: `converted`, an estimate (groups only).
    #[serde(rename = "convertTo")]
    convert_to: Option<String>,
}

impl SettleQuery {
    /// The one currency asked for, if any (a bad code is a 400).
    fn currency(&self) -> Result<Option<Currency>, ApiError> {
        match self
            .currency
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(code) => Currency::parse(code)
                .map(Some)
                .map_err(|e| ApiError::bad_request(e.to_string())),
            None => Ok(None),
        }
    }
}

/// The fewest transfers that bring every member's balance in a group to
/// zero, per currency.
#[utoipa::path(get, path = "/v1/groups/{id}/settle-up", tag = "settle-up",
    params(("id" = Id, Path, description = "The group"), SettleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plan", body = Envelope<GroupPlanView>),
        (status = 403, description = "Not a member", body = Failure),
    ))]
pub async fn group(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<SettleQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = GroupQuery {
        only: query.currency()?,
        simplify: query.simplify.unwrap_or(true),
        convert_to: parse_convert_to(query.convert_to.as_deref())?,
    };
    let id = parse_id(&path, "group")?;
    let data = settle::group(&state, user, id, request).await?;
    Ok(ok("Settle-up plan computed", data))
}

/// What I pay and receive to be even with everyone, per currency.
#[utoipa::path(get, path = "/v1/users/settle-up", tag = "settle-up",
    params(("currency" = Option<String>, Query, description = "Only this currency (ISO 4217)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The plan", body = Envelope<MyPlanView>)))]
pub async fn mine(
    user: AuthUser,
    query: web::Query<SettleQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let only = query.currency()?;
    let data = settle::mine(&state, user, only).await?;
    Ok(ok("Settle-up plan computed", data))
}
