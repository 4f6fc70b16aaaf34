//! `POST /v1/groups/:id/import/splitwise` and `GET /v1/imports/:id`
//! (`crate::app::imports`). The import's body, a whole CSV file inside
//! JSON, may be up to [`MAX_IMPORT_BYTES`], this route alone; at most
//! [`BODIES_AT_ONCE`] such bodies are read at a time, each within
//! [`BODY_READ_TIME`].

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tokio::sync::Semaphore;

use super::{created, ok, parse_id, Envelope, Failure};
use crate::app::imports::{self, ImportBody, ImportView, Imported};
use crate::app::schema::Id;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::images::input::{declared_length, read_up_to};
use crate::state::AppState;

/// The largest import body (a Splitwise export of some 50,000 rows).
pub const MAX_IMPORT_BYTES: usize = 8 << 20;
/// Import bodies read at once (each up to [`MAX_IMPORT_BYTES`]).
pub const BODIES_AT_ONCE: usize = 2;
/// How long the body may take to arrive.
pub const BODY_READ_TIME: Duration = Duration::from_secs(30);

static READING: Semaphore = Semaphore::const_new(BODIES_AT_ONCE);

async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<ImportBody, ApiError> {
    if !super::is_json(req) {
        return Err(super::not_json());
    }
    if declared_length(req.headers()).is_some_and(|n| n > MAX_IMPORT_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let _permit = READING.try_acquire().map_err(|_| ApiError::Busy {
        retry_after_secs: 5,
    })?;
    let mut payload = actix_web::dev::Decompress::from_headers(payload.into_inner(), req.headers());
    let mut body = Vec::new();
    let read = tokio::time::timeout(
        BODY_READ_TIME,
        read_up_to(&mut payload, MAX_IMPORT_BYTES, &mut body),
    )
    .await
    .map_err(|_| ApiError::bad_request("The body did not arrive in time"))??;
    if !read {
        return Err(ApiError::PayloadTooLarge);
    }
    super::parse_json(req, &body)
}

/// Import a Splitwise group export into this group (members). Every member
/// column of the file is mapped to a member; the file is checked whole
/// before anything is written (its rows must add up to its `Total balance`
/// rows), then written in batches; rows an earlier import wrote are not
/// written again. A large file answers 202 with the running import.
#[utoipa::path(post, path = "/v1/groups/{id}/import/splitwise", tag = "imports",
    params(("id" = Id, Path, description = "The group")),
    request_body = ImportBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A dry run: what would be written", body = Envelope<ImportView>),
        (status = 201, description = "Imported", body = Envelope<ImportView>),
        (status = 202, description = "Importing: follow `Location` (`GET /v1/imports/{id}`)", body = Envelope<ImportView>),
        (status = 400, description = "Not such an export, rows that do not add up, unmapped columns: nothing written", body = Failure),
        (status = 403, description = "Not a member of the group", body = Failure),
        (status = 404, description = "No such group", body = Failure),
        (status = 413, description = "Over 8 MiB", body = Failure),
    ))]
pub async fn splitwise(
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let group = parse_id(&path, "group")?;
    let body = read_body(&req, payload).await?;
    Ok(
        match imports::splitwise(state.into_inner(), user, group, body).await? {
            Imported::DryRun(job, preview) => ok(
                "Checked; nothing was written",
                ImportView::of(job, Some(preview)),
            ),
            Imported::Done(job) => created("Imported", ImportView::of(job, None)),
            Imported::Running(job) => HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/v1/imports/{}", job.id.to_hex())))
                .json(Envelope::new("Importing", ImportView::of(job, None))),
        },
    )
}

/// An import's progress or result (its importer, or a member of its group).
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports",
    params(("id" = Id, Path, description = "The import")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The import", body = Envelope<ImportView>),
        (status = 404, description = "No such import that I can see", body = Failure),
    ))]
pub async fn job(
    user: AuthUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path, "import")?;
    let job = imports::job(&state, user, id).await?;
    Ok(ok(
        "Import retrieved successfully",
        ImportView::of(job, None),
    ))
}
