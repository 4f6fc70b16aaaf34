//! `/v1/healthz` (readiness: pings the database with a short timeout and
//! reports whether it is prepared), `/v1/livez` (liveness: the process
//! answers, no database involved), and the gate that keeps the API at 503
//! until the database is prepared (indexes, schema upgrade, ledger).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::state::{AppInfo, Phase, Readiness};
use crate::store::Store;

pub async fn healthz(
    store: web::Data<Store>,
    info: web::Data<AppInfo>,
    readiness: web::Data<Readiness>,
) -> HttpResponse {
    let up = store.ping(info.health_timeout).await;
    let phase = readiness.phase();
    let conflicts = readiness.index_conflicts();
    let healthy = up && phase == Phase::Ready;
    let data = serde_json::json!({
        "status": if healthy { "OK" } else { "ERROR" },
        "timestamp": super::views::iso(mongodb::bson::DateTime::now()),
        "uptime": info.started.elapsed().as_secs_f64(),
        "environment": info.environment,
        "version": env!("CARGO_PKG_VERSION"),
        "database": {
            "status": if up { "connected" } else { "disconnected" },
            "name": info.database_name,
            "preparation": phase.as_str(),
            "indexConflicts": conflicts,
        },
        "memory": { "rss": resident_bytes() },
    });
    if healthy {
        HttpResponse::Ok().json(serde_json::json!({
            "success": true, "message": "Service is healthy", "data": data,
        }))
    } else {
        let message = if up {
            not_ready_message(phase)
        } else {
            "Service is unavailable: database is not reachable"
        };
        HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "success": false, "message": message, "data": data,
        }))
    }
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
    let phase = match req.app_data::<web::Data<ReadyGate>>() {
        // One atomic load when ready, as on nearly every request.
        Some(gate) if !gate.readiness.is_ready() => {
            let gate = gate.clone();
            if gate.readiness.wait_ready(gate.wait).await {
                Phase::Ready
            } else {
                gate.readiness.phase()
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

/// What [`ready_gate`] needs: the readiness and how long a request may wait.
#[derive(Clone)]
pub struct ReadyGate {
    pub readiness: Readiness,
    pub wait: std::time::Duration,
}

pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "success": true, "message": "Service is alive" }))
}

/// Resident set size from /proc (Linux); None elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
