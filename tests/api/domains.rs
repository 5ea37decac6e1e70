//! Custom domains with automatic TLS against a real ACME server (Pebble) and its
//! DNS (pebble-challtestsrv), on both backends: records shown → set in DNS →
//! verified → certificate issued → HTTPS with that SNI reaches the right tenant; a
//! second domain while serving; unverified names refused in the handshake; the
//! platform's wildcard; records gone → grace → disabled; renewal without a restart
//! and two instances on one PostgreSQL serving the new certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_tenants::Role;
use portico_tests::{Backend, Pebble, PebbleOptions, TestEnv, eventually};
use rstest::rstest;

/// A client for `host` pinned to `addr`, trusting only `root_pem`.
fn https_client(host: &str, addr: SocketAddr, root_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(host, addr)
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(root_pem.as_bytes()).expect("root"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The leaf certificate `addr` presents for `host` (DER), or the handshake's error.
async fn served_leaf(addr: SocketAddr, host: &str, root_pem: &str) -> Result<Vec<u8>, String> {
    handshake(addr, host, root_pem).await.map(|(leaf, _)| leaf)
}

/// A handshake offering h2 and http/1.1: the leaf presented and the protocol chosen.
async fn handshake(
    addr: SocketAddr,
    host: &str,
    root_pem: &str,
) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem.as_bytes()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name =
        rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, connection) = stream.get_ref();
    let leaf = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| leaf.to_vec())
        .ok_or_else(|| "no certificate".to_owned())?;
    Ok((leaf, connection.alpn_protocol().map(<[u8]>::to_vec)))
}

/// A self-signed wildcard certificate for the platform's own names.
fn wildcard_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec![BASE.to_owned(), format!("*.{BASE}")]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Portico test wildcard");
    let cert = params.self_signed(&key).expect("cert");
    let cert_file = dir.join("wildcard.pem");
    let key_file = dir.join("wildcard.key");
    std::fs::write(&cert_file, cert.pem()).expect("write");
    std::fs::write(&key_file, key.serialize_pem()).expect("write");
    (cert_file, key_file, cert.pem())
}

/// The first mail in the development sink to `to` containing `marker`.
async fn mail_to(env: &TestEnv, to: &str, marker: &str) -> String {
    eventually(Duration::from_secs(10), "a mail", || async {
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

/// The platform's base domain in these tests: two labels, since a wildcard
/// certificate for `*.localhost` (a single label) is refused by certificate checks.
const BASE: &str = "portico.test";
const ACME_HOST: &str = "acme.portico.test";
const OTHER_HOST: &str = "other.portico.test";

/// The tenant API over HTTPS (the plain listener only redirects once TLS is on),
/// trusting the platform's wildcard certificate.
#[derive(Clone)]
struct Api {
    tls: SocketAddr,
    wildcard_pem: String,
}

impl Api {
    fn request(&self, method: reqwest::Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        https_client(host, self.tls, &self.wildcard_pem)
            .request(method, format!("https://{host}:{}{path}", self.tls.port()))
    }
}

fn settings_for(env: &TestEnv, pebble: &Pebble) -> portico_core::settings::Settings {
    let mut settings = env.settings();
    settings.base_domain = BASE.to_owned();
    settings.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
    settings.acme_directory = pebble.directory.clone();
    settings.acme_ca_file = Some(pebble.api_ca_file.clone());
    settings.acme_contact = Some("ops@msp.example".to_owned());
    settings.dns_server = Some(pebble.dns);
    settings.domain_sweep_ms = 100;
    settings.domain_check_seconds = 1;
    settings.acme_retry_seconds = 1;
    settings
}

async fn domain(app: &Api, token: &str, host: &str) -> serde_json::Value {
    app.request(
        reqwest::Method::GET,
        ACME_HOST,
        &format!("/api/v1/domains/{host}"),
    )
    .bearer_auth(token)
    .send()
    .await
    .expect("sent")
    .json()
    .await
    .expect("json")
}

/// Adds `host` through the API and publishes the records it asks for.
async fn add_and_publish(app: &Api, pebble: &Pebble, token: &str, host: &str) -> serde_json::Value {
    let created = app
        .request(reqwest::Method::POST, ACME_HOST, "/api/v1/domains")
        .bearer_auth(token)
        .json(&serde_json::json!({ "host": host }))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = created.json().await.expect("json");
    assert_eq!(body["status"], "pending");
    let records = body["records"].as_array().expect("records");
    assert_eq!(records[0]["type"], "CNAME");
    assert_eq!(records[0]["name"], host);
    assert_eq!(records[0]["value"], "edge.portico.test");
    assert_eq!(records[1]["type"], "TXT");
    assert_eq!(records[1]["name"], format!("_portico-challenge.{host}"));
    let token_value = records[1]["value"].as_str().expect("token").to_owned();
    pebble.set_cname(host, "edge.portico.test").await;
    pebble
        .set_txt(&format!("_portico-challenge.{host}"), &token_value)
        .await;
    body
}

/// Waits until `host` is verified and has a certificate; returns the view.
async fn certified(app: &Api, token: &str, host: &str) -> serde_json::Value {
    eventually(Duration::from_secs(60), "a certificate", || async {
        let view = domain(app, token, host).await;
        (view["status"] == "verified" && view["certificate"].is_object()).then_some(view)
    })
    .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn custom_domains_are_verified_certified_and_served(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let pebble = Pebble::start(PebbleOptions {
        http_port: listener.local_addr().expect("addr").port(),
        validity_seconds: None,
        nonce_reject_percent: 0,
    })
    .await;
    let mut settings = settings_for(&env, &pebble);
    settings.domain_grace_seconds = 2;
    // Verified domains are re-checked daily by default; here every second.
    settings.domain_recheck_seconds = 1;
    let (cert_file, key_file, wildcard_pem) = wildcard_files(pebble.dir());
    settings.tls_cert_file = Some(cert_file);
    settings.tls_key_file = Some(key_file);
    let app = env.spawn_on(listener, settings, Default::default()).await;
    let tls = app.tls_addr.expect("https listener");
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("other", "Other MSP").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    // An MSP admin who is told by e-mail when a domain changes state.
    portico_tenants::people::create_user(
        &app.tenant("acme").await,
        portico_tenants::people::NewUser {
            email: portico_tenants::ids::EmailAddress::parse("boss@acme.example").expect("email"),
            display_name: String::new(),
            role: Role::MspAdmin,
            invite: false,
            organization_id: None,
        },
    )
    .await
    .expect("admin");
    let root = pebble.issuing_root().await;

    // The platform's own names use the operator's wildcard certificate.
    let own = https_client(ACME_HOST, tls, &wildcard_pem)
        .get(format!("https://{ACME_HOST}:{}/", tls.port()))
        .send()
        .await
        .expect("wildcard served");
    assert_eq!(own.status(), 200);
    assert!(own.text().await.expect("body").contains("Acme IT"));
    let (_, alpn) = handshake(tls, ACME_HOST, &wildcard_pem)
        .await
        .expect("handshake");
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN prefers h2");
    // The operator replaces the wildcard files: served without a restart.
    let first_wildcard = served_leaf(tls, ACME_HOST, &wildcard_pem)
        .await
        .expect("served");
    std::thread::sleep(Duration::from_millis(1100)); // a newer modification time
    let (_, _, renewed_wildcard) = wildcard_files(pebble.dir());
    eventually(
        Duration::from_secs(10),
        "the new wildcard served",
        || async {
            served_leaf(tls, ACME_HOST, &renewed_wildcard)
                .await
                .ok()
                .filter(|leaf| *leaf != first_wildcard)
        },
    )
    .await;
    let wildcard_pem = renewed_wildcard;

    let api = Api {
        tls,
        wildcard_pem: wildcard_pem.clone(),
    };
    // Names under the platform's domain cannot be claimed.
    let refused = api
        .request(reqwest::Method::POST, ACME_HOST, "/api/v1/domains")
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "host": "evil.portico.test" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 422);

    // Added, not yet verified: refused in the handshake, before any order.
    let host = "help.customer.example";
    let created = api
        .request(reqwest::Method::POST, ACME_HOST, "/api/v1/domains")
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "host": host }))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let view: serde_json::Value = created.json().await.expect("json");
    assert!(served_leaf(tls, host, &root).await.is_err());
    // The check tells the admin what is missing, in words.
    let checked: serde_json::Value = api
        .request(
            reqwest::Method::POST,
            ACME_HOST,
            &format!("/api/v1/domains/{host}/check"),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(checked["status"], "pending");
    let problems = checked["check_result"]["problems"].to_string();
    assert!(problems.contains("No TXT record found"), "{problems}");
    // Another tenant cannot see or take it.
    let other = app.token("other", Role::MspAdmin).await;
    let stolen = api
        .request(reqwest::Method::POST, OTHER_HOST, "/api/v1/domains")
        .bearer_auth(&other)
        .json(&serde_json::json!({ "host": host }))
        .send()
        .await
        .expect("sent");
    assert_eq!(stolen.status(), 409);
    let peek = api
        .request(
            reqwest::Method::GET,
            OTHER_HOST,
            &format!("/api/v1/domains/{host}"),
        )
        .bearer_auth(&other)
        .send()
        .await
        .expect("sent");
    assert_eq!(peek.status(), 404);

    // The MSP creates the records: verified, then a certificate, then served.
    let token_value = view["records"][1]["value"]
        .as_str()
        .expect("token")
        .to_owned();
    pebble.set_cname(host, "edge.portico.test").await;
    pebble
        .set_txt(&format!("_portico-challenge.{host}"), &token_value)
        .await;
    let started = Instant::now();
    let done = certified(&api, &admin, host).await;
    let issuer = done["certificate"]["issuer"].as_str().expect("issuer");
    assert!(issuer.contains("Pebble"), "{issuer}");
    assert!(
        done["certificate"]["not_after"].as_i64().expect("expiry")
            > done["verified_at"].as_i64().expect("verified")
    );
    eventually(
        Duration::from_secs(10),
        "the certificate served",
        || async { served_leaf(tls, host, &root).await.ok() },
    )
    .await;
    eprintln!(
        "figure: verification to a served certificate against Pebble: {} ms (check to served: {} ms)",
        done["certificate"]["issued_at"].as_i64().unwrap_or(0)
            - done["verified_at"].as_i64().unwrap_or(0),
        started.elapsed().as_millis()
    );
    let portal = https_client(host, tls, &root)
        .get(format!("https://{host}:{}/", tls.port()))
        .send()
        .await
        .expect("served over https");
    assert_eq!(portal.status(), 200);
    assert!(
        portal.text().await.expect("body").contains("Acme IT"),
        "the right tenant"
    );
    // Plain HTTP redirects to HTTPS.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{}/tickets?x=1", app.addr))
        .header("Host", host)
        .send()
        .await
        .expect("sent");
    assert_eq!(plain.status(), 308);
    assert_eq!(
        plain.headers()["location"],
        format!("https://{host}:{}/tickets?x=1", tls.port()).as_str()
    );

    // A second domain while serving; the first keeps working.
    let second = "support.customer.example";
    add_and_publish(&api, &pebble, &admin, second).await;
    certified(&api, &admin, second).await;
    eventually(
        Duration::from_secs(10),
        "the second certificate served",
        || async { served_leaf(tls, second, &root).await.ok() },
    )
    .await;
    assert!(served_leaf(tls, host, &root).await.is_ok());
    // Unknown names are refused in the handshake.
    let unknown = served_leaf(tls, "unknown.example", &root).await;
    assert!(unknown.is_err(), "{unknown:?}");

    // The second domain's records disappear: grace period, then disabled.
    pebble.clear_cname(second).await;
    eventually(Duration::from_secs(15), "the grace period", || async {
        (domain(&api, &admin, second).await["status"] == "grace").then_some(())
    })
    .await;
    assert!(
        served_leaf(tls, second, &root).await.is_ok(),
        "served during grace"
    );
    // The MSP admin is told, with what the check found.
    let notice = mail_to(&env, "boss@acme.example", "grace period").await;
    assert!(notice.contains("support.customer.example"), "{notice}");
    assert!(notice.contains("No CNAME record found"), "{notice}");
    eventually(Duration::from_secs(20), "the domain disabled", || async {
        (domain(&api, &admin, second).await["status"] == "disabled").then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), "no longer served", || async {
        served_leaf(tls, second, &root).await.is_err().then_some(())
    })
    .await;
    assert!(
        !matches!(
            app.state.hosts.resolve(second),
            portico_tenants::routing::HostMatch::Tenant(_)
        ),
        "a disabled domain is not routed"
    );

    // Removing the first one stops it at once.
    let removed = api
        .request(
            reqwest::Method::DELETE,
            ACME_HOST,
            &format!("/api/v1/domains/{host}"),
        )
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent");
    assert_eq!(removed.status(), 204);
    eventually(
        Duration::from_secs(10),
        "the removed domain refused",
        || async { served_leaf(tls, host, &root).await.is_err().then_some(()) },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn certificates_renew_without_a_restart_and_reach_a_second_instance() {
    let env = TestEnv::new(Backend::Postgres).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    // Pebble's default 5 % bad-nonce rejection stays on: the client must retry.
    let pebble = Pebble::start(PebbleOptions {
        http_port: listener.local_addr().expect("addr").port(),
        validity_seconds: Some(24),
        nonce_reject_percent: 5,
    })
    .await;
    let (cert_file, key_file, wildcard_pem) = wildcard_files(pebble.dir());
    let mut settings = settings_for(&env, &pebble);
    settings.tls_cert_file = Some(cert_file);
    settings.tls_key_file = Some(key_file);
    let first = env
        .spawn_on(listener, settings.clone(), Default::default())
        .await;
    let second = env.spawn_with(settings, Default::default()).await;
    let api = Api {
        tls: first.tls_addr.expect("tls"),
        wildcard_pem,
    };
    first.create_tenant("acme", "Acme IT").await;
    let admin = first.token("acme", Role::MspAdmin).await;
    let root = pebble.issuing_root().await;
    let host = "help.renewing.example";
    add_and_publish(&api, &pebble, &admin, host).await;
    certified(&api, &admin, host).await;
    let (tls_one, tls_two) = (first.tls_addr.expect("tls"), second.tls_addr.expect("tls"));
    let issued = eventually(Duration::from_secs(10), "served by the first", || async {
        served_leaf(tls_one, host, &root).await.ok()
    })
    .await;
    eventually(Duration::from_secs(10), "served by the second", || async {
        (served_leaf(tls_two, host, &root).await.ok() == Some(issued.clone())).then_some(())
    })
    .await;
    // In the last third of its 24 s life it is renewed, and both serve the new one.
    let renewed = eventually(Duration::from_secs(40), "a renewed certificate", || async {
        served_leaf(tls_one, host, &root)
            .await
            .ok()
            .filter(|leaf| *leaf != issued)
    })
    .await;
    eventually(
        Duration::from_secs(10),
        "the second serves the renewal",
        || async {
            (served_leaf(tls_two, host, &root).await.ok() == Some(renewed.clone())).then_some(())
        },
    )
    .await;
    let portal = https_client(host, tls_two, &root)
        .get(format!("https://{host}:{}/", tls_two.port()))
        .send()
        .await
        .expect("served by the second instance");
    assert!(portal.text().await.expect("body").contains("Acme IT"));
    second.stop().await;
    first.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn failed_orders_back_off_and_the_back_off_survives_a_restart(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let pebble = Pebble::start(PebbleOptions {
        http_port: port,
        validity_seconds: None,
        nonce_reject_percent: 0,
    })
    .await;
    let (cert_file, key_file, wildcard_pem) = wildcard_files(pebble.dir());
    let mut settings = settings_for(&env, &pebble);
    settings.tls_cert_file = Some(cert_file);
    settings.tls_key_file = Some(key_file);
    settings.acme_retry_seconds = 4;
    let app = env
        .spawn_on(listener, settings.clone(), Default::default())
        .await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let api = Api {
        tls: app.tls_addr.expect("tls"),
        wildcard_pem: wildcard_pem.clone(),
    };
    // The CA is sent to an address where nothing answers: its validation fails.
    pebble.add_a("edge.portico.test", &["127.0.0.2"]).await;
    let host = "broken.customer.example";
    add_and_publish(&api, &pebble, &admin, host).await;
    let failed = eventually(Duration::from_secs(30), "a failed order", || async {
        let view = domain(&api, &admin, host).await;
        (view["certificate_failures"].as_i64() == Some(1)).then_some(view)
    })
    .await;
    assert!(failed["certificate"].is_null());
    let error = failed["certificate_error"]
        .as_str()
        .expect("error in words");
    assert!(error.starts_with("the certificate authority"), "{error}");
    let next_attempt = failed["certificate_next_attempt_at"]
        .as_i64()
        .expect("next attempt");
    assert!(next_attempt >= failed["checked_at"].as_i64().expect("checked") + 3_000);

    // A restart keeps the back-off: nothing is ordered before it ends.
    app.stop().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind the port Pebble validates on");
    let app = env.spawn_on(listener, settings, Default::default()).await;
    let api = Api {
        tls: app.tls_addr.expect("tls"),
        wildcard_pem,
    };
    let after = domain(&api, &admin, host).await;
    assert_eq!(
        after["certificate_next_attempt_at"].as_i64(),
        Some(next_attempt)
    );
    assert_eq!(after["certificate_failures"].as_i64(), Some(1));
    // The CA can reach the platform again: after the back-off, the order succeeds.
    pebble.clear_a("edge.portico.test").await;
    let done = certified(&api, &admin, host).await;
    assert_eq!(done["certificate_failures"].as_i64(), Some(0));
    assert!(done["certificate"]["issued_at"].as_i64().expect("issued") >= next_attempt);
    let root = pebble.issuing_root().await;
    let tls = app.tls_addr.expect("tls");
    let issued = eventually(Duration::from_secs(10), "served", || async {
        served_leaf(tls, host, &root).await.ok()
    })
    .await;
    // After a restart the stored certificate is served at once, without a new order.
    app.stop().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind");
    let mut settings = settings_for(&env, &pebble);
    settings.tls_cert_file = Some(pebble.dir().join("wildcard.pem"));
    settings.tls_key_file = Some(pebble.dir().join("wildcard.key"));
    let app = env.spawn_on(listener, settings, Default::default()).await;
    let served = served_leaf(app.tls_addr.expect("tls"), host, &root).await;
    assert_eq!(served.as_ref().ok(), Some(&issued), "{served:?}");
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_domain_nobody_verifies_within_a_week_frees_its_name(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("squatter", "Squatter").await;
    let db = app.tenant("squatter").await;
    let store = app.store();
    for host in ["held.customer.example", "proven.customer.example"] {
        portico_tenants::registry::add_domain(store, &db, host, "localhost")
            .await
            .expect("added");
    }
    portico_tenants::registry::set_domain_state(
        store,
        "proven.customer.example",
        portico_tenants::registry::DomainState::Verified,
    )
    .await
    .expect("verified");
    let week = 7 * 24 * 3600 * 1000;
    assert!(
        portico_tenants::domains::expire_pending(store, week)
            .await
            .expect("expire")
            .is_empty()
    );
    // With a cut-off after both were added: only the one never verified goes.
    let removed = portico_tenants::domains::expire_pending(store, -60_000)
        .await
        .expect("expire");
    assert_eq!(removed, vec!["held.customer.example".to_owned()]);
    assert!(
        portico_tenants::domains::get(store, "proven.customer.example")
            .await
            .expect("get")
            .is_some()
    );
    app.stop().await;
}
