//! The durable job runner: everything scheduled for later or retried after a failure
//! (auto-close, SLA warnings, mail and webhook retries, domain checks, certificate
//! renewal, plugin schedules).
//!
//! Jobs live in a `jobs` table in the tenant's schema (enqueued in the transaction
//! of the change that asks for them) or in the platform schema (platform chores).
//! A runner claims due jobs by a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
//! single writer on SQLite), so each runs once across many instances; a failure is
//! retried with exponential back-off until `max_attempts`, then kept as `dead`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::AnyConnection;

use crate::StoreError;
use crate::clock::now_ms;
use crate::outbox::{backoff_ms, truncate};
use crate::store::{Store, TenantDb, TenantTx};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: &'static str,
    /// Its input.
    pub payload: serde_json::Value,
    /// Earliest start, Unix milliseconds.
    pub run_at: i64,
    /// Attempts before it is kept as dead.
    pub max_attempts: i64,
    /// At most one pending job per key (e.g. `auto-close:ticket:42`).
    pub dedup_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` due now, with 10 attempts.
    pub fn now(kind: &'static str, payload: serde_json::Value) -> Self {
        NewJob {
            kind,
            payload,
            run_at: now_ms(),
            max_attempts: 10,
            dedup_key: None,
        }
    }
}

/// Where a job runs.
#[derive(Debug, Clone, Copy)]
pub enum JobScope<'a> {
    /// A platform chore.
    Platform(&'a Store),
    /// A tenant's job, with the handle on its schema.
    Tenant(&'a TenantDb),
}

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A passing failure: retry later.
    #[error("{0}")]
    Retry(String),
    /// The job can never succeed: keep it as dead at once.
    #[error("{0}")]
    Permanent(String),
}

/// Code that runs jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind it handles.
    fn kind(&self) -> &'static str;
    /// Runs one job. Must be idempotent: a job whose lease expired mid-run can run again.
    fn run<'a>(
        &'a self,
        scope: JobScope<'a>,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

/// The handlers known to this process, by kind.
#[derive(Clone, Default)]
pub struct JobHandlers {
    by_kind: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for JobHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_kind.keys()).finish()
    }
}

impl JobHandlers {
    /// Registers a handler (replacing any for the same kind).
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        self.by_kind.insert(handler.kind(), handler);
    }

    /// Adds every handler of `other` (replacing any for the same kind).
    pub fn extend(&mut self, other: JobHandlers) {
        self.by_kind.extend(other.by_kind);
    }
}

async fn insert_job(conn: &mut AnyConnection, job: &NewJob) -> Result<Option<i64>, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, dedup_key, state, run_at, attempts, max_attempts, created_at) \
         VALUES ($1, $2, $3, 'pending', $4, 0, $5, $6) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.dedup_key.as_deref())
    .bind(job.run_at)
    .bind(job.max_attempts.max(1))
    .bind(now_ms())
    .fetch_optional(conn)
    .await?;
    Ok(id)
}

impl TenantTx {
    /// Enqueues a tenant job with this transaction; `None` if a pending job with the
    /// same dedup key exists.
    pub async fn enqueue(&mut self, job: NewJob) -> Result<Option<i64>, StoreError> {
        let id = insert_job(self.conn(), &job).await?;
        if id.is_some() {
            self.mark_work(job.run_at);
        }
        Ok(id)
    }
}

/// Enqueues a platform job.
pub async fn enqueue_platform(store: &Store, job: NewJob) -> Result<Option<i64>, StoreError> {
    let mut tx = store.platform_tx().await?;
    let id = insert_job(&mut tx, &job).await?;
    tx.commit().await?;
    store.work_notify().notify_one();
    Ok(id)
}

/// A job as stored, for inspection.
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// `pending` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next start, Unix milliseconds.
    pub run_at: i64,
    /// The last failure.
    pub last_error: Option<String>,
}

type JobRow = (i64, String, String, i64, i64, Option<String>);

fn job_record((id, kind, state, attempts, run_at, last_error): JobRow) -> JobRecord {
    JobRecord {
        id,
        kind,
        state,
        attempts,
        run_at,
        last_error,
    }
}

const LIST_JOBS: &str =
    "SELECT id, kind, state, attempts, run_at, last_error FROM jobs ORDER BY id";

/// The jobs of a tenant.
pub async fn list_tenant_jobs(db: &TenantDb) -> Result<Vec<JobRecord>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<JobRow> = sqlx::query_as(LIST_JOBS).fetch_all(tx.conn()).await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(job_record).collect())
}

/// The platform's jobs.
pub async fn list_platform_jobs(store: &Store) -> Result<Vec<JobRecord>, StoreError> {
    let rows: Vec<JobRow> = sqlx::query_as(LIST_JOBS)
        .fetch_all(store.platform())
        .await?;
    Ok(rows.into_iter().map(job_record).collect())
}

/// Outcome of one pass over a scope's due jobs.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunOutcome {
    /// Jobs that succeeded.
    pub succeeded: usize,
    /// Jobs that failed (retried or dead).
    pub failed: usize,
    /// The next pending job's start (`None`: no pending job).
    pub next_due: Option<i64>,
    /// How late the most overdue job started, milliseconds (job lag).
    pub max_lag_ms: i64,
}

/// How long a claimed job is reserved for its runner. Jobs are claimed one at a
/// time, and a handler is cut off well before its lease ends, so no other instance
/// can take a job that is still running.
const JOB_LEASE: Duration = Duration::from_secs(300);
/// The longest a handler may run.
const JOB_TIMEOUT: Duration = Duration::from_secs(240);
/// A job of a kind this instance does not know is left for an instance that does.
const UNKNOWN_KIND_DELAY_MS: i64 = 60_000;

/// Claims and runs the due jobs of one scope, up to `limit` of them.
pub async fn run_due(
    scope: JobScope<'_>,
    handlers: &JobHandlers,
    limit: i64,
) -> Result<RunOutcome, StoreError> {
    let store = match scope {
        JobScope::Platform(store) => store,
        JobScope::Tenant(db) => db.store(),
    };
    let owner = store.instance_id().to_owned();
    let claim = store.backend().pick(
        "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 \
            AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at, id LIMIT $4 \
            FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, payload, attempts, max_attempts, run_at",
        "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 \
            AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at, id LIMIT $4) \
         RETURNING id, kind, payload, attempts, max_attempts, run_at",
    );
    let mut outcome = RunOutcome::default();
    for _ in 0..limit.max(1) {
        let now = now_ms();
        let claimed: Vec<(i64, String, String, i64, i64, i64)> = {
            let lease_until = now + JOB_LEASE.as_millis() as i64;
            match scope {
                JobScope::Platform(store) => {
                    let mut tx = store.platform_tx().await?;
                    let rows = sqlx::query_as(claim)
                        .bind(&owner)
                        .bind(lease_until)
                        .bind(now)
                        .bind(1_i64)
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows
                }
                JobScope::Tenant(db) => {
                    let mut tx = db.begin().await?;
                    let rows = sqlx::query_as(claim)
                        .bind(&owner)
                        .bind(lease_until)
                        .bind(now)
                        .bind(1_i64)
                        .fetch_all(tx.conn())
                        .await?;
                    tx.commit().await?;
                    rows
                }
            }
        };

        if claimed.is_empty() {
            break;
        }
        for (id, kind, payload, attempts, max_attempts, run_at) in claimed {
            outcome.max_lag_ms = outcome.max_lag_ms.max(now - run_at);
            let payload: serde_json::Value =
                serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null);
            let Some(handler) = handlers.by_kind.get(kind.as_str()) else {
                // Perhaps a newer instance knows it (rolling deploys): leave it for
                // later without spending an attempt.
                let postpone = sqlx::query(
                    "UPDATE jobs SET run_at = $3, lease_owner = NULL, lease_until = NULL \
                     WHERE id = $1 AND lease_owner = $2",
                )
                .bind(id)
                .bind(&owner)
                .bind(now_ms() + UNKNOWN_KIND_DELAY_MS);
                match scope {
                    JobScope::Platform(store) => {
                        postpone.execute(store.platform()).await?;
                    }
                    JobScope::Tenant(db) => {
                        let mut tx = db.begin().await?;
                        postpone.execute(tx.conn()).await?;
                        tx.commit().await?;
                    }
                }
                continue;
            };
            let result = match tokio::time::timeout(JOB_TIMEOUT, handler.run(scope, &payload)).await
            {
                Ok(result) => result,
                Err(_) => Err(JobError::Retry("timed out".to_owned())),
            };
            let (statement, state_error): (&'static str, Option<String>) = match &result {
                Ok(()) => {
                    outcome.succeeded += 1;
                    ("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2", None)
                }
                Err(error) => {
                    outcome.failed += 1;
                    let dead =
                        matches!(error, JobError::Permanent(_)) || attempts + 1 >= max_attempts;
                    tracing::warn!(job_id = id, kind = %kind, attempts = attempts + 1, dead, error = %error, "job failed");
                    if dead {
                        (
                            "UPDATE jobs SET state = 'dead', attempts = attempts + 1, last_error = $3, run_at = $4, \
                         dedup_key = NULL, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                            Some(truncate(&error.to_string())),
                        )
                    } else {
                        (
                            "UPDATE jobs SET attempts = attempts + 1, last_error = $3, run_at = $4, \
                         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                            Some(truncate(&error.to_string())),
                        )
                    }
                }
            };
            let next_run = now_ms() + backoff_ms(attempts);
            let query = sqlx::query(statement).bind(id).bind(&owner);
            let query = match state_error {
                Some(error) => query.bind(error).bind(next_run),
                None => query,
            };
            match scope {
                JobScope::Platform(store) => {
                    query.execute(store.platform()).await?;
                }
                JobScope::Tenant(db) => {
                    let mut tx = db.begin().await?;
                    query.execute(tx.conn()).await?;
                    tx.commit().await?;
                }
            }
        }
    }
    let next: Option<i64> = match scope {
        JobScope::Platform(store) => {
            sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")
                .fetch_one(store.platform())
                .await?
        }
        JobScope::Tenant(db) => {
            let mut tx = db.read().await?;
            let next = sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")
                .fetch_one(tx.conn())
                .await?;
            tx.rollback().await?;
            next
        }
    };
    outcome.next_due = next;
    Ok(outcome)
}
