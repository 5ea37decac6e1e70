//! Cost of a permission decision with 10,000 tenants of 50 people each, on the
//! embedded SQLite backend: the real `Permissions` service against a real store.
//!
//! Run: `cargo bench -p portico-core --bench permissions -- [TENANTS] [--users N]
//! [--warm N] [--setup-parallelism N] [--dir DIR]`. Defaults: 10,000 tenants, 50
//! people each, 1,000 tenants warmed, 4 tenants set up at once, a temporary
//! directory. With `--dir` the data is kept and reused by the next run (missing
//! tenants and people are added), which skips most of the set-up.
//!
//! Figures:
//! - first decision for a tenant: the enforcer is built from storage (the shared
//!   role permissions from the platform, the tenant's role assignments from its
//!   file), once with the tenant's file still closed (a tenant not seen for a while)
//!   and once with it open (the rebuild after a policy version change);
//! - a decision not yet memoized on a built enforcer (every person × every
//!   object/action of the shipped policy, in random order): up to three `enforce()`
//!   calls, one per scope, widest first;
//! - a memoized decision, the steady state: random warm tenant, random person,
//!   random object/action.
//!
//! Decisions are memoized per subject and per set of roles, the latter shared by
//! every tenant with the same role permissions: only the first decision of each
//! (role, object/action) in the process asks Casbin (up to three `enforce()` calls,
//! widest scope first); the rest of the not-yet-memoized phase reuses it. Only a subject the enforcer holds no role for consults the stored
//! policy version (none does here). Granted and denied decisions are reported apart.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use portico_core::permissions::{Permissions, SHIPPED_POLICY, ScopeKind, parse_policy};
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::policy::Scope;
use portico_tenants::routing::{HostIndex, HostMatch, TenantRoute};
use portico_tenants::{
    Role, Store, StoreOptions, TenantDb, TenantSlug, TenantStatus, migrate, registry,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

mod common;

const BASE_DOMAIN: &str = "bench.example";

/// Roles of a tenant's people by position: 2 MSP admins, 10 technicians, 10 main
/// contacts and 28 contacts out of 50.
fn role_of(index: usize) -> Role {
    match (index % 25, index % 5) {
        (0, _) => Role::MspAdmin,
        (_, 1) => Role::Technician,
        (_, 2) => Role::MainContact,
        _ => Role::Contact,
    }
}

fn slug_of(tenant: usize) -> String {
    format!("bench{tenant}")
}

/// Every distinct (object, action) of the shipped policy, as `&'static str`.
fn operations() -> Vec<(&'static str, &'static str)> {
    let mut ops: Vec<(&'static str, &'static str)> = Vec::new();
    for rule in parse_policy(SHIPPED_POLICY) {
        let object: &'static str = Box::leak(rule[3].clone().into_boxed_str());
        let action = rule[4].split(':').next().unwrap_or_default().to_owned();
        let action: &'static str = Box::leak(action.into_boxed_str());
        if !ops.contains(&(object, action)) {
            ops.push((object, action));
        }
    }
    ops
}

/// Creates tenant `index` if needed and tops its people up to `users`.
async fn populate(
    store: &Store,
    index: usize,
    users: usize,
    existing: Option<TenantStatus>,
) -> anyhow::Result<usize> {
    let slug = slug_of(index);
    if existing != Some(TenantStatus::Active) {
        registry::create_tenant(store, &TenantSlug::parse(&slug)?, &format!("Bench {index}"))
            .await?;
    }
    let db = store.tenant_by_slug(&slug).await?;
    let have = if existing.is_some() {
        people::list_users(&db, Scope::All).await?.len()
    } else {
        0
    };
    for person in have..users {
        people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(&format!("person{person}@{slug}.example"))?,
                display_name: format!("Person {person}"),
                role: role_of(person),
                invite: false,
                organization_id: None,
            },
        )
        .await?;
    }
    Ok(users.saturating_sub(have))
}

fn store_options(dir: &std::path::Path, max_open_tenants: usize) -> StoreOptions {
    let mut options = StoreOptions::sqlite(dir);
    options.max_open_tenants = max_open_tenants;
    options
}

fn summary(samples: Vec<f64>) -> String {
    let mean = common::mean(&samples);
    let sorted = common::sorted(samples);
    format!(
        "p50 {}, p99 {}, mean {}, max {}",
        micros(common::quantile(&sorted, 0.5)),
        micros(common::quantile(&sorted, 0.99)),
        micros(mean),
        micros(sorted.last().copied().unwrap_or(f64::NAN)),
    )
}

/// Nanoseconds shown in µs (or ns below one µs).
fn micros(nanos: f64) -> String {
    if nanos < 1000.0 {
        format!("{nanos:.0} ns")
    } else if nanos < 100_000.0 {
        format!("{:.1} µs", nanos / 1000.0)
    } else {
        format!("{:.0} µs", nanos / 1000.0)
    }
}

fn nanos(elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64
}

/// What a decision needs, for picks of (tenant, person, object/action) indices.
struct Deciding<'a> {
    permissions: &'a Permissions,
    store: &'a Store,
    routes: &'a [TenantRoute],
    dbs: &'a [TenantDb],
    subjects: &'a [String],
    ops: &'a [(&'static str, &'static str)],
}

impl Deciding<'_> {
    async fn decide(&self, (t, u, o): (usize, usize, usize)) -> anyhow::Result<Option<ScopeKind>> {
        let (object, action) = self.ops[o];
        Ok(self
            .permissions
            .decide(
                self.store,
                &self.routes[t],
                &self.dbs[t],
                &self.subjects[u],
                object,
                action,
            )
            .await?)
    }

    /// Runs `picks` once untimed one by one (the batch mean), then again timing each.
    async fn memoized(
        &self,
        picks: &[(usize, usize, usize)],
    ) -> anyhow::Result<(f64, Vec<(f64, Option<ScopeKind>)>)> {
        let batch = Instant::now();
        for &pick in picks {
            black_box(self.decide(pick).await?);
        }
        let batch_mean = nanos(batch.elapsed()) / picks.len().max(1) as f64;
        let mut samples = Vec::with_capacity(picks.len());
        for &pick in picks {
            let one = Instant::now();
            let decision = black_box(self.decide(pick).await?);
            samples.push((nanos(one.elapsed()), decision));
        }
        Ok((batch_mean, samples))
    }
}

/// Times the first decision on each chosen tenant (the enforcer is built then).
async fn first_decisions(
    permissions: &Permissions,
    store: &Store,
    routes: &[TenantRoute],
    dbs: &[TenantDb],
    chosen: &[usize],
) -> anyhow::Result<Vec<f64>> {
    let mut samples = Vec::with_capacity(chosen.len());
    for &t in chosen {
        let one = Instant::now();
        let decision = permissions
            .decide(store, &routes[t], &dbs[t], "user:1", "tenant", "read")
            .await?;
        samples.push(nanos(one.elapsed()));
        anyhow::ensure!(
            decision == Some(ScopeKind::All),
            "user:1 of tenant {t} should be an MSP admin, got {decision:?}"
        );
    }
    Ok(samples)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let valued = ["--users", "--warm", "--setup-parallelism", "--dir"];
    let tenants: usize = common::positional(&args, &valued)
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let number = |name: &str, default: usize| {
        common::option(&args, name)
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let users = number("--users", 50).max(1);
    let warm = number("--warm", 1000).clamp(1, tenants);
    let parallelism = number("--setup-parallelism", 4).max(1);
    let temporary = tempfile::tempdir()?;
    let dir: PathBuf = common::option(&args, "--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_path_buf());

    // ----- set-up ---------------------------------------------------------------
    let started = Instant::now();
    let store = Store::open(store_options(&dir, 256)).await?;
    migrate::migrate_platform(&store).await?;
    Permissions::seed(&store).await?;
    let known: HashMap<String, TenantStatus> = registry::list_tenants(&store)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.status))
        .collect();
    let mut created_people = 0usize;
    let mut done = 0usize;
    let mut progress = futures::stream::iter(0..tenants)
        .map(|i| {
            let store = store.clone();
            let existing = known.get(&slug_of(i)).copied();
            async move { populate(&store, i, users, existing).await }
        })
        .buffer_unordered(parallelism);
    while let Some(result) = progress.next().await {
        created_people += result?;
        done += 1;
        if done.is_multiple_of(500) {
            eprintln!(
                "  set-up: {done}/{tenants} tenants after {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(progress);
    store.close().await;
    let setup = started.elapsed();

    // A fresh store, as a freshly started instance has: no tenant file open. Its
    // LRU keeps every warmed tenant's file open, so the second build reads from
    // open files.
    let store = Store::open(store_options(&dir, warm.max(256) * 2)).await?;
    let hosts = HostIndex::new(BASE_DOMAIN);
    hosts.reload(&store).await?;
    let routes: Vec<TenantRoute> = (0..tenants)
        .map(
            |i| match hosts.resolve(&format!("{}.{BASE_DOMAIN}", slug_of(i))) {
                HostMatch::Tenant(route) => Ok((*route).clone()),
                _ => Err(anyhow::anyhow!("tenant {i} is not routed")),
            },
        )
        .collect::<anyhow::Result<_>>()?;
    let dbs: Vec<TenantDb> = routes
        .iter()
        .map(|r| r.db(&store))
        .collect::<Result<_, _>>()?;
    let subjects: Vec<String> = (1..=users).map(|id| format!("user:{id}")).collect();
    let ops = operations();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut chosen: Vec<usize> = (0..tenants).collect();
    chosen.shuffle(&mut rng);
    chosen.truncate(warm);

    // ----- (a) first decision per tenant -------------------------------------------
    // The same capacity as the application (max(PORTICO_MAX_OPEN_TENANTS, 1024)).
    let capacity = 1024.max(warm);
    let cold_builds =
        first_decisions(&Permissions::new(capacity), &store, &routes, &dbs, &chosen).await?;
    let permissions = Permissions::new(capacity);
    let measuring = Instant::now();
    let open_builds = first_decisions(&permissions, &store, &routes, &dbs, &chosen).await?;

    let bench = Deciding {
        permissions: &permissions,
        store: &store,
        routes: &routes,
        dbs: &dbs,
        subjects: &subjects,
        ops: &ops,
    };

    // ----- (c) not yet memoized, enforcer built ----------------------------------------
    let mut fresh: Vec<(usize, usize, usize)> = Vec::with_capacity(warm * users * ops.len());
    for &t in &chosen {
        for u in 0..users {
            for o in 0..ops.len() {
                fresh.push((t, u, o));
            }
        }
    }
    fresh.shuffle(&mut rng);
    let mut unmemoized = Vec::with_capacity(fresh.len());
    let (mut granted, mut denied) = (Vec::new(), Vec::new());
    let mut granted_picks = Vec::new();
    let mut outcomes: HashMap<Option<ScopeKind>, usize> = HashMap::new();
    for &pick in &fresh {
        let one = Instant::now();
        let decision = bench.decide(pick).await?;
        let elapsed = nanos(one.elapsed());
        unmemoized.push(elapsed);
        if decision.is_some() {
            granted.push(elapsed);
            granted_picks.push(pick);
        } else {
            denied.push(elapsed);
        }
        *outcomes.entry(decision).or_default() += 1;
    }

    // ----- (b) memoized: the steady state --------------------------------------------
    // A uniform mix of people and objects/actions (most of them denied: many
    // objects/actions are the MSP admins' alone), then granted decisions only.
    let samples = 200_000;
    let mixed_picks: Vec<(usize, usize, usize)> = (0..samples)
        .map(|_| {
            (
                chosen[rng.random_range(0..chosen.len())],
                rng.random_range(0..users),
                rng.random_range(0..ops.len()),
            )
        })
        .collect();
    let (mixed_mean, mixed) = bench.memoized(&mixed_picks).await?;
    let (mut memoized_granted, mut memoized_denied) = (Vec::new(), Vec::new());
    for (elapsed, decision) in &mixed {
        if decision.is_some() {
            memoized_granted.push(*elapsed);
        } else {
            memoized_denied.push(*elapsed);
        }
    }
    let memoized: Vec<f64> = mixed.iter().map(|(elapsed, _)| *elapsed).collect();
    let granted_only_picks: Vec<(usize, usize, usize)> = (0..samples)
        .map(|_| granted_picks[rng.random_range(0..granted_picks.len())])
        .collect();
    let (granted_only_mean, granted_only) = bench.memoized(&granted_only_picks).await?;
    let granted_only: Vec<f64> = granted_only.iter().map(|(elapsed, _)| *elapsed).collect();
    let measured_for = measuring.elapsed();
    anyhow::ensure!(
        measured_for < Duration::from_secs(290),
        "the measurement outlived the enforcers' 300 s maximum age; the figures include rebuilds"
    );
    store.close().await;

    println!(
        "permission decisions: {tenants} tenants × {users} people on SQLite (set-up {:.0} s, {created_people} people created), {} objects/actions, {warm} tenants warmed",
        setup.as_secs_f64(),
        ops.len()
    );
    println!(
        "  first decision (enforcer built from storage): tenant file closed {}; file open {}",
        summary(cold_builds),
        summary(open_builds)
    );
    println!(
        "  not memoized, enforcer built ({} decisions: {} all, {} organization, {} own, {} denied): {}; granted {}; denied {}",
        unmemoized.len(),
        outcomes.get(&Some(ScopeKind::All)).copied().unwrap_or(0),
        outcomes
            .get(&Some(ScopeKind::Organization))
            .copied()
            .unwrap_or(0),
        outcomes.get(&Some(ScopeKind::Own)).copied().unwrap_or(0),
        outcomes.get(&None).copied().unwrap_or(0),
        summary(unmemoized),
        summary(granted),
        summary(denied)
    );
    println!(
        "  memoized, uniform mix ({samples} decisions: {} granted, {} denied): mean {} (batch), {}",
        memoized_granted.len(),
        memoized_denied.len(),
        micros(mixed_mean),
        summary(memoized)
    );
    println!(
        "    granted {}; denied {}",
        summary(memoized_granted),
        summary(memoized_denied),
    );
    println!(
        "  memoized, granted only ({samples} decisions): mean {} (batch), single {} (clock overhead included)",
        micros(granted_only_mean),
        summary(granted_only),
    );
    Ok(())
}
