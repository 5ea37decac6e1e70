//! Sign-in end to end, on both backends: invitation → password → authenticator
//! enrolment → sign-in; replayed codes, recovery codes, session fixation, account
//! enumeration, CSRF, cross-tenant sessions, sign-out, session lists, the audit chain.

use std::time::{SystemTime, UNIX_EPOCH};

use portico_tenants::Role;
use portico_tenants::audit;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tests::browser::{Browser, Page};
use portico_tests::{Backend, TestApp, TestEnv};
use rstest::rstest;

pub const PASSWORD: &str = "Blue-Harbour-42";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// When each authenticator key was enrolled (Unix seconds), so a test can replay
/// exactly the code enrolment used, whatever time step the test has reached since.
static ENROLLED_AT: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());

fn enrolled_at(key: &str) -> u64 {
    ENROLLED_AT
        .lock()
        .expect("enrolments")
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, at)| *at)
        .expect("enrolled in this test")
}

fn code(key: &str, at: u64) -> String {
    let secret = totp_rs::Secret::Encoded(key.to_owned())
        .to_bytes()
        .expect("base32 key");
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        "test".to_owned(),
    )
    .expect("totp")
    .generate(at)
}

/// Invites a person and walks their browser through registration. Returns the
/// signed-in browser, the authenticator key and the recovery codes.
async fn register(app: &TestApp, slug: &str, email: &str) -> (Browser, String, Vec<String>) {
    register_as(app, slug, email, Role::Technician, None).await
}

/// [`register`] with a role and an organization.
pub async fn register_as(
    app: &TestApp,
    slug: &str,
    email: &str,
    role: Role,
    organization_id: Option<i64>,
) -> (Browser, String, Vec<String>) {
    let db = app.tenant(slug).await;
    let user = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse(email).expect("email"),
            display_name: String::new(),
            role,
            invite: false,
            organization_id,
        },
    )
    .await
    .expect("user");
    let token = people::issue_invitation(&db, user.id)
        .await
        .expect("invitation");
    let mut browser = Browser::new(app.addr, &TestApp::host(slug));
    let invite_path = format!("/invite/{token}");
    let page = browser.get(&invite_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf").expect("csrf field");

    // The policy is applied before anything is stored.
    let weak = browser
        .post(
            &invite_path,
            &[
                ("password", "password1"),
                ("password_again", "password1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(
        weak.body.contains("upper-case") || weak.body.contains("too common"),
        "{}",
        weak.body
    );

    let set = browser
        .post(
            &invite_path,
            &[
                ("password", PASSWORD),
                ("password_again", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(set.location.as_deref(), Some("/enrol/totp"));
    // The link works once.
    let again = browser.get(&invite_path).await;
    assert_eq!(again.status, 410);

    let enrol = browser.get("/enrol/totp").await;
    assert_eq!(enrol.status, 200);
    assert!(enrol.body.contains("<svg"), "QR code shown");
    let key = enrol.codes().first().cloned().expect("manual key");
    let before = browser.cookies.clone();
    let wrong = browser
        .post(
            "/enrol/totp",
            &[
                ("code", "000000"),
                ("pending", &enrol.field("pending").expect("pending")),
                ("csrf", &enrol.field("csrf").expect("csrf")),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    let at = now();
    ENROLLED_AT
        .lock()
        .expect("enrolments")
        .push((key.clone(), at));
    let done = browser
        .post(
            "/enrol/totp",
            &[
                ("code", &code(&key, at)),
                ("pending", &enrol.field("pending").expect("pending")),
                ("csrf", &enrol.field("csrf").expect("csrf")),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery = done.codes();
    assert_eq!(recovery.len(), 10);
    assert_ne!(
        browser.cookies, before,
        "the session id changes when sign-in completes"
    );
    let home = browser.get("/").await;
    assert!(
        home.body.contains(&format!("Signed in as {email}")),
        "{}",
        home.body
    );
    (browser, key, recovery)
}

/// Registration for other test modules.
pub async fn register_for_tests(
    app: &TestApp,
    slug: &str,
    email: &str,
) -> (Browser, String, Vec<String>) {
    register(app, slug, email).await
}

async fn password_step(app: &TestApp, slug: &str, email: &str, password: &str) -> (Browser, Page) {
    let mut browser = Browser::new(app.addr, &TestApp::host(slug));
    let form = browser.get("/login").await;
    assert_eq!(form.status, 200);
    let csrf = form.field("csrf").expect("csrf");
    let page = browser
        .post(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await;
    (browser, page)
}

/// The application on `backend`, with its sessions (and rate limits) in Redis
/// when `redis` is set.
async fn spawn(env: &std::sync::Arc<TestEnv>, redis: bool) -> TestApp {
    let mut settings = env.settings();
    if redis {
        settings.redis_url = Some("redis://127.0.0.1:6379".to_owned().into());
    }
    env.spawn_with(settings, Default::default()).await
}

/// Sessions stored in the tenant's own table (none when they live in Redis).
async fn sessions_in_database(app: &TestApp, slug: &str) -> i64 {
    let db = app.tenant(slug).await;
    let mut tx = db.read().await.expect("read");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(tx.conn())
        .await
        .expect("count");
    tx.rollback().await.expect("rollback");
    count
}

async fn second_factor(browser: &mut Browser, code: &str) -> Page {
    let form = browser.get("/login/second-factor").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.field("csrf").expect("csrf");
    browser
        .post("/login/second-factor", &[("code", code), ("csrf", &csrf)])
        .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite, false)]
#[case::postgres(Backend::Postgres, false)]
#[case::sqlite_sessions_in_redis(Backend::Sqlite, true)]
#[case::postgres_sessions_in_redis(Backend::Postgres, true)]
#[tokio::test]
async fn invitation_password_authenticator_and_sign_in(
    #[case] backend: Backend,
    #[case] redis: bool,
) {
    let env = TestEnv::new(backend).await;
    let app = spawn(&env, redis).await;
    app.create_tenant("acme", "Acme IT").await;
    let (_, key, recovery) = register(&app, "acme", "tech@acme.example").await;
    assert_eq!(
        sessions_in_database(&app, "acme").await == 0,
        redis,
        "sessions live in Redis exactly when it is configured"
    );

    // Password step: a fresh session id, waiting for the second factor.
    let (mut browser, page) = password_step(&app, "acme", "Tech@Acme.example", PASSWORD).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/login/second-factor"));
    let after_password = browser
        .cookies
        .get("portico_session")
        .cloned()
        .expect("session cookie");
    // Not signed in yet.
    assert!(!browser.get("/").await.body.contains("Signed in as"));
    assert_eq!(
        browser.get("/account/sessions").await.location.as_deref(),
        Some("/login/second-factor")
    );

    // The enrolment code was accepted once: replaying it fails.
    let enrolment = enrolled_at(&key);
    let replayed = second_factor(&mut browser, &code(&key, enrolment)).await;
    assert_eq!(replayed.status, 401, "a used code is refused");
    // The step after enrolment's (within the one step of drift allowed) works, once.
    let next_code = code(&key, enrolment + 30);
    let accepted = second_factor(&mut browser, &next_code).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let signed_in = browser
        .cookies
        .get("portico_session")
        .cloned()
        .expect("session cookie");
    assert_ne!(
        signed_in, after_password,
        "session fixation: the id changes at sign-in"
    );
    assert!(
        browser
            .get("/")
            .await
            .body
            .contains("Signed in as tech@acme.example")
    );

    let (mut other, _) = password_step(&app, "acme", "tech@acme.example", PASSWORD).await;
    assert_eq!(
        second_factor(&mut other, &next_code).await.status,
        401,
        "the same code twice"
    );
    // A recovery code works once.
    assert_eq!(
        second_factor(&mut other, &recovery[0].to_uppercase())
            .await
            .status,
        303
    );
    let (mut third, _) = password_step(&app, "acme", "tech@acme.example", PASSWORD).await;
    assert_eq!(second_factor(&mut third, &recovery[0]).await.status, 401);

    // The other sessions are listed (not the current one's id); ending them signs them out.
    let list = browser.get("/account/sessions").await;
    assert_eq!(list.status, 200);
    let csrf = list.field("csrf").expect("csrf");
    let others: Vec<String> = list
        .body
        .split("name=\"session\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect();
    assert!(
        others.len() >= 3,
        "registration, second and third browsers: {others:?}"
    );
    assert!(list.body.contains("This session"));
    assert!(other.get("/").await.body.contains("Signed in as"));
    for id in &others {
        let ended = browser
            .post("/account/sessions/end", &[("csrf", &csrf), ("session", id)])
            .await;
        assert_eq!(ended.status, 303);
    }
    assert!(!other.get("/").await.body.contains("Signed in as"));
    assert!(
        browser.get("/").await.body.contains("Signed in as"),
        "the current session stays"
    );

    // Sign-out ends the session server-side: the old cookie no longer works.
    let home = browser.get("/").await;
    let csrf = home.field("csrf").expect("csrf");
    let stolen = browser.clone();
    assert_eq!(
        browser
            .post("/logout", &[("csrf", &csrf)])
            .await
            .location
            .as_deref(),
        Some("/login")
    );
    let mut stolen = stolen;
    assert!(!stolen.get("/").await.body.contains("Signed in as"));

    // Everything above is in the tenant's audit chain, which verifies.
    let db = app.tenant("acme").await;
    let report = audit::verify(&db).await.expect("verify");
    assert!(report.entries >= 8, "{report:?}");
    assert!(report.first_broken.is_none(), "{report:?}");
    let actions: Vec<String> = audit::recent(&db, 100)
        .await
        .expect("recent")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "auth.invitation.accepted",
        "auth.totp.enrolled",
        "auth.login.succeeded",
        "auth.second_factor.failed",
        "auth.session.revoked",
        "auth.logout",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn sign_in_reveals_nothing_and_refuses_forgeries(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("globex", "Globex").await;
    let (signed_in, _, _) = register(&app, "acme", "known@acme.example").await;

    // The same answer for a wrong password and for an unknown account.
    let mut browser = Browser::new(app.addr, "acme.localhost");
    let csrf = browser.get("/login").await.field("csrf").expect("csrf");
    let known = browser
        .post(
            "/login",
            &[
                ("email", "known@acme.example"),
                ("password", "Wrong-Pass-1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    let unknown = browser
        .post(
            "/login",
            &[
                ("email", "nobody@acme.example"),
                ("password", "Wrong-Pass-1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(known.status, 401);
    assert_eq!(unknown.status, known.status);
    assert_eq!(
        unknown.body.replace("nobody@acme.example", "EMAIL"),
        known.body.replace("known@acme.example", "EMAIL")
    );
    assert!(
        known
            .body
            .contains("The e-mail address or the password is not correct.")
    );

    // CSRF: a missing or wrong token, or a cross-site post, is refused.
    assert_eq!(
        browser
            .post(
                "/login",
                &[
                    ("email", "known@acme.example"),
                    ("password", PASSWORD),
                    ("csrf", "0")
                ]
            )
            .await
            .status,
        403
    );
    assert_eq!(
        browser
            .post_with(
                "/login",
                &[
                    ("email", "known@acme.example"),
                    ("password", PASSWORD),
                    ("csrf", &csrf)
                ],
                "same-site"
            )
            .await
            .status,
        403,
        "another tenant's subdomain is same-site, not same-origin"
    );
    let mut forger = signed_in.clone();
    let home = forger.get("/").await;
    assert_eq!(
        forger.post("/logout", &[("csrf", "forged")]).await.status,
        403
    );
    assert!(
        forger.get("/").await.body.contains("Signed in as"),
        "the forged sign-out did nothing"
    );
    let csrf = home.field("csrf").expect("csrf");
    assert_eq!(
        forger
            .post_with("/logout", &[("csrf", &csrf)], "cross-site")
            .await
            .status,
        403
    );

    // A session of acme is nobody on globex's host.
    let mut elsewhere = signed_in.on_host("globex.localhost");
    let page = elsewhere.get("/").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Signed in as"));
    assert_eq!(
        elsewhere.get("/account/sessions").await.location.as_deref(),
        Some("/login")
    );

    // A disabled account cannot sign in, with the usual answer.
    let db = app.tenant("acme").await;
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("UPDATE users SET status = 'disabled' WHERE email = 'known@acme.example'")
        .execute(tx.conn())
        .await
        .expect("disable");
    tx.commit().await.expect("commit");
    let (_, page) = password_step(&app, "acme", "known@acme.example", PASSWORD).await;
    assert_eq!(page.status, 401);
    let mut old = signed_in.clone();
    assert!(
        !old.get("/").await.body.contains("Signed in as"),
        "a disabled user's sessions end"
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_tampered_audit_chain_is_detected(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    for n in 0..5 {
        audit::append(
            &db,
            audit::AuditEntry {
                actor: "system".into(),
                action: "test.entry",
                target: format!("n:{n}"),
                details: serde_json::json!({ "n": n }),
            },
        )
        .await
        .expect("append");
    }
    assert!(
        audit::verify(&db)
            .await
            .expect("verify")
            .first_broken
            .is_none()
    );
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("UPDATE audit_log SET details = '{\"n\":99}' WHERE target = 'n:2'")
        .execute(tx.conn())
        .await
        .expect("tamper");
    tx.commit().await.expect("commit");
    let report = audit::verify(&db).await.expect("verify");
    assert_eq!(
        report.first_broken.map(|(_, why)| why),
        Some("entry altered")
    );
    let broken_id = report.first_broken.map(|(id, _)| id).expect("broken");
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(broken_id)
        .execute(tx.conn())
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    let report = audit::verify(&db).await.expect("verify");
    assert_eq!(
        report.first_broken,
        Some((broken_id + 1, "previous entry missing or altered"))
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite_in_memory(Backend::Sqlite, false)]
#[case::postgres_database(Backend::Postgres, false)]
#[case::redis(Backend::Postgres, true)]
#[tokio::test]
async fn sign_in_slows_down_guessing_without_locking_the_person_out(
    #[case] backend: Backend,
    #[case] redis: bool,
) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.login_address_limit = 14;
    if redis {
        settings.redis_url = Some("redis://127.0.0.1:6379".to_owned().into());
    }
    let app = env.spawn_with(settings, Default::default()).await;
    // Each run uses its own tenant id space, so Redis keys from other runs never collide
    // within a tenant of the same id: make the slug unique to be safe.
    let slug = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    app.create_tenant(&slug, "Acme IT").await;
    let email = format!("known@{slug}.example");
    register(&app, &slug, &email).await;
    let mut browser = Browser::new(app.addr, &TestApp::host(&slug));
    let csrf = browser.get("/login").await.field("csrf").expect("csrf");
    for _ in 0..5 {
        let page = browser
            .post(
                "/login",
                &[
                    ("email", &email),
                    ("password", "Wrong-Pass-1"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(page.status, 401);
    }
    // Now every attempt on this account waits, even with the right password...
    let slowed = browser
        .post(
            "/login",
            &[("email", &email), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(slowed.status, 429);
    assert!(slowed.body.contains("Too many attempts"));
    // ... and an unknown account behaves the same way (nothing to learn from it).
    for _ in 0..5 {
        browser
            .post(
                "/login",
                &[
                    ("email", "ghost@acme.example"),
                    ("password", "Wrong-Pass-1"),
                    ("csrf", &csrf),
                ],
            )
            .await;
    }
    assert_eq!(
        browser
            .post(
                "/login",
                &[
                    ("email", "ghost@acme.example"),
                    ("password", "Wrong-Pass-1"),
                    ("csrf", &csrf)
                ]
            )
            .await
            .status,
        429
    );
    // The person is delayed, not locked out: after the wait the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = browser
        .post(
            "/login",
            &[("email", &email), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // The address ceiling (14 here, counted since the start) stops a sprayer across accounts.
    let mut sprayer = Browser::new(app.addr, &TestApp::host(&slug));
    let csrf = sprayer.get("/login").await.field("csrf").expect("csrf");
    let mut statuses = Vec::new();
    for n in 0..6 {
        let page = sprayer
            .post(
                "/login",
                &[
                    ("email", &format!("user{n}@acme.example")),
                    ("password", "Wrong-Pass-1"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        statuses.push(page.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite, false)]
#[case::postgres(Backend::Postgres, false)]
#[case::postgres_sessions_in_redis(Backend::Postgres, true)]
#[tokio::test]
async fn administrators_reset_factors_end_sessions_and_disable_people(
    #[case] backend: Backend,
    #[case] redis: bool,
) {
    let env = TestEnv::new(backend).await;
    let app = spawn(&env, redis).await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let (mut person, _, _) = register(&app, "acme", "pat@acme.example").await;
    let db = app.tenant("acme").await;
    let pat = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("list")
        .into_iter()
        .find(|u| u.email == "pat@acme.example")
        .expect("pat");
    let post = |path: String| {
        app.request(reqwest::Method::POST, "acme.localhost", &path)
            .bearer_auth(&admin)
            .send()
    };

    // Reset of the second factor: signed out at once, and the next sign-in enrols again.
    let reset = post(format!("/api/v1/users/{}/reset-second-factor", pat.id))
        .await
        .expect("sent");
    assert_eq!(reset.status(), 200);
    let body: serde_json::Value = reset.json().await.expect("json");
    assert_eq!(body["sessions_ended"], 1);
    assert!(!person.get("/").await.body.contains("Signed in as"));
    let (mut again, page) = password_step(&app, "acme", "pat@acme.example", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/enrol/totp"));
    assert_eq!(again.get("/enrol/totp").await.status, 200);

    // Ending all sessions ends that one too.
    let ended = post(format!("/api/v1/users/{}/end-sessions", pat.id))
        .await
        .expect("sent");
    assert_eq!(
        ended.json::<serde_json::Value>().await.expect("json")["sessions_ended"],
        1
    );
    assert_eq!(
        again.get("/enrol/totp").await.location.as_deref(),
        Some("/login")
    );

    // Disabled: sign-in fails like a wrong password.
    assert_eq!(
        post(format!("/api/v1/users/{}/disable", pat.id))
            .await
            .expect("sent")
            .status(),
        200
    );
    let (_, page) = password_step(&app, "acme", "pat@acme.example", PASSWORD).await;
    assert_eq!(page.status, 401);
    assert_eq!(
        post("/api/v1/users/999999/disable".to_owned())
            .await
            .expect("sent")
            .status(),
        404
    );

    // A new invitation can be sent to someone who never accepted one; it is mailed.
    let invited = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("late@acme.example").expect("email"),
            display_name: String::new(),
            role: Role::Contact,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("user");
    assert_eq!(
        post(format!("/api/v1/users/{}/invitation", invited.id))
            .await
            .expect("sent")
            .status(),
        202
    );
    assert_eq!(
        post(format!("/api/v1/users/{}/invitation", pat.id))
            .await
            .expect("sent")
            .status(),
        422
    );
    portico_tests::eventually(
        std::time::Duration::from_secs(10),
        "the invitation mail",
        || async {
            let dir = env.data_dir().join("mail");
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                (text.contains("late@acme.example") && text.contains("/invite/")).then_some(())
            })
        },
    )
    .await;

    let actions: Vec<String> = audit::recent(&db, 200)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "auth.second_factor.reset",
        "auth.sessions.revoked",
        "user.disabled",
        "user.invitation_requested",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert!(
        audit::verify(&db)
            .await
            .expect("verify")
            .first_broken
            .is_none()
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn an_unknown_sender_at_a_known_domain_becomes_a_contact_of_that_organization(
    #[case] backend: Backend,
) {
    use portico_tenants::organizations;
    use portico_tenants::policy::Scope;
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let customer = organizations::create_organization(
        &db,
        "Customer",
        &["Customer.example".to_owned()],
        "test",
    )
    .await
    .expect("organization");
    assert_eq!(customer.domains, ["customer.example"]);
    let other =
        organizations::create_organization(&db, "Other", &["other.example".to_owned()], "test")
            .await
            .expect("organization");
    // One domain, one organization.
    assert!(matches!(
        organizations::create_organization(&db, "Thief", &["customer.example".to_owned()], "test")
            .await,
        Err(portico_tenants::StoreError::Conflict(_))
    ));

    let sender = EmailAddress::parse("Maria@Customer.example").expect("email");
    let contact = organizations::contact_for_email(&db, &sender)
        .await
        .expect("lookup")
        .expect("created");
    assert_eq!(contact.role, Role::Contact);
    assert_eq!(contact.organization_id, Some(customer.id));
    let again = organizations::contact_for_email(&db, &sender)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(again.id, contact.id);
    let stranger = EmailAddress::parse("someone@unknown.example").expect("email");
    assert!(
        organizations::contact_for_email(&db, &stranger)
            .await
            .expect("lookup")
            .is_none()
    );
    organizations::contact_for_email(
        &db,
        &EmailAddress::parse("olga@other.example").expect("email"),
    )
    .await
    .expect("lookup")
    .expect("created");

    // Organization scope: each organization sees only its own people.
    let seen = people::list_users(&db, Scope::Organization(Some(customer.id)))
        .await
        .expect("list");
    assert_eq!(
        seen.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        ["maria@customer.example"]
    );
    assert!(
        people::get_user(&db, contact.id, Scope::Organization(Some(other.id)))
            .await
            .is_err()
    );
    assert!(
        people::get_user(&db, contact.id, Scope::Own(Some(contact.id)))
            .await
            .is_ok()
    );
    assert!(
        people::get_user(&db, contact.id, Scope::Own(None))
            .await
            .is_err()
    );
    let orgs = organizations::list_organizations(&db, Scope::Organization(Some(other.id)))
        .await
        .expect("list");
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].name, "Other");
    app.stop().await;
}

async fn mail_to(env: &TestEnv, to: &str, marker: &str) -> String {
    portico_tests::eventually(std::time::Duration::from_secs(10), "a mail", || async {
        let dir = env.data_dir().join("mail");
        std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            // Undo quoted-printable soft line breaks.
            let text = text.replace("=\r\n", "").replace("=\n", "");
            (text.contains(to) && text.contains(marker)).then_some(text)
        })
    })
    .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_password_reset_by_email_never_skips_the_second_factor(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let (mut old_session, _, _) = register(&app, "acme", "ria@acme.example").await;

    let mut browser = Browser::new(app.addr, "acme.localhost");
    let csrf = browser
        .get("/login/reset")
        .await
        .field("csrf")
        .expect("csrf");
    let known = browser
        .post(
            "/login/reset",
            &[("email", "ria@acme.example"), ("csrf", &csrf)],
        )
        .await;
    let unknown = browser
        .post(
            "/login/reset",
            &[("email", "nobody@acme.example"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(known.status, 200);
    assert_eq!(
        known.body, unknown.body,
        "the same answer for unknown addresses"
    );
    let mail = mail_to(&env, "ria@acme.example", "/reset/").await;
    let start = mail.find("/reset/").expect("link") + "/reset/".len();
    let token: String = mail[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64);
    let path = format!("/reset/{token}");

    assert_eq!(browser.get(&path).await.status, 200);
    let weak = browser
        .post(
            &path,
            &[
                ("password", "short"),
                ("password_again", "short"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    let done = browser
        .post(
            &path,
            &[
                ("password", "Green-Valley-77"),
                ("password_again", "Green-Valley-77"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some("/login/second-factor"),
        "the second factor is still required"
    );
    assert!(!browser.get("/").await.body.contains("Signed in as"));
    assert!(
        !old_session.get("/").await.body.contains("Signed in as"),
        "older sessions end"
    );
    assert_eq!(browser.get(&path).await.status, 410, "the link works once");
    let (_, page) = password_step(&app, "acme", "ria@acme.example", "Green-Valley-77").await;
    assert_eq!(page.location.as_deref(), Some("/login/second-factor"));
    let (_, page) = password_step(&app, "acme", "ria@acme.example", PASSWORD).await;
    assert_eq!(page.status, 401, "the old password is gone");
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn contacts_may_skip_the_second_factor_only_when_the_tenant_says_so(
    #[case] backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let contact = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("cleo@customer.example").expect("email"),
            display_name: String::new(),
            role: Role::Contact,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("user");
    let token = people::issue_invitation(&db, contact.id)
        .await
        .expect("invitation");
    let mut browser = Browser::new(app.addr, "acme.localhost");
    let path = format!("/invite/{token}");
    let csrf = browser.get(&path).await.field("csrf").expect("csrf");
    let set = browser
        .post(
            &path,
            &[
                ("password", PASSWORD),
                ("password_again", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        set.location.as_deref(),
        Some("/enrol/totp"),
        "required by default"
    );

    let set_optional = |token: String, value: bool| {
        app.request(
            reqwest::Method::PUT,
            "acme.localhost",
            "/api/v1/settings/contacts-second-factor-optional",
        )
        .bearer_auth(token)
        .json(&serde_json::json!(value))
        .send()
    };
    let technician = app.token("acme", Role::Technician).await;
    assert_eq!(
        set_optional(technician, true).await.expect("sent").status(),
        403
    );
    let admin = app.token("acme", Role::MspAdmin).await;
    assert_eq!(
        set_optional(admin.clone(), true)
            .await
            .expect("sent")
            .status(),
        204
    );

    let (mut signed_in, page) =
        password_step(&app, "acme", "cleo@customer.example", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/"));
    assert!(
        signed_in
            .get("/")
            .await
            .body
            .contains("Signed in as cleo@customer.example")
    );
    // Staff are never relaxed.
    register(&app, "acme", "tech@acme.example").await;
    let staff = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("list");
    assert!(staff.iter().any(|u| u.email == "tech@acme.example"));
    let db_user = portico_tenants::accounts::login_by_email(&db, "tech@acme.example")
        .await
        .expect("lookup")
        .expect("tech");
    portico_tenants::accounts::reset_second_factor(&db, db_user.user_id, "test")
        .await
        .expect("reset");
    let (_, page) = password_step(&app, "acme", "tech@acme.example", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/enrol/totp"));
    assert_eq!(
        set_optional(admin, false).await.expect("sent").status(),
        204
    );
    let (_, page) = password_step(&app, "acme", "cleo@customer.example", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/enrol/totp"));
    let actions: Vec<String> = audit::recent(&db, 100)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "setting.changed").count(),
        2
    );
    app.stop().await;
}
