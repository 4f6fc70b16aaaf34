//! The admin listener (`server.admin_host`:`server.admin_port`): `/metrics`
//! and the detailed `/v1/healthz` (database name, preparation and index
//! conflicts, environment, uptime, memory) for operators and Prometheus,
//! away from the public port, whose `/v1/healthz` says only whether the
//! service is ready. Also `/v1/livez`, so one port answers every probe an
//! operator may point at it.
//!
//! No API, no rate limit, no CORS: it is meant to be reachable by operators
//! only. It binds loopback by default; in Kubernetes it binds 0.0.0.0 so
//! Prometheus (another pod) reaches it, behind the NetworkPolicy, and no
//! Service or Ingress of the API routes to it. It runs on a worker of its
//! own, so a saturated API does not delay a scrape. Its requests are counted
//! in the `http_*` metrics like the public port's, by route (`/metrics`,
//! `/v1/healthz`), as they were when both were served on one port: the 5xx
//! ratio and the request rate the alerts read keep their meaning.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::metrics::Metrics;
use crate::routes;
use crate::state::{AppInfo, Readiness};
use crate::store::Store;

/// What the admin routes read, shared with the public server.
#[derive(Clone)]
pub struct AdminData {
    pub store: web::Data<Store>,
    pub info: web::Data<AppInfo>,
    pub readiness: web::Data<Readiness>,
    pub metrics: web::Data<Metrics>,
}

/// The admin server on `listener`; it drains for up to `grace_seconds`
/// when stopped.
pub fn server(
    listener: TcpListener,
    data: AdminData,
    grace_seconds: u64,
) -> Result<Server, String> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.store.clone())
            .app_data(data.info.clone())
            .app_data(data.readiness.clone())
            .app_data(data.metrics.clone())
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(from_fn(crate::metrics::track))
            .wrap(from_fn(crate::telemetry::request_log))
            .wrap(TracingLogger::default())
            .route("/v1/healthz", web::get().to(routes::health::healthz_detail))
            .route("/v1/livez", web::get().to(routes::health::livez))
            .route("/metrics", web::get().to(crate::metrics::metrics_endpoint))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .disable_signals()
    .shutdown_timeout(grace_seconds);
    Ok(server.run())
}
