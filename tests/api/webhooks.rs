//! Webhooks end to end on both backends: endpoints created through the API, ticket
//! changes made through the API, and a real HTTP receiver on 127.0.0.1 that checks
//! every Standard Webhooks signature with its own HMAC-SHA256 (written here from
//! RFC 2104 over SHA-256, not the application's code). Retries, the delivery log,
//! 410 Gone, event-type filters, tenant isolation and the private-address refusal.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, Uri};
use portico_core::settings::Settings;
use portico_tenants::Role;
use portico_tests::{Backend, TestApp, TestEnv, eventually};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// HMAC-SHA256 (RFC 2104), independent of the application's implementation.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// A request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
}

impl Received {
    /// Whether the signature header holds a valid `v1` signature made with `secret`.
    fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .expect("base64 secret");
        let signed = format!("{}.{}.{}", self.id, self.timestamp, self.body);
        let expected = STANDARD.encode(hmac_sha256(&key, signed.as_bytes()));
        self.signature
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|candidate| candidate == expected)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Per path: statuses to answer next, then the default.
    scripts: Mutex<HashMap<String, VecDeque<u16>>>,
    defaults: Mutex<HashMap<String, u16>>,
}

/// A webhook receiver on 127.0.0.1; every path is an endpoint of its own.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let path = uri.path().to_owned();
    state.received.lock().expect("lock").push(Received {
        path: path.clone(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body,
    });
    let scripted = state
        .scripts
        .lock()
        .expect("lock")
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let status = scripted
        .or_else(|| state.defaults.lock().expect("lock").get(&path).copied())
        .unwrap_or(200);
    StatusCode::from_u16(status).expect("status")
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests to `path` with `statuses`, then the default.
    fn script(&self, path: &str, statuses: &[u16]) {
        self.state
            .scripts
            .lock()
            .expect("lock")
            .insert(path.to_owned(), statuses.iter().copied().collect());
    }

    /// Answers every request to `path` with `status` (after any script).
    fn always(&self, path: &str, status: u16) {
        self.state
            .defaults
            .lock()
            .expect("lock")
            .insert(path.to_owned(), status);
    }

    fn received(&self, path: &str) -> Vec<Received> {
        self.state
            .received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// Settings for webhook tests: the receiver is on loopback, and retries come fast.
fn settings(env: &TestEnv) -> Settings {
    Settings {
        outbound_allow_private: true,
        webhook_retry_schedule: "50ms,50ms".to_owned(),
        webhook_timeout_seconds: 5,
        ..env.settings()
    }
}

struct Tenant<'a> {
    app: &'a TestApp,
    host: String,
    token: String,
}

impl<'a> Tenant<'a> {
    async fn new(app: &'a TestApp, slug: &str) -> Tenant<'a> {
        app.create_tenant(slug, &format!("{slug} IT")).await;
        Tenant {
            app,
            host: TestApp::host(slug),
            token: app.token(slug, Role::MspAdmin).await,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.app
            .api(&self.host, method, &self.token, path, body)
            .await
    }

    /// Creates an endpoint; returns (id, secret).
    async fn subscribe(&self, url: &str, event_types: &[&str]) -> (i64, String) {
        let (status, created) = self
            .call(
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({ "url": url, "description": "test", "event_types": event_types })),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        (
            created["id"].as_i64().expect("id"),
            created["secret"].as_str().expect("secret").to_owned(),
        )
    }

    async fn create_ticket(&self, subject: &str) -> i64 {
        let (status, ticket) = self
            .call(
                Method::POST,
                "/api/v1/tickets",
                Some(json!({ "subject": subject, "requester_email": "pat@customer.example" })),
            )
            .await;
        assert_eq!(status, 201, "{ticket}");
        ticket["number"].as_i64().expect("number")
    }

    async fn deliveries(&self, endpoint: i64) -> Vec<Value> {
        let (status, page) = self
            .call(
                Method::GET,
                &format!("/api/v1/webhooks/{endpoint}/deliveries"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        page["deliveries"].as_array().expect("deliveries").clone()
    }

    /// Waits until the endpoint's log holds `count` deliveries, none pending.
    async fn settled(&self, endpoint: i64, count: usize) -> Vec<Value> {
        eventually(
            Duration::from_secs(20),
            "the deliveries to settle",
            || async {
                let log = self.deliveries(endpoint).await;
                (log.len() == count && log.iter().all(|d| d["state"] != "pending")).then_some(log)
            },
        )
        .await
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn ticket_changes_reach_subscribed_endpoints_signed_once_per_event(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn_with(settings(&env), Default::default()).await;
    let receiver = Receiver::start().await;
    let acme = Tenant::new(&app, "acme").await;
    let (all, secret) = acme.subscribe(&receiver.url("/all"), &["ticket.*"]).await;
    let (changes, changes_secret) = acme
        .subscribe(&receiver.url("/changes"), &["ticket.status_changed"])
        .await;
    let (users, _) = acme.subscribe(&receiver.url("/users"), &["domain.*"]).await;
    let (status, shown) = acme
        .call(Method::GET, &format!("/api/v1/webhooks/{all}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    assert_eq!(shown["event_types"], json!(["ticket.*"]));

    let number = acme.create_ticket("Printer on fire").await;
    let (status, _) = acme
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{number}/status"),
            Some(json!({ "status": "open" })),
        )
        .await;
    assert_eq!(status, 200);

    let log = acme.settled(all, 2).await;
    assert!(
        log.iter()
            .all(|d| d["state"] == "succeeded" && d["attempts"] == 1)
    );
    let received = receiver.received("/all");
    assert_eq!(received.len(), 2, "one request per event");
    let mut types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().expect("type").to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["ticket.created", "ticket.status_changed"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    for request in &received {
        assert!(request.signed_with(&secret), "valid signature: {request:?}");
        assert!(
            !request.signed_with(&changes_secret),
            "another endpoint's secret does not verify"
        );
        assert!(request.id.starts_with("msg_"), "{request:?}");
        let timestamp: i64 = request.timestamp.parse().expect("seconds");
        assert!((now - timestamp).abs() < 300, "{timestamp}");
        assert_eq!(request.content_type, "application/json");
        let body = request.json();
        assert_eq!(body["data"]["number"], number);
        assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(
            log.iter().any(|d| d["message_id"] == request.id.as_str()),
            "the webhook-id is the logged message id"
        );
    }

    let change_log = acme.settled(changes, 1).await;
    assert_eq!(change_log[0]["event_type"], "ticket.status_changed");
    let changed = receiver.received("/changes");
    assert_eq!(changed.len(), 1, "only the subscribed type");
    assert!(changed[0].signed_with(&changes_secret));
    assert_eq!(changed[0].json()["data"]["to"], "open");

    assert!(acme.deliveries(users).await.is_empty(), "not subscribed");
    assert!(receiver.received("/users").is_empty());

    let (status, _) = acme
        .call(Method::DELETE, &format!("/api/v1/webhooks/{users}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = acme
        .call(Method::GET, &format!("/api/v1/webhooks/{users}"), None)
        .await;
    assert_eq!(status, 404);
    let audit = portico_tenants::audit::recent(&app.tenant("acme").await, 50)
        .await
        .expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "webhook.created")
            .count(),
        3
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "webhook.deleted" && e.target == format!("webhook:{users}"))
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn failing_receivers_are_retried_on_the_schedule_and_every_attempt_is_logged(
    #[case] backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn_with(settings(&env), Default::default()).await;
    let receiver = Receiver::start().await;
    let acme = Tenant::new(&app, "acme").await;
    receiver.script("/flaky", &[500]);
    receiver.always("/down", 503);
    let (flaky, secret) = acme
        .subscribe(&receiver.url("/flaky"), &["ticket.created"])
        .await;
    let (down, _) = acme
        .subscribe(&receiver.url("/down"), &["ticket.created"])
        .await;

    acme.create_ticket("Mail is slow").await;

    let log = acme.settled(flaky, 1).await;
    let delivery = &log[0];
    assert_eq!(delivery["state"], "succeeded");
    assert_eq!(delivery["attempts"], 2);
    let statuses: Vec<&Value> = delivery["attempt_log"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(200)]);
    assert_eq!(delivery["attempt_log"][0]["error"], "status 500");
    let received = receiver.received("/flaky");
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].id, received[1].id,
        "retries keep the webhook-id"
    );
    assert_eq!(received[0].body, received[1].body, "and the body");
    assert!(received.iter().all(|r| r.signed_with(&secret)));

    // The schedule has two retries: three attempts, then the delivery fails.
    let log = acme.settled(down, 1).await;
    assert_eq!(log[0]["state"], "failed");
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["last_status_code"], 503);
    assert_eq!(receiver.received("/down").len(), 3);

    // Sent again by hand: one more attempt, logged.
    receiver.always("/down", 204);
    let delivery_id = log[0]["id"].as_i64().expect("id");
    let (status, retried) = acme
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{down}/deliveries/{delivery_id}/retry"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{retried}");
    let log = eventually(Duration::from_secs(20), "the manual retry", || async {
        let log = acme.deliveries(down).await;
        (log[0]["state"] == "succeeded").then_some(log)
    })
    .await;
    assert_eq!(log[0]["attempts"], 4);
    assert_eq!(log[0]["attempt_log"].as_array().map(Vec::len), Some(4));
    assert_eq!(receiver.received("/down").len(), 4);
    let (status, _) = acme
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{flaky}/deliveries/{delivery_id}/retry"),
            None,
        )
        .await;
    assert_eq!(status, 404, "a delivery of another endpoint");
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_receiver_answering_410_gone_disables_its_endpoint(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn_with(settings(&env), Default::default()).await;
    let receiver = Receiver::start().await;
    let acme = Tenant::new(&app, "acme").await;
    receiver.script("/gone", &[410]);
    let (gone, _) = acme
        .subscribe(&receiver.url("/gone"), &["ticket.created"])
        .await;

    acme.create_ticket("Old integration").await;
    let log = acme.settled(gone, 1).await;
    assert_eq!(log[0]["state"], "failed");
    assert_eq!(log[0]["attempts"], 1, "410 is not retried");
    let (_, endpoint) = acme
        .call(Method::GET, &format!("/api/v1/webhooks/{gone}"), None)
        .await;
    assert_eq!(endpoint["enabled"], false);
    assert_eq!(endpoint["disabled_reason"], "gone");

    // Disabled: later events are not queued for it.
    acme.create_ticket("Another").await;
    let (other, _) = acme
        .subscribe(&receiver.url("/other"), &["ticket.created"])
        .await;
    acme.create_ticket("A third").await;
    acme.settled(other, 1).await;
    assert_eq!(acme.deliveries(gone).await.len(), 1);
    assert_eq!(receiver.received("/gone").len(), 1);

    // Enabled again by the admin, it receives new events.
    let (status, enabled) = acme
        .call(
            Method::POST,
            &format!("/api/v1/webhooks/{gone}/enable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(enabled["enabled"], true);
    assert!(enabled["disabled_reason"].is_null());
    acme.create_ticket("Back").await;
    acme.settled(gone, 2).await;
    assert_eq!(receiver.received("/gone").len(), 2);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_tenants_endpoints_never_see_another_tenants_events(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn_with(settings(&env), Default::default()).await;
    let receiver = Receiver::start().await;
    let acme = Tenant::new(&app, "acme").await;
    let beta = Tenant::new(&app, "beta").await;
    let (acme_hook, acme_secret) = acme.subscribe(&receiver.url("/acme"), &["ticket.*"]).await;
    let (beta_hook, beta_secret) = beta.subscribe(&receiver.url("/beta"), &["*"]).await;

    acme.create_ticket("Acme only").await;
    acme.settled(acme_hook, 1).await;
    assert!(beta.deliveries(beta_hook).await.is_empty());
    assert!(receiver.received("/beta").is_empty());

    // Beta's endpoint takes every event: its requester's user.created and the ticket.
    beta.create_ticket("Beta only").await;
    beta.settled(beta_hook, 2).await;
    let to_acme = receiver.received("/acme");
    let to_beta = receiver.received("/beta");
    assert_eq!((to_acme.len(), to_beta.len()), (1, 2));
    assert_eq!(to_acme[0].json()["data"]["subject"], "Acme only");
    assert!(to_acme[0].signed_with(&acme_secret) && !to_acme[0].signed_with(&beta_secret));
    for request in &to_beta {
        assert!(request.signed_with(&beta_secret));
        assert!(!request.body.contains("Acme only"), "{}", request.body);
    }
    assert!(
        to_beta
            .iter()
            .any(|r| r.json()["data"]["subject"] == "Beta only")
    );

    // Each tenant lists its own endpoints only.
    let (status, listed) = beta.call(Method::GET, "/api/v1/webhooks", None).await;
    assert_eq!(status, 200);
    let listed = listed.as_array().expect("list").clone();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/beta"))
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn private_and_plain_http_urls_are_refused_where_private_addresses_are_not_allowed(
    #[case] backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    assert!(!app.state.settings.outbound_allow_private);
    let acme = Tenant::new(&app, "acme").await;
    for url in [
        "https://127.0.0.1:9000/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://hooks.example.com/in",
        "https://user:secret@hooks.example.com/in",
    ] {
        let (status, answer) = acme
            .call(
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({ "url": url })),
            )
            .await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert_eq!(answer["error"]["field"], "url", "{url}");
    }
    let (status, answer) = acme
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "https://hooks.example.com/in", "event_types": ["Not A Type"] })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(answer["error"]["field"], "event_types");
    let (status, created) = acme
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "https://hooks.example.com/in" })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        created["event_types"],
        json!(["*"]),
        "everything by default"
    );
    assert!(
        created["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    app.stop().await;
}
