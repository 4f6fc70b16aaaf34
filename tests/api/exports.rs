//! The exports, through HTTP: a group's expenses in Splitwise's CSV layout
//! (exact text, nets, totals equal to the group's balances), my own with
//! the list's filters, JSON lines, who may export, the download headers.

use std::collections::BTreeMap;

use mongodb::bson::doc;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, ExpenseBody, TestApp, User};

/// GET `path` with `token`: status, headers and the body as text.
async fn download(app: &TestApp, path: &str, token: &str) -> (StatusCode, HeaderMap, String) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request is sent");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.expect("body is read"))
}

/// The CSV's records (RFC 4180), blank lines kept as empty records.
fn records(text: &str) -> Vec<Vec<String>> {
    text.split("\r\n")
        .map(|line| {
            if line.is_empty() {
                return Vec::new();
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = reader
                .records()
                .next()
                .expect("a record")
                .expect("valid CSV");
            record.iter().map(str::to_owned).collect()
        })
        .collect()
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn pay(app: &TestApp, by: &User, body: Value) {
    let (status, res) = app.post("/v1/payments", &by.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
}

/// Al's group "Trip to Rome" with Bo, a second Al and Cy, and a history in
/// three currencies: a dinner with a comma and quotes in its name, a taxi
/// whose name a spreadsheet would run, a hotel two people paid, sushi in
/// yen and a payment.
async fn rome(app: &TestApp) -> ([User; 4], String) {
    let al = app.user("Al").await;
    let bo = app.user("Bo").await;
    let al2 = app.register("Al", "al.two@example.com").await;
    let cy = app.user("Cy").await;
    let gid = app.group(&al, "Trip to Rome", &[&bo, &al2, &cy]).await;
    let expense = |desc: &str, amount: Value, date: &str| {
        ExpenseBody::new(desc, amount)
            .in_group(&gid)
            .with("date", date)
    };
    let dinner = expense("Dinner, \"fancy\"", json!(60), "2026-03-01T19:00:00Z")
        .with("category", "food")
        .split(&al, 20)
        .split(&bo, 20)
        .split(&al2, 20);
    app.expense(&al, dinner).await;
    let taxi = expense("=HYPERLINK(\"x\")", json!(10), "2026-03-02T09:00:00Z")
        .with("category", "transport")
        .with("currency", "EUR")
        .split(&bo, 5)
        .split(&cy, 5);
    app.expense(&bo, taxi).await;
    let hotel = expense("Hotel", json!(90), "2026-03-03T12:00:00Z")
        .with("category", "travel")
        .with(
            "paidBy",
            json!([{"user": al.id, "amount": 60}, {"user": cy.id, "amount": 30}]),
        )
        .split(&al, 30)
        .split(&bo, 30)
        .split(&cy, 30);
    app.expense(&al, hotel).await;
    let sushi = expense("Sushi", json!(3000), "2026-03-04T12:00:00Z")
        .with("currency", "JPY")
        .split(&cy, 1500)
        .split(&al2, 1500);
    app.expense(&cy, sushi).await;
    let payment =
        json!({"to": al.id, "amount": 20, "groupId": gid, "date": "2026-03-05T08:00:00Z"});
    pay(app, &bo, payment).await;
    ([al, bo, al2, cy], gid)
}

#[tokio::test]
async fn exports_a_group_in_splitwise_layout_exactly() {
    let app = spawn_app().await;
    let ([al, ..], gid) = rome(&app).await;

    let path = format!("/v1/groups/{gid}/export.csv");
    let (status, headers, text) = download(&app, &path, &al.token).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    let today = today();
    let expected = [
        "Date,Description,Category,Cost,Currency,Al,Bo,Al (2),Cy",
        "",
        "2026-03-01,\"Dinner, \"\"fancy\"\"\",Dining out,60.00,USD,40.00,-20.00,-20.00,0.00",
        "2026-03-02,\"'=HYPERLINK(\"\"x\"\")\",Transportation,10.00,EUR,0.00,5.00,0.00,-5.00",
        "2026-03-03,Hotel,Travel,90.00,USD,30.00,-30.00,0.00,0.00",
        "2026-03-04,Sushi,General,3000,JPY,0,0,-1500,1500",
        "2026-03-05,Payment,Payment,20.00,USD,-20.00,20.00,0.00,0.00",
        "",
        &format!("{today},Total balance, , ,EUR,0.00,5.00,0.00,-5.00"),
        &format!("{today},Total balance, , ,JPY,0,0,-1500,1500"),
        &format!("{today},Total balance, , ,USD,50.00,-30.00,-20.00,0.00"),
        "",
    ]
    .join("\r\n");
    assert_eq!(text, expected);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"splitlyr-trip-to-rome-{today}.csv\"").as_str()
    );
}

/// Minor units of a decimal cell (`-6.25` → -625 with 2 decimals).
fn minor(cell: &str) -> i64 {
    let (whole, fraction) = cell.split_once('.').unwrap_or((cell, ""));
    let negative = whole.starts_with('-');
    let digits = format!("{}{fraction}", whole.trim_start_matches('-'));
    let value: i64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("a number: {cell}"));
    if negative {
        -value
    } else {
        value
    }
}

#[tokio::test]
async fn every_row_sums_to_zero_and_the_totals_are_the_group_balances() {
    let app = spawn_app().await;
    let ([al, bo, al2, cy], gid) = rome(&app).await;
    // A settled share (repaid outside the group's payments), and a member
    // who had an expense and then left: still a column, after the members.
    let dee = app.user("Dee").await;
    let (status, res) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &al.token,
            json!({"memberEmail": dee.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let lunch = ExpenseBody::new("Lunch", 30)
        .in_group(&gid)
        .split(&bo, 15)
        .split(&dee, 15);
    let lunch = app.expense(&al, lunch).await;
    app.settle(&bo, lunch["_id"].as_str().unwrap()).await;
    let (status, res) = app
        .delete(&format!("/v1/groups/{gid}/members/{}", dee.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");

    let path = format!("/v1/groups/{gid}/export.csv");
    let (status, _, text) = download(&app, &path, &cy.token).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    let rows = records(&text);
    assert_eq!(rows[0][5..], ["Al", "Bo", "Al (2)", "Cy", "Dee"], "{text}");
    let people = [&al, &bo, &al2, &cy, &dee];
    let blank = rows
        .iter()
        .skip(2)
        .position(Vec::is_empty)
        .expect("a blank line")
        + 2;
    assert_eq!(blank, 8, "six documents: {text}");
    for row in &rows[2..blank] {
        let sum: i64 = row[5..].iter().map(|c| minor(c)).sum();
        assert_eq!(sum, 0, "{row:?}");
    }
    let (status, balance) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{balance}");
    let by_currency = &balance["data"]["balancesByCurrency"];
    let totals = &rows[blank + 1..rows.len() - 1];
    assert_eq!(totals.len(), 3, "{text}");
    for total in totals {
        assert_eq!(total[1], "Total balance");
        let currency = total[4].as_str();
        for (person, cell) in people.iter().zip(&total[5..]) {
            let expected = by_currency[&person.id][currency].as_f64().unwrap_or(0.0);
            let got: f64 = cell.parse().expect("a number");
            assert_eq!(
                got, expected,
                "{} in {currency}: {text}\n{balance}",
                person.name
            );
        }
    }
    // Lunch: Al paid 30, Bo's settled share went back to him, Dee owes 15.
    let lunch_row = rows.iter().find(|r| r.get(1).is_some_and(|d| d == "Lunch"));
    assert_eq!(
        lunch_row.expect("the lunch")[5..],
        ["15.00", "0.00", "0.00", "0.00", "-15.00"]
    );

    // The group keeps who took part (Dee among them): the export read no
    // expenses for its columns. A group from before that (no `people`)
    // gathers them once from its expenses, with the same columns.
    let groups = app
        .store()
        .await
        .database()
        .collection::<mongodb::bson::Document>("groups");
    let id = mongodb::bson::oid::ObjectId::parse_str(&gid).unwrap();
    let stored = groups.find_one(doc! { "_id": id }).await.unwrap().unwrap();
    assert_eq!(stored.get_bool("peopleComplete"), Ok(true), "{stored}");
    let dee_id = mongodb::bson::oid::ObjectId::parse_str(&dee.id).unwrap();
    assert!(
        stored.get_array("people").unwrap().contains(&dee_id.into()),
        "{stored}"
    );
    groups
        .update_one(
            doc! { "_id": id },
            doc! { "$unset": { "people": "", "peopleComplete": "" } },
        )
        .await
        .unwrap();
    let (_, _, again) = download(&app, &path, &cy.token).await;
    assert_eq!(records(&again)[0], rows[0], "{again}");
    let stored = groups.find_one(doc! { "_id": id }).await.unwrap().unwrap();
    assert_eq!(stored.get_bool("peopleComplete"), Ok(true), "{stored}");
    assert!(
        stored.get_array("people").unwrap().contains(&dee_id.into()),
        "{stored}"
    );
}

#[tokio::test]
async fn only_members_export_a_group() {
    let app = spawn_app().await;
    let ([al, ..], gid) = rome(&app).await;
    let outsider = app.user("Eve").await;

    let path = format!("/v1/groups/{gid}/export.csv");
    let (status, _, text) = download(&app, &path, &outsider.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    let body: Value = serde_json::from_str(&text).expect("the error envelope");
    assert_eq!(body["success"], false);
    assert!(!text.contains("Dinner"), "{text}");

    let unknown = "/v1/groups/65a1b2c3d4e5f60718293a4b/export.csv";
    let (status, _, _) = download(&app, unknown, &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = download(&app, "/v1/groups/nope/export.csv", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = download(&app, &format!("{path}?format=xml"), &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn json_lines_carry_every_field_with_ids() {
    let app = spawn_app().await;
    let ([al, bo, _, cy], gid) = rome(&app).await;

    let path = format!("/v1/groups/{gid}/export.csv?format=json");
    let (status, headers, text) = download(&app, &path, &bo.token).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.ends_with(".jsonl\""), "{disposition}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 5, "{text}");
    let hotel = &lines[2];
    assert_eq!(hotel["description"], "Hotel");
    assert_eq!(hotel["type"], "expense");
    assert_eq!(hotel["amount"], "90.00");
    assert_eq!(hotel["currency"], "USD");
    assert_eq!(hotel["category"], "travel");
    assert_eq!(hotel["date"], "2026-03-03T12:00:00.000Z");
    assert_eq!(hotel["group"], json!({"id": gid, "name": "Trip to Rome"}));
    assert_eq!(hotel["splitType"], "exact");
    assert_eq!(hotel["version"], 1);
    assert_eq!(hotel["createdBy"], json!({"id": al.id, "name": "Al"}));
    assert_eq!(
        hotel["payers"],
        json!([
            {"user": {"id": al.id, "name": "Al"}, "amount": "60.00", "input": null},
            {"user": {"id": cy.id, "name": "Cy"}, "amount": "30.00", "input": null},
        ])
    );
    let split = &hotel["splits"][1];
    assert_eq!(split["user"], json!({"id": bo.id, "name": "Bo"}));
    assert_eq!(
        (&split["amount"], &split["settled"]),
        (&json!("30.00"), &json!(false))
    );
    assert_eq!(split["id"].as_str().map(str::len), Some(24));
    assert!(hotel.get("exchange").is_none(), "none stored: {hotel}");
    for line in &lines {
        assert_eq!(line["id"].as_str().map(str::len), Some(24), "{line}");
    }
    assert_eq!(lines[4]["type"], "payment");
    assert_eq!(lines[3]["amount"], "3000");
}

#[tokio::test]
async fn my_export_has_my_columns_and_the_list_filters() {
    let app = spawn_app().await;
    let ([al, bo, al2, cy], gid) = rome(&app).await;
    app.befriend(&bo, &cy).await;
    // Outside the group: Bo and Cy, and Cy with someone Bo does not know.
    let taxi = ExpenseBody::new("Taxi", 12)
        .with("date", "2026-04-01T10:00:00Z")
        .split(&bo, 6)
        .split(&cy, 6);
    app.expense(&cy, taxi).await;
    let dee = app.user("Dee").await;
    app.befriend(&cy, &dee).await;
    app.expense(&cy, ExpenseBody::new("Secret", 8).split(&dee, 8))
        .await;

    let (status, headers, text) = download(&app, "/v1/expenses/export.csv", &bo.token).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"splitlyr-expenses-{}.csv\"", today())
    );
    let rows = records(&text);
    assert_eq!(
        rows[0],
        [
            "Date",
            "Description",
            "Category",
            "Currency",
            "Amount",
            "Group",
            "Payers",
            "My share",
            "My net",
            "Settled"
        ]
    );
    let by_description: BTreeMap<&str, &Vec<String>> = rows[1..]
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| (r[1].as_str(), r))
        .collect();
    assert!(
        !text.contains("Secret") && !text.contains("Sushi"),
        "{text}"
    );
    assert_eq!(by_description.len(), 5, "{text}");
    assert_eq!(
        by_description["Hotel"][..],
        [
            "2026-03-03",
            "Hotel",
            "Travel",
            "USD",
            "90.00",
            "Trip to Rome",
            "Al; Cy",
            "30.00",
            "-30.00",
            "false"
        ]
    );
    // A payment is recorded settled.
    assert_eq!(
        by_description["Payment"][4..],
        ["20.00", "Trip to Rome", "Bo", "0.00", "20.00", "true"]
    );
    assert_eq!(
        by_description["Taxi"][..],
        [
            "2026-04-01",
            "Taxi",
            "General",
            "USD",
            "12.00",
            "",
            "Cy",
            "6.00",
            "-6.00",
            "false"
        ]
    );
    assert_eq!(rows[1][1], "Dinner, \"fancy\"", "oldest first: {text}");

    // With a friend: only what Bo shares with Cy.
    let path = format!("/v1/expenses/export.csv?friendId={}", cy.id);
    let (status, _, text) = download(&app, &path, &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let described: Vec<String> = records(&text)[1..]
        .iter()
        .filter(|r| !r.is_empty())
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(described, ["'=HYPERLINK(\"x\")", "Hotel", "Taxi"]);

    // JSON lines of my own: mine only, with ids.
    let (status, _, text) = download(&app, "/v1/expenses/export.csv?format=json", &al2.token).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let ids: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 2, "the dinner and the sushi: {text}");
    let (status, _, _) = download(&app, "/v1/expenses/export.csv?friendId=nope", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let _ = gid;
}
