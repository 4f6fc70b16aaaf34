//! Trust between users: what one account can learn about, or do to, another.
//! Each test is an attack that worked against the server before friendship
//! states, blocks and the privacy rules, and the app's own flows beside it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_message, spawn_app, ExpenseBody, TestApp, User};

async fn friends_list(app: &TestApp, user: &User) -> Value {
    let (status, body) = app.get("/v1/users/friends", &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

/// The entry for `id` in `user`'s friends list.
async fn entry(app: &TestApp, user: &User, id: &str) -> Option<Value> {
    let data = friends_list(app, user).await;
    data["friends"]
        .as_array()
        .expect("friends")
        .iter()
        .find(|f| f["_id"] == id)
        .cloned()
}

async fn add(app: &TestApp, by: &User, friend: Value) -> Value {
    let (status, body) = app
        .post(
            "/v1/users/friends",
            &by.token,
            json!({ "friends": [friend] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"][0].clone()
}

/// Every string anywhere in `v`.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn mentions(v: &Value, needle: &str) -> bool {
    let mut all = Vec::new();
    strings(v, &mut all);
    all.iter().any(|s| s.contains(needle))
}

#[tokio::test]
async fn adding_by_phone_is_not_a_reverse_phone_lookup() {
    let app = spawn_app().await;
    let victim = app
        .register_with_phone("Vera Victim", "vera@example.com", "+15550100")
        .await;
    let attacker = app.user("Mallory").await;

    let result = add(
        &app,
        &attacker,
        json!({"name": "Who", "phoneNumber": "+15550100"}),
    )
    .await;
    assert_eq!(result["success"], true, "{result}");
    // The attack: the friends list gave the victim's email back.
    let all = friends_list(&app, &attacker).await;
    assert!(!mentions(&all, "vera@example.com"), "{all}");
    assert_eq!(result["status"], "outgoing", "{result}");
    assert!(!mentions(&result, "vera@example.com"), "{result}");

    let seen = entry(&app, &attacker, &victim.id).await.expect("listed");
    assert_eq!(seen["status"], "outgoing");
    // Only what the attacker typed: the phone, and no email.
    assert_eq!(seen["phoneNumber"], "+15550100");
    assert_eq!(seen["email"], "", "{seen}");

    // The victim was asked, not befriended, and learns nothing of the adder.
    let asked = entry(&app, &victim, &attacker.id).await.expect("listed");
    assert_eq!(asked["status"], "incoming");
    assert_eq!(asked["email"], "");
    assert_eq!(asked["phoneNumber"], Value::Null);
}

#[tokio::test]
async fn adding_by_email_does_not_reveal_the_phone_until_accepted() {
    let app = spawn_app().await;
    let victim = app
        .register_with_phone("Vera", "vera@example.com", "+15550101")
        .await;
    let adder = app
        .register_with_phone("Adam", "adam@example.com", "+15550202")
        .await;

    add(
        &app,
        &adder,
        json!({"name": "Vera", "email": "VERA@example.com"}),
    )
    .await;
    let all = friends_list(&app, &adder).await;
    assert!(!mentions(&all, "+15550101"), "the phone leaked: {all}");
    let seen = entry(&app, &adder, &victim.id).await.expect("listed");
    assert_eq!(seen["status"], "outgoing");
    assert_eq!(seen["email"], "vera@example.com", "what the adder typed");
    assert_eq!(seen["phoneNumber"], Value::Null, "{seen}");

    // The added side accepts: both are mutual and see each other's details.
    let path = format!("/v1/users/friends/{}/accept", adder.id);
    let (status, body) = app.post(&path, &victim.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "mutual");
    assert_eq!(body["data"]["phoneNumber"], "+15550202");
    let seen = entry(&app, &adder, &victim.id).await.expect("listed");
    assert_eq!(seen["status"], "mutual");
    assert_eq!(seen["phoneNumber"], "+15550101");
    let (status, _) = app.post(&path, &victim.token, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing left to accept");
}

#[tokio::test]
async fn adding_someone_who_added_me_makes_us_mutual_and_declining_removes_the_request() {
    let app = spawn_app().await;
    let [a, b, c] = app.users(["Ann", "Ben", "Cid"]).await;

    app.request_friend(&a, &b).await;
    let back = add(&app, &b, json!({"name": "Ann", "email": "ann@example.com"})).await;
    assert_eq!(back["status"], "mutual", "{back}");
    assert_eq!(
        entry(&app, &a, &b.id).await.expect("a lists b")["status"],
        "mutual"
    );
    assert_eq!(
        entry(&app, &b, &a.id).await.expect("b lists a")["email"],
        "ann@example.com"
    );

    app.request_friend(&c, &a).await;
    let path = format!("/v1/users/friends/{}/decline", c.id);
    let (status, body) = app.post(&path, &a.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(entry(&app, &a, &c.id).await.is_none());
    assert!(entry(&app, &c, &a.id).await.is_none());
    let (status, _) = app.post(&path, &a.token, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn putting_someone_in_a_group_reveals_nothing() {
    let app = spawn_app().await;
    let victim = app
        .register_with_phone("Vera", "vera@example.com", "+15550103")
        .await;
    let attacker = app
        .register_with_phone("Mal", "mal@example.com", "+15550104")
        .await;

    let (status, group) = app
        .post(
            "/v1/groups",
            &attacker.token,
            json!({"name": "Trap", "members": [victim.id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert!(!mentions(&group, "vera@example.com"), "{group}");
    let gid = group["data"]["_id"].as_str().expect("id");
    let (_, read) = app.get(&format!("/v1/groups/{gid}"), &attacker.token).await;
    assert!(!mentions(&read, "vera@example.com"), "{read}");
    let (_, listed) = app.get("/v1/groups", &attacker.token).await;
    assert!(!mentions(&listed, "vera@example.com"), "{listed}");
    // Nor the other way round, and the member can leave as before.
    let (_, theirs) = app.get(&format!("/v1/groups/{gid}"), &victim.token).await;
    assert!(!mentions(&theirs, "mal@example.com"), "{theirs}");
    let (status, _) = app
        .delete(&format!("/v1/groups/{gid}/leave"), &victim.token)
        .await;
    assert_eq!(status, StatusCode::OK);

    // Adding a member by email: the adder sees only the email they typed.
    let other = app
        .register_with_phone("Olga", "olga@example.com", "+15550105")
        .await;
    let (status, added) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &attacker.token,
            json!({"memberEmail": "olga@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert!(!mentions(&added, "+15550105"), "{added}");
    let seen = entry(&app, &attacker, &other.id).await.expect("requested");
    assert_eq!(seen["status"], "outgoing");
    assert_eq!(seen["phoneNumber"], Value::Null);
}

#[tokio::test]
async fn search_is_not_a_directory() {
    let app = spawn_app().await;
    let me = app.user("Searcher").await;
    for (name, email) in [
        ("Alice Smith", "alice@example.com"),
        ("Alicia Keys", "alicia@example.com"),
        ("Bob Stone", "bob@example.com"),
    ] {
        app.register(name, email).await;
    }

    // The harvest: every account shares the domain.
    let (status, body) = app.get("/v1/users?userId=example.com", &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pagination"]["total"], 0, "{body}");
    assert!(!mentions(&body, "@example.com"), "{body}");
    let (_, body) = app.get("/v1/users?userId=alice@exa", &me.token).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(0), "{body}");

    // A name prefix, any case, without contact details.
    let (_, body) = app.get("/v1/users?userId=ALI", &me.token).await;
    let names: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|u| u["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Alice Smith", "Alicia Keys"], "{body}");
    assert!(!mentions(&body, "@example.com"), "{body}");
    assert_eq!(body["data"][0]["email"], "", "still a string for the app");

    // An exact email finds that one person, with the email searched for.
    let (_, body) = app.get("/v1/users?userId=Bob@Example.com", &me.token).await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["data"][0]["email"], "bob@example.com");
}

#[tokio::test]
async fn name_search_reads_an_index() {
    let app = spawn_app().await;
    let me = app.user("Searcher").await;
    let store = app.store().await;
    let by = splitlyr::store::SearchBy::NamePrefix("ali".into());
    let id = mongodb::bson::oid::ObjectId::parse_str(&me.id).expect("id");
    let (filter, hint) = splitlyr::store::users::search_filter(id, &by);
    let plan = store
        .database()
        .run_command(mongodb::bson::doc! {
            "explain": { "find": "users", "filter": filter, "hint": hint, "sort": { "nameKey": 1, "_id": 1 } },
        })
        .await
        .expect("explain");
    let text = plan.to_string();
    assert!(text.contains("IXSCAN"), "{text}");
    assert!(!text.contains("COLLSCAN"), "{text}");
}

#[tokio::test]
async fn nobody_books_money_between_other_people() {
    let app = spawn_app().await;
    let [attacker, creditor, victim] = app.users(["Mal", "Cara", "Vic"]).await;
    // Asking is enough to record expenses with someone (as Splitwise allows).
    app.request_friend(&attacker, &creditor).await;
    app.request_friend(&attacker, &victim).await;

    // "Paid by C, owed by V", recorded by someone who is neither.
    let (status, body) = app
        .post(
            "/v1/expenses",
            &attacker.token,
            ExpenseBody::new("Not mine", 500)
                .split(&victim, 500)
                .paid_by(&creditor)
                .json(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["success"], false);
    let (_, theirs) = app.get("/v1/expenses", &victim.token).await;
    assert_eq!(theirs["pagination"]["total"], 0, "nothing booked: {theirs}");

    // Taking part is fine, also with a friend who has not accepted yet.
    let stranger = app.user("Sam").await;
    app.request_friend(&attacker, &stranger).await;
    let made = app
        .expense(
            &attacker,
            ExpenseBody::new("Lunch", 20)
                .split(&attacker, 10)
                .split(&stranger, 10)
                .paid_by(&attacker),
        )
        .await;
    // An edit cannot take the editor out of it either.
    let path = format!("/v1/expenses/{}", made["_id"].as_str().expect("id"));
    let (status, body) = app
        .put(
            &path,
            &attacker.token,
            json!({"paidBy": stranger.id, "splitWith": [{"user": stranger.id, "amount": 20}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn an_invitation_to_a_phone_number_is_a_request_not_a_friendship() {
    let app = spawn_app().await;
    let inviter = app
        .register_with_phone("Ivy", "ivy@example.com", "+15550300")
        .await;
    let invited = add(
        &app,
        &inviter,
        json!({"name": "Rightful Owner", "phoneNumber": "+15550999"}),
    )
    .await;
    assert_eq!(invited["type"], "pending_friend");

    // Someone registers with that number (numbers are not verified).
    let squatter = app
        .register_with_phone("Squatter", "squatter@example.com", "+15550999")
        .await;
    let all = friends_list(&app, &squatter).await;
    assert!(
        !mentions(&all, "ivy@example.com") && !mentions(&all, "+15550300"),
        "{all}"
    );
    let seen = entry(&app, &squatter, &inviter.id)
        .await
        .expect("a request");
    assert_eq!(seen["status"], "incoming");
    assert_eq!(seen["name"], "Ivy");
    assert_eq!(seen["email"], "", "{seen}");
    assert_eq!(seen["phoneNumber"], Value::Null, "{seen}");

    let mine = entry(&app, &inviter, &squatter.id).await.expect("outgoing");
    assert_eq!(mine["status"], "outgoing");
    assert_eq!(mine["phoneNumber"], "+15550999", "what the inviter typed");
    assert_eq!(mine["email"], "");
    assert!(friends_list(&app, &inviter).await["pendingFriends"]
        .as_array()
        .expect("pending")
        .is_empty());
}

#[tokio::test]
async fn blocking_ends_the_friendship_and_keeps_the_blocked_out() {
    let app = spawn_app().await;
    let [blocker, pest] = app.users(["Bea", "Pete"]).await;
    app.request_friend(&pest, &blocker).await;

    let (status, body) = app
        .post(
            "/v1/users/blocks",
            &blocker.token,
            json!({"userId": pest.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(entry(&app, &blocker, &pest.id).await.is_none());
    assert!(entry(&app, &pest, &blocker.id).await.is_none());
    let (_, listed) = app.get("/v1/users/blocks", &blocker.token).await;
    assert_eq!(listed["data"][0]["_id"], pest.id.as_str(), "{listed}");

    // Adding the blocker is answered as any add, and writes nothing.
    let answer = add(
        &app,
        &pest,
        json!({"name": "Bea", "email": "bea@example.com"}),
    )
    .await;
    assert_eq!(answer["success"], true);
    assert!(entry(&app, &blocker, &pest.id).await.is_none());
    // Not found by search, not put into an expense, payment or group.
    let (_, found) = app.get("/v1/users?userId=bea", &pest.token).await;
    assert_eq!(found["pagination"]["total"], 0, "{found}");
    let (_, found) = app
        .get("/v1/users?userId=bea@example.com", &pest.token)
        .await;
    assert_eq!(found["pagination"]["total"], 0, "{found}");
    let (status, body) = app
        .post(
            "/v1/groups",
            &pest.token,
            json!({"name": "G", "members": [blocker.id]}),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    let gid = app.group(&pest, "Mine", &[]).await;
    let (status, body) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &pest.token,
            json!({"memberEmail": "bea@example.com"}),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    let shared = app.group(&blocker, "Old", &[]).await;
    let (status, _) = app
        .post(
            &format!("/v1/groups/{shared}/members"),
            &blocker.token,
            json!({"memberEmail": "pete@example.com"}),
        )
        .await;
    assert!(
        status.is_client_error(),
        "the blocker cannot pull them in either"
    );
    let (status, body) = app
        .post(
            "/v1/payments",
            &pest.token,
            json!({"to": blocker.id, "amount": 5}),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    assert!(
        !error_message(&body).to_lowercase().contains("block"),
        "generic: {body}"
    );

    // In a group they both joined before the block, no new expense between
    // them.
    let (status, _) = app
        .delete(&format!("/v1/users/blocks/{}", pest.id), &blocker.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let trip = app.group(&blocker, "Trip 2", &[&pest]).await;
    let (status, _) = app
        .post(
            "/v1/users/blocks",
            &blocker.token,
            json!({"userId": pest.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .post(
            "/v1/expenses",
            &pest.token,
            ExpenseBody::new("Dinner", 10)
                .split(&pest, 5)
                .split(&blocker, 5)
                .paid_by(&pest)
                .in_group(&trip)
                .json(),
        )
        .await;
    assert!(status.is_client_error(), "{body}");
    // Nor a payment, with the group or through it.
    for body in [
        json!({"to": blocker.id, "amount": 5, "groupId": trip}),
        json!({"to": blocker.id, "amount": 5}),
    ] {
        let (status, res) = app.post("/v1/payments", &pest.token, body).await;
        assert!(status.is_client_error(), "{res}");
    }
    let (status, _) = app
        .delete(&format!("/v1/users/blocks/{}", pest.id), &blocker.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .delete(&format!("/v1/users/blocks/{}", pest.id), &blocker.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_deactivated_users_contact_details_are_shown_to_nobody() {
    let app = spawn_app().await;
    let [a, b] = app.users(["Ann", "Ben"]).await;
    app.request_friend(&a, &b).await;
    // b accepts (the old server made every add mutual at once).
    let accept = format!("/v1/users/friends/{}/accept", a.id);
    app.post(&accept, &b.token, json!({})).await;
    assert_eq!(
        entry(&app, &a, &b.id).await.expect("b")["email"],
        "ben@example.com"
    );
    let (status, _) = app.delete("/v1/users/deactivate-user", &b.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        entry(&app, &a, &b.id).await.expect("still listed")["email"],
        ""
    );
}

#[tokio::test]
async fn a_removed_creator_has_no_rights_over_the_group() {
    let app = spawn_app().await;
    let [creator, member, third] = app.users(["Cleo", "Max", "Tia"]).await;
    let gid = app.group(&creator, "Flat", &[&member, &third]).await;

    // Hand over: the creator makes Max an admin; Max removes the creator.
    let (status, body) = app
        .patch(
            &format!("/v1/groups/{gid}/members/{}", member.id),
            &creator.token,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .delete(
            &format!("/v1/groups/{gid}/members/{}", creator.id),
            &member.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .delete(&format!("/v1/groups/{gid}"), &creator.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.get(&format!("/v1/groups/{gid}"), &member.token).await;
    assert_eq!(status, StatusCode::OK, "the group is still there");

    // The last admin cannot be demoted, and when they leave the member who
    // joined first after them becomes admin.
    let (status, _) = app
        .patch(
            &format!("/v1/groups/{gid}/members/{}", member.id),
            &member.token,
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .delete(&format!("/v1/groups/{gid}/leave"), &member.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, group) = app.get(&format!("/v1/groups/{gid}"), &third.token).await;
    let members = group["data"]["members"]
        .as_array()
        .expect("members")
        .clone();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["role"], "admin", "{group}");
    let (status, _) = app.delete(&format!("/v1/groups/{gid}"), &third.token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn currencies_are_iso_codes_and_open_ones_are_bounded() {
    let app = spawn_app().await;
    let [a, b] = app.users(["Ann", "Ben"]).await;
    app.request_friend(&a, &b).await;
    let body = |currency: &str| {
        ExpenseBody::new("x", 10)
            .split(&a, 5)
            .split(&b, 5)
            .with("currency", currency)
            .paid_by(&a)
            .json()
    };
    for bad in ["ABC", "QQQ", "XXX"] {
        let (status, res) = app.post("/v1/expenses", &a.token, body(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {res}");
    }
    let (status, _) = app
        .patch(
            "/v1/users/profile",
            &a.token,
            json!({"defaultCurrency": "ZZZ"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let codes = [
        "USD", "EUR", "GBP", "INR", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK",
    ];
    for code in codes {
        app.expense(&a, body(code)).await;
    }
    let (status, res) = app.post("/v1/expenses", &a.token, body("DKK")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{res}");
    assert!(error_message(&res).contains("10"), "{res}");
    // An open currency stays usable.
    app.expense(&a, body("EUR")).await;
}

#[tokio::test]
async fn group_members_are_capped() {
    let app = spawn_app().await;
    let [owner, late] = app.users(["Olive", "Lou"]).await;
    let gid = app.group(&owner, "Crowd", &[]).await;
    // Fill the group to the cap directly in the database.
    let store = app.store().await;
    let id = mongodb::bson::oid::ObjectId::parse_str(&gid).expect("id");
    let extra: Vec<mongodb::bson::Document> = (0..99)
        .map(|_| {
            mongodb::bson::doc! {
                "_id": mongodb::bson::oid::ObjectId::new(),
                "user": mongodb::bson::oid::ObjectId::new(),
                "role": "member",
                "joinedAt": mongodb::bson::DateTime::now(),
            }
        })
        .collect();
    store
        .database()
        .collection::<mongodb::bson::Document>("groups")
        .update_one(
            mongodb::bson::doc! { "_id": id },
            mongodb::bson::doc! { "$push": { "members": { "$each": extra } } },
        )
        .await
        .expect("filled");
    let (status, body) = app
        .post(
            &format!("/v1/groups/{gid}/members"),
            &owner.token,
            json!({"memberEmail": late.email}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_message(&body).contains("100"), "{body}");
}

#[tokio::test]
async fn the_apps_own_flows_still_work() {
    // Add friends from contacts, create a group and an expense with a
    // just-added friend, list friends: with nobody accepting anything.
    let app = spawn_app().await;
    let me = app.user("Me").await;
    let friend = app
        .register_with_phone("Fred", "fred@example.com", "+15550400")
        .await;
    let (status, body) = app
        .post(
            "/v1/users/friends",
            &me.token,
            json!({"friends": [
                {"name": "Fred", "phoneNumber": "+15550400"},
                {"name": "Nobody Yet", "email": "nobody@example.com"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"][0]["success"], true);
    assert_eq!(body["data"][1]["type"], "pending_friend");
    let list = friends_list(&app, &me).await;
    assert_eq!(list["friends"].as_array().map(Vec::len), Some(1), "{list}");
    assert!(list["friends"][0]["email"].is_string(), "{list}");
    assert_eq!(list["pendingFriends"].as_array().map(Vec::len), Some(1));

    let gid = app.group(&me, "Trip", &[&friend]).await;
    app.expense(
        &me,
        ExpenseBody::new("Taxi", 30)
            .split(&me, 15)
            .split(&friend, 15)
            .paid_by(&me)
            .in_group(&gid),
    )
    .await;
    app.expense(
        &me,
        ExpenseBody::new("Coffee", 8)
            .split(&me, 4)
            .split(&friend, 4)
            .paid_by(&me),
    )
    .await;
    let balance = app.friend_balance(&me, &friend).await;
    assert_eq!(balance["balance"], json!(19), "{balance}");
    assert_eq!(balance["friend"]["email"], "", "not mutual: {balance}");
}

#[tokio::test]
async fn an_expense_recorded_between_others_before_the_rule_stays_editable() {
    // The old server let anyone record "C paid, V owes"; such an expense
    // keeps working for its creator as long as an edit keeps its people.
    let app = spawn_app().await;
    let [creator, payer, debtor] = app.users(["Cleo", "Pat", "Dan"]).await;
    let gid = app.group(&creator, "Then", &[&payer, &debtor]).await;
    let made = app
        .expense(
            &creator,
            ExpenseBody::new("Old", 10)
                .split(&payer, 5)
                .split(&debtor, 5)
                .paid_by(&payer)
                .in_group(&gid),
        )
        .await;
    let id = made["_id"].as_str().expect("id").to_string();
    // As the old server stored it: outside any group.
    let store = app.store().await;
    store
        .database()
        .collection::<mongodb::bson::Document>("expenses")
        .update_one(
            mongodb::bson::doc! { "_id": mongodb::bson::oid::ObjectId::parse_str(&id).expect("oid") },
            mongodb::bson::doc! { "$unset": { "group": "" } },
        )
        .await
        .expect("ungrouped");

    let path = format!("/v1/expenses/{id}");
    let (status, body) = app
        .put(
            &path,
            &creator.token,
            json!({"description": "Old, renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["description"], "Old, renamed");
    // Changing who takes part must include the editor.
    let (status, body) = app
        .put(
            &path,
            &creator.token,
            json!({"paidBy": debtor.id, "splitWith": [{"user": debtor.id, "amount": 10}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}
