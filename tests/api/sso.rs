//! OpenID Connect single sign-on against a real provider (node oidc-provider): home
//! realm discovery, just-in-time contacts, linking by verified e-mail, and each
//! refusal (bad state, bad nonce, wrong issuer, unverified e-mail, linking not
//! allowed).

use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tests::browser::Browser;
use portico_tests::{Backend, OidcProvider, TestApp, TestEnv};
use rstest::rstest;
use serde_json::json;

const SECRET: &str = "portico-test-secret";

fn provider_config(app: &TestApp) -> serde_json::Value {
    json!({
        "clients": [{
            "client_id": "portico",
            "client_secret": SECRET,
            "redirect_uris": [format!("http://acme.localhost:{}/sso/callback", app.addr.port())],
            "token_endpoint_auth_method": "client_secret_basic"
        }],
        "accounts": [
            { "sub": "alice-1", "email": "alice@customer.example", "email_verified": true, "name": "Alice Customer" },
            { "sub": "mallory-1", "email": "mallory@customer.example", "email_verified": false, "name": "Mallory" },
            { "sub": "bob-1", "email": "bob@acme.example", "email_verified": true, "name": "Bob Tech" },
            { "sub": "eve-1", "email": "eve@elsewhere.example", "email_verified": true, "name": "Eve" }
        ]
    })
}

/// Starts SSO for `email` on the portal, signs in as `login` at the provider, and
/// returns the callback path with its query (not yet followed) and the portal browser.
async fn through_provider(
    app: &TestApp,
    provider: &OidcProvider,
    email: &str,
    login: &str,
) -> (Browser, String) {
    through_provider_rewriting(app, provider, email, login, |url| url.to_owned()).await
}

/// As `through_provider`, with the authorization request rewritten by `rewrite` on
/// its way to the provider (what an attacker in the middle of the flow could do).
async fn through_provider_rewriting(
    app: &TestApp,
    provider: &OidcProvider,
    email: &str,
    login: &str,
    rewrite: impl Fn(&str) -> String,
) -> (Browser, String) {
    let mut portal = Browser::new(app.addr, "acme.localhost");
    let csrf = portal.get("/login").await.field("csrf").expect("csrf");
    let start = portal
        .post("/login/sso", &[("email", email), ("csrf", &csrf)])
        .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.expect("to the provider");
    assert!(authorize.starts_with(&provider.issuer), "{authorize}");
    assert!(
        authorize.contains("code_challenge_method=S256") && authorize.contains("nonce="),
        "{authorize}"
    );
    let mut idp = Browser::new(provider.addr, &provider.addr.to_string());
    let path = |url: &str| url.trim_start_matches(&provider.issuer).to_owned();
    let authorize = rewrite(&authorize);
    let interaction = idp
        .get(&path(&authorize))
        .await
        .location
        .expect("interaction");
    let resumed = idp
        .post(&format!("{interaction}/login"), &[("login", login)])
        .await
        .location
        .expect("resume");
    let back = idp
        .get(&path(&resumed))
        .await
        .location
        .expect("back to the portal");
    let prefix = format!("http://acme.localhost:{}", app.addr.port());
    assert!(back.starts_with(&prefix), "{back}");
    (portal, back.trim_start_matches(&prefix).to_owned())
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn single_sign_on_end_to_end(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.outbound_allow_private = true;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let provider = OidcProvider::start(&provider_config(&app));
    let db = app.tenant("acme").await;
    let customer = portico_tenants::organizations::create_organization(
        &db,
        "Customer",
        &["customer.example".to_owned()],
        "test",
    )
    .await
    .expect("organization");
    let admin = app.token("acme", Role::MspAdmin).await;
    let add = |body: serde_json::Value| {
        app.request(
            reqwest::Method::POST,
            "acme.localhost",
            "/api/v1/identity-providers",
        )
        .bearer_auth(&admin)
        .json(&body)
        .send()
    };
    let created = add(json!({
        "name": "Customer Entra ID", "organization_id": customer.id, "issuer": provider.issuer,
        "client_id": "portico", "client_secret": SECRET
    }))
    .await
    .expect("sent");
    assert_eq!(created.status(), 201);
    let listed: serde_json::Value = app
        .request(
            reqwest::Method::GET,
            "acme.localhost",
            "/api/v1/identity-providers",
        )
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(
        !listed.to_string().contains(SECRET),
        "secrets are never shown"
    );

    // Just in time: Alice becomes a contact of the organization owning her domain.
    let (mut portal, callback) =
        through_provider(&app, &provider, "alice@customer.example", "alice-1").await;
    assert!(callback.contains("iss="), "{callback}");
    let done = portal.get(&callback).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        portal
            .get("/")
            .await
            .body
            .contains("Signed in as alice@customer.example")
    );
    let alice = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("list")
        .into_iter()
        .find(|u| u.email == "alice@customer.example")
        .expect("provisioned");
    assert_eq!(alice.organization_id, Some(customer.id));
    assert_eq!(alice.role, Role::Contact);
    // The second time she is recognized by (issuer, subject).
    let (mut portal, callback) =
        through_provider(&app, &provider, "alice@customer.example", "alice-1").await;
    assert_eq!(portal.get(&callback).await.status, 303);

    // Refusals.
    let (mut portal, callback) =
        through_provider(&app, &provider, "alice@customer.example", "alice-1").await;
    let tampered = callback.replacen("state=", "state=x", 1);
    assert_eq!(portal.get(&tampered).await.status, 403, "bad state");
    // The provider signs an ID token for a nonce other than the one this browser's
    // flow sealed: the callback is refused even though state and code are good.
    let (mut portal, callback) = through_provider_rewriting(
        &app,
        &provider,
        "alice@customer.example",
        "alice-1",
        |url| url.replacen("nonce=", "nonce=replayed", 1),
    )
    .await;
    assert_eq!(portal.get(&callback).await.status, 403, "bad nonce");
    assert!(!portal.get("/").await.body.contains("Signed in as"));
    let refusal = portico_tenants::audit::recent(&db, 5)
        .await
        .expect("audit")
        .into_iter()
        .find(|e| e.action == "auth.sso.refused")
        .expect("refusal audited");
    assert!(refusal.details.contains("bad_nonce"), "{}", refusal.details);
    let (mut portal, callback) =
        through_provider(&app, &provider, "alice@customer.example", "alice-1").await;
    let wrong_issuer = format!("{callback}&iss=http%3A%2F%2Fevil.example");
    let wrong_issuer = wrong_issuer.replacen("iss=", "ignored=", 1);
    assert_eq!(portal.get(&wrong_issuer).await.status, 403, "wrong issuer");
    let (mut portal, callback) =
        through_provider(&app, &provider, "mallory@customer.example", "mallory-1").await;
    assert_eq!(portal.get(&callback).await.status, 403, "unverified e-mail");
    assert!(!portal.get("/").await.body.contains("Signed in as"));
    // A callback without the browser's flow cookie (another browser) is refused.
    let (_, callback) =
        through_provider(&app, &provider, "alice@customer.example", "alice-1").await;
    let mut stranger = Browser::new(app.addr, "acme.localhost");
    assert_eq!(
        stranger.get(&callback).await.status,
        403,
        "flow bound to the browser"
    );
    // Unknown domains get the password form's advice, not a provider.
    let mut other = Browser::new(app.addr, "acme.localhost");
    let csrf = other.get("/login").await.field("csrf").expect("csrf");
    assert_eq!(
        other
            .post(
                "/login/sso",
                &[("email", "x@nowhere.example"), ("csrf", &csrf)]
            )
            .await
            .status,
        404
    );

    // Staff: linking by verified e-mail only when the tenant allows it.
    people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("bob@acme.example").expect("email"),
            display_name: String::new(),
            role: Role::Technician,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("bob");
    let staff = add(json!({
        "name": "Acme staff", "issuer": provider.issuer, "client_id": "portico", "client_secret": SECRET,
        "domains": ["acme.example"], "link_by_email": false
    }))
    .await
    .expect("sent");
    assert_eq!(staff.status(), 201);
    let (mut portal, callback) =
        through_provider(&app, &provider, "bob@acme.example", "bob-1").await;
    assert_eq!(
        portal.get(&callback).await.status,
        403,
        "linking not allowed"
    );
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("UPDATE identity_providers SET link_by_email = 1 WHERE organization_id IS NULL")
        .execute(tx.conn())
        .await
        .expect("allow linking");
    tx.commit().await.expect("commit");
    let (mut portal, callback) =
        through_provider(&app, &provider, "bob@acme.example", "bob-1").await;
    assert_eq!(portal.get(&callback).await.status, 303);
    assert!(
        portal
            .get("/")
            .await
            .body
            .contains("Signed in as bob@acme.example")
    );

    // https only outside test configurations.
    let insecure = portico_core::identity::sso::check_issuer("http://idp.example", false);
    assert!(insecure.is_err());
    let actions: Vec<String> = portico_tenants::audit::recent(&db, 200)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.iter().any(|a| a == "auth.sso.refused"));
    assert!(actions.iter().any(|a| a == "sso.identity.linked"));
    app.stop().await;
}
