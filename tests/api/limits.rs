//! Limits on what unauthenticated clients can make the server hold or do:
//! metric label sets, per-client rate limits outside `/v1`, `Retry-After`,
//! the per-account login lockout, CORS refusals.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, error_message, keys, spawn_app, spawn_app_with, TestApp};

/// A method name nobody registered, different on every call.
fn random_method() -> Method {
    let name = format!("X{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    Method::from_bytes(name.as_bytes()).expect("a token is a valid method")
}

/// The `http_*` series of `/metrics` (one line per series and bucket).
async fn http_series(app: &TestApp) -> Vec<String> {
    let text = app.metrics_text().await;
    text.lines()
        .filter(|l| l.starts_with("http_"))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(series, _)| series)
                .to_string()
        })
        .collect()
}

/// Random methods on a known route and on unknown paths, `n` of each.
async fn send_junk(app: &TestApp, n: usize) {
    for _ in 0..n {
        let unknown = format!("/{}", uuid::Uuid::new_v4().simple());
        let unknown_v1 = format!("/v1/{}", uuid::Uuid::new_v4().simple());
        for path in ["/v1/healthz", unknown.as_str(), unknown_v1.as_str()] {
            let res = app
                .client
                .request(random_method(), app.url(path))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
        }
        app.client.get(app.url(&unknown)).send().await.unwrap();
    }
}

#[tokio::test]
async fn metric_series_do_not_grow_with_what_clients_send() {
    let app = spawn_app().await;
    // Every kind of request once, and one scrape so /metrics counts itself.
    send_junk(&app, 3).await;
    http_series(&app).await;
    let baseline = http_series(&app).await;

    send_junk(&app, 200).await;
    let after = http_series(&app).await;

    assert_eq!(
        after.len(),
        baseline.len(),
        "new series: {:?}",
        after
            .iter()
            .filter(|s| !baseline.contains(s))
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(after.iter().any(|s| s.contains(r#"method="other""#)));
    assert!(after.iter().any(|s| s.contains(r#"route="unmatched""#)));
    assert!(!after.iter().any(|s| s.contains("method=\"X")));
}

/// Sends what `send` builds until it is refused; returns the refusal.
async fn until_429(send: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    for _ in 0..1000 {
        let res = send().send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return res;
        }
    }
    panic!("never rate limited");
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A refill of 400 ms: the wait is well under a second, so a Retry-After
/// rounded down (0) or to the nearest second (0) fails, and sleeping the
/// rounded-up second is all the test waits (a longer period would only add
/// sleep).
#[tokio::test]
async fn retry_after_is_rounded_up_and_waiting_that_long_is_enough() {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.general_burst = 1;
        s.rate_limit.general_period_ms = 400;
    })
    .await;
    let send = || app.client.get(app.url("/v1/users/profile"));
    for round in 0..2 {
        let refused = until_429(send).await;
        let wait = retry_after(&refused);
        assert!((1..=2).contains(&wait), "round {round}: Retry-After {wait}");
        let body: Value = refused.json().await.unwrap();
        assert!(error_message(&body).contains("Too many requests"));
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let res = send().send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "round {round}: still refused after waiting Retry-After: {wait}"
        );
    }
}

#[tokio::test]
async fn paths_outside_v1_are_rate_limited_per_client() {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.other_burst = 5;
        s.rate_limit.other_period_ms = 60_000;
    })
    .await;
    for path in ["/", "/wp-login.php", "/metrics"] {
        let refused = until_429(|| app.client.get(app.url(path))).await;
        assert!(retry_after(&refused) >= 1);
        assert!(refused.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = refused.json().await.unwrap();
        error_message(&body);
    }
    // The API has a bucket of its own.
    let (status, _) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let login = json!({"email": "ghost@example.com", "password": "whatever"});
    let (status, _) = app
        .call(Method::POST, "/v1/auth/login", None, Some(login))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A server whose per-client limits stay out of the way of the login
/// lockout: three failures lock an email for `lockout_secs`.
async fn lockout_app(lockout_secs: u64) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1000;
        s.rate_limit.login_max_failures = 3;
        s.rate_limit.login_lockout_seconds = lockout_secs;
        s.rate_limit.login_lockout_max_seconds = 600;
    })
    .await
}

/// Logs in; returns the status, `Retry-After` and the body.
async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<u64>, Value) {
    let res = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, res.json().await.unwrap())
}

#[tokio::test]
async fn failed_logins_lock_an_email_alike_whether_it_has_an_account() {
    let app = lockout_app(60).await;
    let [al, bo] = app.users(["Al", "Bo"]).await;

    let mut refusals = Vec::new();
    for email in [" AL@Example.com", "ghost@example.com"] {
        for attempt in 0..3 {
            let (status, retry, body) = login(&app, email, "wrong-password").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{email} #{attempt}");
            assert_eq!(retry, None);
            assert_eq!(error_message(&body), "Invalid credentials");
        }
        let (status, retry, body) = login(&app, email, "wrong-password").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{email}: {body}");
        let retry = retry.expect("Retry-After");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        refusals.push(body);
    }
    // Nothing tells a locked account from a locked unknown email.
    assert_eq!(refusals[0], refusals[1]);
    assert_eq!(keys(&refusals[0]), ["message", "success"]);
    assert!(error_message(&refusals[0]).contains("Too many failed login attempts"));

    // The right password does not open a locked email.
    let (status, _, body) = login(&app, &al.email, &al.password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body, refusals[0]);
    // The lock is per email (and client): another account still logs in.
    let (status, _, body) = login(&app, &bo.email, &bo.password).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Shared by replicas through the database, forgotten by a TTL index.
    let indexes = app
        .store()
        .await
        .database()
        .collection::<mongodb::bson::Document>("loginfailures")
        .list_index_names()
        .await
        .unwrap();
    assert!(indexes.contains(&"expiresAt_1".to_string()), "{indexes:?}");
}

#[tokio::test]
async fn a_successful_login_forgets_earlier_failures() {
    let app = lockout_app(60).await;
    let al = app.user("Al").await;
    for round in 0..3 {
        for _ in 0..2 {
            let (status, _, _) = login(&app, &al.email, "wrong-password").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "round {round}");
        }
        let (status, _, body) = login(&app, &al.email, &al.password).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
    }
}

#[tokio::test]
async fn a_lock_ends_after_retry_after_and_grows_with_further_failures() {
    let app = lockout_app(1).await;
    let al = app.user("Al").await;
    for _ in 0..3 {
        login(&app, &al.email, "wrong-password").await;
    }
    let (status, retry, _) = login(&app, &al.email, &al.password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry, Some(1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // One more failure after the lock: locked again, twice as long.
    let (status, _, _) = login(&app, &al.email, "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, retry, _) = login(&app, &al.email, &al.password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry = retry.unwrap();
    assert_eq!(retry, 2);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let (status, _, body) = login(&app, &al.email, &al.password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_refused_cors_preflight_answers_in_the_envelope() {
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://app.splitlyr.example".into()];
    })
    .await;
    let cases = [
        ("https://evil.example", "POST", "content-type"),
        ("https://app.splitlyr.example", "TRACE", "content-type"),
        ("https://app.splitlyr.example", "POST", "x-secret-header"),
    ];
    for (origin, method, headers) in cases {
        let res = app
            .client
            .request(Method::OPTIONS, app.url("/v1/expenses"))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
            .await
            .unwrap();
        let case = format!("{origin} {method} {headers}");
        assert!(res.status().is_client_error(), "{case}: {}", res.status());
        assert!(res.headers().get("access-control-allow-origin").is_none());
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{case}"
        );
        let body: Value = res.json().await.unwrap();
        assert!(!error_message(&body).is_empty(), "{case}");
    }
}

#[tokio::test]
async fn names_made_of_invisible_characters_are_refused_like_empty_ones() {
    let app = spawn_app().await;
    let blanks = ["\u{200B}", "\u{2060}\u{FEFF}", " \u{200B} \u{00AD} "];
    for blank in blanks {
        let (status, body) = app
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"name": blank, "email": "al@example.com", "password": "secret1"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{blank:?}: {body}");
    }
    let al = app.user("Al").await;
    for blank in blanks {
        let (status, body) = app
            .patch("/v1/users/profile", &al.token, json!({"name": blank}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{blank:?}: {body}");
        let (status, body) = app
            .post("/v1/groups", &al.token, json!({"name": blank}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{blank:?}: {body}");
        assert_field_error(&body, "name");
        let (status, body) = app
            .post(
                "/v1/users/friends",
                &al.token,
                json!({"friends": [{"name": blank, "email": "bo@example.com"}]}),
            )
            .await;
        assert!(
            status == StatusCode::BAD_REQUEST || body["data"][0]["success"] == false,
            "{blank:?}: {status} {body}"
        );
        let (status, body) = app
            .post(
                "/v1/expenses",
                &al.token,
                json!({"description": blank, "amount": 10, "splitWith": [{"user": al.id, "amount": 10}]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{blank:?}: {body}");
        assert_field_error(&body, "description");
    }
    let (status, body) = app
        .post("/v1/groups", &al.token, json!({"name": "Trip \u{200B}"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
