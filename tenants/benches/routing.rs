//! Host → tenant resolution per request, on a table of 10,000 tenants plus 10,000
//! custom domains. Run: `cargo bench -p portico-tenants --bench routing`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use portico_tenants::routing::{HostIndex, HostMatch, TenantRoute};
use portico_tenants::{TenantId, TenantStatus};

mod common;

fn main() {
    let tenants = 10_000;
    let index = HostIndex::new("portico.example");
    let routes = (0..tenants).flat_map(|i| {
        let route = TenantRoute {
            id: TenantId(i),
            slug: Arc::from(format!("tenant{i}")),
            name: Arc::from(format!("Tenant {i}")),
            status: TenantStatus::Active,
            schema_current: true,
            policy_version: 0,
        };
        [
            (format!("tenant{i}.portico.example"), route.clone()),
            (format!("help.customer{i}.com"), route),
        ]
    });
    index.replace_for_benchmark(routes);
    // Host headers as browsers send them: generated names with a port, custom
    // domains, a few unknown ones and some capitals.
    let hosts: Vec<String> = (0..4096)
        .map(|n| {
            let i = (n * 7919) % tenants;
            match n % 8 {
                0 => format!("unknown{i}.portico.example"),
                1 => format!("Help.Customer{i}.com"),
                2 | 3 => format!("help.customer{i}.com"),
                _ => format!("tenant{i}.portico.example:443"),
            }
        })
        .collect();

    let resolve_all = |rounds: usize| {
        let mut found = 0usize;
        for _ in 0..rounds {
            for host in &hosts {
                if let HostMatch::Tenant(route) = index.resolve(black_box(host)) {
                    found += route.id.0 as usize & 1;
                }
            }
        }
        found
    };
    black_box(resolve_all(50));

    // Batches of 4,096 lookups; the per-lookup time of each batch is one sample.
    let mut samples = Vec::new();
    let started = Instant::now();
    for _ in 0..500 {
        let batch = Instant::now();
        black_box(resolve_all(1));
        samples.push(batch.elapsed().as_nanos() as f64 / hosts.len() as f64);
    }
    let total = started.elapsed();
    // Single lookups timed one by one (includes about 20 ns of clock overhead).
    let mut single = Vec::with_capacity(200_000);
    for n in 0..200_000 {
        let host = &hosts[n % hosts.len()];
        let one = Instant::now();
        black_box(index.resolve(black_box(host)));
        single.push(one.elapsed().as_nanos() as f64);
    }
    samples.sort_by(f64::total_cmp);
    single.sort_by(f64::total_cmp);
    let lookups = 500 * hosts.len();
    println!(
        "host resolution over {} host names ({} tenants)",
        index.len(),
        tenants
    );
    println!(
        "  batched: mean {:.0} ns/lookup, batch p50 {:.0} ns, p99 {:.0} ns; {:.1} M lookups/s on one core",
        total.as_nanos() as f64 / lookups as f64,
        common::quantile(&samples, 0.5),
        common::quantile(&samples, 0.99),
        lookups as f64 / total.as_secs_f64() / 1e6
    );
    println!(
        "  single lookups: p50 {:.0} ns, p99 {:.0} ns, p99.9 {:.0} ns, max {:.0} ns",
        common::quantile(&single, 0.5),
        common::quantile(&single, 0.99),
        common::quantile(&single, 0.999),
        single.last().copied().unwrap_or(0.0)
    );
}
