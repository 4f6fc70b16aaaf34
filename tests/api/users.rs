//! `/v1/users`: profile, profile update, password change, search, balances, deactivation.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_field_error, error_message, keys, spawn_app, ExpenseBody, TestApp, User,
};

/// `/v1/users?userId=<term>` with the term percent-encoded, plus extra raw query.
fn search_path(term: &str, extra: &str) -> String {
    let url =
        reqwest::Url::parse_with_params("http://x/v1/users", &[("userId", term)]).expect("url");
    format!("/v1/users?{}{extra}", url.query().expect("query"))
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|v| v["_id"].as_str().expect("_id").to_string())
        .collect()
}

fn is_iso_millis(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    // 2026-01-01T00:00:00.000Z
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
}

// ---------- GET /profile ----------

#[tokio::test]
async fn profile_returns_my_document_with_friend_ids_and_no_password() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let (status, added) = app
        .post(
            "/v1/users/friends",
            &al.token,
            json!({"friends": [{"name": "Cy", "email": "cy@example.com"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let (_, list) = app.get("/v1/users/friends", &al.token).await;
    let pending_id = list["data"]["pendingFriends"][0]["_id"]
        .as_str()
        .expect("pending id")
        .to_string();

    let (status, body) = app.get("/v1/users/profile", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Profile retrieved successfully");
    let p = &body["data"];
    assert_eq!(
        keys(p),
        [
            "_id",
            "createdAt",
            "defaultCurrency",
            "email",
            "friends",
            "isActive",
            "lastLogin",
            "name",
            "pendingFriends",
            "phoneNumber",
            "profileImage",
            "role",
            "updatedAt"
        ]
    );
    assert_eq!(p["_id"], al.id.as_str());
    assert_eq!(p["name"], "Al");
    assert_eq!(p["email"], "al@example.com");
    assert_eq!(p["role"], "user");
    assert_eq!(p["isActive"], true);
    assert!(p["profileImage"].is_null());
    assert!(p["phoneNumber"].is_null());
    assert!(is_iso_millis(&p["createdAt"]), "{p}");
    assert!(is_iso_millis(&p["updatedAt"]), "{p}");
    assert_eq!(p["friends"], json!([bo.id]));
    assert_eq!(p["pendingFriends"], json!([pending_id]));

    // lastLogin is set by a login.
    let (status, _) = app.login(&al.email, &al.password).await;
    assert_eq!(status, StatusCode::OK);
    assert!(is_iso_millis(&app.profile(&al).await["lastLogin"]));

    // The other side sees the friendship too, and no pending friend.
    let b = app.profile(&bo).await;
    assert_eq!(b["friends"], json!([al.id]));
    assert_eq!(b["pendingFriends"], json!([]));
    assert!(b.get("password").is_none());
}

// ---------- PATCH /profile ----------

#[tokio::test]
async fn update_profile_changes_each_field_and_persists() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let before = app.profile(&al).await;

    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({"name": "  Albert  "}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Profile updated successfully");
    assert_eq!(body["data"]["name"], "Albert");
    assert!(body["data"]["profileImage"].is_null());
    assert!(body["data"]["phoneNumber"].is_null());
    assert!(body["data"].get("password").is_none());

    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({"profileImage": "https://img.example.com/al.png"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["profileImage"],
        "https://img.example.com/al.png"
    );
    assert_eq!(body["data"]["name"], "Albert", "other fields are untouched");

    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({"phoneNumber": "+1 555 010 9999"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["phoneNumber"], "+1 555 010 9999");

    let after = app.profile(&al).await;
    assert_eq!(after["name"], "Albert");
    assert_eq!(after["profileImage"], "https://img.example.com/al.png");
    assert_eq!(after["phoneNumber"], "+1 555 010 9999");
    assert_eq!(after["email"], "al@example.com");
    assert_eq!(after["createdAt"], before["createdAt"]);
    assert!(after["updatedAt"].as_str() >= before["updatedAt"].as_str());

    // All three at once.
    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({"name": "Al", "profileImage": "", "phoneNumber": "5550100"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = app.profile(&al).await;
    assert_eq!(after["name"], "Al");
    assert_eq!(after["phoneNumber"], "5550100");
}

#[tokio::test]
async fn update_profile_without_any_field_is_400() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    for body in [
        json!({}),
        json!({"name": null}),
        json!({"email": "other@example.com"}),
    ] {
        let (status, res) = app
            .patch("/v1/users/profile", &al.token, body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert!(!error_message(&res).is_empty());
    }
    assert_eq!(app.profile(&al).await["email"], "al@example.com");
}

#[tokio::test]
async fn update_profile_with_invalid_values_is_400_with_field_errors() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(51)}), "name"),
        (json!({"phoneNumber": "call me"}), "phoneNumber"),
        (json!({"name": "Ok", "phoneNumber": "12"}), "phoneNumber"),
    ];
    for (body, field) in cases {
        let (status, res) = app
            .patch("/v1/users/profile", &al.token, body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert_field_error(&res, field);
    }
    // Wrong JSON types are a 400 too, never a 500.
    for body in [json!({"name": 5}), json!({"phoneNumber": {"$gt": ""}})] {
        let (status, res) = app
            .patch("/v1/users/profile", &al.token, body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        error_message(&res);
    }
    let after = app.profile(&al).await;
    assert_eq!(
        after["name"], "Al",
        "nothing was changed by a rejected update"
    );
    assert!(after["phoneNumber"].is_null());
}

// ---------- PATCH /change-password ----------

#[tokio::test]
async fn change_password_rejects_wrong_current_and_short_new() {
    let app = spawn_app().await;
    let al = app.user("Al").await;

    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": "not-my-pass", "newPassword": "brand-new-pass"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_message(&body), "Current password is incorrect");

    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": al.password, "newPassword": "12345"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "newPassword");

    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &al.token,
            json!({"newPassword": "brand-new-pass"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "currentPassword");

    // None of that changed the password.
    let (status, _) = app.login(&al.email, &al.password).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.login(&al.email, "brand-new-pass").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn change_password_success_only_the_new_password_logs_in() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let (status, body) = app
        .patch(
            "/v1/users/change-password",
            &al.token,
            json!({"currentPassword": al.password, "newPassword": "brand-new-pass"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Password changed successfully");
    assert!(app.profile(&al).await.get("password").is_none());

    let (status, body) = app.login(&al.email, "brand-new-pass").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["id"], al.id.as_str());
    let (status, body) = app.login(&al.email, &al.password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&body), "Invalid credentials");
}

// ---------- GET /?userId= ----------

#[tokio::test]
async fn search_is_a_case_insensitive_name_prefix_or_an_exact_email_and_skips_me_and_inactive() {
    let app = spawn_app().await;
    let me = app.user("Alfred").await;
    let alice = app.register("Alice Smith", "alice@example.com").await;
    let emile = app.register("Émile Zoë", "emile@example.com").await;
    let bob = app.register("Bob", "bob.sally@example.com").await;
    app.user("Carol").await;
    app.user("Dave").await;
    let gone = app.register("Alma Gone", "alma@example.com").await;
    let (status, _) = app.delete("/v1/users/deactivate-user", &gone.token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.get(&search_path("AL", ""), &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());
    let found: HashSet<String> = ids_of(&body["data"]).into_iter().collect();
    // Alice by her name's start; Bob's email contains "al" but emails are
    // matched whole only (search is not a directory).
    assert_eq!(found, HashSet::from([alice.id.clone()]), "{body}");
    assert_eq!(
        body["pagination"],
        json!({"current": 1, "limit": 10, "pages": 1, "total": 1})
    );
    for u in body["data"].as_array().unwrap() {
        assert_eq!(keys(u), ["_id", "email", "name", "profileImage"], "{u}");
    }
    let alice_row = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["_id"] == alice.id.as_str())
        .unwrap();
    assert_eq!(alice_row["name"], "Alice Smith");
    assert_eq!(alice_row["email"], "", "found by name: no contact details");
    assert!(alice_row["profileImage"].is_null());

    // Non-ASCII letters fold case too.
    let (status, body) = app.get(&search_path("ÉMILE ZOË", ""), &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids_of(&body["data"]), [emile.id.as_str()], "{body}");
    // A name prefix in mixed case; a whole email in any case (part of one
    // finds nobody).
    let (_, body) = app.get(&search_path("aLiCe sM", ""), &me.token).await;
    assert_eq!(ids_of(&body["data"]), [alice.id.as_str()]);
    let (_, body) = app.get(&search_path("sMiTh", ""), &me.token).await;
    assert_eq!(body["data"], json!([]), "not a prefix: {body}");
    let (_, body) = app.get(&search_path("SALLY@", ""), &me.token).await;
    assert_eq!(body["data"], json!([]), "{body}");
    let (_, body) = app
        .get(&search_path("BOB.SALLY@example.com", ""), &me.token)
        .await;
    assert_eq!(ids_of(&body["data"]), [bob.id.as_str()]);
    assert_eq!(body["data"][0]["email"], "bob.sally@example.com");
    // My own name matches nothing but me.
    let (status, body) = app.get(&search_path("alfred", ""), &me.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!([]));
    // The deactivated user is invisible even by an exact term.
    let (_, body) = app
        .get(&search_path("alma@example.com", ""), &me.token)
        .await;
    assert_eq!(body["data"], json!([]));
}

#[tokio::test]
async fn search_term_shorter_than_two_chars_is_400() {
    let app = spawn_app().await;
    let me = app.user("Al").await;
    for path in [
        "/v1/users",
        "/v1/users?userId=",
        "/v1/users?userId=a",
        "/v1/users?userId=%20b%20",
    ] {
        let (status, body) = app.get(path, &me.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} -> {body}");
        assert!(!error_message(&body).is_empty());
    }
}

#[tokio::test]
async fn search_term_is_literal_text_never_a_pattern_or_operator() {
    let app = spawn_app().await;
    let me = app.user("Me").await;
    app.user("Abc").await;
    let paren = app.register("Mr (Test)", "paren@example.com").await;
    let dotted = app.register("a.c", "dotted@example.com").await;
    let spaced = app.register("Alice Smith", "spaced@example.com").await;
    let punct = app
        .register("Jean-Luc #1 &co ~x \\d", "jl@example.com")
        .await;

    for term in [
        ".*",
        "(",
        "a+",
        "[a-z]",
        "^Ab",
        "\\",
        "{\"$gt\":\"\"}",
        "$gt",
        "$where",
        "$ne",
    ] {
        let (status, body) = app.get(&search_path(term, ""), &me.token).await;
        if term.chars().count() < 2 {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{term} -> {body}");
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{term} -> {body}");
        assert_eq!(body["success"], true);
        assert_eq!(
            body["data"],
            json!([]),
            "{term} must match nothing -> {body}"
        );
        assert_eq!(body["pagination"]["total"], 0);
    }
    // Special characters match themselves (in a name prefix).
    let (status, body) = app.get(&search_path("Mr (te", ""), &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids_of(&body["data"]), [paren.id.as_str()]);
    let (_, body) = app.get(&search_path("a.c", ""), &me.token).await;
    assert_eq!(
        ids_of(&body["data"]),
        [dotted.id.as_str()],
        "'.' is not a wildcard: {body}"
    );
    let (_, body) = app.get(&search_path("alice sm", ""), &me.token).await;
    assert_eq!(ids_of(&body["data"]), [spaced.id.as_str()], "{body}");
    for term in [
        "jean-l",
        "jean-luc #1",
        "Jean-Luc #1 &co",
        "jean-luc #1 &co ~x",
        "jean-luc #1 &co ~x \\d",
    ] {
        let (status, body) = app.get(&search_path(term, ""), &me.token).await;
        assert_eq!(status, StatusCode::OK, "{term} -> {body}");
        assert_eq!(
            ids_of(&body["data"]),
            [punct.id.as_str()],
            "{term} -> {body}"
        );
    }
    // Query-string operator syntax is just an unknown parameter / text.
    let (status, body) = app.get("/v1/users?userId[$gt]=", &me.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    error_message(&body);
}

#[tokio::test]
async fn search_without_match_is_200_with_empty_list() {
    let app = spawn_app().await;
    let me = app.user("Al").await;
    app.user("Bo").await;
    let (status, body) = app.get(&search_path("zzz-nobody", ""), &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["data"], json!([]));
    assert_eq!(
        body["pagination"],
        json!({"current": 1, "limit": 10, "pages": 0, "total": 0})
    );
}

#[tokio::test]
async fn search_honours_page_and_limit() {
    let app = spawn_app().await;
    let me = app.user("Me").await;
    let mut expected = HashSet::new();
    for i in 0..5 {
        expected.insert(
            app.register(&format!("Pat {i}"), &format!("pat{i}@example.com"))
                .await
                .id,
        );
    }
    app.user("Other").await;

    let mut seen = HashSet::new();
    for (page, count) in [(1, 2), (2, 2), (3, 1)] {
        let (status, body) = app
            .get(
                &search_path("pat", &format!("&page={page}&limit=2")),
                &me.token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["pagination"],
            json!({"current": page, "limit": 2, "pages": 3, "total": 5})
        );
        let ids = ids_of(&body["data"]);
        assert_eq!(ids.len(), count, "page {page}: {body}");
        for id in ids {
            assert!(seen.insert(id), "pages overlap: {body}");
        }
    }
    assert_eq!(seen, expected);

    // Past the end: empty page, same totals.
    let (status, body) = app
        .get(&search_path("pat", "&page=4&limit=2"), &me.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!([]));
    assert_eq!(body["pagination"]["total"], 5);
}

#[tokio::test]
async fn search_with_trailing_slash_works_the_same() {
    let app = spawn_app().await;
    let [me, alice] = app.users(["Me", "Alice"]).await;
    let (s1, plain) = app.get("/v1/users?userId=al", &me.token).await;
    let (s2, slash) = app.get("/v1/users/?userId=al", &me.token).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::OK, StatusCode::OK),
        "{plain} / {slash}"
    );
    assert_eq!(ids_of(&slash["data"]), [alice.id.as_str()]);
    assert_eq!(plain, slash);
    let (status, body) = app.get("/v1/users/?userId=a", &me.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Other users routes accept a trailing slash as well.
    let (status, body) = app.get("/v1/users/profile/", &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["_id"], me.id.as_str());
    let (status, body) = app.get("/v1/users/balances/", &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!([]));
}

// ---------- GET /balances ----------

async fn settle(app: &TestApp, expense_id: &str, user: &User) {
    let (status, body) = app
        .call(
            Method::PATCH,
            &format!("/v1/expenses/{expense_id}/settle"),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn balances_list_friends_with_non_zero_unsettled_balance_and_sign() {
    let app = spawn_app().await;
    let me = app.user("Me").await;
    let mut f = Vec::new();
    for name in ["Owes", "Owed", "Even", "Idle", "Settled"] {
        let u = app.user(name).await;
        app.befriend(&me, &u).await;
        f.push(u);
    }
    let [owes, owed, even, _idle, settled] = &f[..] else {
        unreachable!()
    };

    // owes: I paid 25, their share 12.50 → they owe me 12.50.
    app.expense(
        &me,
        ExpenseBody::new("Dinner", 25)
            .split(&me, 12.5)
            .split(owes, 12.5),
    )
    .await;
    // owed: they paid 20 (recorded by me), my share 12.50 → I owe them 12.50.
    app.expense(
        &me,
        ExpenseBody::new("Taxi", 20)
            .split(&me, 12.5)
            .split(owed, 7.5)
            .paid_by(owed),
    )
    .await;
    // even: 10 each way nets to zero.
    app.expense(&me, ExpenseBody::new("A", 10).split(even, 10))
        .await;
    app.expense(even, ExpenseBody::new("B", 10).split(&me, 10))
        .await;
    // settled: they owe me 8 until they settle their split.
    let e = app
        .expense(&me, ExpenseBody::new("C", 8).split(settled, 8))
        .await;

    let (status, body) = app.get("/v1/users/balances", &me.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());
    let rows = body["data"].as_array().expect("array").clone();
    assert_eq!(
        rows.len(),
        3,
        "only friends with a non-zero balance: {body}"
    );
    let row = |rows: &[Value], u: &User| {
        rows.iter()
            .find(|r| r["friend"]["_id"] == u.id.as_str())
            .cloned()
    };
    let r = row(&rows, owes).unwrap_or_else(|| panic!("Owes missing: {body}"));
    for key in ["friend", "balance", "message"] {
        assert!(r.get(key).is_some(), "{key} missing: {r}");
    }
    assert_eq!(
        r["friend"],
        json!({"_id": owes.id, "name": "Owes", "profileImage": null})
    );
    assert_eq!(r["balance"], json!(12.5));
    assert_eq!(r["message"], "You are owed $12.50");
    let r = row(&rows, owed).unwrap_or_else(|| panic!("Owed missing: {body}"));
    assert_eq!(r["friend"]["name"], "Owed");
    assert_eq!(r["balance"], json!(-12.5));
    assert_eq!(r["message"], "You owe $12.50");
    let r = row(&rows, settled).unwrap_or_else(|| panic!("Settled missing: {body}"));
    assert_eq!(r["balance"], json!(8));
    assert_eq!(r["message"], "You are owed $8.00");

    // The other side sees the mirror image.
    let (_, body) = app.get("/v1/users/balances", &owes.token).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["data"][0]["friend"]["_id"], me.id.as_str());
    assert_eq!(body["data"][0]["balance"], json!(-12.5));
    assert_eq!(body["data"][0]["message"], "You owe $12.50");

    // Once settled, the split no longer counts on either side.
    settle(&app, e["_id"].as_str().unwrap(), settled).await;
    let (_, body) = app.get("/v1/users/balances", &me.token).await;
    let rows = body["data"].as_array().expect("array").clone();
    assert_eq!(rows.len(), 2, "{body}");
    assert!(
        row(&rows, settled).is_none(),
        "settled splits are excluded: {body}"
    );
    assert_eq!(
        row(&rows, owes).map(|r| r["balance"].clone()),
        Some(json!(12.5))
    );
    let (_, body) = app.get("/v1/users/balances", &settled.token).await;
    assert_eq!(body["data"], json!([]), "{body}");
}

// ---------- DELETE /deactivate-user ----------

#[tokio::test]
async fn deactivate_user_refuses_later_tokens_and_logins() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let (status, body) = app.delete("/v1/users/deactivate-user", &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert!(body["message"].is_string());

    for (method, path) in [
        (Method::GET, "/v1/users/profile"),
        (Method::GET, "/v1/users/balances"),
        (Method::GET, "/v1/users/friends"),
    ] {
        let (status, body) = app.call(method, path, Some(&al.token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        error_message(&body);
    }
    let (status, body) = app.login(&al.email, &al.password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "ACCOUNT_DEACTIVATED");
    // Others cannot find the account any more; their own account is untouched.
    let (status, body) = app.get(&search_path("al@ex", ""), &bo.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!([]));
    assert_eq!(app.profile(&bo).await["isActive"], true);
}

#[tokio::test]
async fn users_routes_require_a_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/v1/users/profile"),
        (Method::PATCH, "/v1/users/profile"),
        (Method::PATCH, "/v1/users/change-password"),
        (Method::GET, "/v1/users?userId=al"),
        (Method::GET, "/v1/users/balances"),
        (Method::DELETE, "/v1/users/deactivate-user"),
    ] {
        let (status, body) = app
            .call(method, path, None, Some(json!({"name": "x"})))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(error_message(&body), "No token provided");
    }
}
