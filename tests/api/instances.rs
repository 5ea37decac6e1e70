//! Two instances on one PostgreSQL behave as one.

use std::time::{Duration, Instant};

use portico_tenants::TenantStatus;
use portico_tenants::registry;
use portico_tests::{Backend, TestEnv, eventually};

#[tokio::test]
async fn a_suspension_made_through_one_instance_is_honoured_by_the_other_within_a_second() {
    let env = TestEnv::new(Backend::Postgres).await;
    let a = env.spawn().await;
    // B polls only once a minute: only PostgreSQL's notification can tell it in time.
    let mut slow = env.settings();
    slow.poll_ms = 60_000;
    let b = env.spawn_with(slow, Default::default()).await;

    a.create_tenant("acme", "Acme IT").await;
    eventually(
        Duration::from_secs(5),
        "B routes the new tenant",
        || async { (b.get("acme.localhost", "/").await.status() == 200).then_some(()) },
    )
    .await;

    let suspended_at = Instant::now();
    registry::set_status(a.store(), "acme", TenantStatus::Suspended)
        .await
        .expect("suspended through A");
    eventually(Duration::from_secs(5), "B answers 503", || async {
        (b.get("acme.localhost", "/").await.status() == 503).then_some(())
    })
    .await;
    let elapsed = suspended_at.elapsed();
    assert!(elapsed < Duration::from_secs(1), "B took {elapsed:?}");

    registry::set_status(b.store(), "acme", TenantStatus::Active)
        .await
        .expect("resumed through B");
    eventually(Duration::from_secs(1), "A serves again", || async {
        (a.get("acme.localhost", "/").await.status() == 200).then_some(())
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_change_made_by_another_process_reaches_an_embedded_instance_by_polling() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let app = env.spawn().await;
    // A second store on the same files stands for `portico tenant create` run beside the server.
    let other = portico_core::app::open_store(&env.settings())
        .await
        .expect("store");
    let slug = portico_tenants::TenantSlug::parse("acme").expect("slug");
    registry::create_tenant(&other, &slug, "Acme IT")
        .await
        .expect("created");
    eventually(Duration::from_secs(3), "the server routes it", || async {
        (app.get("acme.localhost", "/").await.status() == 200).then_some(())
    })
    .await;
    other.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_permission_change_made_through_one_instance_applies_on_the_other_within_a_second() {
    use portico_tenants::ids::EmailAddress;
    use portico_tenants::people::{self, NewUser};
    use portico_tenants::{Role, accounts, tokens};
    let env = TestEnv::new(Backend::Postgres).await;
    let a = env.spawn().await;
    let mut slow = env.settings();
    slow.poll_ms = 60_000;
    let b = env.spawn_with(slow, Default::default()).await;
    a.create_tenant("acme", "Acme IT").await;
    eventually(Duration::from_secs(5), "B routes the tenant", || async {
        (b.get("acme.localhost", "/").await.status() == 200).then_some(())
    })
    .await;
    let db = a.tenant("acme").await;
    let person = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("tech@acme.example").expect("email"),
            display_name: String::new(),
            role: Role::Technician,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("user");
    let token = tokens::create_personal_token(a.store(), "acme", "tech", "tech@acme.example")
        .await
        .expect("token");
    let list = || {
        b.request(reqwest::Method::GET, "acme.localhost", "/api/v1/users")
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        list().await.expect("sent").status(),
        200,
        "B allows it and caches the decision"
    );
    let changed_at = Instant::now();
    accounts::disable_user(&db, person.id, "test")
        .await
        .expect("disabled through A");
    eventually(Duration::from_secs(5), "B denies", || async {
        (list().await.expect("sent").status() == 403).then_some(())
    })
    .await;
    let elapsed = changed_at.elapsed();
    assert!(elapsed < Duration::from_secs(1), "B took {elapsed:?}");
    a.stop().await;
    b.stop().await;
}
