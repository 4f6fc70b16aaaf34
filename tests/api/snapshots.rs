//! The JSON the shipping app reads, pinned: each test drives a realistic flow
//! through HTTP against the real database and snapshots every answer (status
//! and body) with insta. What changes from run to run is replaced by
//! placeholders first: ids the flow knows by the name it gave them (`[al]`,
//! `[trip]`), other ObjectIds as `[oid]`, dates the server stamped as
//! `[date]`, tokens as `[jwt]` / `[refresh]`. Dates a test sent stay as sent.
//!
//! A missing or changed snapshot fails (scripts/test.sh and CI set
//! `INSTA_UPDATE=no`). After a deliberate change of a response: run
//! `INSTA_UPDATE=always scripts/test.sh --test api -- snapshots`, read the
//! diff of `tests/api/snapshots/`, commit it.

use std::sync::LazyLock;

use regex::Regex;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, User};
use crate::samples::{jpeg, photo};

static JWT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^eyJ[\w-]*\.[\w-]+\.[\w-]+$").expect("regex"));
static REFRESH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-f]{32}\.[\w-]{43}$").expect("regex"));
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$").expect("regex")
});
static OID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{24}\b").expect("regex"));
static CURRENCY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Z]{3}$").expect("regex"));
static HEX32: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{32}\b").expect("regex"));

/// Snapshots of one flow: the placeholders for the values it knows.
struct Snaps {
    /// (value, placeholder), looked up in order.
    names: Vec<(String, String)>,
}

impl Snaps {
    fn new() -> Self {
        Self { names: Vec::new() }
    }

    /// `value` (an id, a date, a session) is shown as `placeholder`.
    fn name(&mut self, value: impl Into<String>, placeholder: &str) {
        self.names.push((value.into(), format!("[{placeholder}]")));
    }

    /// A date the test sent: kept as it is.
    fn keep(&mut self, value: &str) {
        self.names.push((value.to_owned(), value.to_owned()));
    }

    /// A user's id as `[al]` (the lower-cased name).
    fn user(&mut self, user: &User) {
        self.name(&user.id, &user.name.to_lowercase());
    }

    fn known(&self, text: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(value, _)| value == text)
            .map(|(_, placeholder)| placeholder.as_str())
    }

    fn redact_str(&self, text: &str) -> String {
        if let Some(placeholder) = self.known(text) {
            return placeholder.to_owned();
        }
        if JWT.is_match(text) {
            return "[jwt]".into();
        }
        if REFRESH.is_match(text) {
            return "[refresh]".into();
        }
        if DATE.is_match(text) {
            return "[date]".into();
        }
        // Ids inside text (picture URLs, messages), each by its name.
        let text = OID.replace_all(text, |c: &regex::Captures| {
            self.known(&c[0]).unwrap_or("[oid]").to_owned()
        });
        HEX32
            .replace_all(&text, |c: &regex::Captures| {
                self.known(&c[0]).unwrap_or("[hex]").to_owned()
            })
            .into_owned()
    }

    fn redact(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact_str(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact(v)).collect()),
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map
                    .iter()
                    .map(|(k, v)| (self.redact_str(k), self.redact(v)))
                    .collect();
                // Maps keyed by ids or currencies come in the server's hash
                // order: sorted, by placeholder. Documents keep their order.
                if map.keys().all(|k| OID.is_match(k) || CURRENCY.is_match(k)) {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                let mut out = Map::new();
                for (key, v) in entries {
                    assert!(
                        !out.contains_key(&key),
                        "two keys redact to {key}: name the values ({value})"
                    );
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// Snapshots an answer as `{status, body}`; returns the body unredacted.
    fn check(&self, name: &str, (status, body): (StatusCode, Value)) -> Value {
        let shown = json!({ "status": status.as_u16(), "body": self.redact(&body) });
        insta::assert_json_snapshot!(name, shown);
        body
    }
}

fn id(body: &Value) -> String {
    body["data"]["_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no data._id: {body}"))
        .to_owned()
}

async fn anonymous(app: &TestApp, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    app.call(method, path, None, Some(body)).await
}

#[tokio::test]
async fn snapshots_of_auth_and_sessions() {
    let app = spawn_app().await;
    let mut s = Snaps::new();

    let register = json!({"name": "Al", "email": " AL@Example.com ", "password": "secret-pass"});
    let answer = anonymous(&app, Method::POST, "/v1/auth/register", register.clone()).await;
    let body = answer.1.clone();
    let al = User {
        id: body["data"]["user"]["id"].as_str().unwrap().to_owned(),
        token: body["data"]["token"].as_str().unwrap().to_owned(),
        email: "al@example.com".into(),
        password: "secret-pass".into(),
        name: "Al".into(),
    };
    s.user(&al);
    let register_session = body["data"]["sessionId"].as_str().expect("sessionId");
    s.name(register_session, "register-session");
    s.check("auth_register", answer);
    s.check(
        "auth_register_duplicate_400",
        anonymous(&app, Method::POST, "/v1/auth/register", register).await,
    );
    s.check(
        "auth_register_validation_400",
        anonymous(
            &app,
            Method::POST,
            "/v1/auth/register",
            json!({"name": "", "email": "not-an-email", "password": "123"}),
        )
        .await,
    );

    let res = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("user-agent", "Splitlyr/1.4 (iPhone; iOS 17)")
        .json(&json!({"email": "al@example.com", "password": "secret-pass"}))
        .send()
        .await
        .unwrap();
    let answer = (res.status(), res.json::<Value>().await.unwrap());
    s.name(
        answer.1["data"]["sessionId"].as_str().unwrap(),
        "phone-session",
    );
    let login = s.check("auth_login", answer);
    s.check(
        "auth_login_bad_credentials_401",
        anonymous(
            &app,
            Method::POST,
            "/v1/auth/login",
            json!({"email": "al@example.com", "password": "wrong-pass"}),
        )
        .await,
    );

    let refresh = json!({"refreshToken": login["data"]["refreshToken"]});
    let rotated = s.check(
        "auth_refresh",
        anonymous(&app, Method::POST, "/v1/auth/refresh", refresh).await,
    );
    let phone_after = rotated["data"]["token"].as_str().unwrap().to_owned();
    s.check(
        "auth_refresh_unknown_401",
        anonymous(
            &app,
            Method::POST,
            "/v1/auth/refresh",
            json!({"refreshToken": format!("{}.{}", "0".repeat(32), "A".repeat(43))}),
        )
        .await,
    );

    s.check(
        "auth_sessions",
        app.get("/v1/auth/sessions", &phone_after).await,
    );
    s.check(
        "auth_session_end",
        app.delete(
            &format!("/v1/auth/sessions/{register_session}"),
            &phone_after,
        )
        .await,
    );
    s.check(
        "auth_no_token_401",
        app.call(Method::GET, "/v1/users/profile", None, None).await,
    );
    s.check(
        "auth_invalid_token_401",
        app.get("/v1/users/profile", "not-a-token").await,
    );
    s.check(
        "auth_ended_session_401",
        app.get("/v1/users/profile", &al.token).await,
    );
    s.check(
        "auth_logout",
        app.call(Method::POST, "/v1/auth/logout", Some(&phone_after), None)
            .await,
    );

    let again = app.login(&al.email, &al.password).await;
    let token = again.1["data"]["token"].as_str().unwrap().to_owned();
    s.check(
        "auth_logout_all",
        app.call(Method::POST, "/v1/auth/logout-all", Some(&token), None)
            .await,
    );
}

#[tokio::test]
async fn snapshots_of_users_and_friends() {
    let app = spawn_app().await;
    let mut s = Snaps::new();
    let [al, bo, cy] = app.users(["Al", "Bo", "Cy"]).await;
    for u in [&al, &bo, &cy] {
        s.user(u);
    }

    s.check(
        "users_profile",
        app.get("/v1/users/profile", &al.token).await,
    );
    s.check(
        "users_profile_update",
        app.patch(
            "/v1/users/profile",
            &al.token,
            json!({"name": "Al Smith", "phoneNumber": "+15550100"}),
        )
        .await,
    );
    s.check(
        "users_profile_update_empty_400",
        app.patch("/v1/users/profile", &al.token, json!({})).await,
    );
    s.check(
        "users_change_password",
        app.patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": "secret-pass", "newPassword": "secret-pass-2"}),
        )
        .await,
    );
    s.check(
        "users_change_password_wrong_400",
        app.patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": "nope-nope", "newPassword": "secret-pass-3"}),
        )
        .await,
    );
    s.check(
        "users_search",
        app.get("/v1/users?userId=EXAMPLE&page=1&limit=1", &al.token)
            .await,
    );
    s.check(
        "users_search_bo",
        app.get("/v1/users?userId=bo", &al.token).await,
    );
    s.check(
        "users_search_none",
        app.get("/v1/users?userId=zz-nobody", &al.token).await,
    );
    s.check(
        "users_search_short_400",
        app.get("/v1/users?userId=b", &al.token).await,
    );

    // Al adds Bo (a request), a stranger by email (pending) and himself.
    s.check(
        "friends_add",
        app.post(
            "/v1/users/friends",
            &al.token,
            json!({"friends": [
                {"name": "Bo", "email": "bo@example.com"},
                {"name": "Dee", "email": "dee@example.com", "phoneNumber": "+15550199"},
                {"name": "Me", "email": "al@example.com"},
            ]}),
        )
        .await,
    );
    s.check(
        "friends_add_invalid_400",
        app.post(
            "/v1/users/friends",
            &al.token,
            json!({"friends": [{"name": "Nobody"}]}),
        )
        .await,
    );
    let list = app.get("/v1/users/friends", &al.token).await;
    let pending = list.1["data"]["pendingFriends"][0]["_id"].as_str();
    s.name(pending.expect("Dee is pending"), "dee-pending");
    s.check("friends_list_requester", list);
    s.check(
        "friends_list_requested",
        app.get("/v1/users/friends", &bo.token).await,
    );
    s.check(
        "friends_accept",
        app.post(
            &format!("/v1/users/friends/{}/accept", al.id),
            &bo.token,
            json!({}),
        )
        .await,
    );
    app.request_friend(&cy, &al).await;
    s.check(
        "friends_decline",
        app.post(
            &format!("/v1/users/friends/{}/decline", cy.id),
            &al.token,
            json!({}),
        )
        .await,
    );
    s.check(
        "friends_list",
        app.get("/v1/users/friends", &al.token).await,
    );

    app.expense(
        &al,
        json!({"description": "Lunch", "amount": 30, "date": "2024-03-15T12:00:00.000Z",
               "splitWith": [{"user": al.id, "amount": 15}, {"user": bo.id, "amount": 15}]}),
    )
    .await;
    s.check(
        "friends_balance",
        app.get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
            .await,
    );
    s.check(
        "friends_balance_other_side",
        app.get(&format!("/v1/users/friends/{}/balance", al.id), &bo.token)
            .await,
    );
    s.check(
        "friends_balance_not_friend_400",
        app.get(&format!("/v1/users/friends/{}/balance", cy.id), &al.token)
            .await,
    );
    s.check(
        "users_balances",
        app.get("/v1/users/balances", &al.token).await,
    );
    s.check(
        "users_balances_owing",
        app.get("/v1/users/balances", &bo.token).await,
    );

    s.check(
        "blocks_add",
        app.post("/v1/users/blocks", &al.token, json!({"userId": cy.id}))
            .await,
    );
    s.check("blocks_list", app.get("/v1/users/blocks", &al.token).await);
    s.check(
        "blocks_remove",
        app.delete(&format!("/v1/users/blocks/{}", cy.id), &al.token)
            .await,
    );

    s.check(
        "friends_remove",
        app.delete(&format!("/v1/users/friends/{}", bo.id), &al.token)
            .await,
    );
    s.check(
        "friends_remove_unknown_404",
        app.delete("/v1/users/friends/0123456789abcdef01234567", &al.token)
            .await,
    );
    s.check(
        "friends_remove_malformed_400",
        app.delete("/v1/users/friends/nope", &al.token).await,
    );

    s.check(
        "users_deactivate",
        app.delete("/v1/users/deactivate-user", &cy.token).await,
    );
    s.check(
        "auth_login_deactivated_401",
        anonymous(
            &app,
            Method::POST,
            "/v1/auth/login",
            json!({"email": cy.email, "password": cy.password}),
        )
        .await,
    );
}

#[tokio::test]
async fn snapshots_of_groups() {
    let app = spawn_app().await;
    let mut s = Snaps::new();
    let (al, bo) = app.friends("Al", "Bo").await;
    let [cy, dee] = app.users(["Cy", "Dee"]).await;
    for u in [&al, &bo, &cy, &dee] {
        s.user(u);
    }

    let created = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "Trip", "description": "Lisbon in May", "members": [bo.id]}),
        )
        .await;
    let gid = id(&created.1);
    s.name(&gid, "trip");
    s.check("groups_create", created);
    s.check(
        "groups_create_validation_400",
        app.post(
            "/v1/groups",
            &al.token,
            json!({"name": "", "description": "x".repeat(501)}),
        )
        .await,
    );
    let base = format!("/v1/groups/{gid}");
    s.check("groups_list", app.get("/v1/groups", &al.token).await);
    s.check("groups_get", app.get(&base, &bo.token).await);
    s.check("groups_get_not_member_403", app.get(&base, &cy.token).await);
    s.check(
        "groups_get_unknown_404",
        app.get("/v1/groups/0123456789abcdef01234567", &al.token)
            .await,
    );
    s.check(
        "groups_get_malformed_400",
        app.get("/v1/groups/nope", &al.token).await,
    );
    s.check(
        "groups_update",
        app.put(
            &base,
            &bo.token,
            json!({"name": "Lisbon trip", "version": 1}),
        )
        .await,
    );
    s.check(
        "groups_update_stale_409",
        app.put(
            &base,
            &al.token,
            json!({"description": "Porto", "version": 1}),
        )
        .await,
    );
    s.check(
        "groups_members_add",
        app.post(
            &format!("{base}/members"),
            &al.token,
            json!({"memberEmail": cy.email, "role": "member"}),
        )
        .await,
    );
    s.check(
        "groups_members_add_unknown_404",
        app.post(
            &format!("{base}/members"),
            &al.token,
            json!({"memberEmail": "ghost@example.com"}),
        )
        .await,
    );
    s.check(
        "groups_members_add_again_400",
        app.post(
            &format!("{base}/members"),
            &al.token,
            json!({"memberEmail": cy.email}),
        )
        .await,
    );
    s.check(
        "groups_members_role",
        app.patch(
            &format!("{base}/members/{}", cy.id),
            &al.token,
            json!({"role": "admin"}),
        )
        .await,
    );
    app.post(
        &format!("{base}/members"),
        &al.token,
        json!({"memberEmail": dee.email}),
    )
    .await;
    s.check(
        "groups_members_remove",
        app.delete(&format!("{base}/members/{}", dee.id), &cy.token)
            .await,
    );
    s.check(
        "groups_members_remove_not_admin_403",
        app.delete(&format!("{base}/members/{}", cy.id), &bo.token)
            .await,
    );
    s.check(
        "groups_delete_not_admin_403",
        app.delete(&base, &bo.token).await,
    );
    s.check(
        "groups_leave",
        app.delete(&format!("{base}/leave"), &bo.token).await,
    );
    s.check(
        "groups_leave_not_member_400",
        app.delete(&format!("{base}/leave"), &bo.token).await,
    );
    s.check("groups_delete", app.delete(&base, &cy.token).await);
    s.check("groups_get_deleted_404", app.get(&base, &al.token).await);
}

#[tokio::test]
async fn snapshots_of_expenses_balances_and_payments() {
    let app = spawn_app().await;
    let mut s = Snaps::new();
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let dee = app.user("Dee").await;
    for u in [&al, &bo, &cy, &dee] {
        s.user(u);
    }
    for date in [
        "2024-03-15T12:00:00.000Z",
        "2024-03-16T00:00:00.000Z",
        "2024-03-17T19:30:00.000Z",
        "2024-03-18T09:00:00.000Z",
    ] {
        s.keep(date);
    }
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;
    s.name(&gid, "trip");

    let dinner = app
        .post(
            "/v1/expenses",
            &al.token,
            json!({
                "description": "Dinner", "amount": 100, "currency": "USD",
                "category": "Food & Dining", "date": "2024-03-15T12:00:00.000Z",
                "notes": "birthday",
                "splitWith": [
                    {"user": al.id, "amount": 33.333333333333336},
                    {"user": bo.id, "amount": 33.333333333333336},
                    {"user": cy.id, "amount": 33.333333333333336},
                ],
            }),
        )
        .await;
    let dinner_id = id(&dinner.1);
    s.name(&dinner_id, "dinner");
    s.check("expenses_create", dinner);
    s.check(
        "expenses_create_split_mismatch_400",
        app.post(
            "/v1/expenses",
            &al.token,
            json!({"description": "Taxi", "amount": 20,
                   "splitWith": [{"user": al.id, "amount": 10}, {"user": bo.id, "amount": 5}]}),
        )
        .await,
    );
    s.check(
        "expenses_create_validation_400",
        app.post(
            "/v1/expenses",
            &al.token,
            json!({"description": "", "amount": -5, "currency": "dollars", "splitWith": []}),
        )
        .await,
    );
    s.check(
        "expenses_create_not_friend_400",
        app.post(
            "/v1/expenses",
            &al.token,
            json!({"description": "Taxi", "amount": 20,
                   "splitWith": [{"user": al.id, "amount": 10}, {"user": dee.id, "amount": 10}]}),
        )
        .await,
    );
    let taxi = app
        .post(
            "/v1/expenses",
            &al.token,
            json!({"description": "Taxi", "amount": "12.345", "paidBy": bo.id,
               "category": "transport", "date": "2024-03-16T00:00:00.000Z",
               "splitWith": [{"user": al.id, "amount": 6.17}, {"user": bo.id, "amount": 6.17}]}),
        )
        .await;
    let taxi_id = id(&taxi.1);
    s.name(&taxi_id, "taxi");
    s.check("expenses_create_paid_by_friend", taxi);
    let hotel = app
        .post(
            "/v1/expenses",
            &bo.token,
            json!({"description": "Hotel", "amount": 300, "currency": "EUR",
            "category": "travel", "date": "2024-03-17T19:30:00.000Z", "groupId": gid,
            "splitWith": [
                {"user": al.id, "amount": 100},
                {"user": bo.id, "amount": 100},
                {"user": cy.id, "amount": 100},
            ]}),
        )
        .await;
    let hotel_id = id(&hotel.1);
    s.name(&hotel_id, "hotel");
    s.check("expenses_create_in_group", hotel);

    s.check(
        "expenses_list",
        app.get("/v1/expenses?page=1&limit=10", &al.token).await,
    );
    s.check(
        "expenses_list_page_2",
        app.get("/v1/expenses?page=2&limit=2", &al.token).await,
    );
    s.check(
        "expenses_list_with_friend",
        app.get(&format!("/v1/expenses?friendId={}", bo.id), &al.token)
            .await,
    );
    let path = format!("/v1/expenses/{dinner_id}");
    s.check("expenses_get", app.get(&path, &bo.token).await);
    s.check(
        "expenses_get_stranger_403",
        app.get(&path, &dee.token).await,
    );
    s.check(
        "expenses_get_unknown_404",
        app.get("/v1/expenses/0123456789abcdef01234567", &al.token)
            .await,
    );
    s.check(
        "expenses_get_malformed_400",
        app.get("/v1/expenses/nope", &al.token).await,
    );
    s.check(
        "expenses_update",
        app.put(
            &path,
            &al.token,
            json!({"description": "Birthday dinner", "amount": 90, "version": 1,
            "splitWith": [
                {"user": al.id, "amount": 30},
                {"user": bo.id, "amount": 30},
                {"user": cy.id, "amount": 30},
            ]}),
        )
        .await,
    );
    s.check(
        "expenses_update_stale_409",
        app.put(&path, &al.token, json!({"notes": "late", "version": 1}))
            .await,
    );
    s.check(
        "expenses_update_not_creator_403",
        app.put(&path, &cy.token, json!({"notes": "mine"})).await,
    );
    s.check(
        "expenses_settle",
        app.patch(&format!("{path}/settle"), &bo.token, json!({}))
            .await,
    );
    s.check(
        "expenses_settle_again_400",
        app.patch(&format!("{path}/settle"), &bo.token, json!({}))
            .await,
    );
    s.check(
        "expenses_group",
        app.get(&format!("/v1/expenses/group/{gid}"), &cy.token)
            .await,
    );
    s.check(
        "expenses_group_not_member_403",
        app.get(&format!("/v1/expenses/group/{gid}"), &dee.token)
            .await,
    );
    s.check(
        "expenses_group_balance",
        app.get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
            .await,
    );
    s.check(
        "balances_user",
        app.get("/v1/users/balances", &al.token).await,
    );
    s.check(
        "balances_friend",
        app.get(&format!("/v1/users/friends/{}/balance", cy.id), &al.token)
            .await,
    );
    s.check(
        "settle_up_mine",
        app.get("/v1/users/settle-up", &al.token).await,
    );
    s.check(
        "settle_up_group",
        app.get(&format!("/v1/groups/{gid}/settle-up"), &al.token)
            .await,
    );

    let payment = app
        .post(
            "/v1/payments",
            &cy.token,
            json!({"to": al.id, "amount": 10, "note": "cash",
               "date": "2024-03-18T09:00:00.000Z"}),
        )
        .await;
    let payment_id = id(&payment.1);
    s.name(&payment_id, "payment");
    s.check("payments_create", payment);
    let pid = payment_id;
    s.check(
        "payments_create_validation_400",
        app.post(
            "/v1/payments",
            &cy.token,
            json!({"to": al.id, "amount": -1}),
        )
        .await,
    );
    s.check("payments_list", app.get("/v1/payments", &al.token).await);
    let ppath = format!("/v1/payments/{pid}");
    s.check("payments_get", app.get(&ppath, &al.token).await);
    s.check(
        "payments_update",
        app.put(&ppath, &cy.token, json!({"amount": 12})).await,
    );
    s.check(
        "payments_update_not_recorder_403",
        app.put(&ppath, &al.token, json!({"amount": 1})).await,
    );
    s.check("payments_delete", app.delete(&ppath, &cy.token).await);
    s.check("payments_get_deleted_404", app.get(&ppath, &cy.token).await);

    s.check(
        "expenses_delete",
        app.delete(&format!("/v1/expenses/{taxi_id}"), &bo.token)
            .await,
    );
}

#[tokio::test]
async fn snapshots_of_pictures() {
    let app = spawn_app().await;
    let mut s = Snaps::new();
    let (al, bo) = app.friends("Al", "Bo").await;
    s.user(&al);
    s.user(&bo);
    let small = jpeg(&photo(64, 48), None);
    let res = app
        .client
        .put(app.url("/v1/users/profile/image"))
        .bearer_auth(&al.token)
        .header("content-type", "image/jpeg")
        .body(small.clone())
        .send()
        .await
        .unwrap();
    let body = s.check(
        "pictures_profile_put",
        (res.status(), res.json::<Value>().await.unwrap()),
    );
    assert!(body["data"]["profileImage"].is_string(), "{body}");
    s.check(
        "pictures_profile_in_profile",
        app.get("/v1/users/profile", &al.token).await,
    );
    s.check(
        "pictures_profile_delete",
        app.delete("/v1/users/profile/image", &al.token).await,
    );
    let expense = app
        .expense(
            &al,
            json!({"description": "Dinner", "amount": 40, "date": "2024-03-15T12:00:00.000Z",
                   "splitWith": [{"user": al.id, "amount": 20}, {"user": bo.id, "amount": 20}]}),
        )
        .await;
    s.keep("2024-03-15T12:00:00.000Z");
    let eid = expense["_id"].as_str().unwrap().to_owned();
    s.name(&eid, "dinner");
    let res = app
        .client
        .put(app.url(&format!("/v1/expenses/{eid}/receipt")))
        .bearer_auth(&al.token)
        .header("content-type", "image/jpeg")
        .body(small)
        .send()
        .await
        .unwrap();
    s.check(
        "pictures_receipt_put",
        (res.status(), res.json::<Value>().await.unwrap()),
    );
    let res = app
        .client
        .put(app.url("/v1/users/profile/image"))
        .bearer_auth(&al.token)
        .header("content-type", "image/jpeg")
        .body(b"not a picture".to_vec())
        .send()
        .await
        .unwrap();
    s.check(
        "pictures_not_a_picture_415",
        (
            res.status(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        ),
    );
}

#[tokio::test]
async fn snapshots_of_health_and_errors_outside_routes() {
    let app = spawn_app().await;
    let s = Snaps::new();
    let (status, body) = app.call(Method::GET, "/v1/healthz", None, None).await;
    let shown = json!({ "status": status.as_u16(), "body": s.redact(&body) });
    insta::assert_json_snapshot!("health_public", shown, {
        // The release's version, whatever it is.
        ".body.data.version" => "[version]",
    });
    s.check(
        "unknown_route_404",
        app.call(Method::GET, "/v1/nothing-here", None, None).await,
    );
    s.check(
        "contact_validation_400",
        anonymous(
            &app,
            Method::POST,
            "/v1/contact",
            json!({"firstName": "Al", "email": "nope", "subject": "gossip"}),
        )
        .await,
    );
    s.check(
        "contact",
        anonymous(
            &app,
            Method::POST,
            "/v1/contact",
            json!({"firstName": "Al", "lastName": "Smith", "email": "al@example.com",
                   "subject": "support", "message": "The app is lovely."}),
        )
        .await,
    );

    // The per-client limit of /v1/auth (not the general one: the helpers
    // poll /v1/healthz until the server is up).
    let limited = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1;
        s.rate_limit.auth_period_ms = 60_000;
    })
    .await;
    let login = json!({"email": "ghost@example.com", "password": "whatever"});
    let first = anonymous(&limited, Method::POST, "/v1/auth/login", login.clone()).await;
    assert_eq!(first.0, StatusCode::UNAUTHORIZED, "{}", first.1);
    s.check(
        "rate_limited_429",
        anonymous(&limited, Method::POST, "/v1/auth/login", login).await,
    );

    // The login lockout: one failure locks the email.
    let locking = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth_burst = 1000;
        s.rate_limit.login_max_failures = 1;
    })
    .await;
    let wrong = json!({"email": "ghost@example.com", "password": "wrong-pass"});
    let first = anonymous(&locking, Method::POST, "/v1/auth/login", wrong.clone()).await;
    assert_eq!(first.0, StatusCode::UNAUTHORIZED, "{}", first.1);
    s.check(
        "login_locked_429",
        anonymous(&locking, Method::POST, "/v1/auth/login", wrong).await,
    );
}
