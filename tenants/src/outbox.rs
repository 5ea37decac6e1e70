//! Domain events: written to the tenant's outbox in the transaction of the change
//! that caused them, then delivered at least once to every subscriber, in order per
//! aggregate.
//!
//! Each subscriber keeps a cursor in the outbox. An event whose delivery fails is
//! parked with a back-off; later events of the same aggregate are parked behind it
//! (so their order holds) while other aggregates flow on. Cursors and parked rows
//! are written after delivery, so a crash re-delivers rather than loses.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::TenantId;
use crate::store::{TenantDb, TenantTx};

/// An event to record with a change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What kind of thing changed (`ticket`, `user`, …).
    pub aggregate_type: &'static str,
    /// Which one (its id as text).
    pub aggregate_id: String,
    /// What happened (`user.created`, …).
    pub event_type: &'static str,
    /// Details for subscribers.
    pub payload: serde_json::Value,
}

/// A recorded event, as subscribers receive it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Position in the tenant's outbox (increasing).
    pub id: i64,
    /// The tenant it happened in.
    pub tenant_id: TenantId,
    /// What kind of thing changed.
    pub aggregate_type: String,
    /// Which one.
    pub aggregate_id: String,
    /// What happened.
    pub event_type: String,
    /// Details.
    pub payload: serde_json::Value,
    /// When it was recorded, Unix milliseconds.
    pub created_at: i64,
}

impl Event {
    fn aggregate_key(&self) -> String {
        format!("{}:{}", self.aggregate_type, self.aggregate_id)
    }
}

/// Why a delivery failed; the event is retried with back-off.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// Something that reacts to domain events: e-mail, webhooks, live updates, plugins.
pub trait Subscriber: Send + Sync + 'static {
    /// A stable name; it keys the subscriber's cursor, so renaming replays history.
    fn name(&self) -> &'static str;
    /// Handles one event. Must be idempotent: delivery is at least once.
    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

impl TenantTx {
    /// Records a domain event; it becomes visible to subscribers only if this
    /// transaction commits.
    pub async fn emit(&mut self, event: NewEvent) -> Result<i64, StoreError> {
        if self.tenant().store().backend() == crate::store::Backend::Postgres
            && self.work_due_at.is_none()
        {
            // Event ids must become visible in id order, or the dispatcher's cursor
            // could pass an id whose transaction commits later. Writers that emit
            // events in one tenant therefore queue here until commit (SQLite's single
            // writer gives the same order by itself).
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(format!("portico-outbox:{}", self.tenant().id()))
                .execute(self.conn())
                .await?;
        }
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(event.aggregate_type)
        .bind(&event.aggregate_id)
        .bind(event.event_type)
        .bind(event.payload.to_string())
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        self.mark_work(now);
        Ok(id)
    }
}

/// Back-off for the n-th failed attempt: 1 s doubling to at most 1 h, with ±20 % jitter.
pub(crate) fn backoff_ms(attempts: i64) -> i64 {
    let base = 1000_i64
        .saturating_mul(1_i64 << attempts.clamp(0, 12))
        .min(3_600_000);
    let jitter = (rand::random::<f64>() * 0.4 - 0.2) * base as f64;
    base + jitter as i64
}

const BATCH: i64 = 200;

type EventRow = (i64, String, String, String, String, i64);

/// A parked event with its delivery state: (subscriber, event id, aggregate key,
/// attempts, next attempt, then the event's columns).
type ParkedRow = (
    String,
    i64,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
);

fn event_from_row(tenant_id: TenantId, row: EventRow) -> Event {
    let (id, aggregate_type, aggregate_id, event_type, payload, created_at) = row;
    Event {
        id,
        tenant_id,
        aggregate_type,
        aggregate_id,
        event_type,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at,
    }
}

/// Outcome of one dispatch pass over a tenant's outbox.
#[derive(Debug, Default, Clone, Copy)]
pub struct DispatchOutcome {
    /// Deliveries that succeeded.
    pub delivered: usize,
    /// Deliveries that failed and were parked.
    pub failed: usize,
    /// When this tenant's outbox next needs attention (`None`: nothing pending).
    pub next_due: Option<i64>,
    /// Age in milliseconds of the oldest event delivered in this pass (outbox lag).
    pub max_lag_ms: i64,
}

/// What one subscriber's part of a pass writes back, in the pass's one transaction.
#[derive(Default)]
struct Progress {
    /// Parked events delivered now.
    unparked: Vec<i64>,
    /// Parked events that failed again: (event id, next attempt, error).
    retried: Vec<(i64, i64, String)>,
    /// New events to park: (event id, aggregate key, next attempt, error).
    parked: Vec<(i64, String, i64, String)>,
    /// The new cursor, when new events were passed.
    cursor: Option<i64>,
}

/// Delivers a tenant's pending events to every subscriber, in one pass: one read
/// transaction for every subscriber's parked events, cursor and the new events
/// (read once for the subscribers at the same cursor), the deliveries, then one
/// write transaction recording every subscriber's progress. A crash before that
/// commit delivers the pass's events again (at least once, in order per aggregate).
pub async fn dispatch(
    db: &TenantDb,
    subscribers: &[Arc<dyn Subscriber>],
) -> Result<DispatchOutcome, StoreError> {
    let mut outcome = DispatchOutcome::default();
    if subscribers.is_empty() {
        return Ok(outcome);
    }
    let now = now_ms();
    let (parked, parked_keys, cursors, batches) = {
        let mut tx = db.read().await?;
        // Usually nobody has anything parked: one cheap query says so.
        let parking: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT subscriber FROM outbox_parked")
                .fetch_all(tx.conn())
                .await?;
        let mut parked: Vec<ParkedRow> = Vec::new();
        let mut parked_keys: HashMap<String, HashSet<String>> = HashMap::new();
        for name in parking {
            let rows: Vec<ParkedRow> = sqlx::query_as(
                "SELECT p.subscriber, p.event_id, p.aggregate_key, p.attempts, p.next_attempt_at, \
                        e.aggregate_type, e.aggregate_id, e.event_type, e.payload, e.created_at \
                 FROM outbox_parked p JOIN outbox_events e ON e.id = p.event_id \
                 WHERE p.subscriber = $1 ORDER BY p.event_id LIMIT 1000",
            )
            .bind(&name)
            .fetch_all(tx.conn())
            .await?;
            parked.extend(rows);
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT aggregate_key FROM outbox_parked WHERE subscriber = $1",
            )
            .bind(&name)
            .fetch_all(tx.conn())
            .await?;
            parked_keys.insert(name, keys.into_iter().collect());
        }
        let cursors: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT subscriber, last_event_id FROM outbox_cursors",
        )
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .collect();
        // Subscribers usually share a cursor: the events after each distinct one are
        // read once.
        let mut batches: HashMap<i64, Vec<EventRow>> = HashMap::new();
        for subscriber in subscribers {
            let cursor = cursors.get(subscriber.name()).copied().unwrap_or(0);
            if batches.contains_key(&cursor) {
                continue;
            }
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT id, aggregate_type, aggregate_id, event_type, payload, created_at \
                 FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(cursor)
            .bind(BATCH)
            .fetch_all(tx.conn())
            .await?;
            batches.insert(cursor, rows);
        }
        tx.rollback().await?;
        (parked, parked_keys, cursors, batches)
    };
    let mut progress: Vec<(&'static str, Progress)> = Vec::new();
    for subscriber in subscribers {
        let name = subscriber.name();
        let mut mine = Progress::default();
        // 1. Parked events, oldest first; a failure or a not-yet-due event blocks the
        //    rest of its aggregate for this pass.
        let mut blocked: HashSet<String> = HashSet::new();
        for (
            _,
            event_id,
            key,
            attempts,
            next_attempt_at,
            aggregate_type,
            aggregate_id,
            event_type,
            payload,
            created_at,
        ) in parked.iter().filter(|row| row.0 == name)
        {
            if blocked.contains(key) {
                continue;
            }
            if *next_attempt_at > now {
                note_due(&mut outcome, *next_attempt_at);
                blocked.insert(key.clone());
                continue;
            }
            let event = event_from_row(
                db.id(),
                (
                    *event_id,
                    aggregate_type.clone(),
                    aggregate_id.clone(),
                    event_type.clone(),
                    payload.clone(),
                    *created_at,
                ),
            );
            match deliver(db, subscriber.as_ref(), &event, &mut outcome).await {
                Ok(()) => mine.unparked.push(*event_id),
                Err(error) => {
                    let next = now + backoff_ms(*attempts);
                    mine.retried.push((*event_id, next, truncate(&error.0)));
                    note_due(&mut outcome, next);
                    blocked.insert(key.clone());
                }
            }
        }
        // 2. New events after the cursor. Aggregates with anything still parked queue
        //    behind it.
        let cursor = cursors.get(name).copied().unwrap_or(0);
        let events = batches.get(&cursor).map(Vec::as_slice).unwrap_or_default();
        if events.len() as i64 == BATCH {
            note_due(&mut outcome, now);
        }
        let mut parked_here = parked_keys.get(name).cloned().unwrap_or_default();
        for row in events {
            let event = event_from_row(db.id(), row.clone());
            let key = event.aggregate_key();
            mine.cursor = Some(event.id);
            if parked_here.contains(&key) {
                // Behind a failed event of the same aggregate: due as soon as that one
                // succeeds.
                mine.parked.push((
                    event.id,
                    key,
                    now,
                    "waiting for an earlier event".to_owned(),
                ));
                continue;
            }
            if let Err(error) = deliver(db, subscriber.as_ref(), &event, &mut outcome).await {
                let next = now + backoff_ms(0);
                note_due(&mut outcome, next);
                mine.parked
                    .push((event.id, key.clone(), next, truncate(&error.0)));
                parked_here.insert(key);
            }
        }
        progress.push((name, mine));
    }
    if progress.iter().all(|(_, p)| {
        p.unparked.is_empty() && p.retried.is_empty() && p.parked.is_empty() && p.cursor.is_none()
    }) {
        return Ok(outcome);
    }
    let mut tx = db.begin().await?;
    for (name, mine) in &progress {
        for event_id in &mine.unparked {
            sqlx::query("DELETE FROM outbox_parked WHERE subscriber = $1 AND event_id = $2")
                .bind(name)
                .bind(event_id)
                .execute(tx.conn())
                .await?;
        }
        for (event_id, next, error) in &mine.retried {
            sqlx::query(
                "UPDATE outbox_parked SET attempts = attempts + 1, next_attempt_at = $3, last_error = $4 \
                 WHERE subscriber = $1 AND event_id = $2",
            )
            .bind(name)
            .bind(event_id)
            .bind(next)
            .bind(error)
            .execute(tx.conn())
            .await?;
        }
        for (event_id, key, next_attempt_at, error) in &mine.parked {
            sqlx::query(
                "INSERT INTO outbox_parked (subscriber, event_id, aggregate_key, attempts, next_attempt_at, last_error) \
                 VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (subscriber, event_id) DO NOTHING",
            )
            .bind(name)
            .bind(event_id)
            .bind(key)
            .bind(next_attempt_at)
            .bind(error)
            .execute(tx.conn())
            .await?;
        }
        if let Some(last) = mine.cursor {
            sqlx::query(
                "INSERT INTO outbox_cursors (subscriber, last_event_id) VALUES ($1, $2) \
                 ON CONFLICT (subscriber) DO UPDATE SET last_event_id = excluded.last_event_id",
            )
            .bind(name)
            .bind(last)
            .execute(tx.conn())
            .await?;
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

fn note_due(outcome: &mut DispatchOutcome, due: i64) {
    outcome.next_due = Some(outcome.next_due.map_or(due, |known| known.min(due)));
}

async fn deliver(
    db: &TenantDb,
    subscriber: &dyn Subscriber,
    event: &Event,
    outcome: &mut DispatchOutcome,
) -> Result<(), DeliveryError> {
    let result = subscriber.deliver(db, event).await;
    match &result {
        Ok(()) => {
            outcome.delivered += 1;
            outcome.max_lag_ms = outcome.max_lag_ms.max(now_ms() - event.created_at);
        }
        Err(error) => {
            outcome.failed += 1;
            tracing::warn!(
                tenant = %db.slug(), subscriber = subscriber.name(), event_id = event.id,
                error = %error, "event delivery failed; parked for retry"
            );
        }
    }
    result
}

/// Removes delivered events older than `retention_ms` that every named subscriber
/// has passed and none has parked.
pub async fn prune(
    db: &TenantDb,
    subscribers: &[Arc<dyn Subscriber>],
    retention_ms: i64,
) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let cursors: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT subscriber, last_event_id FROM outbox_cursors")
            .fetch_all(tx.conn())
            .await?
            .into_iter()
            .collect();
    let mut floor = i64::MAX;
    for subscriber in subscribers {
        floor = floor.min(cursors.get(subscriber.name()).copied().unwrap_or(0));
    }
    if floor == i64::MAX {
        tx.rollback().await?;
        return Ok(0);
    }
    let removed = sqlx::query(
        "DELETE FROM outbox_events WHERE id <= $1 AND created_at < $2 \
         AND id NOT IN (SELECT event_id FROM outbox_parked)",
    )
    .bind(floor)
    .bind(now_ms() - retention_ms)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(removed)
}

/// Whether a tenant's outbox holds anything not yet delivered to `subscribers`
/// (used by the start-up sweep on SQLite).
pub(crate) async fn has_pending(
    db: &TenantDb,
    subscribers: &[Arc<dyn Subscriber>],
) -> Result<bool, StoreError> {
    let mut tx = db.read().await?;
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM outbox_events")
        .fetch_one(tx.conn())
        .await?;
    let parked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_parked")
        .fetch_one(tx.conn())
        .await?;
    let mut pending = parked > 0;
    if let Some(newest) = newest {
        for subscriber in subscribers {
            let cursor: Option<i64> = sqlx::query_scalar(
                "SELECT last_event_id FROM outbox_cursors WHERE subscriber = $1",
            )
            .bind(subscriber.name())
            .fetch_optional(tx.conn())
            .await?;
            pending |= cursor.unwrap_or(0) < newest;
        }
    }
    tx.rollback().await?;
    Ok(pending)
}

/// Keeps stored error texts bounded.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(1000).collect()
}
