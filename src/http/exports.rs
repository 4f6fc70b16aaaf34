//! The exports: `GET /v1/groups/:id/export.csv` and
//! `GET /v1/expenses/export.csv`. Parse → `crate::app::exports` → a
//! streamed attachment. Refusals (not a member, a bad id or filter) are
//! answered in the envelope before any byte of the file is sent.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use futures_util::TryStreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{optional_id, parse_id, Failure};
use crate::app::exports::{self, Export, Format};
use crate::app::schema::Id;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupExportQuery {
    /// `csv` (default): Splitwise's layout; `json`: JSON lines.
    #[param(inline)]
    format: Option<Format>,
}

/// Export a group's expenses and payments in Splitwise's CSV layout (for its
/// members). The header is `Date,Description,Category,Cost,Currency`, then a
/// column per person (the members, then former members its documents name;
/// the same name twice gets ` (2)`); a blank line; a row per expense and
/// payment, oldest first, each person's cell their net in it (paid − owed,
/// in the currency's decimals; every row sums to zero); a blank line; a
/// `Total balance` row per currency, which are the group's balances. Text
/// that a spreadsheet would run as a formula starts with `'`. With
/// `format=json`: JSON lines, every field of each expense. Streamed.
#[utoipa::path(get, path = "/v1/groups/{id}/export.csv", tag = "groups",
    params(("id" = Id, Path, description = "The group"), GroupExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, as an attachment",
            content(
                (String = "text/csv"),
                (String = "application/x-ndjson"),
            ),
            headers(("Content-Disposition" = String,
                description = "`attachment; filename=\"splitlyr-<group>-<YYYY-MM-DD>.csv\"` (`.jsonl`)"))),
        (status = 403, description = "Not a member", body = Failure),
    ))]
pub async fn group_export(
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<GroupExportQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "group")?;
    let format = query.into_inner().format.unwrap_or_default();
    let export = exports::group(&state, user, id, format).await?;
    Ok(attachment(export))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct MineExportQuery {
    /// `csv` (default) or `json` (JSON lines).
    #[param(inline)]
    format: Option<Format>,
    /// Only expenses between me and this friend.
    #[param(value_type = Option<Id>)]
    friend_id: Option<String>,
    settled: Option<bool>,
}

/// Export my expenses and payments (everything I take part in), oldest
/// first, with the filters of `GET /v1/expenses`. The CSV's columns are
/// `Date,Description,Category,Currency,Amount,Group,Payers,My share,My
/// net,Settled`: amounts in the currency's decimals, the group's name or
/// nothing, the payers' names joined with `; `, what I owe of it, my net in
/// it (paid − owed) and whether the expense is settled. With
/// `format=json`: JSON lines, every field. Streamed.
#[utoipa::path(get, path = "/v1/expenses/export.csv", tag = "expenses",
    params(MineExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, as an attachment",
            content(
                (String = "text/csv"),
                (String = "application/x-ndjson"),
            ),
            headers(("Content-Disposition" = String,
                description = "`attachment; filename=\"splitlyr-expenses-<YYYY-MM-DD>.csv\"` (`.jsonl`)"))),
    ))]
pub async fn mine_export(
    user: AuthUser,
    query: web::Query<MineExportQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let with_friend = optional_id(q.friend_id.as_deref(), "friend")?;
    let format = q.format.unwrap_or_default();
    let export = exports::mine(&state, user, with_friend, q.settled, format).await?;
    Ok(attachment(export))
}

/// 200 with the export streamed as a download that is never cached.
fn attachment(export: Export) -> HttpResponse {
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(export.file_name)],
    };
    HttpResponse::Ok()
        .content_type(export.format.media_type())
        .insert_header(disposition)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(export.body.map_ok(Bytes::from))
}
