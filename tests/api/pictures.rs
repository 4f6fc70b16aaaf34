//! Pictures: profile photos and receipts, from the app's data URI to GridFS
//! and back by URL.

use std::time::{Duration, Instant};

use base64::Engine;
use mongodb::bson::{doc, Document};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{error_message, spawn_app, spawn_app_with, ExpenseBody, TestApp, User};
use crate::samples::{exif_with_gps, jpeg, photo, png_bomb, png_rgba, webp};

/// What the app sends: `data:image/jpeg;base64,` and the file's base64.
fn data_uri(bytes: &[u8]) -> String {
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A phone-sized photo with an EXIF GPS position (about 150 KB).
fn phone_photo() -> Vec<u8> {
    jpeg(&photo(1600, 1200), Some(exif_with_gps(1)))
}

/// `PUT` with a raw body.
async fn put_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("request is sent");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `PUT` as `multipart/form-data` with the file in the part `image`.
async fn put_multipart(app: &TestApp, path: &str, token: &str, file: &[u8]) -> (StatusCode, Value) {
    let boundary = "splitlyr-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    put_raw(
        app,
        path,
        token,
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await
}

pub async fn set_photo(app: &TestApp, user: &User, bytes: &[u8]) -> String {
    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &user.token,
            json!({ "profileImage": data_uri(bytes) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["profileImage"]
        .as_str()
        .expect("a URL")
        .to_string()
}

/// GET of a picture URL (path or absolute), optionally with a token and an ETag.
async fn fetch(
    app: &TestApp,
    url: &str,
    token: Option<&str>,
    etag: Option<&str>,
) -> reqwest::Response {
    let url = if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_string()
    };
    let mut req = app.client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(e) = etag {
        req = req.header(IF_NONE_MATCH, e);
    }
    req.send().await.expect("request is sent")
}

/// Documents in the picture collections: images, blobs, GridFS files, chunks.
async fn stored(app: &TestApp) -> [u64; 4] {
    let db = app.store().await.database().clone();
    let mut counts = [0; 4];
    for (i, name) in [
        "images",
        "imageblobs",
        "imagefiles.files",
        "imagefiles.chunks",
    ]
    .iter()
    .enumerate()
    {
        counts[i] = db
            .collection::<Document>(name)
            .count_documents(doc! {})
            .await
            .expect("count");
    }
    counts
}

fn assert_picture_url(url: &str) {
    let id = url.strip_prefix("/v1/images/").expect(url);
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{url}"
    );
}

#[tokio::test]
async fn the_apps_data_uri_is_stored_reencoded_and_served_by_url_with_caching() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let original = phone_photo();
    assert!(original.len() > 64 * 1024, "{}", original.len());
    assert!(memchr::memmem::find(&original, b"SERIAL-CAM-0042").is_some());

    let url = set_photo(&app, &al, &original).await;
    assert_picture_url(&url);
    let (_, profile) = app.get("/v1/users/profile", &al.token).await;
    assert_eq!(profile["data"]["profileImage"], url.as_str());

    // No token: the app's image component sends none.
    let res = fetch(&app, &url, None, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cache = headers[CACHE_CONTROL].to_str().unwrap().to_string();
    assert!(
        cache.contains("public") && cache.contains("immutable"),
        "{cache}"
    );
    assert!(cache.contains("max-age=31536000"), "{cache}");
    let etag = headers[ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let bytes = res.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).expect("a picture");
    assert_eq!((image.width(), image.height()), (512, 384));
    // The GPS position and the camera serial are not in what is stored.
    assert!(memchr::memmem::find(&bytes, b"SERIAL-CAM-0042").is_none());
    assert!(memchr::memmem::find(&bytes, b"Exif").is_none());
    let file: Vec<u8> = stored_bytes(&app).await;
    assert_eq!(file, bytes.to_vec());

    let again = fetch(&app, &url, None, Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[ETAG].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let other = fetch(&app, &url, None, Some("\"something-else\"")).await;
    assert_eq!(other.status(), StatusCode::OK);

    // Unknown or malformed ids look the same.
    for missing in [
        "/v1/images/0123456789abcdef0123456789abcdef",
        "/v1/images/nope",
    ] {
        assert_eq!(
            fetch(&app, missing, None, None).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    // Every other route keeps its 64 KiB body limit.
    let (status, _) = app
        .post(
            "/v1/expenses",
            &al.token,
            json!({ "description": "x".repeat(100_000), "amount": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The bytes of the one stored GridFS file.
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let db = app.store().await.database().clone();
    let chunks: Vec<Document> = {
        use futures_util::TryStreamExt;
        db.collection::<Document>("imagefiles.chunks")
            .find(doc! {})
            .sort(doc! { "n": 1 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    };
    chunks
        .iter()
        .flat_map(|c| c.get_binary_generic("data").unwrap().clone())
        .collect()
}

#[tokio::test]
async fn each_format_and_each_way_of_uploading_is_accepted_by_its_content() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let path = "/v1/users/profile/image";
    let clear =
        image::RgbaImage::from_fn(300, 200, |x, _| image::Rgba([9, 99, 199, (x % 256) as u8]));
    // PNG sent as raw bytes, labelled as a JPEG: the content decides.
    let (status, body) = put_raw(&app, path, &al.token, "image/jpeg", png_rgba(&clear)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["data"]["profileImage"].as_str().unwrap().to_string();
    let res = fetch(&app, &url, None, None).await;
    assert_eq!(res.headers()[CONTENT_TYPE], "image/png");
    // WebP in a multipart form.
    let (status, body) = put_multipart(&app, path, &al.token, &webp(&photo(800, 600))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A data URI as JSON, on the PUT route too.
    let uri = data_uri(&jpeg(&photo(200, 200), None));
    let (status, body) = app.put(path, &al.token, json!({ "image": uri })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["data"]["profileImage"].as_str().unwrap().to_string();
    assert_picture_url(&url);
    // Each replaced the one before: one picture is stored.
    assert_eq!(stored(&app).await, [1, 1, 1, 1]);
    // An https URL is still accepted as it was.
    let link = "https://example.com/me.png";
    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({ "profileImage": link }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["profileImage"], link);
    assert_eq!(stored(&app).await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn bad_uploads_get_a_clear_refusal_and_nothing_is_written() {
    let app = spawn_app_with(|s| s.images.max_upload_bytes = 100_000).await;
    let al = app.user("Al").await;
    set_photo(&app, &al, &jpeg(&photo(64, 64), None)).await;
    let before = stored(&app).await;
    let path = "/v1/users/profile/image";
    let big = jpeg(&photo(1600, 1200), None);
    assert!(big.len() > 100_000);

    let (status, body) = app
        .patch(
            "/v1/users/profile",
            &al.token,
            json!({ "profileImage": data_uri(&big) }),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = put_raw(&app, path, &al.token, "image/jpeg", big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_message(&body).contains("too large"), "{body}");
    let (status, _) = put_multipart(&app, path, &al.token, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let mut garbage = b"\xFF\xD8\xFF\xE0".to_vec();
    garbage.extend((0..3000u32).map(|i| (i * 31 % 251) as u8));
    let (status, body) = put_raw(&app, path, &al.token, "image/jpeg", garbage).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let refusals: [(&[u8], &str); 4] = [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>",
            "SVG",
        ),
        (b"<html><body>hello</body></html>", "HTML"),
        (b"%PDF-1.4 a document", "PDF"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIC"),
    ];
    for (bytes, named) in refusals {
        let (status, body) = put_raw(&app, path, &al.token, "image/png", bytes.to_vec()).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{named}: {body}"
        );
        let message = error_message(&body);
        assert!(
            message.contains(named) && message.contains("JPEG, PNG or WebP"),
            "{message}"
        );
    }

    // A few KB claiming 20000×20000 pixels: refused from its header, fast.
    let bomb = png_bomb();
    let started = Instant::now();
    let (status, body) = put_raw(&app, path, &al.token, "image/png", bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_message(&body).contains("20000×20000"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    for bad in [
        "ftp://example.com/a.png",
        "javascript:alert(1)",
        "data:image/png,notbase64",
    ] {
        let (status, body) = app
            .patch(
                "/v1/users/profile",
                &al.token,
                json!({ "profileImage": bad, "name": "New" }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.to_string().contains("profileImage"), "{body}");
    }
    let (_, profile) = app.get("/v1/users/profile", &al.token).await;
    assert_eq!(profile["data"]["name"], "Al", "nothing was half-written");
    assert_eq!(stored(&app).await, before);
}

#[tokio::test]
async fn one_stored_file_per_content_and_none_left_when_pictures_go() {
    let app = spawn_app().await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let same = jpeg(&photo(700, 500), None);
    let a = set_photo(&app, &al, &same).await;
    let b = set_photo(&app, &bo, &same).await;
    assert_ne!(a, b, "each picture has its own id");
    assert_eq!(stored(&app).await[..3], [2, 1, 1]);

    let (status, _) = app.delete("/v1/users/profile/image", &al.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        fetch(&app, &a, None, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(fetch(&app, &b, None, None).await.status(), StatusCode::OK);
    assert_eq!(stored(&app).await[..3], [1, 1, 1]);
    let (_, body) = app.get("/v1/users/profile", &al.token).await;
    assert_eq!(body["data"]["profileImage"], Value::Null);

    // Replacing, then an empty value, removes every trace.
    set_photo(&app, &bo, &jpeg(&photo(300, 300), None)).await;
    assert_eq!(stored(&app).await, [1, 1, 1, 1]);
    let (status, _) = app
        .patch(
            "/v1/users/profile",
            &bo.token,
            json!({ "profileImage": "" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored(&app).await, [0, 0, 0, 0]);
    let users = app.store().await.database().collection::<Document>("users");
    let all: Vec<Document> =
        futures_util::TryStreamExt::try_collect(users.find(doc! {}).await.unwrap())
            .await
            .unwrap();
    for u in all {
        assert_eq!(u.get_i64("imageBytes").unwrap_or(0), 0, "{u}");
    }
}

#[tokio::test]
async fn receipts_are_for_the_people_of_the_expense_and_go_with_it() {
    let app = spawn_app().await;
    let (al, bo) = app.friends("Al", "Bo").await;
    let cy = app.user("Cy").await;
    let expense = app
        .expense(
            &al,
            ExpenseBody::new("Dinner", 40).split(&al, 20).split(&bo, 20),
        )
        .await;
    assert_eq!(expense["receipt"], Value::Null);
    let id = expense["_id"].as_str().unwrap();
    let path = format!("/v1/expenses/{id}/receipt");
    let receipt = jpeg(&photo(3000, 1000), None);

    let (status, body) = put_multipart(&app, &path, &bo.token, &receipt).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Bo is neither creator nor payer: {body}"
    );
    let (status, _) = put_multipart(&app, &path, &cy.token, &receipt).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = put_multipart(&app, &path, &al.token, &receipt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown = &body["data"]["receipt"];
    assert_eq!(
        (shown["width"].as_i64(), shown["height"].as_i64()),
        (Some(2048), Some(683))
    );
    let url = shown["url"].as_str().unwrap().to_string();
    assert_picture_url(&url);
    let (_, read) = app.get(&format!("/v1/expenses/{id}"), &bo.token).await;
    assert_eq!(read["data"]["receipt"]["url"], url.as_str());

    let res = fetch(&app, &url, Some(&bo.token), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = res.headers()[CACHE_CONTROL].to_str().unwrap().to_string();
    assert!(cache.contains("private"), "{cache}");
    assert_eq!(
        fetch(&app, &url, Some(&cy.token), None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&app, &url, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Replaced, then the expense deleted: the receipt stays while the
    // expense can be restored, and the purge after the retention period
    // leaves nothing behind.
    let (status, _) = put_raw(&app, &path, &al.token, "image/webp", webp(&photo(640, 480))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored(&app).await, [1, 1, 1, 1]);
    let (status, body) = app.delete(&format!("/v1/expenses/{id}"), &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(stored(&app).await, [1, 1, 1, 1]);
    let store = app.store().await;
    let purged = store
        .purge_trash(std::time::Duration::ZERO, 100)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    assert_eq!(stored(&app).await, [0, 0, 0, 0]);

    let other = app
        .expense(&al, ExpenseBody::new("Taxi", 10).split(&bo, 10))
        .await;
    let path = format!("/v1/expenses/{}/receipt", other["_id"].as_str().unwrap());
    put_multipart(&app, &path, &al.token, &receipt).await;
    let (status, body) = app.delete(&path, &al.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["receipt"], Value::Null);
    assert_eq!(stored(&app).await, [0, 0, 0, 0]);
}

#[tokio::test]
async fn uploads_beyond_the_quota_are_refused_with_nothing_stored() {
    let app = spawn_app_with(|s| s.images.quota_bytes_per_user = 40_000).await;
    let (al, bo) = app.friends("Al", "Bo").await;
    set_photo(&app, &al, &jpeg(&photo(400, 300), None)).await;
    let expense = app
        .expense(&al, ExpenseBody::new("Big", 10).split(&bo, 10))
        .await;
    let path = format!("/v1/expenses/{}/receipt", expense["_id"].as_str().unwrap());
    let before = stored(&app).await;
    let (status, body) = put_raw(
        &app,
        &path,
        &al.token,
        "image/jpeg",
        jpeg(&photo(2000, 1500), None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "QUOTA_EXCEEDED");
    assert_eq!(stored(&app).await, before);
    let (_, read) = app
        .get(
            &format!("/v1/expenses/{}", expense["_id"].as_str().unwrap()),
            &al.token,
        )
        .await;
    assert_eq!(read["data"]["receipt"], Value::Null);
}

#[tokio::test]
async fn a_friends_list_with_photos_stays_small() {
    let app = spawn_app().await;
    let me = app.user("Me").await;
    let photo_bytes = phone_photo();
    for i in 0..8 {
        let friend = app
            .register(&format!("F{i}"), &format!("f{i}@example.com"))
            .await;
        set_photo(&app, &friend, &photo_bytes).await;
        app.befriend(&me, &friend).await;
    }
    let res = app
        .client
        .get(app.url("/v1/users/friends"))
        .bearer_auth(&me.token)
        .send()
        .await
        .unwrap();
    let body = res.bytes().await.unwrap();
    let friends: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(friends["data"]["friends"].as_array().unwrap().len(), 8);
    // Eight ~150 KB photos, embedded, were 1.6 MB; as URLs, a couple of KB.
    assert!(body.len() < 4096, "{} bytes", body.len());
}

/// A `multipart/form-data` body of `(name, file name, content)` parts; its
/// content type and bytes.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "splitlyr-parts-boundary";
    let mut body = Vec::new();
    for (name, file, content) in parts {
        let file = file.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// In a multipart upload, parts other than the image are small (8 KiB
/// each) and few (8 parts at most, the image's included): a large caption
/// is a 413 and a crowd of parts a 400, in the envelope, nothing stored.
#[tokio::test]
async fn multipart_parts_besides_the_image_are_small_and_few() {
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let path = "/v1/users/profile/image";
    let image = jpeg(&photo(64, 64), None);
    let caption = vec![b'x'; 8 * 1024];
    let (kind, body) = multipart(&[("note", None, &caption), ("image", Some("a.jpg"), &image)]);
    let (status, body) = put_raw(&app, path, &al.token, &kind, body).await;
    assert_eq!(status, StatusCode::OK, "an 8 KiB caption passes: {body}");
    let before = stored(&app).await;

    let long = vec![b'x'; 100 * 1024];
    let (kind, body) = multipart(&[("note", None, &long), ("image", Some("a.jpg"), &image)]);
    let (status, body) = put_raw(&app, path, &al.token, &kind, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_message(&body).contains("8 KiB"), "{body}");

    let small: &[u8] = b"x";
    let mut crowd: Vec<(&str, Option<&str>, &[u8])> = vec![("note", None, small); 8];
    crowd.push(("image", Some("a.jpg"), &image));
    let (kind, body) = multipart(&crowd);
    let (status, body) = put_raw(&app, path, &al.token, &kind, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_message(&body).contains("at most 8 parts"), "{body}");
    assert_eq!(stored(&app).await, before);
}

#[tokio::test]
async fn picture_urls_are_absolute_when_a_public_base_is_configured() {
    let base = "https://api.splitlyr.example";
    let app = spawn_app_with(|s| s.images.public_base_url = base.into()).await;
    let al = app.user("Al").await;
    let url = set_photo(&app, &al, &jpeg(&photo(100, 100), None)).await;
    let path = url.strip_prefix(base).expect(&url);
    assert_picture_url(path);
    assert_eq!(fetch(&app, path, None, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn uploads_have_a_stricter_limit_of_their_own_per_user() {
    let app = spawn_app_with(|s| {
        s.rate_limit.enabled = true;
        s.images.upload_burst = 2;
        s.images.upload_period_ms = 60_000;
    })
    .await;
    let [al, bo] = app.users(["Al", "Bo"]).await;
    let small = jpeg(&photo(50, 50), None);
    let path = "/v1/users/profile/image";
    for _ in 0..2 {
        let (status, _) = put_raw(&app, path, &al.token, "image/jpeg", small.clone()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = app
        .client
        .put(app.url(path))
        .bearer_auth(&al.token)
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let (status, _) = put_raw(&app, path, &bo.token, "image/jpeg", small).await;
    assert_eq!(status, StatusCode::OK, "another user is not limited");
    let metrics = app.metrics_text().await;
    for line in [
        r#"splitlyr_image_uploads_total{kind="avatar",outcome="stored"} 3"#,
        r#"splitlyr_image_uploads_total{kind="avatar",outcome="rate_limited"} 1"#,
        r#"splitlyr_image_decode_seconds_count{kind="avatar"} 3"#,
    ] {
        assert!(metrics.contains(line), "{line} missing");
    }
}

#[tokio::test]
async fn ten_uploads_at_once_all_land_while_the_api_keeps_answering() {
    let app = spawn_app_with(|s| s.images.decode_concurrency = 1).await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(
            app.register(&format!("U{i}"), &format!("u{i}@example.com"))
                .await,
        );
    }
    let bytes = jpeg(&photo(2400, 1800), None);
    let uploads = users.iter().map(|u| {
        let bytes = bytes.clone();
        let app = &app;
        async move {
            put_raw(
                app,
                "/v1/users/profile/image",
                &u.token,
                "image/jpeg",
                bytes,
            )
            .await
            .0
        }
    });
    let reads = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let started = Instant::now();
            let (status, _) = app.get("/v1/users/profile", &users[0].token).await;
            assert_eq!(status, StatusCode::OK);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let (statuses, slowest) = tokio::join!(futures_util::future::join_all(uploads), reads);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a profile read took {slowest:?}"
    );
    assert_eq!(stored(&app).await[..3], [10, 1, 1]);
}

#[tokio::test]
async fn the_sweep_removes_files_nothing_refers_to_and_keeps_the_rest() {
    use futures_util::AsyncWriteExt;
    let app = spawn_app().await;
    let al = app.user("Al").await;
    let url = set_photo(&app, &al, &jpeg(&photo(100, 100), None)).await;
    let store = app.store().await;
    // An upload whose transaction never happened (a crash), an hour ago.
    let bucket = store.database().gridfs_bucket(
        mongodb::options::GridFsBucketOptions::builder()
            .bucket_name("imagefiles".to_string())
            .build(),
    );
    let old = mongodb::bson::oid::ObjectId::from_bytes({
        let mut b = [7u8; 12];
        let secs = (std::time::SystemTime::now() - Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32;
        b[..4].copy_from_slice(&secs.to_be_bytes());
        b
    });
    let mut upload = bucket
        .open_upload_stream("orphan")
        .id(old.into())
        .await
        .unwrap();
    upload.write_all(&[1, 2, 3]).await.unwrap();
    upload.close().await.unwrap();
    assert_eq!(stored(&app).await, [1, 1, 2, 2]);
    // A fresh one is left alone: its transaction may still be running.
    assert_eq!(
        store.sweep_images(Duration::from_secs(7200)).await.unwrap(),
        0
    );
    assert_eq!(
        store.sweep_images(Duration::from_secs(600)).await.unwrap(),
        1
    );
    assert_eq!(stored(&app).await, [1, 1, 1, 1]);
    assert_eq!(fetch(&app, &url, None, None).await.status(), StatusCode::OK);
}
