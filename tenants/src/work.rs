//! The background worker: finds tenants with pending events or due jobs through the
//! platform's work index (never by polling thousands of schemas or files), leases
//! one tenant at a time per instance, delivers its events and runs its jobs, then
//! runs the platform's own jobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use sqlx::AnyConnection;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::TenantId;
use crate::jobs::{self, JobHandlers, JobScope};
use crate::migrate::error_chain;
use crate::outbox::{self, Subscriber};
use crate::store::{Backend, Store};

/// Records, in the transaction of a tenant change, that the tenant has work due at
/// `due_at` (PostgreSQL: the platform schema is in the same database).
pub(crate) async fn mark_due_in_tx(
    conn: &mut AnyConnection,
    tenant: TenantId,
    due_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO platform.work_index (tenant_id, due_at, generation) VALUES ($1, $2, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET \
           due_at = LEAST(platform.work_index.due_at, excluded.due_at), \
           generation = platform.work_index.generation + 1",
    )
    .bind(tenant.0)
    .bind(due_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify('portico_work', '')")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that tenants have work due (SQLite, after their commits), in one
/// platform transaction.
pub(crate) async fn mark_due(store: &Store, marks: &[(TenantId, i64)]) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    for (tenant, due_at) in marks {
        sqlx::query(store.backend().pick(
            "INSERT INTO work_index (tenant_id, due_at, generation) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
               due_at = LEAST(work_index.due_at, excluded.due_at), generation = work_index.generation + 1",
            "INSERT INTO work_index (tenant_id, due_at, generation) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
               due_at = MIN(work_index.due_at, excluded.due_at), generation = work_index.generation + 1",
        ))
        .bind(tenant.0)
        .bind(due_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A listener on PostgreSQL notification channels; `None` (and a warning) if it
/// cannot connect: polling then carries the change, only later.
pub(crate) async fn pg_listener(store: &Store, channels: &[&str]) -> Option<PgListener> {
    let url = store.options().database_url.as_deref()?;
    let connected = async {
        let mut listener = PgListener::connect(url).await?;
        listener.listen_all(channels.iter().copied()).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    match connected.await {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "cannot listen for notifications; polling only");
            None
        }
    }
}

/// Waits for the next notification. Pending forever without a listener. After a
/// lost connection it reports `true` once the listener reconnects, since
/// notifications may have been missed.
pub(crate) async fn next_notification(listener: &mut Option<PgListener>) -> bool {
    match listener {
        Some(listener) => match listener.recv().await {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "notification listener lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
                true
            }
        },
        None => std::future::pending().await,
    }
}

/// Counters of the worker, read by `/metrics`.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Events delivered to subscribers.
    pub events_delivered: AtomicU64,
    /// Deliveries that failed and were parked.
    pub events_failed: AtomicU64,
    /// Jobs that succeeded.
    pub jobs_succeeded: AtomicU64,
    /// Jobs that failed (retried or dead).
    pub jobs_failed: AtomicU64,
    /// Age of the oldest event delivered in the last pass, milliseconds.
    pub outbox_lag_ms: AtomicI64,
    /// How late the most overdue job of the last pass started, milliseconds.
    pub job_lag_ms: AtomicI64,
}

/// How long a leased tenant stays with one instance before another may take it.
const TENANT_LEASE_MS: i64 = 60_000;
/// How often a tenant's delivered events are pruned while events flow.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often a tenant's search index is looked after while events flow.
const SEARCH_MAINTENANCE_EVERY: Duration = Duration::from_secs(600);
/// Merge steps per worker pass (each a short write transaction).
const SEARCH_MAINTENANCE_STEPS: usize = 8;
/// Delivered events are kept this long for inspection, then pruned.
const OUTBOX_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// The background worker of one instance.
pub struct Worker {
    store: Store,
    subscribers: Vec<Arc<dyn Subscriber>>,
    handlers: JobHandlers,
    stats: Arc<WorkerStats>,
    poll: Duration,
    /// When each tenant's search index was last looked after (SQLite).
    maintained: Turns,
    /// When each tenant's delivered events were last pruned.
    pruned: Turns,
}

/// When each tenant last had its turn at a periodic chore of this instance.
type Turns = std::sync::Mutex<std::collections::HashMap<TenantId, std::time::Instant>>;

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field(
                "subscribers",
                &self
                    .subscribers
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>(),
            )
            .field("handlers", &self.handlers)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker delivering to `subscribers` and running jobs with `handlers`.
    pub fn new(
        store: Store,
        subscribers: Vec<Arc<dyn Subscriber>>,
        handlers: JobHandlers,
        poll: Duration,
    ) -> Self {
        Worker {
            store,
            subscribers,
            handlers,
            stats: Arc::new(WorkerStats::default()),
            poll,
            maintained: Default::default(),
            pruned: Default::default(),
        }
    }

    /// The worker's counters.
    pub fn stats(&self) -> Arc<WorkerStats> {
        self.stats.clone()
    }

    /// Runs until `shutdown`, finishing the tenant in hand before it returns.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if self.store.backend() == Backend::Sqlite
            && let Err(error) = self.sweep().await
        {
            tracing::error!(error = %error_chain(&error), "start-up sweep of tenant files failed");
        }
        let mut listener = match self.store.backend() {
            Backend::Postgres => pg_listener(&self.store, &["portico_work"]).await,
            Backend::Sqlite => None,
        };
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let worked = match self.run_once().await {
                Ok(worked) => worked,
                Err(error) => {
                    tracing::error!(error = %error_chain(&error), "worker pass failed");
                    0
                }
            };
            if worked > 0 {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.store.work_notify().notified() => {}
                _ = next_notification(&mut listener) => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// One pass: the due tenants (a few at a time) and the platform's due jobs.
    /// Returns how many tenants and platform jobs it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let claim = self.store.backend().pick(
            "UPDATE work_index SET lease_owner = $1, lease_until = $2 WHERE tenant_id IN (\
                SELECT tenant_id FROM work_index WHERE due_at <= $3 \
                AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at LIMIT $4 \
                FOR UPDATE SKIP LOCKED) RETURNING tenant_id, generation",
            "UPDATE work_index SET lease_owner = $1, lease_until = $2 WHERE tenant_id IN (\
                SELECT tenant_id FROM work_index WHERE due_at <= $3 \
                AND (lease_until IS NULL OR lease_until < $3) ORDER BY due_at LIMIT $4) \
             RETURNING tenant_id, generation",
        );
        let claimed: Vec<(i64, i64)> = {
            let mut tx = self.store.platform_tx().await?;
            let rows = sqlx::query_as(claim)
                .bind(self.store.instance_id())
                .bind(now + TENANT_LEASE_MS)
                .bind(now)
                .bind(8_i64)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            rows
        };
        let handled = claimed.len();
        let mut passes =
            futures::stream::iter(claimed.into_iter().map(|(tenant_id, generation)| {
                self.process_tenant(TenantId(tenant_id), generation)
            }))
            .buffer_unordered(4);
        while let Some(result) = passes.next().await {
            if let Err(error) = result {
                tracing::error!(error = %error_chain(&error), "tenant work failed");
            }
        }
        drop(passes);
        let platform = jobs::run_due(JobScope::Platform(&self.store), &self.handlers, 16).await?;
        self.record_jobs(&platform);
        Ok(handled + platform.succeeded + platform.failed)
    }

    fn record_jobs(&self, outcome: &jobs::RunOutcome) {
        self.stats
            .jobs_succeeded
            .fetch_add(outcome.succeeded as u64, Ordering::Relaxed);
        self.stats
            .jobs_failed
            .fetch_add(outcome.failed as u64, Ordering::Relaxed);
        if outcome.succeeded + outcome.failed > 0 {
            self.stats
                .job_lag_ms
                .store(outcome.max_lag_ms, Ordering::Relaxed);
        }
    }

    /// While events flow (messages being written), looks after the tenant's search
    /// index at most every [`SEARCH_MAINTENANCE_EVERY`], a few steps a pass until
    /// its merge is done.
    async fn maintain_search_index(&self, db: &crate::TenantDb) -> Result<(), StoreError> {
        if self.store.backend() != Backend::Sqlite {
            return Ok(());
        }
        if self.due(&self.maintained, db.id(), SEARCH_MAINTENANCE_EVERY)
            && crate::tickets::maintain_search_index(db, SEARCH_MAINTENANCE_STEPS).await?
        {
            self.done(&self.maintained, db.id());
        }
        Ok(())
    }

    /// Whether `every` has passed since `tenant`'s last turn in `turns`.
    fn due(&self, turns: &Turns, tenant: TenantId, every: Duration) -> bool {
        turns
            .lock()
            .map(|t| t.get(&tenant).is_none_or(|at| at.elapsed() >= every))
            .unwrap_or(true)
    }

    /// Records `tenant`'s turn in `turns` as now.
    fn done(&self, turns: &Turns, tenant: TenantId) {
        if let Ok(mut turns) = turns.lock() {
            turns.insert(tenant, std::time::Instant::now());
        }
    }

    async fn process_tenant(&self, tenant_id: TenantId, generation: i64) -> Result<(), StoreError> {
        let db = match self.store.tenant_by_id(tenant_id).await {
            Ok(db) => db,
            Err(StoreError::NotFound(_) | StoreError::TenantUnavailable(_)) => {
                sqlx::query("DELETE FROM work_index WHERE tenant_id = $1")
                    .bind(tenant_id.0)
                    .execute(self.store.platform())
                    .await?;
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        let work = async {
            let delivered = outbox::dispatch(&db, &self.subscribers).await?;
            self.stats
                .events_delivered
                .fetch_add(delivered.delivered as u64, Ordering::Relaxed);
            self.stats
                .events_failed
                .fetch_add(delivered.failed as u64, Ordering::Relaxed);
            if delivered.delivered > 0 {
                self.stats
                    .outbox_lag_ms
                    .store(delivered.max_lag_ms, Ordering::Relaxed);
                // Events are kept for a week: pruning once a minute is plenty, and
                // spares a write transaction per pass while events flow.
                if self.due(&self.pruned, db.id(), PRUNE_EVERY) {
                    outbox::prune(&db, &self.subscribers, OUTBOX_RETENTION_MS).await?;
                    self.done(&self.pruned, db.id());
                }
                self.maintain_search_index(&db).await?;
            }
            let ran = jobs::run_due(JobScope::Tenant(&db), &self.handlers, 32).await?;
            self.record_jobs(&ran);
            let next_due = match (delivered.next_due, ran.next_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Ok::<_, StoreError>(next_due)
        };
        // ERROR level: enabled under any filter, so failures always name the tenant.
        // ERROR level: enabled under any filter, so failures always name the tenant.
        let span = tracing::error_span!("tenant_work", tenant = %db.slug());
        // Keep the lease while working, however long the pass takes, so no other
        // instance starts on this tenant meanwhile.
        let heartbeat = {
            let store = self.store.clone();
            tokio::spawn(async move {
                let mut ticker =
                    tokio::time::interval(Duration::from_millis((TENANT_LEASE_MS / 3) as u64));
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let extended = sqlx::query(
                        "UPDATE work_index SET lease_until = $3 WHERE tenant_id = $1 AND lease_owner = $2",
                    )
                    .bind(tenant_id.0)
                    .bind(store.instance_id())
                    .bind(now_ms() + TENANT_LEASE_MS)
                    .execute(store.platform())
                    .await;
                    if let Err(error) = extended {
                        tracing::warn!(error = %error_chain(&error), "tenant lease not extended");
                    }
                }
            })
        };
        let result = tracing::Instrument::instrument(work, span).await;
        heartbeat.abort();
        let (next_due, failure) = match result {
            Ok(next_due) => (next_due, None),
            // Try the tenant again shortly rather than forgetting its work.
            Err(error) => (Some(now_ms() + 5_000), Some(error)),
        };
        self.release(tenant_id, generation, next_due).await?;
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn release(
        &self,
        tenant_id: TenantId,
        generation: i64,
        next_due: Option<i64>,
    ) -> Result<(), StoreError> {
        let owner = self.store.instance_id();
        let mut tx = self.store.platform_tx().await?;
        match next_due {
            None => {
                // Only forget the tenant if no new work arrived while we held it.
                let removed =
                    sqlx::query("DELETE FROM work_index WHERE tenant_id = $1 AND generation = $2")
                        .bind(tenant_id.0)
                        .bind(generation)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if removed == 0 {
                    sqlx::query(
                        "UPDATE work_index SET lease_owner = NULL, lease_until = NULL \
                         WHERE tenant_id = $1 AND lease_owner = $2",
                    )
                    .bind(tenant_id.0)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Some(due_at) => {
                sqlx::query(
                    "UPDATE work_index SET due_at = CASE WHEN generation = $2 THEN $3 ELSE due_at END, \
                     lease_owner = NULL, lease_until = NULL WHERE tenant_id = $1 AND lease_owner = $4",
                )
                .bind(tenant_id.0)
                .bind(generation)
                .bind(due_at)
                .bind(owner)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// SQLite only: the work index lives in another file than the tenant's change,
    /// so after a crash between the two commits a tenant's work may be missing from
    /// it. Re-derive it once at start-up from the tenant files themselves.
    async fn sweep(&self) -> Result<(), StoreError> {
        let tenants: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM tenants WHERE status IN ('active', 'suspended')")
                .fetch_all(self.store.platform())
                .await?;
        for id in tenants {
            let db = self.store.tenant_by_id(TenantId(id)).await?;
            let pending = outbox::has_pending(&db, &self.subscribers).await?;
            let next_job: Option<i64> = {
                let mut tx = db.read().await?;
                let next =
                    sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")
                        .fetch_one(tx.conn())
                        .await?;
                tx.rollback().await?;
                next
            };
            let due = match (pending, next_job) {
                (true, _) => Some(now_ms()),
                (false, next) => next,
            };
            if let Some(due_at) = due {
                mark_due(&self.store, &[(TenantId(id), due_at)]).await?;
            }
        }
        Ok(())
    }
}
