//! `migrate` across many tenants that are one version behind.
//! Run: `cargo bench -p portico-tenants --bench migrate -- [N] [parallelism] [--keep]`.
//! With `--keep` the database `portico_bench_migrate` is left set up but not
//! migrated, so `portico migrate` itself can be timed on it.

use std::time::Instant;

use futures::StreamExt;
use portico_tenants::{Store, StoreOptions, TenantSlug, migrate, registry};

mod common;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let count: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let parallelism: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(4);
    let keep = args.iter().any(|a| a == "--keep");
    let database = "portico_bench_migrate";
    let url = common::create_database(database).await;
    let data = tempfile::tempdir().expect("temp dir");
    let store = Store::open(StoreOptions::postgres(url.clone(), data.path()))
        .await
        .expect("store");
    migrate::migrate_platform(&store).await.expect("platform");

    let setup = Instant::now();
    let mut creations = futures::stream::iter((0..count).map(|i| {
        let store = store.clone();
        async move {
            let slug = TenantSlug::parse(&format!("old{i}")).expect("slug");
            registry::create_tenant_at_version(&store, &slug, "Old", 1)
                .await
                .expect("tenant at version 1");
        }
    }))
    .buffer_unordered(4);
    while creations.next().await.is_some() {}
    println!(
        "set up {count} tenants at schema version 1 in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    if keep {
        println!("kept: DATABASE_URL={url}");
        return;
    }

    let started = Instant::now();
    let report = migrate::migrate_all(&store, parallelism, |_| {})
        .await
        .expect("migrate");
    let first = started.elapsed();
    let again = Instant::now();
    let rerun = migrate::migrate_all(&store, parallelism, |_| {})
        .await
        .expect("rerun");
    let second = again.elapsed();
    store.close().await;
    common::drop_database(database).await;
    assert_eq!(report.migrated, count);
    assert!(report.failures.is_empty());
    println!(
        "migrate {count} tenants from version 1 to {} with parallelism {parallelism}: {:.2} s; rerun with everything current: {:.3} s ({} migrated)",
        report.tenant_version,
        first.as_secs_f64(),
        second.as_secs_f64(),
        rerun.migrated
    );
}
