//! Structured logs through `tracing`: JSON in production, readable locally.
//! Every request gets a span (with request id and route pattern) from
//! `tracing-actix-web`, and the request id is echoed as `X-Request-Id`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing_actix_web::RequestId;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use crate::configuration::{LogFormat, LogSettings};

/// Installs the global subscriber; `RUST_LOG` overrides the configured level.
/// Calling it twice (as tests do) is harmless.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},h2=warn,hyper=warn", settings.level)));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if settings.format == LogFormat::Json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(fmt::layer().compact()).try_init()
    };
    // Already initialised (tests start many apps in one process): keep the first.
    let _ = result;
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware inside the request span: logs one line per request (with the
/// cause chain of server errors) and echoes the request id as `X-Request-Id`.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let started = std::time::Instant::now();
    let mut res = next.call(req).await?;
    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if res.status().is_server_error() {
        let error = res.response().error().map(|e| format!("{e:?}"));
        tracing::error!(status, latency_ms, error, "request failed");
    } else {
        tracing::info!(status, latency_ms, "request completed");
    }
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        res.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    Ok(res)
}
