//! Prometheus metrics in an app-owned registry: HTTP traffic by route pattern
//! (never raw paths, to bound cardinality), in-flight requests, database
//! commands, the verdict of the last readiness check (`splitlyr_ready`), and
//! the process collector (CPU, RSS, open fds, start time).
//! Every label value comes from a closed set, so the number of series is fixed
//! whatever clients send.

use actix_web::http::Method;
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
    ready: IntGauge,
    db_commands: IntCounterVec,
    db_failures: IntCounterVec,
    pub images: ImageMetrics,
}

/// Picture uploads: labels are the purpose (`avatar`, `receipt`) and the
/// outcome (`stored`, `refused`, `too_large`, `unsupported`, `over_quota`,
/// `rate_limited`, `busy` (no room to read the body), `timed_out` (the body
/// did not arrive in time), `error`): closed sets.
#[derive(Clone)]
pub struct ImageMetrics {
    pub uploads: IntCounterVec,
    pub stored_bytes: IntCounterVec,
    pub decode_seconds: HistogramVec,
    pub swept_files: prometheus::IntCounter,
}

impl ImageMetrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let uploads = IntCounterVec::new(
            Opts::new("splitlyr_image_uploads_total", "Picture uploads by outcome"),
            &["kind", "outcome"],
        )?;
        let stored_bytes = IntCounterVec::new(
            Opts::new(
                "splitlyr_image_stored_bytes_total",
                "Bytes of re-encoded pictures stored",
            ),
            &["kind"],
        )?;
        let decode_seconds = HistogramVec::new(
            HistogramOpts::new(
                "splitlyr_image_decode_seconds",
                "Time to decode, resize and re-encode an upload (on a blocking thread)",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["kind"],
        )?;
        let swept_files = prometheus::IntCounter::new(
            "splitlyr_image_swept_files_total",
            "Stored picture files removed by the sweep because nothing referred to them",
        )?;
        registry.register(Box::new(uploads.clone()))?;
        registry.register(Box::new(stored_bytes.clone()))?;
        registry.register(Box::new(decode_seconds.clone()))?;
        registry.register(Box::new(swept_files.clone()))?;
        Ok(Self {
            uploads,
            stored_bytes,
            decode_seconds,
            swept_files,
        })
    }
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            &["method", "route"],
        )?;
        let in_flight = IntGauge::new("http_requests_in_flight", "HTTP requests being served")?;
        let ready = IntGauge::new(
            "splitlyr_ready",
            "1 if the last /v1/healthz (public or admin port) answered 200, 0 if it answered 503 (database unreachable or not prepared)",
        )?;
        let db_commands = IntCounterVec::new(
            Opts::new("mongodb_commands_total", "Database commands sent"),
            &["command"],
        )?;
        let db_failures = IntCounterVec::new(
            Opts::new(
                "mongodb_command_failures_total",
                "Database commands that failed",
            ),
            &["command"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        registry.register(Box::new(ready.clone()))?;
        registry.register(Box::new(db_commands.clone()))?;
        registry.register(Box::new(db_failures.clone()))?;
        let images = ImageMetrics::new(&registry)?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Self {
            registry,
            requests,
            duration,
            in_flight,
            ready,
            db_commands,
            db_failures,
            images,
        })
    }

    /// Counts every command the driver sends, by command name.
    pub fn command_event_handler(&self) -> EventHandler<CommandEvent> {
        let commands = self.db_commands.clone();
        let failures = self.db_failures.clone();
        EventHandler::callback(move |event: CommandEvent| match event {
            CommandEvent::Started(e) => {
                commands.with_label_values(&[e.command_name.as_str()]).inc()
            }
            CommandEvent::Failed(e) => failures.with_label_values(&[e.command_name.as_str()]).inc(),
            _ => {}
        })
    }

    /// A request began (the in-flight gauge).
    pub fn request_started(&self) {
        self.in_flight.inc();
    }

    /// A request was answered: counted and timed under its route pattern.
    pub fn request_finished(
        &self,
        method: &str,
        route: &str,
        status: u16,
        took: std::time::Duration,
    ) {
        self.in_flight.dec();
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.duration
            .with_label_values(&[method, route])
            .observe(took.as_secs_f64());
    }

    /// The verdict of the latest `/v1/healthz` (either port).
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// The method as a label: the standard ones by name, anything else `other`
/// (clients may send any token as a method).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for odd in ["FOO", "get", "PROPFIND"] {
            let method = Method::from_bytes(odd.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{odd}");
        }
    }
}
