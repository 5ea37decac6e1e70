//! Platform admins on the operator host, on both backends: the first admin's set-up
//! link → password → mandatory authenticator → the console; a named admin's link;
//! sign-in with a replay-proof code; sessions apart from every tenant's; the
//! operator's audit chain.

use std::time::{SystemTime, UNIX_EPOCH};

use portico_tenants::audit;
use portico_tenants::ids::EmailAddress;
use portico_tenants::registry;
use portico_tests::browser::Browser;
use portico_tests::{Backend, TestApp, TestEnv};
use rstest::rstest;

const PASSWORD: &str = "Quiet-Lantern-93";
const OPERATOR_HOST: &str = "admin.localhost";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn code(key: &str, at: u64) -> String {
    let secret = totp_rs::Secret::Encoded(key.to_owned())
        .to_bytes()
        .expect("base32 key");
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, "t".into())
        .expect("totp")
        .generate(at)
}

/// Follows a set-up link to the end of enrolment; returns the browser and the key.
pub(crate) async fn set_up(
    app: &TestApp,
    token: &str,
    email: Option<&str>,
) -> (Browser, String, u64) {
    let mut browser = Browser::new(app.addr, OPERATOR_HOST);
    let path = format!("/setup/{token}");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf").expect("csrf");
    let mut form = vec![
        ("password", PASSWORD),
        ("password_again", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    if let Some(email) = email {
        form.push(("email", email));
    }
    let weak: Vec<(&str, &str)> = form
        .iter()
        .map(|&(k, v)| {
            if k.starts_with("password") {
                (k, "short")
            } else {
                (k, v)
            }
        })
        .collect();
    assert_eq!(browser.post(&path, &weak).await.status, 422);
    let set = browser.post(&path, &form).await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location.as_deref(), Some("/enrol/totp"));
    assert_eq!(browser.get(&path).await.status, 410, "a link works once");
    // No console before the authenticator is enrolled.
    assert_eq!(
        browser.get("/").await.location.as_deref(),
        Some("/enrol/totp")
    );
    let enrol = browser.get("/enrol/totp").await;
    assert_eq!(enrol.status, 200);
    assert!(enrol.body.contains("<svg"));
    assert!(!enrol.body.contains("/enrol/sms"), "operators use an app");
    let key = enrol.codes().first().cloned().expect("manual key");
    let enrolled_at = now();
    let done = browser
        .post(
            "/enrol/totp",
            &[
                ("code", &code(&key, enrolled_at)),
                ("pending", &enrol.field("pending").expect("pending")),
                ("csrf", &enrol.field("csrf").expect("csrf")),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.codes().len(), 10, "recovery codes shown once");
    (browser, key, enrolled_at)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn platform_admins_set_up_and_sign_in_on_the_operator_host(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let store = app.store();

    // Signed out, the operator host offers sign-in and shows no tenant.
    let mut anonymous = Browser::new(app.addr, OPERATOR_HOST);
    let home = anonymous.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("href=\"/login\"") && !home.body.contains("Acme IT"));

    // The first admin chooses their address on the installation's set-up link.
    let first = registry::first_admin_setup_token(store)
        .await
        .expect("token")
        .expect("no admin yet");
    let (mut browser, key, enrolled_at) = set_up(&app, &first, Some("root@msp.example")).await;
    let console = browser.get("/").await;
    assert!(
        console.body.contains("Signed in as root@msp.example"),
        "{}",
        console.body
    );
    assert!(console.body.contains("Acme IT") && console.body.contains("acme"));
    assert!(
        registry::first_admin_setup_token(store)
            .await
            .expect("token")
            .is_none(),
        "no first-admin link once an admin exists"
    );

    // The operator's session means nothing on a tenant host, and a tenant's cookie
    // name on the operator host is just as unknown.
    let mut elsewhere = browser.on_host("acme.localhost");
    assert!(!elsewhere.get("/").await.body.contains("Signed in as"));

    // Sign-in: password, then a code from a new time step (the enrolment's is spent).
    let mut again = Browser::new(app.addr, OPERATOR_HOST);
    let csrf = again.get("/login").await.field("csrf").expect("csrf");
    let wrong = again
        .post(
            "/login",
            &[
                ("email", "root@msp.example"),
                ("password", "Wrong-Pass-1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let unknown = again
        .post(
            "/login",
            &[
                ("email", "ghost@msp.example"),
                ("password", "Wrong-Pass-1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.body,
        unknown
            .body
            .replace("ghost@msp.example", "root@msp.example"),
        "nothing to learn about accounts"
    );
    let step = again
        .post(
            "/login",
            &[
                ("email", "ROOT@msp.example"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(step.status, 303);
    assert_eq!(step.location.as_deref(), Some("/login/second-factor"));
    let after_password = again.cookies.clone();
    assert_eq!(
        again.get("/").await.location.as_deref(),
        Some("/login/second-factor")
    );
    let form = again.get("/login/second-factor").await;
    let csrf = form.field("csrf").expect("csrf");
    let replay = again
        .post(
            "/login/second-factor",
            &[("code", &code(&key, enrolled_at)), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(replay.status, 401, "the enrolment code works once");
    let next = code(&key, enrolled_at + 30);
    let signed_in = again
        .post("/login/second-factor", &[("code", &next), ("csrf", &csrf)])
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_ne!(again.cookies, after_password, "a new session id at sign-in");
    assert!(
        again
            .get("/")
            .await
            .body
            .contains("Signed in as root@msp.example")
    );

    // A cross-site form post is refused.
    let home = again.get("/").await;
    let csrf = home.field("csrf").expect("csrf");
    let forged = again
        .post_with("/logout", &[("csrf", &csrf)], "same-site")
        .await;
    assert_eq!(forged.status, 403);
    // Sign-out ends the session on the server.
    let stolen = again.clone();
    assert_eq!(
        again
            .post("/logout", &[("csrf", &csrf)])
            .await
            .location
            .as_deref(),
        Some("/login")
    );
    let mut stolen = stolen;
    assert!(!stolen.get("/").await.body.contains("Signed in as"));

    // A named admin's link (from `portico admin create`) fixes the address.
    let named = registry::create_platform_admin(
        store,
        &EmailAddress::parse("second@msp.example").expect("email"),
    )
    .await
    .expect("admin");
    let (mut second, _, _) = set_up(&app, &named, None).await;
    assert!(
        second
            .get("/")
            .await
            .body
            .contains("Signed in as second@msp.example")
    );

    // Everything is on the operator's chain, which verifies.
    let report = audit::verify_platform(store).await.expect("verify");
    assert!(report.first_broken.is_none(), "{report:?}");
    let actions: Vec<String> = audit::recent_platform(store, 100)
        .await
        .expect("recent")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "operator.setup.completed",
        "operator.totp.enrolled",
        "operator.login.failed",
        "operator.login.succeeded",
        "operator.logout",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    app.stop().await;
}
