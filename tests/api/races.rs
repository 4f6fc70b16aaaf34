//! The races of concurrent writers, each a scenario on a running server:
//! `concurrency.rs` runs them against one in-process server, the drills
//! (`tests/drills/replicas.rs`) through a balancer in front of three server
//! processes. Shared by both test targets.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_ledger_consistent, TestApp, User};

pub const ROUNDS: usize = 12;

pub fn id_of(v: &Value) -> String {
    v["_id"].as_str().expect("_id is a string").to_string()
}

pub fn settled(expense: &Value, user: &User) -> bool {
    expense["splitWith"]
        .as_array()
        .expect("splitWith")
        .iter()
        .any(|s| s["user"]["_id"] == user.id.as_str() && s["settled"] == true)
}

/// Al's lunch for Al, Bo and Cy: settling one share leaves the expense open.
pub async fn lunch(app: &TestApp, people: &[User; 3]) -> String {
    let [al, bo, cy] = people;
    let share = |u: &User| json!({ "user": u.id, "amount": 10 });
    let e = app
        .expense(
            al,
            json!({
                "description": "Lunch",
                "amount": 30,
                "splitWith": [share(al), share(bo), share(cy)],
            }),
        )
        .await;
    id_of(&e)
}

/// Al, Bo and Cy; Al is a friend of both.
pub async fn three_friends(app: &TestApp) -> [User; 3] {
    app.with_friends(["Al", "Bo", "Cy"]).await
}

/// Settling a share while the payer renames the expense: both writes stay.
pub async fn settlement_racing_edit(app: &TestApp) {
    let people = three_friends(app).await;
    let [al, bo, _] = &people;
    let mut lost = Vec::new();
    for round in 0..ROUNDS {
        let id = lunch(app, &people).await;
        let path = format!("/v1/expenses/{id}");
        let renamed = format!("Lunch {round}");
        let settle_path = format!("{path}/settle");
        let ((settle, s_body), (edit, e_body)) = tokio::join!(
            app.patch(&settle_path, &bo.token, json!({})),
            app.put(&path, &al.token, json!({ "description": renamed })),
        );
        assert_eq!(settle, StatusCode::OK, "{s_body}");
        assert_eq!(edit, StatusCode::OK, "{e_body}");
        let (_, now) = app.get(&path, &al.token).await;
        if !settled(&now["data"], bo) || now["data"]["description"] != renamed.as_str() {
            lost.push(now["data"].clone());
        }
    }
    assert!(lost.is_empty(), "confirmed writes were undone: {lost:#?}");
    assert_ledger_consistent(app).await;
}

/// Four edits of different fields of one version at once: all four stay.
pub async fn edits_of_different_fields(app: &TestApp) {
    let people = three_friends(app).await;
    let al = &people[0];
    let mut lost = Vec::new();
    let mut versions = Vec::new();
    for round in 0..ROUNDS {
        let id = lunch(app, &people).await;
        let path = format!("/v1/expenses/{id}");
        let edits = [
            json!({ "description": format!("Dinner {round}") }),
            json!({ "notes": format!("note {round}") }),
            json!({ "category": "food" }),
            json!({ "date": "2026-01-15T12:00:00.000Z" }),
        ];
        let answers = join_all(edits.iter().map(|e| app.put(&path, &al.token, e.clone()))).await;
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::OK, "{body}");
        }
        let (_, now) = app.get(&path, &al.token).await;
        let e = &now["data"];
        let survived = e["description"] == format!("Dinner {round}").as_str()
            && e["notes"] == format!("note {round}").as_str()
            && e["category"] == "food"
            && e["date"]
                .as_str()
                .is_some_and(|d| d.starts_with("2026-01-15"));
        if !survived {
            lost.push(e.clone());
        }
        versions.push(e["version"].clone());
    }
    assert!(lost.is_empty(), "acknowledged edits were lost: {lost:#?}");
    // Four edits of version 1: each made its own version.
    assert!(versions.iter().all(|v| v == 5), "{versions:?}");
}

pub async fn friends_and_pending(app: &TestApp, user: &User) -> (Vec<Value>, Vec<Value>) {
    let (status, body) = app.get("/v1/users/friends", &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = |key: &str| body["data"][key].as_array().cloned().unwrap_or_default();
    (list("friends"), list("pendingFriends"))
}

/// Al adds a friend by email while that person registers: they end up friends.
pub async fn friend_added_while_registering(app: &TestApp) {
    let al = app.user("Al").await;
    let mut broken = Vec::new();
    for round in 0..ROUNDS {
        let email = format!("new{round}@example.com");
        let password = "secret-pass";
        let ((added, add_body), (registered, reg_body)) = tokio::join!(
            app.post(
                "/v1/users/friends",
                &al.token,
                json!({ "friends": [{ "name": "Newcomer", "email": email }] }),
            ),
            app.call(
                reqwest::Method::POST,
                "/v1/auth/register",
                None,
                Some(json!({ "name": "Newcomer", "email": email, "password": password })),
            ),
        );
        assert_eq!(added, StatusCode::OK, "{add_body}");
        assert_eq!(registered, StatusCode::CREATED, "{reg_body}");
        let (friends, pending) = friends_and_pending(app, &al).await;
        let befriended = friends.iter().any(|f| f["email"] == email.as_str());
        let left_pending = pending.iter().any(|p| p["email"] == email.as_str());
        if !befriended || left_pending {
            broken.push((round, befriended, left_pending));
        }
    }
    assert!(
        broken.is_empty(),
        "(round, befriended, pending record left): {broken:?}"
    );
}
