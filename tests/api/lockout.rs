//! The login lockout that a stranger cannot use against an account: failures
//! lock the pair (email, client), the email across clients is only slowed,
//! and locked far later; a 429 carries the longest wait that applies.
//! Other clients are other loopback addresses (127.0.0.2, ...): the server
//! sees them as the peer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use splitlyr::configuration::Settings;

use crate::helpers::{error_message, spawn_app_with, TestApp, User};

/// An HTTP client whose connections come from `ip` (a loopback address).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("an address"))
        .build()
        .expect("http client")
}

struct Attempt {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
    took: Duration,
}

async fn login(app: &TestApp, from: &reqwest::Client, email: &str, password: &str) -> Attempt {
    let started = Instant::now();
    let res = from
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login is sent");
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = res.json().await.expect("a JSON body");
    Attempt {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

/// A server with the lockout on, whose per-client limit stays out of the way
/// unless `tweak` says otherwise: three failures lock a pair for a minute.
/// Al and Bo are registered.
async fn lockout_app(tweak: impl FnOnce(&mut Settings)) -> (TestApp, User, User) {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1000;
        s.rate_limit.login_max_failures = 3;
        s.rate_limit.login_lockout_seconds = 60;
        tweak(s);
    })
    .await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    (app, al, bo)
}

/// `n` logins of `email` with a wrong password from `from`: each a 401.
async fn fail(app: &TestApp, from: &reqwest::Client, email: &str, n: usize) -> Vec<Duration> {
    let mut took = Vec::new();
    for attempt in 0..n {
        let a = login(app, from, email, "wrong-password").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "#{attempt}: {}", a.body);
        took.push(a.took);
    }
    took
}

#[tokio::test]
async fn a_strangers_failures_lock_only_that_client_and_the_owner_still_logs_in() {
    let (app, al, _) = lockout_app(|_| {}).await;
    let owner = client_from("127.0.0.1");
    let stranger = client_from("127.0.0.2");

    fail(&app, &stranger, &al.email, 3).await;
    // That pair is locked, even with the right password.
    let a = login(&app, &stranger, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!((1..=60).contains(&a.retry_after.expect("Retry-After")));
    assert!(error_message(&a.body).contains("Too many failed login attempts"));

    // The owner, from another client, is not.
    let a = login(&app, &owner, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    fail(&app, &owner, &al.email, 1).await;
    // And the owner's success did not unlock the stranger.
    let a = login(&app, &stranger, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
}

#[tokio::test]
async fn failures_from_many_clients_slow_the_email_then_lock_it() {
    let step = Duration::from_millis(600);
    let (app, al, bo) = lockout_app(|s| {
        s.rate_limit.login_email_slow_after = 4;
        s.rate_limit.login_email_delay_ms = 600;
        s.rate_limit.login_email_delay_max_ms = 1200;
        s.rate_limit.login_email_max_failures = 8;
        s.rate_limit.login_email_lockout_seconds = 120;
    })
    .await;
    let owner = client_from("127.0.0.1");
    let clients: Vec<reqwest::Client> = (2..=5)
        .map(|i| client_from(&format!("127.0.0.{i}")))
        .collect();

    // Two failures from each of two clients: no pair is locked, no delay yet.
    for client in &clients[..2] {
        let took = fail(&app, client, &al.email, 2).await;
        assert!(took.iter().all(|t| *t < step), "delayed: {took:?}");
    }
    // Four failures for the email: from now on every attempt waits, the
    // owner's too, but the owner gets in.
    let a = login(&app, &owner, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.took >= step, "the owner was not slowed: {:?}", a.took);
    // The delay grows, up to its maximum.
    let mut waits = Vec::new();
    for client in &clients[2..] {
        waits.extend(fail(&app, client, &al.email, 2).await);
    }
    assert!(waits[0] >= step && waits[1] >= 2 * step, "{waits:?}");
    assert!(waits[3] < 3 * step, "the delay has a maximum: {waits:?}");
    // Eight failures: the email is locked for every client, the owner too,
    // for the email's lock, whatever the pair's.
    let a = login(&app, &owner, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    let wait = a.retry_after.expect("Retry-After");
    assert!((110..=120).contains(&wait), "Retry-After {wait}");
    // Another email from the same clients is not affected.
    let a = login(&app, &clients[0], &bo.email, &bo.password).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn a_429_carries_the_longest_wait_that_applies() {
    let (app, al, bo) = lockout_app(|s| {
        s.rate_limit.auth_burst = 3;
        s.rate_limit.auth_period_ms = 2000;
    })
    .await;
    let stranger = client_from("127.0.0.2");
    fail(&app, &stranger, &al.email, 3).await;
    // Both the client's /v1/auth limit (2 s) and the lock of the pair (60 s)
    // refuse the next attempt: the answer says to wait for the longer.
    let a = login(&app, &stranger, &al.email, &al.password).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    let wait = a.retry_after.expect("Retry-After");
    assert!((58..=60).contains(&wait), "Retry-After {wait}");
    // Where no lock applies, the client's limit alone.
    let a = login(&app, &stranger, &bo.email, &bo.password).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    let wait = a.retry_after.expect("Retry-After");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(error_message(&a.body).contains("Too many requests"));
}
