//! A crash in the middle of the upgrade of the old server's database: the
//! real binary is killed (SIGKILL) once some batches are committed, and a
//! restarted one waits out the crashed one's lease and finishes to the same
//! end state as an upgrade that was never interrupted.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::Value;
use splitlyr::store::readiness::Readiness;
use splitlyr::store::Store;

use crate::helpers::{binary, free_port, test_settings};
use crate::old_database::{all, converted_count, fresh_name, load, old_data, uri_naming};

/// The real binary on the old database, named by its connection string's
/// path as the old server's `MONGO_URL` did, in the `local` environment;
/// its admin listener (the detailed `/v1/healthz`) on `admin`.
fn start_binary(database: &str, (port, admin): (u16, u16), batch: usize) -> Child {
    binary("local")
        .env("APP__SERVER__HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("APP__SERVER__ADMIN_PORT", admin.to_string())
        .env("MONGO_URL", uri_naming(database))
        .env("APP__DATABASE__UPGRADE_BATCH_SIZE", batch.to_string())
        .env("APP__AUTH__BCRYPT_COST", "4")
        .env_remove("APP__DATABASE__NAME")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

/// The detailed `/v1/healthz` of the admin listener on `admin`, once 200.
async fn healthz(admin: u16) -> Option<Value> {
    let res = reqwest::get(format!("http://127.0.0.1:{admin}/v1/healthz"))
        .await
        .ok()?;
    (res.status() == StatusCode::OK).then_some(())?;
    res.json().await.ok()
}

#[tokio::test]
async fn a_crash_in_the_middle_of_the_upgrade_resumes_to_the_same_end_state() {
    // The reference: the same data upgraded without interruption.
    let data = old_data(15);
    let reference = fresh_name();
    let reference_db = load(&reference, &data).await;
    let mut settings = test_settings();
    settings.database.name = reference.clone();
    Store::connect(&settings.database, None)
        .await
        .unwrap()
        .prepare(&Readiness::default(), 500)
        .await
        .expect("reference upgrade");

    let name = fresh_name();
    let db = load(&name, &data).await;
    let ports = (free_port(), free_port());
    let mut server = start_binary(&name, ports, 3);
    // kill -9 once some batches are committed and others are not.
    let migrations = db.collection::<Document>("migrations");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let record = migrations.find_one(doc! {}).await.unwrap();
        if record.as_ref().is_some_and(|r| r.contains_key("lastId")) {
            break;
        }
        assert!(Instant::now() < deadline, "the upgrade never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().expect("kill -9");
    server.wait().unwrap();
    let record = migrations.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(
        record.get_str("state"),
        Ok("running"),
        "crashed too late: {record}"
    );
    let converted = db
        .collection::<Document>("expenses")
        .count_documents(doc! { "participants": { "$exists": true } })
        .await
        .unwrap();
    assert!(
        converted > 0 && converted < 9 * 16,
        "{converted} converted at the crash"
    );

    let mut server = start_binary(&name, ports, 3);
    // The restarted process first waits out the crashed one's upgrade lease
    // (30 s), then finishes the upgrade: on a loaded 2-core machine running
    // the rest of the suite, 60 s proved too tight.
    let deadline = Instant::now() + Duration::from_secs(120);
    let health = loop {
        if let Some(h) = healthz(ports.1).await {
            break h;
        }
        assert!(Instant::now() < deadline, "not ready after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        health["data"]["database"]["name"],
        name.as_str(),
        "{health}"
    );

    for c in [
        "expenses",
        "users",
        "balances",
        "userbalances",
        "groupbalances",
        "timeline",
    ] {
        let (got, want) = (all(&db, c).await, all(&reference_db, c).await);
        assert_eq!(got.len(), want.len(), "{c}");
        assert!(got == want, "{c} differs from an uninterrupted upgrade");
    }
    let record = migrations.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(converted_count(&record), 9 * 16);
}
