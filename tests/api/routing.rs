//! Routing by host name: generated subdomains, verified custom domains, the
//! operator host, suspended and deleted tenants, and the opaque 404.

use portico_tenants::TenantStatus;
use portico_tenants::registry::{self, DomainState};
use portico_tests::{Backend, TestApp, TestEnv, eventually};
use rstest::rstest;
use std::time::Duration;

async fn body(app: &TestApp, host: &str, path: &str) -> (u16, String) {
    let response = app.get(host, path).await;
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn tenants_are_served_on_their_subdomain_and_unknown_hosts_learn_nothing(
    #[case] backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("globex", "Globex Support").await;

    for host in ["acme.localhost", "ACME.localhost:8080", "acme.localhost."] {
        let (status, page) = body(&app, host, "/").await;
        assert_eq!(status, 200, "{host}");
        assert!(page.contains("Acme IT"), "{host}: {page}");
        assert!(!page.contains("Globex"));
    }
    let (status, page) = body(&app, "globex.localhost", "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Globex Support") && !page.contains("Acme"));

    // Unknown hosts, a bare IP, a lookalike and an unknown path all get the same page.
    let (status, reference) = body(&app, "nobody.localhost", "/").await;
    assert_eq!(status, 404);
    for (host, path) in [
        (app.addr.to_string().as_str(), "/"),
        ("acme.localhost.evil.example", "/"),
        ("acme.example", "/"),
        ("nobody.localhost", "/api/v1/tenant"),
        ("acme.localhost", "/no/such/page"),
    ] {
        let (status, page) = body(&app, host, path).await;
        assert_eq!(status, 404, "{host}{path}");
        assert_eq!(page, reference, "{host}{path}");
    }
    assert!(!reference.contains("acme") && !reference.contains("Acme"));

    // The operator's host is its own.
    let (status, page) = body(&app, "admin.localhost", "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("Portico operator console"));
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn suspended_tenants_get_a_branded_503_and_deleted_ones_a_404(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let token = app.token("acme", portico_tenants::Role::MspAdmin).await;
    registry::set_status(app.store(), "acme", TenantStatus::Suspended)
        .await
        .expect("suspended");
    // The change is applied by this instance's routing watcher.
    let page = eventually(Duration::from_secs(5), "suspension", || async {
        let response = app
            .request(reqwest::Method::GET, "acme.localhost", "/")
            .header("Accept-Language", "de-DE,de;q=0.9")
            .send()
            .await
            .expect("sent");
        (response.status() == 503).then_some(response)
    })
    .await;
    assert_eq!(page.headers()["retry-after"], "3600");
    let text = page.text().await.expect("body");
    assert!(text.contains("Acme IT ist nicht verfügbar"), "{text}");
    assert!(text.contains("lang=\"de\""));
    // The API is closed too.
    let api = app
        .request(reqwest::Method::GET, "acme.localhost", "/api/v1/tenant")
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(api.status(), 503);

    registry::set_status(app.store(), "acme", TenantStatus::Active)
        .await
        .expect("resumed");
    eventually(Duration::from_secs(5), "resume", || async {
        (app.get("acme.localhost", "/").await.status() == 200).then_some(())
    })
    .await;

    let (_, reference) = body(&app, "nobody.localhost", "/").await;
    registry::delete_tenant(app.store(), "acme")
        .await
        .expect("deleted");
    let (status, page) = eventually(Duration::from_secs(5), "deletion", || async {
        let (status, page) = body(&app, "acme.localhost", "/").await;
        (status == 404).then_some((status, page))
    })
    .await;
    assert_eq!(status, 404);
    assert_eq!(page, reference);
    assert!(app.store().tenant_by_slug("acme").await.is_err());
    // The slug is free again, with empty data.
    app.create_tenant("acme", "Acme Reborn").await;
    let db = app.tenant("acme").await;
    assert!(
        portico_tenants::people::list_users(&db, portico_tenants::policy::Scope::All)
            .await
            .expect("list")
            .is_empty()
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn custom_domains_route_only_while_verified(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("globex", "Globex").await;
    let acme = app.tenant("acme").await;
    let globex = app.tenant("globex").await;
    let token = registry::add_domain(app.store(), &acme, "Help.Acme-Customer.com", "localhost")
        .await
        .expect("added");
    assert_eq!(token.len(), 32);
    // Pending: not served.
    assert_eq!(app.get("help.acme-customer.com", "/").await.status(), 404);
    // Another tenant cannot claim it; the platform's own names are refused.
    assert!(matches!(
        registry::add_domain(app.store(), &globex, "help.acme-customer.com", "localhost").await,
        Err(portico_tenants::StoreError::Conflict(_))
    ));
    assert!(matches!(
        registry::add_domain(app.store(), &globex, "evil.localhost", "localhost").await,
        Err(portico_tenants::StoreError::Invalid { .. })
    ));

    registry::set_domain_state(app.store(), "help.acme-customer.com", DomainState::Verified)
        .await
        .expect("verified");
    let page = eventually(Duration::from_secs(5), "verified domain", || async {
        let response = app.get("help.acme-customer.com:443", "/").await;
        if response.status() == 200 {
            Some(response.text().await.expect("body"))
        } else {
            None
        }
    })
    .await;
    assert!(page.contains("Acme IT"));

    registry::set_domain_state(app.store(), "help.acme-customer.com", DomainState::Disabled)
        .await
        .expect("disabled");
    eventually(Duration::from_secs(5), "disabled domain", || async {
        (app.get("help.acme-customer.com", "/").await.status() == 404).then_some(())
    })
    .await;
    app.stop().await;
}
