//! Payments (settling up) and settle-up plans, through HTTP.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_field_error, assert_ledger_consistent, error_message, spawn_app, ExpenseBody, TestApp,
    User,
};

/// My balance with `friend` per currency (`{CUR: amount}`), zeros left out.
async fn with_friend(app: &TestApp, me: &User, friend: &User) -> BTreeMap<String, f64> {
    let data = app.friend_balance(me, friend).await;
    data["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .map(|b| {
            (
                b["currency"].as_str().unwrap().to_owned(),
                b["amount"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn usd(amount: f64) -> BTreeMap<String, f64> {
    BTreeMap::from([("USD".to_owned(), amount)])
}

async fn pay(app: &TestApp, by: &User, body: Value) -> Value {
    let (status, res) = app.post("/v1/payments", &by.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["data"]["type"], "payment", "{res}");
    res["data"].clone()
}

#[tokio::test]
async fn payments_move_balances_like_repayments_both_ways() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    app.expense(
        &al,
        ExpenseBody::new("Lunch", 30).split(&al, 15).split(&bo, 15),
    )
    .await;
    assert_eq!(with_friend(&app, &al, &bo).await, usd(15.0));

    // Bo pays Al 10; Al records that Bo paid the other 5.
    let first = pay(
        &app,
        &bo,
        json!({"to": al.id, "amount": 10, "note": "cash"}),
    )
    .await;
    assert_eq!(
        (first["from"]["_id"].clone(), first["to"]["_id"].clone()),
        (json!(bo.id), json!(al.id))
    );
    assert_eq!(first["notes"], "cash");
    assert_eq!(with_friend(&app, &al, &bo).await, usd(5.0));
    let second = pay(
        &app,
        &al,
        json!({"from": bo.id, "amount": "5.00", "currency": "usd"}),
    )
    .await;
    assert!(with_friend(&app, &al, &bo).await.is_empty(), "settled up");
    let (_, balance) = app
        .get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
        .await;
    assert_eq!(balance["data"]["message"], "You are all settled up");

    // Payments show in the expense lists and in their own.
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    let types: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "payment").count(),
        2,
        "{list}"
    );
    assert_eq!(types.len(), 3);
    let (_, mine) = app
        .get(&format!("/v1/payments?friendId={}", al.id), &bo.token)
        .await;
    assert_eq!(mine["pagination"]["total"], 2, "{mine}");

    // Only who recorded a payment changes it; the balance follows exactly.
    let id = first["_id"].as_str().unwrap();
    let path = format!("/v1/payments/{id}");
    let (status, res) = app.put(&path, &al.token, json!({"amount": 12})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    let (status, res) = app.put(&path, &bo.token, json!({"amount": 12})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["version"], 2);
    assert_eq!(with_friend(&app, &al, &bo).await, usd(-2.0));
    let (status, res) = app.put(&path, &bo.token, json!({"to": bo.id})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    // Deleting both payments puts the lunch back exactly.
    for (p, by) in [(id, &bo), (second["_id"].as_str().unwrap(), &al)] {
        let (status, res) = app.delete(&format!("/v1/payments/{p}"), &by.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
    }
    assert_eq!(with_friend(&app, &al, &bo).await, usd(15.0));
    let (status, _) = app.get(&path, &bo.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn payments_are_between_friends_or_members_of_a_shared_group() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let bad = [
        (json!({"to": cy.id, "amount": 5}), None),
        (json!({"to": al.id, "amount": 5}), Some("to")),
        (json!({"to": bo.id, "from": bo.id, "amount": 5}), Some("to")),
        (json!({"amount": 5}), Some("to")),
        (json!({"to": bo.id}), Some("amount")),
        (json!({"to": bo.id, "amount": -1}), Some("amount")),
        (
            json!({"to": bo.id, "amount": 5, "currency": "dollars"}),
            Some("currency"),
        ),
        (json!({"to": "nope", "amount": 5}), Some("to")),
    ];
    for (body, field) in bad {
        let (status, res) = app.post("/v1/payments", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {res}");
        match field {
            Some(f) => assert_field_error(&res, f),
            None => assert!(error_message(&res).contains("friend"), "{res}"),
        }
    }
    // In a group, members need not be friends; its balances move.
    let gid = app.group(&al, "Flat", &[&cy]).await;
    app.expense(
        &al,
        ExpenseBody::new("Rent", 100).split(&cy, 100).in_group(&gid),
    )
    .await;
    let payment = pay(
        &app,
        &cy,
        json!({"to": al.id, "amount": 40, "groupId": gid}),
    )
    .await;
    let (_, group) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
        .await;
    assert_eq!(
        group["data"]["balances"],
        json!({ al.id.clone(): 60, cy.id.clone(): -60 })
    );
    // Sharing a group is enough without naming it; then the group's
    // balances stay as they are.
    pay(&app, &al, json!({"to": cy.id, "amount": 1})).await;
    let (_, same) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
        .await;
    assert_eq!(same["data"]["balances"], group["data"]["balances"]);
    let (_, listed) = app
        .get(&format!("/v1/payments?groupId={gid}"), &cy.token)
        .await;
    assert_eq!(listed["data"][0]["_id"], payment["_id"], "{listed}");
    let (status, _) = app
        .get(&format!("/v1/payments?groupId={gid}"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A payment is changed through its own routes, never settled.
    let id = payment["_id"].as_str().unwrap();
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{id}"),
            &cy.token,
            json!({"amount": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(error_message(&res).contains("/v1/payments/"), "{res}");
    let (status, _) = app
        .patch(&format!("/v1/expenses/{id}/settle"), &al.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An expense is not a payment.
    let (_, expenses) = app.get("/v1/expenses?settled=false", &al.token).await;
    let rent = expenses["data"][0]["_id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/v1/payments/{rent}"), &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&format!("/v1/payments/{id}"), &bo.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_ledger_consistent(&app).await;
}

/// The members' group balances in minor units of USD (cents).
async fn group_cents(app: &TestApp, by: &User, gid: &str) -> BTreeMap<String, i64> {
    let (_, body) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &by.token)
        .await;
    body["data"]["balances"]
        .as_object()
        .expect("balances")
        .iter()
        .map(|(k, v)| (k.clone(), (v.as_f64().unwrap() * 100.0).round() as i64))
        .filter(|(_, v)| *v != 0)
        .collect()
}

/// The most disjoint zero-sum groups `nets` (all non-zero) split into, by
/// trying every assignment of members to groups: obviously right, and
/// cheap for the handful of members here.
fn most_zero_sum_groups(nets: &[i64]) -> usize {
    fn go(nets: &[i64], labels: &mut Vec<usize>, best: &mut usize) {
        if labels.len() == nets.len() {
            let groups = labels.iter().max().map_or(0, |m| m + 1);
            let all_zero = (0..groups).all(|g| {
                nets.iter()
                    .zip(labels.iter())
                    .filter(|(_, l)| **l == g)
                    .map(|(n, _)| n)
                    .sum::<i64>()
                    == 0
            });
            if all_zero {
                *best = (*best).max(groups);
            }
            return;
        }
        let next = labels.iter().max().map_or(0, |m| m + 1);
        for label in 0..=next {
            labels.push(label);
            go(nets, labels, best);
            labels.pop();
        }
    }
    let mut best = 0;
    go(nets, &mut Vec::new(), &mut best);
    best
}

#[tokio::test]
async fn the_group_plan_is_minimal_and_recording_it_clears_every_balance() {
    let app = spawn_app().await;
    let people = app.users(["Al", "Bo", "Cy", "Di", "Ed", "Flo"]).await;
    let others: Vec<&User> = people[1..].iter().collect();
    let gid = app.group(&people[0], "Tour", &others).await;
    // A chain (Al paid for Bo, Bo for Cy: one transfer Cy -> Al clears it),
    // and Di, Ed, Flo in a tangle.
    let spend = |payer: usize, amount: f64, owers: Vec<(usize, f64)>| {
        let split: Vec<Value> = owers
            .iter()
            .map(|(i, a)| json!({"user": people[*i].id, "amount": a}))
            .collect();
        json!({"description": "x", "amount": amount, "groupId": gid, "paidBy": people[payer].id, "splitWith": split})
    };
    for body in [
        spend(0, 10.0, vec![(1, 10.0)]),
        spend(1, 10.0, vec![(2, 10.0)]),
        spend(3, 9.0, vec![(4, 4.0), (5, 5.0)]),
        spend(4, 7.5, vec![(3, 2.5), (5, 5.0)]),
    ] {
        app.expense(&people[0], body).await;
    }
    let before = group_cents(&app, &people[0], &gid).await;
    let url = format!("/v1/groups/{gid}/settle-up");

    let (status, plain) = app
        .get(&format!("{url}?simplify=false"), &people[1].token)
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert_eq!(plain["data"]["simplified"], false);
    assert_eq!(
        plain["data"]["transfers"].as_array().unwrap().len(),
        5,
        "{plain}"
    );

    let (status, plan) = app.get(&url, &people[1].token).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["data"]["optimal"], true, "{plan}");
    let transfers = plan["data"]["transfers"].as_array().unwrap().clone();
    let nets: Vec<i64> = before.values().copied().collect();
    assert_eq!(
        transfers.len(),
        nets.len() - most_zero_sum_groups(&nets),
        "{plan}"
    );
    assert!(transfers.len() < 5);

    // Every payer records their transfers; every balance ends at exactly 0.
    for t in &transfers {
        let from = people
            .iter()
            .find(|p| t["from"]["_id"] == p.id.as_str())
            .unwrap();
        assert_eq!(t["currency"], "USD");
        pay(
            &app,
            from,
            json!({"to": t["to"]["_id"], "amount": t["amount"], "groupId": gid}),
        )
        .await;
    }
    assert!(
        group_cents(&app, &people[0], &gid).await.is_empty(),
        "all even"
    );
    let (_, after) = app.get(&url, &people[2].token).await;
    assert_eq!(after["data"]["transfers"], json!([]));
    let (status, _) = app
        .get(&format!("{url}?currency=euro"), &people[2].token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let outsider = app.user("Out").await;
    let (status, _) = app.get(&url, &outsider.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn my_plan_pays_and_receives_per_currency_and_clears_my_balances() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let expense = |payer: &User, ower: &User, amount: f64, currency: &str| {
        ExpenseBody::new("x", amount)
            .split(ower, amount)
            .with("currency", currency)
            .paid_by(payer)
            .json()
    };
    app.expense(&al, expense(&bo, &al, 5.0, "USD")).await;
    app.expense(&al, expense(&al, &cy, 7.0, "USD")).await;
    app.expense(&al, expense(&al, &bo, 3.0, "EUR")).await;

    let (status, plan) = app.get("/v1/users/settle-up", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let transfers = plan["data"]["transfers"].as_array().unwrap().clone();
    assert_eq!(transfers.len(), 3, "{plan}");
    let totals = &plan["data"]["totals"];
    assert_eq!(
        totals[1],
        json!({"currency": "USD", "pay": 5, "receive": 7, "net": 2}),
        "{plan}"
    );
    assert_eq!(
        totals[0],
        json!({"currency": "EUR", "pay": 0, "receive": 3, "net": 3}),
        "{plan}"
    );
    let (_, usd_only) = app.get("/v1/users/settle-up?currency=USD", &al.token).await;
    assert_eq!(usd_only["data"]["transfers"].as_array().unwrap().len(), 2);

    for t in &transfers {
        let body = if t["from"]["_id"] == al.id.as_str() {
            json!({"to": t["to"]["_id"], "amount": t["amount"], "currency": t["currency"]})
        } else {
            json!({"from": t["from"]["_id"], "amount": t["amount"], "currency": t["currency"]})
        };
        pay(&app, &al, body).await;
    }
    let (_, balances) = app.get("/v1/users/balances", &al.token).await;
    assert_eq!(balances["data"], json!([]), "{balances}");
    let (_, after) = app.get("/v1/users/settle-up", &al.token).await;
    assert_eq!(after["data"]["transfers"], json!([]));
    assert_ledger_consistent(&app).await;
}
