//! The offline sync through HTTP: a snapshot in small pages, then changes
//! with tombstones, and a phone syncing while other people write.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, ExpenseBody, TestApp, User};

/// What a phone keeps: every object it was sent, by (kind, id).
#[derive(Default)]
struct Phone {
    cursor: Option<String>,
    objects: BTreeMap<(String, String), Value>,
    /// Changes received, counting repeats within one page.
    pages: usize,
}

impl Phone {
    /// One page; whether there is more.
    async fn page(&mut self, app: &TestApp, who: &User, limit: u32) -> bool {
        let path = match &self.cursor {
            Some(c) => format!("/v1/sync?since={c}&limit={limit}"),
            None => format!("/v1/sync?limit={limit}"),
        };
        let (status, res) = app.get(&path, &who.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        let data = &res["data"];
        let changes = data["changes"].as_array().expect("changes");
        assert!(changes.len() <= limit as usize, "{res}");
        let mut seen = std::collections::HashSet::new();
        for c in changes {
            let key = (
                c["kind"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            );
            assert!(
                seen.insert(key.clone()),
                "an object twice in one page: {res}"
            );
            if c["deleted"] == true {
                assert!(c.get("data").is_none(), "{c}");
                self.objects.remove(&key);
            } else {
                self.objects.insert(key, c["data"].clone());
            }
        }
        self.cursor = Some(data["cursor"].as_str().expect("cursor").to_owned());
        self.pages += 1;
        data["hasMore"] == true
    }

    /// Pages until nothing more is there.
    async fn catch_up(&mut self, app: &TestApp, who: &User, limit: u32) {
        for _ in 0..1000 {
            if !self.page(app, who, limit).await {
                return;
            }
        }
        panic!("the sync never ended");
    }

    /// Expenses and payments, as `GET /v1/expenses` lists them together.
    fn money(&self) -> BTreeMap<String, Value> {
        let mut all = self.of("expense");
        all.extend(self.of("payment"));
        all
    }

    fn of(&self, kind: &str) -> BTreeMap<String, Value> {
        self.objects
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, id), v)| (id.clone(), v.clone()))
            .collect()
    }
}

/// The server's expenses and payments for `who`, as the single GETs show
/// them: every page of `GET /v1/expenses`, then each by id.
async fn server_expenses(app: &TestApp, who: &User) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for page in 1.. {
        let (status, res) = app
            .get(&format!("/v1/expenses?page={page}&limit=100"), &who.token)
            .await;
        assert_eq!(status, StatusCode::OK, "{res}");
        let list = res["data"].as_array().expect("list").clone();
        for e in &list {
            let id = e["_id"].as_str().unwrap().to_owned();
            let (status, one) = app.get(&format!("/v1/expenses/{id}"), &who.token).await;
            assert_eq!(status, StatusCode::OK, "{one}");
            out.insert(id, one["data"].clone());
        }
        if list.len() < 100 {
            break;
        }
    }
    out
}

/// Lets the sequencer number what was written (it runs every 200 ms).
async fn settle_down() {
    tokio::time::sleep(Duration::from_millis(700)).await;
}

#[tokio::test]
async fn a_snapshot_in_small_pages_then_changes_with_tombstones() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let group = app.group(&al, "Flat", &[&bo]).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let e = app
            .expense(
                &al,
                ExpenseBody::new(&format!("E{n}"), 2)
                    .split(&al, 1)
                    .split(&bo, 1),
            )
            .await;
        ids.push(e["_id"].as_str().unwrap().to_owned());
    }
    settle_down().await;
    let mut phone = Phone::default();
    phone.catch_up(&app, &al, 2).await;
    // Me, two friends, one group, five expenses, in pages of two.
    assert!(phone.pages >= 5, "{}", phone.pages);
    assert_eq!(phone.of("user").len(), 1);
    assert_eq!(phone.of("user")[&al.id]["email"], al.email.as_str());
    assert_eq!(phone.of("friend").keys().cloned().collect::<Vec<_>>(), {
        let mut f = vec![bo.id.clone(), cy.id.clone()];
        f.sort();
        f
    });
    assert_eq!(phone.of("group")[&group]["name"], "Flat");
    assert_eq!(phone.money(), server_expenses(&app, &al).await);

    // Changes: an edit, a deletion, a new payment, a group left.
    let (status, _) = app
        .put(
            &format!("/v1/expenses/{}", ids[0]),
            &al.token,
            json!({"description": "E0 edited"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .delete(&format!("/v1/expenses/{}", ids[1]), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, payment) = app
        .post("/v1/payments", &bo.token, json!({"to": al.id, "amount": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let (status, _) = app
        .delete(&format!("/v1/groups/{group}/leave"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    settle_down().await;
    let before = phone.pages;
    phone.catch_up(&app, &al, 50).await;
    assert_eq!(phone.pages, before + 1);
    let expenses = phone.of("expense");
    assert_eq!(expenses[&ids[0]]["description"], "E0 edited");
    assert!(
        !expenses.contains_key(&ids[1]),
        "the deleted expense is gone"
    );
    assert_eq!(phone.money(), server_expenses(&app, &al).await);
    let pid = payment["data"]["_id"].as_str().unwrap();
    assert_eq!(phone.of("payment")[pid]["amount"], 1);
    assert!(
        phone.of("group").is_empty(),
        "a tombstone for the group left"
    );

    // Nothing new: an empty page, the same position.
    let cursor = phone.cursor.clone();
    assert!(!phone.page(&app, &al, 50).await);
    assert_eq!(
        phone.cursor.as_deref().map(|c| c.split('.').next()),
        cursor.as_deref().map(|c| c.split('.').next())
    );
    for bad in ["nope", "s-1.1", "px1.zz"] {
        let (status, res) = app.get(&format!("/v1/sync?since={bad}"), &al.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {res}");
    }
    let (status, _) = app.get("/v1/sync?limit=0", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_phone_syncing_while_others_write_ends_with_exactly_the_servers_expenses() {
    let app = std::sync::Arc::new(spawn_app().await);
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let mut phone = Phone::default();
    phone.catch_up(&app, &al, 3).await;

    // Bo and Cy each create, edit and delete expenses with Al while Al's
    // phone syncs in pages of three.
    let writer = |who: User, tag: &'static str| {
        let app = app.clone();
        let al = al.clone();
        async move {
            let mut mine: Vec<String> = Vec::new();
            for n in 0..12 {
                let e = app
                    .expense(
                        &who,
                        ExpenseBody::new(&format!("{tag}{n}"), 4)
                            .split(&who, 2)
                            .split(&al, 2),
                    )
                    .await;
                mine.push(e["_id"].as_str().unwrap().to_owned());
                if n % 3 == 1 {
                    let id = mine.last().expect("just created");
                    let (status, res) = app
                        .put(
                            &format!("/v1/expenses/{id}"),
                            &who.token,
                            json!({"description": format!("{tag}{n} edited"), "amount": 6,
                                   "splitWith": [{"user": who.id, "amount": 3},
                                                 {"user": al.id, "amount": 3}]}),
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK, "{res}");
                }
                if n % 4 == 3 {
                    let id = mine.remove(0);
                    let (status, res) = app.delete(&format!("/v1/expenses/{id}"), &who.token).await;
                    assert_eq!(status, StatusCode::OK, "{res}");
                }
            }
        }
    };
    let writers = tokio::spawn({
        let (b, c) = (writer(bo.clone(), "B"), writer(cy.clone(), "C"));
        async move { futures_util::join!(b, c) }
    });
    while !writers.is_finished() {
        phone.page(&app, &al, 3).await;
    }
    writers.await.expect("writers");
    settle_down().await;
    phone.catch_up(&app, &al, 3).await;
    let server = server_expenses(&app, &al).await;
    assert_eq!(server.len(), 2 * (12 - 3));
    assert_eq!(phone.money(), server);
}
