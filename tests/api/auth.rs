use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_auth_field_error, error_message, keys, spawn_app};

/// The configured `jwt.expires_in` (`2d`).
const TWO_DAYS: std::time::Duration = std::time::Duration::from_secs(2 * 86_400);

#[tokio::test]
async fn register_returns_user_and_working_token() {
    let app = spawn_app().await;
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"name": " Al ", "email": " Al@Example.COM ", "password": "secret1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    let user = &body["data"]["user"];
    assert_eq!(user["email"], "al@example.com");
    assert_eq!(user["name"], "Al");
    assert_eq!(user["role"], "user");
    assert_eq!(user["isActive"], true);
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(user["id"].as_str().unwrap().len(), 24);
    assert!(user.get("password").is_none());
    let token = body["data"]["token"].as_str().unwrap();
    let (status, profile) = app.get("/v1/users/profile", token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["data"]["email"], "al@example.com");
    assert!(profile["data"].get("password").is_none());
}

#[tokio::test]
async fn duplicate_email_is_400() {
    let app = spawn_app().await;
    app.user("Al").await;
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"name": "Other", "email": "AL@example.com", "password": "secret1"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_message(&body), "User already exists with this email");
}

#[tokio::test]
async fn register_validation_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"email": "a@example.com", "password": "secret1"}),
            "name",
        ),
        (json!({"name": "A", "password": "secret1"}), "email"),
        (
            json!({"name": "A", "email": "not-an-email", "password": "secret1"}),
            "email",
        ),
        (json!({"name": "A", "email": "a@example.com"}), "password"),
        (
            json!({"name": "A", "email": "a@example.com", "password": "12345"}),
            "password",
        ),
        (
            json!({"name": "x".repeat(51), "email": "a@example.com", "password": "secret1"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, res) = app
            .call(Method::POST, "/v1/auth/register", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert_auth_field_error(&res, field);
    }
}

#[tokio::test]
async fn auth_validation_errors_are_keyed_by_field_for_the_sign_in_screen() {
    let app = spawn_app().await;
    let (status, res) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"name": "Al", "email": "al@example.com", "password": "12345"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        res,
        json!({
            "success": false,
            "message": "Password must be at least 6 characters",
            "errors": {"password": ["Password must be at least 6 characters"]},
        })
    );

    // Every failing field is a key, with its messages.
    let (status, res) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"email": "nope", "password": "123"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(keys(&res["errors"]), ["email", "name", "password"], "{res}");
    assert_eq!(
        assert_auth_field_error(&res, "name"),
        ["Name is required"],
        "{res}"
    );

    let (status, res) = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"password": "secret1"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(res["errors"], json!({"email": ["Email is required"]}));
    assert_eq!(error_message(&res), "Email is required");

    // Other screens keep the list of {field, message}.
    let al = app.user("Al").await;
    let (status, res) = app
        .patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": al.password, "newPassword": "123"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        res["errors"],
        json!([{"field": "newPassword", "message": "Password must be at least 6 characters"}])
    );
}

#[tokio::test]
async fn operator_injection_and_wrong_types_are_400_not_500() {
    let app = spawn_app().await;
    app.user("Al").await;
    let bodies = [
        json!({"email": {"$gt": ""}, "password": {"$gt": ""}}),
        json!({"email": ["al@example.com"], "password": "secret-pass"}),
        json!({"email": 12, "password": true}),
    ];
    for body in bodies {
        let (status, res) = app
            .call(Method::POST, "/v1/auth/login", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        error_message(&res);
    }
    // Not JSON at all.
    let res = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app().await;
    let big = "x".repeat(70 * 1024);
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/auth/register",
            None,
            Some(json!({"name": big, "email": "a@example.com", "password": "secret1"})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn login_succeeds_and_rejects_bad_credentials_alike() {
    let app = spawn_app().await;
    let user = app.user("Al").await;
    let (status, body) = app.login("AL@example.com", &user.password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["id"], user.id.as_str());
    assert!(body["data"]["user"]["lastLogin"].is_string());
    assert!(body["data"]["token"].is_string());

    let (s1, wrong_pw) = app.login("al@example.com", "nope-nope").await;
    let (s2, unknown) = app.login("ghost@example.com", "nope-nope").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(error_message(&wrong_pw), "Invalid credentials");
    assert_eq!(error_message(&unknown), "Invalid credentials");
}

#[tokio::test]
async fn protected_routes_require_a_valid_token() {
    let app = spawn_app().await;
    let user = app.user("Al").await;
    let (status, body) = app.call(Method::GET, "/v1/users/profile", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&body), "No token provided");

    let (status, body) = app.get("/v1/users/profile", "garbage.token.here").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&body), "Invalid token");

    // Same claims, signed with another secret.
    let forged = splitlyr::auth::JwtKeys::new(
        &"another-secret-another-secret-00".to_string().into(),
        TWO_DAYS,
    )
    .issue(
        user.id.parse().unwrap(),
        &"0".repeat(32),
        splitlyr::auth::jwt::now_secs(),
    )
    .unwrap();
    let (status, body) = app.get("/v1/users/profile", &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&body), "Invalid token");

    let keys = splitlyr::auth::JwtKeys::new(app.settings.jwt.secret.as_ref().unwrap(), TWO_DAYS);
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60;
    let expired = keys
        .issue_without_session(user.id.parse().unwrap(), past)
        .unwrap();
    let (status, body) = app.get("/v1/users/profile", &expired).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&body), "Token expired");
}

#[tokio::test]
async fn deactivated_account_is_refused() {
    let app = spawn_app().await;
    let user = app.user("Al").await;
    let (status, _) = app.delete("/v1/users/deactivate-user", &user.token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/v1/users/profile", &user.token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app.login(&user.email, &user.password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "ACCOUNT_DEACTIVATED");
}
