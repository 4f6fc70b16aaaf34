//! Operations: health and liveness, metrics, headers, rate limiting, database
//! outage and recovery, graceful shutdown of the real binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{binary, error_message, free_port, keys, spawn_app, spawn_app_with};

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
            "authorization, content-type",
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
    let user = app.register("Al", "al@example.com").await;
    let (status, body) = app.get("/v1/users/profile/", &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call(Method::GET, "/v1/healthz/", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_exposed_by_route_pattern() {
    let app = spawn_app().await;
    let user = app.register("Al", "al@example.com").await;
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

/// A SecantusDB server owned by one test, so it can be stopped and restarted.
/// A SecantusDB process of the test's own, to stop (SIGKILL) and restart.
pub struct OwnDatabase {
    port: u16,
    /// `:memory:`, or a directory kept across restarts.
    storage: String,
    /// `--sync-on-commit`: a commit is on disk before it is acknowledged.
    durable: bool,
    child: Option<Child>,
}

impl OwnDatabase {
    fn binary() -> PathBuf {
        std::env::var("SPLITLYR_SECANTUSD")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/secantusd-py")
            })
    }

    pub async fn start(port: u16) -> Self {
        Self::start_with(port, ":memory:".into(), false).await
    }

    /// On disk in `dir`, durable: what survives a kill -9 is what was acknowledged.
    pub async fn start_durable(port: u16, dir: &std::path::Path) -> Self {
        Self::start_with(port, dir.display().to_string(), true).await
    }

    async fn start_with(port: u16, storage: String, durable: bool) -> Self {
        let mut db = Self {
            port,
            storage,
            durable,
            child: None,
        };
        db.restart().await;
        db
    }

    pub async fn restart(&mut self) {
        let bin = Self::binary();
        assert!(
            bin.exists(),
            "{} missing: run scripts/test.sh (it installs SecantusDB)",
            bin.display()
        );
        let mut command = Command::new(bin);
        command.args([
            "--host",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--storage-path",
            &self.storage,
            "--log-level",
            "ERROR",
        ]);
        if self.durable {
            command.arg("--sync-on-commit");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("SecantusDB starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "SecantusDB did not listen on {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process (SIGKILL: no shutdown, no flush).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn healthz_is_503_while_the_database_is_down_and_recovers() {
    let mut db = OwnDatabase::start(free_port()).await;
    let uri = db.uri();
    let app = spawn_app_with(|s| s.database.uri = uri.into()).await;
    let (status, _) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);

    db.stop();
    let started = Instant::now();
    let (status, body) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["data"]["database"]["status"], "disconnected");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "healthz must not hang: {:?}",
        started.elapsed()
    );
    // Other routes answer 503 in the envelope rather than hanging or 500.
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "a@example.com", "password": "secret1"})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    error_message(&body);

    db.restart().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _) = app.call(Method::GET, "/v1/healthz", None, None).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not recover after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.register("Al", "al@example.com").await;
}

/// The real binary, configured through the environment as in production.
fn start_binary(port: u16, bcrypt_cost: u32) -> Child {
    binary("test")
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("MONGO_URL", crate::helpers::db_uri())
        .env(
            "APP__DATABASE__NAME",
            format!("test_{}", uuid::Uuid::new_v4().simple()),
        )
        .env("APP__AUTH__BCRYPT_COST", bcrypt_cost.to_string())
        .env("APP__SERVER__SHUTDOWN_GRACE_SECONDS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

fn healthcheck(port: u16) -> bool {
    binary("test")
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .status()
        .expect("healthcheck runs")
        .success()
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let port = free_port();
    // A high bcrypt cost makes registration slow enough to be in flight.
    let mut child = start_binary(port, 14);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = client.get(format!("{base}/v1/healthz")).send().await {
            if res.status() == StatusCode::OK {
                break;
            }
        }
        assert!(Instant::now() < deadline, "binary did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthcheck(port), "healthcheck subcommand reports healthy");

    let slow = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/v1/auth/register");
        async move {
            let started = Instant::now();
            let res = client
                .post(url)
                .json(&json!({"name": "Slow", "email": "slow@example.com", "password": "secret1"}))
                .send()
                .await
                .expect("in-flight request gets an answer");
            (res.status(), started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let (status, took) = slow.await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the in-flight request completes"
    );
    assert!(
        took > Duration::from_millis(300),
        "the request really was in flight ({took:?})"
    );
    let exit_deadline = Instant::now() + Duration::from_secs(25);
    let code = loop {
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(
            Instant::now() < exit_deadline,
            "process did not exit within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(code.success(), "exit status {code:?}");
    assert!(
        !healthcheck(port),
        "healthcheck fails once the server is gone"
    );
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
