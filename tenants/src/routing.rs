//! Host routing: an in-memory index from host names to tenants, rebuilt whenever
//! the registry changes on any instance.
//!
//! Resolution is one hash lookup on an immutable table behind an `ArcSwap`, so a
//! request never waits on the database or a lock. Changes reach every instance by
//! PostgreSQL NOTIFY (immediately) and by polling the routing epoch once a second
//! (SQLite, commands run from another process, and a dropped listener connection).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use crate::StoreError;
use crate::ids::{TenantId, TenantStatus};
use crate::registry;
use crate::store::{Backend, Store, TenantDb};

/// A tenant as routing knows it.
#[derive(Debug, Clone)]
pub struct TenantRoute {
    /// Stable id.
    pub id: TenantId,
    /// Host label.
    pub slug: Arc<str>,
    /// Display name, for the pages routing itself serves (suspension notice).
    pub name: Arc<str>,
    /// Active or suspended (other states are not routed).
    pub status: TenantStatus,
    /// Whether the tenant's schema is at this binary's version; a tenant left behind
    /// by a failed migration is answered with a maintenance page, not served.
    pub schema_current: bool,
    /// Moves whenever the tenant's role assignments change.
    pub policy_version: i64,
}

impl TenantRoute {
    /// The handle on this tenant's schema.
    pub fn db(&self, store: &Store) -> Result<TenantDb, StoreError> {
        store.handle(self.id, self.slug.clone())
    }
}

/// Where a request's host name leads.
#[derive(Debug, Clone)]
pub enum HostMatch {
    /// A tenant's portal (generated subdomain or verified custom domain).
    Tenant(Arc<TenantRoute>),
    /// The operator's console on `admin.<base domain>`.
    Operator,
    /// Nothing: answered with an opaque 404.
    Unknown,
}

#[derive(Debug, Default)]
struct Table {
    hosts: HashMap<Box<str>, Arc<TenantRoute>>,
    epoch: i64,
}

/// The host → tenant index.
#[derive(Debug)]
pub struct HostIndex {
    table: ArcSwap<Table>,
    operator_host: String,
    base_domain: String,
}

impl HostIndex {
    /// An empty index for `base_domain` (call [`HostIndex::reload`] before serving).
    pub fn new(base_domain: &str) -> Self {
        let base_domain = base_domain.trim_end_matches('.').to_ascii_lowercase();
        HostIndex {
            table: ArcSwap::from_pointee(Table::default()),
            operator_host: format!("admin.{base_domain}"),
            base_domain,
        }
    }

    /// The platform's base domain.
    pub fn base_domain(&self) -> &str {
        &self.base_domain
    }

    /// Resolves a `Host` header value (port, trailing dot and case ignored).
    pub fn resolve(&self, host_header: &str) -> HostMatch {
        let host = strip_port(host_header).trim_end_matches('.');
        let lowered;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            lowered.as_str()
        } else {
            host
        };
        if host == self.operator_host {
            return HostMatch::Operator;
        }
        match self.table.load().hosts.get(host) {
            Some(route) => HostMatch::Tenant(route.clone()),
            None => HostMatch::Unknown,
        }
    }

    /// The epoch of the loaded table.
    pub fn epoch(&self) -> i64 {
        self.table.load().epoch
    }

    /// Number of host names routed.
    pub fn len(&self) -> usize {
        self.table.load().hosts.len()
    }

    /// Whether no host is routed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds the table from the registry and swaps it in whole.
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let epoch = registry::routing_epoch(store).await?;
        let latest = crate::migrate::latest_version(store.backend(), crate::migrate::Level::Tenant);
        let tenants: Vec<(i64, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, slug, name, status, schema_version, policy_version FROM tenants \
             WHERE status IN ('active', 'suspended')",
        )
        .fetch_all(store.platform())
        .await?;
        let domains: Vec<(String, i64)> =
            sqlx::query_as("SELECT host, tenant_id FROM domains WHERE state = 'verified'")
                .fetch_all(store.platform())
                .await?;
        let mut hosts = HashMap::with_capacity(tenants.len() + domains.len());
        let mut by_id = HashMap::with_capacity(tenants.len());
        for (id, slug, name, status, schema_version, policy_version) in tenants {
            let route = Arc::new(TenantRoute {
                id: TenantId(id),
                slug: Arc::from(slug.as_str()),
                name: Arc::from(name),
                status: TenantStatus::from_db(&status),
                schema_current: schema_version >= latest,
                policy_version,
            });
            hosts.insert(
                format!("{slug}.{}", self.base_domain).into_boxed_str(),
                route.clone(),
            );
            by_id.insert(id, route);
        }
        for (host, tenant_id) in domains {
            if let Some(route) = by_id.get(&tenant_id) {
                hosts.insert(host.into_boxed_str(), route.clone());
            }
        }
        self.table.store(Arc::new(Table { hosts, epoch }));
        Ok(())
    }

    /// Replaces the whole table with `routes` (benchmarks build large tables without
    /// a database).
    pub fn replace_for_benchmark(&self, routes: impl IntoIterator<Item = (String, TenantRoute)>) {
        let hosts = routes
            .into_iter()
            .map(|(host, route)| (host.into_boxed_str(), Arc::new(route)))
            .collect();
        self.table.store(Arc::new(Table { hosts, epoch: 0 }));
    }

    /// Inserts a route directly (benchmarks build large tables without a database).
    pub fn insert_for_benchmark(&self, host: &str, route: TenantRoute) {
        let current = self.table.load();
        let mut hosts = current.hosts.clone();
        hosts.insert(host.into(), Arc::new(route));
        self.table.store(Arc::new(Table {
            hosts,
            epoch: current.epoch,
        }));
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // An IPv6 literal: never a tenant, keep it whole so it matches nothing.
        return host;
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Keeps `index` current until `shutdown`: reloads on a local change at once, on a
/// PostgreSQL notification at once, and otherwise whenever the epoch moved (checked
/// every `poll`).
pub async fn watch(
    store: Store,
    index: Arc<HostIndex>,
    poll: Duration,
    shutdown: CancellationToken,
) {
    let mut listener = match store.backend() {
        Backend::Postgres => crate::work::pg_listener(&store, &["portico_routing"]).await,
        Backend::Sqlite => None,
    };
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = store.routing_notify().notified() => true,
            notified = crate::work::next_notification(&mut listener) => notified,
            _ = ticker.tick() => false,
        };
        let stale = forced
            || match registry::routing_epoch(&store).await {
                Ok(epoch) => epoch != index.epoch(),
                Err(error) => {
                    tracing::warn!(error = %crate::migrate::error_chain(&error), "routing epoch check failed");
                    false
                }
            };
        if stale && let Err(error) = index.reload(&store).await {
            tracing::warn!(error = %crate::migrate::error_chain(&error), "routing reload failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_with(host: &str) -> HostIndex {
        let index = HostIndex::new("localhost");
        index.insert_for_benchmark(
            host,
            TenantRoute {
                id: TenantId(7),
                slug: Arc::from("acme"),
                name: Arc::from("Acme IT"),
                status: TenantStatus::Active,
                schema_current: true,
                policy_version: 0,
            },
        );
        index
    }

    #[test]
    fn host_with_port_and_capitals_resolves_to_its_tenant() {
        let index = index_with("acme.localhost");
        for header in ["acme.localhost", "ACME.localhost:8080", "acme.localhost."] {
            assert!(
                matches!(index.resolve(header), HostMatch::Tenant(route) if route.id == TenantId(7)),
                "{header}"
            );
        }
    }

    #[test]
    fn operator_and_unknown_hosts_are_told_apart() {
        let index = index_with("acme.localhost");
        assert!(matches!(
            index.resolve("admin.localhost:8080"),
            HostMatch::Operator
        ));
        for header in [
            "other.localhost",
            "127.0.0.1:8080",
            "[::1]:8080",
            "",
            "acme.localhost.evil.com",
        ] {
            assert!(
                matches!(index.resolve(header), HostMatch::Unknown),
                "{header}"
            );
        }
    }
}
