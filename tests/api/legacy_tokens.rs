//! Tokens without a session (`sid`), as the old server and the releases
//! before sessions issued them: they end at a logout-all, a password change
//! and a deactivation (on every replica within the status cache bound), and
//! a setting refuses them altogether once the switch-over is over.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, spawn_two_processes, TestApp, User};

/// A token without a session for `user`, signed the way the old server did
/// (`id`, `iat`, `exp`); `hours` apart gives different tokens.
fn legacy_token(app: &TestApp, user: &User, hours: u64) -> String {
    let keys = splitlyr::auth::JwtKeys::new(
        app.settings.jwt.secret.as_ref().unwrap(),
        app.settings.jwt.expires_in,
    );
    let exp = splitlyr::auth::jwt::now_secs() + hours * 3600;
    keys.issue_without_session(user.id.parse().unwrap(), exp)
        .expect("token")
}

async fn profile_status(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.get("/v1/users/profile", token).await
}

/// Logs in: a token with a session.
async fn login(app: &TestApp, user: &User, password: &str) -> String {
    let (status, body) = app.login(&user.email, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["token"].as_str().expect("token").to_owned()
}

fn assert_refused(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["success"], false, "{body}");
}

#[tokio::test]
async fn legacy_tokens_end_at_logout_all_and_later_ones_work() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let old = legacy_token(&app, &al, 24);
    let bos = legacy_token(&app, &bo, 24);
    assert_eq!(profile_status(&app, &old).await.0, StatusCode::OK);

    let (status, body) = app
        .call(Method::POST, "/v1/auth/logout-all", Some(&al.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = profile_status(&app, &old).await;
    assert_refused(status, &body);
    // Someone else's token is untouched.
    assert_eq!(profile_status(&app, &bos).await.0, StatusCode::OK);
    // A cut, not a ban: a token issued after it (in a later second) works.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = legacy_token(&app, &al, 24);
    assert_eq!(profile_status(&app, &later).await.0, StatusCode::OK);

    // A legacy caller's logout-all ends its own token too.
    let (status, body) = app
        .call(Method::POST, "/v1/auth/logout-all", Some(&later), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = profile_status(&app, &later).await;
    assert_refused(status, &body);
}

#[tokio::test]
async fn a_password_change_ends_the_other_legacy_tokens() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let stolen = legacy_token(&app, &al, 24);
    let here = login(&app, &al, &al.password).await;
    assert_eq!(profile_status(&app, &stolen).await.0, StatusCode::OK);

    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &here,
            json!({ "currentPassword": al.password, "newPassword": "another-pass" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = profile_status(&app, &stolen).await;
    assert_refused(status, &body);
    // The caller's own session goes on (checked by session, not by `iat`),
    // and so does a login right after, in the same second.
    assert_eq!(profile_status(&app, &here).await.0, StatusCode::OK);
    let fresh = login(&app, &al, "another-pass").await;
    assert_eq!(profile_status(&app, &fresh).await.0, StatusCode::OK);

    // A caller holding a legacy token (issued after that cut, in a later
    // second) keeps it; the other legacy tokens end.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mine = legacy_token(&app, &al, 24);
    let theirs = legacy_token(&app, &al, 25);
    assert_eq!(profile_status(&app, &theirs).await.0, StatusCode::OK);
    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &mine,
            json!({ "currentPassword": "another-pass", "newPassword": "third-pass" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(profile_status(&app, &mine).await.0, StatusCode::OK);
    let (status, body) = profile_status(&app, &theirs).await;
    assert_refused(status, &body);
}

#[tokio::test]
async fn deactivation_ends_legacy_tokens_even_if_the_account_is_reactivated() {
    let app = spawn_app_with(|s| s.auth.status_cache_seconds = 0).await;
    let al = app.user("Al").await;
    let old = legacy_token(&app, &al, 24);
    let (status, body) = app.delete("/v1/users/deactivate-user", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = profile_status(&app, &old).await;
    assert_refused(status, &body);
    // An operator turns the account back on by hand: the tokens from before
    // stay ended.
    let id = mongodb::bson::oid::ObjectId::parse_str(&al.id).unwrap();
    app.store()
        .await
        .database()
        .collection::<mongodb::bson::Document>("users")
        .update_one(
            mongodb::bson::doc! { "_id": id },
            mongodb::bson::doc! { "$set": { "isActive": true } },
        )
        .await
        .unwrap();
    let (status, body) = profile_status(&app, &old).await;
    assert_refused(status, &body);
}

#[tokio::test]
async fn another_server_process_refuses_an_ended_legacy_token_within_the_bound() {
    let (app, replica) = spawn_two_processes(1).await;
    let al = app.user("Al").await;
    let old = legacy_token(&app, &al, 24);
    // Both processes have the account cached as fine for this token.
    assert_eq!(profile_status(&replica, &old).await.0, StatusCode::OK);
    assert_eq!(profile_status(&app, &old).await.0, StatusCode::OK);

    let (status, body) = app
        .call(Method::POST, "/v1/auth/logout-all", Some(&al.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ended = Instant::now();
    // The process that served it refuses at once, the other within the bound.
    let (status, body) = profile_status(&app, &old).await;
    assert_refused(status, &body);
    let body = replica
        .refused_within("/v1/users/profile", &old, ended, Duration::from_secs(1))
        .await;
    assert_refused(StatusCode::UNAUTHORIZED, &body);
}

#[tokio::test]
async fn legacy_tokens_can_be_refused_altogether() {
    let app = spawn_app_with(|s| s.auth.accept_legacy_tokens = false).await;
    let al = app.user("Al").await;
    let old = legacy_token(&app, &al, 24);
    let (status, body) = profile_status(&app, &old).await;
    assert_refused(status, &body);
    assert_eq!(body["code"], "LEGACY_TOKEN_REFUSED", "{body}");
    // Tokens with a session are unaffected.
    assert_eq!(profile_status(&app, &al.token).await.0, StatusCode::OK);
}
