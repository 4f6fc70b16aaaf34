//! Taking over the old Node server's database: the database it wrote
//! (`tests/fixtures/coinbreakr-v0`, a copy of the team's shared fixture) is
//! loaded into a fresh database with its indexes, upgraded by starting
//! Splitlyr on it, and used through HTTP.

//!
//! The crash in the middle of the upgrade is a drill of its own
//! (`tests/drills/upgrade.rs`).

use splitlyr::store::upgrade::SCHEMA_VERSION;
use std::collections::BTreeMap;

use mongodb::bson::{doc, oid::ObjectId, Document};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use splitlyr::store::readiness::Readiness;
use splitlyr::store::Store;

use crate::helpers::{assert_ledger_consistent, binary, spawn_app_with, test_settings, TestApp};
use crate::old_database::{
    all, converted_count, database, fixture_docs, fresh_name, int, load_old_database, read_json,
    uri_naming,
};

fn expected() -> Value {
    read_json("expected.json")
}

async fn spawn_on(name: &str) -> TestApp {
    let name = name.to_owned();
    let app = spawn_app_with(|s| s.database.name = name).await;
    let (status, body) = app.call(Method::GET, "/v1/healthz", None, None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "not ready after the upgrade: {body}"
    );
    app
}

async fn login(app: &TestApp, email: &str) -> (StatusCode, Value) {
    let password = expected()["passwords"][email]
        .as_str()
        .expect("fixture password")
        .to_owned();
    app.login(email, &password).await
}

async fn token(app: &TestApp, email: &str) -> String {
    let (status, body) = login(app, email).await;
    assert_eq!(status, StatusCode::OK, "{email}: {body}");
    body["data"]["token"].as_str().expect("token").to_owned()
}

/// A JSON amount in thousandths of a major unit (exact for 2 or 3 decimals).
fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}

/// Minor units of a currency to thousandths (the common scale of `balance`).
fn to_milli(minor: i64, currency: &str) -> i64 {
    match currency {
        "JPY" | "KRW" => minor * 1000,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => minor,
        _ => minor * 10,
    }
}

/// The contract's friend balance over the stored expenses, in thousandths:
/// what `b` owes `a` over unsettled splits minus what `a` owes `b`; and the
/// number of splits it adds.
fn formula(expenses: &[Document], a: ObjectId, b: ObjectId) -> (BTreeMap<String, i64>, usize) {
    let (mut total, mut splits) = (BTreeMap::<String, i64>::new(), 0);
    for e in expenses {
        let payer = e.get_object_id("paidBy").expect("payer");
        let currency = e.get_str("currency").expect("currency");
        let (creditor, debtor, sign) = match payer {
            p if p == a => (a, b, 1),
            p if p == b => (b, a, -1),
            _ => continue,
        };
        for s in e.get_array("splitWith").expect("splits") {
            let s = s.as_document().expect("split");
            if s.get_object_id("user") == Ok(debtor) && debtor != creditor {
                splits += 1;
                if !s.get_bool("settled").unwrap_or(false) {
                    *total.entry(currency.to_string()).or_default() +=
                        sign * to_milli(int(s.get("amount").expect("amount")), currency);
                }
            }
        }
    }
    total.retain(|_, n| *n != 0);
    (total, splits)
}

#[tokio::test]
async fn the_old_database_is_taken_over_and_used_through_http() {
    let name = fresh_name();
    let db = load_old_database(&name, 0).await;
    let app = spawn_on(&name).await;
    let ids = expected()["user_ids"].clone();
    let oid = |who: &str| ObjectId::parse_str(ids[who].as_str().expect("id")).expect("hex");

    // Old bcrypt ($2a$) hashes keep working; the deactivated user stays out.
    let ana = token(&app, "ana@example.com").await;
    let (status, body) = login(&app, "fay@example.com").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "ACCOUNT_DEACTIVATED");

    // The old placeholders read as none.
    let (status, profile) = app.get("/v1/users/profile", &ana).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["data"]["profileImage"], Value::Null, "{profile}");
    assert_eq!(profile["data"]["phoneNumber"], Value::Null, "{profile}");

    // Every amount is now integer minor units summing exactly.
    let expenses = all(&db, "expenses").await;
    assert_eq!(expenses.len(), 9);
    for e in &expenses {
        let amount = int(e.get("amount").expect("amount"));
        let parts: i64 = e
            .get_array("splitWith")
            .expect("splits")
            .iter()
            .map(|s| {
                int(s
                    .as_document()
                    .expect("split")
                    .get("amount")
                    .expect("amount"))
            })
            .sum();
        assert_eq!(parts, amount, "splits of {e} do not sum to the total");
        assert!(!e.contains_key("__v"), "{e}");
    }
    let by_description = |d: &str| {
        expenses
            .iter()
            .find(|e| e.get_str("description") == Ok(d))
            .unwrap_or_else(|| panic!("no {d}"))
    };
    // `100` as an int32 meant 100.00; 12.345 rounds half away from zero.
    assert_eq!(int(by_description("Dinner").get("amount").unwrap()), 10_000);
    assert_eq!(int(by_description("Taxi").get("amount").unwrap()), 1235);
    assert_eq!(int(by_description("Groceries").get("amount").unwrap()), 30);

    // My expenses list shows the history with the stored amounts.
    let (status, list) = app.get("/v1/expenses?limit=100", &ana).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mine = expenses
        .iter()
        .filter(|e| {
            let ana = oid("ana");
            e.get_object_id("paidBy") == Ok(ana)
                || e.get_object_id("createdBy") == Ok(ana)
                || e.get_array("splitWith")
                    .unwrap()
                    .iter()
                    .any(|s| s.as_document().unwrap().get_object_id("user") == Ok(ana))
        })
        .count();
    assert_eq!(list["pagination"]["total"], mine as u64, "{list}");
    let dinner = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["description"] == "Dinner")
        .expect("Dinner listed");
    assert_eq!(dinner["amount"], json!(100));
    let parts: Vec<i64> = dinner["splitWith"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| milli(&s["amount"]))
        .collect();
    assert_eq!(parts, vec![33_340, 33_330, 33_330]);

    // Friend balances: the old server's answers up to the rounding of the
    // splits involved, and exactly the contract's formula over the new splits.
    let old_balances = expected()["old_server_friend_balances"].clone();
    let emails: BTreeMap<String, String> = ids
        .as_object()
        .unwrap()
        .iter()
        .map(|(who, id)| {
            (
                id.as_str().unwrap().to_owned(),
                format!("{who}@example.com"),
            )
        })
        .collect();
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    for (key, old) in old_balances.as_object().unwrap() {
        let (a, b) = key.split_once("->").expect("A->B");
        if emails[a] == "fay@example.com" {
            continue; // deactivated: cannot log in any more
        }
        if !tokens.contains_key(a) {
            tokens.insert(a.to_owned(), token(&app, &emails[a]).await);
        }
        let (status, body) = app
            .get(&format!("/v1/users/friends/{b}/balance"), &tokens[a])
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {body}");
        // Per currency, exactly the formula; the old server added the
        // currencies' numbers into one, so that sum is compared with it.
        let now: BTreeMap<String, i64> = body["data"]["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .map(|b| {
                (
                    b["currency"].as_str().unwrap().to_owned(),
                    milli(&b["amount"]),
                )
            })
            .collect();
        let (exact, splits) = formula(
            &expenses,
            ObjectId::parse_str(a).unwrap(),
            ObjectId::parse_str(b).unwrap(),
        );
        assert_eq!(now, exact, "{key}: not the contract's formula: {body}");
        let now: i64 = now.values().sum();
        let before = old.as_f64().unwrap() * 1000.0;
        assert!(
            (now as f64 - before).abs() < 10.0 * splits.max(1) as f64,
            "{key}: {now} moved from the old {before} by a cent or more per split ({splits} splits)"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} balances compared");

    // The old server's friendships are mutual (schema 5 rewrites none), so
    // friends keep seeing each other's contact details; names are searchable
    // by prefix (`nameKey` was backfilled).
    for token in tokens.values() {
        let (status, body) = app.get("/v1/users/friends", token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for friend in body["data"]["friends"].as_array().expect("friends") {
            assert_eq!(friend["status"], "mutual", "{body}");
            if friend["email"] != "fay@example.com" && friend["name"] != "Fay" {
                assert!(
                    friend["email"].as_str().is_some_and(|e| e.contains('@')),
                    "{body}"
                );
            }
        }
    }
    let ben = &tokens[ids["ben"].as_str().unwrap()];
    let (status, body) = app.get("/v1/users?userId=an", ben).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["data"]
            .as_array()
            .is_some_and(|found| !found.is_empty()),
        "a fixture user found by a name prefix: {body}"
    );

    // Group balances follow the contract (settled splits count as paid) and sum to zero.
    for (group, gid) in expected()["group_ids"].as_object().unwrap() {
        let (status, body) = app
            .get(
                &format!("/v1/expenses/group/{}/balance", gid.as_str().unwrap()),
                &tokens[ids["ben"].as_str().unwrap()],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{group}: {body}");
        let balances = body["data"]["balances"].as_object().expect("balances");
        assert_eq!(
            balances.values().map(milli).sum::<i64>(),
            0,
            "{group}: {body}"
        );
    }

    // An old expense can be opened, edited and settled.
    let dinner_id = by_description("Dinner")
        .get_object_id("_id")
        .unwrap()
        .to_hex();
    let (status, body) = app.get(&format!("/v1/expenses/{dinner_id}"), &ana).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .put(
            &format!("/v1/expenses/{dinner_id}"),
            &ana,
            json!({ "description": "Dinner at Ramiro" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["amount"], json!(100), "{body}");
    let ben = &tokens[ids["ben"].as_str().unwrap()];
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/v1/expenses/{dinner_id}/settle"),
            Some(ben),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ledger_consistent(&app).await;

    // The upgrade is recorded with its report.
    let record = db
        .collection::<Document>("migrations")
        .find_one(doc! { "_id": "v1-node-documents" })
        .await
        .unwrap()
        .expect("migration recorded");
    assert_eq!(record.get_str("state"), Ok("done"), "{record}");
    assert_eq!(converted_count(&record), 9, "{record}");
    // No release with the journal's predecessor wrote here: no back-fill.
    assert_eq!(
        app.store()
            .await
            .backfill_until(std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        int(record
            .get_document("users")
            .unwrap()
            .get("placeholderImages")
            .unwrap()),
        6
    );
    let roundings = all(&db, "migrationroundings").await;
    assert_eq!(
        int(record.get("movedExpenses").unwrap()),
        roundings.len() as i64
    );
    assert!(
        roundings
            .iter()
            .any(|r| r.get_str("description") == Ok("Dinner")),
        "{roundings:?}"
    );
}

#[tokio::test]
async fn a_second_start_changes_nothing() {
    let name = fresh_name();
    let db = load_old_database(&name, 0).await;
    let _first = spawn_on(&name).await;
    let mut before = BTreeMap::new();
    for c in [
        "expenses",
        "users",
        "migrations",
        "balances",
        "userbalances",
        "groupbalances",
        "meta",
    ] {
        before.insert(c, all(&db, c).await);
    }
    let _second = spawn_on(&name).await;
    for (c, docs) in before {
        let mut now = all(&db, c).await;
        let mut docs = docs;
        if c == "meta" {
            // The lease is the only document a start may write.
            for list in [&mut now, &mut docs] {
                list.retain(|d| d.get_str("_id") != Ok("upgrade-lease"));
            }
        }
        assert_eq!(now, docs, "{c} changed on the second start");
    }
}

#[tokio::test]
async fn replicas_starting_together_upgrade_once() {
    let name = fresh_name();
    let db = load_old_database(&name, 20).await;
    let mut settings = test_settings();
    settings.database.name = name.clone();
    settings.database.upgrade_batch_size = 7;
    let replicas: Vec<(Store, Readiness)> = futures_util::future::join_all((0..3).map(|_| async {
        (
            Store::connect(&settings.database, None).await.unwrap(),
            Readiness::default(),
        )
    }))
    .await;
    let results = futures_util::future::join_all(
        replicas
            .iter()
            .map(|(store, readiness)| store.prepare(readiness, 7)),
    )
    .await;
    for r in results {
        r.expect("every replica ends prepared");
    }
    assert!(replicas.iter().all(|(_, r)| r.is_ready()));
    let record = db
        .collection::<Document>("migrations")
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(converted_count(&record), 9 * 21);
    let dinners: Vec<Document> = all(&db, "expenses")
        .await
        .into_iter()
        .filter(|e| e.get_str("description") == Ok("Dinner"))
        .collect();
    assert_eq!(dinners.len(), 21);
    assert!(
        dinners
            .iter()
            .all(|d| int(d.get("amount").unwrap()) == 10_000),
        "converted twice"
    );
    let app = spawn_on(&name).await;
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn the_dry_run_reports_without_writing() {
    let name = fresh_name();
    let db = load_old_database(&name, 0).await;
    let out = binary("test")
        .args(["upgrade", "--dry-run"])
        .env("MONGO_URL", uri_naming(&name))
        .env_remove("APP__DATABASE__NAME")
        .output()
        .expect("dry run runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        &format!("database {name}: schema 0 -> {SCHEMA_VERSION} (dry run, nothing written)"),
        "expenses 9",
        "users 6",
        "expenses: 9 converted",
        "6 placeholder profile images",
        "\"Dinner\" USD 100 -> 100.00",
        "33.333333333333336 -> 33.34",
        "\"Taxi\" USD 12.345 -> 12.35",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
    let names = db.list_collection_names().await.unwrap();
    assert!(
        !names.iter().any(|n| n == "migrations" || n == "meta"),
        "{names:?}"
    );
    assert_eq!(all(&db, "expenses").await, fixture_docs("expenses"));
}

#[tokio::test]
async fn an_index_conflict_is_reported_and_does_not_block_startup() {
    let name = fresh_name();
    let db = database(&name).await;
    // Same name as the wanted unique email index, but not unique.
    db.run_command(doc! {
        "createIndexes": "users",
        "indexes": [ { "key": { "email": 1 }, "name": "email_1" } ],
    })
    .await
    .unwrap();
    let app = spawn_on(&name).await;
    // Index conflicts are for operators: the admin listener's healthz.
    let (status, body) = app.admin_get("/v1/healthz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let conflicts = body["data"]["database"]["indexConflicts"]
        .as_array()
        .unwrap();
    assert_eq!(conflicts.len(), 1, "{body}");
    assert!(conflicts[0].as_str().unwrap().contains("email_1"), "{body}");
    app.user("Al").await;
}

#[tokio::test]
async fn a_schema_1_database_gets_versions_and_one_pending_friend_per_person() {
    let name = fresh_name();
    let first = spawn_on(&name).await;
    let (al, bo) = first.friends("Al", "Bo").await;
    let group = first.group(&al, "Trip", &[&bo]).await;
    let expense = first
        .expense(
            &al,
            json!({ "description": "Taxi", "amount": 12, "splitWith": [
                { "user": al.id, "amount": 6 }, { "user": bo.id, "amount": 6 } ] }),
        )
        .await;
    let expense = expense["_id"].as_str().unwrap().to_owned();
    let (status, body) = first
        .post(
            "/v1/users/friends",
            &al.token,
            json!({ "friends": [{ "name": "Gus", "email": "gus@example.com" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Back to what schema 1 allowed: no versions, and Al added Gus twice.
    let db = database(&name).await;
    for c in ["expenses", "groups"] {
        db.collection::<Document>(c)
            .update_many(doc! {}, doc! { "$unset": { "version": "" } })
            .await
            .unwrap();
    }
    db.collection::<Document>("meta")
        .update_one(doc! { "_id": "schema" }, doc! { "$set": { "version": 1 } })
        .await
        .unwrap();
    let pending = db.collection::<Document>("pendingfriends");
    for index in ["addedBy_1_email_1", "addedBy_1_phoneNumber_1"] {
        pending.drop_index(index).await.unwrap();
    }
    let mut twice = pending
        .find_one(doc! {})
        .await
        .unwrap()
        .expect("Gus is pending");
    let again = ObjectId::new();
    twice.insert("_id", again);
    pending.insert_one(twice).await.unwrap();
    let al_id = ObjectId::parse_str(&al.id).unwrap();
    db.collection::<Document>("users")
        .update_one(
            doc! { "_id": al_id },
            doc! { "$push": { "pendingFriends": again } },
        )
        .await
        .unwrap();
    drop(first);

    let second = spawn_on(&name).await;
    let meta = db.collection::<Document>("meta");
    let schema = meta
        .find_one(doc! { "_id": "schema" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        int(schema.get("version").unwrap()),
        i64::from(SCHEMA_VERSION)
    );
    // Schema 3: every expense says what it is and how it was split.
    for d in all(&db, "expenses").await {
        assert_eq!(d.get_str("type"), Ok("expense"), "{d}");
        assert_eq!(d.get_str("splitType"), Ok("exact"), "{d}");
    }
    for c in ["expenses", "groups"] {
        for d in all(&db, c).await {
            assert_eq!(d.get("version").map(int), Some(1), "{c}: {d}");
        }
    }
    assert_eq!(pending.count_documents(doc! {}).await.unwrap(), 1);
    let al_doc = db
        .collection::<Document>("users")
        .find_one(doc! { "_id": al_id })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        al_doc.get_array("pendingFriends").unwrap().len(),
        1,
        "{al_doc}"
    );
    let names: Vec<String> = pending.list_index_names().await.unwrap();
    assert!(names.contains(&"addedBy_1_email_1".to_owned()), "{names:?}");

    // Clients edit what they read.
    for path in [
        format!("/v1/expenses/{expense}"),
        format!("/v1/groups/{group}"),
    ] {
        let (status, body) = second
            .put(
                &path,
                &al.token,
                json!({ "description": "edited", "version": 1 }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["data"]["version"], 2);
    }
}

#[tokio::test]
async fn a_schema_2_database_gets_typed_expenses_and_a_ledger_of_postings() {
    let name = fresh_name();
    let first = spawn_on(&name).await;
    let (al, bo) = first.friends("Al", "Bo").await;
    let group = first.group(&al, "Trip", &[&bo]).await;
    let split = json!([{ "user": al.id, "amount": 6 }, { "user": bo.id, "amount": 6 }]);
    for body in [
        json!({ "description": "Taxi", "amount": 12, "splitWith": split }),
        json!({ "description": "Hut", "amount": 12, "splitWith": split, "groupId": group }),
        json!({ "description": "Bus", "amount": 12, "splitWith": split, "groupId": group }),
    ] {
        first.expense(&al, body).await;
    }

    // Back to schema 2, as left by a crash midway through the upgrade to 3:
    // one expense already typed, two not; the ledger of version 4 had no
    // pair balances inside groups.
    let db = database(&name).await;
    let expenses = db.collection::<Document>("expenses");
    expenses
        .update_many(
            doc! { "description": { "$ne": "Bus" } },
            doc! { "$unset": { "type": "", "splitType": "" } },
        )
        .await
        .unwrap();
    db.collection::<Document>("grouppairs")
        .drop()
        .await
        .unwrap();
    let meta = db.collection::<Document>("meta");
    for (id, version) in [("schema", 2), ("ledger", 4)] {
        meta.update_one(doc! { "_id": id }, doc! { "$set": { "version": version } })
            .await
            .unwrap();
    }
    drop(first);

    let second = spawn_on(&name).await;
    let schema = meta
        .find_one(doc! { "_id": "schema" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        int(schema.get("version").unwrap()),
        i64::from(SCHEMA_VERSION)
    );
    for d in all(&db, "expenses").await {
        assert_eq!(d.get_str("type"), Ok("expense"), "{d}");
        assert_eq!(d.get_str("splitType"), Ok("exact"), "{d}");
    }
    let record = db
        .collection::<Document>("migrations")
        .find_one(doc! { "_id": "v3-postings" })
        .await
        .unwrap()
        .expect("the upgrade is recorded");
    assert_eq!(int(record.get("typedExpenses").unwrap()), 2, "{record}");
    // A release before the journal wrote here: the journal's back-fill runs
    // for the rolling deploy that starts now (and only then).
    let journal = db
        .collection::<Document>("migrations")
        .find_one(doc! { "_id": "v6-journal" })
        .await
        .unwrap()
        .expect("the journal's start is recorded");
    assert_eq!(journal.get_bool("afterRelease"), Ok(true), "{journal}");
    let window = std::time::Duration::from_secs(3600);
    let until = second.store().await.backfill_until(window).await.unwrap();
    let left = until
        .expect("a back-fill window")
        .duration_since(std::time::SystemTime::now())
        .expect("the window is open");
    assert!(
        left > window - std::time::Duration::from_secs(120),
        "{left:?}"
    );
    // The ledger was rebuilt from postings, pairs inside the group included.
    assert_ledger_consistent(&second).await;
    let (status, plan) = second
        .get(
            &format!("/v1/groups/{group}/settle-up?simplify=false"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let transfers = &plan["data"]["transfers"];
    assert_eq!(transfers.as_array().map(Vec::len), Some(1), "{plan}");
    assert_eq!(
        (
            transfers[0]["from"]["_id"].clone(),
            transfers[0]["amount"].clone()
        ),
        (json!(bo.id), json!(12))
    );
}

#[tokio::test]
async fn inline_photos_of_the_old_server_become_stored_pictures() {
    use base64::Engine;
    let name = fresh_name();
    let first = spawn_on(&name).await;
    let [al, bo, cy] = first.users(["Al", "Bo", "Cy"]).await;
    drop(first);

    // As the old server kept them: the app's whole data URI in the user
    // document (a photo with its EXIF), and one that is not an image.
    let photo = crate::samples::jpeg(
        &crate::samples::photo(1200, 900),
        Some(crate::samples::exif_with_gps(1)),
    );
    let uri = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&photo)
    );
    let db = database(&name).await;
    let users = db.collection::<Document>("users");
    for (user, value) in [
        (&al, uri.as_str()),
        (&bo, "data:image/png;base64,PHN2Zz48L3N2Zz4="),
    ] {
        let id = ObjectId::parse_str(&user.id).unwrap();
        users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "profileImage": value } },
            )
            .await
            .unwrap();
    }
    db.collection::<Document>("meta")
        .update_one(doc! { "_id": "schema" }, doc! { "$set": { "version": 3 } })
        .await
        .unwrap();

    let second = spawn_on(&name).await;
    let (_, profile) = second.get("/v1/users/profile", &al.token).await;
    let url = profile["data"]["profileImage"].as_str().expect("a URL");
    assert!(url.starts_with("/v1/images/"), "{url}");
    let res = second.client.get(second.url(url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let stored = res.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&stored).unwrap().width(), 512);
    assert!(memchr::memmem::find(&stored, b"SERIAL-CAM-0042").is_none());
    let (_, profile) = second.get("/v1/users/profile", &bo.token).await;
    assert_eq!(profile["data"]["profileImage"], Value::Null, "{profile}");
    let (_, profile) = second.get("/v1/users/profile", &cy.token).await;
    assert_eq!(profile["data"]["profileImage"], Value::Null, "{profile}");
    let record = db
        .collection::<Document>("migrations")
        .find_one(doc! { "_id": "v4-pictures" })
        .await
        .unwrap()
        .expect("the upgrade is recorded");
    assert_eq!(int(record.get("inlinePhotos").unwrap()), 1, "{record}");
    assert_eq!(int(record.get("droppedPhotos").unwrap()), 1, "{record}");
    let schema = db
        .collection::<Document>("meta")
        .find_one(doc! { "_id": "schema" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        int(schema.get("version").unwrap()),
        i64::from(SCHEMA_VERSION)
    );
}
