//! Migrations: a tenant behind is reported by `/readyz` and brought current by a
//! resumable run; reruns do nothing.

use portico_tenants::migrate::{self, Level};
use portico_tenants::outbox::NewEvent;
use portico_tenants::{TenantSlug, registry};
use portico_tests::{Backend, TestEnv, eventually};
use rstest::rstest;
use std::time::Duration;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn tenants_behind_are_reported_and_migrated(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    let store = app.store();
    let latest = migrate::latest_version(store.backend(), Level::Tenant);
    assert!(latest >= 2);
    for slug in ["old-one", "old-two"] {
        let slug = TenantSlug::parse(slug).expect("slug");
        let tenant = registry::create_tenant_at_version(store, &slug, "Old", 1)
            .await
            .expect("created");
        assert_eq!(tenant.schema_version, 1);
    }
    app.create_tenant("current", "Current").await;

    // Reported, but the instance stays in rotation; the tenants behind get a
    // maintenance page instead of being served on an old schema.
    let ready = app.get("x", "/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["checks"]["tenant_schemas_behind"], 2, "{body}");
    let page = eventually(Duration::from_secs(5), "the maintenance page", || async {
        let response = app.get("old-one.localhost", "/").await;
        (response.status() == 503).then_some(response)
    })
    .await;
    assert_eq!(page.headers()["retry-after"], "120");
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("is being updated")
    );
    assert_eq!(app.get("current.localhost", "/").await.status(), 200);

    let mut seen = Vec::new();
    let report = migrate::migrate_all(store, 2, |progress| seen.push(progress.done))
        .await
        .expect("migrated");
    assert_eq!(report.migrated, 2);
    assert!(report.failures.is_empty());
    assert_eq!(seen.last(), Some(&2));
    let body: serde_json::Value = app.get("x", "/readyz").await.json().await.expect("json");
    assert_eq!(body["checks"]["tenant_schemas_behind"], 0, "{body}");
    eventually(
        Duration::from_secs(5),
        "the migrated tenant served",
        || async { (app.get("old-one.localhost", "/").await.status() == 200).then_some(()) },
    )
    .await;
    for tenant in registry::list_tenants(store).await.expect("list") {
        assert_eq!(tenant.schema_version, latest, "{}", tenant.slug);
    }
    // The migrated schema works: version 2 brought the outbox.
    let db = app.tenant("old-one").await;
    let mut tx = db.begin().await.expect("begin");
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: "1".into(),
        event_type: "ticket.created",
        payload: serde_json::json!({}),
    })
    .await
    .expect("outbox exists after migration");
    tx.commit().await.expect("commit");

    let again = migrate::migrate_all(store, 2, |_| {}).await.expect("rerun");
    assert_eq!(again.migrated, 0);
    app.stop().await;
}
