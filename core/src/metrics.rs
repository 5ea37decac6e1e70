//! Prometheus metrics, served as text on their own listener (`PORTICO_METRICS_LISTEN`):
//! requests by route and status with latency histograms, database pool use, and
//! the lag of the outbox and of the job runner.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portico_tenants::Store;
use portico_tenants::work::WorkerStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The registry and the instruments of one application.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    open_tenant_files: Gauge,
    outbox_lag: Gauge<f64, AtomicU64>,
    job_lag: Gauge<f64, AtomicU64>,
    events: Family<OutcomeLabels, Counter>,
    jobs: Family<OutcomeLabels, Counter>,
    seen: Mutex<[u64; 4]>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every instrument.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("portico");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let pool_connections = Gauge::default();
        let pool_idle = Gauge::default();
        let open_tenant_files = Gauge::default();
        let outbox_lag = Gauge::<f64, AtomicU64>::default();
        let job_lag = Gauge::<f64, AtomicU64>::default();
        let events = Family::<OutcomeLabels, Counter>::default();
        let jobs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections (platform pool)",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_idle",
            "Idle database connections (platform pool)",
            pool_idle.clone(),
        );
        registry.register(
            "tenant_files_open",
            "Tenant SQLite files open",
            open_tenant_files.clone(),
        );
        registry.register(
            "outbox_lag_seconds",
            "Age of the oldest event in the last delivery pass",
            outbox_lag.clone(),
        );
        registry.register(
            "job_lag_seconds",
            "Delay of the most overdue job in the last pass",
            job_lag.clone(),
        );
        registry.register(
            "outbox_deliveries",
            "Event deliveries by outcome",
            events.clone(),
        );
        registry.register("jobs_run", "Jobs run by outcome", jobs.clone());
        Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            open_tenant_files,
            outbox_lag,
            job_lag,
            events,
            jobs,
            seen: Mutex::new([0; 4]),
        }
    }

    /// Records one finished request.
    pub fn record_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Samples the gauges and renders the text exposition format.
    pub fn render(&self, store: &Store, worker: &Arc<WorkerStats>) -> String {
        let (size, idle) = store.pool_usage();
        self.pool_connections.set(i64::from(size));
        self.pool_idle.set(idle as i64);
        self.open_tenant_files.set(store.open_tenant_files() as i64);
        self.outbox_lag
            .set(worker.outbox_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0);
        self.job_lag
            .set(worker.job_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0);
        let now = [
            worker.events_delivered.load(Ordering::Relaxed),
            worker.events_failed.load(Ordering::Relaxed),
            worker.jobs_succeeded.load(Ordering::Relaxed),
            worker.jobs_failed.load(Ordering::Relaxed),
        ];
        if let Ok(mut seen) = self.seen.lock() {
            let counters = [
                (&self.events, "delivered"),
                (&self.events, "failed"),
                (&self.jobs, "succeeded"),
                (&self.jobs, "failed"),
            ];
            for (index, (family, outcome)) in counters.into_iter().enumerate() {
                family
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc_by(now[index].saturating_sub(seen[index]));
                seen[index] = now[index];
            }
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
