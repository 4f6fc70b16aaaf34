//! `Idempotency-Key` on writes, and the database deadline: replays, reuse,
//! concurrent attempts, a process killed between the commit and the answer,
//! a paused database.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{binary, free_port, spawn_app, spawn_app_with, ExpenseBody, TestApp, User};

/// A keyed request's status, `Idempotent-Replayed`, raw body and JSON body.
struct Keyed {
    status: StatusCode,
    replayed: bool,
    text: String,
    json: Value,
}

async fn keyed(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    key: HeaderValue,
    body: Option<Value>,
) -> Result<Keyed, reqwest::Error> {
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .header("Idempotency-Key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status();
    let replayed = match res.headers().get("idempotent-replayed") {
        None => false,
        Some(v) => {
            assert_eq!(v, "true");
            true
        }
    };
    let text = res.text().await?;
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Keyed {
        status,
        replayed,
        text,
        json,
    })
}

impl TestApp {
    async fn keyed(
        &self,
        method: Method,
        path: &str,
        who: &User,
        key: &str,
        body: Option<Value>,
    ) -> Keyed {
        let key = HeaderValue::from_str(key).expect("a header value");
        keyed(
            &self.client,
            &self.address,
            method,
            path,
            &who.token,
            key,
            body,
        )
        .await
        .expect("an answer")
    }

    /// How many expenses `who` takes part in.
    async fn expense_count(&self, who: &User) -> u64 {
        let (status, res) = self.get("/v1/expenses", &who.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["pagination"]["total"].as_u64().expect("a total")
    }
}

fn lunch(al: &User, bo: &User) -> Value {
    ExpenseBody::new("Lunch", 30)
        .split(al, 15)
        .split(bo, 15)
        .json()
}

#[tokio::test]
async fn eight_concurrent_requests_with_one_key_create_one_expense() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let body = lunch(&al, &bo);
    let attempts = (0..8).map(|_| {
        app.keyed(
            Method::POST,
            "/v1/expenses",
            &al,
            "concurrent-1",
            Some(body.clone()),
        )
    });
    let answers = futures_util::future::join_all(attempts).await;

    // The others waited for the first one's answer and got it again.
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert_eq!(
            a.text, answers[0].text,
            "every attempt gets the same answer"
        );
    }
    let fresh = answers.iter().filter(|a| !a.replayed).count();
    assert_eq!(fresh, 1, "one attempt did the work, the others are replays");
    assert_eq!(app.expense_count(&al).await, 1);
    crate::helpers::assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn a_replay_returns_the_same_status_and_body_without_doing_the_work_again() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let body = lunch(&al, &bo);
    let first = app
        .keyed(Method::POST, "/v1/expenses", &al, "k-1", Some(body.clone()))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(!first.replayed);
    let again = app
        .keyed(Method::POST, "/v1/expenses", &al, "k-1", Some(body))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed);
    assert_eq!(again.text, first.text);
    assert_eq!(app.expense_count(&al).await, 1);

    // A 4xx is an answer too: kept and replayed.
    let bad = json!({"description": "No amount", "splitWith": []});
    let refused = app
        .keyed(Method::POST, "/v1/expenses", &al, "k-2", Some(bad.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let refused_again = app
        .keyed(Method::POST, "/v1/expenses", &al, "k-2", Some(bad))
        .await;
    assert_eq!(refused_again.status, StatusCode::BAD_REQUEST);
    assert!(refused_again.replayed);
    assert_eq!(refused_again.text, refused.text);

    // A settle replayed: the same answer, not "already settled".
    let id = first.json["data"]["_id"].as_str().expect("id").to_owned();
    let path = format!("/v1/expenses/{id}/settle");
    let settled = app
        .keyed(Method::PATCH, &path, &bo, "settle-1", Some(json!({})))
        .await;
    assert_eq!(settled.status, StatusCode::OK, "{}", settled.text);
    let settled_again = app
        .keyed(Method::PATCH, &path, &bo, "settle-1", Some(json!({})))
        .await;
    assert_eq!(settled_again.status, StatusCode::OK);
    assert!(settled_again.replayed);
    assert_eq!(settled_again.text, settled.text);
    // Without the key, the same request really runs again, and is refused.
    let (status, res) = app.patch(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
}

#[tokio::test]
async fn the_same_key_with_another_body_or_route_is_422() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let first = app
        .keyed(
            Method::POST,
            "/v1/expenses",
            &al,
            "k",
            Some(lunch(&al, &bo)),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);

    let other_body = ExpenseBody::new("Dinner", 40).split(&al, 20).split(&bo, 20);
    let other_route = json!({"to": bo.id, "amount": 10});
    let id = first.json["data"]["_id"].as_str().expect("id").to_owned();
    let cases = [
        (
            Method::POST,
            "/v1/expenses".to_owned(),
            Some(other_body.json()),
        ),
        (Method::POST, "/v1/payments".to_owned(), Some(other_route)),
        (Method::DELETE, format!("/v1/expenses/{id}"), None),
    ];
    for (method, path, body) in cases {
        let reused = app.keyed(method.clone(), &path, &al, "k", body).await;
        assert_eq!(
            reused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}: {}",
            reused.text
        );
        assert_eq!(reused.json["success"], false);
        assert_eq!(reused.json["code"], "IDEMPOTENCY_KEY_REUSED");
        assert!(!reused.replayed);
    }
    // Nothing of those ran: the expense is still there, alone.
    assert_eq!(app.expense_count(&al).await, 1);
    let (status, _) = app.get(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_keys_are_400_and_do_nothing() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let long = "k".repeat(256);
    let cases: Vec<(&str, HeaderValue)> = vec![
        ("empty", HeaderValue::from_static("")),
        ("256 characters", HeaderValue::from_str(&long).unwrap()),
        ("a space", HeaderValue::from_static("two words")),
        ("a tab", HeaderValue::from_static("tab\there")),
        (
            "non-ASCII",
            HeaderValue::from_bytes("café".as_bytes()).unwrap(),
        ),
    ];
    for (what, key) in cases {
        let res = keyed(
            &app.client,
            &app.address,
            Method::POST,
            "/v1/expenses",
            &al.token,
            key,
            Some(lunch(&al, &bo)),
        )
        .await
        .expect("an answer");
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{what}: {}", res.text);
        assert_eq!(res.json["code"], "INVALID_IDEMPOTENCY_KEY", "{what}");
        assert_eq!(res.json["success"], false, "{what}");
    }
    assert_eq!(app.expense_count(&al).await, 0);
    // The longest key is fine.
    let ok = app
        .keyed(
            Method::POST,
            "/v1/expenses",
            &al,
            &"k".repeat(255),
            Some(lunch(&al, &bo)),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

#[tokio::test]
async fn another_users_key_is_independent() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let body = lunch(&al, &bo);
    let by_al = app
        .keyed(
            Method::POST,
            "/v1/expenses",
            &al,
            "shared",
            Some(body.clone()),
        )
        .await;
    let by_bo = app
        .keyed(Method::POST, "/v1/expenses", &bo, "shared", Some(body))
        .await;
    assert_eq!(by_al.status, StatusCode::CREATED, "{}", by_al.text);
    assert_eq!(by_bo.status, StatusCode::CREATED, "{}", by_bo.text);
    assert!(!by_bo.replayed, "Bo's key is his own");
    assert_ne!(by_al.json["data"]["_id"], by_bo.json["data"]["_id"]);
    assert_eq!(app.expense_count(&al).await, 2);
}

/// The real binary on `db`, in the test environment; with the fault hook,
/// it aborts after a keyed change commits, before answering.
fn start_binary(port: u16, db: &str, fault: bool) -> Child {
    let mut command = binary("test");
    command
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("MONGO_URL", crate::helpers::db_uri())
        .env("APP__DATABASE__NAME", db)
        .env("APP__RATE_LIMIT__ENABLED", "false")
        // A short lease (twice the deadline) for the retry after the crash.
        .env("APP__DATABASE__REQUEST_DEADLINE_MS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if fault {
        command.env("SPLITLYR_FAULT_ABORT_AFTER_COMMIT", "1");
    }
    command.spawn().expect("binary starts")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = client.get(format!("{base}/v1/healthz")).send().await {
            if res.status() == StatusCode::OK {
                return;
            }
        }
        assert!(Instant::now() < deadline, "binary did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_retry_after_the_server_died_between_commit_and_answer_does_not_redo_the_work() {
    // Users made through an in-process server; the write through the real
    // binary on the same database, which dies (SIGABRT) right after the
    // commit; the retry through a restarted binary.
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let db = app.settings.database.name.clone();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_binary(port, &db, true);
    wait_healthy(&app.client, &base).await;

    let key = HeaderValue::from_static("crash-1");
    let body = lunch(&al, &bo);
    let lost = keyed(
        &app.client,
        &base,
        Method::POST,
        "/v1/expenses",
        &al.token,
        key.clone(),
        Some(body.clone()),
    )
    .await;
    assert!(lost.is_err(), "the process died before answering");
    let exit = child.wait().expect("the process ends");
    assert!(!exit.success(), "it was killed: {exit:?}");
    assert_eq!(app.expense_count(&al).await, 1, "the change committed");

    // The restarted process: the key is held until the dead attempt's lease
    // runs out (409 meanwhile), then the retry learns the outcome.
    let mut restarted = start_binary(port, &db, false);
    wait_healthy(&app.client, &base).await;
    let until = Instant::now() + Duration::from_secs(20);
    let retry = loop {
        let r = keyed(
            &app.client,
            &base,
            Method::POST,
            "/v1/expenses",
            &al.token,
            key.clone(),
            Some(body.clone()),
        )
        .await
        .expect("an answer");
        if r.status != StatusCode::CONFLICT || Instant::now() > until {
            break r;
        }
        assert_eq!(r.json["code"], "IDEMPOTENCY_KEY_IN_USE", "{}", r.text);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let _ = restarted.kill();
    let _ = restarted.wait();
    // The real outcome: created (201), and the expense as it is now.
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
    assert!(retry.replayed);
    assert_eq!(retry.json["success"], true);
    assert_eq!(retry.json["event"], "expense.created", "{}", retry.text);
    assert_eq!(
        retry.json["data"]["description"], body["description"],
        "{}",
        retry.text
    );
    assert_eq!(
        app.expense_count(&al).await,
        1,
        "the work was not done again"
    );
}

/// A SecantusDB of the test's own, to pause with SIGSTOP.
struct PausableDatabase {
    child: Child,
    port: u16,
}

impl PausableDatabase {
    async fn start() -> Self {
        let bin = std::env::var("SPLITLYR_SECANTUSD").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/secantusd-py").into()
        });
        let port = free_port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--storage-path", ":memory:", "--log-level", "ERROR"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("SecantusDB starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "SecantusDB did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, port }
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }
}

impl Drop for PausableDatabase {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn past_the_deadline_a_write_is_503_outcome_unknown_and_a_retry_learns_the_outcome() {
    let db = PausableDatabase::start().await;
    let app = spawn_app_with(|s| {
        s.database.uri = db.uri().into();
        s.database.request_deadline_ms = 1000;
        // Longer than the deadline: the deadline, not server selection, ends the wait.
        s.database.server_selection_timeout_ms = 30_000;
    })
    .await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let body = lunch(&al, &bo);

    db.signal("-STOP");
    let started = Instant::now();
    let cut = app
        .keyed(
            Method::POST,
            "/v1/expenses",
            &al,
            "paused-1",
            Some(body.clone()),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(cut.status, StatusCode::SERVICE_UNAVAILABLE, "{}", cut.text);
    assert_eq!(cut.json["code"], "OUTCOME_UNKNOWN");
    assert_eq!(cut.json["success"], false);
    assert!(
        took < Duration::from_secs(3),
        "answered at the deadline ({took:?})"
    );
    // A read is cut at the deadline too.
    let (status, res) = app.get("/v1/users/profile", &al.token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{res}");
    db.signal("-CONT");

    // The retry finds the truth: nothing had been done, so it is done now
    // (once the first attempt's lease, twice the deadline, has run out).
    let until = Instant::now() + Duration::from_secs(20);
    let retry = loop {
        let r = app
            .keyed(
                Method::POST,
                "/v1/expenses",
                &al,
                "paused-1",
                Some(body.clone()),
            )
            .await;
        let waiting = r.status == StatusCode::CONFLICT
            && r.json["code"] == "IDEMPOTENCY_KEY_IN_USE"
            || r.status == StatusCode::SERVICE_UNAVAILABLE;
        if !waiting || Instant::now() > until {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.text);
    assert!(!retry.replayed);
    let again = app
        .keyed(Method::POST, "/v1/expenses", &al, "paused-1", Some(body))
        .await;
    assert!(again.replayed);
    assert_eq!(again.text, retry.text);
    assert_eq!(app.expense_count(&al).await, 1);
}
