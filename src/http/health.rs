//! `/v1/healthz` (readiness: pings the database with a short timeout and
//! reports whether it is prepared; minimal on the public port, detailed on
//! the admin port), `/v1/livez` (liveness: the process answers, no database
//! involved), and the gate that keeps the API at 503 until the database is
//! prepared (indexes, schema upgrade, ledger).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Envelope, Failure};
use crate::state::AppState;
use crate::store::readiness::Phase;

/// What a health check found: whether the database answered its ping, and
/// how far this process has prepared it.
struct Health {
    up: bool,
    phase: Phase,
}

impl Health {
    async fn check(state: &AppState) -> Self {
        let up = state.store.ping(state.info.health_timeout).await;
        let health = Self {
            up,
            phase: state.readiness.phase(),
        };
        // The verdict for `splitlyr_ready`, so an alert sees a database
        // outage at the next scrape instead of through a rate over minutes.
        state.metrics.set_ready(health.healthy());
        health
    }

    fn healthy(&self) -> bool {
        self.up && self.phase == Phase::Ready
    }

    /// 200 with `data` when healthy, else 503 saying why.
    fn respond(&self, data: impl Serialize) -> HttpResponse {
        if self.healthy() {
            return HttpResponse::Ok().json(Envelope::new("Service is healthy", data));
        }
        let message = if self.up {
            not_ready_message(self.phase)
        } else {
            "Service is unavailable: database is not reachable"
        };
        HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "success": false, "message": message, "data": data,
        }))
    }

    fn status(&self) -> &'static str {
        if self.healthy() {
            "OK"
        } else {
            "ERROR"
        }
    }

    fn database_status(&self) -> &'static str {
        if self.up {
            "connected"
        } else {
            "disconnected"
        }
    }
}

/// `data` of the public `/v1/healthz`.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `OK` or `ERROR`.
    status: &'static str,
    version: &'static str,
    database: DatabaseStatus,
}

#[derive(Serialize, ToSchema)]
pub struct DatabaseStatus {
    /// `connected` or `disconnected`.
    status: &'static str,
}

/// `/v1/healthz` on the public port, for load balancers, probes and the
/// app: whether the service is ready (`status`, `version`,
/// `database.status`, as the contract has them) and nothing more. The
/// database's name, the environment, memory and index conflicts are for
/// operators: [`healthz_detail`], on the admin port.
#[utoipa::path(get, path = "/v1/healthz", tag = "ops",
    summary = "Readiness: whether the service and its database can answer",
    description = "A database ping with a short timeout; for load balancers, probes and the app. \
        503 says why while the database is unreachable or being prepared.",
    responses(
        (status = 200, description = "Ready", body = Envelope<Readiness>),
        (status = 503, description = "Not ready: the database is unreachable or being prepared \
            (`data` as on 200)", body = Failure),
    ))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let health = Health::check(&state).await;
    health.respond(Readiness {
        status: health.status(),
        version: env!("CARGO_PKG_VERSION"),
        database: DatabaseStatus {
            status: health.database_status(),
        },
    })
}

/// `/v1/healthz` on the admin port: the same verdict, with what an operator
/// needs to know why (the database's name, its preparation and index
/// conflicts, the environment, uptime and memory).
pub async fn healthz_detail(state: web::Data<AppState>) -> HttpResponse {
    let health = Health::check(&state).await;
    let info = &state.info;
    health.respond(serde_json::json!({
        "status": health.status(),
        "timestamp": crate::app::views::iso(mongodb::bson::DateTime::now()),
        "uptime": info.started.elapsed().as_secs_f64(),
        "environment": info.environment,
        "version": env!("CARGO_PKG_VERSION"),
        "database": {
            "status": health.database_status(),
            "name": info.database_name,
            "preparation": health.phase.as_str(),
            "indexConflicts": state.readiness.index_conflicts(),
        },
        "memory": { "rss": resident_bytes() },
    }))
}

fn not_ready_message(phase: Phase) -> &'static str {
    match phase {
        Phase::Upgrading | Phase::WaitingForUpgrade => {
            "Service is upgrading its database, please try again shortly"
        }
        _ => "Service is starting, please try again shortly",
    }
}

/// Holds a request that arrives while the database is being prepared for up
/// to `server.ready_wait_ms` (a replica that has just started is usually
/// ready within a fraction of a second, and a balancer without health checks
/// sends it traffic at once), then answers 503 (`code: "DATABASE_NOT_READY"`,
/// `Retry-After`) if it is still not ready, so no request reads or writes
/// documents that are not yet in this release's format.
pub async fn ready_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let phase = match req.app_data::<web::Data<AppState>>() {
        // One atomic load when ready, as on nearly every request.
        Some(state) if !state.readiness.is_ready() => {
            let state = state.clone();
            if state.readiness.wait_ready(state.ready_wait).await {
                Phase::Ready
            } else {
                state.readiness.phase()
            }
        }
        _ => Phase::Ready,
    };
    if phase == Phase::Ready {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let response = HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "5"))
        .json(serde_json::json!({
            "success": false,
            "message": not_ready_message(phase),
            "code": "DATABASE_NOT_READY",
        }));
    Ok(req.into_response(response).map_into_right_body())
}

/// `/metrics`: the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match state.metrics.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "failed to render metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The answer of `/v1/livez`.
#[derive(Serialize, ToSchema)]
pub struct Alive {
    success: bool,
    message: &'static str,
}

/// Liveness: the process answers (no database involved).
#[utoipa::path(get, path = "/v1/livez", tag = "ops",
    responses((status = 200, description = "Alive", body = Alive)))]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Alive {
        success: true,
        message: "Service is alive",
    })
}

/// Resident set size from /proc (Linux); None elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
