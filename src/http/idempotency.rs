//! Idempotent writes and the database deadline, around the `/v1` API.
//!
//! Wrapped around every endpoint of the route table, after routing, and
//! active on the listener whose app data holds a [`Deadline`] (the public
//! one). Every request under `/v1` gets at most the configured deadline
//! (`database.request_deadline_ms`) to be answered once it has been read;
//! past it the answer is 503, `OUTCOME_UNKNOWN` for a write (the change may
//! or may not have committed) and `DATABASE_TIMEOUT` for a read. The
//! database driver has no client-side operation timeout, so the deadline is
//! a timer around the handler: dropping the handler drops its database
//! session, and an uncommitted transaction goes with it.
//!
//! A POST/PUT/PATCH/DELETE with an `Idempotency-Key` from an authenticated
//! user is claimed in `store::idempotency` before the handler runs:
//! - the same user, method, path, query and body within 24 h get the first
//!   answer again (`Idempotent-Replayed: true`); another route or body with
//!   the key is 422 `IDEMPOTENCY_KEY_REUSED`;
//! - while the first attempt runs, a second one waits for its answer (up to
//!   half the deadline, polling), then gives up with 409
//!   `IDEMPOTENCY_KEY_IN_USE` and `Retry-After`;
//! - a change's transaction marks the claim `committed` (see
//!   `store::idempotency::claim_op`), so when the answer was lost after
//!   the commit (the process died, the deadline fired), a retry answers 200
//!   "already carried out" instead of doing the work again;
//! - 5xx answers are not kept (the key is released unless the change
//!   committed); an attempt that dies holds the key for its lease, twice the
//!   deadline, after which a retry takes the claim over.
//!
//! The picture uploads (`PUT .../image`, `PUT .../receipt`) stream bodies far
//! larger than the JSON limit: their key is checked but not recorded (a
//! retry replaces the picture again, with the same result).

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};

use super::state;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::idempotency::{Answer, Claim, Claimed, KeyedRequest, Outcome, MAX_STORED_BODY};
use mongodb::bson::oid::ObjectId;

/// The request header naming an idempotency key.
pub const KEY_HEADER: &str = "idempotency-key";
/// The answer header of a replay.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The test-only fault: in debug builds, with this variable set to `1`, the
/// process aborts after a keyed change committed and before it answers.
const FAULT_AFTER_COMMIT: &str = "SPLITLYR_FAULT_ABORT_AFTER_COMMIT";

/// The deadline of the API's requests.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// Every request, from when its body has been read (keyed writes) or
    /// from its start.
    pub request: Duration,
    /// Added for the picture uploads, whose large bodies the handler reads
    /// under their own read timeout.
    pub upload_body: Duration,
}

/// Routes whose body the handler streams (pictures) or reads under a limit
/// of its own (an import, which is idempotent by its rows): not buffered
/// here.
fn streams_body(req: &ServiceRequest) -> bool {
    let path = req.path();
    (req.method() == Method::PUT
        && (path == "/v1/users/profile/image"
            || (path.starts_with("/v1/expenses/") && path.ends_with("/receipt"))))
        || (req.method() == Method::POST && path.ends_with("/import/splitwise"))
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// The middleware (see the module's docs).
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let deadline = match req.app_data::<Deadline>() {
        Some(d) if req.path().starts_with("/v1/") => *d,
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    };
    let write = is_write(req.method());
    let http = req.request().clone();
    let streamed = streams_body(&req);
    let limit = if streamed {
        deadline.request + deadline.upload_body
    } else {
        deadline.request
    };
    let key = match req.headers().get_all(KEY_HEADER).collect::<Vec<_>>()[..] {
        [] => None,
        [value] if write => match parse_key(value.as_bytes()) {
            Ok(key) => Some(key),
            Err(e) => return Ok(respond(&http, &e)),
        },
        [_] => None,
        _ => return Ok(respond(&http, &bad_key("send one Idempotency-Key header"))),
    };
    let user = match key {
        Some(_) if !streamed => req.extract::<AuthUser>().await.ok(),
        _ => None,
    };
    let (Some(key), Some(user)) = (key, user) else {
        return Ok(within(limit, write, &http, async {
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        })
        .await);
    };
    let body = match req.extract::<Bytes>().await {
        Ok(body) => body,
        Err(e) => return Ok(ServiceResponse::from_err(e, http)),
    };
    let keyed = KeyedRequest {
        user: user.id,
        key,
        route: route_of(&http),
        route_hash: hex(&Sha256::digest(route_of(&http).as_bytes())),
        body_hash: hex(&Sha256::digest(&body)),
        lease: deadline.request * 2,
    };
    req.set_payload(payload_of(body));
    let work = keyed_write(keyed, deadline.request / 2, req, next);
    Ok(within(limit, true, &http, work).await)
}

/// `work` within `limit`, else the 503 of a request that ran out of time.
async fn within(
    limit: Duration,
    write: bool,
    http: &HttpRequest,
    work: impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>,
) -> ServiceResponse<BoxBody> {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => ServiceResponse::from_err(e, http.clone()),
        Err(_) => {
            tracing::warn!(
                deadline_ms = limit.as_millis() as u64,
                "request deadline passed"
            );
            respond(http, &out_of_time(write, limit))
        }
    }
}

fn out_of_time(write: bool, limit: Duration) -> ApiError {
    if write {
        ApiError::coded(
            503,
            "OUTCOME_UNKNOWN",
            format!(
                "The database did not answer within {} ms: the change may or may not have \
                 been made. Retry with the same Idempotency-Key to learn its outcome",
                limit.as_millis()
            ),
        )
    } else {
        ApiError::Coded {
            status: 503,
            code: "DATABASE_TIMEOUT",
            message: format!(
                "The database did not answer within {} ms",
                limit.as_millis()
            ),
            retry_after_secs: Some(1),
        }
    }
}

/// Claims the key (waiting up to `wait` on another attempt), then runs the
/// handler under the claim and keeps its answer; or answers from the claim.
async fn keyed_write(
    keyed: KeyedRequest,
    wait: Duration,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let http = req.request().clone();
    let state = state(&http)?;
    let store = &state.store;
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    let claim = loop {
        match store.claim_key(&keyed).await.map_err(ApiError::from)? {
            Claimed::Mine(claim) => break claim,
            Claimed::Answered(answer) => return Ok(replay(&http, &answer)),
            Claimed::Committed(outcome) => {
                return Ok(committed(&http, &state, keyed.user, outcome).await)
            }
            Claimed::Reused => return Ok(respond(&http, &reused())),
            Claimed::Busy(left) if started.elapsed() + pause > wait => {
                return Ok(respond(&http, &in_use(left)));
            }
            Claimed::Busy(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(250));
            }
        }
    };
    let res = match claim.scope(next.call(req)).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => ServiceResponse::from_err(e, http.clone()),
    };
    if res.status().is_server_error() {
        if let Err(e) = store.release_key(&claim).await {
            tracing::warn!(error = ?e, "could not release an idempotency key after a 5xx");
        }
        return Ok(res);
    }
    fault_after_commit(store, &claim).await;
    keep_answer(store, &claim, res).await
}

/// Stores the handler's answer and sends it. The answer is sent even when
/// it cannot be stored (the database went away after the commit): a retry
/// then finds the claim committed.
async fn keep_answer(
    store: &crate::store::Store,
    claim: &Claim,
    res: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (http, response) = res.into_parts();
    let (response, body) = response.into_parts();
    let bytes = body.try_into_bytes().ok();
    let header_of = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = Answer {
        status: response.status().as_u16(),
        body: bytes
            .as_ref()
            .filter(|b| b.len() <= MAX_STORED_BODY)
            .map(|b| b.to_vec()),
        content_type: header_of(header::CONTENT_TYPE),
        etag: header_of(header::ETAG),
    };
    match store.answer_key(claim, &answer).await {
        Ok(true) => {}
        // Taken over by a retry after the lease ran out: this attempt's
        // change (if it wrote one) could not commit; the retry answers.
        Ok(false) => return Ok(respond(&http, &in_use(Duration::from_secs(1)))),
        Err(e) => tracing::warn!(error = ?e, "could not store an idempotent answer"),
    }
    let body = match bytes {
        Some(bytes) => BoxBody::new(bytes),
        None => BoxBody::new(()),
    };
    Ok(ServiceResponse::new(http, response.set_body(body)))
}

/// Debug builds only: dies between the commit and the answer when told to,
/// for the test of a retry after a crash.
async fn fault_after_commit(store: &crate::store::Store, claim: &Claim) {
    if cfg!(debug_assertions) && std::env::var(FAULT_AFTER_COMMIT).as_deref() == Ok("1") {
        let state = store.key_state(claim.id()).await.ok().flatten();
        if state.is_some_and(|d| d.get_str("state").ok() == Some("committed")) {
            tracing::error!("{FAULT_AFTER_COMMIT}: aborting after the commit");
            std::process::abort();
        }
    }
}

/// The key as sent: 1 to 255 visible ASCII characters.
fn parse_key(value: &[u8]) -> Result<String, ApiError> {
    if value.is_empty() || value.len() > MAX_KEY_LEN {
        return Err(bad_key("Idempotency-Key must be 1 to 255 characters"));
    }
    if !value.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(bad_key(
            "Idempotency-Key must be visible ASCII characters (no spaces)",
        ));
    }
    Ok(String::from_utf8_lossy(value).into_owned())
}

fn bad_key(message: &str) -> ApiError {
    ApiError::coded(400, "INVALID_IDEMPOTENCY_KEY", message)
}

fn reused() -> ApiError {
    ApiError::coded(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used for another request (a different route or body)",
    )
}

fn in_use(left: Duration) -> ApiError {
    ApiError::Coded {
        status: 409,
        code: "IDEMPOTENCY_KEY_IN_USE",
        message: "A request with this Idempotency-Key is still being processed; retry shortly"
            .into(),
        retry_after_secs: Some(left.as_secs_f64().ceil().max(1.0) as u64),
    }
}

/// `METHOD /path?query`: a key names one request on one resource.
fn route_of(http: &HttpRequest) -> String {
    match http.query_string() {
        "" => format!("{} {}", http.method(), http.path()),
        q => format!("{} {}?{q}", http.method(), http.path()),
    }
}

fn payload_of(body: Bytes) -> Payload {
    type Boxed = std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>>;
    let stream = futures_util::stream::once(async move { Ok::<_, PayloadError>(body) });
    Payload::from(Box::pin(stream) as Boxed)
}

fn respond(http: &HttpRequest, e: &ApiError) -> ServiceResponse<BoxBody> {
    ServiceResponse::new(http.clone(), e.error_response())
}

/// The stored answer again.
fn replay(http: &HttpRequest, answer: &Answer) -> ServiceResponse<BoxBody> {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((REPLAYED_HEADER, "true"));
    if let Some(etag) = &answer.etag {
        response.insert_header((header::ETAG, etag.as_str()));
    }
    let response = match &answer.body {
        Some(body) => {
            if let Some(ct) = &answer.content_type {
                response.insert_header((header::CONTENT_TYPE, ct.as_str()));
            }
            response.body(body.clone())
        }
        None => response.json(serde_json::json!({
            "success": status.is_success(),
            "message": "The original answer was too large to keep: read the object to see it",
            "data": null,
        })),
    };
    ServiceResponse::new(http.clone(), response)
}

/// The change committed but its answer was lost: the real outcome, as far
/// as it is known — what the change did (its journal event) and the object
/// as it is now (what its single-item GET shows), 201 when it created it.
async fn committed(
    http: &HttpRequest,
    state: &AppState,
    user: ObjectId,
    outcome: Option<Outcome>,
) -> ServiceResponse<BoxBody> {
    let user = AuthUser {
        id: user,
        session: None,
    };
    let data = match &outcome {
        Some(o) => crate::app::sync::object_now(state, user, &o.kind, o.id)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let created = outcome
        .as_ref()
        .is_some_and(|o| o.event.ends_with(".created") || o.event.ends_with(".added"));
    let status = if created && http.method() == actix_web::http::Method::POST {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = HttpResponse::build(status)
        .insert_header((REPLAYED_HEADER, "true"))
        .json(serde_json::json!({
            "success": true,
            "message": "This request was already carried out; its original answer was lost, \
                        this is the object as it is now",
            "event": outcome.as_ref().map(|o| o.event.clone()),
            "data": data,
        }));
    ServiceResponse::new(http.clone(), response)
}

fn hex(bytes: &[u8]) -> String {
    crate::random::hex(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(parse_key(b"a").is_ok());
        assert!(parse_key(b"2b1c-key_~!").is_ok());
        assert!(parse_key(&[b'k'; 255]).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 256],
            b"has space",
            b"tab\t",
            "é".as_bytes(),
            b"\x7f",
        ] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }
}
