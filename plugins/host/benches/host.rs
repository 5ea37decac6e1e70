//! The plugin host's figures, against the real example components built by
//! `plugins/build.sh`:
//!
//! - instantiate from a cached component (store + instance + drop, via the
//!   `InstancePre` of a version loaded from the compiled-code cache);
//! - fresh instance + trivial hook + teardown (the whole `on_ticket_event` path:
//!   breaker, budget, slots, store, instance, call, effects, drop);
//! - hook calls per second on one core (a current-thread runtime);
//! - resident memory per idle small instance (1,000 kept alive);
//! - compile time of a new version (`Component::new`, off the request path);
//! - the overhead of the CPU limit (epoch checks and yields) on a compute-heavy
//!   hook, against the same engine without it.
//!
//! Run: `plugins/build.sh && cargo bench -p portico-plugins --bench host`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_plugins::bindings::base::portico::plugin::knowledge::ArticleHit;
use portico_plugins::bindings::{Ticket, TicketEvent};
use portico_plugins::package::{self, VerifiedBundle};
use portico_plugins::{
    CallContext, Capability, Grant, HostConfig, Invocation, PluginHost, PluginServices,
};

struct Nothing;

#[async_trait::async_trait]
impl PluginServices for Nothing {
    async fn kv_get(&self, _: &str, _: &str, _: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
    async fn kv_set(&self, _: &str, _: &str, _: &str, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
    async fn kv_delete(&self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    async fn ticket(&self, _: &str, _: i64) -> Result<Ticket, String> {
        Err("none".into())
    }
    async fn kb_search(&self, _: &str, _: &str, _: u32) -> Result<Vec<ArticleHit>, String> {
        Ok(Vec::new())
    }
    async fn llm_complete(&self, _: &str, _: &str, _: u32) -> Result<String, String> {
        Err("none".into())
    }
    async fn secret(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}

fn bundle(name: &str, limits: bool) -> VerifiedBundle {
    let dir = std::env::var_os("PORTICO_PLUGIN_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins"))
        .join(name);
    let mut manifest = std::fs::read_to_string(dir.join("plugin.toml"))
        .unwrap_or_else(|_| panic!("{} missing: run plugins/build.sh", dir.display()));
    if limits {
        // Room for the compute-heavy hook.
        manifest = manifest
            .replace("cpu_ms = 50", "cpu_ms = 1000")
            .replace("wall_ms = 1000", "wall_ms = 30000");
    }
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
    package::open(&bytes, &trusted).expect("verified")
}

fn invocation(host: &PluginHost, bundle: &VerifiedBundle, config: serde_json::Value) -> Invocation {
    let plugin = host.prepare(bundle).expect("admitted");
    let grant = Grant {
        capabilities: [Capability::UpdateTickets].into_iter().collect(),
        hosts: Default::default(),
    };
    Invocation {
        call: CallContext {
            tenant: "bench".into(),
            plugin: bundle.manifest.id.clone(),
            version: bundle.manifest.version.to_string(),
            grant: Arc::new(portico_plugins::manifest::effective(
                &bundle.manifest,
                &grant,
                host.policy(),
            )),
            config: config.to_string().into(),
        },
        plugin,
    }
}

fn event() -> TicketEvent {
    TicketEvent {
        event_type: "ticket.created".into(),
        ticket: Ticket {
            number: 1042,
            subject: "Printer".into(),
            description: String::new(),
            status: "new".into(),
            priority: "medium".into(),
            ticket_type: None,
            organization_id: None,
            requester_email: None,
            source: "api".into(),
            tags: Vec::new(),
        },
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (
        us(at(0.5)),
        us(at(0.99)),
        us(*samples.last().expect("samples")),
    )
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .expect("rss")
        .parse()
        .expect("number");
    pages * 4
}

fn host_config(cache: &std::path::Path, cpu_limits: bool) -> HostConfig {
    HostConfig {
        cache_dir: Some(cache.to_owned()),
        cache_key: [42; 32],
        max_instances: 1_200,
        tenant_concurrency: 1_200,
        tenant_daily_cpu: Duration::from_secs(86_400),
        cpu_limits,
        ..HostConfig::default()
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cache = tempfile::tempdir().expect("cache dir");
    let hostile = bundle("hostile", true);
    let triage = bundle("auto-triage", false);

    // Compile time of a new version: a fresh engine without a cache each time.
    let mut compiles = Vec::new();
    for _ in 0..5 {
        let host = PluginHost::new(
            HostConfig {
                cache_dir: None,
                ..HostConfig::default()
            },
            Arc::new(Nothing),
        )
        .expect("host");
        let started = Instant::now();
        host.prepare(&triage).expect("compiled");
        compiles.push(started.elapsed());
    }
    let (p50, _, max) = percentiles(compiles);
    println!(
        "compile auto-triage ({} KB component): p50 {:.1} ms, max {:.1} ms",
        triage.wasm.len() / 1024,
        p50 / 1e3,
        max / 1e3
    );

    // Warm the cache, then a new host loads from it.
    PluginHost::new(host_config(cache.path(), true), Arc::new(Nothing))
        .expect("host")
        .prepare(&hostile)
        .expect("compiled");
    let host = PluginHost::new(host_config(cache.path(), true), Arc::new(Nothing)).expect("host");
    let started = Instant::now();
    let loaded = host.prepare(&hostile).expect("cached");
    assert!(loaded.from_cache);
    println!(
        "load from the compiled-code cache: {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let fine = invocation(&host, &hostile, serde_json::json!({"mode": "fine"}));

    runtime.block_on(async {
        // Instantiate from the cached component: store + instance + drop.
        for _ in 0..2_000 {
            host.warm(&fine).await.expect("warm");
        }
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            host.warm(&fine).await.expect("warm");
            samples.push(started.elapsed());
        }
        let (p50, p99, max) = percentiles(samples);
        println!("instantiate (store + instance + drop): p50 {p50:.1} µs, p99 {p99:.1} µs, max {max:.0} µs");

        // Fresh instance + trivial hook + teardown, the whole call path.
        let event = event();
        let mut samples = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let started = Instant::now();
            let outcome = host.on_ticket_event(&fine, &event).await.expect("hook");
            assert_eq!(outcome.value.len(), 1);
            samples.push(started.elapsed());
        }
        let (p50, p99, max) = percentiles(samples);
        println!("instance + trivial hook + teardown: p50 {p50:.1} µs, p99 {p99:.1} µs, max {max:.0} µs");
        let calls = 50_000;
        let started = Instant::now();
        for _ in 0..calls {
            host.on_ticket_event(&fine, &event).await.expect("hook");
        }
        let rate = calls as f64 / started.elapsed().as_secs_f64();
        println!("hook calls on one core (current-thread runtime): {rate:.0}/s");

        // Resident memory of idle instances.
        let before = rss_kib();
        let mut idle = Vec::with_capacity(1_000);
        for _ in 0..1_000 {
            idle.push(host.instantiate_idle(&fine).await.expect("instance"));
        }
        let after = rss_kib();
        println!(
            "idle small instances: {} KiB resident each (1,000 alive: {} KiB)",
            (after - before) / 1_000,
            after - before
        );
        drop(idle);
    });

    // The CPU limit's overhead on a compute-heavy hook: the same engine settings
    // with and without epoch interruption.
    let rounds = 20_000_000u64;
    let mut medians = Vec::new();
    for limited in [true, false] {
        let host =
            PluginHost::new(host_config(cache.path(), limited), Arc::new(Nothing)).expect("host");
        let compute = invocation(
            &host,
            &hostile,
            serde_json::json!({"mode": "compute", "rounds": rounds}),
        );
        let mut samples = Vec::new();
        runtime.block_on(async {
            for _ in 0..15 {
                let started = Instant::now();
                host.on_ticket_event(&compute, &event())
                    .await
                    .expect("computed");
                samples.push(started.elapsed());
            }
        });
        let (p50, _, _) = percentiles(samples);
        medians.push(p50);
    }
    println!(
        "compute-heavy hook ({rounds} rounds): {:.1} ms with the CPU limit, {:.1} ms without: {:+.1} %",
        medians[0] / 1e3,
        medians[1] / 1e3,
        (medians[0] / medians[1] - 1.0) * 100.0
    );
}
