//! The balance ledger stays equal to a recomputation from the expenses through
//! creates, updates, settlements and deletes, and is rebuilt when missing.

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use splitlyr::store::Store;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

async fn store_of(app: &TestApp) -> Store {
    Store::connect(&app.settings.database, None)
        .await
        .expect("store connects")
}

async fn assert_ledger_consistent(app: &TestApp) {
    let store = store_of(app).await;
    let expected = store.recompute_ledger().await.unwrap();
    let mut stored = store.stored_ledger().await.unwrap();
    let mut expected = expected;
    for list in [
        &mut expected.0,
        &mut expected.1,
        &mut stored.0,
        &mut stored.1,
    ] {
        list.sort_by(|a, b| a.get_str("_id").unwrap().cmp(b.get_str("_id").unwrap()));
    }
    assert_eq!(
        stored.0, expected.0,
        "pair balances drifted from the expenses"
    );
    assert_eq!(
        stored.1, expected.1,
        "group balances drifted from the expenses"
    );
    let (stored_users, expected_users) = store.user_entries_stored_and_expected().await.unwrap();
    assert_eq!(
        stored_users, expected_users,
        "per-user balances drifted from the expenses"
    );
    assert!(!expected_users.is_empty() || expected.0.is_empty());
}

fn id(v: &Value) -> String {
    v["_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn ledger_follows_every_kind_of_expense_change() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.register("Cy", "cy@example.com").await;
    app.befriend(&al, &cy).await;
    let (status, group) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "Trip", "members": [bo.id, cy.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let gid = id(&group["data"]);

    let e1 = app
        .expense(&al, json!({"description": "Dinner", "amount": 90, "splitWith": [
            {"user": al.id, "amount": 30}, {"user": bo.id, "amount": 30}, {"user": cy.id, "amount": 30}]}))
        .await;
    let e2 = app
        .expense(&bo, json!({"description": "Taxi", "amount": 1000, "currency": "JPY", "groupId": gid, "splitWith": [
            {"user": al.id, "amount": 500}, {"user": bo.id, "amount": 500}]}))
        .await;
    let e3 = app
        .expense(&cy, json!({"description": "Hotel", "amount": 100, "groupId": gid, "splitWith": [
            {"user": al.id, "amount": 33.333333333333336}, {"user": bo.id, "amount": 33.333333333333336},
            {"user": cy.id, "amount": 33.333333333333336}]}))
        .await;
    assert_ledger_consistent(&app).await;

    let (status, _) = app
        .put(
            &format!("/v1/expenses/{}", id(&e1)),
            &al.token,
            json!({"amount": 60, "splitWith": [
            {"user": bo.id, "amount": 40}, {"user": cy.id, "amount": 20}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ledger_consistent(&app).await;

    let (status, _) = app
        .patch(
            &format!("/v1/expenses/{}/settle", id(&e3)),
            &al.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .patch(
            &format!("/v1/expenses/{}/settle", id(&e1)),
            &bo.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ledger_consistent(&app).await;

    let (status, _) = app
        .delete(&format!("/v1/expenses/{}", id(&e2)), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ledger_consistent(&app).await;

    // Al is owed 20 by Cy for e1 (Bo settled), owes Cy 33.33 for e3 → settled: 0.
    let (_, bal) = app
        .get(&format!("/v1/users/friends/{}/balance", cy.id), &al.token)
        .await;
    assert_eq!(bal["data"]["balance"], json!(20), "{bal}");
    let (_, gb) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
        .await;
    assert_eq!(gb["data"]["totalExpenses"], 1, "{gb}");
    // Only e3 is left in the group: Bo owes Cy 33.33 (Al settled).
    assert_eq!(gb["data"]["balances"][&cy.id], json!(33.33), "{gb}");
    assert_eq!(gb["data"]["balances"][&bo.id], json!(-33.33), "{gb}");
    assert_eq!(gb["data"]["balances"][&al.id], json!(0), "{gb}");
}

#[tokio::test]
async fn missing_ledger_is_rebuilt_at_startup() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let (_, group) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "Flat", "members": [bo.id]}),
        )
        .await;
    let gid = id(&group["data"]);
    app.expense(
        &al,
        json!({"description": "Rent", "amount": 1200, "groupId": gid, "splitWith": [
        {"user": al.id, "amount": 600}, {"user": bo.id, "amount": 600}]}),
    )
    .await;

    let store = store_of(&app).await;
    let db = store.database();
    db.collection::<mongodb::bson::Document>("meta")
        .delete_many(doc! {})
        .await
        .unwrap();
    db.collection::<mongodb::bson::Document>("balances")
        .delete_many(doc! {})
        .await
        .unwrap();
    db.collection::<mongodb::bson::Document>("groupbalances")
        .delete_many(doc! {})
        .await
        .unwrap();
    db.collection::<mongodb::bson::Document>("userbalances")
        .delete_many(doc! {})
        .await
        .unwrap();
    for name in ["groups", "users"] {
        db.collection::<mongodb::bson::Document>(name)
            .update_many(doc! {}, doc! { "$set": { "expenseCount": 0_i64 } })
            .await
            .unwrap();
    }

    let name = app.settings.database.name.clone();
    let restarted = spawn_app_with(|s| s.database.name = name).await;
    let (status, bal) = restarted
        .get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bal["data"]["balance"], json!(600), "{bal}");
    let (_, gb) = restarted
        .get(&format!("/v1/expenses/group/{gid}/balance"), &bo.token)
        .await;
    assert_eq!(gb["data"]["totalExpenses"], 1, "{gb}");
    assert_eq!(gb["data"]["balances"][&bo.id], json!(-600), "{gb}");
    let (_, list) = restarted.get("/v1/expenses", &al.token).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_ledger_consistent(&restarted).await;
}
