//! Concurrent writers: a confirmed write is never silently undone, two phones
//! editing one document see a conflict instead of overwriting each other, and
//! adding a friend who is registering at that moment makes them friends.
//!
//! Each race runs several rounds: on the code before versions (read outside
//! the transaction, whole-document replace; friend lookups outside the
//! transaction) every one of these tests lost writes within its rounds.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_ledger_consistent, error_message, spawn_app};
use crate::races::{
    edits_of_different_fields, friend_added_while_registering, friends_and_pending, lunch,
    settlement_racing_edit, three_friends, ROUNDS,
};

#[tokio::test]
async fn a_settlement_racing_an_edit_is_never_undone() {
    settlement_racing_edit(&spawn_app().await).await;
}

#[tokio::test]
async fn concurrent_edits_of_different_fields_all_survive() {
    edits_of_different_fields(&spawn_app().await).await;
}

#[tokio::test]
async fn versions_are_exposed_and_if_match_refuses_stale_edits() {
    let app = spawn_app().await;
    let people = three_friends(&app).await;
    let [al, bo, _] = &people;
    let id = lunch(&app, &people).await;
    let path = format!("/v1/expenses/{id}");
    let url = app.url(&path);

    let res = app
        .client
        .get(&url)
        .bearer_auth(&al.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], "\"1\"");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["version"], 1);

    // Al edits version 1: fine, and the answer names version 2.
    let put = |tag: &'static str, body: Value| {
        app.client
            .put(&url)
            .bearer_auth(&al.token)
            .header("If-Match", tag)
            .json(&body)
            .send()
    };
    let res = put("\"1\"", json!({ "description": "Brunch" }))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");

    // A second phone still holding version 1: 409 with what is there now.
    let res = put("\"1\"", json!({ "description": "Supper" }))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    error_message(&body);
    assert_eq!(body["code"], "VERSION_CONFLICT");
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(body["data"]["description"], "Brunch");

    // The same through the body's `version`.
    let (status, body) = app
        .put(
            &path,
            &al.token,
            json!({ "description": "Supper", "version": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "VERSION_CONFLICT");

    // A settlement is a change too.
    let (status, body) = app
        .patch(&format!("{path}/settle"), &bo.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 3);
    let (status, _) = app
        .put(&path, &al.token, json!({ "notes": "x", "version": 2 }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Nonsense in If-Match is a 400, not a silent overwrite.
    let res = put("\"2\", \"3\"", json!({ "notes": "x" })).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Deleting a stale version is refused too; the current one goes.
    for (tag, expected) in [("\"2\"", StatusCode::CONFLICT), ("\"3\"", StatusCode::OK)] {
        let res = app
            .client
            .delete(&url)
            .bearer_auth(&al.token)
            .header("If-Match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{tag}");
    }
    assert_ledger_consistent(&app).await;
}

#[tokio::test]
async fn two_phones_editing_one_version_one_wins_one_hears_of_it() {
    let app = spawn_app().await;
    let people = three_friends(&app).await;
    let al = &people[0];
    for round in 0..ROUNDS {
        let id = lunch(&app, &people).await;
        let path = format!("/v1/expenses/{id}");
        let (a, b) = tokio::join!(
            app.put(
                &path,
                &al.token,
                json!({ "description": format!("A{round}"), "version": 1 })
            ),
            app.put(
                &path,
                &al.token,
                json!({ "notes": format!("B{round}"), "version": 1 })
            ),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} / {}",
            a.1,
            b.1
        );
    }
}

#[tokio::test]
async fn group_edits_check_versions_too() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let path = format!("/v1/groups/{}", app.group(&al, "Trip", &[&bo]).await);
    let (_, body) = app.get(&path, &al.token).await;
    assert_eq!(body["data"]["version"], 1);

    let (status, body) = app
        .put(
            &path,
            &bo.token,
            json!({ "name": "Trip 2026", "version": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 2);
    let (status, body) = app
        .put(
            &path,
            &al.token,
            json!({ "description": "Lisbon", "version": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "VERSION_CONFLICT");
    assert_eq!(body["data"]["name"], "Trip 2026");

    // Without a version, concurrent edits of different fields both land.
    let (a, b) = tokio::join!(
        app.put(&path, &al.token, json!({ "description": "Lisbon" })),
        app.put(&path, &bo.token, json!({ "name": "Lisbon trip" })),
    );
    assert_eq!(
        (a.0, b.0),
        (StatusCode::OK, StatusCode::OK),
        "{} / {}",
        a.1,
        b.1
    );
    let (_, now) = app.get(&path, &al.token).await;
    assert_eq!(now["data"]["description"], "Lisbon");
    assert_eq!(now["data"]["name"], "Lisbon trip");
    assert_eq!(now["data"]["version"], 4);
}

#[tokio::test]
async fn adding_a_friend_while_they_register_makes_them_friends() {
    friend_added_while_registering(&spawn_app().await).await;
}

#[tokio::test]
async fn identical_concurrent_adds_make_one_pending_friend() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    for round in 0..ROUNDS / 2 {
        let email = format!("later{round}@example.com");
        let phone = format!("+1555000{round:04}");
        let entry =
            json!({ "friends": [{ "name": "Later", "email": email, "phoneNumber": phone }] });
        let answers =
            join_all((0..4).map(|_| app.post("/v1/users/friends", &al.token, entry.clone()))).await;
        let mut created = 0;
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::OK, "{body}");
            if body["data"][0]["success"] == true {
                created += 1;
            }
        }
        let (_, pending) = friends_and_pending(&app, &al).await;
        let records = pending
            .iter()
            .filter(|p| p["email"] == email.as_str())
            .count();
        assert_eq!((records, created), (1, 1), "round {round}: {answers:?}");
    }
}

/// During a rolling deploy, replicas of the release before versions go on
/// writing documents without one after the upgrade ran: they read as version
/// 0 and can be edited like any other.
#[tokio::test]
async fn documents_written_without_a_version_can_be_edited() {
    use mongodb::bson::{doc, Document};
    let app = spawn_app().await;
    let people = three_friends(&app).await;
    let [al, bo, _] = &people;
    let expense = format!("/v1/expenses/{}", lunch(&app, &people).await);
    let group = format!("/v1/groups/{}", app.group(al, "Trip", &[bo]).await);
    let db = app.store().await.database().clone();
    for c in ["expenses", "groups"] {
        db.collection::<Document>(c)
            .update_many(doc! {}, doc! { "$unset": { "version": "" } })
            .await
            .unwrap();
    }

    let (_, body) = app.get(&expense, &al.token).await;
    assert_eq!(body["data"]["version"], 0);
    let (status, body) = app.put(&expense, &al.token, json!({ "notes": "a" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 1);
    let (status, body) = app
        .put(&expense, &al.token, json!({ "notes": "b", "version": 0 }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = app
        .put(&group, &al.token, json!({ "name": "Trip 2", "version": 0 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 1);
    let settle_path = format!("{expense}/settle");
    let (status, body) = app.patch(&settle_path, &bo.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 2);
}
