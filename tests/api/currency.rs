//! Currency conversion through HTTP: the rate table (the `splitlyr rates
//! import` command and `GET /v1/rates`), expenses booked in another
//! currency (table, given and implied rates), `convertTo` estimates,
//! conversions of open balances with their delete and restore, and the
//! optional HTTP rate source against a stand-in server.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    assert_field_error, assert_ledger_consistent, binary, db_uri, error_message, spawn_app,
    spawn_app_with, ExpenseBody, TestApp, User,
};

/// The ECB's daily file as published: a spaced header with a trailing
/// comma, the long date, an `N/A`, a withdrawn currency (CYP).
const DAILY: &str =
    "Date, USD, JPY, BGN, CYP, GBP, \n04 December 2026, 1.0812, 162.00, N/A, 0.5842, 0.8611, \n";

/// The ECB's historical file: ISO dates, newest first.
const HISTORY: &str =
    "Date,USD,JPY,GBP,\n2026-12-03,1.0800,161.00,0.8600,\n2026-12-01,1.0750,N/A,0.8590,\n";

/// Runs `splitlyr rates import` on `text` against the app's database;
/// its standard output.
fn import_rates(app: &TestApp, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("rates-{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, text).expect("rate file written");
    let out = binary("test")
        .args(["rates", "import", path.to_str().expect("a UTF-8 path")])
        .env("APP__DATABASE__URI", db_uri())
        .env("APP__DATABASE__NAME", &app.settings.database.name)
        .output()
        .expect("the import runs");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn rates(app: &TestApp, user: &User, query: &str) -> (StatusCode, Value) {
    app.get(&format!("/v1/rates{query}"), &user.token).await
}

/// Each currency → amount of `balances` (a friend balance's list).
fn by_currency(balance: &Value) -> Value {
    balance["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .map(|b| {
            (
                b["currency"].as_str().unwrap().to_owned(),
                b["amount"].clone(),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

async fn group_balance(app: &TestApp, by: &User, gid: &str, query: &str) -> Value {
    let path = format!("/v1/expenses/group/{gid}/balance{query}");
    let (status, body) = app.get(&path, &by.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn currency_rates_import_both_ecb_files_and_show_by_date() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let (status, _) = rates(&app, &al, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing known yet");

    let out = import_rates(&app, DAILY);
    assert!(
        out.contains("1 days of rates stored (1 new), 2026-12-04 to 2026-12-04"),
        "{out}"
    );
    assert!(out.contains("(N/A): 1"), "{out}");
    assert!(out.contains("CYP"), "{out}");
    let out = import_rates(&app, HISTORY);
    assert!(
        out.contains("2 days of rates stored (2 new), 2026-12-01 to 2026-12-03"),
        "{out}"
    );
    // Again: the same days, replaced by themselves.
    let out = import_rates(&app, DAILY);
    assert!(out.contains("(0 new)"), "{out}");

    let (status, latest) = rates(&app, &al, "").await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(
        latest["data"],
        json!({"date": "2026-12-04", "base": "EUR",
               "rates": {"GBP": "0.8611", "JPY": "162", "USD": "1.0812"}})
    );
    // The table in force on a day is the latest on or before it.
    let (_, on_2nd) = rates(&app, &al, "?date=2026-12-02").await;
    assert_eq!(
        on_2nd["data"],
        json!({"date": "2026-12-01", "base": "EUR", "rates": {"GBP": "0.859", "USD": "1.075"}})
    );
    let (_, on_4th) = rates(&app, &al, "?date=2026-12-04").await;
    assert_eq!(on_4th["data"]["date"], "2026-12-04");
    let (status, before) = rates(&app, &al, "?date=2026-11-30").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{before}");
    assert!(error_message(&before).contains("2026-11-30"));
    let (status, bad) = rates(&app, &al, "?date=4.12.2026").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_field_error(&bad, "date");
    let (status, _) = app
        .call(reqwest::Method::GET, "/v1/rates", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn currency_a_dated_expense_is_booked_at_the_table_rate_of_its_date() {
    let app = spawn_app().await;
    import_rates(&app, DAILY);
    import_rates(&app, HISTORY);
    let [al, bo, cy] = app.users(["Al", "Bo", "Cy"]).await;
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;

    // 100.00 USD on 2 December, split equally, booked in EUR: the table of
    // 1 December (USD 1.0750 per euro) gives 0.93023255814 → 93.02 EUR,
    // divided like the USD shares (33.34/33.33/33.33): 31.01/31.01/31.00.
    let body = json!({
        "description": "Museum", "amount": "100.00", "currency": "USD",
        "date": "2026-12-02", "groupId": gid, "splitType": "equal",
        "splitWith": [{"user": al.id}, {"user": bo.id}, {"user": cy.id}],
        "exchange": {"currency": "EUR"},
    });
    let expense = app.expense(&al, body).await;
    assert_eq!(expense["amount"], 100);
    assert_eq!(expense["currency"], "USD");
    assert_eq!(
        expense["exchange"],
        json!({"currency": "EUR", "rate": "0.93023255814", "amount": 93.02,
               "source": "table", "date": "2026-12-01"})
    );
    let balance = group_balance(&app, &al, &gid, "").await;
    assert_eq!(
        balance["balancesByCurrency"],
        json!({ &al.id: {"EUR": 62.01}, &bo.id: {"EUR": -31.01}, &cy.id: {"EUR": -31} }),
        "booked in EUR only, the shares summing to the converted total"
    );
    let (status, plan) = app
        .get(&format!("/v1/groups/{gid}/settle-up"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let transfers: Vec<(String, String, f64)> = plan["data"]["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"]["_id"].as_str().unwrap().to_owned(),
                t["currency"].as_str().unwrap().to_owned(),
                t["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(transfers.len(), 2, "{plan}");
    assert!(
        transfers.contains(&(bo.id.clone(), "EUR".into(), 31.01)),
        "{plan}"
    );
    assert!(
        transfers.contains(&(cy.id.clone(), "EUR".into(), 31.0)),
        "{plan}"
    );

    // A cross rate through the euro: JPY → USD on 4 December is
    // 1.0812 / 162 = 0.006674074074; 5000 JPY → 33.37 USD.
    let body = ExpenseBody::new("Ramen", 5000)
        .with("currency", "JPY")
        .with("date", "2026-12-05")
        .with("exchange", json!({"currency": "USD"}))
        .in_group(&gid)
        .paid_by(&bo)
        .split(&al, 5000);
    let ramen = app.expense(&bo, body).await;
    assert_eq!(
        ramen["exchange"],
        json!({"currency": "USD", "rate": "0.006674074074", "amount": 33.37,
               "source": "table", "date": "2026-12-04"})
    );
    let balance = group_balance(&app, &al, &gid, "").await;
    assert_eq!(
        balance["balancesByCurrency"][&al.id],
        json!({"EUR": 62.01, "USD": -33.37})
    );
    assert_eq!(
        balance["balancesByCurrency"][&bo.id],
        json!({"EUR": -31.01, "USD": 33.37})
    );

    // An edit of the description keeps the stored rate; a new date reads
    // the table again (3 December: USD 1.08 → 0.925925925926 → 92.59).
    let path = format!("/v1/expenses/{}", expense["_id"].as_str().unwrap());
    let (status, kept) = app
        .put(&path, &al.token, json!({"description": "Louvre"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["data"]["exchange"], expense["exchange"]);
    let (status, moved) = app
        .put(&path, &al.token, json!({"date": "2026-12-03"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        moved["data"]["exchange"],
        json!({"currency": "EUR", "rate": "0.925925925926", "amount": 92.59,
               "source": "table", "date": "2026-12-03"})
    );
    let balance = group_balance(&app, &al, &gid, "").await;
    assert_eq!(
        balance["balancesByCurrency"][&cy.id],
        json!({"EUR": -30.86})
    );
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn currency_a_given_rate_or_converted_amount_books_the_expense() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;

    // At a given rate: 100.00 USD × 0.9254 = 92.54 EUR, halves of 46.27.
    let given = ExpenseBody::new("Hotel", 100)
        .with("currency", "USD")
        .with("exchange", json!({"currency": "eur", "rate": "0.9254"}))
        .split(&al, 50)
        .split(&bo, 50);
    let given = app.expense(&al, given).await;
    assert_eq!(given["exchange"]["rate"], "0.9254");
    assert_eq!(given["exchange"]["amount"], 92.54);
    assert_eq!(given["exchange"]["source"], "given");
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 46.27})
    );

    // The card statement's total (fees included): 100.00 USD came to
    // 95.10 EUR, so the rate is 0.951 and the halves 47.55.
    let fee = ExpenseBody::new("Taxi", "100.00")
        .with("currency", "USD")
        .with("exchange", json!({"currency": "EUR", "amount": "95.10"}))
        .split(&al, 50)
        .split(&bo, 50);
    let fee = app.expense(&al, fee).await;
    assert_eq!(
        fee["exchange"],
        json!({"currency": "EUR", "rate": "0.951", "amount": 95.1, "source": "amount",
               "date": fee["date"].as_str().unwrap()[..10]})
    );
    assert_eq!(
        by_currency(&app.friend_balance(&bo, &al).await),
        json!({"EUR": -93.82})
    );

    // Editing the amount converts again: at the given rate, and at the
    // rate the converted amount implied (then stated as given).
    let edit = |e: &Value| format!("/v1/expenses/{}", e["_id"].as_str().unwrap());
    let doubled = json!({"amount": 200, "splitWith": [{"user": al.id, "amount": 100}, {"user": bo.id, "amount": 100}]});
    let (status, body) = app.put(&edit(&given), &al.token, doubled.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["exchange"]["amount"], 185.08);
    let (status, body) = app.put(&edit(&fee), &al.token, doubled).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["exchange"]["amount"], 190.2);
    assert_eq!(body["data"]["exchange"]["source"], "given");
    assert_eq!(body["data"]["exchange"]["rate"], "0.951");
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 187.64})
    );
    // null books it in its own currency again.
    let (status, body) = app
        .put(&edit(&fee), &al.token, json!({"exchange": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"].get("exchange").is_none(), "{body}");
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 92.54, "USD": 100})
    );

    // Bad input: 400 naming the field, nothing written.
    let cases = [
        (json!({"currency": "XQZ"}), "exchange.currency"),
        (json!({"currency": "USD", "rate": "1"}), "exchange.currency"),
        (json!({"currency": "EUR", "rate": "abc"}), "exchange.rate"),
        (json!({"currency": "EUR", "rate": "0"}), "exchange.rate"),
        (
            json!({"currency": "EUR", "rate": "1.0000000000001"}),
            "exchange.rate",
        ),
        (
            json!({"currency": "EUR", "rate": "1", "amount": "2"}),
            "exchange",
        ),
        (
            json!({"currency": "EUR", "amount": "-5"}),
            "exchange.amount",
        ),
        (
            json!({"currency": "EUR", "rate": "0.00001"}),
            "exchange.rate",
        ),
    ];
    for (exchange, field) in cases {
        let body = ExpenseBody::new("Bad", 10)
            .with("currency", "USD")
            .with("exchange", exchange.clone())
            .split(&bo, 10);
        let (status, res) = app.post("/v1/expenses", &al.token, body.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{exchange}: {res}");
        assert_field_error(&res, field);
    }
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["pagination"]["total"], 2, "{list}");

    // A payment is in one currency.
    let (status, res) = app
        .post(
            "/v1/payments",
            &bo.token,
            json!({"to": al.id, "amount": 5, "currency": "USD", "exchange": {"currency": "EUR"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "exchange");
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn currency_without_a_known_rate_the_expense_is_refused() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let body = |date: &str| {
        ExpenseBody::new("Dinner", 40)
            .with("currency", "USD")
            .with("date", date)
            .with("exchange", json!({"currency": "EUR"}))
            .split(&bo, 40)
    };
    let (status, res) = app
        .post("/v1/expenses", &al.token, body("2026-12-04").into())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "exchange");

    import_rates(&app, DAILY);
    // Before the first table, and a currency the table lacks.
    let (status, res) = app
        .post("/v1/expenses", &al.token, body("2026-11-01").into())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "exchange");
    assert!(error_message(&res).contains("2026-11-01"), "{res}");
    let chf = ExpenseBody::new("Fondue", 40)
        .with("currency", "USD")
        .with("date", "2026-12-04")
        .with("exchange", json!({"currency": "CHF"}))
        .split(&bo, 40);
    let (status, res) = app.post("/v1/expenses", &al.token, chf.into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "exchange");
    let (_, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(list["pagination"]["total"], 0, "nothing written: {list}");
    assert!(app.friend_balance(&al, &bo).await["balances"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn currency_convert_to_shows_estimates_without_changing_balances() {
    let app = spawn_app().await;
    import_rates(&app, DAILY);
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;
    // USD: Al +20, Bo −10, Cy −10. JPY: Bo +3000, Al −1000, Cy −2000.
    let usd = ExpenseBody::new("Gas", 30)
        .with("currency", "USD")
        .in_group(&gid)
        .split(&al, 10)
        .split(&bo, 10)
        .split(&cy, 10);
    app.expense(&al, usd).await;
    let jpy = ExpenseBody::new("Sushi", 3000)
        .with("currency", "JPY")
        .in_group(&gid)
        .paid_by(&bo)
        .split(&al, 1000)
        .split(&cy, 2000);
    app.expense(&bo, jpy).await;

    // Without convertTo the answers are as they were.
    let (status, plain) = app.get("/v1/users/balances", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(plain["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b.get("converted").is_none()));
    let before = group_balance(&app, &al, &gid, "").await;
    assert!(before.get("converted").is_none());

    // Al with Bo: Bo owes 10 USD, Al owes 1000 JPY. USD → EUR is
    // 1 / 1.0812 = 0.924898261191 (9.25), JPY → EUR 0.006172839506 (6.17).
    let (status, mine) = app.get("/v1/users/balances?convertTo=EUR", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let with_bo = mine["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["friend"]["_id"] == bo.id.as_str())
        .expect("a balance with Bo")
        .clone();
    assert_eq!(
        with_bo["converted"],
        json!({"currency": "EUR", "amount": 3.08, "rateDate": "2026-12-04", "estimate": true})
    );
    assert_eq!(by_currency(&with_bo), json!({"JPY": -1000, "USD": 10}));

    // The group: each currency converted so the balances still sum to zero.
    let converted = group_balance(&app, &al, &gid, "?convertTo=EUR").await;
    assert_eq!(
        converted["converted"],
        json!({"currency": "EUR", "rateDate": "2026-12-04", "estimate": true,
               "balances": { &al.id: 12.33, &bo.id: 9.27, &cy.id: -21.6 }})
    );
    assert_eq!(
        converted["balancesByCurrency"],
        before["balancesByCurrency"]
    );
    let (status, plan) = app
        .get(
            &format!("/v1/groups/{gid}/settle-up?convertTo=EUR"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let estimate = &plan["data"]["converted"];
    assert_eq!(estimate["estimate"], true, "{plan}");
    let mut transfers: Vec<(String, String, f64)> = estimate["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"]["_id"].as_str().unwrap().to_owned(),
                t["to"]["_id"].as_str().unwrap().to_owned(),
                t["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    transfers.sort_by(|a, b| a.2.total_cmp(&b.2));
    assert_eq!(
        transfers,
        vec![
            (cy.id.clone(), bo.id.clone(), 9.27),
            (cy.id.clone(), al.id.clone(), 12.33)
        ]
    );
    // The plain plan is still per currency.
    assert_eq!(plan["data"]["currencies"].as_array().unwrap().len(), 2);

    // Unknown codes and currencies without a rate: 400 naming convertTo.
    for query in ["?convertTo=XQZ", "?convertTo=CHF"] {
        let (status, res) = app
            .get(&format!("/v1/users/balances{query}"), &al.token)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_field_error(&res, "convertTo");
        let path = format!("/v1/groups/{gid}/settle-up{query}");
        let (status, res) = app.get(&path, &al.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert_field_error(&res, "convertTo");
    }
    assert_eq!(group_balance(&app, &al, &gid, "").await, before);
}

#[tokio::test]
async fn currency_convert_to_without_any_rates_names_convert_to() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let (status, res) = app.get("/v1/users/balances?convertTo=EUR", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "convertTo");
}

#[tokio::test]
async fn currency_a_conversion_with_a_friend_moves_our_balance_and_undoes_exactly() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    // Bo owes Al 10.01 USD, and 5 GBP beside it.
    let usd = ExpenseBody::new("Tickets", "20.02")
        .with("currency", "USD")
        .split(&al, "10.01")
        .split(&bo, "10.01");
    app.expense(&al, usd).await;
    let gbp = ExpenseBody::new("Tea", 10)
        .with("currency", "GBP")
        .split(&al, 5)
        .split(&bo, 5);
    app.expense(&al, gbp).await;
    let before = by_currency(&app.friend_balance(&al, &bo).await);
    assert_eq!(before, json!({"GBP": 5, "USD": 10.01}));

    // 10.01 USD at 0.9 = 9.009 → 9.01 EUR.
    let (status, res) = app
        .post(
            "/v1/conversions",
            &bo.token,
            json!({"friendId": al.id, "from": "USD", "to": "EUR", "rate": "0.9"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let conversion = res["data"].clone();
    assert_eq!(conversion["rate"], "0.9");
    assert_eq!(conversion["source"], "given");
    let moved: Vec<(String, f64, f64)> = conversion["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"].as_str().unwrap().to_owned(),
                m["from"].as_f64().unwrap(),
                m["to"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        moved.contains(&(al.id.clone(), 10.01, 9.01)),
        "{conversion}"
    );
    assert!(
        moved.contains(&(bo.id.clone(), -10.01, -9.01)),
        "{conversion}"
    );
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 9.01, "GBP": 5})
    );
    assert_eq!(
        by_currency(&app.friend_balance(&bo, &al).await),
        json!({"EUR": -9.01, "GBP": -5})
    );
    let id = conversion["_id"].as_str().unwrap().to_owned();

    // Its payments change only with it.
    let payment = conversion["payments"][0].as_str().unwrap().to_owned();
    let (status, shown) = app.get(&format!("/v1/payments/{payment}"), &al.token).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["data"]["conversion"], id.as_str());
    let (status, res) = app
        .put(
            &format!("/v1/payments/{payment}"),
            &bo.token,
            json!({"amount": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    let (status, res) = app
        .delete(&format!("/v1/payments/{payment}"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    // Read by either of us, not by Cy.
    let (status, _) = app.get(&format!("/v1/conversions/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&format!("/v1/conversions/{id}"), &cy.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Deleted: the balance is back in USD to the minor unit.
    let (status, res) = app
        .delete(&format!("/v1/conversions/{id}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(by_currency(&app.friend_balance(&al, &bo).await), before);
    let (_, shown) = app.get(&format!("/v1/conversions/{id}"), &bo.token).await;
    assert!(shown["data"]["deletedAt"].is_string(), "{shown}");
    let (status, _) = app
        .delete(&format!("/v1/conversions/{id}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_ledger_consistent(&app).await;

    // Restored: converted again, exactly as before.
    let restore = format!("/v1/conversions/{id}/restore");
    let (status, res) = app.post(&restore, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(res["data"].get("deletedAt").is_none(), "{res}");
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 9.01, "GBP": 5})
    );
    let (status, _) = app.post(&restore, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_ledger_consistent(&app).await;

    // Bad input names the field.
    let cases = [
        (json!({"from": "USD", "to": "EUR", "rate": 1}), "friendId"),
        (
            json!({"friendId": bo.id, "groupId": bo.id, "from": "USD", "to": "EUR"}),
            "friendId",
        ),
        (
            json!({"friendId": bo.id, "from": "USD", "to": "usd", "rate": 1}),
            "to",
        ),
        (
            json!({"friendId": bo.id, "from": "XQZ", "to": "EUR", "rate": 1}),
            "from",
        ),
        (json!({"friendId": bo.id, "to": "EUR", "rate": 1}), "from"),
        (
            json!({"friendId": bo.id, "from": "JPY", "to": "EUR", "rate": 1}),
            "from",
        ),
        (
            json!({"friendId": bo.id, "from": "GBP", "to": "EUR", "rate": "-1"}),
            "rate",
        ),
        (
            json!({"friendId": bo.id, "from": "GBP", "to": "EUR"}),
            "rate",
        ),
    ];
    for (body, field) in cases {
        let (status, res) = app.post("/v1/conversions", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {res}");
        assert_field_error(&res, field);
    }
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"EUR": 9.01, "GBP": 5})
    );
}

#[tokio::test]
async fn currency_a_group_conversion_moves_every_members_balance() {
    let app = spawn_app().await;
    import_rates(&app, DAILY);
    let [al, bo, cy] = app.users(["Al", "Bo", "Cy"]).await;
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;
    // USD: Al +80, Bo −30, Cy −50.
    let usd = ExpenseBody::new("Boat", 100)
        .with("currency", "USD")
        .in_group(&gid)
        .split(&al, 20)
        .split(&bo, 30)
        .split(&cy, 50);
    app.expense(&al, usd).await;
    let before = group_balance(&app, &al, &gid, "").await;

    // At 0.91234: 80 USD owed → 72.99 EUR, divided 27.37 / 45.62.
    let (status, res) = app
        .post(
            "/v1/conversions",
            &bo.token,
            json!({"groupId": gid, "from": "USD", "to": "EUR", "rate": 0.91234}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let id = res["data"]["_id"].as_str().unwrap().to_owned();
    let after = group_balance(&app, &al, &gid, "").await;
    assert_eq!(
        after["balancesByCurrency"],
        json!({ &al.id: {"EUR": 72.99}, &bo.id: {"EUR": -27.37}, &cy.id: {"EUR": -45.62} })
    );
    // A member who is not in it reads it too (the group's); its rate is the one given.
    let (status, shown) = app.get(&format!("/v1/conversions/{id}"), &cy.token).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["data"]["rate"], "0.91234");

    // Without a rate: the latest table's (USD → EUR 0.924898261191).
    let (status, res) = app
        .delete(&format!("/v1/conversions/{id}"), &cy.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(
        group_balance(&app, &al, &gid, "").await["balancesByCurrency"],
        before["balancesByCurrency"]
    );
    let (status, res) = app
        .post(
            "/v1/conversions",
            &al.token,
            json!({"groupId": gid, "from": "USD", "to": "EUR"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["data"]["source"], "table");
    assert_eq!(res["data"]["rate"], "0.924898261191");
    assert_eq!(res["data"]["rateDate"], "2026-12-04");
    // 80 → 73.99; 30/80 and 50/80 of it: 27.75 / 46.24 (the unit left over
    // to Bo's larger remainder).
    assert_eq!(
        group_balance(&app, &al, &gid, "").await["balancesByCurrency"],
        json!({ &al.id: {"EUR": 73.99}, &bo.id: {"EUR": -27.75}, &cy.id: {"EUR": -46.24} })
    );
    assert_ledger_consistent(&app).await;
}

/// A stand-in rate service on 127.0.0.1: answers every request with
/// `body`; the request lines it saw.
async fn stand_in(body: String) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0_u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request);
            log.lock()
                .unwrap()
                .push(text.lines().next().unwrap_or_default().to_owned());
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (address, seen)
}

#[tokio::test]
async fn currency_the_http_source_refreshes_the_table() {
    let latest = r#"{"amount":1.0,"base":"EUR","date":"2026-12-05","rates":{"USD":1.0833,"JPY":163.25,"XYZ":2.5}}"#;
    let (address, seen) = stand_in(latest.to_owned()).await;
    let app = spawn_app_with(|s| s.rates.source_url = format!("{address}/")).await;
    let al = app.user("Al").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let shown = loop {
        let (status, body) = rates(&app, &al, "").await;
        if status == StatusCode::OK {
            break body;
        }
        assert!(Instant::now() < deadline, "no rates after 15 s: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        shown["data"],
        json!({"date": "2026-12-05", "base": "EUR", "rates": {"JPY": "163.25", "USD": "1.0833"}})
    );
    assert_eq!(seen.lock().unwrap()[0], "GET /latest HTTP/1.1");

    // An answer larger than allowed is not read, and stores nothing.
    let big = format!(
        r#"{{"amount":1.0,"base":"EUR","date":"2026-12-06","rates":{{"USD":1.0833}},"pad":"{}"}}"#,
        "x".repeat(4096)
    );
    let (address, seen) = stand_in(big).await;
    let app = spawn_app_with(|s| {
        s.rates.source_url = address;
        s.rates.max_response_bytes = 2048;
    })
    .await;
    let al = app.user("Al").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while seen.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the source was never asked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = rates(&app, &al, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn currency_a_conversion_is_written_only_while_the_balance_is_as_read() {
    use mongodb::bson::{oid::ObjectId, DateTime};
    use splitlyr::domain::money::Currency;
    use splitlyr::store::expenses::conversions::{ConversionDoc, ReadBalance};
    use splitlyr::store::RateSource;

    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let gbp = ExpenseBody::new("Tea", 10)
        .with("currency", "GBP")
        .split(&al, 5)
        .split(&bo, 5);
    app.expense(&al, gbp).await;
    let id = |u: &User| ObjectId::parse_str(&u.id).unwrap();
    let store = app.store().await;
    let conversion = ConversionDoc {
        id: ObjectId::new(),
        created_by: id(&al),
        friend: Some(id(&bo)),
        group: None,
        from: Currency::parse("GBP").unwrap(),
        to: Currency::parse("EUR").unwrap(),
        rate: "1.15".into(),
        source: RateSource::Given,
        rate_date: "2026-12-04".into(),
        moved: Vec::new(),
        payments: Vec::new(),
        created_at: DateTime::now(),
        deleted_at: None,
    };
    // Bo owes Al 5.00 GBP; a conversion decided on 4.99 (read before a
    // change) misses and writes nothing.
    for (owed, written) in [(499, false), (500, true)] {
        let read = ReadBalance::Pair {
            me: id(&bo),
            other: id(&al),
            owed_to_me: -owed,
        };
        let done = store
            .insert_conversion(&conversion, &[read], &[], id(&al))
            .await
            .unwrap();
        assert_eq!(done, written, "read {owed}");
        let stored = store.conversion_by_id(conversion.id).await.unwrap();
        assert_eq!(stored.is_some(), written);
    }
    assert_eq!(
        by_currency(&app.friend_balance(&al, &bo).await),
        json!({"GBP": 5})
    );
}
