//! The MSP's ticket workflow: who may move a ticket from which status class to which
//! status, per role, and the technicians of each queue.
//!
//! A role without rules keeps the built-in defaults: technicians move a ticket to any
//! status; a requester's side (main contacts, contacts) may close an unfinished
//! ticket and reopen a resolved or closed one (to an `open`-class status; whether
//! reopening is allowed at all is the tenant's reopen setting). Once an MSP admin
//! sets rules for a role, a person of that role may make exactly the moves the rules
//! list — `from` a status class or `*`, `to` a status key or `*` — and no other.
//! MSP admins are never restricted (they can always repair a ticket), nor is Portico
//! itself (auto-close, e-mail replies under the reopen policy). The check runs inside
//! the transaction that moves the ticket, so a rule change applies at once.

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::ids::Role;
use crate::store::{TenantDb, TenantTx};
use crate::tickets::{STATUS_CLASSES, StatusRow};

/// Code of the refusal of a move the workflow does not allow.
pub const TRANSITION_NOT_ALLOWED: &str = "transition_not_allowed";

/// One allowed move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The ticket's present status class, or `*` for any.
    pub from: String,
    /// The status key it may move to, or `*` for any.
    pub to: String,
}

/// A role's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleWorkflow {
    /// `technician`, `main_contact` or `contact`.
    pub role: String,
    /// Whether the MSP set rules (otherwise the built-in defaults apply).
    pub configured: bool,
    /// The allowed moves when configured.
    pub rules: Vec<Transition>,
}

/// Roles whose moves a workflow governs.
const GOVERNED: [Role; 3] = [Role::Technician, Role::MainContact, Role::Contact];

fn governed(role: &str) -> Result<Role, StoreError> {
    let parsed = Role::parse(role).ok();
    match parsed {
        Some(role) if GOVERNED.contains(&role) => Ok(role),
        _ => Err(StoreError::Invalid {
            field: "role",
            reason: "must be technician, main_contact or contact (MSP admins are never restricted)"
                .to_owned(),
        }),
    }
}

/// The workflow of every governed role.
pub async fn workflows(db: &TenantDb) -> Result<Vec<RoleWorkflow>, StoreError> {
    let mut tx = db.read().await?;
    let configured: Vec<String> = sqlx::query_scalar("SELECT role FROM ticket_workflow_roles")
        .fetch_all(tx.conn())
        .await?;
    let rules: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT role, from_class, to_status FROM ticket_transition_rules ORDER BY role, from_class, to_status",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(GOVERNED
        .iter()
        .map(|role| RoleWorkflow {
            role: role.as_str().to_owned(),
            configured: configured.iter().any(|r| r == role.as_str()),
            rules: rules
                .iter()
                .filter(|(r, _, _)| r == role.as_str())
                .map(|(_, from, to)| Transition {
                    from: from.clone(),
                    to: to.clone(),
                })
                .collect(),
        })
        .collect())
}

/// Replaces `role`'s rules (an empty list: that role may move no ticket), audited.
pub async fn set_workflow(
    db: &TenantDb,
    role: &str,
    rules: &[Transition],
    actor: &str,
) -> Result<RoleWorkflow, StoreError> {
    let role = governed(role)?;
    if rules.len() > 200 {
        return Err(StoreError::Invalid {
            field: "rules",
            reason: "at most 200 rules per role".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let statuses: Vec<String> = sqlx::query_scalar("SELECT key FROM ticket_statuses")
        .fetch_all(tx.conn())
        .await?;
    let mut kept: Vec<Transition> = Vec::new();
    for rule in rules {
        if rule.from != "*" && !STATUS_CLASSES.contains(&rule.from.as_str()) {
            return Err(StoreError::Invalid {
                field: "from",
                reason: format!(
                    "{:?} is not * nor a status class (new, open, waiting, paused, resolved, closed)",
                    rule.from
                ),
            });
        }
        if rule.to != "*" && !statuses.contains(&rule.to) {
            return Err(StoreError::Invalid {
                field: "to",
                reason: format!("{:?} is not * nor a status of this service desk", rule.to),
            });
        }
        if !kept.contains(rule) {
            kept.push(rule.clone());
        }
    }
    kept.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    sqlx::query("DELETE FROM ticket_workflow_roles WHERE role = $1")
        .bind(role.as_str())
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO ticket_workflow_roles (role, updated_at) VALUES ($1, $2)")
        .bind(role.as_str())
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    for rule in &kept {
        sqlx::query(
            "INSERT INTO ticket_transition_rules (role, from_class, to_status) VALUES ($1, $2, $3)",
        )
        .bind(role.as_str())
        .bind(&rule.from)
        .bind(&rule.to)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_workflow.changed",
        target: format!("role:{}", role.as_str()),
        details: serde_json::json!({ "rules": kept }),
    })
    .await?;
    tx.commit().await?;
    Ok(RoleWorkflow {
        role: role.as_str().to_owned(),
        configured: true,
        rules: kept,
    })
}

/// Returns `role` to the built-in defaults, audited.
pub async fn reset_workflow(db: &TenantDb, role: &str, actor: &str) -> Result<(), StoreError> {
    let role = governed(role)?;
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM ticket_workflow_roles WHERE role = $1")
        .bind(role.as_str())
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_workflow.reset",
        target: format!("role:{}", role.as_str()),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// Refuses a move by a person of `role` (`None`: Portico itself) from `class` to
/// `target` that the workflow does not allow.
pub(crate) async fn ensure_transition(
    tx: &mut TenantTx,
    role: Option<Role>,
    class: &str,
    target: &StatusRow,
) -> Result<(), StoreError> {
    let Some(role) = role.filter(|r| GOVERNED.contains(r)) else {
        return Ok(());
    };
    let configured: Option<String> =
        sqlx::query_scalar("SELECT role FROM ticket_workflow_roles WHERE role = $1")
            .bind(role.as_str())
            .fetch_optional(tx.conn())
            .await?;
    let allowed = if configured.is_some() {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM ticket_transition_rules WHERE role = $1 \
             AND from_class IN ('*', $2) AND to_status IN ('*', $3) LIMIT 1",
        )
        .bind(role.as_str())
        .bind(class)
        .bind(&target.key)
        .fetch_optional(tx.conn())
        .await?;
        found.is_some()
    } else {
        match role {
            Role::Technician => true,
            _ => {
                let finished = matches!(class, "resolved" | "closed");
                (target.class == "closed" && class != "closed")
                    || (finished && target.class == "open")
            }
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Refused {
            code: TRANSITION_NOT_ALLOWED,
            reason: format!(
                "the workflow does not let a {} move a ticket from {class} to {}",
                role.as_str(),
                target.key
            ),
        })
    }
}

/// The technicians of queue `key`.
pub async fn queue_members(db: &TenantDb, key: &str) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.read().await?;
    let id = crate::ticket_config::queue_id(&mut tx, key).await?;
    let members = sqlx::query_scalar(
        "SELECT user_id FROM ticket_queue_members WHERE queue_id = $1 ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(members)
}

/// Replaces queue `key`'s members (technicians and MSP admins), audited.
pub async fn set_queue_members(
    db: &TenantDb,
    key: &str,
    members: &[i64],
    actor: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut members = members.to_vec();
    members.sort_unstable();
    members.dedup();
    if members.len() > 500 {
        return Err(StoreError::Invalid {
            field: "members",
            reason: "at most 500 members".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let id = crate::ticket_config::queue_id(&mut tx, key).await?;
    for member in &members {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND status <> 'disabled'")
                .bind(member)
                .fetch_optional(tx.conn())
                .await?;
        if !matches!(role.as_deref(), Some("technician" | "msp_admin")) {
            return Err(StoreError::Invalid {
                field: "members",
                reason: format!("{member} is not an active technician or MSP admin"),
            });
        }
    }
    sqlx::query("DELETE FROM ticket_queue_members WHERE queue_id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    for member in &members {
        sqlx::query("INSERT INTO ticket_queue_members (queue_id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(member)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_queue.members_changed",
        target: format!("queue:{key}"),
        details: serde_json::json!({ "members": members }),
    })
    .await?;
    tx.commit().await?;
    Ok(members)
}

/// Who hears of a ticket escalated to `level`: the members of its queue, or with
/// none there the members of every queue at that level.
pub async fn escalation_recipients(
    db: &TenantDb,
    ticket_number: i64,
    level: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.read().await?;
    let in_queue: Vec<i64> = sqlx::query_scalar(
        "SELECT m.user_id FROM tickets t JOIN ticket_queue_members m ON m.queue_id = t.queue_id \
         WHERE t.number = $1 ORDER BY m.user_id",
    )
    .bind(ticket_number)
    .fetch_all(tx.conn())
    .await?;
    let recipients = if in_queue.is_empty() {
        sqlx::query_scalar(
            "SELECT DISTINCT m.user_id FROM ticket_queue_members m JOIN ticket_queues q ON q.id = m.queue_id \
             WHERE q.level = $1 ORDER BY m.user_id",
        )
        .bind(level)
        .fetch_all(tx.conn())
        .await?
    } else {
        in_queue
    };
    tx.rollback().await?;
    Ok(recipients)
}
