//! A rolling deploy from the release before the journal: its real binary
//! (commit 141ca1a, built by scripts/previous-release.sh, path in
//! `SPLITLYR_PREVIOUS_BINARY`) keeps writing next to this release, and the
//! activity and the sync feed still show every change once.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    db_uri, free_port, spawn_app_with, test_settings, ExpenseBody, TestApp, User,
};

/// The previous release's server on database `name`, listening on `port`.
fn start_previous(name: &str, port: u16) -> Child {
    let binary = std::env::var("SPLITLYR_PREVIOUS_BINARY").expect(
        "SPLITLYR_PREVIOUS_BINARY: the previous release's server (scripts/test.sh builds it \
         with scripts/previous-release.sh)",
    );
    let config = std::path::Path::new(&binary)
        .parent()
        .expect("its directory")
        .join("config-141ca1a");
    Command::new(&binary)
        .env("APP_ENVIRONMENT", "test")
        .env("APP_CONFIG_DIR", config)
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        // Its admin listener on a port of its own choosing (test.toml's 0):
        // a port picked here could meanwhile be another drill's.
        .env("APP__DATABASE__URI", db_uri())
        .env("APP__DATABASE__NAME", name)
        .env("APP__RATE_LIMIT__ENABLED", "false")
        .env("APP__AUTH__BCRYPT_COST", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the previous release starts")
}

async fn wait_healthy(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.client.get(app.url("/v1/healthz")).send().await;
        if res.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the previous release never got healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Al's activity as (type, expense id), oldest first.
async fn activity(app: &TestApp, who: &User) -> Vec<(String, String)> {
    let (status, res) = app.get("/v1/activity?limit=100", &who.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let mut items: Vec<(String, String)> = res["data"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| {
            i["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("expense."))
        })
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_owned(),
                i["expenseId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    items.reverse();
    items
}

/// Waits until Al's activity has `n` expense items (the back-fill runs
/// every 300 ms here), and returns them.
async fn activity_reaches(app: &TestApp, who: &User, n: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = activity(app, who).await;
        if items.len() >= n || Instant::now() > deadline {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A phone's copy of the expenses, by id, kept by `GET /v1/sync`.
async fn sync(
    app: &TestApp,
    who: &User,
    cursor: &mut Option<String>,
    into: &mut BTreeMap<String, Value>,
) {
    for _ in 0..100 {
        let path = match cursor {
            Some(c) => format!("/v1/sync?since={c}&limit=5"),
            None => "/v1/sync?limit=5".to_owned(),
        };
        let (status, res) = app.get(&path, &who.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        for c in res["data"]["changes"].as_array().expect("changes") {
            if !matches!(c["kind"].as_str(), Some("expense" | "payment")) {
                continue;
            }
            let id = c["id"].as_str().unwrap().to_owned();
            if c["deleted"] == true {
                into.remove(&id);
            } else {
                into.insert(id, c["data"].clone());
            }
        }
        *cursor = Some(res["data"]["cursor"].as_str().unwrap().to_owned());
        if res["data"]["hasMore"] != true {
            return;
        }
    }
    panic!("the sync never ended");
}

async fn server_expenses(app: &TestApp, who: &User) -> BTreeMap<String, Value> {
    let (status, res) = app.get("/v1/expenses?limit=100", &who.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let mut out = BTreeMap::new();
    for e in res["data"].as_array().expect("list") {
        let id = e["_id"].as_str().unwrap().to_owned();
        let (_, one) = app.get(&format!("/v1/expenses/{id}"), &who.token).await;
        out.insert(id, one["data"].clone());
    }
    out
}

fn id_of(e: &Value) -> String {
    e["_id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn the_previous_releases_writes_during_a_rolling_deploy_are_journaled_once() {
    let name = test_settings().database.name;
    // The previous release runs alone first.
    let port = free_port();
    let mut previous = start_previous(&name, port);
    let old = TestApp {
        address: format!("http://127.0.0.1:{port}"),
        admin_address: None,
        client: reqwest::Client::new(),
        settings: test_settings(),
    };
    wait_healthy(&old).await;
    let [al, bo] = old.with_friends(["Al", "Bo"]).await;
    let history = old
        .expense(
            &al,
            ExpenseBody::new("Before", 2).split(&al, 1).split(&bo, 1),
        )
        .await;

    // This release starts next to it.
    let new = spawn_app_with(|s| {
        s.database.name = name.clone();
        s.database.backfill_interval_ms = 300;
    })
    .await;
    let mut phone = BTreeMap::new();
    let mut cursor = None;
    sync(&new, &al, &mut cursor, &mut phone).await;
    assert!(phone.contains_key(&id_of(&history)));

    // Both write, each change given time to be seen by a back-fill pass.
    let taxi = old
        .expense(
            &al,
            ExpenseBody::new("Old taxi", 10).split(&al, 5).split(&bo, 5),
        )
        .await;
    let taxi_id = id_of(&taxi);
    activity_reaches(&new, &al, 1).await;
    let (status, res) = old
        .put(
            &format!("/v1/expenses/{taxi_id}"),
            &al.token,
            json!({"amount": 12, "splitWith": [{"user": al.id, "amount": 6}, {"user": bo.id, "amount": 6}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    activity_reaches(&new, &al, 2).await;
    let lunch = new
        .expense(
            &al,
            ExpenseBody::new("New lunch", 8).split(&al, 4).split(&bo, 4),
        )
        .await;
    let lunch_id = id_of(&lunch);
    let (status, res) = old
        .put(
            &format!("/v1/expenses/{lunch_id}"),
            &al.token,
            json!({"description": "New lunch, edited by the old one"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    activity_reaches(&new, &al, 4).await;
    sync(&new, &al, &mut cursor, &mut phone).await;
    let short = old
        .expense(
            &al,
            ExpenseBody::new("Short-lived", 4)
                .split(&al, 2)
                .split(&bo, 2),
        )
        .await;
    let short_id = id_of(&short);
    activity_reaches(&new, &al, 5).await;
    let (status, res) = old
        .delete(&format!("/v1/expenses/{short_id}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    activity_reaches(&new, &al, 6).await;
    let (status, res) = new
        .put(
            &format!("/v1/expenses/{taxi_id}"),
            &bo.token,
            json!({"description": "Old taxi, edited by the new one"}),
        )
        .await;
    // Bo only owes a share: not his to edit. Al edits it.
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    let (status, res) = new
        .put(
            &format!("/v1/expenses/{taxi_id}"),
            &al.token,
            json!({"description": "Old taxi, edited by the new one"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let items = activity_reaches(&new, &al, 7).await;
    // Give further passes the chance to write anything twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let items_later = activity(&new, &al).await;
    let _ = previous.kill();
    let _ = previous.wait();
    assert_eq!(items, items_later, "a later pass wrote nothing more");
    let t = |k: &str, id: &str| (format!("expense.{k}"), id.to_owned());
    assert_eq!(
        items,
        [
            t("created", &taxi_id),
            t("updated", &taxi_id),
            t("created", &lunch_id),
            t("updated", &lunch_id),
            t("created", &short_id),
            t("deleted", &short_id),
            t("updated", &taxi_id),
        ],
        "every change once, in order; nothing for the history before the journal"
    );
    // The phone ends with exactly the server's expenses.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sync(&new, &al, &mut cursor, &mut phone).await;
    assert_eq!(phone, server_expenses(&new, &al).await);
    assert_eq!(
        phone[&taxi_id]["description"],
        "Old taxi, edited by the new one"
    );
    assert_eq!(
        phone[&lunch_id]["description"],
        "New lunch, edited by the old one"
    );
    assert!(!phone.contains_key(&short_id));
}
