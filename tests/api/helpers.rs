//! `spawn_app()` and small HTTP helpers shared by the API tests.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use splitlyr::configuration::{load, Environment, Settings};
use splitlyr::startup::Application;
use splitlyr::store::Store;

pub fn db_uri() -> String {
    std::env::var("SPLITLYR_TEST_DB_URI")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27217/?directConnection=true".into())
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The real `splitlyr` binary in `environment`, reading this repository's
/// config directory; the caller adds the rest of its environment.
pub fn binary(environment: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_splitlyr"));
    command.env("APP_ENVIRONMENT", environment).env(
        "APP_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
    );
    command
}

/// Test settings: config/test.toml, ports 0, a fresh database, rate limits off.
pub fn test_settings() -> Settings {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut s = load(&dir, Environment::Test).expect("test configuration loads");
    s.server.port = 0;
    s.server.host = "127.0.0.1".into();
    s.server.admin_port = 0;
    s.server.admin_host = "127.0.0.1".into();
    s.database.uri = db_uri().into();
    s.database.name = format!("test_{}", uuid::Uuid::new_v4().simple());
    s.rate_limit.enabled = false;
    s
}

pub struct TestApp {
    pub address: String,
    /// The admin listener (`/metrics`, the detailed `/v1/healthz`), when
    /// known.
    pub admin_address: Option<String>,
    pub client: reqwest::Client,
    pub settings: Settings,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server with settings adjusted by `tweak`.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    tweak(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let admin_address = Some(format!("http://127.0.0.1:{}", app.admin_port()));
    tokio::spawn(app.run_until_stopped());
    let app = TestApp {
        address,
        admin_address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
        settings,
    };
    app.wait_until_healthy(Duration::from_secs(30)).await;
    app
}

/// Two server processes on one database, each caching the status of users
/// and sessions for `cache_seconds` (`auth.status_cache_seconds`).
pub async fn spawn_two_processes(cache_seconds: u64) -> (TestApp, TestApp) {
    let app = spawn_app_with(|s| s.auth.status_cache_seconds = cache_seconds).await;
    let name = app.settings.database.name.clone();
    let other = spawn_app_with(|s| {
        s.database.name = name;
        s.auth.status_cache_seconds = cache_seconds;
    })
    .await;
    (app, other)
}

/// A registered user: id, token, email and password.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub token: String,
    pub email: String,
    pub password: String,
    pub name: String,
}

impl TestApp {
    /// A store on the app's database, to arrange or inspect what HTTP cannot.
    pub async fn store(&self) -> Store {
        Store::connect(&self.settings.database, None)
            .await
            .expect("store connects")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// `path` on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        let admin = self.admin_address.as_deref().expect("the admin address");
        format!("{admin}{path}")
    }

    /// A GET on the admin listener: status and JSON body (Null when not JSON).
    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.client.get(self.admin_url(path)).send().await;
        let res = res.expect("the admin listener answers");
        let status = res.status();
        let text = res.text().await.expect("body is read");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Polls `/v1/healthz` until it answers 200 (the database is prepared:
    /// indexes, upgrade, ledger); true when it did within `limit`.
    pub async fn wait_until_healthy(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let res = self.client.get(self.url("/v1/healthz")).send().await;
            if res.is_ok_and(|r| r.status() == StatusCode::OK) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends a request; returns status and parsed JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request is sent");
        let status = res.status();
        let text = res.text().await.expect("body is read");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    pub async fn register(&self, name: &str, email: &str) -> User {
        let password = "secret-pass".to_string();
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({"name": name, "email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {email}: {body}");
        User {
            id: body["data"]["user"]["id"]
                .as_str()
                .expect("user id")
                .to_string(),
            token: body["data"]["token"].as_str().expect("token").to_string(),
            email: email.to_lowercase(),
            password,
            name: name.to_string(),
        }
    }

    /// Registers `name` as `<name>@example.com` (lower-cased).
    pub async fn user(&self, name: &str) -> User {
        let email = format!("{}@example.com", name.to_lowercase());
        self.register(name, &email).await
    }

    /// Registers each of `names` as `user` does, in order.
    pub async fn users<const N: usize>(&self, names: [&str; N]) -> [User; N] {
        let mut users = Vec::with_capacity(N);
        for name in names {
            users.push(self.user(name).await);
        }
        users.try_into().expect("one user per name")
    }

    /// Registers `name` with `email` and a phone number.
    pub async fn register_with_phone(&self, name: &str, email: &str, phone: &str) -> User {
        let password = "secret-pass".to_string();
        let body =
            json!({"name": name, "email": email, "password": password, "phoneNumber": phone});
        let (status, body) = self
            .call(Method::POST, "/v1/auth/register", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        User {
            id: body["data"]["user"]["id"].as_str().expect("id").to_string(),
            token: body["data"]["token"].as_str().expect("token").to_string(),
            email: email.to_lowercase(),
            password,
            name: name.to_string(),
        }
    }

    /// Logs in with `email` and `password`, without a token: status and body.
    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({"email": email, "password": password});
        self.call(Method::POST, "/v1/auth/login", None, Some(body))
            .await
    }

    /// `user`'s profile: the `data` of `GET /v1/users/profile`, which must be 200.
    pub async fn profile(&self, user: &User) -> Value {
        let (status, body) = self.get("/v1/users/profile", &user.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    /// Registers `a` and `b` and makes them friends.
    pub async fn friends(&self, a: &str, b: &str) -> (User, User) {
        let ua = self.user(a).await;
        let ub = self.user(b).await;
        self.befriend(&ua, &ub).await;
        (ua, ub)
    }

    /// Registers `names` (as `user` does); the first becomes a mutual friend
    /// of each of the others, who are not friends of one another.
    pub async fn with_friends<const N: usize>(&self, names: [&str; N]) -> [User; N] {
        let people = self.users(names).await;
        if let Some((first, others)) = people.split_first() {
            for other in others {
                self.befriend(first, other).await;
            }
        }
        people
    }

    /// Makes `a` and `b` mutual friends: `a` adds `b`, and `b` adds `a`
    /// back (which accepts).
    pub async fn befriend(&self, a: &User, b: &User) {
        self.request_friend(a, b).await;
        self.request_friend(b, a).await;
    }

    /// `a` adds `b` by email: a request, `outgoing` for `a` and `incoming`
    /// for `b` (or, when `b` had asked, acceptance).
    pub async fn request_friend(&self, a: &User, b: &User) {
        let (status, body) = self
            .post(
                "/v1/users/friends",
                &a.token,
                json!({"friends": [{"name": b.name, "email": b.email}]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"][0]["success"], true, "{body}");
    }

    /// Creates a group as `by` with `members` and returns its id.
    pub async fn group(&self, by: &User, name: &str, members: &[&User]) -> String {
        let member_ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let (status, res) = self
            .post(
                "/v1/groups",
                &by.token,
                json!({"name": name, "members": member_ids}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{res}");
        res["data"]["_id"].as_str().expect("group id").to_string()
    }

    /// `me`'s balance with `friend`: the `data` of the friend balance route.
    pub async fn friend_balance(&self, me: &User, friend: &User) -> Value {
        let path = format!("/v1/users/friends/{}/balance", friend.id);
        let (status, body) = self.get(&path, &me.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        body["data"].clone()
    }

    /// Asks for `path` with `token` until it is refused (401), which must
    /// happen within `bound` (plus 500 ms of slack) after `since`; the refusal.
    pub async fn refused_within(
        &self,
        path: &str,
        token: &str,
        since: Instant,
        bound: Duration,
    ) -> Value {
        loop {
            let (status, body) = self.get(path, token).await;
            if status == StatusCode::UNAUTHORIZED {
                return body;
            }
            assert_eq!(status, StatusCode::OK, "{body}");
            assert!(
                since.elapsed() <= bound + Duration::from_millis(500),
                "still served {:?} after it ended",
                since.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of `/metrics` on the admin listener.
    pub async fn admin_metrics_text(&self) -> String {
        self.text_of(self.admin_url("/metrics")).await
    }

    /// The text of `/metrics` on the public port.
    pub async fn metrics_text(&self) -> String {
        self.text_of(self.url("/metrics")).await
    }

    async fn text_of(&self, url: String) -> String {
        let res = self.client.get(url).send().await;
        res.expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// Creates an expense (a JSON body or an `ExpenseBody`) and returns its JSON.
    pub async fn expense(&self, by: &User, body: impl Into<Value>) -> Value {
        let (status, res) = self.post("/v1/expenses", &by.token, body.into()).await;
        assert_eq!(status, StatusCode::CREATED, "{res}");
        res["data"].clone()
    }

    /// `by` settles their share of `expense` (`PATCH .../settle` with `{}`),
    /// which must be 200; the expense.
    pub async fn settle(&self, by: &User, expense: &str) -> Value {
        let path = format!("/v1/expenses/{expense}/settle");
        let (status, res) = self.patch(&path, &by.token, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["data"].clone()
    }
}

/// The body of `POST /v1/expenses` the way the app sends it, paid by the
/// caller unless `paid_by` says otherwise:
/// `ExpenseBody::new("Lunch", 30).split(&al, 15).split(&bo, 15)`.
/// Amounts are what the JSON carries (`15`, `12.5`, `"12.50"`).
#[derive(Clone, Debug)]
pub struct ExpenseBody(Value);

impl ExpenseBody {
    pub fn new(description: &str, amount: impl Into<Value>) -> Self {
        Self(json!({"description": description, "amount": amount.into(), "splitWith": []}))
    }

    /// A share of `amount` for `user`.
    pub fn split(mut self, user: &User, amount: impl Into<Value>) -> Self {
        let share = json!({"user": user.id, "amount": amount.into()});
        self.0["splitWith"]
            .as_array_mut()
            .expect("splitWith is a list")
            .push(share);
        self
    }

    pub fn paid_by(self, user: &User) -> Self {
        self.with("paidBy", user.id.as_str())
    }

    /// Paid by the user with this id (a guest, say).
    pub fn paid_by_id(self, id: &str) -> Self {
        self.with("paidBy", id)
    }

    pub fn in_group(self, group_id: &str) -> Self {
        self.with("groupId", group_id)
    }

    /// Any other field (`currency`, `date`, `category`, `notes`, ...).
    pub fn with(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.0[field] = value.into();
        self
    }

    pub fn json(self) -> Value {
        self.0
    }
}

impl From<ExpenseBody> for Value {
    fn from(body: ExpenseBody) -> Value {
        body.0
    }
}

/// The stored balance ledger (pairs, groups, users, months, payments,
/// timeline) equals a recomputation from the expenses.
pub async fn assert_ledger_consistent(app: &TestApp) {
    let store = app.store().await;
    let expected = store.recompute_ledger().await.unwrap();
    let stored = store.stored_ledger().await.unwrap();
    assert_eq!(
        stored.pairs, expected.pairs,
        "pair balances drifted from the expenses"
    );
    assert_eq!(
        stored.members, expected.members,
        "group balances drifted from the expenses"
    );
    assert_eq!(
        stored.group_pairs, expected.group_pairs,
        "pair balances inside groups drifted from the expenses"
    );
    let (stored_users, expected_users) = store.user_entries_stored_and_expected().await.unwrap();
    assert_eq!(
        stored_users, expected_users,
        "per-user balances drifted from the expenses"
    );
    assert!(!expected_users.is_empty() || expected.pairs.is_empty());
    let (stored_months, expected_months) =
        store.expense_months_stored_and_expected().await.unwrap();
    assert_eq!(
        stored_months, expected_months,
        "month counts drifted from the expenses"
    );
    let (stored_payments, expected_payments) =
        store.paymentlog_stored_and_expected().await.unwrap();
    assert_eq!(
        stored_payments, expected_payments,
        "payment log drifted from the payments"
    );
    let (stored_timeline, expected_timeline) = store.timeline_stored_and_expected().await.unwrap();
    assert_eq!(
        stored_timeline, expected_timeline,
        "timeline drifted from the expenses"
    );
}

/// Asserts the contract's error envelope and returns the message.
pub fn error_message(body: &Value) -> String {
    assert_eq!(body["success"], false, "not an error envelope: {body}");
    body["message"]
        .as_str()
        .expect("message is a string")
        .to_string()
}

/// Asserts the contract's validation envelope: an error with a message and
/// an `errors` entry for `field` that has a message of its own.
pub fn assert_field_error(body: &Value, field: &str) {
    error_message(body);
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array: {body}"));
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["message"].is_string()),
        "no error for {field}: {body}"
    );
}

/// Asserts the validation envelope of `/v1/auth/*`: an error with a message
/// and `errors` an object from field to a non-empty list of messages, with
/// an entry for `field`. Returns that field's messages.
pub fn assert_auth_field_error(body: &Value, field: &str) -> Vec<String> {
    error_message(body);
    let errors = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("errors is not an object: {body}"));
    for (name, messages) in errors {
        let list = messages
            .as_array()
            .unwrap_or_else(|| panic!("{name}: not a list of messages: {body}"));
        assert!(
            !list.is_empty() && list.iter().all(Value::is_string),
            "{name}: {body}"
        );
    }
    errors
        .get(field)
        .unwrap_or_else(|| panic!("no error for {field}: {body}"))
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect()
}

/// Sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}
