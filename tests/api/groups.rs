//! Tests for the groups API: `/v1/groups`.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, error_message, spawn_app, TestApp, User};

const UNKNOWN_ID: &str = "0123456789abcdef01234567";

/// Creates a group as `by` and returns its JSON.
async fn create_group(app: &TestApp, by: &User, name: &str, members: &[&User]) -> Value {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let (status, body) = app
        .post(
            "/v1/groups",
            &by.token,
            json!({"name": name, "members": ids}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"].clone()
}

fn id_of(v: &Value) -> String {
    v["_id"].as_str().expect("_id is a string").to_string()
}

/// User ids of a group's members.
fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .expect("members array")
        .iter()
        .map(|m| id_of(&m["user"]))
        .collect()
}

fn set(users: &[&User]) -> BTreeSet<String> {
    users.iter().map(|u| u.id.clone()).collect()
}

fn role_of(group: &Value, user: &User) -> String {
    group["members"]
        .as_array()
        .expect("members array")
        .iter()
        .find(|m| m["user"]["_id"] == user.id.as_str())
        .map(|m| m["role"].as_str().expect("role").to_string())
        .unwrap_or_else(|| panic!("{} is not a member: {group}", user.name))
}

/// Ids of my friends according to `GET /v1/users/friends`.
async fn friend_ids(app: &TestApp, of: &User) -> BTreeSet<String> {
    let (status, body) = app.get("/v1/users/friends", &of.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["friends"]
        .as_array()
        .expect("friends array")
        .iter()
        .map(id_of)
        .collect()
}

/// Ids of the groups `GET /v1/groups` lists for `of`.
async fn listed(app: &TestApp, of: &User) -> BTreeSet<String> {
    let (status, body) = app.get("/v1/groups", &of.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(id_of)
        .collect()
}

fn is_iso_millis(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
    })
}

#[tokio::test]
async fn create_makes_creator_admin_populates_members_and_befriends() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    assert!(!friend_ids(&app, &al).await.contains(&cy.id));

    let (status, body) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({
                "name": "  Lisbon trip ",
                "description": "Flights and food",
                // An unknown id is skipped; the creator and duplicates count once.
                "members": [bo.id, cy.id, UNKNOWN_ID, al.id, bo.id],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Group created successfully");
    let g = &body["data"];
    assert_eq!(id_of(g).len(), 24);
    assert_eq!(g["name"], "Lisbon trip");
    assert_eq!(g["description"], "Flights and food");
    assert_eq!(g["isActive"], true);
    assert!(is_iso_millis(&g["createdAt"]), "{g}");
    assert!(is_iso_millis(&g["updatedAt"]), "{g}");
    assert_eq!(
        g["createdBy"],
        json!({"_id": al.id, "name": "Al", "email": "al@example.com"})
    );

    let members = g["members"].as_array().expect("members");
    assert_eq!(members.len(), 3, "{g}");
    assert_eq!(member_ids(g), set(&[&al, &bo, &cy]));
    assert_eq!(role_of(g, &al), "admin");
    assert_eq!(role_of(g, &bo), "member");
    assert_eq!(role_of(g, &cy), "member");
    for m in members {
        assert_eq!(id_of(m).len(), 24, "{m}");
        assert_ne!(
            m["_id"], m["user"]["_id"],
            "member entry has its own id: {m}"
        );
        assert!(is_iso_millis(&m["joinedAt"]), "{m}");
        let u = m["user"].as_object().expect("populated user");
        let keys: BTreeSet<&str> = u.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["_id", "name", "email", "profileImage"]),
            "{m}"
        );
    }
    let cy_entry = members
        .iter()
        .find(|m| m["user"]["_id"] == cy.id.as_str())
        .expect("cy");
    // Cy is not Al's friend: being put in a group reveals no contact details.
    assert_eq!(
        cy_entry["user"],
        json!({"_id": cy.id, "name": "Cy", "email": "", "profileImage": null})
    );

    // Cy was not Al's friend: now Al's request is on both sides (outgoing
    // for Al, incoming for Cy).
    assert!(friend_ids(&app, &al).await.contains(&cy.id));
    assert_eq!(friend_ids(&app, &cy).await, set(&[&al]));
    assert_eq!(friend_ids(&app, &bo).await, set(&[&al]));

    // The stored group reads back the same (for Al; Cy sees the same group
    // with only the contact details Cy may see).
    let (status, read) = app
        .get(&format!("/v1/groups/{}", id_of(g)), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(&read["data"], g);
    let (status, read) = app
        .get(&format!("/v1/groups/{}", id_of(g)), &cy.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["_id"], g["_id"]);
    assert_eq!(read["data"]["members"][0]["user"]["email"], "", "{read}");
    assert_eq!(
        read["data"]["members"][2]["user"]["email"],
        "cy@example.com"
    );
}

#[tokio::test]
async fn create_without_members_has_only_the_creator() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let (status, body) = app
        .post("/v1/groups", &al.token, json!({"name": "Solo"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["description"], "");
    assert_eq!(member_ids(&body["data"]), set(&[&al]));
    assert_eq!(role_of(&body["data"], &al), "admin");
}

#[tokio::test]
async fn create_validation_errors() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let cases = [
        (json!({"description": "no name"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (
            json!({"name": "Trip", "description": "d".repeat(501)}),
            "description",
        ),
        (json!({"name": "Trip", "members": ["not-an-id"]}), "members"),
    ];
    for (body, field) in cases {
        let (status, res) = app.post("/v1/groups", &al.token, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {res}");
        assert!(!error_message(&res).is_empty());
        assert_field_error(&res, field);
    }
    // Limits are inclusive.
    let (status, res) = app
        .post(
            "/v1/groups",
            &al.token,
            json!({"name": "x".repeat(100), "description": "d".repeat(500)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    // Nothing invalid was stored.
    assert_eq!(listed(&app, &al).await.len(), 1);

    let (status, res) = app
        .call(
            Method::POST,
            "/v1/groups",
            None,
            Some(json!({"name": "Trip"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    error_message(&res);
}

#[tokio::test]
async fn list_returns_only_my_active_groups() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let shared = id_of(&create_group(&app, &al, "Shared", &[&bo]).await);
    let mine = id_of(&create_group(&app, &al, "Mine", &[]).await);
    let bos = id_of(&create_group(&app, &bo, "Bo's", &[]).await);

    assert_eq!(
        listed(&app, &al).await,
        BTreeSet::from([shared.clone(), mine.clone()])
    );
    assert_eq!(
        listed(&app, &bo).await,
        BTreeSet::from([shared.clone(), bos.clone()])
    );
    assert!(listed(&app, &cy).await.is_empty());

    let (status, body) = app.get("/v1/groups", &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Groups retrieved successfully");
    let shared_view = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["_id"] == shared.as_str())
        .cloned()
        .unwrap();
    assert_eq!(member_ids(&shared_view), set(&[&al, &bo]));
    assert_eq!(shared_view["members"][0]["user"]["name"], "Al");

    let (status, _) = app.delete(&format!("/v1/groups/{mine}"), &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&app, &al).await, BTreeSet::from([shared]));
}

#[tokio::test]
async fn get_checks_membership_and_ids() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let g = create_group(&app, &al, "Trip", &[&bo]).await;
    let path = format!("/v1/groups/{}", id_of(&g));

    let (status, body) = app.get(&path, &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Group retrieved successfully");
    assert_eq!(body["data"]["name"], "Trip");
    assert_eq!(member_ids(&body["data"]), set(&[&al, &bo]));
    // Trailing slash works the same.
    let (status, _) = app.get(&format!("{path}/"), &bo.token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.get(&path, &cy.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_message(&body), "You are not a member of this group");

    let (status, body) = app
        .get(&format!("/v1/groups/{UNKNOWN_ID}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_message(&body), "Group not found");

    let (status, body) = app.get("/v1/groups/not-an-id", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_message(&body), "Invalid group ID format");

    let (status, _) = app.call(Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn update_by_any_member() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let g = create_group(&app, &al, "Trip", &[&bo]).await;
    let path = format!("/v1/groups/{}", id_of(&g));

    // A plain member may rename; the description is kept.
    let (status, body) = app
        .put(&path, &bo.token, json!({"name": " Porto trip "}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Group updated successfully");
    assert_eq!(body["data"]["name"], "Porto trip");
    assert_eq!(body["data"]["description"], "");
    assert_eq!(member_ids(&body["data"]), set(&[&al, &bo]));

    let (status, body) = app
        .put(&path, &al.token, json!({"description": "Weekend"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["name"], "Porto trip");
    assert_eq!(body["data"]["description"], "Weekend");

    let (status, read) = app.get(&path, &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["data"]["name"], "Porto trip");
    assert_eq!(read["data"]["description"], "Weekend");
    assert!(read["data"]["updatedAt"].as_str() >= g["updatedAt"].as_str());

    let (status, body) = app.put(&path, &al.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    error_message(&body);

    let (status, body) = app.put(&path, &al.token, json!({"name": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "name");

    let (status, body) = app
        .put(&path, &al.token, json!({"description": "d".repeat(501)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "description");

    let (status, body) = app.put(&path, &cy.token, json!({"name": "Hijacked"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_message(&body), "You are not a member of this group");

    let (status, body) = app
        .put(
            &format!("/v1/groups/{UNKNOWN_ID}"),
            &al.token,
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .put("/v1/groups/nope", &al.token, json!({"name": "X"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Failed updates changed nothing.
    let (_, read) = app.get(&path, &al.token).await;
    assert_eq!(read["data"]["name"], "Porto trip");
    assert_eq!(read["data"]["description"], "Weekend");
}

#[tokio::test]
async fn delete_is_creator_only_and_soft() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let g = create_group(&app, &al, "Trip", &[&bo]).await;
    let path = format!("/v1/groups/{}", id_of(&g));
    // Cy joins as an admin: still not the creator.
    let (status, body) = app
        .post(
            &format!("{path}/members"),
            &al.token,
            json!({"memberEmail": cy.email, "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(role_of(&body["data"], &cy), "admin");

    // Only current admins may delete (Cy, now an admin, could; see
    // trust::a_removed_creator_has_no_rights_over_the_group).
    let (status, body) = app.delete(&path, &bo.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        error_message(&body),
        "Only the group's admins can delete this group"
    );
    let outsider = app.user("Dee").await;
    let (status, body) = app.delete(&path, &outsider.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(listed(&app, &bo).await.contains(&id_of(&g)));

    let (status, body) = app.delete(&path, &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Group deleted successfully");

    for who in [&al, &bo] {
        let (status, body) = app.get(&path, &who.token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(error_message(&body), "Group not found");
        assert!(!listed(&app, who).await.contains(&id_of(&g)));
    }
    let (status, _) = app.delete(&path, &al.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.put(&path, &al.token, json!({"name": "Back"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .delete(&format!("/v1/groups/{UNKNOWN_ID}"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete("/v1/groups/123", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn add_member_by_email() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let [cy, dee] = app.users(["Cy", "Dee"]).await;
    let g = create_group(&app, &al, "Trip", &[&bo]).await;
    let path = format!("/v1/groups/{}/members", id_of(&g));

    // A plain member adds Cy (email matched case-insensitively): Bo and Cy become friends.
    let (status, body) = app
        .post(&path, &bo.token, json!({"memberEmail": " CY@Example.com "}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Member added successfully");
    assert_eq!(member_ids(&body["data"]), set(&[&al, &bo, &cy]));
    assert_eq!(role_of(&body["data"], &cy), "member");
    let entry = body["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["_id"] == cy.id.as_str())
        .unwrap();
    assert_eq!(
        entry["user"],
        json!({"_id": cy.id, "name": "Cy", "email": "cy@example.com", "profileImage": null})
    );
    assert!(is_iso_millis(&entry["joinedAt"]));
    assert!(friend_ids(&app, &bo).await.contains(&cy.id));
    assert!(friend_ids(&app, &cy).await.contains(&bo.id));
    assert!(listed(&app, &cy).await.contains(&id_of(&g)));

    let (status, body) = app
        .post(&path, &al.token, json!({"memberEmail": "cy@example.com"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_message(&body),
        "User is already a member of this group"
    );
    let (status, body) = app
        .post(&path, &al.token, json!({"memberEmail": "al@example.com"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = app
        .post(
            &path,
            &al.token,
            json!({"memberEmail": "ghost@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_message(&body), "User not found with this email");

    let (status, body) = app.post(&path, &al.token, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "memberEmail");
    let (status, body) = app
        .post(&path, &al.token, json!({"memberEmail": "not an email"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app
        .post(
            &path,
            &al.token,
            json!({"memberEmail": dee.email, "role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_field_error(&body, "role");

    // An outsider cannot add anyone.
    let (status, body) = app
        .post(&path, &dee.token, json!({"memberEmail": dee.email}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app
        .post(
            &format!("/v1/groups/{UNKNOWN_ID}/members"),
            &al.token,
            json!({"memberEmail": dee.email}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The admin adds Dee as an admin.
    let (status, body) = app
        .post(
            &path,
            &al.token,
            json!({"memberEmail": dee.email, "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(role_of(&body["data"], &dee), "admin");
    assert_eq!(body["data"]["members"].as_array().unwrap().len(), 4);
    assert!(friend_ids(&app, &dee).await.contains(&al.id));
}

#[tokio::test]
async fn remove_member_self_or_by_admin() {
    let app = spawn_app().await;
    let [al, bo, cy, dee] = app.users(["Al", "Bo", "Cy", "Dee"]).await;
    let g = create_group(&app, &al, "Trip", &[&bo, &cy, &dee]).await;
    let base = format!("/v1/groups/{}", id_of(&g));

    // A plain member cannot remove someone else.
    let (status, body) = app
        .delete(&format!("{base}/members/{}", cy.id), &bo.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        error_message(&body),
        "Only group admins can remove other members"
    );

    // ...but can remove themselves.
    let (status, body) = app
        .delete(&format!("{base}/members/{}", bo.id), &bo.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Member removed successfully");
    assert_eq!(member_ids(&body["data"]), set(&[&al, &cy, &dee]));
    let (status, _) = app.get(&base, &bo.token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!listed(&app, &bo).await.contains(&id_of(&g)));

    // The admin removes others.
    let (status, body) = app
        .delete(&format!("{base}/members/{}", cy.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&body["data"]), set(&[&al, &dee]));
    let (_, read) = app.get(&base, &al.token).await;
    assert_eq!(member_ids(&read["data"]), set(&[&al, &dee]));

    let (status, body) = app
        .delete(&format!("{base}/members/{}", cy.id), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    error_message(&body);
    let (status, body) = app.delete(&format!("{base}/members/nope"), &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Removed members have no say any more.
    let (status, _) = app
        .delete(&format!("{base}/members/{}", dee.id), &cy.token)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, read) = app.get(&base, &al.token).await;
    assert_eq!(member_ids(&read["data"]), set(&[&al, &dee]));
}

#[tokio::test]
async fn leave_group() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let g = create_group(&app, &al, "Trip", &[&bo]).await;
    let base = format!("/v1/groups/{}", id_of(&g));

    let (status, body) = app.delete(&format!("{base}/leave"), &bo.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "You have left the group");
    assert!(!listed(&app, &bo).await.contains(&id_of(&g)));
    let (_, read) = app.get(&base, &al.token).await;
    assert_eq!(member_ids(&read["data"]), set(&[&al]));

    for who in [&bo, &cy] {
        let (status, body) = app.delete(&format!("{base}/leave"), &who.token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_message(&body), "You are not a member of this group");
    }
    let (status, _) = app
        .delete(&format!("/v1/groups/{UNKNOWN_ID}/leave"), &al.token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete("/v1/groups/xyz/leave", &al.token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deactivated_users_cannot_be_made_members() {
    let app = spawn_app().await;
    let [al, gone] = app.users(["Al", "Gone"]).await;
    let (status, _) = app.delete("/v1/users/deactivate-user", &gone.token).await;
    assert_eq!(status, StatusCode::OK);

    // Like an unknown id, a deactivated account is skipped (and not befriended).
    let g = create_group(&app, &al, "Trip", &[&gone]).await;
    assert_eq!(member_ids(&g), set(&[&al]));
    assert!(friend_ids(&app, &al).await.is_empty());

    let (status, body) = app
        .post(
            &format!("/v1/groups/{}/members", id_of(&g)),
            &al.token,
            json!({"memberEmail": gone.email}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_message(&body), "User not found with this email");
}
