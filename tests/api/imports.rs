//! Importing a Splitwise group export, through HTTP against the real
//! database: exact balances per currency, the dry run, refusals that write
//! nothing, re-runs and overlapping files, access.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_ledger_consistent, error_message, spawn_app, TestApp, User};

/// Four members, three currencies, a payment, a row with two payers, a
/// quoted description with a comma and quotes, a quoted column name with a
/// comma, a UTF-8 name, a category we do not have, and a row that moves no
/// money.
const FILE: &str = "Date,Description,Category,Cost,Currency,Alice,Bob,\"Cy, Jr.\",Dé\n\
\n\
2026-01-05,\"Dinner, \"\"downtown\"\"\",Dining out,80.00,USD,60.00,-20.00,-20.00,-20.00\n\
2026-01-06,Hotel,Hotel,300.00,EUR,100.00,50.00,-150.00,0.00\n\
2026-01-07,Bob paid Alice,Payment,20.00,USD,-20.00,20.00,0.00,0.00\n\
2026-01-08,Ramen,Dining out,3000,JPY,-1000,2000,-1000,0\n\
2026-01-09,Dog food,Pets,10.00,USD,-5.00,0.00,0.00,5.00\n\
2026-01-10,Own lunch,General,12.00,USD,0.00,0.00,0.00,0.00\n\
\n\
2026-02-01,Total balance, , ,EUR,100.00,50.00,-150.00,0.00\n\
2026-02-01,Total balance, , ,JPY,-1000,2000,-1000,0\n\
2026-02-01,Total balance, , ,USD,35.00,0.00,-20.00,-15.00\n";

/// The file's totals in minor units: (column, currency) → amount.
fn file_totals() -> BTreeMap<(usize, &'static str), i64> {
    let mut t = BTreeMap::new();
    for (i, (usd, eur, jpy)) in [
        (3500, 10000, -1000),
        (0, 5000, 2000),
        (-2000, -15000, -1000),
        (-1500, 0, 0),
    ]
    .into_iter()
    .enumerate()
    {
        t.insert((i, "USD"), usd);
        t.insert((i, "EUR"), eur);
        t.insert((i, "JPY"), jpy);
    }
    t
}

struct Setup {
    app: TestApp,
    people: [User; 4],
    group: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let people = app.with_friends(["Al", "Bo", "Cy", "De"]).await;
    let [al, bo, cy, de] = &people;
    let group = app.group(al, "Ski trip", &[bo, cy, de]).await;
    Setup { app, people, group }
}

impl Setup {
    fn mapping(&self) -> Value {
        let [al, bo, cy, de] = &self.people;
        json!({ "Alice": al.id, "Bob": bo.id, "Cy, Jr.": cy.id, "Dé": de.id })
    }

    async fn import(&self, by: &User, body: Value) -> (StatusCode, Value) {
        let path = format!("/v1/groups/{}/import/splitwise", self.group);
        self.app.post(&path, &by.token, body).await
    }

    /// Every member's balance in the group: (member index, currency) → minor units.
    async fn balances(&self) -> BTreeMap<(usize, &'static str), i64> {
        self.balances_in(&self.group).await
    }

    async fn balances_in(&self, group: &str) -> BTreeMap<(usize, &'static str), i64> {
        let path = format!("/v1/expenses/group/{group}/balance");
        let (status, res) = self.app.get(&path, &self.people[0].token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        let by = &res["data"]["balancesByCurrency"];
        let mut out = BTreeMap::new();
        for (i, p) in self.people.iter().enumerate() {
            for (code, scale) in [("USD", 100.0), ("EUR", 100.0), ("JPY", 1.0)] {
                let v = by[p.id.as_str()][code].as_f64().unwrap_or(0.0);
                out.insert((i, code), (v * scale).round() as i64);
            }
        }
        out
    }

    async fn expense_count(&self) -> u64 {
        let path = format!("/v1/expenses/group/{}?limit=100", self.group);
        let (status, res) = self.app.get(&path, &self.people[0].token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["pagination"]["total"]
            .as_u64()
            .or_else(|| res["data"].as_array().map(|a| a.len() as u64))
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn a_splitwise_export_is_imported_with_exact_balances() {
    let s = setup().await;
    let (status, res) = s
        .import(&s.people[1], json!({ "csv": FILE, "members": s.mapping() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let data = &res["data"];
    assert_eq!(data["state"], "done", "{res}");
    assert_eq!(
        (data["expenses"].as_i64(), data["payments"].as_i64()),
        (Some(4), Some(1)),
        "{res}"
    );
    assert_eq!(
        (data["skipped"].as_i64(), data["rows"].as_i64()),
        (Some(1), Some(6)),
        "{res}"
    );
    assert_eq!(data["skippedRows"][0]["line"], 8, "{res}");
    let currencies: Vec<&str> = data["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["EUR", "JPY", "USD"]);

    // The group's balances are the file's Total balance rows, to the unit.
    assert_eq!(s.balances().await, file_totals());
    assert_ledger_consistent(&s.app).await;
    assert_eq!(s.expense_count().await, 5);

    // The rows as stored: dates, descriptions, payers and shares.
    let path = format!("/v1/expenses/group/{}?limit=100", s.group);
    let (_, list) = s.app.get(&path, &s.people[0].token).await;
    let by_description = |d: &str| -> Value {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["description"] == d)
            .unwrap_or_else(|| panic!("{d} in {list}"))
            .clone()
    };
    let dinner = by_description("Dinner, \"downtown\"");
    assert_eq!(dinner["amount"], 80, "{dinner}");
    assert_eq!(dinner["category"], "food", "{dinner}");
    assert!(
        dinner["date"].as_str().unwrap().starts_with("2026-01-05"),
        "{dinner}"
    );
    let hotel = by_description("Hotel");
    let payers: BTreeMap<String, f64> = hotel["payers"]
        .as_array()
        .unwrap_or_else(|| panic!("payers: {hotel}"))
        .iter()
        .map(|p| {
            (
                p["user"]["_id"]
                    .as_str()
                    .or(p["user"].as_str())
                    .unwrap()
                    .to_owned(),
                p["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    let [al, bo, ..] = &s.people;
    assert_eq!(
        payers,
        BTreeMap::from([(al.id.clone(), 175.0), (bo.id.clone(), 125.0)]),
        "{hotel}"
    );
    let dog = by_description("Dog food");
    assert_eq!(
        (dog["category"].as_str(), dog["notes"].as_str()),
        (Some("other"), Some("Splitwise category: Pets"))
    );

    // Imports show in the activity like expenses recorded by hand.
    // (Al is in every row; the others see the rows they are in.)
    let (status, feed) = s.app.get("/v1/activity?limit=20", &s.people[0].token).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let created = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "expense.created" || i["type"] == "payment.created")
        .count();
    assert_eq!(created, 5, "{feed}");
    let imported = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "group.imported")
        .unwrap_or_else(|| panic!("no group.imported in {feed}"));
    assert_eq!(
        imported["summary"],
        "Bo imported 4 expenses and 1 payment from Splitwise into 'Ski trip'"
    );

    // The job can be read back by a member, not by an outsider.
    let job = data["_id"].as_str().unwrap();
    let (status, again) = s
        .app
        .get(&format!("/v1/imports/{job}"), &s.people[3].token)
        .await;
    assert_eq!(
        (status, &again["data"]["expenses"]),
        (StatusCode::OK, &json!(4)),
        "{again}"
    );
    let stranger = s.app.user("Zed").await;
    let (status, _) = s
        .app
        .get(&format!("/v1/imports/{job}"), &stranger.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dry_run_answers_the_same_and_writes_nothing() {
    let s = setup().await;
    let body = json!({ "csv": FILE, "members": s.mapping(), "dryRun": true });
    let (status, res) = s.import(&s.people[0], body).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let data = &res["data"];
    assert_eq!(data["state"], "dry-run");
    assert_eq!(
        (data["expenses"].as_i64(), data["payments"].as_i64()),
        (Some(4), Some(1)),
        "{res}"
    );
    let preview = data["preview"].as_array().unwrap();
    assert_eq!(preview.len(), 5, "{res}");
    assert_eq!(preview[1]["payers"].as_array().unwrap().len(), 2, "{res}");
    assert_eq!(preview[1]["amount"], "300.00", "{res}");
    assert_eq!(s.expense_count().await, 0);
    assert!(s.balances().await.values().all(|v| *v == 0));
}

#[tokio::test]
async fn refused_files_write_nothing() {
    let s = setup().await;
    let al = &s.people[0];
    let cases = [
        (
            json!({ "csv": "name,amount\nx,1\n", "members": s.mapping() }),
            "not a Splitwise group export",
        ),
        (
            json!({ "csv": FILE, "members": { "Alice": al.id, "Bob": s.people[1].id, "Cy, Jr.": s.people[2].id } }),
            "Dé",
        ),
        (
            json!({ "csv": FILE.replace("Total balance, , ,USD,35.00", "Total balance, , ,USD,36.00").replace("0.00,-20.00,-15.00\n", "-1.00,-20.00,-15.00\n"), "members": s.mapping() }),
            "do not add up",
        ),
        (
            json!({ "csv": FILE.replace("80.00,USD,60.00", "80.00,USD,61.00"), "members": s.mapping() }),
            "Line 3",
        ),
        (
            json!({ "csv": FILE.replace("2026-02-01,Total balance, , ,USD,35.00,0.00,-20.00,-15.00\n", ""), "members": s.mapping() }),
            "no Total balance row for USD",
        ),
    ];
    for (body, said) in cases {
        let (status, res) = s.import(al, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
        assert!(
            error_message(&res).contains(said) || res.to_string().contains(said),
            "{said}: {res}"
        );
    }
    // A column mapped to someone outside the group.
    let stranger = s.app.user("Zed").await;
    let mut mapping = s.mapping();
    mapping["Dé"] = json!(stranger.id);
    let (status, res) = s
        .import(al, json!({ "csv": FILE, "members": mapping }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(
        res.to_string().contains("members of the group: Dé"),
        "{res}"
    );
    // An outsider may not import into the group.
    let (status, _) = s
        .import(&stranger, json!({ "csv": FILE, "members": s.mapping() }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.expense_count().await, 0);
}

#[tokio::test]
async fn a_rerun_creates_nothing_and_an_overlapping_file_adds_only_new_rows() {
    let s = setup().await;
    let al = &s.people[0];
    let body = json!({ "csv": FILE, "members": s.mapping() });
    let (status, first) = s.import(al, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = s.import(al, body).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        (
            again["data"]["expenses"].as_i64(),
            again["data"]["payments"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(again["data"]["alreadyImported"], 5, "{again}");
    assert_eq!(s.expense_count().await, 5);

    // A later export: the same rows, then one more taxi (twice: two rides).
    let later = FILE
        .replace(
            "2026-01-10,Own lunch",
            "2026-01-11,Taxi,Taxi,10.00,USD,-5.00,5.00,0.00,0.00\n\
             2026-01-11,Taxi,Taxi,10.00,USD,-5.00,5.00,0.00,0.00\n\
             2026-01-10,Own lunch",
        )
        .replace(
            "USD,35.00,0.00,-20.00,-15.00",
            "USD,25.00,10.00,-20.00,-15.00",
        );
    let (status, more) = s
        .import(al, json!({ "csv": later, "members": s.mapping() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{more}");
    assert_eq!(
        (
            more["data"]["expenses"].as_i64(),
            more["data"]["alreadyImported"].as_i64()
        ),
        (Some(2), Some(5)),
        "{more}"
    );
    assert_eq!(s.expense_count().await, 7);
    let mut expected = file_totals();
    expected.insert((0, "USD"), 2500);
    expected.insert((1, "USD"), 1000);
    assert_eq!(s.balances().await, expected);
}

#[tokio::test]
async fn two_imports_of_one_file_at_once_write_each_row_once() {
    let s = setup().await;
    let body = json!({ "csv": FILE, "members": s.mapping() });
    let (a, b) = tokio::join!(
        s.import(&s.people[0], body.clone()),
        s.import(&s.people[1], body)
    );
    assert_eq!(
        (a.0, b.0),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{} {}",
        a.1,
        b.1
    );
    let written = |r: &Value| {
        r["data"]["expenses"].as_i64().unwrap() + r["data"]["payments"].as_i64().unwrap()
    };
    assert_eq!(written(&a.1) + written(&b.1), 5, "{} {}", a.1, b.1);
    assert_eq!(s.expense_count().await, 5);
    assert_eq!(s.balances().await, file_totals());
}

#[tokio::test]
async fn an_export_imports_back_into_another_group_with_the_same_balances() {
    let s = setup().await;
    let [al, bo, cy, de] = &s.people;
    let (status, res) = s
        .import(al, json!({ "csv": FILE, "members": s.mapping() }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    // One recorded by hand, with a description a spreadsheet would run.
    let body = json!({
        "description": "=HYPERLINK(\"http://x\")", "amount": 9, "currency": "USD",
        "groupId": s.group, "paidBy": cy.id,
        "splitWith": [{ "user": al.id, "amount": 4.5 }, { "user": cy.id, "amount": 4.5 }],
    });
    let (status, res) = s.app.post("/v1/expenses", &cy.token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");

    let url = s.app.url(&format!("/v1/groups/{}/export.csv", s.group));
    let res = s
        .app
        .client
        .get(url)
        .bearer_auth(&bo.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    // The members see the export in their activity.
    let (_, feed) = s.app.get("/v1/activity?limit=5", &de.token).await;
    assert_eq!(feed["data"][0]["type"], "group.exported", "{feed}");
    assert_eq!(
        feed["data"][0]["summary"],
        "Bo exported the expenses of 'Ski trip'"
    );

    let copy = s.app.group(de, "Ski trip again", &[al, bo, cy]).await;
    let mapping = json!({ "Al": al.id, "Bo": bo.id, "Cy": cy.id, "De": de.id });
    let path = format!("/v1/groups/{copy}/import/splitwise");
    let (status, res) = s
        .app
        .post(&path, &de.token, json!({ "csv": csv, "members": mapping }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(
        (
            res["data"]["expenses"].as_i64(),
            res["data"]["payments"].as_i64()
        ),
        (Some(5), Some(1)),
        "{res}"
    );
    let before = s.balances().await;
    assert_ne!(
        before,
        file_totals(),
        "the hand-made expense moved balances"
    );
    assert_eq!(s.balances_in(&copy).await, before);
    // The formula came back as the text it was.
    let (_, list) = s
        .app
        .get(&format!("/v1/expenses/group/{copy}?limit=100"), &al.token)
        .await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["description"] == "=HYPERLINK(\"http://x\")"),
        "{list}"
    );
}
