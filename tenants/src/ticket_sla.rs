//! SLA policies and calendars as stored, and the SLA state of each ticket: derived by
//! [`crate::sla::derive_sla`] from the ticket's status history, its first public
//! response and the policy of its organization (or the tenant's default), and stored
//! on the ticket — `sla_state`, the due and breach instants — recomputed in the same
//! transaction as every change and by a job at the next instant the state changes
//! by itself. A policy change or a restart never corrupts it: a recomputation from
//! the history always gives the same answer.
//!
//! A change of state to at risk or breached is an event (`ticket.sla_warning`,
//! `ticket.sla_breached`); when the tenant set an escalation level, it also moves
//! the ticket to that support level (and queue) and says so (`ticket.escalated`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::sla::{self, Calendar, CalendarDefinition, SlaState, SlaTargets, StatusChange};
use crate::store::{TenantDb, TenantTx};
use crate::tickets::Priority;

/// The tenant setting naming the policy of tickets whose organization has none.
pub const DEFAULT_POLICY_SETTING: &str = "sla_default_policy";
/// The tenant setting: the support level a ticket moves to when its SLA is at risk
/// (0 or absent: no escalation).
pub const ESCALATION_LEVEL_SETTING: &str = "sla_escalation_level";
/// The tenant setting: the queue (key) an escalated ticket moves to, if any.
pub const ESCALATION_QUEUE_SETTING: &str = "sla_escalation_queue";
/// The job that recomputes a ticket's SLA when it changes by itself.
pub const SLA_CHECK_JOB: &str = "ticket.sla_check";

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn validate_key(key: &str) -> Result<(), StoreError> {
    crate::ticket_config::validate_key(key, "key")
}

/// A business-hours calendar.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoredCalendar {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Time zone, opening hours and holidays.
    pub definition: CalendarDefinition,
}

/// Adds a calendar, validated, audited.
pub async fn create_calendar(
    db: &TenantDb,
    calendar: StoredCalendar,
    actor: &str,
) -> Result<StoredCalendar, StoreError> {
    validate_key(&calendar.key)?;
    if calendar.name.trim().is_empty() || calendar.name.len() > 100 {
        return Err(invalid("name", "must be 1 to 100 characters"));
    }
    Calendar::parse(calendar.definition.clone())
        .map_err(|e| invalid("definition", e.to_string()))?;
    let definition = serde_json::to_string(&calendar.definition)
        .map_err(|e| invalid("definition", e.to_string()))?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO sla_calendars (key, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&calendar.key)
    .bind(calendar.name.trim())
    .bind(definition)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "calendar"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "sla_calendar.created",
        target: format!("calendar:{}", calendar.key),
        details: serde_json::json!({ "time_zone": calendar.definition.time_zone }),
    })
    .await?;
    tx.commit().await?;
    Ok(calendar)
}

/// Every calendar.
pub async fn calendars(db: &TenantDb) -> Result<Vec<StoredCalendar>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT key, name, definition FROM sla_calendars ORDER BY key")
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    rows.into_iter()
        .map(|(key, name, definition)| {
            Ok(StoredCalendar {
                key,
                name,
                definition: serde_json::from_str(&definition)
                    .map_err(|e| invalid("definition", e.to_string()))?,
            })
        })
        .collect()
}

/// A priority's targets, in business minutes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Until the first public staff response.
    #[serde(default)]
    pub first_response_minutes: Option<i64>,
    /// Until resolution (paused time not counted).
    #[serde(default)]
    pub resolution_minutes: Option<i64>,
}

/// An SLA policy (an organization's contract).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The calendar's key; none for 24 × 7.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Targets per priority (`critical`, `high`, `medium`, `low`).
    pub targets: BTreeMap<String, Target>,
    /// The share of a target, in percent, after which the ticket is at risk.
    #[serde(default = "eighty")]
    pub warning_percent: i64,
}

fn eighty() -> i64 {
    80
}

/// Ten years, in minutes: the longest target.
const MAX_TARGET_MINUTES: i64 = sla::MAX_BUSINESS_DURATION_MS / 60_000;

/// Adds a policy, validated, audited.
pub async fn create_policy(
    db: &TenantDb,
    policy: Policy,
    actor: &str,
) -> Result<Policy, StoreError> {
    validate_key(&policy.key)?;
    if policy.name.trim().is_empty() || policy.name.len() > 100 {
        return Err(invalid("name", "must be 1 to 100 characters"));
    }
    if !(1..=100).contains(&policy.warning_percent) {
        return Err(invalid("warning_percent", "must be 1 to 100"));
    }
    for (priority, target) in &policy.targets {
        Priority::parse(priority).map_err(|_| {
            invalid(
                "targets",
                format!("{priority} is not critical, high, medium or low"),
            )
        })?;
        for minutes in [target.first_response_minutes, target.resolution_minutes]
            .into_iter()
            .flatten()
        {
            if !(1..=MAX_TARGET_MINUTES).contains(&minutes) {
                return Err(invalid(
                    "targets",
                    format!("{priority}: a target is 1 to {MAX_TARGET_MINUTES} minutes"),
                ));
            }
        }
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let calendar_id: Option<i64> = match &policy.calendar {
        Some(key) => Some(
            sqlx::query_scalar("SELECT id FROM sla_calendars WHERE key = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| invalid("calendar", "is not a calendar of this service desk"))?,
        ),
        None => None,
    };
    let targets =
        serde_json::to_string(&policy.targets).map_err(|e| invalid("targets", e.to_string()))?;
    sqlx::query(
        "INSERT INTO sla_policies (key, name, calendar_id, targets, warning_percent, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&policy.key)
    .bind(policy.name.trim())
    .bind(calendar_id)
    .bind(targets)
    .bind(policy.warning_percent)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "policy"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "sla_policy.created",
        target: format!("policy:{}", policy.key),
        details: serde_json::json!({ "calendar": policy.calendar, "targets": policy.targets }),
    })
    .await?;
    tx.commit().await?;
    Ok(policy)
}

/// Every policy.
pub async fn policies(db: &TenantDb) -> Result<Vec<Policy>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<(String, String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT p.key, p.name, c.key, p.targets, p.warning_percent FROM sla_policies p \
         LEFT JOIN sla_calendars c ON c.id = p.calendar_id ORDER BY p.key",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    rows.into_iter()
        .map(|(key, name, calendar, targets, warning_percent)| {
            Ok(Policy {
                key,
                name,
                calendar,
                targets: serde_json::from_str(&targets)
                    .map_err(|e| invalid("targets", e.to_string()))?,
                warning_percent,
            })
        })
        .collect()
}

/// Gives an organization its policy (`None`: the tenant's default applies), audited.
/// Its open tickets are recomputed under the new contract.
pub async fn set_organization_policy(
    db: &TenantDb,
    organization_id: i64,
    policy: Option<&str>,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let policy_id: Option<i64> = match policy {
        Some(key) => Some(
            sqlx::query_scalar("SELECT id FROM sla_policies WHERE key = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?
                .ok_or_else(|| invalid("policy", "is not a policy of this service desk"))?,
        ),
        None => None,
    };
    let changed = sqlx::query("UPDATE organizations SET sla_policy_id = $2 WHERE id = $1")
        .bind(organization_id)
        .bind(policy_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("organization"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "organization.sla_policy_set",
        target: format!("organization:{organization_id}"),
        details: serde_json::json!({ "policy": policy }),
    })
    .await?;
    let open: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM tickets WHERE organization_id = $1 AND status_class NOT IN ('resolved', 'closed')",
    )
    .bind(organization_id)
    .fetch_all(tx.conn())
    .await?;
    for ticket in open {
        recompute(&mut tx, ticket, "system:sla").await?;
    }
    tx.commit().await
}

/// The key of an organization's own policy, `None` when the default applies.
pub async fn organization_policy(
    db: &TenantDb,
    organization_id: i64,
) -> Result<Option<String>, StoreError> {
    let mut tx = db.read().await?;
    let key: Option<Option<String>> = sqlx::query_scalar(
        "SELECT p.key FROM organizations o LEFT JOIN sla_policies p ON p.id = o.sla_policy_id WHERE o.id = $1",
    )
    .bind(organization_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    key.ok_or(StoreError::NotFound("organization"))
}

async fn setting(tx: &mut TenantTx, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM tenant_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(tx.conn())
            .await?;
    Ok(stored.and_then(|v| serde_json::from_str(&v).ok()))
}

/// The policy and calendar that apply to a ticket of `organization_id`.
async fn policy_for(
    tx: &mut TenantTx,
    organization_id: Option<i64>,
) -> Result<Option<(BTreeMap<String, Target>, i64, Calendar)>, StoreError> {
    type PolicyRow = (String, i64, Option<String>);
    let mut row: Option<PolicyRow> = None;
    if let Some(organization) = organization_id {
        row = sqlx::query_as(
            "SELECT p.targets, p.warning_percent, c.definition FROM organizations o \
             JOIN sla_policies p ON p.id = o.sla_policy_id LEFT JOIN sla_calendars c ON c.id = p.calendar_id \
             WHERE o.id = $1",
        )
        .bind(organization)
        .fetch_optional(tx.conn())
        .await?;
    }
    if row.is_none()
        && let Some(serde_json::Value::String(key)) = setting(tx, DEFAULT_POLICY_SETTING).await?
    {
        row = sqlx::query_as(
            "SELECT p.targets, p.warning_percent, c.definition FROM sla_policies p \
             LEFT JOIN sla_calendars c ON c.id = p.calendar_id WHERE p.key = $1",
        )
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
    }
    let Some((targets, warning_percent, definition)) = row else {
        return Ok(None);
    };
    let targets: BTreeMap<String, Target> =
        serde_json::from_str(&targets).map_err(|e| invalid("targets", e.to_string()))?;
    let calendar = match definition {
        Some(definition) => {
            let definition: CalendarDefinition = serde_json::from_str(&definition)
                .map_err(|e| invalid("definition", e.to_string()))?;
            Calendar::parse(definition).map_err(|e| invalid("definition", e.to_string()))?
        }
        None => Calendar::always_open(),
    };
    Ok(Some((targets, warning_percent, calendar)))
}

fn state_name(state: SlaState) -> &'static str {
    match state {
        SlaState::Ok => "ok",
        SlaState::AtRisk => "at_risk",
        SlaState::Breached => "breached",
        SlaState::Paused => "paused",
        SlaState::Met => "met",
    }
}

/// The SLA filter values of ticket lists.
pub const SLA_STATES: [&str; 5] = ["ok", "at_risk", "breached", "paused", "met"];

/// Recomputes ticket `ticket_id`'s SLA inside `tx` from its history, stores it,
/// schedules the next check, and on a change to at risk or breached emits the event
/// and escalates. Returns the new state.
pub(crate) async fn recompute(
    tx: &mut TenantTx,
    ticket_id: i64,
    actor: &str,
) -> Result<Option<&'static str>, StoreError> {
    type TicketSlaRow = (
        i64,
        i64,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        i64,
    );
    let (number, created_at, priority, organization_id, first_response_at, old_state, level): TicketSlaRow =
        sqlx::query_as(
            "SELECT number, created_at, priority, organization_id, first_response_at, sla_state, level \
             FROM tickets WHERE id = $1",
        )
        .bind(ticket_id)
        .fetch_one(tx.conn())
        .await?;
    let now = now_ms();
    let policy = policy_for(tx, organization_id).await?;
    let target = policy
        .as_ref()
        .and_then(|(targets, _, _)| targets.get(&priority).copied())
        .unwrap_or_default();
    let Some((_, warning_percent, calendar)) = policy
        .filter(|_| target.first_response_minutes.is_some() || target.resolution_minutes.is_some())
    else {
        sqlx::query(
            "UPDATE tickets SET sla_state = NULL, first_response_due_at = NULL, resolution_due_at = NULL, \
             sla_breached_at = NULL WHERE id = $1",
        )
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
        return Ok(None);
    };
    let history: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT at, pauses_sla, class FROM ticket_status_history WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket_id)
    .fetch_all(tx.conn())
    .await?;
    let changes: Vec<StatusChange<'_>> = history
        .iter()
        .map(|(at, pauses, class)| StatusChange {
            at_ms: *at,
            pauses_sla: *pauses != 0,
            class,
        })
        .collect();
    let report = sla::derive_sla(
        &SlaTargets {
            first_response_ms: target.first_response_minutes.map(|m| m * 60_000),
            resolution_ms: target.resolution_minutes.map(|m| m * 60_000),
            warning_fraction: Some(warning_percent as f64 / 100.0),
        },
        &calendar,
        &sla::TicketTimeline {
            created_at_ms: created_at,
            status_history: &changes,
            first_public_response_at_ms: first_response_at,
        },
        now,
    )
    .map_err(|e| invalid("sla", e.to_string()))?;
    let state = report.state.map(state_name);
    let breached_at = [report.first_response, report.resolution]
        .into_iter()
        .flatten()
        .filter_map(|c| c.breached_at_ms)
        .min();
    sqlx::query(
        "UPDATE tickets SET sla_state = $2, first_response_due_at = $3, resolution_due_at = $4, \
         sla_breached_at = $5 WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(state)
    .bind(report.first_response.and_then(|c| c.due_at_ms))
    .bind(report.resolution.and_then(|c| c.due_at_ms))
    .bind(breached_at)
    .execute(tx.conn())
    .await?;
    if let Some(at) = report.next_change_at_ms {
        tx.enqueue(crate::jobs::NewJob {
            kind: SLA_CHECK_JOB,
            payload: serde_json::json!({ "ticket_id": ticket_id }),
            run_at: at,
            max_attempts: 20,
            dedup_key: Some(format!("sla:{ticket_id}:{at}")),
        })
        .await?;
    }
    if state != old_state.as_deref()
        && let Some(new @ ("at_risk" | "breached")) = state
    {
        let event = if new == "at_risk" {
            "ticket.sla_warning"
        } else {
            "ticket.sla_breached"
        };
        tx.emit(NewEvent {
            aggregate_type: "ticket",
            aggregate_id: number.to_string(),
            event_type: event,
            payload: serde_json::json!({
                "number": number,
                "state": new,
                "first_response_due_at": report.first_response.and_then(|c| c.due_at_ms),
                "resolution_due_at": report.resolution.and_then(|c| c.due_at_ms),
                "actor": actor,
            }),
        })
        .await?;
        escalate(tx, ticket_id, number, level, new).await?;
    }
    Ok(state)
}

/// Moves a ticket whose SLA is at risk or breached to the tenant's escalation level
/// (and queue), once.
async fn escalate(
    tx: &mut TenantTx,
    ticket_id: i64,
    number: i64,
    level: i64,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(target) = setting(tx, ESCALATION_LEVEL_SETTING)
        .await?
        .and_then(|v| v.as_i64())
        .filter(|l| (2..=3).contains(l))
    else {
        return Ok(());
    };
    if level >= target {
        return Ok(());
    }
    let queue = match setting(tx, ESCALATION_QUEUE_SETTING).await? {
        Some(serde_json::Value::String(key)) => {
            sqlx::query_scalar::<_, i64>("SELECT id FROM ticket_queues WHERE key = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?
        }
        _ => None,
    };
    sqlx::query(
        "UPDATE tickets SET level = $2, queue_id = COALESCE($3, queue_id), updated_at = $4 WHERE id = $1",
    )
    .bind(ticket_id)
    .bind(target)
    .bind(queue)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.escalated",
        payload: serde_json::json!({
            "number": number,
            "from_level": level,
            "to_level": target,
            "queue_changed": queue.is_some(),
            "reason": reason,
        }),
    })
    .await?;
    Ok(())
}

/// Runs [`SLA_CHECK_JOB`]: recomputes the ticket's SLA now (firing warnings and
/// breaches as they come due). Idempotent.
#[derive(Debug, Default)]
pub struct SlaCheck;

impl crate::jobs::JobHandler for SlaCheck {
    fn kind(&self) -> &'static str {
        SLA_CHECK_JOB
    }

    fn run<'a>(
        &'a self,
        scope: crate::jobs::JobScope<'a>,
        payload: &'a serde_json::Value,
    ) -> futures::future::BoxFuture<'a, Result<(), crate::jobs::JobError>> {
        Box::pin(async move {
            let crate::jobs::JobScope::Tenant(db) = scope else {
                return Err(crate::jobs::JobError::Permanent(
                    "the SLA check is a tenant job".to_owned(),
                ));
            };
            let Some(ticket_id) = payload["ticket_id"].as_i64() else {
                return Err(crate::jobs::JobError::Permanent(
                    "payload needs ticket_id".to_owned(),
                ));
            };
            let run = async {
                let mut tx = db.begin().await?;
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
                        .bind(ticket_id)
                        .fetch_optional(tx.conn())
                        .await?;
                if exists.is_some() {
                    recompute(&mut tx, ticket_id, "system:sla").await?;
                }
                tx.commit().await
            };
            run.await
                .map_err(|e: StoreError| crate::jobs::JobError::Retry(e.to_string()))
        })
    }
}
