//! Webhooks in storage: the endpoints a tenant's MSP admins subscribe to event types,
//! the deliveries queued for them (one per endpoint and outbox event), and the
//! attempts made (the delivery log).
//!
//! Scheduling goes through the tenant's durable jobs: every delivery due for an
//! attempt has a `webhook.deliver` job due at the same time, enqueued in the
//! transaction that queued the delivery or recorded its previous attempt, so the
//! work index finds the tenant and no one polls every tenant. Deliveries themselves
//! are claimed by a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer
//! on SQLite), so two instances never send the same attempt at once. Signing,
//! HTTP and the retry schedule live in `portico-core`.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::jobs::NewJob;
use crate::outbox::truncate;
use crate::store::{TenantDb, TenantTx};

/// The job kind that attempts due deliveries.
pub const DELIVERY_JOB: &str = "webhook.deliver";

/// The event-type filter that subscribes an endpoint to every event.
pub const ALL_EVENTS: &str = "*";

/// An endpoint to create.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// Where deliveries are POSTed (validated by the caller).
    pub url: String,
    /// What it is for, in the admin's words.
    pub description: String,
    /// Event types (`ticket.created`), prefixes (`ticket.*`) or `*`.
    pub event_types: Vec<String>,
}

/// An endpoint as shown to admins (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// Id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event-type filter.
    pub event_types: Vec<String>,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled (`gone`: the receiver answered 410; `admin`).
    pub disabled_reason: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

type EndpointRow = (i64, String, String, String, i64, Option<String>, i64, i64);

const ENDPOINT_COLUMNS: &str = "SELECT id, url, description, event_types, enabled, disabled_reason, created_at, updated_at \
     FROM webhook_endpoints";

fn endpoint(row: EndpointRow) -> Endpoint {
    let (id, url, description, event_types, enabled, disabled_reason, created_at, updated_at) = row;
    Endpoint {
        id,
        url,
        description,
        event_types: serde_json::from_str(&event_types).unwrap_or_default(),
        enabled: enabled != 0,
        disabled_reason,
        created_at,
        updated_at,
    }
}

/// Checks an event-type filter: `*`, or event types and `prefix.*` patterns made of
/// lowercase letters, digits, `_` and dots. Duplicates are dropped, order kept.
pub fn parse_event_types(types: &[String]) -> Result<Vec<String>, StoreError> {
    let invalid = |reason: &str| StoreError::Invalid {
        field: "event_types",
        reason: reason.to_owned(),
    };
    if types.is_empty() {
        return Err(invalid("name at least one event type, or `*` for all"));
    }
    if types.len() > 100 {
        return Err(invalid("at most 100 event types"));
    }
    let mut parsed: Vec<String> = Vec::new();
    for raw in types {
        let value = raw.trim();
        let body = value.strip_suffix(".*").unwrap_or(value);
        let well_formed = value == ALL_EVENTS
            || (!body.is_empty()
                && body.len() <= 100
                && !body.starts_with('.')
                && !body.ends_with('.')
                && !body.contains("..")
                && body.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                }));
        if !well_formed {
            return Err(invalid(
                "each must be an event type such as `ticket.created`, a prefix such as `ticket.*`, or `*`",
            ));
        }
        if !parsed.iter().any(|known| known == value) {
            parsed.push(value.to_owned());
        }
    }
    if parsed.len() > 1 && parsed.iter().any(|t| t == ALL_EVENTS) {
        return Err(invalid(
            "`*` already subscribes to every event; list nothing else",
        ));
    }
    Ok(parsed)
}

/// Whether an endpoint with this filter receives `event_type`.
pub fn subscribes(filter: &[String], event_type: &str) -> bool {
    filter.iter().any(|pattern| {
        pattern == ALL_EVENTS
            || pattern == event_type
            || pattern
                .strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('.') && event_type.starts_with(prefix))
    })
}

/// Creates an endpoint; `seal` turns the new endpoint's id into its sealed signing
/// secret (the sealing context names the endpoint). Audited in the same transaction.
pub async fn create_endpoint(
    db: &TenantDb,
    new: NewEndpoint,
    seal: impl FnOnce(i64) -> String,
    actor: &str,
) -> Result<Endpoint, StoreError> {
    let event_types = parse_event_types(&new.event_types)?;
    let description = new.description.trim().to_owned();
    if description.chars().count() > 500 {
        return Err(StoreError::Invalid {
            field: "description",
            reason: "must be at most 500 characters".to_owned(),
        });
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (url, description, event_types, enabled, sealed_secret, created_at, updated_at) \
         VALUES ($1, $2, $3, 1, '', $4, $4) RETURNING id",
    )
    .bind(&new.url)
    .bind(&description)
    .bind(serde_json::Value::from(event_types.clone()).to_string())
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query("UPDATE webhook_endpoints SET sealed_secret = $2 WHERE id = $1")
        .bind(id)
        .bind(seal(id))
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "webhook.created",
        target: format!("webhook:{id}"),
        details: serde_json::json!({ "url": &new.url, "event_types": &event_types }),
    })
    .await?;
    let created = fetch_endpoint(&mut tx, id).await?;
    tx.commit().await?;
    Ok(created)
}

async fn fetch_endpoint(tx: &mut TenantTx, id: i64) -> Result<Endpoint, StoreError> {
    let row: Option<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ENDPOINT_COLUMNS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(endpoint).ok_or(StoreError::NotFound("webhook"))
}

/// The tenant's endpoints, oldest first.
pub async fn list_endpoints(db: &TenantDb) -> Result<Vec<Endpoint>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<EndpointRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ENDPOINT_COLUMNS} ORDER BY id"
    )))
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(endpoint).collect())
}

/// One endpoint.
pub async fn get_endpoint(db: &TenantDb, id: i64) -> Result<Endpoint, StoreError> {
    let mut tx = db.read().await?;
    let found = fetch_endpoint(&mut tx, id).await;
    tx.rollback().await?;
    found
}

/// Removes an endpoint with its deliveries and their attempts; audited.
pub async fn delete_endpoint(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let url: Option<String> = sqlx::query_scalar("SELECT url FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    let Some(url) = url else {
        tx.rollback().await?;
        return Err(StoreError::NotFound("webhook"));
    };
    // Explicit rather than left to ON DELETE CASCADE, which SQLite applies only with
    // foreign keys switched on for the connection.
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "webhook.deleted",
        target: format!("webhook:{id}"),
        details: serde_json::json!({ "url": url }),
    })
    .await?;
    tx.commit().await
}

/// Enables an endpoint (`reason` `None`) or disables it with a reason; audited.
pub async fn set_enabled(
    db: &TenantDb,
    id: i64,
    disabled_reason: Option<&str>,
    actor: &str,
) -> Result<Endpoint, StoreError> {
    let mut tx = db.begin().await?;
    set_enabled_in(&mut tx, id, disabled_reason, actor).await?;
    let changed = fetch_endpoint(&mut tx, id).await?;
    tx.commit().await?;
    Ok(changed)
}

async fn set_enabled_in(
    tx: &mut TenantTx,
    id: i64,
    disabled_reason: Option<&str>,
    actor: &str,
) -> Result<(), StoreError> {
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET enabled = $2, disabled_reason = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(i64::from(disabled_reason.is_none()))
    .bind(disabled_reason)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("webhook"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: if disabled_reason.is_none() {
            "webhook.enabled"
        } else {
            "webhook.disabled"
        },
        target: format!("webhook:{id}"),
        details: serde_json::json!({ "reason": disabled_reason }),
    })
    .await
}

/// Replaces an endpoint's signing secret (sealed by the caller); audited.
pub async fn replace_secret(
    db: &TenantDb,
    id: i64,
    sealed_secret: &str,
    actor: &str,
) -> Result<Endpoint, StoreError> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE webhook_endpoints SET sealed_secret = $2, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(sealed_secret)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        tx.rollback().await?;
        return Err(StoreError::NotFound("webhook"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "webhook.secret_rotated",
        target: format!("webhook:{id}"),
        details: serde_json::json!({}),
    })
    .await?;
    let changed = fetch_endpoint(&mut tx, id).await?;
    tx.commit().await?;
    Ok(changed)
}

fn delivery_job(delivery_id: i64, run_at: i64, dedup_key: Option<String>) -> NewJob {
    NewJob {
        kind: DELIVERY_JOB,
        payload: serde_json::json!({ "delivery_id": delivery_id }),
        run_at,
        // The job only carries the attempt; its own retries cover storage failures.
        max_attempts: 10,
        dedup_key,
    }
}

/// Queues one delivery of an outbox event to every enabled endpoint subscribed to
/// its type and created no later than the event, with a job to attempt each now.
/// Idempotent per (endpoint, event): an event delivered again to the subscriber
/// queues nothing new. Returns the ids of the deliveries it created.
pub async fn enqueue_deliveries(
    db: &TenantDb,
    event_id: i64,
    event_type: &str,
    event_created_at: i64,
    body: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let endpoints: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, event_types FROM webhook_endpoints WHERE enabled = 1 AND created_at <= $1 ORDER BY id",
    )
    .bind(event_created_at)
    .fetch_all(tx.conn())
    .await?;
    let now = now_ms();
    let mut created = Vec::new();
    for (endpoint_id, filter) in endpoints {
        let filter: Vec<String> = serde_json::from_str(&filter).unwrap_or_default();
        if !subscribes(&filter, event_type) {
            continue;
        }
        let message_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, message_id, payload, \
                attempts, next_attempt_at, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, 'pending', $6, $6) \
             ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id",
        )
        .bind(endpoint_id)
        .bind(event_id)
        .bind(event_type)
        .bind(&message_id)
        .bind(body)
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(id) = id {
            tx.enqueue(delivery_job(id, now, Some(format!("webhook:{id}:0"))))
                .await?;
            created.push(id);
        }
    }
    tx.commit().await?;
    Ok(created)
}

/// A delivery claimed for one attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// Delivery id.
    pub id: i64,
    /// Its endpoint.
    pub endpoint_id: i64,
    /// The endpoint's URL.
    pub url: String,
    /// Whether the endpoint is enabled.
    pub endpoint_enabled: bool,
    /// The endpoint's sealed signing secret.
    pub sealed_secret: String,
    /// The `webhook-id`.
    pub message_id: String,
    /// The event type.
    pub event_type: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Claims up to `limit` due deliveries for `lease_ms` milliseconds. A claimed
/// delivery is not claimed again until its attempt is recorded or the lease ends
/// (a crashed instance), however many instances ask.
pub async fn claim_due(
    db: &TenantDb,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let claim = db.store().backend().pick(
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $3 \
            AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4 \
            FOR UPDATE SKIP LOCKED) \
         RETURNING id, endpoint_id, message_id, event_type, payload, attempts",
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $3 \
            AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4) \
         RETURNING id, endpoint_id, message_id, event_type, payload, attempts",
    );
    let now = now_ms();
    let mut tx = db.begin().await?;
    let rows: Vec<(i64, i64, String, String, String, i64)> = sqlx::query_as(claim)
        .bind(db.store().instance_id())
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit.max(1))
        .fetch_all(tx.conn())
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, endpoint_id, message_id, event_type, payload, attempts) in rows {
        let (url, enabled, sealed_secret): (String, i64, String) = sqlx::query_as(
            "SELECT url, enabled, sealed_secret FROM webhook_endpoints WHERE id = $1",
        )
        .bind(endpoint_id)
        .fetch_one(tx.conn())
        .await?;
        claimed.push(ClaimedDelivery {
            id,
            endpoint_id,
            url,
            endpoint_enabled: enabled != 0,
            sealed_secret,
            message_id,
            event_type,
            payload,
            attempts,
        });
    }
    claimed.sort_by_key(|d| d.id);
    tx.commit().await?;
    Ok(claimed)
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered.
    Succeeded,
    /// Failed; try again at this time (Unix milliseconds).
    RetryAt(i64),
    /// Failed for good (the schedule is spent).
    Failed,
    /// Failed, and the endpoint is disabled with this reason (the receiver is gone).
    DisableEndpoint(&'static str),
}

/// One attempt, as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: i64,
    /// Unix milliseconds.
    pub started_at: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// The receiver's status, if it answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did (no answer, timeout, refused address, status).
    pub error: Option<String>,
    /// The beginning of the receiver's answer.
    pub response_excerpt: Option<String>,
}

/// Records the attempt just made on a claimed delivery and what follows from it:
/// the delivery's new state, the job for its next attempt, or the endpoint disabled.
/// Nothing is written if the lease was lost meanwhile (another instance took over).
pub async fn record_attempt(
    db: &TenantDb,
    delivery: &ClaimedDelivery,
    attempt: &Attempt,
    verdict: &Verdict,
) -> Result<(), StoreError> {
    let (state, next_attempt_at) = match verdict {
        Verdict::Succeeded => ("succeeded", None),
        Verdict::RetryAt(at) => ("pending", Some(*at)),
        Verdict::Failed | Verdict::DisableEndpoint(_) => ("failed", None),
    };
    let error = attempt.error.as_deref().map(truncate);
    let excerpt = attempt.response_excerpt.as_deref().map(truncate);
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET state = $3, attempts = $4, next_attempt_at = $5, \
            last_status_code = $6, last_error = $7, response_excerpt = $8, last_attempt_at = $9, \
            updated_at = $10, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2",
    )
    .bind(delivery.id)
    .bind(db.store().instance_id())
    .bind(state)
    .bind(attempt.attempt)
    .bind(next_attempt_at)
    .bind(attempt.status_code)
    .bind(error.as_deref())
    .bind(excerpt.as_deref())
    .bind(attempt.started_at)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if updated == 0 {
        tx.rollback().await?;
        tracing::warn!(
            delivery_id = delivery.id,
            "webhook attempt not recorded: the lease was lost"
        );
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(delivery.id)
    .bind(attempt.attempt)
    .bind(attempt.started_at)
    .bind(attempt.duration_ms)
    .bind(attempt.status_code)
    .bind(error.as_deref())
    .bind(excerpt.as_deref())
    .execute(tx.conn())
    .await?;
    match verdict {
        Verdict::RetryAt(at) => {
            let key = format!("webhook:{}:{}", delivery.id, attempt.attempt);
            tx.enqueue(delivery_job(delivery.id, *at, Some(key)))
                .await?;
        }
        Verdict::DisableEndpoint(reason) => {
            set_enabled_in(&mut tx, delivery.endpoint_id, Some(reason), "system").await?;
        }
        Verdict::Succeeded | Verdict::Failed => {}
    }
    tx.commit().await
}

/// Gives up on a claimed delivery without an attempt (its endpoint was disabled, or
/// its secret cannot be opened).
pub async fn abandon(
    db: &TenantDb,
    delivery: &ClaimedDelivery,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = $3, \
            updated_at = $4, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2",
    )
    .bind(delivery.id)
    .bind(db.store().instance_id())
    .bind(truncate(reason))
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// A delivery in the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Id.
    pub id: i64,
    /// Its endpoint.
    pub endpoint_id: i64,
    /// The outbox event delivered.
    pub event_id: i64,
    /// Its type.
    pub event_type: String,
    /// The `webhook-id` header.
    pub message_id: String,
    /// The JSON body sent.
    pub payload: serde_json::Value,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<i64>,
    /// The last status the receiver answered.
    pub last_status_code: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The beginning of the last answer.
    pub response_excerpt: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// When the last attempt started.
    pub last_attempt_at: Option<i64>,
    /// Every attempt, first first.
    pub attempt_log: Vec<Attempt>,
}

type DeliveryRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
);

const DELIVERY_COLUMNS: &str = "SELECT id, endpoint_id, event_id, event_type, message_id, payload, state, attempts, \
        next_attempt_at, last_status_code, last_error, response_excerpt, created_at, updated_at, last_attempt_at \
     FROM webhook_deliveries";

fn delivery(row: DeliveryRow) -> Delivery {
    let (
        id,
        endpoint_id,
        event_id,
        event_type,
        message_id,
        payload,
        state,
        attempts,
        next_attempt_at,
        last_status_code,
        last_error,
        response_excerpt,
        created_at,
        updated_at,
        last_attempt_at,
    ) = row;
    Delivery {
        id,
        endpoint_id,
        event_id,
        event_type,
        message_id,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        state,
        attempts,
        next_attempt_at,
        last_status_code,
        last_error,
        response_excerpt,
        created_at,
        updated_at,
        last_attempt_at,
        attempt_log: Vec::new(),
    }
}

/// (attempt, started_at, duration_ms, status_code, error, response_excerpt).
type AttemptRow = (i64, i64, i64, Option<i64>, Option<String>, Option<String>);

async fn attach_attempts(tx: &mut TenantTx, deliveries: &mut [Delivery]) -> Result<(), StoreError> {
    for delivery in deliveries {
        let rows: Vec<AttemptRow> = sqlx::query_as(
            "SELECT attempt, started_at, duration_ms, status_code, error, response_excerpt \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery.id)
        .fetch_all(tx.conn())
        .await?;
        delivery.attempt_log = rows
            .into_iter()
            .map(
                |(attempt, started_at, duration_ms, status_code, error, response_excerpt)| {
                    Attempt {
                        attempt,
                        started_at,
                        duration_ms,
                        status_code,
                        error,
                        response_excerpt,
                    }
                },
            )
            .collect();
    }
    Ok(())
}

/// A page of an endpoint's delivery log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// An endpoint's deliveries with their attempts, newest first, `limit` at a time
/// after `cursor` (from the previous page).
pub async fn list_deliveries(
    db: &TenantDb,
    endpoint_id: i64,
    cursor: Option<&str>,
    limit: i64,
) -> Result<DeliveryPage, StoreError> {
    let after: Option<i64> = match cursor {
        Some(cursor) => Some(cursor.parse().map_err(|_| StoreError::Invalid {
            field: "after",
            reason: "is not a cursor from a previous page".to_owned(),
        })?),
        None => None,
    };
    let limit = limit.clamp(1, 100);
    let mut tx = db.read().await?;
    fetch_endpoint(&mut tx, endpoint_id).await?;
    let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DELIVERY_COLUMNS} WHERE endpoint_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
    )))
    .bind(endpoint_id)
    .bind(after.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(tx.conn())
    .await?;
    let mut deliveries: Vec<Delivery> = rows.into_iter().map(delivery).collect();
    let next_cursor = if deliveries.len() as i64 > limit {
        deliveries.truncate(limit as usize);
        deliveries.last().map(|d| d.id.to_string())
    } else {
        None
    };
    attach_attempts(&mut tx, &mut deliveries).await?;
    tx.rollback().await?;
    Ok(DeliveryPage {
        deliveries,
        next_cursor,
    })
}

/// One delivery of an endpoint, with its attempts.
pub async fn get_delivery(
    db: &TenantDb,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<Delivery, StoreError> {
    let mut tx = db.read().await?;
    let found = fetch_delivery(&mut tx, endpoint_id, delivery_id).await;
    tx.rollback().await?;
    found
}

async fn fetch_delivery(
    tx: &mut TenantTx,
    endpoint_id: i64,
    delivery_id: i64,
) -> Result<Delivery, StoreError> {
    let row: Option<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DELIVERY_COLUMNS} WHERE endpoint_id = $1 AND id = $2"
    )))
    .bind(endpoint_id)
    .bind(delivery_id)
    .fetch_optional(tx.conn())
    .await?;
    let mut found = vec![row.map(delivery).ok_or(StoreError::NotFound("delivery"))?];
    attach_attempts(tx, &mut found).await?;
    Ok(found.remove(0))
}

/// Sends a delivery again now, whatever its state: one more attempt (automatic
/// retries continue after it only while the schedule has attempts left). Refused
/// while an attempt is in flight or the endpoint is disabled; audited.
pub async fn redeliver(
    db: &TenantDb,
    endpoint_id: i64,
    delivery_id: i64,
    actor: &str,
) -> Result<Delivery, StoreError> {
    let mut tx = db.begin().await?;
    let endpoint = fetch_endpoint(&mut tx, endpoint_id).await?;
    fetch_delivery(&mut tx, endpoint_id, delivery_id).await?;
    if !endpoint.enabled {
        tx.rollback().await?;
        return Err(StoreError::Invalid {
            field: "webhook",
            reason: "is disabled; enable it before sending again".to_owned(),
        });
    }
    let now = now_ms();
    let changed = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, updated_at = $3 \
         WHERE id = $1 AND endpoint_id = $2 AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(delivery_id)
    .bind(endpoint_id)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        tx.rollback().await?;
        return Err(StoreError::Conflict("delivery attempt in progress"));
    }
    // No dedup key: a job finding nothing due (this attempt already made) does nothing.
    tx.enqueue(delivery_job(delivery_id, now, None)).await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "webhook.redelivered",
        target: format!("webhook:{endpoint_id}"),
        details: serde_json::json!({ "delivery_id": delivery_id }),
    })
    .await?;
    let found = fetch_delivery(&mut tx, endpoint_id, delivery_id).await?;
    tx.commit().await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Store, StoreOptions, TenantSlug, migrate, registry};

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn filters_match_exact_types_prefixes_and_everything() {
        assert!(subscribes(&types(&["*"]), "ticket.created"));
        assert!(subscribes(&types(&["ticket.created"]), "ticket.created"));
        assert!(!subscribes(
            &types(&["ticket.created"]),
            "ticket.status_changed"
        ));
        assert!(subscribes(&types(&["ticket.*"]), "ticket.status_changed"));
        assert!(!subscribes(&types(&["ticket.*"]), "tickets.created"));
        assert!(!subscribes(&types(&["user.*"]), "ticket.created"));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            vec![],
            types(&[""]),
            types(&["Ticket.Created"]),
            types(&["ticket..created"]),
            types(&["*", "ticket.created"]),
            types(&["ticket.*.x"]),
            types(&["*.created"]),
        ] {
            assert!(parse_event_types(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_event_types(&types(&["ticket.created", " ticket.created", "user.*"]))
                .expect("valid"),
            types(&["ticket.created", "user.*"])
        );
    }

    async fn sqlite_tenant() -> (tempfile::TempDir, Store, TenantDb) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(StoreOptions::sqlite(dir.path()))
            .await
            .expect("store");
        migrate::migrate_platform(&store).await.expect("platform");
        let slug = TenantSlug::parse("acme").expect("slug");
        registry::create_tenant(&store, &slug, "Acme")
            .await
            .expect("tenant");
        let db = store.tenant_by_slug("acme").await.expect("tenant");
        (dir, store, db)
    }

    fn new_endpoint(filter: &[&str]) -> NewEndpoint {
        NewEndpoint {
            url: "https://hooks.example.com/in".to_owned(),
            description: "test".to_owned(),
            event_types: types(filter),
        }
    }

    #[tokio::test]
    async fn an_event_delivered_twice_queues_one_delivery_per_subscribed_endpoint() {
        let (_dir, _store, db) = sqlite_tenant().await;
        let all = create_endpoint(
            &db,
            new_endpoint(&["*"]),
            |id| format!("sealed-{id}"),
            "test",
        )
        .await
        .expect("endpoint");
        create_endpoint(&db, new_endpoint(&["user.*"]), |_| "s".into(), "test")
            .await
            .expect("endpoint");
        let body = r#"{"type":"ticket.created"}"#;
        let first = enqueue_deliveries(&db, 7, "ticket.created", now_ms(), body)
            .await
            .expect("enqueue");
        assert_eq!(first.len(), 1, "only the endpoint subscribed to everything");
        let again = enqueue_deliveries(&db, 7, "ticket.created", now_ms(), body)
            .await
            .expect("enqueue");
        assert!(again.is_empty(), "at-least-once redelivery adds nothing");
        let old = enqueue_deliveries(&db, 8, "ticket.created", all.created_at - 1, body)
            .await
            .expect("enqueue");
        assert!(
            old.is_empty(),
            "events older than the endpoint are not sent"
        );
        let page = list_deliveries(&db, all.id, None, 10).await.expect("log");
        assert_eq!(page.deliveries.len(), 1);
        assert_eq!(page.deliveries[0].state, "pending");
        let jobs = crate::jobs::list_tenant_jobs(&db).await.expect("jobs");
        assert_eq!(
            jobs.iter().filter(|j| j.kind == DELIVERY_JOB).count(),
            1,
            "one job per delivery"
        );
    }

    #[tokio::test]
    async fn a_claimed_delivery_is_not_claimed_again_and_a_failure_schedules_the_next_attempt() {
        let (_dir, _store, db) = sqlite_tenant().await;
        let endpoint = create_endpoint(&db, new_endpoint(&["*"]), |_| "s".into(), "test")
            .await
            .expect("endpoint");
        enqueue_deliveries(&db, 1, "ticket.created", now_ms(), "{}")
            .await
            .expect("enqueue");
        let claimed = claim_due(&db, 10, 60_000).await.expect("claim");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 0);
        assert!(
            claim_due(&db, 10, 60_000).await.expect("claim").is_empty(),
            "leased"
        );
        let retry_at = now_ms() + 60_000;
        record_attempt(
            &db,
            &claimed[0],
            &Attempt {
                attempt: 1,
                started_at: now_ms(),
                duration_ms: 3,
                status_code: Some(500),
                error: Some("status 500".into()),
                response_excerpt: Some("oops".into()),
            },
            &Verdict::RetryAt(retry_at),
        )
        .await
        .expect("recorded");
        assert!(
            claim_due(&db, 10, 60_000).await.expect("claim").is_empty(),
            "not due yet"
        );
        let delivery = get_delivery(&db, endpoint.id, claimed[0].id)
            .await
            .expect("delivery");
        assert_eq!(delivery.state, "pending");
        assert_eq!(delivery.next_attempt_at, Some(retry_at));
        assert_eq!(delivery.attempt_log.len(), 1);
        assert_eq!(delivery.attempt_log[0].status_code, Some(500));

        let again = redeliver(&db, endpoint.id, delivery.id, "test")
            .await
            .expect("redeliver");
        assert_eq!(again.state, "pending");
        let claimed = claim_due(&db, 10, 60_000).await.expect("claim");
        assert_eq!(claimed.len(), 1, "due now");
        record_attempt(
            &db,
            &claimed[0],
            &Attempt {
                attempt: 2,
                started_at: now_ms(),
                duration_ms: 3,
                status_code: Some(410),
                error: Some("status 410".into()),
                response_excerpt: None,
            },
            &Verdict::DisableEndpoint("gone"),
        )
        .await
        .expect("recorded");
        let endpoint = get_endpoint(&db, endpoint.id).await.expect("endpoint");
        assert!(!endpoint.enabled);
        assert_eq!(endpoint.disabled_reason.as_deref(), Some("gone"));
        assert!(matches!(
            redeliver(&db, endpoint.id, delivery.id, "test").await,
            Err(StoreError::Invalid { .. })
        ));
        delete_endpoint(&db, endpoint.id, "test")
            .await
            .expect("deleted");
        assert!(matches!(
            get_endpoint(&db, endpoint.id).await,
            Err(StoreError::NotFound(_))
        ));
    }
}
