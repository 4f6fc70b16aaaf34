//! Operations: health and liveness, metrics, headers, rate limiting. The
//! database outage and the graceful shutdown of the real binary are drills
//! (`tests/drills/ops.rs`).

use reqwest::{Method, StatusCode};
use serde_json::json;

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{binary, error_message, keys, spawn_app, spawn_app_with};

/// The admin listener's healthz: the details, for operators.
#[tokio::test]
async fn healthz_reports_database_and_process() {
    let app = spawn_app().await;
    let (status, body) = app.admin_get("/v1/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Service is healthy");
    let data = &body["data"];
    assert_eq!(data["status"], "OK");
    assert_eq!(data["environment"], "test");
    assert_eq!(data["database"]["status"], "connected");
    assert_eq!(
        data["database"]["name"],
        app.settings.database.name.as_str()
    );
    assert!(data["uptime"].as_f64().unwrap() >= 0.0);
    assert!(data["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(data["memory"]["rss"].as_u64().unwrap() > 0);
    let (status, _) = app.call(Method::GET, "/v1/livez", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.admin_get("/v1/livez").await;
    assert_eq!(status, StatusCode::OK);
}

/// The public healthz (load balancers, probes, the app, anyone) says
/// whether the service is ready, as the contract has it, and nothing about
/// the database's name, the environment or the process.
#[tokio::test]
async fn public_healthz_says_only_whether_the_service_is_ready() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Service is healthy");
    let data = &body["data"];
    assert_eq!(keys(data), ["database", "status", "version"], "{body}");
    assert_eq!(keys(&data["database"]), ["status"], "{body}");
    assert_eq!(data["status"], "OK");
    assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(data["database"]["status"], "connected");
    let text = body.to_string();
    for secret in [
        app.settings.database.name.as_str(),
        "environment",
        "memory",
        "rss",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} in the public healthz: {text}"
        );
    }
}

/// `/metrics` is served by the admin listener; the public port serves it
/// too unless `server.public_metrics` is off.
#[tokio::test]
async fn metrics_live_on_the_admin_port_and_can_leave_the_public_one() {
    let app = spawn_app_with(|s| s.server.public_metrics = false).await;
    let (status, body) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    error_message(&body);
    app.call(Method::GET, "/v1/healthz", None, None).await;
    let text = app.admin_metrics_text().await;
    for needle in [
        r#"http_requests_total{method="GET",route="/v1/healthz",status="200"}"#,
        "splitlyr_ready 1",
        "process_resident_memory_bytes",
    ] {
        assert!(
            text.contains(needle),
            "admin metrics lack {needle}:\n{text}"
        );
    }
    // Requests to the admin listener count like any, by route.
    let text = app.admin_metrics_text().await;
    let scrapes = r#"http_requests_total{method="GET",route="/metrics",status="200"}"#;
    assert!(text.contains(scrapes), "{text}");
    let (status, body) = app.admin_get("/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The public API is unchanged.
    let (status, body) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let both = spawn_app().await;
    assert!(both.metrics_text().await.contains("http_requests_total"));
    assert!(both
        .admin_metrics_text()
        .await
        .contains("http_requests_total"));
}

#[tokio::test]
async fn responses_carry_security_headers_and_request_id() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/v1/healthz")).send().await.unwrap();
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h.get("strict-transport-security").is_none(),
        "no HSTS without TLS config"
    );
    let id = h["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
}

#[tokio::test]
async fn hsts_and_cors_follow_configuration() {
    let app = spawn_app_with(|s| {
        s.server.hsts = true;
        s.cors.allowed_origins = vec!["https://app.splitlyr.example".into()];
    })
    .await;
    let res = app
        .client
        .request(Method::OPTIONS, app.url("/v1/expenses"))
        .header("origin", "https://app.splitlyr.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.splitlyr.example"
    );
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    // A browser app may send If-Match and read ETag.
    let res = app
        .client
        .request(
            Method::OPTIONS,
            app.url("/v1/expenses/0123456789abcdef01234567"),
        )
        .header("origin", "https://app.splitlyr.example")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "authorization, if-match")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let res = app
        .client
        .get(app.url("/v1/healthz"))
        .header("origin", "https://app.splitlyr.example")
        .send()
        .await
        .unwrap();
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    assert!(exposed.contains("idempotent-replayed"), "{exposed}");
    let res = app
        .client
        .get(app.url("/v1/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_envelope_and_trailing_slashes_work() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/v1/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_message(&body);
    let user = app.user("Al").await;
    let (status, body) = app.get("/v1/users/profile/", &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call(Method::GET, "/v1/healthz/", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_exposed_by_route_pattern() {
    let app = spawn_app().await;
    let user = app.user("Al").await;
    app.call(Method::GET, "/v1/healthz", None, None).await;
    let (status, _) = app
        .get("/v1/expenses/0123456789abcdef01234567", &user.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    // spawn_app's readiness probe and the call above.
    let healthz_count: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"http_requests_total{method="GET",route="/v1/healthz",status="200"} "#)
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no healthz counter:\n{text}"));
    assert!(healthz_count >= 2, "healthz counted {healthz_count} times");
    for needle in [
        r#"http_requests_total{method="GET",route="/v1/expenses/{id}",status="404"} 1"#,
        r#"http_requests_total{method="POST",route="/v1/auth/register",status="201"} 1"#,
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/healthz\",le=",
        "http_requests_in_flight",
        // The last readiness check (the healthz calls above) answered 200.
        "splitlyr_ready 1",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "mongodb_commands_total{command=\"insert\"}",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    assert!(
        !text.contains("0123456789abcdef01234567"),
        "raw ids must not become labels"
    );
}

#[tokio::test]
async fn auth_routes_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 2;
        s.rate_limit.auth_period_ms = 60_000;
    })
    .await;
    let login = json!({"email": "ghost@example.com", "password": "whatever"});
    for _ in 0..2 {
        let (status, _) = app
            .call(Method::POST, "/v1/auth/login", None, Some(login.clone()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let res = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 60, "retry-after {retry}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(error_message(&body).contains("Too many requests"));
    // Other routes are not held back by the strict auth limiter.
    let (status, _) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn contact_form_stores_and_allows_three_per_window() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = true).await;
    let form = json!({
        "firstName": "Al", "lastName": "Smith", "email": "al@example.com",
        "subject": "support", "message": "The app is great",
    });
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/contact",
            None,
            Some(json!({"firstName": "Al"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"].as_array().unwrap().len() >= 3, "{body}");
    for _ in 0..2 {
        let (status, body) = app
            .call(Method::POST, "/v1/contact", None, Some(form.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["data"]["_id"].as_str().unwrap().len(), 24);
    }
    let (status, _) = app
        .call(Method::POST, "/v1/contact", None, Some(form))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forwarded_for_is_only_trusted_from_configured_proxies() {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1;
        s.rate_limit.auth_period_ms = 60_000;
    })
    .await;
    let login = json!({"email": "ghost@example.com", "password": "whatever"});
    let send = |xff: &'static str| {
        app.client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", xff)
            .json(&login)
            .send()
    };
    assert_eq!(
        send("198.51.100.1").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // The peer (127.0.0.1) is not a trusted proxy, so a new X-Forwarded-For
    // value does not buy a fresh bucket.
    assert_eq!(
        send("198.51.100.2").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let proxied = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1;
        s.rate_limit.auth_period_ms = 60_000;
        s.rate_limit.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    for client in ["198.51.100.1", "198.51.100.2"] {
        let res = proxied
            .client
            .post(proxied.url("/v1/auth/login"))
            .header("x-forwarded-for", client)
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{client} has its own bucket"
        );
    }
}

/// The warning about production writes that do not wait for a journaled
/// majority reaches the log: it used to be emitted while the configuration
/// was validated, before logging was set up, and so went nowhere.
#[test]
fn production_logs_the_weak_write_concern_warning() {
    use std::io::BufRead;
    let mut child = binary("production")
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("APP__SERVER__PORT", "0")
        .env("APP__SERVER__ADMIN_PORT", "0")
        .env("APP__DATABASE__URI", crate::helpers::db_uri())
        .env(
            "APP__DATABASE__NAME",
            format!("test_{}", uuid::Uuid::new_v4().simple()),
        )
        .env(
            "APP__JWT__SECRET",
            "a-production-secret-of-forty-bytes-0123",
        )
        .env("APP__DATABASE__WRITE_CONCERN", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if lines.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let warning = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = received.recv_timeout(left) else {
            break None;
        };
        if line.contains("production without majority, journaled writes") {
            break Some(line);
        }
        let listening = line.contains("listening");
        seen.push(line);
        if listening {
            break None;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let warning = warning.unwrap_or_else(|| panic!("no warning logged; the log: {seen:#?}"));
    let fields: serde_json::Value = serde_json::from_str(&warning).expect("a JSON log line");
    assert_eq!(fields["level"], "WARN", "{warning}");
    assert_eq!(fields["write_concern"], "1", "{warning}");
    assert_eq!(fields["journal"], true, "{warning}");
}
