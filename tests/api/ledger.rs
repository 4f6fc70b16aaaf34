//! The balance ledger stays equal to a recomputation from the expenses through
//! creates, updates, settlements and deletes, and is rebuilt when missing.

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_ledger_consistent, spawn_app, spawn_app_with, ExpenseBody, TestApp, User,
};

fn id(v: &Value) -> String {
    v["_id"].as_str().unwrap().to_string()
}

/// Al, Bo and Cy (Al is friends with both) and Al's group "Trip" of the three.
async fn trio_with_group(app: &TestApp) -> (User, User, User, String) {
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let gid = app.group(&al, "Trip", &[&bo, &cy]).await;
    (al, bo, cy, gid)
}

#[tokio::test]
async fn ledger_follows_every_kind_of_expense_change() {
    let app = spawn_app().await;
    let (al, bo, cy, gid) = trio_with_group(&app).await;

    let e1 = app
        .expense(
            &al,
            ExpenseBody::new("Dinner", 90)
                .split(&al, 30)
                .split(&bo, 30)
                .split(&cy, 30),
        )
        .await;
    let e2 = app
        .expense(
            &bo,
            ExpenseBody::new("Taxi", 1000)
                .split(&al, 500)
                .split(&bo, 500)
                .with("currency", "JPY")
                .in_group(&gid),
        )
        .await;
    let e3 = app
        .expense(
            &cy,
            ExpenseBody::new("Hotel", 100)
                .split(&al, 33.333333333333336)
                .split(&bo, 33.333333333333336)
                .split(&cy, 33.333333333333336)
                .in_group(&gid),
        )
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
        ExpenseBody::new("Rent", 1200)
            .split(&al, 600)
            .split(&bo, 600)
            .in_group(&gid),
    )
    .await;

    let store = app.store().await;
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
    db.collection::<mongodb::bson::Document>("timeline")
        .delete_many(doc! {})
        .await
        .unwrap();
    for name in ["groups", "users"] {
        db.collection::<mongodb::bson::Document>(name)
            .update_many(doc! {}, doc! { "$unset": { "expenseMonths": "" } })
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

/// Every page of `path` (limit `limit`), concatenated; checks the totals.
async fn all_pages(app: &TestApp, token: &str, path: &str, limit: u64) -> Vec<String> {
    let mut out = Vec::new();
    for page in 1.. {
        let (status, res) = app
            .get(&format!("{path}?page={page}&limit={limit}"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{res}");
        let data = res["data"].as_array().unwrap();
        let total = res["pagination"]["total"].as_u64().unwrap();
        if data.is_empty() {
            assert_eq!(out.len() as u64, total, "{path} limit {limit}: {res}");
            assert!(page > total.div_ceil(limit), "empty page {page} of {res}");
            return out;
        }
        assert!(data.len() as u64 <= limit);
        out.extend(data.iter().map(id));
    }
    unreachable!()
}

/// The expected listing: newest date first, newest id first on the same date.
fn newest_first(list: &[(String, String)]) -> Vec<String> {
    let mut sorted = list.to_vec();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn pages_follow_dates_across_months_through_edits() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;
    let (_, group) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "Trip", "members": [bo.id]}),
        )
        .await;
    let gid = id(&group["data"]);

    // Months of very different sizes, a far-back one, ties on the same day,
    // month edges, group and non-group expenses, and one without Bo.
    let dates = [
        "2026-03-05",
        "2026-03-05",
        "2026-03-31T23:59:59Z",
        "2026-04-01T00:00:00Z",
        "2026-03-01",
        "2026-03-17",
        "2025-12-24",
        "2025-12-24",
        "2026-01-10",
        "1999-02-28",
        "2026-03-05",
        "2026-06-30",
        "2024-02-29",
    ];
    let mut mine = Vec::new(); // (date, id) of Al's expenses
    let mut bos = Vec::new();
    let mut trip = Vec::new();
    for (i, date) in dates.iter().enumerate() {
        let (other, in_group) = match i % 3 {
            0 => (&bo, true),
            1 => (&bo, false),
            _ => (&cy, false),
        };
        let mut body = json!({"description": format!("e{i}"), "amount": 10, "date": date,
            "splitWith": [{"user": al.id, "amount": 5}, {"user": other.id, "amount": 5}]});
        if in_group {
            body["groupId"] = json!(gid);
        }
        let e = id(&app.expense(&al, body).await);
        // Sort keys: the instants, written alike (a bare day is midnight UTC).
        let sort_key = if date.len() == 10 {
            format!("{date}T00:00:00Z")
        } else {
            date.to_string()
        };
        mine.push((sort_key.clone(), e.clone()));
        if other.id == bo.id {
            bos.push((sort_key.clone(), e.clone()));
        }
        if in_group {
            trip.push((sort_key, e.clone()));
        }
    }

    let check =
        |mine: Vec<(String, String)>, bos: Vec<(String, String)>, trip: Vec<(String, String)>| {
            let app = &app;
            let (al, bo) = (&al, &bo);
            let gid = gid.clone();
            async move {
                for limit in [1, 2, 3, 5, 100] {
                    assert_eq!(
                        all_pages(app, &al.token, "/v1/expenses", limit).await,
                        newest_first(&mine),
                        "Al, limit {limit}"
                    );
                    assert_eq!(
                        all_pages(app, &bo.token, "/v1/expenses", limit).await,
                        newest_first(&bos),
                        "Bo, limit {limit}"
                    );
                    let path = format!("/v1/expenses/group/{gid}");
                    assert_eq!(
                        all_pages(app, &bo.token, &path, limit).await,
                        newest_first(&trip),
                        "group, limit {limit}"
                    );
                }
                assert_ledger_consistent(app).await;
            }
        };
    check(mine.clone(), bos.clone(), trip.clone()).await;

    // Move a group expense from March 2026 to 2001, and a friend expense to
    // the newest month; share another with Cy instead of Bo; delete one of
    // the tied ones; then check again.
    let moved = mine[0].1.clone();
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{moved}"),
            &al.token,
            json!({"date": "2001-07-04"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let newest = mine[1].1.clone();
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{newest}"),
            &al.token,
            json!({"date": "2026-11-02T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let swapped = mine[4].1.clone();
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{swapped}"),
            &al.token,
            json!({"splitWith": [{"user": al.id, "amount": 5}, {"user": cy.id, "amount": 5}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    bos.retain(|(_, e)| *e != swapped);
    let gone = mine[10].1.clone();
    let (status, res) = app.delete(&format!("/v1/expenses/{gone}"), &al.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    for list in [&mut mine, &mut bos, &mut trip] {
        list.retain(|(_, e)| *e != gone);
        for (date, e) in list.iter_mut() {
            if *e == moved {
                *date = "2001-07-04T00:00:00Z".into();
            }
            if *e == newest {
                *date = "2026-11-02T10:00:00Z".into();
            }
        }
    }
    check(mine, bos, trip).await;

    // Past the end: an empty page with the right totals.
    let (status, res) = app.get("/v1/expenses?page=7&limit=2", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"], json!([]));
    assert_eq!(
        res["pagination"],
        json!({"current": 7, "limit": 2, "pages": 6, "total": 12})
    );
}

#[tokio::test]
async fn ledger_follows_a_change_of_payer() {
    let app = spawn_app().await;
    let (al, bo, cy, gid) = trio_with_group(&app).await;

    // Al records what Bo paid for Al and Cy; Cy repays Bo.
    let e1 = app
        .expense(
            &al,
            ExpenseBody::new("Dinner", 60)
                .split(&al, 30)
                .split(&cy, 30)
                .paid_by(&bo)
                .with("date", "2025-12-24"),
        )
        .await;
    let (status, _) = app
        .patch(
            &format!("/v1/expenses/{}/settle", id(&e1)),
            &cy.token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // In the group, Bo pays 1000 JPY for himself and Al.
    let e2 = app
        .expense(
            &bo,
            ExpenseBody::new("Taxi", 1000)
                .split(&al, 500)
                .split(&bo, 500)
                .with("currency", "JPY")
                .in_group(&gid),
        )
        .await;
    assert_ledger_consistent(&app).await;

    // It was Cy who paid the dinner: Bo leaves it, Al owes Cy, and Cy's
    // repayment to Bo no longer counts.
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{}", id(&e1)),
            &al.token,
            json!({"paidBy": cy.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_ledger_consistent(&app).await;
    // And Cy paid the taxi too: Al and Bo each owe Cy 500 JPY.
    let (status, res) = app
        .put(
            &format!("/v1/expenses/{}", id(&e2)),
            &bo.token,
            json!({"paidBy": cy.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_ledger_consistent(&app).await;

    let (_, bal) = app
        .get(&format!("/v1/users/friends/{}/balance", cy.id), &al.token)
        .await;
    assert_eq!(
        bal["data"]["balances"],
        json!([{"currency": "JPY", "amount": -500}, {"currency": "USD", "amount": -30}]),
        "{bal}"
    );
    let (_, bal) = app
        .get(&format!("/v1/users/friends/{}/balance", bo.id), &al.token)
        .await;
    assert_eq!(bal["data"]["balance"], json!(0), "{bal}");
    let (_, gb) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &al.token)
        .await;
    assert_eq!(
        gb["data"]["balances"],
        json!({ al.id.as_str(): -500, bo.id.as_str(): -500, cy.id.as_str(): 1000 }),
        "{gb}"
    );
    // Bo no longer takes part in the dinner: not in his list, nor his months.
    let (_, list) = app.get("/v1/expenses", &bo.token).await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(list["data"][0]["_id"], e2["_id"], "{list}");
}

/// A currency an earlier release accepted outside the ISO 4217 table ("ABC")
/// reads as itself wherever the expense is shown: the stored field is typed
/// on read, with no view falling back to USD (the old `currency_of`) or
/// dropping it.
#[tokio::test]
async fn a_stored_currency_outside_the_table_reads_as_itself() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let e = app
        .expense(
            &al,
            ExpenseBody::new("Souvenir", 12.5)
                .split(&al, 6.25)
                .split(&bo, 6.25),
        )
        .await;
    let expense = mongodb::bson::oid::ObjectId::parse_str(e["_id"].as_str().expect("id")).unwrap();
    let store = app.store().await;
    let changed = store
        .database()
        .collection::<mongodb::bson::Document>("expenses")
        .update_one(
            doc! { "_id": expense },
            doc! { "$set": { "currency": "ABC" } },
        )
        .await
        .unwrap();
    assert_eq!(changed.modified_count, 1);

    let (status, one) = app.get(&format!("/v1/expenses/{expense}"), &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["data"]["currency"], "ABC", "{one}");
    assert_eq!(one["data"]["amount"], 12.5, "{one}");
    let (status, list) = app.get("/v1/expenses", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"][0]["currency"], "ABC", "{list}");
}
