//! The server around its processes: a database that goes away and comes
//! back (`/v1/healthz` is 503 meanwhile, then recovers), and the real binary
//! draining in-flight requests on SIGTERM. `OwnDatabase` is a SecantusDB
//! process of a test's own, also used by the durability drill.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{binary, error_message, free_port, spawn_app_with};

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
    let (status, body) = app.login("a@example.com", "secret1").await;
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
    app.user("Al").await;
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
