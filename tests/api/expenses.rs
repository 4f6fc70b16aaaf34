//! Tests for the expenses API: `/v1/expenses`, including the group views and
//! money handling end to end.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, error_message, spawn_app, ExpenseBody, TestApp, User};

const UNKNOWN_ID: &str = "0123456789abcdef01234567";

/// `splitWith` from (user, amount) pairs.
fn splits(parts: &[(&User, Value)]) -> Value {
    Value::Array(
        parts
            .iter()
            .map(|(u, amount)| json!({"user": u.id, "amount": amount}))
            .collect(),
    )
}

/// An expense body paid by the caller.
fn body(description: &str, amount: Value, parts: &[(&User, Value)]) -> Value {
    json!({"description": description, "amount": amount, "splitWith": splits(parts)})
}

/// `body` with extra fields merged in.
fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("extra is an object") {
        base[k] = v.clone();
    }
    base
}

fn id_of(v: &Value) -> String {
    v["_id"].as_str().expect("_id is a string").to_string()
}

/// A money value as an integer count of hundredths, after checking it is a JSON number.
fn cents(v: &Value) -> i64 {
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("not a JSON number: {v}"));
    (x * 100.0).round() as i64
}

/// Split amounts of an expense keyed by user id, as JSON numbers.
fn split_amounts(expense: &Value) -> BTreeMap<String, f64> {
    expense["splitWith"]
        .as_array()
        .expect("splitWith array")
        .iter()
        .map(|s| {
            (
                id_of(&s["user"]),
                s["amount"].as_f64().expect("amount is a number"),
            )
        })
        .collect()
}

fn split_of<'a>(expense: &'a Value, user: &User) -> &'a Value {
    expense["splitWith"]
        .as_array()
        .expect("splitWith array")
        .iter()
        .find(|s| s["user"]["_id"] == user.id.as_str())
        .unwrap_or_else(|| panic!("{} not in split: {expense}", user.name))
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("array").iter().map(id_of).collect()
}

fn is_iso_millis(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
    })
}

/// Posts an expense expecting a 400 and returns the message.
async fn rejected(app: &TestApp, by: &User, body: Value) -> String {
    let (status, res) = app.post("/v1/expenses", &by.token, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
    error_message(&res)
}

#[tokio::test]
async fn create_returns_the_populated_expense() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let (status, res) = app
        .post(
            "/v1/expenses",
            &al.token,
            body(" Dinner ", json!(30), &[(&al, json!(15)), (&bo, json!(15))]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["success"], true);
    assert_eq!(res["message"], "Expense created successfully");
    let e = &res["data"];
    assert_eq!(id_of(e).len(), 24);
    assert_eq!(e["description"], "Dinner");
    assert_eq!(e["title"], "Dinner", "the app prints title");
    assert!(e["amount"].is_number(), "{e}");
    assert_eq!(e["amount"].as_f64(), Some(30.0));
    assert_eq!(e["currency"], "USD");
    assert_eq!(e["category"], "other");
    assert_eq!(e["group"], Value::Null);
    assert_eq!(e["isSettled"], false);
    assert_eq!(
        e["createdBy"],
        json!({"_id": al.id, "name": "Al", "email": "al@example.com"})
    );
    assert_eq!(
        e["paidBy"],
        json!({"_id": al.id, "name": "Al", "email": "al@example.com", "profileImage": null})
    );
    for field in ["date", "createdAt", "updatedAt"] {
        assert!(is_iso_millis(&e[field]), "{field}: {e}");
    }
    let list = e["splitWith"].as_array().expect("splitWith");
    assert_eq!(list.len(), 2);
    for (s, u) in list.iter().zip([&al, &bo]) {
        assert_eq!(id_of(s).len(), 24);
        assert_eq!(
            s["user"],
            json!({"_id": u.id, "name": u.name, "email": u.email, "profileImage": null})
        );
        assert!(s["amount"].is_number(), "{s}");
        assert_eq!(s["amount"].as_f64(), Some(15.0));
        assert_eq!(s["settled"], false);
    }

    // It reads back the same; Bo (split user) sees it too.
    let (status, read) = app
        .get(&format!("/v1/expenses/{}", id_of(e)), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["message"], "Expense retrieved successfully");
    assert_eq!(&read["data"], e);

    // Optional fields.
    let e = app
        .expense(
            &al,
            with(
                // Al takes part: nobody books money between other people.
                body("Taxi", json!(12.5), &[(&al, json!(6.25)), (&bo, json!(6.25))]),
                json!({"paidBy": bo.id, "category": "Transport", "date": "2026-01-05T10:30:00Z", "notes": "airport"}),
            ),
        )
        .await;
    assert_eq!(e["paidBy"]["_id"], bo.id.as_str());
    assert_eq!(e["createdBy"]["_id"], al.id.as_str());
    assert_eq!(e["category"], "transport");
    assert_eq!(e["date"], "2026-01-05T10:30:00.000Z");
    assert_eq!(e["amount"].as_f64(), Some(12.5));
    assert_eq!(e["notes"], "airport");
}

#[tokio::test]
async fn hundred_split_three_ways_sums_exactly() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let third = 100.0_f64 / 3.0;
    assert_eq!(third.to_string(), "33.333333333333336", "the app's float");
    let e = app
        .expense(
            &al,
            body(
                "Groceries",
                json!(100),
                &[
                    (&al, json!(third)),
                    (&bo, json!(third)),
                    (&cy, json!(third)),
                ],
            ),
        )
        .await;
    let amounts: Vec<f64> = e["splitWith"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["amount"].as_f64().unwrap())
        .collect();
    // Largest remainder, ties to the earlier entry.
    assert_eq!(amounts, vec![33.34, 33.33, 33.33], "{e}");
    assert_eq!(
        e["splitWith"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| cents(&s["amount"]))
            .sum::<i64>(),
        10_000
    );
    assert_eq!(e["amount"].as_f64(), Some(100.0));

    // Stored that way, not just rendered.
    let (_, read) = app
        .get(&format!("/v1/expenses/{}", id_of(&e)), &cy.token)
        .await;
    assert_eq!(split_amounts(&read["data"]), split_amounts(&e));
    assert_eq!(split_amounts(&e)[&al.id], 33.34);

    // The same split in another order gives the extra cent to whoever comes first.
    let e = app
        .expense(
            &al,
            body(
                "Again",
                json!(100),
                &[
                    (&cy, json!(third)),
                    (&al, json!(third)),
                    (&bo, json!(third)),
                ],
            ),
        )
        .await;
    assert_eq!(split_of(&e, &cy)["amount"].as_f64(), Some(33.34));
    assert_eq!(split_of(&e, &al)["amount"].as_f64(), Some(33.33));
    assert_eq!(split_of(&e, &bo)["amount"].as_f64(), Some(33.33));
}

#[tokio::test]
async fn amounts_strings_tolerance_and_currencies() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;

    // Numeric strings.
    let e = app
        .expense(
            &al,
            body(
                "Lunch",
                json!("12.50"),
                &[(&al, json!("6.25")), (&bo, json!("6.25"))],
            ),
        )
        .await;
    assert_eq!(e["amount"].as_f64(), Some(12.5));
    assert!(e["amount"].is_number());
    assert_eq!(split_of(&e, &bo)["amount"].as_f64(), Some(6.25));

    // 0.01 off is tolerated and apportioned to the exact total.
    let e = app
        .expense(
            &al,
            body(
                "Close",
                json!(100),
                &[(&al, json!(50)), (&bo, json!(49.99))],
            ),
        )
        .await;
    assert_eq!(split_of(&e, &al)["amount"].as_f64(), Some(50.01));
    assert_eq!(split_of(&e, &bo)["amount"].as_f64(), Some(49.99));

    // More than 0.01 off is not.
    for parts in [
        [json!(50), json!(49.98)],
        [json!(50), json!(50.02)],
        [json!("60"), json!("60")],
    ] {
        let msg = rejected(
            &app,
            &al,
            body(
                "Off",
                json!(100),
                &[(&al, parts[0].clone()), (&bo, parts[1].clone())],
            ),
        )
        .await;
        assert_eq!(msg, "Split amounts must equal the total expense amount");
    }

    // JPY has no decimals.
    let e = app
        .expense(
            &al,
            with(
                body(
                    "Sushi",
                    json!(1000),
                    &[(&al, json!(333.33)), (&bo, json!(666.67))],
                ),
                json!({"currency": "jpy"}),
            ),
        )
        .await;
    assert_eq!(e["currency"], "JPY");
    assert_eq!(e["amount"], json!(1000));
    assert_eq!(split_of(&e, &al)["amount"].as_f64(), Some(333.0));
    assert_eq!(split_of(&e, &bo)["amount"].as_f64(), Some(667.0));
    // Three decimals for BHD.
    let e = app
        .expense(
            &al,
            with(
                body(
                    "Tea",
                    json!(10),
                    &[(&al, json!(3.333)), (&bo, json!(6.667))],
                ),
                json!({"currency": "BHD"}),
            ),
        )
        .await;
    assert_eq!(split_of(&e, &al)["amount"].as_f64(), Some(3.333));
}

#[tokio::test]
async fn amounts_with_more_decimals_than_the_currency_are_rounded() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    // The app sends parseFloat("12.345") and half of it to each.
    let e = app
        .expense(
            &al,
            body(
                "Typed",
                json!(12.345),
                &[(&al, json!(6.1725)), (&bo, json!(6.1725))],
            ),
        )
        .await;
    assert_eq!(e["amount"], json!(12.35), "half away from zero: {e}");
    assert_eq!(
        split_amounts(&e),
        BTreeMap::from([(al.id.clone(), 6.18), (bo.id.clone(), 6.17)])
    );
    let (_, read) = app
        .get(&format!("/v1/expenses/{}", id_of(&e)), &bo.token)
        .await;
    assert_eq!(read["data"]["amount"], json!(12.35), "stored: {read}");
    assert_eq!(split_amounts(&read["data"]), split_amounts(&e));

    // The 0.01 tolerance is measured against the amount as sent (12.345),
    // not the rounded one (12.35): 12.335 is in, 12.36 is out.
    let e = app
        .expense(
            &al,
            body(
                "Low",
                json!(12.345),
                &[(&al, json!(6.17)), (&bo, json!(6.165))],
            ),
        )
        .await;
    assert_eq!(e["amount"], json!(12.35));
    assert_eq!(
        split_amounts(&e),
        BTreeMap::from([(al.id.clone(), 6.18), (bo.id.clone(), 6.17)])
    );
    let msg = rejected(
        &app,
        &al,
        body(
            "High",
            json!(12.345),
            &[(&al, json!(6.18)), (&bo, json!(6.18))],
        ),
    )
    .await;
    assert_eq!(msg, "Split amounts must equal the total expense amount");

    // Other currencies round to their own minor unit; strings too.
    let e = app
        .expense(
            &al,
            with(
                body(
                    "Ramen",
                    json!(1000.5),
                    &[(&al, json!(500.25)), (&bo, json!(500.25))],
                ),
                json!({"currency": "JPY"}),
            ),
        )
        .await;
    assert_eq!(e["amount"], json!(1001));
    assert_eq!(
        split_amounts(&e),
        BTreeMap::from([(al.id.clone(), 501.0), (bo.id.clone(), 500.0)])
    );
    let e = app
        .expense(
            &al,
            body("Tiny", json!("10.001"), &[(&al, json!("10.001"))]),
        )
        .await;
    assert_eq!(e["amount"], json!(10));

    // An amount that rounds to nothing is still not an amount.
    for amount in [json!(0.004), json!("0.004")] {
        let b = body("Dust", amount.clone(), &[(&al, amount.clone())]);
        let (status, res) = app.post("/v1/expenses", &al.token, b).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount} -> {res}");
        assert_field_error(&res, "amount");
        assert_eq!(error_message(&res), "Amount must be greater than 0");
    }

    // Updates round the same way.
    let path = format!("/v1/expenses/{}", id_of(&read["data"]));
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({"amount": 20.005, "splitWith": splits(&[(&al, json!(10.0025)), (&bo, json!(10.0025))])}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["amount"], json!(20.01), "{res}");
    assert_eq!(
        split_amounts(&res["data"]),
        BTreeMap::from([(al.id.clone(), 10.01), (bo.id.clone(), 10.0)])
    );
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({"amount": 0.004, "splitWith": splits(&[(&al, json!(0.004))])}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "amount");
    assert_eq!(error_message(&res), "Amount must be greater than 0");
    let (_, read) = app.get(&path, &al.token).await;
    assert_eq!(read["data"]["amount"], json!(20.01), "unchanged: {read}");
}

#[tokio::test]
async fn invalid_expense_bodies_are_400() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let amount_cases = [
        json!(0),
        json!(-5),
        json!("abc"),
        json!(1e300),
        json!("NaN"),
        json!("Infinity"),
        json!(null),
    ];
    for amount in amount_cases {
        let b = body("Bad", amount.clone(), &[(&al, amount.clone())]);
        let (status, res) = app.post("/v1/expenses", &al.token, b).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount} -> {res}");
        assert_field_error(&res, "amount");
    }
    let msg = rejected(
        &app,
        &al,
        body("Neg", json!(10), &[(&al, json!(15)), (&bo, json!(-5))]),
    )
    .await;
    assert_eq!(msg, "Split amounts cannot be negative");

    let cases = [
        (
            json!({"amount": 10, "splitWith": splits(&[(&al, json!(10))])}),
            "description",
        ),
        (
            with(body("", json!(10), &[(&al, json!(10))]), json!({})),
            "description",
        ),
        (
            with(
                body(&"d".repeat(201), json!(10), &[(&al, json!(10))]),
                json!({}),
            ),
            "description",
        ),
        (json!({"description": "x", "amount": 10}), "splitWith"),
        (body("x", json!(10), &[]), "splitWith"),
        (
            body("x", json!(10), &[(&al, json!(5)), (&al, json!(5))]),
            "splitWith[1].user",
        ),
        (
            json!({"description": "x", "amount": 10, "splitWith": [{"user": "nope", "amount": 10}]}),
            "splitWith[0].user",
        ),
        (
            with(
                body("x", json!(10), &[(&al, json!(10))]),
                json!({"category": "bribes"}),
            ),
            "category",
        ),
        (
            with(
                body("x", json!(10), &[(&al, json!(10))]),
                json!({"currency": "DOLLARS"}),
            ),
            "currency",
        ),
        (
            with(
                body("x", json!(10), &[(&al, json!(10))]),
                json!({"date": "yesterday"}),
            ),
            "date",
        ),
        (
            with(
                body("x", json!(10), &[(&al, json!(10))]),
                json!({"paidBy": "nope"}),
            ),
            "paidBy",
        ),
        (
            with(
                body("x", json!(10), &[(&al, json!(10))]),
                json!({"groupId": "nope"}),
            ),
            "groupId",
        ),
    ];
    for (b, field) in cases {
        let (status, res) = app.post("/v1/expenses", &al.token, b.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b} -> {res}");
        assert_field_error(&res, field);
    }
    // Nothing was stored.
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["pagination"]["total"], 0, "{list}");
}

#[tokio::test]
async fn participants_without_a_group_must_be_friends() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await; // nobody's friend
    let dee = app.user("Dee").await;
    app.befriend(&bo, &dee).await; // Bo's friend, not Al's

    // A friend may pay.
    let e = app
        .expense(
            &al,
            with(
                body("Cab", json!(20), &[(&al, json!(10)), (&bo, json!(10))]),
                json!({"paidBy": bo.id}),
            ),
        )
        .await;
    assert_eq!(e["paidBy"]["_id"], bo.id.as_str());

    let msg = rejected(
        &app,
        &al,
        with(
            body("Cab", json!(20), &[(&al, json!(20))]),
            json!({"paidBy": cy.id}),
        ),
    )
    .await;
    assert_eq!(msg, "Payer must be you or one of your friends");
    let msg = rejected(
        &app,
        &al,
        with(
            body("Cab", json!(20), &[(&al, json!(20))]),
            json!({"paidBy": dee.id}),
        ),
    )
    .await;
    assert_eq!(msg, "Payer must be you or one of your friends");
    let msg = rejected(
        &app,
        &al,
        body("Cab", json!(20), &[(&al, json!(10)), (&cy, json!(10))]),
    )
    .await;
    assert_eq!(
        msg,
        "All split users must be you, the payer or your friends"
    );
    // A friend of the payer is not enough.
    let msg = rejected(
        &app,
        &al,
        with(
            body(
                "Cab",
                json!(20),
                &[(&al, json!(5)), (&bo, json!(5)), (&dee, json!(10))],
            ),
            json!({"paidBy": bo.id}),
        ),
    )
    .await;
    assert_eq!(
        msg,
        "All split users must be you, the payer or your friends"
    );

    let (status, res) = app
        .post(
            "/v1/expenses",
            &al.token,
            with(
                body("Cab", json!(20), &[(&al, json!(20))]),
                json!({"paidBy": UNKNOWN_ID}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    assert_eq!(error_message(&res), "Payer not found");

    // Only the first expense exists.
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(ids(&list["data"]), vec![id_of(&e)]);
}

#[tokio::test]
async fn participants_with_a_group_must_be_members() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    app.befriend(&al, &cy).await; // Al's friend, not in the group
    let eve = app.user("Eve").await;
    let gid = app.group(&al, "Flat", &[&bo]).await;
    // Bo adds Eve: she is a member but not Al's friend.
    let (status, res) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &bo.token,
            json!({"memberEmail": eve.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    rejected(
        &app,
        &al,
        body("Rent", json!(30), &[(&al, json!(15)), (&eve, json!(15))]),
    )
    .await;

    let in_group = |b: Value| with(b, json!({"groupId": gid}));
    let e = app
        .expense(
            &al,
            in_group(body(
                "Rent",
                json!(30),
                &[(&al, json!(15)), (&eve, json!(15))],
            )),
        )
        .await;
    assert_eq!(e["group"], json!({"_id": gid, "name": "Flat"}));
    let e = app
        .expense(
            &al,
            with(
                in_group(body(
                    "Power",
                    json!(9),
                    &[(&bo, json!(4.5)), (&al, json!(4.5))],
                )),
                json!({"paidBy": eve.id}),
            ),
        )
        .await;
    assert_eq!(e["paidBy"]["_id"], eve.id.as_str());

    // Updates check newcomers to the split the same way.
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{}", id_of(&e)),
            &al.token,
            json!({"splitWith": splits(&[(&al, json!(4.5)), (&cy, json!(4.5))])}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        error_message(&res),
        "All split users must be members of this group"
    );
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{}", id_of(&e)),
            &al.token,
            json!({"splitWith": splits(&[(&al, json!(3)), (&eve, json!(6))])}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(
        split_amounts(&res["data"]),
        BTreeMap::from([(al.id.clone(), 3.0), (eve.id.clone(), 6.0)])
    );

    let msg = rejected(
        &app,
        &al,
        in_group(body(
            "Rent",
            json!(30),
            &[(&al, json!(15)), (&cy, json!(15))],
        )),
    )
    .await;
    assert_eq!(msg, "All split users must be members of this group");
    let msg = rejected(
        &app,
        &al,
        with(
            in_group(body("Rent", json!(30), &[(&al, json!(30))])),
            json!({"paidBy": cy.id}),
        ),
    )
    .await;
    assert_eq!(msg, "Payer must be a member of this group");
    let msg = rejected(
        &app,
        &cy,
        in_group(body(
            "Rent",
            json!(30),
            &[(&cy, json!(15)), (&al, json!(15))],
        )),
    )
    .await;
    assert_eq!(msg, "You must be a member of this group");

    let (status, res) = app
        .post(
            "/v1/expenses",
            &al.token,
            with(
                body("Rent", json!(30), &[(&al, json!(30))]),
                json!({"groupId": UNKNOWN_ID}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    assert_eq!(error_message(&res), "Group not found");
    let (status, res) = app
        .post(
            "/v1/expenses",
            &al.token,
            in_group(with(
                body("Rent", json!(30), &[(&al, json!(30))]),
                json!({"paidBy": UNKNOWN_ID}),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
}

#[tokio::test]
async fn list_paginates_newest_first_and_filters() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let [cy, dee] = app.users(["Cy", "Dee"]).await;
    app.befriend(&al, &cy).await;
    app.befriend(&bo, &dee).await;
    let dated = |b: Value, date: &str| with(b, json!({"date": date}));

    let e1 = id_of(
        &app.expense(
            &al,
            dated(
                body("e1", json!(20), &[(&al, json!(10)), (&bo, json!(10))]),
                "2026-01-03",
            ),
        )
        .await,
    );
    let e2 = id_of(
        &app.expense(
            &al,
            dated(
                body("e2", json!(30), &[(&al, json!(15)), (&cy, json!(15))]),
                "2026-01-05",
            ),
        )
        .await,
    );
    let e3 = id_of(
        &app.expense(
            &bo,
            dated(
                body("e3", json!(40), &[(&bo, json!(20)), (&al, json!(20))]),
                "2026-01-01",
            ),
        )
        .await,
    );
    let e4 = id_of(
        &app.expense(
            &al,
            dated(body("e4", json!(10), &[(&cy, json!(10))]), "2026-01-04"),
        )
        .await,
    );
    let e5 = id_of(
        &app.expense(
            &al,
            with(
                dated(
                    body("e5", json!(10), &[(&bo, json!(5)), (&al, json!(5))]),
                    "2026-01-02",
                ),
                json!({"paidBy": bo.id}),
            ),
        )
        .await,
    );
    // Between Bo and Dee only, and the newest of all.
    let other = id_of(
        &app.expense(
            &bo,
            dated(body("other", json!(8), &[(&dee, json!(8))]), "2026-01-06"),
        )
        .await,
    );

    let (status, res) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["success"], true);
    assert_eq!(res["message"], "Expenses retrieved successfully");
    assert_eq!(
        ids(&res["data"]),
        vec![e2.clone(), e4.clone(), e1.clone(), e5.clone(), e3.clone()]
    );
    assert_eq!(
        res["pagination"],
        json!({"current": 1, "limit": 10, "pages": 1, "total": 5})
    );
    assert_eq!(res["data"][0]["date"], "2026-01-05T00:00:00.000Z");
    assert_eq!(res["data"][0]["splitWith"][1]["user"]["name"], "Cy");

    let (_, res) = app.get("/v1/expenses?page=1&limit=2", &al.token).await;
    assert_eq!(ids(&res["data"]), vec![e2.clone(), e4.clone()]);
    assert_eq!(
        res["pagination"],
        json!({"current": 1, "limit": 2, "pages": 3, "total": 5})
    );
    let (_, res) = app.get("/v1/expenses?page=2&limit=2", &al.token).await;
    assert_eq!(ids(&res["data"]), vec![e1.clone(), e5.clone()]);
    let (_, res) = app.get("/v1/expenses?page=3&limit=2", &al.token).await;
    assert_eq!(ids(&res["data"]), vec![e3.clone()]);
    assert_eq!(
        res["pagination"],
        json!({"current": 3, "limit": 2, "pages": 3, "total": 5})
    );
    let (status, res) = app.get("/v1/expenses?page=4&limit=2", &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["data"], json!([]));

    let (_, res) = app
        .get(&format!("/v1/expenses?friendId={}", bo.id), &al.token)
        .await;
    assert_eq!(ids(&res["data"]), vec![e1.clone(), e5.clone(), e3.clone()]);
    assert_eq!(res["pagination"]["total"], 3);
    let (_, res) = app
        .get(&format!("/v1/expenses?friendId={}", cy.id), &al.token)
        .await;
    assert_eq!(ids(&res["data"]), vec![e2.clone(), e4.clone()]);

    // Bo sees what he created, paid or shares in.
    let (_, res) = app.get("/v1/expenses", &bo.token).await;
    assert_eq!(
        ids(&res["data"]),
        vec![other.clone(), e1.clone(), e5.clone(), e3.clone()]
    );
    let (_, res) = app.get("/v1/expenses", &dee.token).await;
    assert_eq!(ids(&res["data"]), vec![other]);

    // Settling e1 completely moves it to settled=true.
    let settled = app.settle(&bo, &e1).await;
    assert_eq!(settled["isSettled"], true);
    let (_, res) = app.get("/v1/expenses?settled=true", &al.token).await;
    assert_eq!(ids(&res["data"]), vec![e1.clone()]);
    assert_eq!(res["pagination"]["total"], 1);
    let (_, res) = app.get("/v1/expenses?settled=false", &al.token).await;
    assert_eq!(ids(&res["data"]), vec![e2, e4, e5.clone(), e3.clone()]);
    assert_eq!(res["pagination"]["total"], 4);
    let (_, res) = app
        .get(
            &format!("/v1/expenses?settled=false&friendId={}&limit=1", bo.id),
            &al.token,
        )
        .await;
    assert_eq!(ids(&res["data"]), vec![e5]);
    assert_eq!(
        res["pagination"],
        json!({"current": 1, "limit": 1, "pages": 2, "total": 2})
    );

    for bad in [
        "page=0",
        "limit=0",
        "limit=101",
        "settled=maybe",
        "friendId=nope",
        "page=x",
    ] {
        let (status, res) = app.get(&format!("/v1/expenses?{bad}"), &al.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {res}");
        error_message(&res);
    }
    let (status, _) = app.call(Method::GET, "/v1/expenses", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn get_is_for_creator_payer_and_split_users() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let dee = app.user("Dee").await;
    app.befriend(&al, &dee).await;
    // Al creates, Bo pays, Bo and Cy share; Dee is Al's friend but not
    // involved. (In a group: outside one, Al would have to take part.)
    let group = app.group(&al, "Show night", &[&bo, &cy]).await;
    let e = app
        .expense(
            &al,
            with(
                body("Show", json!(50), &[(&bo, json!(25)), (&cy, json!(25))]),
                json!({"paidBy": bo.id, "groupId": group}),
            ),
        )
        .await;
    let path = format!("/v1/expenses/{}", id_of(&e));
    let creator = json!({"_id": al.id, "name": "Al", "email": "al@example.com"});
    for who in [&al, &bo, &cy] {
        let (status, res) = app.get(&path, &who.token).await;
        assert_eq!(status, StatusCode::OK, "{}: {res}", who.name);
        assert_eq!(res["data"]["_id"], e["_id"]);
        assert_eq!(res["data"]["amount"].as_f64(), Some(50.0));
        assert_eq!(res["data"]["createdBy"], creator, "{res}");
        assert_eq!(res["data"]["title"], "Show", "{res}");
    }
    // Lists populate a creator who is neither payer nor in the split.
    let (_, list) = app.get("/v1/expenses", &cy.token).await;
    assert_eq!(list["data"][0]["createdBy"], creator, "{list}");
    assert_eq!(list["data"][0]["title"], "Show", "{list}");
    let (status, res) = app.get(&path, &dee.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(
        error_message(&res),
        "You are not allowed to view this expense"
    );

    let (status, res) = app
        .get(&format!("/v1/expenses/{UNKNOWN_ID}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    assert_eq!(error_message(&res), "Expense not found");
    let (status, res) = app.get("/v1/expenses/not-an-id", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(error_message(&res), "Invalid expense ID format");
}

#[tokio::test]
async fn update_by_creator_or_payer_rechecks_splits() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let e = app
        .expense(
            &al,
            body("Dinner", json!(100), &[(&al, json!(50)), (&bo, json!(50))]),
        )
        .await;
    let path = format!("/v1/expenses/{}", id_of(&e));

    let (status, res) = app
        .put(&path, &bo.token, json!({"description": "Mine now"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(
        error_message(&res),
        "Only the creator or the payer can update this expense"
    );
    let (status, _) = app
        .put(&path, &cy.token, json!({"description": "Mine now"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The old splits no longer add up to a new amount.
    let (status, res) = app.put(&path, &al.token, json!({"amount": 120})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        error_message(&res),
        "Split amounts must equal the total expense amount"
    );
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({"splitWith": splits(&[(&al, json!(60)), (&bo, json!(60))])}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        error_message(&res),
        "Split amounts must equal the total expense amount"
    );

    let al_share = 40.004_f64;
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({
                "description": "Bigger dinner",
                "amount": "120",
                "category": "food",
                "date": "2026-02-01",
                "splitWith": splits(&[(&al, json!(al_share)), (&bo, json!(120.0 - al_share))]),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["message"], "Expense updated successfully");
    let u = &res["data"];
    assert_eq!(u["_id"], e["_id"]);
    assert_eq!(u["description"], "Bigger dinner");
    assert_eq!(u["amount"].as_f64(), Some(120.0));
    assert_eq!(u["category"], "food");
    assert_eq!(u["date"], "2026-02-01T00:00:00.000Z");
    assert_eq!(
        split_amounts(u),
        BTreeMap::from([(al.id.clone(), 40.0), (bo.id.clone(), 80.0)])
    );
    assert_eq!(u["paidBy"]["_id"], al.id.as_str());
    assert_eq!(u["createdAt"], e["createdAt"]);

    let (_, read) = app.get(&path, &bo.token).await;
    assert_eq!(&read["data"], u);

    for bad in [
        json!({"description": ""}),
        json!({"amount": 0}),
        json!({"amount": "abc"}),
        json!({"category": "x"}),
    ] {
        let (status, res) = app.put(&path, &al.token, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {res}");
        error_message(&res);
    }
    // New split users are checked like on create.
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({"splitWith": splits(&[(&al, json!(60)), (&cy, json!(60))])}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        error_message(&res),
        "All split users must be you, the payer or your friends"
    );
    let (_, read) = app.get(&path, &al.token).await;
    assert_eq!(&read["data"], u, "failed updates change nothing");

    let (status, _) = app
        .put(
            &format!("/v1/expenses/{UNKNOWN_ID}"),
            &al.token,
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .put("/v1/expenses/zzz", &al.token, json!({"description": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Once settled it is frozen.
    app.settle(&bo, &id_of(&e)).await;
    let (status, res) = app
        .put(&path, &al.token, json!({"description": "Too late"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(error_message(&res), "Cannot update a settled expense");
}

#[tokio::test]
async fn payer_may_update_and_unchanged_splits_keep_settled_state() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    app.befriend(&bo, &cy).await;
    // Al records an expense Bo paid.
    let e = app
        .expense(
            &al,
            with(
                body(
                    "Hotel",
                    json!(90),
                    &[(&al, json!(30)), (&bo, json!(30)), (&cy, json!(30))],
                ),
                json!({"paidBy": bo.id}),
            ),
        )
        .await;
    let path = format!("/v1/expenses/{}", id_of(&e));
    app.settle(&cy, &id_of(&e)).await;

    let (status, res) = app
        .put(&path, &bo.token, json!({"description": "Hotel, 2 nights"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["description"], "Hotel, 2 nights");
    assert_eq!(split_of(&res["data"], &cy)["settled"], true, "{res}");
    assert_eq!(split_of(&res["data"], &al)["settled"], false);
    assert_eq!(res["data"]["isSettled"], false);
}

#[tokio::test]
async fn payer_may_update_an_expense_whose_split_users_are_not_their_friends() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    app.befriend(&al, &cy).await; // Cy is Al's friend, not Bo's
    let e = app
        .expense(
            &al,
            with(
                body(
                    "Cab",
                    json!(20),
                    &[(&al, json!(4)), (&bo, json!(8)), (&cy, json!(8))],
                ),
                json!({"paidBy": bo.id}),
            ),
        )
        .await;
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{}", id_of(&e)),
            &bo.token,
            json!({"description": "Cab home"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the payer may update (contract): {res}"
    );
    assert_eq!(res["data"]["description"], "Cab home");
    assert_eq!(split_amounts(&res["data"]), split_amounts(&e));
}

#[tokio::test]
async fn delete_by_anyone_in_it() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let e1 = id_of(
        &app.expense(
            &al,
            body("One", json!(10), &[(&al, json!(5)), (&bo, json!(5))]),
        )
        .await,
    );
    let e2 = id_of(
        &app.expense(
            &al,
            with(
                body("Two", json!(10), &[(&al, json!(10))]),
                json!({"paidBy": bo.id}),
            ),
        )
        .await,
    );

    let (status, res) = app.delete(&format!("/v1/expenses/{e1}"), &cy.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(
        error_message(&res),
        "Only the people in this expense can delete it"
    );
    // Bo only owes a share, and may delete it (as in Splitwise).
    let (status, res) = app.delete(&format!("/v1/expenses/{e1}"), &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["message"], "Expense deleted successfully");
    let (status, _) = app.get(&format!("/v1/expenses/{e1}"), &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete(&format!("/v1/expenses/{e1}"), &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The payer, who did not create it.
    let (status, res) = app.delete(&format!("/v1/expenses/{e2}"), &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["data"], json!([]));
    assert_eq!(list["pagination"]["total"], 0);
    let (status, _) = app.delete("/v1/expenses/abc", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn settle_my_split() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let e = app
        .expense(
            &al,
            body(
                "Hotel",
                json!(90),
                &[(&al, json!(30)), (&bo, json!(30)), (&cy, json!(30))],
            ),
        )
        .await;
    let id = id_of(&e);
    let path = format!("/v1/expenses/{id}/settle");

    let dee = app.user("Dee").await;
    let (status, res) = app.patch(&path, &dee.token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(
        error_message(&res),
        "You are not part of this expense's split"
    );

    let (status, res) = app.patch(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["message"], "Your split has been settled");
    let s = &res["data"];
    assert_eq!(split_of(s, &bo)["settled"], true);
    assert!(is_iso_millis(&split_of(s, &bo)["settledAt"]), "{s}");
    assert_eq!(split_of(s, &cy)["settled"], false);
    assert_eq!(s["isSettled"], false, "Cy still owes");
    assert!(s.get("settledAt").is_none_or(Value::is_null), "{s}");

    let (status, res) = app.patch(&path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(error_message(&res), "Your split is already settled");

    // Cy settles: only the payer's own share is left, so the expense is settled.
    let s = app.settle(&cy, &id).await;
    assert_eq!(s["isSettled"], true, "{s}");
    assert!(is_iso_millis(&s["settledAt"]), "{s}");
    assert_eq!(split_of(&s, &al)["settled"], false);
    let (_, read) = app.get(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(read["data"]["isSettled"], true);
    assert_eq!(split_of(&read["data"], &bo)["settled"], true);

    // The creator who is not in the split (of a group expense) has nothing
    // to settle.
    let group = app.group(&al, "Gifts", &[&bo]).await;
    let e = app
        .expense(
            &al,
            with(
                body("Gift", json!(10), &[(&bo, json!(10))]),
                json!({"paidBy": bo.id, "groupId": group}),
            ),
        )
        .await;
    let (status, _) = app
        .patch(
            &format!("/v1/expenses/{}/settle", id_of(&e)),
            &al.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .patch(
            &format!("/v1/expenses/{UNKNOWN_ID}/settle"),
            &al.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch("/v1/expenses/bad/settle", &al.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn group_expenses_are_for_members() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let eve = app.user("Eve").await;
    let gid = app.group(&al, "Flat", &[&bo, &eve]).await;
    let in_group = |b: Value, date: &str| with(b, json!({"groupId": gid, "date": date}));
    let g1 = id_of(
        &app.expense(
            &al,
            in_group(
                body("g1", json!(10), &[(&al, json!(5)), (&bo, json!(5))]),
                "2026-03-01",
            ),
        )
        .await,
    );
    let g2 = id_of(
        &app.expense(
            &bo,
            in_group(
                body("g2", json!(20), &[(&al, json!(10)), (&bo, json!(10))]),
                "2026-03-03",
            ),
        )
        .await,
    );
    let g3 = id_of(
        &app.expense(
            &al,
            in_group(body("g3", json!(30), &[(&al, json!(30))]), "2026-03-02"),
        )
        .await,
    );
    // Not in the group.
    app.expense(
        &al,
        body("solo", json!(10), &[(&al, json!(5)), (&bo, json!(5))]),
    )
    .await;
    let other = app.group(&al, "Other", &[&bo]).await;
    app.expense(
        &al,
        with(
            body("other", json!(10), &[(&bo, json!(10))]),
            json!({"groupId": other}),
        ),
    )
    .await;

    // Eve takes part in none of them but sees them all.
    let (status, res) = app
        .get(&format!("/v1/expenses/group/{gid}"), &eve.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["message"], "Group expenses retrieved successfully");
    assert_eq!(ids(&res["data"]), vec![g2.clone(), g3.clone(), g1.clone()]);
    assert_eq!(
        res["pagination"],
        json!({"current": 1, "limit": 10, "pages": 1, "total": 3})
    );
    assert!(res["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["group"] == json!({"_id": gid, "name": "Flat"})));

    let (_, res) = app
        .get(
            &format!("/v1/expenses/group/{gid}?page=2&limit=2"),
            &al.token,
        )
        .await;
    assert_eq!(ids(&res["data"]), vec![g1.clone()]);
    assert_eq!(
        res["pagination"],
        json!({"current": 2, "limit": 2, "pages": 2, "total": 3})
    );

    app.settle(&bo, &g1).await;
    let (_, res) = app
        .get(&format!("/v1/expenses/group/{gid}?settled=true"), &al.token)
        .await;
    assert_eq!(ids(&res["data"]), vec![g1]);
    let (_, res) = app
        .get(
            &format!("/v1/expenses/group/{gid}?settled=false"),
            &al.token,
        )
        .await;
    assert_eq!(ids(&res["data"]), vec![g2, g3]);

    let (status, res) = app
        .get(&format!("/v1/expenses/group/{gid}"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(error_message(&res), "You are not a member of this group");
    let (status, _) = app
        .get(&format!("/v1/expenses/group/{UNKNOWN_ID}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, res) = app.get("/v1/expenses/group/nope", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(error_message(&res), "Invalid group ID format");
    let (status, _) = app
        .get(&format!("/v1/expenses/group/{gid}?limit=0"), &al.token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// `balances` of `GET /v1/expenses/group/:id/balance` in hundredths, by user id.
async fn group_balances(app: &TestApp, by: &User, gid: &str) -> (Value, BTreeMap<String, i64>) {
    let (status, res) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &by.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["success"], true);
    let balances = res["data"]["balances"]
        .as_object()
        .unwrap_or_else(|| panic!("balances object: {res}"))
        .iter()
        .map(|(k, v)| (k.clone(), cents(v)))
        .collect();
    (res["data"].clone(), balances)
}

#[tokio::test]
async fn group_balance_is_exact_and_honours_settled_splits() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let [cy, dee] = app.users(["Cy", "Dee"]).await;
    // Al's group: Al befriends Bo, Cy and Dee; Bo and Cy are not friends.
    let gid = app.group(&al, "Trip", &[&bo, &cy, &dee]).await;
    let in_group = |b: Value| with(b, json!({"groupId": gid}));
    let third = 100.0_f64 / 3.0;

    // E1: Al pays 90, three ways.
    app.expense(
        &al,
        in_group(body(
            "E1",
            json!(90),
            &[(&al, json!(30)), (&bo, json!(30)), (&cy, json!(30))],
        )),
    )
    .await;
    // E2: Bo pays 100, three ways as the app sends it: 33.34 (Al) + 33.33 + 33.33.
    let e2 = app
        .expense(
            &bo,
            in_group(body(
                "E2",
                json!(100),
                &[
                    (&al, json!(third)),
                    (&bo, json!(third)),
                    (&cy, json!(third)),
                ],
            )),
        )
        .await;
    assert_eq!(split_of(&e2, &al)["amount"].as_f64(), Some(33.34));
    // E3: Cy pays 12.50 for Bo alone.
    app.expense(
        &cy,
        in_group(body("E3", json!("12.50"), &[(&bo, json!("12.50"))])),
    )
    .await;
    // E4: Al pays 40 for Al and Cy; Cy settles later.
    let e4 = app
        .expense(
            &al,
            in_group(body("E4", json!(40), &[(&al, json!(20)), (&cy, json!(20))])),
        )
        .await;
    // Outside the group, Al pays 10 for Bo: counts between friends, not in the group.
    app.expense(&al, body("Coffee", json!(10), &[(&bo, json!(10))]))
        .await;

    // Before Cy settles E4:
    //   Al: +30 +30 (E1) -33.34 (E2) +20 (E4)      = 46.66
    //   Bo: -30 (E1) +33.34 +33.33 (E2) -12.50     = 24.17
    //   Cy: -30 (E1) -33.33 (E2) +12.50 -20 (E4)   = -70.83
    let (data, balances) = group_balances(&app, &dee, &gid).await;
    let expected = BTreeMap::from([
        (al.id.clone(), 4666),
        (bo.id.clone(), 2417),
        (cy.id.clone(), -7083),
        (dee.id.clone(), 0),
    ]);
    assert_eq!(balances, expected, "{data}");
    assert_eq!(balances.values().sum::<i64>(), 0);
    assert_eq!(data["totalExpenses"], 4);
    assert_eq!(
        data["balances"][&al.id].as_f64(),
        Some(46.66),
        "exact numbers: {data}"
    );
    assert_eq!(data["balances"][&cy.id].as_f64(), Some(-70.83), "{data}");
    assert_eq!(data["group"]["_id"], gid.as_str());
    assert_eq!(data["group"]["name"], "Trip");
    let members = data["group"]["members"].as_array().expect("members");
    let member_ids: BTreeSet<String> = members.iter().map(|m| id_of(&m["user"])).collect();
    assert_eq!(
        member_ids,
        BTreeSet::from([al.id.clone(), bo.id.clone(), cy.id.clone(), dee.id.clone()])
    );
    assert!(
        members
            .iter()
            .all(|m| m["user"]["name"].is_string() && m["role"].is_string()),
        "{data}"
    );

    // Settled splits no longer count (the contract's improvement).
    app.settle(&cy, &id_of(&e4)).await;
    let (data, balances) = group_balances(&app, &al, &gid).await;
    let expected = BTreeMap::from([
        (al.id.clone(), 2666),
        (bo.id.clone(), 2417),
        (cy.id.clone(), -5083),
        (dee.id.clone(), 0),
    ]);
    assert_eq!(balances, expected, "{data}");
    assert_eq!(balances.values().sum::<i64>(), 0);
    assert_eq!(data["balances"][&al.id].as_f64(), Some(26.66), "{data}");
    assert_eq!(data["balances"][&bo.id].as_f64(), Some(24.17), "{data}");
    assert_eq!(data["balances"][&cy.id].as_f64(), Some(-50.83), "{data}");
    assert_eq!(data["totalExpenses"], 4);

    // The friend view agrees, pair by pair (group and non-group expenses):
    //   Al/Bo: +30 (E1) -33.34 (E2) +10 (coffee) = 6.66 owed to Al
    //   Al/Cy: +30 (E1), E4 settled              = 30.00 owed to Al
    let b = app.friend_balance(&al, &bo).await;
    assert_eq!(b["balance"].as_f64(), Some(6.66), "{b}");
    assert_eq!(b["message"], "You are owed $6.66");
    assert_eq!(b["friend"]["_id"], bo.id.as_str());
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-6.66), "{b}");
    assert_eq!(b["message"], "You owe $6.66");
    let b = app.friend_balance(&al, &cy).await;
    assert_eq!(b["balance"].as_f64(), Some(30.0), "{b}");
    assert_eq!(b["message"], "You are owed $30.00");
    let b = app.friend_balance(&al, &dee).await;
    assert_eq!(b["balance"].as_f64(), Some(0.0), "{b}");

    // Cy leaves owing money: still listed so the balances still sum to zero.
    let (status, _) = app
        .delete(&format!("/v1/groups/{gid}/leave"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, balances) = group_balances(&app, &al, &gid).await;
    assert_eq!(balances, expected);
    assert_eq!(balances.values().sum::<i64>(), 0);

    // Members only.
    let (status, res) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(error_message(&res), "You are not a member of this group");
    let (status, _) = app
        .get(
            &format!("/v1/expenses/group/{UNKNOWN_ID}/balance"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/v1/expenses/group/nope/balance", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn empty_group_balance_is_all_zero() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let gid = app.group(&al, "Quiet", &[&bo]).await;
    let (data, balances) = group_balances(&app, &bo, &gid).await;
    assert_eq!(
        balances,
        BTreeMap::from([(al.id.clone(), 0), (bo.id.clone(), 0)])
    );
    assert_eq!(data["totalExpenses"], 0);
    assert_eq!(data["balances"][&al.id], json!(0));
}

#[tokio::test]
async fn an_edit_that_leaves_only_settled_debts_settles_the_expense() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let e = app
        .expense(
            &al,
            ExpenseBody::new("Lunch", 30)
                .split(&al, 10)
                .split(&bo, 10)
                .split(&cy, 10),
        )
        .await;
    let eid = e["_id"].as_str().unwrap();
    let (status, _) = app
        .patch(&format!("/v1/expenses/{eid}/settle"), &bo.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Cy drops out; Bo's settled share is all that is owed.
    let (status, body) = app
        .put(
            &format!("/v1/expenses/{eid}"),
            &al.token,
            json!({"amount": 20, "splitWith": [
            {"user": al.id, "amount": 10}, {"user": bo.id, "amount": 10}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["isSettled"], true, "{body}");
    assert!(body["data"]["settledAt"].is_string(), "{body}");
    let (status, _) = app
        .put(
            &format!("/v1/expenses/{eid}"),
            &al.token,
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_expense_whose_creator_is_gone_still_renders() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let e = app
        .expense(
            &al,
            with(
                body("Gift", json!(10), &[(&al, json!(5)), (&bo, json!(5))]),
                json!({"paidBy": bo.id}),
            ),
        )
        .await;
    let al_id = mongodb::bson::oid::ObjectId::parse_str(&al.id).expect("id");
    let store = app.store().await;
    let deleted = store
        .database()
        .collection::<mongodb::bson::Document>("users")
        .delete_one(mongodb::bson::doc! { "_id": al_id })
        .await
        .expect("delete");
    assert_eq!(deleted.deleted_count, 1);

    let (status, res) = app
        .get(&format!("/v1/expenses/{}", id_of(&e)), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let creator = &res["data"]["createdBy"];
    assert_eq!(creator["_id"], al.id.as_str(), "{res}");
    assert!(
        creator["name"].is_string() && creator["email"] == "",
        "{res}"
    );
    assert_eq!(res["data"]["paidBy"]["name"], "Bo");
    let (status, list) = app.get("/v1/expenses", &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(&list["data"][0]["createdBy"], creator, "{list}");
}

#[tokio::test]
async fn update_changes_the_payer_and_settlements_start_over() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let dee = app.user("Dee").await;
    app.befriend(&bo, &dee).await; // Bo's friend, not Al's
                                   // Bo sees Cy's email (read back below) only as Cy's friend.
    app.befriend(&bo, &cy).await;
    let e = app
        .expense(
            &al,
            body(
                "Hotel",
                json!(90),
                &[(&al, json!(30)), (&bo, json!(30)), (&cy, json!(30))],
            ),
        )
        .await;
    let id = id_of(&e);
    let path = format!("/v1/expenses/{id}");
    app.settle(&bo, &id).await;

    // Naming the current payer changes nothing: Bo's repayment stands.
    let (status, res) = app
        .put(
            &path,
            &al.token,
            json!({"paidBy": al.id, "notes": "2 nights"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(split_of(&res["data"], &bo)["settled"], true, "{res}");

    // Bad payers are refused and change nothing.
    let before = app.get(&path, &al.token).await.1["data"].clone();
    let (status, res) = app.put(&path, &al.token, json!({"paidBy": "nope"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "paidBy");
    assert_eq!(error_message(&res), "Invalid payer ID format");
    let (status, res) = app
        .put(&path, &al.token, json!({"paidBy": UNKNOWN_ID}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    assert_eq!(error_message(&res), "Payer not found");
    let (status, res) = app.put(&path, &al.token, json!({"paidBy": dee.id})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        error_message(&res),
        "Payer must be you or one of your friends"
    );
    assert_eq!(app.get(&path, &al.token).await.1["data"], before);

    // Cy paid: every split is owed to Cy afresh, Bo's repayment to Al is void.
    let (status, res) = app.put(&path, &al.token, json!({"paidBy": cy.id})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let u = &res["data"];
    assert_eq!(
        u["paidBy"],
        json!({"_id": cy.id, "name": "Cy", "email": "cy@example.com", "profileImage": null})
    );
    assert_eq!(u["createdBy"]["_id"], al.id.as_str());
    for who in [&al, &bo, &cy] {
        let s = split_of(u, who);
        assert_eq!(s["settled"], false, "{}: {u}", who.name);
        assert!(s.get("settledAt").is_none_or(Value::is_null), "{u}");
    }
    assert_eq!(u["isSettled"], false);
    assert_eq!(split_amounts(u), split_amounts(&e));
    let (_, read) = app.get(&path, &bo.token).await;
    assert_eq!(&read["data"], u);
    // Al now owes Cy; Bo owes Cy, not Al.
    assert_eq!(app.friend_balance(&al, &cy).await["balance"], json!(-30));
    assert_eq!(app.friend_balance(&al, &bo).await["balance"], json!(0));
    // Cy, the payer now, may edit it; Bo may settle with Cy.
    let (status, res) = app
        .put(&path, &cy.token, json!({"description": "Hotel (Cy)"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let s = app.settle(&bo, &id).await;
    assert_eq!(split_of(&s, &bo)["settled"], true);
    assert_eq!(s["isSettled"], false, "Al still owes Cy");
}

#[tokio::test]
async fn update_changes_the_payer_within_a_group() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    app.befriend(&al, &cy).await; // Al's friend, not in the group
    let eve = app.user("Eve").await;
    let gid = app.group(&al, "Flat", &[&bo]).await;
    let (status, res) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &bo.token,
            json!({"memberEmail": eve.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let e = app
        .expense(
            &al,
            with(
                body("Rent", json!(30), &[(&al, json!(15)), (&bo, json!(15))]),
                json!({"groupId": gid}),
            ),
        )
        .await;
    let path = format!("/v1/expenses/{}", id_of(&e));

    // A friend outside the group may not pay a group expense.
    let (status, res) = app.put(&path, &al.token, json!({"paidBy": cy.id})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(error_message(&res), "Payer must be a member of this group");
    // A member who is not Al's friend may.
    let (status, res) = app.put(&path, &al.token, json!({"paidBy": eve.id})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["paidBy"]["_id"], eve.id.as_str());
    assert_eq!(res["data"]["group"]["_id"], gid.as_str());
    let (data, balances) = group_balances(&app, &bo, &gid).await;
    assert_eq!(
        balances,
        BTreeMap::from([
            (al.id.clone(), -1500),
            (bo.id.clone(), -1500),
            (eve.id.clone(), 3000),
        ]),
        "{data}"
    );
    // Eve now sees it in her list.
    let (_, list) = app.get("/v1/expenses", &eve.token).await;
    assert_eq!(ids(&list["data"]), vec![id_of(&e)]);
}

#[tokio::test]
async fn categories_accept_the_edit_screen_labels_and_return_codes() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let lunch = |category: &str| {
        with(
            body("Lunch", json!(20), &[(&al, json!(10)), (&bo, json!(10))]),
            json!({"category": category}),
        )
    };
    let cases = [
        ("Food & Dining", "food"),
        (" bills & utilities ", "utilities"),
        ("Groceries", "groceries"),
        ("HEALTHCARE", "healthcare"),
        ("education", "education"),
        ("transport", "transport"),
    ];
    for (sent, code) in cases {
        let e = app.expense(&al, lunch(sent)).await;
        assert_eq!(e["category"], code, "{sent}: {e}");
        let (_, read) = app
            .get(&format!("/v1/expenses/{}", id_of(&e)), &bo.token)
            .await;
        assert_eq!(read["data"]["category"], code, "stored: {read}");
    }

    let e = app.expense(&al, lunch("Other")).await;
    let path = format!("/v1/expenses/{}", id_of(&e));
    for (sent, code) in [
        ("Transportation", "transport"),
        ("Bills & Utilities", "utilities"),
    ] {
        let (status, res) = app.put(&path, &al.token, json!({"category": sent})).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        assert_eq!(res["data"]["category"], code, "{sent}: {res}");
        let (_, read) = app.get(&path, &al.token).await;
        assert_eq!(read["data"]["category"], code, "stored: {read}");
    }

    for bad in ["Food and Dining", "Bills", ""] {
        let (status, res) = app.post("/v1/expenses", &al.token, lunch(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?} -> {res}");
        assert_field_error(&res, "category");
        let (status, res) = app.put(&path, &al.token, json!({"category": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?} -> {res}");
        assert_field_error(&res, "category");
    }
}
