//! Storage of the permission policy: role permissions shared by every tenant (the
//! platform's `casbin_rule` table) and each tenant's role assignments (its people's
//! and API tokens' roles), plus the per-tenant version that tells every instance
//! to rebuild that tenant's enforcer. Deciding is the application's business.

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::{Role, TenantId};
use crate::registry::bump_routing_epoch;
use crate::store::{Store, TenantDb};

/// How far a permission reaches; the data layer turns it into a query's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything in the tenant.
    All,
    /// What belongs to this organization (`None`: the caller has none, so nothing).
    Organization(Option<i64>),
    /// What belongs to this person (`None`: the caller is no person, so nothing).
    Own(Option<i64>),
}

/// Every global rule as `[ptype, v0, v1, …]` (trailing empty fields dropped).
pub async fn global_rules(store: &Store) -> Result<Vec<Vec<String>>, StoreError> {
    let rows: Vec<(String, String, String, String, String, String, String)> =
        sqlx::query_as("SELECT ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule ORDER BY id")
            .fetch_all(store.platform())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(ptype, v0, v1, v2, v3, v4, v5)| {
            let mut rule = vec![ptype, v0, v1, v2, v3, v4, v5];
            while rule.last().is_some_and(String::is_empty) {
                rule.pop();
            }
            rule
        })
        .collect())
}

/// Stores a global rule (`[ptype, v0, …]`, at most six values); `false` if present.
pub async fn add_global_rule(store: &Store, rule: &[String]) -> Result<bool, StoreError> {
    if rule.is_empty() || rule.len() > 7 {
        return Err(StoreError::Invalid {
            field: "rule",
            reason: "a rule has a type and one to six values".to_owned(),
        });
    }
    let value = |i: usize| rule.get(i).cloned().unwrap_or_default();
    let added = sqlx::query(
        "INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (ptype, v0, v1, v2, v3, v4, v5) DO NOTHING",
    )
    .bind(value(0))
    .bind(value(1))
    .bind(value(2))
    .bind(value(3))
    .bind(value(4))
    .bind(value(5))
    .bind(value(6))
    .execute(store.platform())
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// Removes a global rule; `false` if absent.
pub async fn remove_global_rule(store: &Store, rule: &[String]) -> Result<bool, StoreError> {
    let value = |i: usize| rule.get(i).cloned().unwrap_or_default();
    let removed = sqlx::query(
        "DELETE FROM casbin_rule WHERE ptype = $1 AND v0 = $2 AND v1 = $3 AND v2 = $4 AND v3 = $5 AND v4 = $6 AND v5 = $7",
    )
    .bind(value(0))
    .bind(value(1))
    .bind(value(2))
    .bind(value(3))
    .bind(value(4))
    .bind(value(5))
    .bind(value(6))
    .execute(store.platform())
    .await?
    .rows_affected();
    Ok(removed == 1)
}

/// Adds the shipped rules that are missing (a new version may ship new ones; rules
/// an operator added stay); returns how many were stored.
pub async fn seed_global_rules(store: &Store, rules: &[Vec<String>]) -> Result<usize, StoreError> {
    let mut added = 0;
    for rule in rules {
        if add_global_rule(store, rule).await? {
            added += 1;
        }
    }
    Ok(added)
}

/// A tenant's role assignments: `(subject, role)` for every person who is not
/// disabled (`user:<id>`) and every service-account API token not revoked
/// (`token:<id>`); personal tokens act as their person's subject.
pub async fn role_assignments(db: &TenantDb) -> Result<Vec<(String, Role)>, StoreError> {
    let mut tx = db.read().await?;
    let people: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, role FROM users WHERE status <> 'disabled'")
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    let tokens: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, role FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL AND user_id IS NULL",
    )
    .bind(db.id().0)
    .fetch_all(db.store().platform())
    .await?;
    let mut assignments = Vec::with_capacity(people.len() + tokens.len());
    for (id, role) in people {
        assignments.push((format!("user:{id}"), Role::parse(&role)?));
    }
    for (id, role) in tokens {
        assignments.push((format!("token:{id}"), Role::parse(&role)?));
    }
    Ok(assignments)
}

/// Records that a tenant's role assignments changed: every instance rebuilds that
/// tenant's enforcer within a second (through the routing epoch and NOTIFY).
pub async fn bump_policy_version(store: &Store, tenant: TenantId) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    sqlx::query(
        "UPDATE tenants SET policy_version = policy_version + 1, updated_at = $2 WHERE id = $1",
    )
    .bind(tenant.0)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    Ok(())
}

/// The person's organization, for organization-scoped decisions.
pub async fn organization_of(db: &TenantDb, user_id: i64) -> Result<Option<i64>, StoreError> {
    let mut tx = db.read().await?;
    let organization: Option<Option<i64>> =
        sqlx::query_scalar("SELECT organization_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(organization.flatten())
}

/// A tenant's current policy version, read from the platform (used to confirm a
/// denial against a possibly stale cached enforcer).
pub async fn policy_version(store: &Store, tenant: TenantId) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT policy_version FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(store.platform())
            .await?
            .unwrap_or(0),
    )
}
