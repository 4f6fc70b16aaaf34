//! `GET /v1/rates?date=`: the exchange rates known for a day
//! (`crate::app::rates`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{ok, Envelope, Failure};
use crate::app::rates::{self, RatesView};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RatesQuery {
    /// `YYYY-MM-DD`: the table in force that day (the latest on or before
    /// it); the latest table without it.
    date: Option<String>,
}

/// The euro reference rates in force on a day (or the latest), with the
/// table's own date; cross rates go through the euro.
#[utoipa::path(get, path = "/v1/rates", tag = "currency",
    params(RatesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The table", body = Envelope<RatesView>),
        (status = 404, description = "No table on or before that day", body = Failure),
    ))]
pub async fn show(
    _user: AuthUser,
    query: web::Query<RatesQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let day = match query.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(raw) => Some(rates::parse_day(raw, "date")?),
        None => None,
    };
    let data = rates::show(&state.store, day).await?;
    Ok(ok("Exchange rates retrieved successfully", data))
}
