//! An acknowledged write survives a database crash. The database runs on disk
//! in its durable mode (`--sync-on-commit`), the server with its default
//! write concern (majority, journaled); the database is killed with SIGKILL
//! in the middle of a burst of creates, restarted on the same files, and
//! every expense that was answered 201 must still be there, with its balances.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, oid::ObjectId, Document};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_ledger_consistent, free_port, spawn_app_with, ExpenseBody};
use crate::ops::OwnDatabase;

const WRITERS: usize = 6;

/// Creates expenses until `stop`; returns the ids answered 201 (with when)
/// and how many requests failed otherwise.
async fn write_until(
    client: reqwest::Client,
    url: String,
    token: String,
    body: Value,
    stop: Arc<AtomicBool>,
) -> (Vec<(String, Instant)>, usize) {
    let (mut created, mut failed) = (Vec::new(), 0);
    while !stop.load(Ordering::Relaxed) {
        let res = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await;
        match res {
            Ok(r) if r.status() == StatusCode::CREATED => {
                let v: Value = r.json().await.expect("201 has a JSON body");
                let id = v["data"]["_id"].as_str().expect("id").to_owned();
                created.push((id, Instant::now()));
            }
            _ => {
                failed += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    (created, failed)
}

#[tokio::test]
async fn every_expense_answered_201_survives_kill_9_of_the_database() {
    let dir = std::env::temp_dir().join(format!("splitlyr-durable-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut db = OwnDatabase::start_durable(free_port(), &dir).await;
    let uri = db.uri();
    let app = spawn_app_with(|s| {
        s.database.uri = uri.into();
        s.database.server_selection_timeout_ms = 1500;
    })
    .await;
    assert_eq!(app.settings.database.write_concern, "majority");
    assert!(app.settings.database.journal);
    let (al, bo) = app.friends("Al", "Bo").await;
    let body = ExpenseBody::new("Groceries", 10.01)
        .split(&al, 5)
        .split(&bo, 5.01)
        .json();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            tokio::spawn(write_until(
                app.client.clone(),
                app.url("/v1/expenses"),
                al.token.clone(),
                body.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Let the burst run, kill the database under it, start it again on the
    // same files while the writers go on (the driver retries in-flight
    // commits meanwhile), then stop the writers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Instant::now();
    db.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    db.restart().await;
    let restarted = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !app.wait_until_healthy(Duration::from_secs(5)).await {
        assert!(Instant::now() < deadline, "no recovery after the restart");
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut created, mut failed) = (Vec::new(), 0);
    for w in writers {
        let (ids, f) = w.await.unwrap();
        created.extend(ids);
        failed += f;
    }
    let before = created.iter().filter(|(_, at)| *at < killed).count();
    let after = created.iter().filter(|(_, at)| *at > restarted).count();
    assert!(
        before >= 10 && after >= 10,
        "the kill must fall inside the burst: {before} creates before it, {after} after the restart"
    );

    // One query for all of them (a GET each would take minutes for
    // thousands); the API still serves one of them afterwards.
    let ids: Vec<ObjectId> = created
        .iter()
        .map(|(id, _)| ObjectId::parse_str(id).unwrap())
        .collect();
    let store = app.store().await;
    let found: Vec<ObjectId> = store
        .database()
        .collection::<Document>("expenses")
        .distinct("_id", doc! { "_id": { "$in": &ids } })
        .await
        .unwrap()
        .into_iter()
        .filter_map(|id| id.as_object_id())
        .collect();
    let lost: Vec<&ObjectId> = ids.iter().filter(|id| !found.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged creates lost: {lost:?}",
        lost.len(),
        created.len()
    );
    let (last, _) = created.last().unwrap();
    let (status, _) = app.get(&format!("/v1/expenses/{last}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
    eprintln!(
        "durability: {} creates acknowledged ({before} before the kill, {after} after the restart), {failed} failed, none lost",
        created.len()
    );
    assert_ledger_consistent(&app).await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
