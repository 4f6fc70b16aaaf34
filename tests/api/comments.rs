//! Comments on expenses and payments, through HTTP: who may read, write and
//! delete them, and the input rules.

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, error_message, spawn_app, ExpenseBody, TestApp, User};

fn texts(res: &Value) -> Vec<String> {
    res["data"]
        .as_array()
        .expect("a list of comments")
        .iter()
        .map(|c| c["text"].as_str().expect("text").to_owned())
        .collect()
}

/// Al and Bo, friends, with a lunch they split; its comments' path.
async fn lunch(app: &TestApp) -> (User, User, String) {
    let (al, bo) = app.friends("Al", "Bo").await;
    let expense = app
        .expense(
            &al,
            ExpenseBody::new("Lunch", 30).split(&al, 15).split(&bo, 15),
        )
        .await;
    let path = format!("/v1/expenses/{}/comments", expense["_id"].as_str().unwrap());
    (al, bo, path)
}

#[tokio::test]
async fn people_in_an_expense_comment_on_it_and_outsiders_see_nothing() {
    let app = spawn_app().await;
    let (al, bo, path) = lunch(&app).await;
    let cy = app.user("Cy").await;

    let (status, res) = app
        .post(&path, &bo.token, json!({"text": "  I paid the tip  "}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    assert_eq!(res["data"]["text"], "I paid the tip", "trimmed: {res}");
    assert_eq!(res["data"]["user"]["_id"], json!(bo.id));
    assert_eq!(res["data"]["user"]["name"], "Bo");
    assert!(res["data"]["createdAt"].as_str().unwrap().ends_with('Z'));
    let (status, res) = app.post(&path, &al.token, json!({"text": "Thanks!"})).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");

    // Both people read them, oldest first, with a pagination.
    for who in [&al, &bo] {
        let (status, res) = app.get(&path, &who.token).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        assert_eq!(texts(&res), ["I paid the tip", "Thanks!"]);
        assert_eq!(res["pagination"]["total"], 2);
    }
    let (_, res) = app.get(&format!("{path}?limit=1&page=2"), &al.token).await;
    assert_eq!(texts(&res), ["Thanks!"]);

    // Someone outside it: 404 for reading, writing and deleting, as if the
    // expense did not exist; and they learn no text.
    let (status, res) = app.get(&path, &cy.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{res}");
    assert!(!res.to_string().contains("tip"), "{res}");
    let (status, _) = app.post(&path, &cy.token, json!({"text": "hi"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.get(&path, &al.token).await;
    let first = listed["data"][0]["_id"].as_str().unwrap().to_owned();
    let (status, _) = app.delete(&format!("{path}/{first}"), &cy.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.get(&path, &al.token).await;
    assert_eq!(texts(&listed).len(), 2, "an outsider deleted nothing");
}

#[tokio::test]
async fn only_the_author_deletes_a_comment() {
    let app = spawn_app().await;
    let (al, bo, path) = lunch(&app).await;
    let (_, res) = app.post(&path, &bo.token, json!({"text": "mine"})).await;
    let id = res["data"]["_id"].as_str().unwrap().to_owned();

    let (status, res) = app.delete(&format!("{path}/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert_eq!(error_message(&res), "You can only delete your own comments");
    let (status, res) = app.delete(&format!("{path}/{id}"), &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (_, listed) = app.get(&path, &al.token).await;
    assert!(texts(&listed).is_empty(), "{listed}");
    let (status, _) = app.delete(&format!("{path}/{id}"), &bo.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already gone");
    let (status, res) = app.delete(&format!("{path}/not-an-id"), &bo.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");

    // A comment is deleted through the object it is on, not another one.
    let other = app
        .expense(&al, ExpenseBody::new("Cab", 10).split(&al, 5).split(&bo, 5))
        .await;
    let (_, res) = app.post(&path, &bo.token, json!({"text": "again"})).await;
    let id = res["data"]["_id"].as_str().unwrap().to_owned();
    let elsewhere = format!(
        "/v1/expenses/{}/comments/{id}",
        other["_id"].as_str().unwrap()
    );
    let (status, _) = app.delete(&elsewhere, &bo.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = app.get(&path, &bo.token).await;
    assert_eq!(texts(&listed), ["again"]);
}

#[tokio::test]
async fn comment_text_follows_the_input_rules() {
    let app = spawn_app().await;
    let (al, _bo, path) = lunch(&app).await;
    for body in [
        json!({}),
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "\u{200B}\u{200B}"}),
        json!({"text": "x".repeat(1001)}),
        json!({"text": "bell\u{0007}"}),
    ] {
        let (status, res) = app.post(&path, &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {res}");
        assert_field_error(&res, "text");
    }
    let (status, res) = app
        .post(&path, &al.token, json!({"text": "é".repeat(1000)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "1000 characters: {res}");
    let (status, res) = app
        .post(&path, &al.token, json!({"text": "two\nlines"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let (_, listed) = app.get(&path, &al.token).await;
    assert_eq!(
        listed["pagination"]["total"], 2,
        "no refused comment stored"
    );
}

#[tokio::test]
async fn payments_take_comments_from_their_two_parties_only() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let (status, res) = app
        .post(
            "/v1/payments",
            &bo.token,
            json!({"to": al.id, "amount": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let payment = res["data"]["_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/payments/{payment}/comments");

    let (status, res) = app.post(&path, &al.token, json!({"text": "got it"})).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    let (_, res) = app.get(&path, &bo.token).await;
    assert_eq!(texts(&res), ["got it"]);
    let (status, _) = app.get(&path, &cy.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A payment is not an expense, nor the reverse, on these routes.
    let (status, _) = app
        .get(&format!("/v1/expenses/{payment}/comments"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let expense = app
        .expense(
            &al,
            ExpenseBody::new("Lunch", 30).split(&al, 15).split(&bo, 15),
        )
        .await;
    let (status, _) = app
        .get(
            &format!("/v1/payments/{}/comments", expense["_id"].as_str().unwrap()),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn comments_stay_with_a_deleted_expense_until_the_purge() {
    let app = spawn_app().await;
    let (al, bo, path) = lunch(&app).await;
    let id = path.split('/').nth(3).expect("the expense id").to_owned();
    let (status, _) = app.post(&path, &bo.token, json!({"text": "hm"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let comments = app
        .store()
        .await
        .database()
        .collection::<mongodb::bson::Document>("comments");
    assert_eq!(comments.count_documents(doc! {}).await.expect("count"), 1);
    let (status, res) = app.delete(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, _) = app.get(&path, &bo.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Restored, the expense has its comments back.
    let (status, res) = app
        .post(&format!("/v1/expenses/{id}/restore"), &bo.token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) = app.get(&path, &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["data"][0]["text"], "hm");
    // Deleted again and purged: the comments go with it.
    let (status, _) = app.delete(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(comments.count_documents(doc! {}).await.expect("count"), 1);
    let purged = app
        .store()
        .await
        .purge_trash(std::time::Duration::ZERO, 100)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(comments.count_documents(doc! {}).await.expect("count"), 0);
}
