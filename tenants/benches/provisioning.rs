//! Time to provision one tenant (registry row, schema or file, every migration,
//! activation). Run: `cargo bench -p portico-tenants --bench provisioning -- [postgres|sqlite] [N]`.

use std::time::Instant;

use portico_tenants::{Store, StoreOptions, TenantSlug, migrate, registry};

mod common;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let backend = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("postgres")
        .to_owned();
    let count: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(200);
    let data = tempfile::tempdir().expect("temp dir");
    let database = "portico_bench_provisioning";
    let options = match backend.as_str() {
        "sqlite" => StoreOptions::sqlite(data.path()),
        _ => StoreOptions::postgres(common::create_database(database).await, data.path()),
    };
    let store = Store::open(options).await.expect("store");
    migrate::migrate_platform(&store).await.expect("platform");
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let slug = TenantSlug::parse(&format!("bench{i}")).expect("slug");
        let started = Instant::now();
        registry::create_tenant(&store, &slug, "Bench")
            .await
            .expect("tenant");
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    store.close().await;
    if backend != "sqlite" {
        common::drop_database(database).await;
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "provisioning one tenant on {backend} ({count} tenants, one after another): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        common::quantile(&samples, 0.5),
        common::quantile(&samples, 0.95),
        common::quantile(&samples, 0.99),
        samples.last().copied().unwrap_or(0.0)
    );
}
