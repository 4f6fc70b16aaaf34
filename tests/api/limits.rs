//! Limits on what unauthenticated clients can make the server hold or do:
//! metric label sets, per-client rate limits outside `/v1`, `Retry-After`,
//! the per-account login lockout, CORS refusals.

use reqwest::Method;

use crate::helpers::{spawn_app, TestApp};

/// A method name nobody registered, different on every call.
fn random_method() -> Method {
    let name = format!("X{}", uuid::Uuid::new_v4().simple()).to_uppercase();
    Method::from_bytes(name.as_bytes()).expect("a token is a valid method")
}

/// The `http_*` series of `/metrics` (one line per series and bucket).
async fn http_series(app: &TestApp) -> Vec<String> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("http_"))
        .map(|l| {
            l.rsplit_once(' ')
                .map_or(l, |(series, _)| series)
                .to_string()
        })
        .collect()
}

/// Random methods on a known route and on unknown paths, `n` of each.
async fn send_junk(app: &TestApp, n: usize) {
    for _ in 0..n {
        let unknown = format!("/{}", uuid::Uuid::new_v4().simple());
        let unknown_v1 = format!("/v1/{}", uuid::Uuid::new_v4().simple());
        for path in ["/v1/healthz", unknown.as_str(), unknown_v1.as_str()] {
            let res = app
                .client
                .request(random_method(), app.url(path))
                .send()
                .await
                .unwrap();
            assert!(res.status().is_client_error(), "{path}: {}", res.status());
        }
        app.client.get(app.url(&unknown)).send().await.unwrap();
    }
}

#[tokio::test]
async fn metric_series_do_not_grow_with_what_clients_send() {
    let app = spawn_app().await;
    // Every kind of request once, and one scrape so /metrics counts itself.
    send_junk(&app, 3).await;
    http_series(&app).await;
    let baseline = http_series(&app).await;

    send_junk(&app, 200).await;
    let after = http_series(&app).await;

    assert_eq!(
        after.len(),
        baseline.len(),
        "new series: {:?}",
        after
            .iter()
            .filter(|s| !baseline.contains(s))
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(after.iter().any(|s| s.contains(r#"method="other""#)));
    assert!(after.iter().any(|s| s.contains(r#"route="unmatched""#)));
    assert!(!after.iter().any(|s| s.contains("method=\"X")));
}
