//! What every response carries, and the limits every request meets.

use portico_tests::{Backend, TestEnv};
use rstest::rstest;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme").await;
    for (host, path) in [
        ("acme.localhost", "/"),
        ("nobody.localhost", "/"),
        ("x", "/healthz"),
        ("admin.localhost", "/"),
    ] {
        let response = app.get(host, path).await;
        let headers = response.headers();
        assert!(
            headers["content-security-policy"]
                .to_str()
                .expect("ascii")
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over plain http"
        );
        assert_eq!(headers["x-request-id"].len(), 36, "{host}{path}");
    }
    let echoed = app
        .request(reqwest::Method::GET, "acme.localhost", "/")
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-123");
    app.stop().await;
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_scheme_is_https() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.public_scheme = "https".into();
    let app = env.spawn_with(settings, Default::default()).await;
    let response = app.get("x", "/healthz").await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=63072000"
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn oversized_bodies_are_refused_with_413(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.body_limit = 4096;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme").await;
    let token = app.token("acme", portico_tenants::Role::MspAdmin).await;
    let response = app
        .request(reqwest::Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(vec![b' '; 10_000])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.metrics_listen = Some("127.0.0.1:0".parse().expect("addr"));
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme").await;
    assert_eq!(app.get("acme.localhost", "/").await.status(), 200);
    assert_eq!(app.get("nobody.localhost", "/").await.status(), 404);
    let metrics_addr = app.metrics_addr.expect("metrics listener");
    let text = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(
        text.contains(r#"portico_http_requests_total{route="/",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",method="GET",status="404""#),
        "{text}"
    );
    assert!(
        text.contains("portico_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("portico_db_pool_connections"));
    assert!(text.contains("portico_outbox_lag_seconds"));
    assert!(text.contains("portico_job_lag_seconds"));
    // Not on the public listener.
    assert_eq!(app.get("acme.localhost", "/metrics").await.status(), 404);
    app.stop().await;
}
