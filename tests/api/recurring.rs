//! Recurring expenses through HTTP against the real database: creating,
//! reading and listing series; refusals that name the field and store
//! nothing; catching up on past occurrences at once, with the right dates
//! (month ends, Feb 29, time zones ahead of and behind UTC); exactly once
//! with two server processes; pause, resume, skip, a new template for
//! future occurrences only; completion; a member leaving pauses a series;
//! who sees and who changes a series.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, TimeDelta, Utc};
use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_field_error, assert_ledger_consistent, binary, free_port, spawn_app, ExpenseBody,
    TestApp, User,
};

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn today_utc() -> NaiveDate {
    Utc::now().date_naive()
}

/// A series body: `expense` every `frequency` from `start` in `zone`.
fn series_body(expense: impl Into<Value>, frequency: &str, start: &str, zone: &str) -> Value {
    json!({
        "expense": expense.into(),
        "frequency": frequency,
        "interval": 1,
        "startDate": start,
        "timeZone": zone,
    })
}

/// Al pays 20, half each with Bo.
fn rent(al: &User, bo: &User) -> ExpenseBody {
    ExpenseBody::new("Rent", 20).split(al, 10).split(bo, 10)
}

async fn create(app: &TestApp, by: &User, body: Value) -> Value {
    let (status, res) = app.post("/v1/recurring", &by.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["success"], true);
    res["data"].clone()
}

async fn series(app: &TestApp, by: &User, id: &str) -> Value {
    let (status, res) = app.get(&format!("/v1/recurring/{id}"), &by.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    res["data"].clone()
}

/// Waits (up to 60 s: the suite runs many servers at once) until the series
/// says `n` occurrences were created.
async fn wait_created(app: &TestApp, by: &User, id: &str, n: i64) -> Value {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let s = series(app, by, id).await;
        if s["occurrencesCreated"] == n {
            return s;
        }
        assert!(Instant::now() < until, "not {n} occurrences in time: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The expenses `by` sees that series `id` created, by sequence.
async fn occurrences(app: &TestApp, by: &User, id: &str) -> Vec<Value> {
    let (status, res) = app.get("/v1/expenses?limit=100", &by.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let mut list: Vec<Value> = res["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|e| e["recurring"]["seriesId"] == id)
        .cloned()
        .collect();
    list.sort_by_key(|e| e["recurring"]["sequence"].as_i64());
    list
}

fn dates(expenses: &[Value]) -> Vec<String> {
    expenses
        .iter()
        .map(|e| e["date"].as_str().expect("date")[..10].to_owned())
        .collect()
}

fn sequences(expenses: &[Value]) -> Vec<i64> {
    expenses
        .iter()
        .map(|e| e["recurring"]["sequence"].as_i64().expect("sequence"))
        .collect()
}

async fn count(app: &TestApp, collection: &str) -> u64 {
    app.store()
        .await
        .database()
        .collection::<Document>(collection)
        .count_documents(doc! {})
        .await
        .expect("count")
}

#[tokio::test]
async fn recurring_series_is_created_read_and_listed_by_its_people_only() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let cy = app.user("Cy").await;
    let mut body = series_body(rent(&al, &bo), "monthly", "2099-01-31", "Europe/Paris");
    body["endAfter"] = json!(12);
    let made = create(&app, &al, body).await;
    let id = made["_id"].as_str().expect("id");
    assert_eq!(made["status"], "active");
    assert_eq!(made["nextSequence"], 1);
    assert_eq!(made["nextDate"], "2099-01-31");
    // 00:00 in Paris (UTC+1 in winter).
    assert_eq!(made["nextDueAt"], "2099-01-30T23:00:00.000Z");
    assert_eq!(made["frequency"], "monthly");
    assert_eq!(made["endAfter"], 12);
    assert_eq!(made["expense"]["description"], "Rent");

    for who in [&al, &bo] {
        assert_eq!(series(&app, who, id).await["_id"], id);
        let (status, res) = app.get("/v1/recurring", &who.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        assert_eq!(res["data"].as_array().unwrap().len(), 1, "{res}");
        assert_eq!(res["pagination"]["total"], 1);
    }
    // An outsider neither sees nor lists it.
    let (status, _) = app.get(&format!("/v1/recurring/{id}"), &cy.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, res) = app.get("/v1/recurring", &cy.token).await;
    assert_eq!(res["data"].as_array().unwrap().len(), 0, "{res}");
    let (status, _) = app
        .patch(
            &format!("/v1/recurring/{id}"),
            &cy.token,
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Bo is in it but did not create it: no changes.
    let (status, res) = app
        .patch(
            &format!("/v1/recurring/{id}"),
            &bo.token,
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    let (status, _) = app.delete(&format!("/v1/recurring/{id}"), &bo.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(series(&app, &al, id).await["status"], "active");
    // Nothing is due before 2099.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(occurrences(&app, &al, id).await.is_empty());
    // The creator deletes it.
    let (status, _) = app.delete(&format!("/v1/recurring/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&format!("/v1/recurring/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn recurring_refusals_name_the_field_and_store_nothing() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let cy = app.user("Cy").await;
    let good = || series_body(rent(&al, &bo), "weekly", "2020-01-01", "UTC");
    let with = |field: &str, value: Value| {
        let mut b = good();
        b[field] = value;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("frequency", json!("hourly")), "frequency"),
        (with("timeZone", json!("Mars/Olympus_Mons")), "timeZone"),
        (with("interval", json!(0)), "interval"),
        (with("interval", json!(1_000_000)), "interval"),
        (with("interval", json!("two")), "interval"),
        (with("endAfter", json!(0)), "endAfter"),
        (with("endAfter", json!(100_000)), "endAfter"),
        (with("startDate", json!("2024-02-30")), "startDate"),
        (with("startDate", json!("yesterday")), "startDate"),
        // Weekly since 1990: over 1000 occurrences due at once.
        (with("startDate", json!("1990-01-01")), "startDate"),
        (with("endDate", json!("2019-12-31")), "endDate"),
        (with("expense", json!(null)), "expense"),
        // Splits that do not add up to the amount.
        (
            with(
                "expense",
                ExpenseBody::new("Rent", 20)
                    .split(&al, 5)
                    .split(&bo, 5)
                    .json(),
            ),
            "expense.splitWith",
        ),
        // Cy is nobody's friend: POST /v1/expenses would refuse it.
        (
            with(
                "expense",
                ExpenseBody::new("Rent", 20)
                    .split(&al, 10)
                    .split(&cy, 10)
                    .json(),
            ),
            "expense",
        ),
    ];
    for (body, field) in cases {
        let (status, res) = app.post("/v1/recurring", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body} → {res}");
        assert_field_error(&res, field);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&app, "recurring").await, 0);
    assert_eq!(count(&app, "expenses").await, 0, "nothing was created");
    let (_, res) = app.get("/v1/recurring", &al.token).await;
    assert_eq!(res["pagination"]["total"], 0, "{res}");
}

#[tokio::test]
async fn recurring_daily_series_started_in_the_past_catches_up_at_once_exactly() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let today = today_utc();
    let start = today - TimeDelta::days(4);
    let made = create(
        &app,
        &al,
        series_body(rent(&al, &bo), "daily", &day(start), "UTC"),
    )
    .await;
    let id = made["_id"].as_str().unwrap();
    let s = wait_created(&app, &al, id, 5).await;
    // Nothing more than what is due: still 5 a moment later.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let list = occurrences(&app, &bo, id).await;
    assert_eq!(sequences(&list), [1, 2, 3, 4, 5]);
    let expected: Vec<String> = (0..5).map(|k| day(start + TimeDelta::days(k))).collect();
    assert_eq!(dates(&list), expected);
    assert_eq!(s["nextSequence"], 6);
    assert_eq!(s["nextDate"], day(today + TimeDelta::days(1)));
    assert_eq!(s["status"], "active");
    for e in &list {
        assert_eq!(e["amount"].as_f64(), Some(20.0), "{e}");
        assert_eq!(e["createdBy"]["_id"], al.id.as_str(), "{e}");
        assert_eq!(e["recurring"]["seriesId"], id);
    }
    // Balances: Bo owes Al 5 × 10.
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-50.0), "{b}");
    assert_ledger_consistent(&app).await;
    // Each occurrence is journaled as an ordinary expense, by the creator.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, res) = app.get("/v1/activity?limit=50", &bo.token).await;
        let created: Vec<&Value> = res["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "expense.created")
            .collect();
        if created.len() == 5 {
            assert!(created.iter().all(|i| i["actor"]["_id"] == al.id.as_str()));
            break;
        }
        assert!(Instant::now() < until, "{res}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `start` plus `k` months, the day clamped to the month's last day
/// (computed independently of the server's arithmetic).
fn clamped(start: NaiveDate, k: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap() + Months::new(k);
    let last = (first + Months::new(1)) - TimeDelta::days(1);
    NaiveDate::from_ymd_opt(first.year(), first.month(), start.day().min(last.day())).unwrap()
}

#[tokio::test]
async fn recurring_month_ends_and_february_29_are_clamped_and_series_complete() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let jan31 = NaiveDate::from_ymd_opt(today_utc().year() - 1, 1, 31).unwrap();
    let mut body = series_body(rent(&al, &bo), "monthly", &day(jan31), "UTC");
    body["endAfter"] = json!(4);
    let monthly = create(&app, &al, body).await;
    let mut body = series_body(rent(&al, &bo), "yearly", "2016-02-29", "UTC");
    body["endAfter"] = json!(5);
    let yearly = create(&app, &al, body).await;

    let id = monthly["_id"].as_str().unwrap();
    let s = wait_created(&app, &al, id, 4).await;
    let expected: Vec<String> = (0..4).map(|k| day(clamped(jan31, k))).collect();
    assert_eq!(expected[0][5..], *"01-31");
    assert_eq!(expected[2][5..], *"03-31");
    assert_eq!(expected[3][5..], *"04-30");
    assert_eq!(dates(&occurrences(&app, &al, id).await), expected);
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["nextDate"], Value::Null);

    let id = yearly["_id"].as_str().unwrap();
    let s = wait_created(&app, &al, id, 5).await;
    assert_eq!(
        dates(&occurrences(&app, &al, id).await),
        [
            "2016-02-29",
            "2017-02-28",
            "2018-02-28",
            "2019-02-28",
            "2020-02-29"
        ]
    );
    assert_eq!(s["status"], "completed");
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-90.0), "9 × 10: {b}");
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn recurring_series_fall_due_at_midnight_in_their_time_zone() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let now = Utc::now();
    // Today in Kiritimati (UTC+14) has begun: its occurrence is due.
    let kiritimati = (now + TimeDelta::hours(14)).date_naive();
    let mut body = series_body(
        rent(&al, &bo),
        "daily",
        &day(kiritimati),
        "Pacific/Kiritimati",
    );
    body["endAfter"] = json!(1);
    let ahead = create(&app, &al, body).await;
    // Tomorrow in Pago Pago (UTC−11) has not.
    let pago = (now - TimeDelta::hours(11)).date_naive() + TimeDelta::days(1);
    let behind = create(
        &app,
        &al,
        series_body(rent(&al, &bo), "daily", &day(pago), "Pacific/Pago_Pago"),
    )
    .await;
    let due = pago.and_hms_opt(11, 0, 0).unwrap().and_utc();
    assert_eq!(
        behind["nextDueAt"],
        due.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    );
    assert!(due > Utc::now());

    let id = ahead["_id"].as_str().unwrap();
    let s = wait_created(&app, &al, id, 1).await;
    assert_eq!(dates(&occurrences(&app, &al, id).await), [day(kiritimati)]);
    assert_eq!(s["status"], "completed");

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let id = behind["_id"].as_str().unwrap();
    let s = series(&app, &al, id).await;
    assert_eq!(s["occurrencesCreated"], 0, "{s}");
    assert_eq!(s["nextDate"], day(pago));
    assert_eq!(s["status"], "active");
    assert!(occurrences(&app, &al, id).await.is_empty());
}

fn start_binary(port: u16, db: &str) -> Child {
    binary("test")
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("MONGO_URL", crate::helpers::db_uri())
        .env("APP__DATABASE__NAME", db)
        .env("APP__RATE_LIMIT__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

#[tokio::test]
async fn recurring_occurrences_are_created_once_by_two_server_processes() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let port = free_port();
    let mut other = start_binary(port, &app.settings.database.name);
    let other_base = format!("http://127.0.0.1:{port}");
    let until = Instant::now() + Duration::from_secs(60);
    while !matches!(
        app.client.get(format!("{other_base}/v1/healthz")).send().await,
        Ok(r) if r.status() == StatusCode::OK
    ) {
        assert!(Instant::now() < until, "the second process did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Three series 40 days in the past, through both processes: both
    // schedulers see them due at once.
    let start = day(today_utc() - TimeDelta::days(39));
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = series_body(rent(&al, &bo), "daily", &start, "UTC");
        let res = if i % 2 == 0 {
            create(&app, &al, body).await
        } else {
            let res = app
                .client
                .post(format!("{other_base}/v1/recurring"))
                .bearer_auth(&al.token)
                .json(&body)
                .send()
                .await
                .expect("an answer");
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()["data"].clone()
        };
        ids.push(res["_id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        wait_created(&app, &al, id, 40).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = other.kill();
    let _ = other.wait();
    let (_, res) = app.get("/v1/expenses?limit=100", &al.token).await;
    assert_eq!(res["pagination"]["total"], 120, "exactly 3 × 40 expenses");
    let store = app.store().await;
    for id in &ids {
        let expenses: Vec<Document> = {
            use futures_util::TryStreamExt;
            store
                .database()
                .collection::<Document>("expenses")
                .find(doc! { "recurring.seriesId": mongodb::bson::oid::ObjectId::parse_str(id).unwrap() })
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap()
        };
        let seqs: BTreeSet<i64> = expenses
            .iter()
            .map(|e| {
                e.get_document("recurring")
                    .unwrap()
                    .get_i64("sequence")
                    .unwrap()
            })
            .collect();
        assert_eq!(expenses.len(), 40, "{id}");
        assert_eq!(seqs, (1..=40).collect::<BTreeSet<_>>(), "unique sequences");
    }
    assert_eq!(count(&app, "occurrences").await, 120);
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-1200.0), "{b}");
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn recurring_pause_skip_and_resume() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let made = create(
        &app,
        &al,
        series_body(rent(&al, &bo), "weekly", "2099-03-02", "UTC"),
    )
    .await;
    let id = made["_id"].as_str().unwrap();
    let path = format!("/v1/recurring/{id}");
    let (status, res) = app
        .patch(&path, &al.token, json!({"status": "paused"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["status"], "paused");
    assert!(res["data"]["pausedReason"].is_string(), "{res}");

    let (status, res) = app.patch(&path, &al.token, json!({"skip": true})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["nextSequence"], 2);
    assert_eq!(res["data"]["nextDate"], "2099-03-09");
    assert_eq!(res["data"]["occurrencesSkipped"], 1);
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .contains("Occurrence 1 (2099-03-02) is skipped"),
        "{res}"
    );

    let (status, res) = app
        .patch(&path, &al.token, json!({"status": "active"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["status"], "active");
    assert_eq!(res["data"]["pausedReason"], Value::Null);
    assert_eq!(res["data"]["nextDate"], "2099-03-09");

    let (status, res) = app
        .patch(&path, &al.token, json!({"status": "sleeping"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_field_error(&res, "status");

    // A past series paused creates nothing more; resumed, it does not
    // create what fell due while paused.
    let start = today_utc() - TimeDelta::days(2);
    let past = create(
        &app,
        &al,
        series_body(rent(&al, &bo), "daily", &day(start), "UTC"),
    )
    .await;
    let pid = past["_id"].as_str().unwrap();
    wait_created(&app, &al, pid, 3).await;
    let ppath = format!("/v1/recurring/{pid}");
    let (status, _) = app
        .patch(&ppath, &al.token, json!({"status": "paused"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, res) = app
        .patch(&ppath, &al.token, json!({"status": "active"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"]["nextSequence"], 4);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(occurrences(&app, &al, pid).await.len(), 3);
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-30.0), "{b}");
}

#[tokio::test]
async fn recurring_template_change_applies_to_future_occurrences_only() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let today = today_utc();
    let made = create(
        &app,
        &al,
        series_body(
            rent(&al, &bo),
            "daily",
            &day(today - TimeDelta::days(2)),
            "UTC",
        ),
    )
    .await;
    let id = made["_id"].as_str().unwrap();
    wait_created(&app, &al, id, 3).await;
    let path = format!("/v1/recurring/{id}");
    let new = ExpenseBody::new("Bigger rent", 30)
        .split(&al, 15)
        .split(&bo, 15);
    let (status, res) = app
        .patch(&path, &al.token, json!({"expense": new.json()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let tomorrow = day(today + TimeDelta::days(1));
    let message = res["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("applies from occurrence 4 ({tomorrow})")),
        "{message}"
    );
    assert_eq!(res["data"]["templateAppliesFrom"]["sequence"], 4);
    assert_eq!(
        res["data"]["templateAppliesFrom"]["date"],
        tomorrow.as_str()
    );
    assert_eq!(res["data"]["expense"]["description"], "Bigger rent");
    // What was created stays as it was.
    let list = occurrences(&app, &al, id).await;
    assert_eq!(list.len(), 3);
    assert!(list
        .iter()
        .all(|e| e["description"] == "Rent" && e["amount"] == 20.0));
    let b = app.friend_balance(&bo, &al).await;
    assert_eq!(b["balance"].as_f64(), Some(-30.0), "{b}");
    // A template POST /v1/expenses would refuse is refused here too.
    let (status, res) = app
        .patch(
            &path,
            &al.token,
            json!({"expense": ExpenseBody::new("Bad", 30).split(&al, 1).json()}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "expense.splitWith");
    assert_eq!(
        series(&app, &al, id).await["expense"]["description"],
        "Bigger rent"
    );
}

#[tokio::test]
async fn recurring_series_pause_when_a_member_leaves_or_a_friendship_ends() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let group = app.group(&al, "Flat", &[&bo, &cy]).await;
    let in_group = create(
        &app,
        &al,
        series_body(
            rent(&al, &bo).in_group(&group),
            "monthly",
            "2099-01-01",
            "UTC",
        ),
    )
    .await;
    let (status, res) = app
        .delete(&format!("/v1/groups/{group}/leave"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let s = series(&app, &al, in_group["_id"].as_str().unwrap()).await;
    assert_eq!(s["status"], "paused", "{s}");
    let reason = s["pausedReason"].as_str().unwrap();
    assert!(reason.contains("left the group"), "{reason}");
    // Resuming is refused while the template cannot be created.
    let (status, res) = app
        .patch(
            &format!("/v1/recurring/{}", s["_id"].as_str().unwrap()),
            &al.token,
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_field_error(&res, "expense");

    // A series the leave did not pause (say, written by an older replica)
    // and already due: the scheduler finds its template invalid, pauses it
    // and creates nothing.
    let sid = mongodb::bson::oid::ObjectId::parse_str(s["_id"].as_str().unwrap()).unwrap();
    let yesterday = day(today_utc() - TimeDelta::days(1));
    app.store()
        .await
        .database()
        .collection::<Document>("recurring")
        .update_one(
            doc! { "_id": sid },
            doc! { "$set": {
                "status": "active", "pausedReason": null, "startDate": &yesterday,
                "nextDate": &yesterday, "due": mongodb::bson::DateTime::from_millis(0),
            }, "$inc": { "version": 1 } },
        )
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    let s = loop {
        let s = series(&app, &al, &sid.to_hex()).await;
        if s["status"] == "paused" {
            break s;
        }
        assert!(Instant::now() < until, "not paused by the scheduler: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let reason = s["pausedReason"].as_str().unwrap();
    assert!(reason.contains("can no longer be created"), "{reason}");
    assert!(reason.contains("members of this group"), "{reason}");
    assert_eq!(s["occurrencesCreated"], 0);
    assert_eq!(count(&app, "expenses").await, 0);

    let between = create(
        &app,
        &al,
        series_body(
            ExpenseBody::new("Gym", 20).split(&al, 10).split(&cy, 10),
            "monthly",
            "2099-01-01",
            "UTC",
        ),
    )
    .await;
    let (status, _) = app
        .delete(&format!("/v1/users/friends/{}", cy.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let s = series(&app, &al, between["_id"].as_str().unwrap()).await;
    assert_eq!(s["status"], "paused", "{s}");
    assert!(s["pausedReason"].as_str().unwrap().contains("friendship"));
}

#[tokio::test]
async fn recurring_create_retried_with_an_idempotency_key_makes_one_series() {
    let app = spawn_app().await;
    let [al, bo] = app.with_friends(["Al", "Bo"]).await;
    let body = series_body(rent(&al, &bo), "monthly", "2099-01-01", "UTC");
    let mut answers = Vec::new();
    for _ in 0..2 {
        let res = app
            .client
            .post(app.url("/v1/recurring"))
            .bearer_auth(&al.token)
            .header("Idempotency-Key", "rent-series-1")
            .json(&body)
            .send()
            .await
            .expect("an answer");
        assert_eq!(res.status(), StatusCode::CREATED);
        answers.push(res.json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0]["data"]["_id"], answers[1]["data"]["_id"]);
    assert_eq!(count(&app, "recurring").await, 1);
}
