//! `/v1/healthz` (readiness: pings the database with a short timeout) and
//! `/v1/livez` (liveness: the process answers, no database involved).

use actix_web::{web, HttpResponse};

use crate::startup::AppInfo;
use crate::store::Store;

pub async fn healthz(store: web::Data<Store>, info: web::Data<AppInfo>) -> HttpResponse {
    let up = store.ping(info.health_timeout).await;
    let data = serde_json::json!({
        "status": if up { "OK" } else { "ERROR" },
        "timestamp": super::views::iso(mongodb::bson::DateTime::now()),
        "uptime": info.started.elapsed().as_secs_f64(),
        "environment": info.environment,
        "version": env!("CARGO_PKG_VERSION"),
        "database": {
            "status": if up { "connected" } else { "disconnected" },
            "name": info.database_name,
        },
        "memory": { "rss": resident_bytes() },
    });
    if up {
        HttpResponse::Ok().json(serde_json::json!({
            "success": true, "message": "Service is healthy", "data": data,
        }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "success": false, "message": "Service is unavailable: database is not reachable", "data": data,
        }))
    }
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
