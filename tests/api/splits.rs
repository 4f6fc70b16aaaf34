//! Split modes, several payers and per-currency balances, through HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_field_error, assert_ledger_consistent, error_message, spawn_app, ExpenseBody, TestApp,
    User,
};

/// Al, Bo and Cy in Al's group "Trip".
async fn trio(app: &TestApp) -> (User, User, User, String) {
    let [al, bo, cy] = app.users(["Al", "Bo", "Cy"]).await;
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;
    (al, bo, cy, gid)
}

fn amounts(expense: &Value) -> Vec<f64> {
    expense["splitWith"]
        .as_array()
        .expect("splitWith")
        .iter()
        .map(|s| s["amount"].as_f64().expect("amount"))
        .collect()
}

/// Group balances of `gid` as seen by `by`: member id → number.
async fn group_numbers(app: &TestApp, by: &User, gid: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &by.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["balances"].clone()
}

#[tokio::test]
async fn every_split_mode_divides_the_total_exactly() {
    let app = spawn_app().await;
    let (al, bo, cy, gid) = trio(&app).await;
    let people = |key: Option<&str>, values: [Value; 3]| -> Value {
        [&al, &bo, &cy]
            .iter()
            .zip(values)
            .map(|(u, v)| match key {
                Some(k) => json!({ "user": u.id, k: v }),
                None => json!({ "user": u.id }),
            })
            .collect()
    };
    let cases = [
        (
            "equal",
            "100",
            people(None, [json!(0), json!(0), json!(0)]),
            [33.34, 33.33, 33.33],
            None,
        ),
        (
            "percentage",
            "10.01",
            people(Some("percentage"), [json!(50), json!(30), json!("20")]),
            [5.01, 3.0, 2.0],
            Some(("percentage", [json!(50), json!(30), json!(20)])),
        ),
        (
            "shares",
            "100",
            people(Some("shares"), [json!(1), json!(2), json!(3)]),
            [16.67, 33.33, 50.0],
            Some(("shares", [json!(1), json!(2), json!(3)])),
        ),
        (
            "adjustment",
            "100",
            people(Some("adjustment"), [json!(10), json!(0), json!(0)]),
            [40.0, 30.0, 30.0],
            Some(("adjustment", [json!(10), json!(0), json!(0)])),
        ),
    ];
    for (mode, amount, split_with, expected, inputs) in cases {
        let created = app
            .expense(
                &al,
                json!({
                    "description": mode, "amount": amount, "groupId": gid,
                    "splitType": mode, "splitWith": split_with,
                }),
            )
            .await;
        assert_eq!(created["splitType"], mode, "{created}");
        assert_eq!(created["type"], "expense");
        assert_eq!(amounts(&created), expected, "{mode}: {created}");
        // The stored expense keeps the mode and its inputs.
        let id = created["_id"].as_str().unwrap();
        let (_, read) = app.get(&format!("/v1/expenses/{id}"), &al.token).await;
        assert_eq!(read["data"]["splitType"], mode);
        if let Some((field, values)) = inputs {
            for (split, value) in read["data"]["splitWith"]
                .as_array()
                .unwrap()
                .iter()
                .zip(values)
            {
                assert_eq!(split[field], value, "{mode}: {read}");
            }
        }
    }
    // The old app's exact amounts are unchanged and say so.
    let exact = app
        .expense(
            &al,
            ExpenseBody::new("exact", 10)
                .split(&al, 4)
                .split(&bo, 6)
                .in_group(&gid),
        )
        .await;
    assert_eq!(exact["splitType"], "exact");
    assert_eq!(amounts(&exact), [4.0, 6.0]);
    assert!(
        exact.get("payers").is_none(),
        "one payer keeps the old shape"
    );
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn inconsistent_split_input_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let (al, bo, _cy, gid) = trio(&app).await;
    let two = |key: &str, a: Value, b: Value| json!([{ "user": al.id, key: a }, { "user": bo.id, key: b }]);
    let cases = [
        (
            json!({"splitType": "thirds", "splitWith": two("amount", json!(5), json!(5))}),
            "splitType",
        ),
        (
            json!({"splitType": "percentage", "splitWith": two("percentage", json!(50), json!(49.99))}),
            "splitWith",
        ),
        (
            json!({"splitType": "percentage", "splitWith": two("percentage", json!(50), json!(50.001))}),
            "splitWith[1].percentage",
        ),
        (
            json!({"splitType": "percentage", "splitWith": [{"user": al.id, "percentage": 100}, {"user": bo.id}]}),
            "splitWith[1].percentage",
        ),
        (
            json!({"splitType": "shares", "splitWith": two("shares", json!(0), json!(1))}),
            "splitWith[0].shares",
        ),
        (
            json!({"splitType": "adjustment", "splitWith": two("adjustment", json!(11), json!(0))}),
            "splitWith",
        ),
        (
            json!({"splitType": "equal", "splitWith": [{"user": al.id}, {"user": al.id}]}),
            "splitWith[1].user",
        ),
        (
            json!({"splitWith": two("amount", json!(5), json!(4))}),
            "splitWith",
        ),
        (
            json!({"paidBy": [{"user": al.id, "amount": 6}, {"user": bo.id, "amount": 3.99}], "splitWith": two("amount", json!(5), json!(5))}),
            "payers",
        ),
        (
            json!({"paidBy": [{"user": al.id, "amount": 10}], "payers": [{"user": bo.id, "amount": 10}], "splitWith": two("amount", json!(5), json!(5))}),
            "payers",
        ),
        (
            json!({"payersSplitType": "percentage", "payers": two("percentage", json!(60), json!(30)), "splitWith": two("amount", json!(5), json!(5))}),
            "payers",
        ),
    ];
    for (mut body, field) in cases {
        body["description"] = json!("Bad");
        body["amount"] = json!(10);
        body["groupId"] = json!(gid);
        let (status, res) = app.post("/v1/expenses", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert_field_error(&res, field);
    }
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["data"], json!([]), "nothing was written");
}

#[tokio::test]
async fn an_edit_divides_again_by_the_stored_inputs() {
    let app = spawn_app().await;
    let (al, bo, cy, gid) = trio(&app).await;
    let created = app
        .expense(
            &al,
            json!({
                "description": "Hotel", "amount": 90, "groupId": gid, "splitType": "shares",
                "splitWith": [{"user": al.id, "shares": 2}, {"user": bo.id, "shares": 1}],
            }),
        )
        .await;
    let id = created["_id"].as_str().unwrap();
    let path = format!("/v1/expenses/{id}");
    // Only the amount: the shares stay 2:1.
    let (status, res) = app.put(&path, &al.token, json!({"amount": 120})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(amounts(&res["data"]), [80.0, 40.0]);
    assert_eq!(res["data"]["splitWith"][0]["shares"], 2);
    // Equal between the same people without listing them again.
    let (_, res) = app
        .put(&path, &al.token, json!({"splitType": "equal"}))
        .await;
    assert_eq!(amounts(&res["data"]), [60.0, 60.0]);
    // Another mode needs its inputs.
    let (status, res) = app
        .put(&path, &al.token, json!({"splitType": "percentage"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "splitWith");
    // The app's exact amounts turn it back into an exact split.
    let (_, res) = app
        .put(
            &path,
            &al.token,
            json!({"splitWith": [{"user": bo.id, "amount": 100}, {"user": cy.id, "amount": 20}]}),
        )
        .await;
    assert_eq!(res["data"]["splitType"], "exact");
    assert_eq!(amounts(&res["data"]), [100.0, 20.0]);
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn several_payers_are_owed_in_proportion_and_settle_through_payments() {
    let app = spawn_app().await;
    let (al, bo, cy, gid) = trio(&app).await;
    let everyone = json!([{"user": al.id}, {"user": bo.id}, {"user": cy.id}]);
    // Al paid 60 and Bo 40 of 100 split equally: Al is 26.66 up, Bo 6.67 up,
    // Cy 33.33 down and owes each in proportion.
    let dinner = app
        .expense(
            &cy,
            json!({
                "description": "Dinner", "amount": 100, "groupId": gid,
                "paidBy": [{"user": bo.id, "amount": 40}, {"user": al.id, "amount": 60}],
                "splitType": "equal", "splitWith": everyone,
            }),
        )
        .await;
    assert_eq!(dinner["paidBy"]["_id"], al.id, "the main payer paid most");
    let payers = dinner["payers"].as_array().expect("payers shown");
    assert_eq!(payers.len(), 2);
    assert_eq!(
        (
            payers[0]["user"]["_id"].clone(),
            payers[0]["amount"].clone()
        ),
        (json!(al.id), json!(60))
    );
    assert_eq!(
        (
            payers[1]["user"]["_id"].clone(),
            payers[1]["amount"].clone()
        ),
        (json!(bo.id), json!(40))
    );
    let balances = group_numbers(&app, &al, &gid).await;
    assert_eq!(
        balances,
        json!({ al.id.clone(): 26.66, bo.id.clone(): 6.67, cy.id.clone(): -33.33 })
    );

    // Settling a split of several payers is a payment's job.
    let id = dinner["_id"].as_str().unwrap();
    let (status, res) = app
        .patch(&format!("/v1/expenses/{id}/settle"), &cy.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(error_message(&res).contains("/v1/payments"), "{res}");

    // Payers by percentage: 50/50 of 99.99.
    let taxi = app
        .expense(
            &bo,
            json!({
                "description": "Taxi", "amount": 99.99, "groupId": gid,
                "payersSplitType": "percentage",
                "payers": [{"user": al.id, "percentage": 50}, {"user": bo.id, "percentage": 50}],
                "splitWith": [{"user": cy.id, "amount": 99.99}],
            }),
        )
        .await;
    assert_eq!(taxi["payersSplitType"], "percentage");
    let paid: Vec<f64> = taxi["payers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(paid, [50.0, 49.99]);
    assert_eq!(taxi["payers"][0]["percentage"], 50);
    let balances = group_numbers(&app, &al, &gid).await;
    assert_eq!(
        balances,
        json!({ al.id.clone(): 76.66, bo.id.clone(): 56.66, cy.id.clone(): -133.32 })
    );
    // The stored payers divided again by another mode, without listing them.
    let tid = taxi["_id"].as_str().unwrap();
    let (status, res) = app
        .put(&format!("/v1/expenses/{tid}"), &bo.token, json!({"payersSplitType": "equal", "amount": 100, "splitWith": [{"user": cy.id, "amount": 100}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["payersSplitType"], "equal");
    let paid: Vec<f64> = res["data"]["payers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(paid, [50.0, 50.0], "{res}");
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{tid}"),
            &bo.token,
            json!({"payersSplitType": "shares"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "payers");
    // Any payer may edit; a single payer again restores the old shape.
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{tid}"),
            &al.token,
            json!({"paidBy": al.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(res["data"].get("payers").is_none(), "{res}");
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn balances_never_add_currencies_together() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let split = json!([{"user": al.id, "amount": 5}, {"user": bo.id, "amount": 5}]);
    app.expense(
        &al,
        json!({"description": "Lunch", "amount": 10, "splitWith": split}),
    )
    .await;
    let (_, one) = app
        .get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
        .await;
    assert_eq!(
        (
            one["data"]["balance"].clone(),
            one["data"]["currency"].clone(),
            one["data"]["otherCurrencies"].clone()
        ),
        (json!(5), json!("USD"), json!(false)),
        "{one}"
    );
    // A second currency: the single number stays in the default currency.
    app.expense(
        &al,
        ExpenseBody::new("Bahn", 20)
            .split(&bo, 20)
            .with("currency", "EUR"),
    )
    .await;
    let (_, two) = app.get("/v1/users/balances", &al.token).await;
    let entry = &two["data"][0];
    assert_eq!(
        (
            entry["balance"].clone(),
            entry["currency"].clone(),
            entry["otherCurrencies"].clone()
        ),
        (json!(5), json!("USD"), json!(true)),
        "{two}"
    );
    assert_eq!(
        entry["message"],
        "You are owed 20.00 EUR; You are owed $5.00"
    );
    // The profile's default currency picks the number.
    let (status, res) = app
        .call(
            reqwest::Method::PATCH,
            "/v1/users/profile",
            Some(&al.token),
            Some(json!({"defaultCurrency": "eur"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["defaultCurrency"], "EUR");
    let (_, three) = app
        .get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
        .await;
    assert_eq!(
        (
            three["data"]["balance"].clone(),
            three["data"]["currency"].clone()
        ),
        (json!(20), json!("EUR"))
    );
    let (status, res) = app
        .call(
            reqwest::Method::PATCH,
            "/v1/users/profile",
            Some(&al.token),
            Some(json!({"defaultCurrency": "euro"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_field_error(&res, "defaultCurrency");

    // A group in two currencies: each member sees their own default one.
    let gid = app.group(&al, "Trip", &[&bo]).await;
    for (amount, currency) in [(10, "USD"), (30, "EUR")] {
        app.expense(
            &al,
            ExpenseBody::new("t", amount)
                .split(&bo, amount)
                .with("currency", currency)
                .in_group(&gid),
        )
        .await;
    }
    let path = format!("/v1/expenses/group/{gid}/balance");
    let (_, mine) = app.get(&path, &al.token).await;
    let data = &mine["data"];
    assert_eq!(
        (data["currency"].clone(), data["otherCurrencies"].clone()),
        (json!("EUR"), json!(true)),
        "{mine}"
    );
    assert_eq!(data["balances"][&al.id], 30, "{mine}");
    assert_eq!(
        data["balancesByCurrency"][&bo.id],
        json!({"EUR": -30, "USD": -10})
    );
    let (_, theirs) = app.get(&path, &bo.token).await;
    assert_eq!(theirs["data"]["currency"], "USD");
    assert_eq!(theirs["data"]["balances"][&bo.id], -10, "{theirs}");
}
