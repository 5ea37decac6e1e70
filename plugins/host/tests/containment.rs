//! The host against real components built from `plugins/examples` by
//! `plugins/build.sh` (tests/run.sh runs it first): the auto-triage example, and
//! every hostile mode contained while other calls carry on.
//!
//! The application's services are an in-memory store here; the black-box tests in
//! `tests/api/plugins.rs` run the same plugins against Portico itself.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portico_plugins::bindings::base::portico::plugin::knowledge::ArticleHit;
use portico_plugins::bindings::{Effect, Ticket, TicketEvent};
use portico_plugins::package::{self, VerifiedBundle};
use portico_plugins::{
    CallContext, Capability, Grant, HostConfig, Invocation, PluginError, PluginHost, PluginServices,
};

#[derive(Default)]
struct Memory {
    kv: Mutex<HashMap<(String, String, String), Vec<u8>>>,
}

#[async_trait::async_trait]
impl PluginServices for Memory {
    async fn kv_get(&self, t: &str, p: &str, k: &str) -> Result<Option<Vec<u8>>, String> {
        let kv = self.kv.lock().expect("lock");
        Ok(kv.get(&(t.into(), p.into(), k.into())).cloned())
    }
    async fn kv_set(&self, t: &str, p: &str, k: &str, v: &[u8]) -> Result<(), String> {
        let mut kv = self.kv.lock().expect("lock");
        kv.insert((t.into(), p.into(), k.into()), v.to_vec());
        Ok(())
    }
    async fn kv_delete(&self, t: &str, p: &str, k: &str) -> Result<(), String> {
        let mut kv = self.kv.lock().expect("lock");
        kv.remove(&(t.into(), p.into(), k.into()));
        Ok(())
    }
    async fn ticket(&self, _: &str, number: i64) -> Result<Ticket, String> {
        Err(format!("no ticket #{number}"))
    }
    async fn kb_search(&self, _: &str, _: &str, _: u32) -> Result<Vec<ArticleHit>, String> {
        Ok(Vec::new())
    }
    async fn llm_complete(&self, _: &str, _: &str, _: u32) -> Result<String, String> {
        Err("no model".into())
    }
    async fn secret(&self, tenant: &str, _: &str, name: &str) -> Result<Option<String>, String> {
        Ok((tenant == "acme" && name == "TOKEN").then(|| "s3cret".to_owned()))
    }
}

fn components() -> PathBuf {
    let dir = std::env::var_os("PORTICO_PLUGIN_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"));
    assert!(
        dir.join("auto-triage/plugin.wasm").exists(),
        "the example components are missing from {}: run plugins/build.sh (tests/run.sh does)",
        dir.display()
    );
    dir
}

fn bundle(name: &str) -> (VerifiedBundle, Vec<u8>, String) {
    let dir = components().join(name);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).expect("manifest");
    let wasm = std::fs::read(dir.join("plugin.wasm")).expect("wasm");
    let (secret, public) = package::generate_key();
    let key = package::parse_secret_key(&secret).expect("key");
    let bytes = package::build(&manifest, &wasm, &key).expect("bundle");
    let trusted = [(
        "portico".to_owned(),
        package::parse_public_key(&public).expect("pk"),
    )]
    .into_iter()
    .collect();
    (
        package::open(&bytes, &trusted).expect("verified"),
        bytes,
        public,
    )
}

fn host(config: HostConfig) -> PluginHost {
    PluginHost::new(config, Arc::new(Memory::default())).expect("host")
}

fn event(number: i64, subject: &str) -> TicketEvent {
    TicketEvent {
        event_type: "ticket.created".into(),
        ticket: Ticket {
            number,
            subject: subject.into(),
            description: String::new(),
            status: "new".into(),
            priority: "medium".into(),
            ticket_type: None,
            organization_id: None,
            requester_email: Some("ada@example.com".into()),
            source: "api".into(),
            tags: Vec::new(),
        },
    }
}

fn invocation(
    host: &PluginHost,
    bundle: &VerifiedBundle,
    tenant: &str,
    capabilities: &[Capability],
    config: serde_json::Value,
) -> Invocation {
    let plugin = host.prepare(bundle).expect("admitted");
    let grant = Grant {
        capabilities: capabilities.iter().copied().collect(),
        hosts: Default::default(),
    };
    let grant = portico_plugins::manifest::effective(&bundle.manifest, &grant, host.policy());
    Invocation {
        plugin,
        call: CallContext {
            tenant: tenant.into(),
            plugin: bundle.manifest.id.clone(),
            version: bundle.manifest.version.to_string(),
            grant: Arc::new(grant),
            config: config.to_string().into(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_triage_proposes_priority_and_note() {
    let host = host(HostConfig::default());
    let (triage, _, _) = bundle("auto-triage");
    let call = invocation(
        &host,
        &triage,
        "acme",
        &[Capability::UpdateTickets, Capability::Kv],
        serde_json::json!({}),
    );
    host.on_install(&call).await.expect("install hook");
    let outcome = host
        .on_ticket_event(&call, &event(7, "I cannot log in since this morning"))
        .await
        .expect("triaged");
    assert!(outcome.denied.is_empty() && outcome.refused.is_empty());
    assert!(
        matches!(&outcome.value[0], Effect::SetPriority(p) if p == "high"),
        "{:?}",
        outcome.value
    );
    assert!(
        matches!(&outcome.value[1], Effect::AddNote(n) if n.contains("priority high") && n.contains("cannot log in")),
        "{:?}",
        outcome.value
    );
    // Configured rules set a type too.
    let call = invocation(
        &host,
        &triage,
        "acme",
        &[Capability::UpdateTickets, Capability::Kv],
        serde_json::json!({"rules": [{"words": ["printer"], "type": "hardware", "priority": "low"}]}),
    );
    let outcome = host
        .on_ticket_event(&call, &event(8, "The printer jams"))
        .await
        .expect("triaged");
    let names: Vec<_> = outcome
        .value
        .iter()
        .map(portico_plugins::runtime::effect_name)
        .collect();
    assert_eq!(names, ["set-priority", "set-type", "add-note"]);
    // Without update-tickets granted the proposals are refused, not applied.
    let call = invocation(
        &host,
        &triage,
        "acme",
        &[Capability::Kv],
        serde_json::json!({}),
    );
    let outcome = host
        .on_ticket_event(&call, &event(9, "outage: nobody can print"))
        .await
        .expect("ran");
    assert!(outcome.value.is_empty());
    assert_eq!(outcome.refused.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_mode_is_contained() {
    let host = Arc::new(host(HostConfig {
        breaker_threshold: 1_000,
        ..HostConfig::default()
    }));
    let (hostile, _, _) = bundle("hostile");
    let granted = [Capability::UpdateTickets];
    for (mode, expected) in [
        ("loop", PluginError::CpuLimit),
        ("memory", PluginError::MemoryLimit),
        ("recursion", PluginError::StackOverflow),
        ("huge-output", PluginError::OutputTooLarge),
    ] {
        let call = invocation(
            &host,
            &hostile,
            "acme",
            &granted,
            serde_json::json!({ "mode": mode }),
        );
        let started = Instant::now();
        let error = host
            .on_ticket_event(&call, &event(1, "x"))
            .await
            .expect_err(mode);
        assert_eq!(error, expected, "{mode}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{mode} took {:?}",
            started.elapsed()
        );
    }
    let call = invocation(
        &host,
        &hostile,
        "acme",
        &granted,
        serde_json::json!({ "mode": "panic" }),
    );
    let error = host
        .on_ticket_event(&call, &event(1, "x"))
        .await
        .expect_err("panic");
    assert!(matches!(error, PluginError::Trap(_)), "{error:?}");

    // Asking for capabilities it was not granted: refused at call time.
    let call = invocation(
        &host,
        &hostile,
        "acme",
        &granted,
        serde_json::json!({ "mode": "ungranted" }),
    );
    let outcome = host
        .on_ticket_event(&call, &event(2, "x"))
        .await
        .expect("ran");
    assert_eq!(outcome.denied, [Capability::Kv, Capability::Http]);
    assert_eq!(
        outcome.refused,
        [("open-ticket".to_owned(), Capability::CreateTickets)]
    );
    let Effect::AddNote(note) = &outcome.value[0] else {
        panic!("{:?}", outcome.value)
    };
    assert!(note.contains("capability kv was not granted"), "{note}");

    // While endless loops run, well-behaved calls carry on.
    let looping = invocation(
        &host,
        &hostile,
        "acme",
        &granted,
        serde_json::json!({ "mode": "loop" }),
    );
    let fine = invocation(
        &host,
        &hostile,
        "other",
        &granted,
        serde_json::json!({ "mode": "fine" }),
    );
    let loops: Vec<_> = (0..4)
        .map(|i| {
            let (host, looping) = (host.clone(), looping.clone());
            tokio::spawn(async move { host.on_ticket_event(&looping, &event(i, "x")).await })
        })
        .collect();
    for i in 0..20 {
        let outcome = host
            .on_ticket_event(&fine, &event(i, "x"))
            .await
            .expect("fine");
        assert!(matches!(&outcome.value[0], Effect::AddNote(n) if n.contains("behaved")));
    }
    for handle in loops {
        assert_eq!(
            handle.await.expect("joined").expect_err("loop"),
            PluginError::CpuLimit
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_budget_and_world_checks() {
    let host = host(HostConfig {
        breaker_threshold: 3,
        breaker_cool_down: Duration::from_secs(60),
        tenant_daily_cpu: Duration::from_millis(120),
        ..HostConfig::default()
    });
    let (hostile, _, _) = bundle("hostile");
    let granted = [Capability::UpdateTickets];
    let panicking = invocation(
        &host,
        &hostile,
        "acme",
        &granted,
        serde_json::json!({ "mode": "panic" }),
    );
    for _ in 0..3 {
        assert!(matches!(
            host.on_ticket_event(&panicking, &event(1, "x")).await,
            Err(PluginError::Trap(_))
        ));
    }
    assert_eq!(
        host.on_ticket_event(&panicking, &event(1, "x"))
            .await
            .expect_err("open"),
        PluginError::CircuitOpen
    );
    // Another tenant's breaker is its own.
    let fine = invocation(
        &host,
        &hostile,
        "other",
        &granted,
        serde_json::json!({ "mode": "fine" }),
    );
    host.on_ticket_event(&fine, &event(1, "x"))
        .await
        .expect("other tenant");

    // Daily CPU budget: loops of 50 ms use up 120 ms.
    let looping = invocation(
        &host,
        &hostile,
        "busy",
        &granted,
        serde_json::json!({ "mode": "loop" }),
    );
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(
            host.on_ticket_event(&looping, &event(1, "x"))
                .await
                .expect_err("limited"),
        );
    }
    assert!(
        results.contains(&PluginError::BudgetExhausted),
        "{results:?}"
    );

    // A component must export what its manifest's world requires.
    let (triage, _, _) = bundle("auto-triage");
    let mut wrong = triage.clone();
    wrong.manifest.world = portico_plugins::World::Http;
    wrong.manifest.version = semver::Version::new(9, 9, 9);
    let error = host.prepare(&wrong).expect_err("wrong world").to_string();
    assert!(error.contains("http-handler"), "{error}");
}

#[test]
fn tampered_bundles_are_refused() {
    let (_, bytes, public) = bundle("auto-triage");
    let trusted = [(
        "portico".to_owned(),
        package::parse_public_key(&public).expect("pk"),
    )]
    .into_iter()
    .collect();
    // Flip one byte in the middle of the component.
    let mut tampered = bytes.clone();
    let at = bytes.len() / 2;
    tampered[at] ^= 1;
    assert!(package::open(&tampered, &trusted).is_err());
    assert!(package::open(&bytes, &trusted).is_ok());
}

#[test]
fn compiled_code_is_cached_and_only_our_own_is_loaded() {
    let dir = tempfile::tempdir().expect("dir");
    let config = HostConfig {
        cache_dir: Some(dir.path().to_owned()),
        cache_key: [7; 32],
        ..HostConfig::default()
    };
    let (triage, _, _) = bundle("auto-triage");
    let first = host(config.clone()).prepare(&triage).expect("compiled");
    assert!(!first.from_cache);
    assert!(first.compile_time > Duration::ZERO);
    let second = host(config.clone()).prepare(&triage).expect("cached");
    assert!(second.from_cache);
    // A cache file altered (or written by someone else) is never loaded.
    let file = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("cached file");
    let mut bytes = std::fs::read(&file).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).expect("write");
    let third = host(config.clone()).prepare(&triage).expect("recompiled");
    assert!(!third.from_cache);
    // Another host's key: its files are not ours.
    let stranger = HostConfig {
        cache_key: [8; 32],
        ..config
    };
    assert!(
        !host(stranger)
            .prepare(&triage)
            .expect("recompiled")
            .from_cache
    );
}

/// A one-request-per-connection HTTP server on loopback answering with the request
/// head it received.
async fn echo_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buffer[..n]);
                }
                let body = String::from_utf8_lossy(&head).to_lowercase();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_reaches_only_granted_hosts_with_secrets_substituted() {
    let port = echo_server().await;
    let open = host(HostConfig {
        policy: portico_plugins::PlatformPolicy {
            allow_private_network: true,
            allow_plain_http: true,
            ..Default::default()
        },
        ..HostConfig::default()
    });
    let (hostile, _, _) = bundle("hostile");
    let fetch = |url: String| {
        serde_json::json!({
            "mode": "fetch",
            "url": url,
            "headers": { "authorization": "Bearer {{secret:TOKEN}}", "x-plain": "visible" }
        })
    };
    let granted = |host: &PluginHost, config: serde_json::Value, hosts: &[&str]| {
        let plugin = host.prepare(&hostile).expect("admitted");
        let grant = Grant {
            capabilities: [Capability::UpdateTickets, Capability::Http]
                .into_iter()
                .collect(),
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
        };
        Invocation {
            plugin,
            call: CallContext {
                tenant: "acme".into(),
                plugin: "hostile".into(),
                version: "0.1.0".into(),
                grant: Arc::new(portico_plugins::manifest::effective(
                    &hostile.manifest,
                    &grant,
                    host.policy(),
                )),
                config: config.to_string().into(),
            },
        }
    };
    let note = |outcome: portico_plugins::Outcome<Vec<Effect>>| match &outcome.value[0] {
        Effect::AddNote(n) => n.clone(),
        other => panic!("{other:?}"),
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    // Granted: the request goes out with the secret put in by the host.
    let call = granted(&open, fetch(url.clone()), &["127.0.0.1"]);
    let answer = note(
        open.on_ticket_event(&call, &event(1, "x"))
            .await
            .expect("ran"),
    );
    assert!(answer.starts_with("200 get /hook"), "{answer}");
    assert!(answer.contains("authorization: bearer s3cret"), "{answer}");
    assert!(answer.contains("x-plain: visible"), "{answer}");
    // A host the manifest asks for but the administrator did not grant.
    let call = granted(&open, fetch(url.clone()), &["example.com"]);
    let answer = note(
        open.on_ticket_event(&call, &event(1, "x"))
            .await
            .expect("ran"),
    );
    assert!(
        answer.contains("not among the plugin's granted hosts"),
        "{answer}"
    );
    // A host outside the manifest, even if granted.
    let call = granted(
        &open,
        fetch(format!("http://localhost:{port}/")),
        &["127.0.0.1", "localhost"],
    );
    let answer = note(
        open.on_ticket_event(&call, &event(1, "x"))
            .await
            .expect("ran"),
    );
    assert!(
        answer.contains("not among the plugin's granted hosts"),
        "{answer}"
    );
    // The default platform policy: https only, public addresses only.
    let strict = host(HostConfig::default());
    let call = granted(&strict, fetch(url.clone()), &["127.0.0.1"]);
    let answer = note(
        strict
            .on_ticket_event(&call, &event(1, "x"))
            .await
            .expect("ran"),
    );
    assert!(answer.contains("scheme http is not allowed"), "{answer}");
    let call = granted(
        &strict,
        fetch(format!("https://127.0.0.1:{port}/")),
        &["127.0.0.1"],
    );
    let answer = note(
        strict
            .on_ticket_event(&call, &event(1, "x"))
            .await
            .expect("ran"),
    );
    assert!(answer.contains("private addresses"), "{answer}");
}
