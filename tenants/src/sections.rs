//! Portal section switches (tickets, knowledge base, devices, AI assistant,
//! self-service, settings): on or off for everyone, per organization and per
//! person. Kept as data the decision consults, never as per-tenant policy copies.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::store::TenantDb;

/// The portal's switchable sections.
pub const SECTIONS: [&str; 6] = [
    "tickets",
    "knowledge_base",
    "devices",
    "ai_assistant",
    "self_service",
    "settings",
];

/// Who a switch applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum SwitchScope {
    /// Everyone in the tenant.
    All,
    /// The people of one organization.
    Organization(i64),
    /// One person.
    User(i64),
}

fn parse_section(section: &str) -> Result<&'static str, StoreError> {
    SECTIONS
        .iter()
        .copied()
        .find(|s| *s == section)
        .ok_or_else(|| StoreError::Invalid {
            field: "section",
            reason: format!("`{section}` is not one of {}", SECTIONS.join(", ")),
        })
}

/// Sets a switch, audited as `actor`.
pub async fn set_switch(
    db: &TenantDb,
    section: &str,
    scope: SwitchScope,
    enabled: bool,
    actor: &str,
) -> Result<(), StoreError> {
    let section = parse_section(section)?;
    let (kind, id) = match scope {
        SwitchScope::All => ("all", 0),
        SwitchScope::Organization(id) => ("organization", id),
        SwitchScope::User(id) => ("user", id),
    };
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO section_switches (section, scope_kind, scope_id, enabled, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (section, scope_kind, scope_id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(section)
    .bind(kind)
    .bind(id)
    .bind(i64::from(enabled))
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "setting.section_switched",
        target: format!("section:{section}"),
        details: serde_json::json!({ "scope": scope, "enabled": enabled }),
    })
    .await?;
    tx.commit().await
}

/// The sections on for a person of `organization` (staff: `None`): the most specific
/// switch decides — person, then organization, then everyone; none means on.
pub async fn enabled_sections(
    db: &TenantDb,
    user_id: i64,
    organization: Option<i64>,
) -> Result<Vec<&'static str>, StoreError> {
    let mut tx = db.read().await?;
    let switches: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT section, scope_kind, scope_id, enabled FROM section_switches \
         WHERE scope_kind = 'all' OR (scope_kind = 'organization' AND scope_id = $1) OR (scope_kind = 'user' AND scope_id = $2)",
    )
    .bind(organization.unwrap_or(-1))
    .bind(user_id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    let decide = |section: &str| {
        let find = |kind: &str| {
            switches
                .iter()
                .find(|(s, k, _, _)| s == section && k == kind)
                .map(|(_, _, _, enabled)| *enabled != 0)
        };
        find("user")
            .or_else(|| find("organization"))
            .or_else(|| find("all"))
            .unwrap_or(true)
    };
    Ok(SECTIONS.iter().copied().filter(|s| decide(s)).collect())
}

fn scope_key(scope: SwitchScope) -> (&'static str, i64) {
    match scope {
        SwitchScope::All => ("all", 0),
        SwitchScope::Organization(id) => ("organization", id),
        SwitchScope::User(id) => ("user", id),
    }
}

/// The switches set at one scope: every section with its switch there, `None`
/// where none is set (the wider scope decides).
pub async fn switches_at(
    db: &TenantDb,
    scope: SwitchScope,
) -> Result<Vec<(&'static str, Option<bool>)>, StoreError> {
    let (kind, id) = scope_key(scope);
    let mut tx = db.read().await?;
    let set: Vec<(String, i64)> = sqlx::query_as(
        "SELECT section, enabled FROM section_switches WHERE scope_kind = $1 AND scope_id = $2",
    )
    .bind(kind)
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(SECTIONS
        .iter()
        .map(|section| {
            let found = set
                .iter()
                .find(|(s, _)| s == section)
                .map(|(_, enabled)| *enabled != 0);
            (*section, found)
        })
        .collect())
}

/// Removes the switch of `section` at `scope`, so the wider scope decides again,
/// audited as `actor`.
pub async fn clear_switch(
    db: &TenantDb,
    section: &str,
    scope: SwitchScope,
    actor: &str,
) -> Result<(), StoreError> {
    let section = parse_section(section)?;
    let (kind, id) = scope_key(scope);
    let mut tx = db.begin().await?;
    let removed = sqlx::query(
        "DELETE FROM section_switches WHERE section = $1 AND scope_kind = $2 AND scope_id = $3",
    )
    .bind(section)
    .bind(kind)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if removed > 0 {
        tx.audit(AuditEntry {
            actor: actor.to_owned(),
            action: "setting.section_inherited",
            target: format!("section:{section}"),
            details: serde_json::json!({ "scope": scope }),
        })
        .await?;
    }
    tx.commit().await
}
