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

use crate::http::{self, routes};
use crate::state::AppState;

/// The admin server on `listener`; it drains for up to `grace_seconds`
/// when stopped.
pub fn server(
    listener: TcpListener,
    state: web::Data<AppState>,
    grace_seconds: u64,
) -> Result<Server, String> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(from_fn(http::middleware::track))
            .wrap(from_fn(crate::telemetry::request_log))
            .wrap(TracingLogger::default())
            .configure(|cfg| routes::register_plain(cfg, routes::admin_endpoints()))
            .default_service(web::to(http::not_found))
    })
    .workers(1)
    .listen(listener)
    .map_err(|e| e.to_string())?
    .disable_signals()
    .shutdown_timeout(grace_seconds);
    Ok(server.run())
}
