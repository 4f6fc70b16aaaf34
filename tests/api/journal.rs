//! The journal through HTTP: the activity feed and one object's history
//! (who changed what, old → new), who sees what, cursor paging while
//! writes happen, soft delete and restore.

use std::time::Duration;

use mongodb::bson::{doc, oid::ObjectId, DateTime};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_ledger_consistent, spawn_app, ExpenseBody, TestApp, User};

fn items(res: &Value) -> Vec<Value> {
    res["data"].as_array().expect("a list of items").clone()
}

fn kinds(res: &Value) -> Vec<String> {
    items(res)
        .iter()
        .map(|i| i["type"].as_str().expect("type").to_owned())
        .collect()
}

async fn feed(app: &TestApp, who: &User, query: &str) -> Value {
    let (status, res) = app.get(&format!("/v1/activity{query}"), &who.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    res
}

#[tokio::test]
async fn every_change_is_one_item_with_its_actor_and_fields_old_to_new() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let taxi = app
        .expense(
            &al,
            ExpenseBody::new("Taxi", 20).split(&al, 10).split(&bo, 10),
        )
        .await;
    let id = taxi["_id"].as_str().unwrap();
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{id}"),
            &al.token,
            json!({"description": "Airport taxi", "amount": 24,
                   "splitWith": [{"user": al.id, "amount": 12}, {"user": bo.id, "amount": 12}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, _) = app
        .post(
            &format!("/v1/expenses/{id}/comments"),
            &bo.token,
            json!({"text": "thanks"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.settle(&bo, id).await;

    let res = feed(&app, &bo, "").await;
    let all = kinds(&res);
    // Newest first; the friendship's own entries come before the expense.
    assert_eq!(
        all[..4],
        [
            "expense.settled",
            "comment.added",
            "expense.updated",
            "expense.created"
        ],
        "{res}"
    );
    assert!(all[4..].iter().all(|k| k.starts_with("friend.")), "{all:?}");
    let edit = &items(&res)[2];
    assert_eq!(edit["actor"]["_id"], al.id.as_str());
    assert_eq!(edit["actor"]["name"], "Al");
    assert_eq!(edit["expenseId"], id);
    assert_eq!(
        edit["summary"], "Al changed 'Taxi' to 'Airport taxi', 20.00 → 24.00 USD and the splits",
        "{edit}"
    );
    let changes = edit["changes"].as_array().expect("changes");
    let field = |name: &str| {
        changes
            .iter()
            .find(|c| c["field"] == name)
            .unwrap_or_else(|| panic!("no {name} in {edit}"))
            .clone()
    };
    assert_eq!(field("description")["from"], "Taxi");
    assert_eq!(field("description")["to"], "Airport taxi");
    assert_eq!(field("amount")["from"], "20.00");
    assert_eq!(field("amount")["to"], "24.00");
    assert_eq!(field("splits")["from"][1]["amount"], "10.00");
    assert_eq!(field("splits")["to"][1]["amount"], "12.00");
    assert_eq!(field("splits")["to"][1]["user"]["name"], "Bo");
    assert!(
        changes.iter().all(|c| c["field"] != "category"),
        "unchanged fields are not listed: {edit}"
    );
    assert_eq!(
        items(&res)[1]["summary"],
        "Bo commented on 'Airport taxi': “thanks”"
    );
    // The same in both feeds, and in the expense's history.
    assert_eq!(kinds(&feed(&app, &al, "").await)[..4], all[..4]);
    let (status, history) = app
        .get(&format!("/v1/expenses/{id}/activity"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(kinds(&history), all[..4]);
    assert_eq!(history["pagination"]["nextBefore"], Value::Null);
}

#[tokio::test]
async fn someone_outside_the_audience_sees_nothing_of_an_item() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let lunch = app
        .expense(
            &al,
            ExpenseBody::new("Lunch", 20).split(&al, 10).split(&bo, 10),
        )
        .await;
    let id = lunch["_id"].as_str().unwrap();
    let cy_feed = feed(&app, &cy, "").await;
    assert!(
        !cy_feed.to_string().contains(id) && !cy_feed.to_string().contains("Lunch"),
        "{cy_feed}"
    );
    let (status, _) = app
        .get(&format!("/v1/expenses/{id}/activity"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Al adds Cy: Cy sees what happens from then on, not what came before.
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{id}"),
            &al.token,
            json!({"amount": 30, "splitWith": [
                {"user": al.id, "amount": 10}, {"user": bo.id, "amount": 10},
                {"user": cy.id, "amount": 10}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, history) = app
        .get(&format!("/v1/expenses/{id}/activity"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(kinds(&history), ["expense.updated"]);
    // Removed again, Cy keeps what they saw and sees nothing after.
    let (status, _) = app
        .put(
            &format!("/v1/expenses/{id}"),
            &al.token,
            json!({"amount": 20, "splitWith": [
                {"user": al.id, "amount": 10}, {"user": bo.id, "amount": 10}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.put(
        &format!("/v1/expenses/{id}"),
        &al.token,
        json!({"description": "Lunch at noon"}),
    )
    .await;
    let cy_feed = feed(&app, &cy, "").await;
    let about = items(&cy_feed)
        .iter()
        .filter(|i| i["expenseId"] == id)
        .count();
    assert_eq!(about, 2, "{cy_feed}");
    assert!(!cy_feed.to_string().contains("Lunch at noon"), "{cy_feed}");
    // Filters: a group Cy is not in shows nothing; a friend filter only us.
    let g = app.group(&al, "Trip", &[&bo]).await;
    let res = feed(&app, &cy, &format!("?groupId={g}")).await;
    assert_eq!(items(&res), Vec::<Value>::new());
    let res = feed(&app, &bo, &format!("?groupId={g}")).await;
    assert_eq!(kinds(&res), ["group.created"]);
    assert_eq!(items(&res)[0]["summary"], "Al created the group 'Trip'");
    let res = feed(&app, &al, &format!("?friendId={}", cy.id)).await;
    assert!(items(&res).iter().all(|i| i["groupId"].is_null()), "{res}");
    assert!(!res.to_string().contains("group.created"), "{res}");
}

#[tokio::test]
async fn pages_neither_overlap_nor_leave_gaps_while_writes_happen() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    for n in 0..7 {
        app.expense(
            &al,
            ExpenseBody::new(&format!("E{n}"), 2)
                .split(&al, 1)
                .split(&bo, 1),
        )
        .await;
    }
    let everything: Vec<String> = items(&feed(&app, &bo, "?limit=100").await)
        .iter()
        .map(|i| i["_id"].as_str().unwrap().to_owned())
        .collect();
    let mut seen: Vec<String> = Vec::new();
    let mut before = String::new();
    for round in 0.. {
        let query = if before.is_empty() {
            "?limit=3".to_owned()
        } else {
            format!("?limit=3&before={before}")
        };
        let page = feed(&app, &bo, &query).await;
        seen.extend(
            items(&page)
                .iter()
                .map(|i| i["_id"].as_str().unwrap().to_owned()),
        );
        // Someone writes between the pages.
        app.expense(
            &al,
            ExpenseBody::new(&format!("Late {round}"), 2)
                .split(&al, 1)
                .split(&bo, 1),
        )
        .await;
        match page["pagination"]["nextBefore"].as_str() {
            Some(next) => before = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, everything);
    let (status, _) = app.get("/v1/activity?limit=0", &bo.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get("/v1/activity?before=nope", &bo.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn balances(app: &TestApp, who: &User) -> Value {
    let (status, res) = app.get("/v1/users/balances", &who.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    res["data"].clone()
}

#[tokio::test]
async fn a_deleted_expense_is_gone_everywhere_and_comes_back_to_the_minor_unit() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let group = app.group(&al, "Flat", &[&bo, &cy]).await;
    app.expense(
        &al,
        ExpenseBody::new("Rent", "100.01")
            .split(&al, "33.34")
            .split(&bo, "33.34")
            .split(&cy, "33.33")
            .in_group(&group),
    )
    .await;
    let odd = app
        .expense(
            &al,
            ExpenseBody::new("Power", "10.01")
                .split(&al, "3.34")
                .split(&bo, "3.34")
                .split(&cy, "3.33")
                .in_group(&group),
        )
        .await;
    let id = odd["_id"].as_str().unwrap();
    let before = (balances(&app, &al).await, balances(&app, &cy).await);
    let (_, group_before) = app
        .get(&format!("/v1/expenses/group/{group}/balance"), &al.token)
        .await;
    let (_, settle_before) = app
        .get(&format!("/v1/groups/{group}/settle-up"), &al.token)
        .await;

    // Cy, who only owes a share, deletes it.
    let (status, res) = app.delete(&format!("/v1/expenses/{id}"), &cy.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, _) = app.get(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    let (_, old_list) = app
        .get(&format!("/v1/expenses/group/{group}"), &al.token)
        .await;
    assert!(!old_list.to_string().contains(id), "{old_list}");
    assert_ne!(balances(&app, &al).await, before.0);
    assert_ledger_consistent(&app).await;
    let history = feed(&app, &al, "").await;
    assert_eq!(items(&history)[0]["type"], "expense.deleted");
    assert_eq!(items(&history)[0]["summary"], "Cy deleted 'Power'");

    // A stranger cannot restore it; anyone in it can, once.
    let dan = app.user("Dan").await;
    let path = format!("/v1/expenses/{id}/restore");
    let (status, _) = app.post(&path, &dan.token, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(&format!("/v1/payments/{id}/restore"), &bo.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a payment");
    let (status, res) = app.post(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["amount"], odd["amount"]);
    assert_eq!(res["data"]["version"], 2);
    let (status, res) = app.post(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{res}");
    assert_eq!(
        (balances(&app, &al).await, balances(&app, &cy).await),
        before
    );
    let (_, group_after) = app
        .get(&format!("/v1/expenses/group/{group}/balance"), &al.token)
        .await;
    assert_eq!(group_after, group_before);
    let (_, settle_after) = app
        .get(&format!("/v1/groups/{group}/settle-up"), &al.token)
        .await;
    assert_eq!(settle_after, settle_before);
    assert_ledger_consistent(&app).await;
    assert_eq!(
        items(&feed(&app, &cy, "").await)[0]["summary"],
        "Bo restored 'Power'"
    );

    // After 30 days it can no longer be restored (410), and the purge
    // removes it.
    app.delete(&format!("/v1/expenses/{id}"), &al.token).await;
    let store = app.store().await;
    let old = DateTime::from_millis(DateTime::now().timestamp_millis() - 31 * 24 * 3_600_000);
    store
        .database()
        .collection::<mongodb::bson::Document>("trash")
        .update_one(
            doc! { "_id": ObjectId::parse_str(id).unwrap() },
            doc! { "$set": { "deletedAt": old } },
        )
        .await
        .expect("age the deletion");
    let (status, res) = app.post(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::GONE, "{res}");
    assert_eq!(res["code"], "RESTORE_EXPIRED");
    let purged = store
        .purge_trash(std::time::Duration::from_secs(30 * 24 * 3600), 10)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    let (status, _) = app.post(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_payment_is_deleted_and_restored_by_either_party() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    app.expense(
        &al,
        ExpenseBody::new("Lunch", 30).split(&al, 15).split(&bo, 15),
    )
    .await;
    let (status, payment) = app
        .post(
            "/v1/payments",
            &bo.token,
            json!({"to": al.id, "amount": "7.25"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = payment["data"]["_id"].as_str().unwrap();
    let before = app.friend_balance(&al, &bo).await;
    // Al, the payee, deletes it; Bo brings it back.
    let (status, res) = app.delete(&format!("/v1/payments/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_ne!(app.friend_balance(&al, &bo).await, before);
    let (status, res) = app
        .post(&format!("/v1/payments/{id}/restore"), &bo.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(app.friend_balance(&al, &bo).await, before);
    let (status, history) = app
        .get(&format!("/v1/payments/{id}/activity"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(
        kinds(&history),
        ["payment.restored", "payment.deleted", "payment.created"]
    );
    assert_eq!(
        items(&history)[2]["summary"],
        "Bo recorded a payment of 7.25 USD from Bo to Al"
    );
    assert_eq!(items(&history)[2]["paymentId"], id);
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn group_and_friend_changes_are_in_the_feed() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let g = app.group(&al, "Trip", &[&bo]).await;
    let (status, res) = app
        .put(
            &format!("/v1/groups/{g}"),
            &al.token,
            json!({"name": "Trip 2027"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) = app
        .post(
            &format!("/v1/groups/{g}/members"),
            &al.token,
            json!({"memberEmail": cy.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, _) = app
        .delete(&format!("/v1/groups/{g}/leave"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let res = feed(&app, &al, &format!("?groupId={g}")).await;
    let summaries: Vec<String> = items(&res)
        .iter()
        .map(|i| i["summary"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        summaries,
        [
            "Bo left 'Trip 2027'",
            "Al added Cy to 'Trip 2027'",
            "Al renamed the group 'Trip' to 'Trip 2027'",
            "Al created the group 'Trip'",
        ],
        "{res}"
    );
    // Bo, gone, still sees what happened while a member, and their leaving.
    let bo_feed = feed(&app, &bo, &format!("?groupId={g}")).await;
    assert_eq!(kinds(&bo_feed).len(), 4, "{bo_feed}");
    // Cy sees from joining on.
    let cy_feed = feed(&app, &cy, &format!("?groupId={g}")).await;
    assert_eq!(
        kinds(&cy_feed),
        ["group.member_left", "group.member_added"],
        "{cy_feed}"
    );
    let friends = feed(&app, &bo, &format!("?friendId={}", al.id)).await;
    assert!(
        kinds(&friends).contains(&"friend.accepted".to_owned()),
        "{friends}"
    );
}

/// The database commands this server has sent so far (its own metrics).
async fn commands_sent(app: &TestApp) -> f64 {
    app.admin_metrics_text()
        .await
        .lines()
        .filter(|l| l.starts_with("mongodb_commands_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn an_idle_server_leaves_the_database_alone_and_numbers_its_writes_at_once() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    // Idle (after the writes above were numbered): the sequencer's pass
    // every 2 s and the recurring scheduler's every second, nothing more
    // (it polled five times a second before).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = commands_sent(&app).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let idle = commands_sent(&app).await - before;
    assert!(idle <= 8.0, "{idle} commands in 4 s of idleness");
    // A write wakes the sequencer: its entry is in the feed well within the
    // 2 s of the idle pass.
    let before = feed(&app, &bo, "").await;
    app.expense(
        &al,
        ExpenseBody::new("Taxi", 20).split(&al, 10).split(&bo, 10),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let waiting = app
        .store()
        .await
        .database()
        .collection::<mongodb::bson::Document>("journal")
        .count_documents(doc! { "q": 0 })
        .await
        .unwrap();
    assert_eq!(
        waiting, 0,
        "an entry waits unnumbered 800 ms after its write"
    );
    assert_eq!(
        items(&feed(&app, &bo, "").await).len(),
        items(&before).len() + 1
    );
}
