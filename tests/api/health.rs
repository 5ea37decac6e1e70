//! `/healthz` and `/readyz` answer on any host, including a bare IP.

use portico_tests::{Backend, TestEnv};
use rstest::rstest;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn probes_answer_on_any_host(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme").await;
    for host in [
        app.addr.to_string(),
        "unknown.example".to_owned(),
        "acme.localhost".to_owned(),
        "admin.localhost".to_owned(),
    ] {
        let health = app.get(&host, "/healthz").await;
        assert_eq!(health.status(), 200, "{host}");
        assert_eq!(health.text().await.expect("body"), "ok");
        let ready = app.get(&host, "/readyz").await;
        assert_eq!(ready.status(), 200, "{host}");
        let body: serde_json::Value = ready.json().await.expect("json");
        assert_eq!(body["status"], "ready");
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["platform_schema"], "ok");
        assert_eq!(body["checks"]["tenant_schemas_behind"], 0);
    }
    app.stop().await;
}

#[tokio::test]
async fn readyz_checks_redis_when_configured() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.redis_url = Some("redis://127.0.0.1:6379".to_owned().into());
    let app = env.spawn_with(settings, Default::default()).await;
    let body: serde_json::Value = app.get("x", "/readyz").await.json().await.expect("json");
    assert_eq!(body["checks"]["redis"], "ok", "{body}");
    app.stop().await;
}
