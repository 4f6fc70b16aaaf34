//! Invite links and guests, through HTTP against the real database: who
//! may create, list and revoke links, previews, joins, revoked / expired /
//! used-up links (410), unknown ones (404), the guessing limit, and a
//! guest claimed by someone joining, with exact balances.

use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{
    assert_field_error, assert_ledger_consistent, spawn_app, spawn_app_with, ExpenseBody, TestApp,
    User,
};

async fn invite(app: &TestApp, by: &User, group: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/v1/groups/{group}/invites"), &by.token, body)
        .await
}

async fn accept(app: &TestApp, who: &User, token: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/v1/invites/{token}/accept"), &who.token, body)
        .await
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["user"]["_id"].as_str().unwrap().to_owned())
        .collect()
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn invite_links_are_for_admins_shown_once_and_refused_once_unusable() {
    let app = spawn_app().await;
    let [al, bo, cy, dee, ed] = app.users(["Al", "Bo", "Cy", "Dee", "Ed"]).await;
    app.befriend(&al, &bo).await;
    let gid = app.group(&al, "Ski trip", &[&bo]).await;

    // Only admins create links; bad settings name their field.
    let (status, body) = invite(&app, &bo, &gid, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (bad, field) in [
        (json!({"expiresInHours": 0}), "expiresInHours"),
        (json!({"expiresInHours": 9000}), "expiresInHours"),
        (json!({"maxUses": 0}), "maxUses"),
        (json!({"role": "owner"}), "role"),
    ] {
        let (status, body) = invite(&app, &al, &gid, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_field_error(&body, field);
    }

    let (status, body) = invite(&app, &al, &gid, json!({"expiresInHours": 2, "maxUses": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["data"];
    let token = created["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43);
    assert!(created["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v1/invites/{token}")));
    assert_eq!(
        (created["uses"].clone(), created["maxUses"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(created["status"], "active");

    // The database keeps the token's hash only.
    let store = app.store().await;
    let stored: Document = store
        .database()
        .collection::<Document>("invites")
        .find_one(doc! { "_id": ObjectId::parse_str(created["_id"].as_str().unwrap()).unwrap() })
        .await
        .unwrap()
        .expect("stored invite");
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored.get_str("hash").unwrap(), hash);
    assert!(!format!("{stored:?}").contains(&token));

    // Listed for admins, without the token.
    let (status, list) = app
        .get(&format!("/v1/groups/{gid}/invites"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(
        items[0].get("token").is_none() && items[0].get("url").is_none(),
        "{list}"
    );
    let (status, _) = app
        .get(&format!("/v1/groups/{gid}/invites"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A preview, then joins until the link is used up.
    let (status, preview) = app.get(&format!("/v1/invites/{token}"), &cy.token).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["data"]["group"]["name"], "Ski trip");
    assert_eq!(preview["data"]["group"]["memberCount"], 2);
    assert_eq!(preview["data"]["invitedBy"], "Al");
    let (status, joined) = accept(&app, &cy, &token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert!(member_ids(&joined["data"]).contains(&cy.id));
    let (status, again) = accept(&app, &cy, &token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    let (status, body) = accept(&app, &dee, &token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = accept(&app, &ed, &token, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "INVITE_EXPIRED"),
        "{body}"
    );
    let (status, body) = app.get(&format!("/v1/invites/{token}"), &ed.token).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "INVITE_EXPIRED"),
        "{body}"
    );
    let (_, list) = app
        .get(&format!("/v1/groups/{gid}/invites"), &al.token)
        .await;
    assert_eq!(list["data"][0]["uses"], 2);
    assert_eq!(list["data"][0]["status"], "used_up");
    // The members who joined can use the group.
    let (status, group) = app.get(&format!("/v1/groups/{gid}"), &dee.token).await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(member_ids(&group["data"]).len(), 4);

    // Revoked: refused at once.
    let (_, body) = invite(&app, &al, &gid, json!({})).await;
    let (id, revoked_token) = (
        body["data"]["_id"].as_str().unwrap().to_owned(),
        body["data"]["token"].as_str().unwrap().to_owned(),
    );
    let (status, body) = app
        .delete(&format!("/v1/groups/{gid}/invites/{id}"), &bo.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .delete(&format!("/v1/groups/{gid}/invites/{id}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], "revoked");
    let (status, body) = accept(&app, &ed, &revoked_token, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "INVITE_EXPIRED"),
        "{body}"
    );

    // Expired: refused.
    let (_, body) = invite(&app, &al, &gid, json!({"expiresInHours": 1})).await;
    let expiring = body["data"]["token"].as_str().unwrap().to_owned();
    let past = DateTime::from_millis(DateTime::now().timestamp_millis() - 1000);
    store
        .database()
        .collection::<Document>("invites")
        .update_one(
            doc! { "_id": ObjectId::parse_str(body["data"]["_id"].as_str().unwrap()).unwrap() },
            doc! { "$set": { "expiresAt": past } },
        )
        .await
        .unwrap();
    let (status, body) = accept(&app, &ed, &expiring, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "INVITE_EXPIRED"),
        "{body}"
    );
    let (_, group) = app.get(&format!("/v1/groups/{gid}"), &al.token).await;
    assert!(!member_ids(&group["data"]).contains(&ed.id), "{group}");

    // Unknown or malformed tokens: 404.
    let unknown = "A".repeat(43);
    for t in [unknown.as_str(), "short"] {
        let (status, body) = app.get(&format!("/v1/invites/{t}"), &ed.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = accept(&app, &ed, t, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
}

#[tokio::test]
async fn guessing_tokens_is_rate_limited() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = true).await;
    let al = app.user("Al").await;
    let mut limited = 0;
    for i in 0..45 {
        let token = format!("{:0>43}", i);
        let (status, _) = app.get(&format!("/v1/invites/{token}"), &al.token).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "45 guesses in a row were never limited");
}

/// A group's balances by member and currency (major units, as shown).
async fn balances(app: &TestApp, who: &User, gid: &str) -> Value {
    let (status, body) = app
        .get(&format!("/v1/expenses/group/{gid}/balance"), &who.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["balancesByCurrency"].clone()
}

#[tokio::test]
async fn a_guest_shares_expenses_and_is_claimed_with_exact_balances() {
    let app = spawn_app().await;
    let [al, bo, cy] = app.users(["Al", "Bo", "Cy"]).await;
    app.befriend(&al, &bo).await;
    let gid = app.group(&al, "Cabin", &[&bo]).await;

    let (status, body) = app
        .post(
            &format!("/v1/groups/{gid}/guests"),
            &bo.token,
            json!({"name": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "name");
    let (status, body) = app
        .post(
            &format!("/v1/groups/{gid}/guests"),
            &bo.token,
            json!({"name": "Gus"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let gus = body["data"]["guestId"].as_str().unwrap().to_owned();
    let shown = body["data"]["group"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["_id"] == gus.as_str())
        .expect("the guest is a member")
        .clone();
    assert_eq!(shown["user"]["guest"], true, "{shown}");
    assert_eq!(shown["user"]["name"], "Gus");
    assert_eq!(
        shown["user"]["email"], "",
        "a guest's placeholder address is never shown"
    );

    // The guest pays and shares, in two currencies.
    let split = |user: &str, amount: i64| json!({"user": user, "amount": amount});
    app.expense(
        &al,
        ExpenseBody::new("Groceries", 90).in_group(&gid).with(
            "splitWith",
            json!([split(&al.id, 30), split(&bo.id, 30), split(&gus, 30)]),
        ),
    )
    .await;
    let fuel = app
        .expense(
            &al,
            ExpenseBody::new("Fuel", 60)
                .in_group(&gid)
                .paid_by_id(&gus)
                .with(
                    "splitWith",
                    json!([split(&al.id, 20), split(&bo.id, 20), split(&gus, 20)]),
                ),
        )
        .await;
    app.expense(
        &bo,
        ExpenseBody::new("Ferry", 40)
            .in_group(&gid)
            .with("currency", "EUR")
            .with("splitWith", json!([split(&bo.id, 10), split(&gus, 30)])),
    )
    .await;
    // Bo repays his share of the fuel to the guest.
    app.settle(&bo, fuel["_id"].as_str().unwrap()).await;
    let before = balances(&app, &al, &gid).await;
    assert_eq!(before[&gus], json!({"EUR": -30, "USD": -10}), "{before}");

    // A guest cannot sign in: their address is nobody's.
    let (status, _) = app.login(&format!("guest-{gus}@guests.invalid"), "").await;
    assert!(status.is_client_error(), "{status}");

    let (_, body) = invite(&app, &al, &gid, json!({})).await;
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    let (_, preview) = app.get(&format!("/v1/invites/{token}"), &cy.token).await;
    assert_eq!(
        preview["data"]["guests"],
        json!([{"_id": gus, "name": "Gus"}]),
        "{preview}"
    );

    // Only a guest of the group can be claimed.
    let (status, body) = accept(&app, &cy, &token, json!({"claimGuest": bo.id})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "claimGuest");

    let (status, joined) = accept(&app, &cy, &token, json!({"claimGuest": gus})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let members = member_ids(&joined["data"]);
    assert!(
        members.contains(&cy.id) && !members.contains(&gus),
        "{joined}"
    );

    // Cy holds exactly what the guest held; nobody else moved.
    let after = balances(&app, &cy, &gid).await;
    assert_eq!(after[&cy.id], before[&gus], "{after}");
    assert_eq!(after[&al.id], before[&al.id]);
    assert_eq!(after[&bo.id], before[&bo.id]);
    assert!(after.get(&gus).is_none(), "{after}");
    assert_ledger_consistent(&app).await;

    // The fuel is Cy's now: paid by Cy, Bo's share still repaid.
    let (status, fuel) = app
        .get(
            &format!("/v1/expenses/{}", fuel["_id"].as_str().unwrap()),
            &cy.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fuel}");
    assert_eq!(fuel["data"]["paidBy"]["_id"], cy.id.as_str());
    let bos = fuel["data"]["splitWith"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user"]["_id"] == bo.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(bos["settled"], true);

    // The guest is gone, and the activity tells who took their place.
    let store = app.store().await;
    let left = store
        .database()
        .collection::<Document>("users")
        .count_documents(doc! { "_id": ObjectId::parse_str(&gus).unwrap() })
        .await
        .unwrap();
    assert_eq!(left, 0);
    let (_, feed) = app
        .get(&format!("/v1/activity?groupId={gid}"), &al.token)
        .await;
    let summaries: Vec<&str> = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["summary"].as_str())
        .collect();
    assert!(
        summaries.contains(&"Cy joined 'Cabin' with an invite link, taking over the guest Gus"),
        "{summaries:?}"
    );
    assert!(
        summaries.contains(&"Bo added the guest Gus to 'Cabin'"),
        "{summaries:?}"
    );
}
