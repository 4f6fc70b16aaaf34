//! Sessions: refresh tokens that rotate, reuse detection, logout and
//! revocation that reaches other server processes.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    error_message, spawn_app, spawn_app_with, spawn_two_processes, TestApp, User,
};

/// What login (and refresh) hand out.
#[derive(Debug, Clone, PartialEq)]
struct Pair {
    token: String,
    refresh: String,
    session: String,
}

impl Pair {
    fn of(body: &Value) -> Self {
        let data = &body["data"];
        Self {
            token: data["token"].as_str().expect("token").to_owned(),
            refresh: data["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_owned(),
            session: data["sessionId"].as_str().expect("sessionId").to_owned(),
        }
    }
}

async fn login(app: &TestApp, user: &User, device: Option<&str>) -> Pair {
    let mut body = json!({ "email": user.email, "password": user.password });
    if let Some(d) = device {
        body["device"] = d.into();
    }
    let (status, res) = app
        .call(Method::POST, "/v1/auth/login", None, Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    Pair::of(&res)
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({ "refreshToken": token })),
    )
    .await
}

/// Refreshes with `token`, which must work: the new pair.
async fn rotated(app: &TestApp, token: &str) -> Pair {
    let (status, body) = refresh(app, token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Pair::of(&body)
}

async fn profile_status(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.get("/v1/users/profile", token).await
}

fn assert_ended(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "SESSION_REVOKED", "{body}");
}

#[tokio::test]
async fn login_and_register_add_a_refresh_token_and_the_old_flow_is_unchanged() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({ "name": "Al", "email": "al@example.com", "password": "secret-pass" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    assert_eq!(data["expiresIn"], 2 * 86_400, "today's 2-day access token");
    let refresh_token = data["refreshToken"].as_str().unwrap();
    assert_eq!(refresh_token.len(), 32 + 1 + 43, "{refresh_token}");
    // The old app: log in, use the token, never refresh.
    let res = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("user-agent", "Splitlyr/1.4 (iPhone; iOS 17)")
        .json(&json!({ "email": "al@example.com", "password": "secret-pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let login: Value = res.json().await.unwrap();
    let pair = Pair::of(&login);
    assert_eq!(login["data"]["user"]["email"], "al@example.com");
    let (status, _) = profile_status(&app, &pair.token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = app.get("/v1/auth/sessions", &pair.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list["data"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    let mine = list.iter().find(|s| s["current"] == true).expect("current");
    assert_eq!(mine["id"], pair.session.as_str());
    assert_eq!(mine["device"], "Splitlyr/1.4 (iPhone; iOS 17)");
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains(&pair.refresh[33..]) && !text.contains("hash"),
        "{text}"
    );
}

#[tokio::test]
async fn refresh_rotates_and_an_old_token_ends_the_whole_family() {
    let app = spawn_app_with(|s| s.sessions.reuse_grace_seconds = 0).await;
    let al = app.user("Al").await;
    let first = login(&app, &al, Some("Pixel 8")).await;

    let second = rotated(&app, &first.refresh).await;
    assert_eq!(second.session, first.session);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(profile_status(&app, &second.token).await.0, StatusCode::OK);
    let third = rotated(&app, &second.refresh).await;

    // The first token again: someone else has the family. All of it ends.
    let (status, body) = refresh(&app, &first.refresh).await;
    assert_ended(status, &body);
    let (status, body) = refresh(&app, &third.refresh).await;
    assert_ended(status, &body);
    let (status, body) = profile_status(&app, &third.token).await;
    assert_ended(status, &body);
    // Another session of the same user is untouched.
    let other = login(&app, &al, None).await;
    assert_eq!(profile_status(&app, &other.token).await.0, StatusCode::OK);

    let (status, body) = refresh(&app, "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "INVALID_REFRESH_TOKEN");
    let (status, body) = app
        .call(Method::POST, "/v1/auth/refresh", None, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let unknown = format!("{}.{}", "a".repeat(32), "b".repeat(43));
    let (status, body) = refresh(&app, &unknown).await;
    assert_ended(status, &body);
}

#[tokio::test]
async fn a_retried_refresh_within_the_grace_window_gets_the_same_pair() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let first = login(&app, &al, None).await;
    // A phone retrying: the same token twice at once, then once more.
    let (a, b) = tokio::join!(refresh(&app, &first.refresh), refresh(&app, &first.refresh));
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    assert_eq!(b.0, StatusCode::OK, "{}", b.1);
    assert_eq!(Pair::of(&a.1), Pair::of(&b.1));
    let (status, again) = refresh(&app, &first.refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Pair::of(&again), Pair::of(&a.1));
    // The new token works and moves on; then the first one is too old.
    let (status, body) = refresh(&app, &Pair::of(&a.1).refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = refresh(&app, &first.refresh).await;
    assert_ended(status, &body);
}

#[tokio::test]
async fn logout_logout_all_and_ending_one_session() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let phone = login(&app, &al, Some("Phone")).await;
    let tablet = login(&app, &al, Some("Tablet")).await;
    let laptop = login(&app, &al, Some("Laptop")).await;
    let bos = login(&app, &bo, None).await;

    // Someone else's session is not found.
    let path = format!("/v1/auth/sessions/{}", bos.session);
    assert_eq!(app.delete(&path, &al.token).await.0, StatusCode::NOT_FOUND);
    assert_eq!(profile_status(&app, &bos.token).await.0, StatusCode::OK);
    // The lost tablet, from the phone.
    let path = format!("/v1/auth/sessions/{}", tablet.session);
    let (status, body) = app.delete(&path, &phone.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.delete(&path, &phone.token).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = profile_status(&app, &tablet.token).await;
    assert_ended(status, &body);
    assert_ended_refresh(&app, &tablet.refresh).await;

    let (status, _) = app
        .call(Method::POST, "/v1/auth/logout", Some(&laptop.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = profile_status(&app, &laptop.token).await;
    assert_ended(status, &body);
    let (_, list) = app.get("/v1/auth/sessions", &phone.token).await;
    let devices: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["device"].as_str().unwrap())
        .collect();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices.contains(&"Phone"), "{devices:?}");

    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/logout-all",
            Some(&phone.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["sessionsEnded"], 2);
    for token in [&phone.token, &al.token] {
        let (status, body) = profile_status(&app, token).await;
        assert_ended(status, &body);
    }
    assert_eq!(profile_status(&app, &bos.token).await.0, StatusCode::OK);
}

async fn assert_ended_refresh(app: &TestApp, token: &str) {
    let (status, body) = refresh(app, token).await;
    assert_ended(status, &body);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_deactivation_all() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let here = login(&app, &al, Some("Here")).await;
    let lost = login(&app, &al, Some("Lost phone")).await;
    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &here.token,
            json!({ "currentPassword": al.password, "newPassword": "another-pass" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["sessionsEnded"], 2,
        "the lost phone and the registration"
    );
    assert_eq!(profile_status(&app, &here.token).await.0, StatusCode::OK);
    let (status, body) = profile_status(&app, &lost.token).await;
    assert_ended(status, &body);
    assert_ended_refresh(&app, &lost.refresh).await;
    let (status, body) = refresh(&app, &here.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let now = Pair::of(&body);

    let (status, _) = app.delete("/v1/users/deactivate-user", &now.token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = profile_status(&app, &now.token).await;
    assert_ended(status, &body);
    assert_ended_refresh(&app, &now.refresh).await;
}

#[tokio::test]
async fn the_oldest_session_goes_when_a_user_has_too_many() {
    let app = spawn_app_with(|s| s.sessions.max_per_user = 2).await;
    let al = app.user("Al").await;
    let second = login(&app, &al, Some("Second")).await;
    let third = login(&app, &al, Some("Third")).await;
    // The registration's session was the least recently used.
    let (status, body) = profile_status(&app, &al.token).await;
    assert_ended(status, &body);
    for pair in [&second, &third] {
        assert_eq!(profile_status(&app, &pair.token).await.0, StatusCode::OK);
    }
    let (_, list) = app.get("/v1/auth/sessions", &third.token).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_revoked_session_is_refused_by_another_server_process_within_the_bound() {
    let (app, replica) = spawn_two_processes(1).await;
    let al = app.user("Al").await;
    let pair = login(&app, &al, None).await;
    // The replica has the session cached as live.
    assert_eq!(
        profile_status(&replica, &pair.token).await.0,
        StatusCode::OK
    );
    let (status, _) = app
        .call(Method::POST, "/v1/auth/logout", Some(&pair.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = replica
        .refused_within(
            "/v1/users/profile",
            &pair.token,
            Instant::now(),
            Duration::from_secs(1),
        )
        .await;
    assert_eq!(body["code"], "SESSION_REVOKED", "{body}");
    assert_eq!(
        error_message(&refresh(&replica, &pair.refresh).await.1),
        "This session has ended: log in again"
    );
}

/// A server that allows two refreshes per session, then one a minute.
async fn two_refreshes_a_minute() -> TestApp {
    spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.sessions.refresh_burst = 2;
        s.sessions.refresh_period_ms = 60_000;
    })
    .await
}

#[tokio::test]
async fn refreshes_are_limited_per_session() {
    let app = two_refreshes_a_minute().await;
    let al = app.user("Al").await;
    let mut pair = login(&app, &al, None).await;
    for _ in 0..2 {
        let (status, body) = refresh(&app, &pair.refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pair = Pair::of(&body);
    }
    let (status, body) = refresh(&app, &pair.refresh).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // Another session is not held back, and the refused token still works later.
    let other = login(&app, &al, None).await;
    assert_eq!(refresh(&app, &other.refresh).await.0, StatusCode::OK);
}

/// The victim's refresh token with its key kept and a made-up secret.
fn forged(refresh_token: &str) -> String {
    let (key, _) = refresh_token.split_once('.').expect("<key>.<secret>");
    format!("{key}.{}", "x".repeat(43))
}

#[tokio::test]
async fn a_forged_refresh_secret_is_refused_and_ends_nothing() {
    let app = spawn_app_with(|s| s.sessions.reuse_grace_seconds = 0).await;
    let al = app.user("Al").await;
    let first = login(&app, &al, Some("Phone")).await;
    let victim = rotated(&app, &first.refresh).await;

    // Someone who learnt the key (it is in logs) but not the secret.
    for _ in 0..3 {
        let (status, body) = refresh(&app, &forged(&victim.refresh)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "INVALID_REFRESH_TOKEN", "{body}");
    }
    // The victim goes on as if nothing happened.
    assert_eq!(profile_status(&app, &victim.token).await.0, StatusCode::OK);
    let latest = rotated(&app, &victim.refresh).await;
    assert_eq!(profile_status(&app, &latest.token).await.0, StatusCode::OK);

    // A token the session really had, two rotations ago: the family ends.
    let (status, body) = refresh(&app, &first.refresh).await;
    assert_ended(status, &body);
    assert_ended_refresh(&app, &latest.refresh).await;
    let (status, body) = profile_status(&app, &latest.token).await;
    assert_ended(status, &body);
}

#[tokio::test]
async fn forged_refreshes_do_not_use_up_the_sessions_refresh_limit() {
    let app = two_refreshes_a_minute().await;
    let al = app.user("Al").await;
    let pair = login(&app, &al, None).await;
    for _ in 0..4 {
        let (status, body) = refresh(&app, &forged(&pair.refresh)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = refresh(&app, &pair.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
