//! `/v1/users/friends`: list, bulk add (with pending friends), removal, balance
//! with one friend, and pending friends turning into friends on registration.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_message, keys, spawn_app, ExpenseBody, TestApp, User};

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|v| v["_id"].as_str().expect("_id").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// `data` of GET /v1/users/friends.
async fn friends_of(app: &TestApp, user: &User) -> Value {
    let (status, body) = app.get("/v1/users/friends", &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    body["data"].clone()
}

async fn add(app: &TestApp, user: &User, entries: Value) -> Value {
    let (status, body) = app
        .post(
            "/v1/users/friends",
            &user.token,
            json!({ "friends": entries }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true, "{body}");
    body
}

async fn set_phone(app: &TestApp, user: &User, phone: &str) {
    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &user.token,
            json!({ "phoneNumber": phone }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------- GET /friends ----------

#[tokio::test]
async fn list_returns_friends_and_pending_friends_with_their_fields() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let (status, _) = app
        .patch("/v1/users/profile", &bo.token, json!({"phoneNumber": "+1 555 010 2222", "profileImage": "https://img.example.com/bo.png"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // A new user has empty lists; a trailing slash is accepted.
    let cy = app.user("Cy").await;
    assert_eq!(
        friends_of(&app, &cy).await,
        json!({"friends": [], "pendingFriends": []})
    );
    let (status, body) = app.get("/v1/users/friends/", &cy.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"friends": [], "pendingFriends": []}));

    add(
        &app,
        &al,
        json!([{"name": "Dee", "email": "dee@example.com", "phoneNumber": "555-0303"}]),
    )
    .await;
    let (status, body) = app.get("/v1/users/friends", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());
    let data = &body["data"];
    assert_eq!(keys(data), ["friends", "pendingFriends"]);
    assert_eq!(
        data["friends"],
        json!([{"_id": bo.id, "name": "Bo", "email": "bo@example.com", "phoneNumber": "+1 555 010 2222", "profileImage": "https://img.example.com/bo.png", "status": "mutual"}])
    );
    let pending = data["pendingFriends"].as_array().expect("pending array");
    assert_eq!(pending.len(), 1, "{body}");
    assert_eq!(
        keys(&pending[0]),
        ["_id", "email", "name", "phoneNumber", "status"]
    );
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["name"], "Dee");
    assert_eq!(pending[0]["email"], "dee@example.com");
    assert_eq!(pending[0]["phoneNumber"], "555-0303");
    assert_eq!(pending[0]["_id"].as_str().map(str::len), Some(24));
    // Bo's view: Al as a friend with null phone/image, no pending friends of Al's.
    assert_eq!(
        friends_of(&app, &bo).await,
        json!({"friends": [{"_id": al.id, "name": "Al", "email": "al@example.com", "phoneNumber": null, "profileImage": null, "status": "mutual"}], "pendingFriends": []})
    );
}

// ---------- POST /friends ----------

#[tokio::test]
async fn adding_a_registered_user_by_email_makes_mutual_friends() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let body = add(
        &app,
        &al,
        json!([{"name": "Bobby", "email": "  BO@Example.com "}]),
    )
    .await;
    assert_eq!(
        body["message"],
        "1 friend(s) added, 0 pending friend(s) created"
    );
    let results = body["data"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["type"], "existing_user");
    assert_eq!(r["success"], true);
    assert_eq!(r["name"], "Bobby");
    assert_eq!(r["email"], "bo@example.com");
    assert!(r["phoneNumber"].is_null());
    assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()));

    assert_eq!(
        ids_of(&friends_of(&app, &al).await["friends"]),
        [bo.id.as_str()]
    );
    assert_eq!(
        ids_of(&friends_of(&app, &bo).await["friends"]),
        [al.id.as_str()]
    );
    assert_eq!(app.profile(&al).await["friends"], json!([bo.id]));
    assert_eq!(app.profile(&bo).await["friends"], json!([al.id]));
    assert_eq!(
        friends_of(&app, &al).await["pendingFriends"],
        json!([]),
        "no pending record for a registered user"
    );
}

#[tokio::test]
async fn adding_a_registered_user_by_phone_makes_mutual_friends() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    set_phone(&app, &bo, "+1 555 010 9999").await;

    let body = add(
        &app,
        &al,
        json!([{"name": "Bo by phone", "phoneNumber": "+1 555 010 9999"}]),
    )
    .await;
    assert_eq!(
        body["message"],
        "1 friend(s) added, 0 pending friend(s) created"
    );
    assert_eq!(body["data"][0]["type"], "existing_user");
    assert_eq!(body["data"][0]["success"], true);
    assert_eq!(body["data"][0]["phoneNumber"], "+1 555 010 9999");

    assert_eq!(
        ids_of(&friends_of(&app, &al).await["friends"]),
        [bo.id.as_str()]
    );
    assert_eq!(
        ids_of(&friends_of(&app, &bo).await["friends"]),
        [al.id.as_str()]
    );
    assert_eq!(friends_of(&app, &al).await["pendingFriends"], json!([]));

    // An unknown email falls back to the phone number.
    let cy = app.user("Cy").await;
    set_phone(&app, &cy, "555-0707").await;
    let body = add(
        &app,
        &al,
        json!([{"name": "Cy", "email": "cy.old@example.com", "phoneNumber": "555-0707"}]),
    )
    .await;
    assert_eq!(
        body["message"], "1 friend(s) added, 0 pending friend(s) created",
        "{body}"
    );
    assert_eq!(body["data"][0]["type"], "existing_user");
    assert_eq!(
        ids_of(&friends_of(&app, &cy).await["friends"]),
        [al.id.as_str()]
    );
    assert_eq!(friends_of(&app, &al).await["pendingFriends"], json!([]));
}

#[tokio::test]
async fn adding_an_unregistered_person_creates_a_pending_friend() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let body = add(
        &app,
        &al,
        json!([{"name": "Cy", "email": "Cy@Example.com"}, {"name": "Dee", "phoneNumber": "555-0303"}]),
    )
    .await;
    assert_eq!(
        body["message"],
        "0 friend(s) added, 2 pending friend(s) created"
    );
    for r in body["data"].as_array().unwrap() {
        assert_eq!(r["type"], "pending_friend", "{r}");
        assert_eq!(r["success"], true, "{r}");
    }
    assert_eq!(body["data"][0]["email"], "cy@example.com");
    assert_eq!(body["data"][1]["phoneNumber"], "555-0303");
    assert!(body["data"][1]["email"].is_null());

    let list = friends_of(&app, &al).await;
    assert_eq!(list["friends"], json!([]));
    let pending = list["pendingFriends"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{list}");
    let cy = pending
        .iter()
        .find(|p| p["name"] == "Cy")
        .expect("Cy pending");
    assert_eq!(cy["email"], "cy@example.com");
    let dee = pending
        .iter()
        .find(|p| p["name"] == "Dee")
        .expect("Dee pending");
    assert!(dee["email"].is_null(), "{dee}");
    assert_eq!(dee["phoneNumber"], "555-0303");
    // The profile lists the same pending ids.
    let mut profile_pending: Vec<String> = app.profile(&al).await["pendingFriends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    profile_pending.sort();
    assert_eq!(profile_pending, ids_of(&list["pendingFriends"]));
    assert_eq!(app.profile(&al).await["friends"], json!([]));
}

#[tokio::test]
async fn bulk_add_reports_each_entry_and_keeps_going_after_failures() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    add(
        &app,
        &al,
        json!([{"name": "Pat", "email": "pat@example.com"}]),
    )
    .await;
    set_phone(&app, &al, "555-0101").await;

    let body = add(
        &app,
        &al,
        json!([
            {"name": "Me", "email": "al@example.com"},
            {"name": "Bo", "email": "bo@example.com"},
            {"name": "Pat again", "email": "PAT@example.com"},
            {"name": "Cy", "email": "cy@example.com"},
            {"name": "Dee", "email": "dee@example.com"},
            {"email": "nameless@example.com"},
            {"name": "Cy twice", "email": "cy@example.com"},
            {"name": "Dee twice", "email": "dee@example.com"},
            {"name": "Bad email", "email": "not-an-email"},
            {"name": "Me by phone", "phoneNumber": "555-0101"},
        ]),
    )
    .await;
    assert_eq!(
        body["message"], "1 friend(s) added, 1 pending friend(s) created",
        "{body}"
    );
    let results = body["data"].as_array().expect("results");
    assert_eq!(results.len(), 10, "{body}");
    let expect = [
        (false, Some("existing_user")),
        (false, Some("existing_user")),
        (false, Some("pending_friend")),
        (true, Some("existing_user")),
        (true, Some("pending_friend")),
        (false, None),
        (false, Some("existing_user")),
        (false, Some("pending_friend")),
        (false, None),
        (false, Some("existing_user")),
    ];
    for (i, (r, (success, kind))) in results.iter().zip(expect).enumerate() {
        assert_eq!(r["success"], success, "entry {i}: {r}");
        if let Some(kind) = kind {
            assert_eq!(r["type"], kind, "entry {i}: {r}");
        }
        assert!(
            r["message"].as_str().is_some_and(|m| !m.is_empty()),
            "entry {i}: {r}"
        );
    }
    assert_eq!(results[5]["email"], "nameless@example.com");
    assert_eq!(results[8]["name"], "Bad email");
    // Failures carry distinct, human messages.
    assert_ne!(results[0]["message"], results[1]["message"]);
    assert_ne!(results[1]["message"], results[2]["message"]);

    let al_list = friends_of(&app, &al).await;
    assert_eq!(ids_of(&al_list["friends"]), sorted(&[&bo.id, &cy.id]));
    let pending_emails: Vec<&str> = al_list["pendingFriends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(pending_emails.len(), 2, "{al_list}");
    assert!(
        pending_emails.contains(&"pat@example.com") && pending_emails.contains(&"dee@example.com"),
        "{al_list}"
    );
    assert_eq!(
        ids_of(&friends_of(&app, &cy).await["friends"]),
        [al.id.as_str()]
    );
    assert!(
        !ids_of(&al_list["friends"]).contains(&al.id),
        "never my own friend"
    );
}

#[tokio::test]
async fn bulk_add_without_entries_is_400() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    for body in [
        json!({"friends": []}),
        json!({}),
        json!({"friends": "bo@example.com"}),
    ] {
        let (status, res) = app.post("/v1/users/friends", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert!(!error_message(&res).is_empty());
    }
    assert_eq!(
        friends_of(&app, &al).await,
        json!({"friends": [], "pendingFriends": []})
    );
}

#[tokio::test]
async fn bulk_add_with_an_entry_lacking_email_and_phone_is_400_and_stores_nothing() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let (status, res) = app
        .post(
            "/v1/users/friends",
            &al.token,
            json!({"friends": [
                {"name": "Bo", "email": "bo@example.com"},
                {"name": "Pat", "email": "pat@example.com"},
                {"name": "Sam"},
                {"name": "Blank", "email": "  ", "phoneNumber": ""},
                {},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert_eq!(
        res["errors"],
        json!([
            {"field": "friends[2]", "message": "Friend 3 (Sam) needs an email or a phone number"},
            {"field": "friends[3]", "message": "Friend 4 (Blank) needs an email or a phone number"},
            {"field": "friends[4]", "message": "Friend 5 needs an email or a phone number"},
        ]),
        "{res}"
    );
    assert_eq!(
        error_message(&res),
        "Friend 3 (Sam) needs an email or a phone number"
    );
    // Neither the valid friend nor the valid pending friend was stored.
    let empty = json!({"friends": [], "pendingFriends": []});
    assert_eq!(friends_of(&app, &al).await, empty);
    assert_eq!(friends_of(&app, &bo).await, empty);
    assert_eq!(app.profile(&al).await["pendingFriends"], json!([]));
    // Pat registering later befriends nobody.
    let pat = app.user("Pat").await;
    assert_eq!(friends_of(&app, &pat).await, empty);
}

// ---------- DELETE /friends/:id ----------

#[tokio::test]
async fn removing_a_friend_ends_the_friendship_both_ways() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;

    let (status, body) = app
        .delete(&format!("/v1/users/friends/{}", bo.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());

    assert_eq!(
        ids_of(&friends_of(&app, &al).await["friends"]),
        [cy.id.as_str()]
    );
    assert_eq!(friends_of(&app, &bo).await["friends"], json!([]));
    assert_eq!(app.profile(&bo).await["friends"], json!([]));
    assert_eq!(app.profile(&al).await["friends"], json!([cy.id]));

    // Again, or someone who never was a friend: 404.
    for id in [&bo.id, &"0123456789abcdef01234567".to_string()] {
        let (status, body) = app
            .delete(&format!("/v1/users/friends/{id}"), &al.token)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        error_message(&body);
    }
    // The other side can remove too.
    let (status, _) = app
        .delete(&format!("/v1/users/friends/{}", al.id), &cy.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(friends_of(&app, &al).await["friends"], json!([]));
}

#[tokio::test]
async fn removing_with_a_malformed_id_is_400() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    for path in [
        "/v1/users/friends/not-an-id",
        "/v1/users/friends/not-an-id?type=pending",
        "/v1/users/friends/0123456789abcdef0123456z",
    ] {
        let (status, body) = app.delete(path, &al.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(error_message(&body), "Invalid friend ID format");
    }
}

#[tokio::test]
async fn removing_a_pending_friend_only_works_for_my_own() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    add(&app, &al, json!([{"name": "Cy", "email": "cy@example.com"}, {"name": "Dee", "email": "dee@example.com"}])).await;
    add(
        &app,
        &bo,
        json!([{"name": "Eve", "email": "eve@example.com"}]),
    )
    .await;
    let al_pending = friends_of(&app, &al).await["pendingFriends"].clone();
    let cy_id = al_pending
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Cy")
        .unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let bo_pending_id = friends_of(&app, &bo).await["pendingFriends"][0]["_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone else's pending friend: 404, and it survives.
    let (status, body) = app
        .delete(
            &format!("/v1/users/friends/{bo_pending_id}?type=pending"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    error_message(&body);
    assert_eq!(
        ids_of(&friends_of(&app, &bo).await["pendingFriends"]),
        [bo_pending_id.as_str()]
    );
    assert_eq!(
        app.profile(&bo).await["pendingFriends"],
        json!([bo_pending_id])
    );
    // Unknown id: 404.
    let (status, _) = app
        .delete(
            "/v1/users/friends/0123456789abcdef01234567?type=pending",
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = app
        .delete(
            &format!("/v1/users/friends/{cy_id}?type=pending"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    let pending = friends_of(&app, &al).await["pendingFriends"].clone();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["name"], "Dee");
    assert!(!app.profile(&al).await["pendingFriends"]
        .as_array()
        .unwrap()
        .contains(&json!(cy_id)));
    assert_eq!(
        app.profile(&al).await["pendingFriends"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Twice: 404.
    let (status, _) = app
        .delete(
            &format!("/v1/users/friends/{cy_id}?type=pending"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A removed pending friend registering does not become a friend.
    let cy = app.user("Cy").await;
    assert_eq!(friends_of(&app, &cy).await["friends"], json!([]));
}

// ---------- GET /friends/:id/balance ----------

#[tokio::test]
async fn balance_with_someone_who_is_not_a_friend_is_400() {
    let app = spawn_app().await;
    let [al, stranger] = app.users(["Al", "Stranger"]).await;
    for id in [
        stranger.id.as_str(),
        "0123456789abcdef01234567",
        al.id.as_str(),
    ] {
        let (status, body) = app
            .get(&format!("/v1/users/friends/{id}/balance"), &al.token)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {body}");
        error_message(&body);
    }
    let (status, body) = app.get("/v1/users/friends/nope/balance", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_message(&body), "Invalid friend ID format");
}

#[tokio::test]
async fn balance_nets_expenses_both_ways_and_ignores_settled_splits() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.with_friends(["Al", "Bo", "Cy"]).await;

    let data = app.friend_balance(&al, &bo).await;
    assert_eq!(data["balance"], json!(0));
    assert_eq!(
        data["friend"],
        json!({"_id": bo.id, "name": "Bo", "email": "bo@example.com", "profileImage": null})
    );
    assert!(data["message"].is_string());

    // Al paid 30: Bo's share 20 → Bo owes Al 20.
    app.expense(
        &al,
        ExpenseBody::new("Groceries", 30)
            .split(&al, 10)
            .split(&bo, 20),
    )
    .await;
    // Bo paid 15: Al's share 7.50 → Al owes Bo 7.50.
    let theirs = app
        .expense(
            &bo,
            ExpenseBody::new("Cinema", "15.00")
                .split(&al, 7.5)
                .split(&bo, 7.5),
        )
        .await;
    // Three-way, Al paid 9: Bo owes 3 more; Cy's share is not Bo's business.
    app.expense(
        &al,
        ExpenseBody::new("Snacks", 9)
            .split(&al, 3)
            .split(&bo, 3)
            .split(&cy, 3),
    )
    .await;
    // Cy paid for Al alone: nothing to do with Bo.
    app.expense(&cy, ExpenseBody::new("Coffee", 4).split(&al, 4))
        .await;
    // Cy paid for Al and Bo (recorded by Al): Al owes Cy 6, nothing between Al and Bo.
    app.expense(
        &al,
        ExpenseBody::new("Tickets", 12)
            .split(&al, 6)
            .split(&bo, 6)
            .paid_by(&cy),
    )
    .await;
    // A group expense counts too: Al paid 6, Bo's share 3.
    let (status, group) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "Trip", "members": [bo.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["data"]["_id"].as_str().unwrap();
    app.expense(
        &al,
        ExpenseBody::new("Fuel", 6)
            .split(&al, 3)
            .split(&bo, 3)
            .in_group(group_id),
    )
    .await;

    // 20 - 7.50 + 3 + 3 = 18.50
    let data = app.friend_balance(&al, &bo).await;
    assert_eq!(data["balance"], json!(18.5), "{data}");
    assert_eq!(data["message"], "You are owed $18.50");
    let data = app.friend_balance(&bo, &al).await;
    assert_eq!(data["balance"], json!(-18.5), "{data}");
    assert_eq!(data["message"], "You owe $18.50");
    assert_eq!(data["friend"]["_id"], al.id.as_str());
    // With Cy: Cy owes 3, Al owes Cy 4 + 6 → Al owes 7.
    let data = app.friend_balance(&al, &cy).await;
    assert_eq!(data["balance"], json!(-7), "{data}");
    assert_eq!(data["message"], "You owe $7.00");

    // Al settles his 7.50 share of Bo's expense: it no longer counts.
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/v1/expenses/{}/settle", theirs["_id"].as_str().unwrap()),
            Some(&al.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = app.friend_balance(&al, &bo).await;
    assert_eq!(data["balance"], json!(26), "{data}");
    assert_eq!(data["message"], "You are owed $26.00");
    let data = app.friend_balance(&bo, &al).await;
    assert_eq!(data["balance"], json!(-26), "{data}");
    assert_eq!(data["message"], "You owe $26.00");
}

// ---------- pending friends become friends on registration ----------

#[tokio::test]
async fn registering_turns_pending_friends_into_mutual_friends() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    add(&app, &al, json!([{"name": "Cee", "email": "c@example.com"}, {"name": "Stays", "email": "stays@example.com"}])).await;
    add(
        &app,
        &bo,
        json!([{"name": "C from Bo", "email": "C@example.com"}]),
    )
    .await;
    let al_pending_before = friends_of(&app, &al).await["pendingFriends"].clone();
    let c_pending_id = al_pending_before
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == "c@example.com")
        .unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_string();

    let c = app.register("Cee", "C@Example.com").await;

    let c_list = friends_of(&app, &c).await;
    assert_eq!(
        ids_of(&c_list["friends"]),
        sorted(&[&al.id, &bo.id]),
        "{c_list}"
    );
    assert_eq!(c_list["pendingFriends"], json!([]));
    let al_list = friends_of(&app, &al).await;
    assert_eq!(ids_of(&al_list["friends"]), [c.id.as_str()]);
    let al_pending = al_list["pendingFriends"].as_array().unwrap();
    assert_eq!(al_pending.len(), 1, "{al_list}");
    assert_eq!(al_pending[0]["email"], "stays@example.com");
    let al_profile = app.profile(&al).await;
    assert_eq!(al_profile["friends"], json!([c.id]));
    assert!(
        !al_profile["pendingFriends"]
            .as_array()
            .unwrap()
            .contains(&json!(c_pending_id)),
        "{al_profile}"
    );
    assert_eq!(al_profile["pendingFriends"].as_array().unwrap().len(), 1);
    let bo_list = friends_of(&app, &bo).await;
    assert_eq!(ids_of(&bo_list["friends"]), [c.id.as_str()]);
    assert_eq!(bo_list["pendingFriends"], json!([]));
    assert_eq!(app.profile(&bo).await["pendingFriends"], json!([]));

    // The pending record is gone: removing it is 404, re-adding C says "already friends".
    let (status, _) = app
        .delete(
            &format!("/v1/users/friends/{c_pending_id}?type=pending"),
            &al.token,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = add(
        &app,
        &al,
        json!([{"name": "Cee", "email": "c@example.com"}]),
    )
    .await;
    assert_eq!(body["data"][0]["success"], false);
    assert_eq!(body["data"][0]["type"], "existing_user");
    assert_eq!(
        body["message"],
        "0 friend(s) added, 0 pending friend(s) created"
    );
}

#[tokio::test]
async fn registering_with_a_pending_phone_number_befriends_too() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    // Al knows Dee twice (by phone and by email), Bo by phone only.
    add(
        &app,
        &al,
        json!([{"name": "Dee", "phoneNumber": "+1 555 010 4444"}, {"name": "Dee mail", "email": "dee@example.com"}]),
    )
    .await;
    add(
        &app,
        &bo,
        json!([{"name": "D", "phoneNumber": "+1 555 010 4444"}]),
    )
    .await;
    assert_eq!(
        app.profile(&al).await["pendingFriends"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let dee = app
        .register_with_phone("Dee", "dee@example.com", "+1 555 010 4444")
        .await;
    let dee_list = friends_of(&app, &dee).await;
    assert_eq!(
        ids_of(&dee_list["friends"]),
        sorted(&[&al.id, &bo.id]),
        "{dee_list}"
    );
    assert_eq!(
        app.profile(&dee).await["friends"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(friends_of(&app, &bo).await["pendingFriends"], json!([]));

    let al_list = friends_of(&app, &al).await;
    assert_eq!(ids_of(&al_list["friends"]), [dee.id.as_str()]);
    assert_eq!(al_list["pendingFriends"], json!([]));
    assert_eq!(app.profile(&al).await["pendingFriends"], json!([]));
}

#[tokio::test]
async fn friends_routes_require_a_token() {
    let app = spawn_app().await;
    let id = "0123456789abcdef01234567";
    for (method, path) in [
        (Method::GET, "/v1/users/friends".to_string()),
        (Method::POST, "/v1/users/friends".to_string()),
        (Method::DELETE, format!("/v1/users/friends/{id}")),
        (Method::GET, format!("/v1/users/friends/{id}/balance")),
    ] {
        let (status, body) = app
            .call(method, &path, None, Some(json!({"friends": []})))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(error_message(&body), "No token provided");
    }
}
