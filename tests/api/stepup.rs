//! SMS step-up end to end, with a Twilio-compatible gateway served by the test: the
//! first time a number is entered and confirmed, later codes go to it, a confirmed
//! step-up is good for one action, resend limits hold, the MSP can reset the number.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use http::HeaderMap;
use portico_tests::{Backend, TestEnv};
use rstest::rstest;

type Outbox = Arc<Mutex<Vec<(String, std::collections::HashMap<String, String>)>>>;

/// A gateway speaking Twilio's Messages API, recording what it is asked to send.
async fn gateway() -> (String, Outbox) {
    let outbox: Outbox = Arc::default();
    async fn messages(
        State(outbox): State<Outbox>,
        headers: HeaderMap,
        Form(form): Form<std::collections::HashMap<String, String>>,
    ) -> (http::StatusCode, &'static str) {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        outbox.lock().expect("lock").push((auth, form));
        (
            http::StatusCode::CREATED,
            "{\"sid\":\"SM1\",\"status\":\"queued\"}",
        )
    }
    let app = Router::new()
        .route("/2010-04-01/Accounts/AC123/Messages.json", post(messages))
        .with_state(outbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, outbox)
}

fn last_code(outbox: &Outbox) -> (String, String) {
    let sent = outbox.lock().expect("lock");
    let (_, form) = sent.last().expect("a message");
    let code = form["Body"]
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_digit()))
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .expect("code")
        .to_owned();
    (form["To"].clone(), code)
}

#[rstest]
#[case::sqlite(Backend::Sqlite, false)]
#[case::postgres(Backend::Postgres, false)]
#[case::postgres_sessions_in_redis(Backend::Postgres, true)]
#[tokio::test]
async fn a_sensitive_action_needs_a_fresh_sms_code(#[case] backend: Backend, #[case] redis: bool) {
    let (gateway_url, outbox) = gateway().await;
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    if redis {
        settings.redis_url = Some("redis://127.0.0.1:6379".to_owned().into());
    }
    settings.sms_provider = "twilio".into();
    settings.sms_base_url = gateway_url;
    settings.sms_account_sid = Some("AC123".into());
    settings.sms_auth_token = Some("gateway-secret".to_owned().into());
    settings.sms_from = "+15550001111".into();
    settings.outbound_allow_private = true;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let (mut browser, _, _) =
        crate::identity::register_for_tests(&app, "acme", "sam@acme.example").await;

    let page = browser.get("/account/step-up?next=/account/sessions").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("name=\"phone\""),
        "first time: the number is asked for"
    );
    let csrf = page.field("csrf").expect("csrf");
    let bad = browser
        .post(
            "/account/step-up/send",
            &[
                ("csrf", &csrf),
                ("phone", "12345"),
                ("next", "/account/sessions"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    let sent = browser
        .post(
            "/account/step-up/send",
            &[
                ("csrf", &csrf),
                ("phone", "+39 333 123 4567"),
                ("next", "/account/sessions"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let (to, code) = last_code(&outbox);
    assert_eq!(to, "+393331234567");
    {
        let sent = outbox.lock().expect("lock");
        let (auth, form) = sent.last().expect("message");
        assert!(auth.starts_with("Basic "), "{auth}");
        assert_eq!(form["From"], "+15550001111");
        assert!(form["Body"].contains("Acme IT"));
    }
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        browser
            .post(
                "/account/step-up/verify",
                &[
                    ("csrf", &csrf),
                    ("code", wrong),
                    ("next", "/account/sessions")
                ]
            )
            .await
            .status,
        401
    );
    let before = browser.cookies.clone();
    let done = browser
        .post(
            "/account/step-up/verify",
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/"), "only local redirects");
    assert_ne!(browser.cookies, before, "a new session id at step-up");
    // The code works once.
    let home = browser.get("/").await;
    let csrf = home.field("csrf").expect("csrf");
    assert_eq!(
        browser
            .post(
                "/account/step-up/verify",
                &[("csrf", &csrf), ("code", &code), ("next", "/")]
            )
            .await
            .status,
        401
    );

    // The confirmed step-up is good for exactly one sensitive action.
    let db = app.tenant("acme").await;
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        format!("portico_session={}", browser.cookies["portico_session"])
            .parse()
            .expect("header"),
    );
    let current = portico_core::identity::session::load(&app.state, &db, &headers)
        .await
        .expect("load")
        .expect("session");
    assert!(
        portico_core::identity::stepup::consume(&app.state, &db, &current)
            .await
            .expect("consume")
    );
    assert!(
        !portico_core::identity::stepup::consume(&app.state, &db, &current)
            .await
            .expect("consume")
    );

    // Next time the saved number is used, and the form does not ask for one.
    let page = browser.get("/account/step-up").await;
    assert!(!page.body.contains("name=\"phone\""));
    assert!(page.body.contains("567"));
    let csrf = page.field("csrf").expect("csrf");
    assert_eq!(
        browser
            .post(
                "/account/step-up/send",
                &[("csrf", &csrf), ("phone", "+1 555 999 0000")]
            )
            .await
            .status,
        200
    );
    assert_eq!(
        last_code(&outbox).0,
        "+393331234567",
        "a typed number cannot replace the verified one"
    );

    // Resend limits: five codes per person per window.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            browser
                .post("/account/step-up/send", &[("csrf", &csrf)])
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429], "{statuses:?}");

    // The MSP resets the number; the next step-up asks for one again.
    let admin = app.token("acme", portico_tenants::Role::MspAdmin).await;
    let user_id = current.user.user_id;
    let removed = app
        .request(
            reqwest::Method::POST,
            "acme.localhost",
            &format!("/api/v1/users/{user_id}/remove-phone"),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent");
    assert_eq!(removed.status(), 204);
    assert!(
        browser
            .get("/account/step-up")
            .await
            .body
            .contains("name=\"phone\"")
    );
    let actions: Vec<String> = portico_tenants::audit::recent(&db, 100)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "auth.phone.verified",
        "auth.step_up.failed",
        "auth.phone.removed",
        "auth.step_up.code_sent",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn text_messages_can_be_the_second_factor(#[case] backend: Backend) {
    use portico_tenants::ids::EmailAddress;
    use portico_tenants::people::{self, NewUser};
    use portico_tests::browser::Browser;
    let (gateway_url, outbox) = gateway().await;
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.sms_provider = "twilio".into();
    settings.sms_base_url = gateway_url;
    settings.sms_account_sid = Some("AC123".into());
    settings.sms_auth_token = Some("gateway-secret".to_owned().into());
    settings.outbound_allow_private = true;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let user = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("sms@acme.example").expect("email"),
            display_name: String::new(),
            role: portico_tenants::Role::Technician,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("user");
    let token = people::issue_invitation(&db, user.id)
        .await
        .expect("invitation");
    let mut browser = Browser::new(app.addr, "acme.localhost");
    let path = format!("/invite/{token}");
    let csrf = browser.get(&path).await.field("csrf").expect("csrf");
    let password = "Quiet-Forest-19";
    let set = browser
        .post(
            &path,
            &[
                ("password", password),
                ("password_again", password),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(set.location.as_deref(), Some("/enrol/totp"));
    let enrol = browser.get("/enrol/totp").await;
    let csrf = enrol.field("csrf").expect("csrf");
    let sent = browser
        .post(
            "/enrol/sms/send",
            &[("csrf", &csrf), ("phone", "+49 170 1234567")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let (to, code) = last_code(&outbox);
    assert_eq!(to, "+491701234567");
    let done = browser
        .post("/enrol/sms/verify", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        browser
            .get("/")
            .await
            .body
            .contains("Signed in as sms@acme.example")
    );

    // Signing in again needs a fresh code by text message.
    let mut again = Browser::new(app.addr, "acme.localhost");
    let csrf = again.get("/login").await.field("csrf").expect("csrf");
    let page = again
        .post(
            "/login",
            &[
                ("email", "sms@acme.example"),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/login/second-factor"));
    let challenge = again.get("/login/second-factor").await;
    assert!(
        challenge.body.contains("/login/second-factor/send"),
        "{}",
        challenge.body
    );
    let csrf = challenge.field("csrf").expect("csrf");
    assert_eq!(
        again
            .post("/login/second-factor/send", &[("csrf", &csrf)])
            .await
            .status,
        200
    );
    let (to, code) = last_code(&outbox);
    assert_eq!(to, "+491701234567");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        again
            .post(
                "/login/second-factor/sms",
                &[("csrf", &csrf), ("code", wrong)]
            )
            .await
            .status,
        401
    );
    assert!(!again.get("/").await.body.contains("Signed in as"));
    let ok = again
        .post(
            "/login/second-factor/sms",
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(ok.status, 303);
    assert!(
        again
            .get("/")
            .await
            .body
            .contains("Signed in as sms@acme.example")
    );
    app.stop().await;
}
