//! Append-only, hash-chained audit logs: one per tenant (sign-ins, second factors,
//! roles, invitations, settings, sessions, tokens) and one for the operator
//! (tenants, plans). Each entry carries the hash of the previous one, so removing
//! or altering an entry breaks the chain at that point.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::StoreError;
use crate::clock::now_ms;
use crate::store::{Backend, Store, TenantDb, TenantTx};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Who acted: `user:<id>`, `token:<id>`, `operator:cli`, `system`, or an address.
    pub actor: String,
    /// What happened, dotted (`auth.login.succeeded`).
    pub action: &'static str,
    /// What it happened to (`user:<id>`, `tenant:<slug>`).
    pub target: String,
    /// Details (never secrets).
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Position in the chain.
    pub id: i64,
    /// Time, Unix milliseconds.
    pub at: i64,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// To what.
    pub target: String,
    /// Details as JSON text.
    pub details: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

fn entry_hash(
    prev_hash: &str,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    details: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [prev_hash, &at.to_string(), actor, action, target, details] {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

async fn append_on(
    conn: &mut AnyConnection,
    backend: Backend,
    chain: &str,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        // Serialize appenders of this chain until commit (SQLite's write lock does it there).
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("portico-audit:{chain}"))
            .execute(&mut *conn)
            .await?;
    }
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    let at = now_ms();
    let details = entry.details.to_string();
    let hash = entry_hash(
        &prev,
        at,
        &entry.actor,
        entry.action,
        &entry.target,
        &details,
    );
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at)
    .bind(&entry.actor)
    .bind(entry.action)
    .bind(&entry.target)
    .bind(&details)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl TenantTx {
    /// Appends to the tenant's audit chain, committed with this transaction.
    pub async fn audit(&mut self, entry: AuditEntry) -> Result<(), StoreError> {
        let backend = self.tenant().store().backend();
        let chain = format!("tenant:{}", self.tenant().id());
        append_on(self.conn(), backend, &chain, &entry).await
    }
}

/// Appends to the tenant's audit chain in a transaction of its own.
pub async fn append(db: &TenantDb, entry: AuditEntry) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    tx.audit(entry).await?;
    tx.commit().await
}

/// Appends to the operator's audit chain.
pub async fn append_platform(store: &Store, entry: AuditEntry) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    append_on(&mut tx, store.backend(), "platform", &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends to the operator's audit chain inside a platform transaction, so the
/// entry commits (or not) with the change it records.
pub(crate) async fn append_platform_in(
    conn: &mut AnyConnection,
    backend: Backend,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    append_on(conn, backend, "platform", entry).await
}

/// The result of checking a chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: u64,
    /// The first entry whose hash or link does not hold, with the reason.
    pub first_broken: Option<(i64, &'static str)>,
}

type AuditRow = (i64, i64, String, String, String, String, String, String);

fn record((id, at, actor, action, target, details, prev_hash, hash): AuditRow) -> AuditRecord {
    AuditRecord {
        id,
        at,
        actor,
        action,
        target,
        details,
        prev_hash,
        hash,
    }
}

const PAGE: &str = "SELECT id, at, actor, action, target, details, prev_hash, hash \
     FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2";

fn check_page(rows: &[AuditRecord], expected_prev: &mut String, report: &mut ChainReport) {
    for row in rows {
        if report.first_broken.is_some() {
            return;
        }
        report.entries += 1;
        if row.prev_hash != *expected_prev {
            report.first_broken = Some((row.id, "previous entry missing or altered"));
            return;
        }
        let computed = entry_hash(
            &row.prev_hash,
            row.at,
            &row.actor,
            &row.action,
            &row.target,
            &row.details,
        );
        if computed != row.hash {
            report.first_broken = Some((row.id, "entry altered"));
            return;
        }
        expected_prev.clone_from(&row.hash);
    }
}

/// Checks a tenant's whole chain, in pages.
pub async fn verify(db: &TenantDb) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport {
        entries: 0,
        first_broken: None,
    };
    let mut expected = GENESIS.to_owned();
    let mut after = 0_i64;
    loop {
        let mut tx = db.read().await?;
        let rows: Vec<AuditRow> = sqlx::query_as(PAGE)
            .bind(after)
            .bind(1000_i64)
            .fetch_all(tx.conn())
            .await?;
        tx.rollback().await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(report);
        };
        let page: Vec<AuditRecord> = rows.into_iter().map(record).collect();
        check_page(&page, &mut expected, &mut report);
        if report.first_broken.is_some() {
            return Ok(report);
        }
        after = last;
    }
}

/// Checks the operator's chain.
pub async fn verify_platform(store: &Store) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport {
        entries: 0,
        first_broken: None,
    };
    let mut expected = GENESIS.to_owned();
    let mut after = 0_i64;
    loop {
        let rows: Vec<AuditRow> = sqlx::query_as(PAGE)
            .bind(after)
            .bind(1000_i64)
            .fetch_all(store.platform())
            .await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(report);
        };
        let page: Vec<AuditRecord> = rows.into_iter().map(record).collect();
        check_page(&page, &mut expected, &mut report);
        if report.first_broken.is_some() {
            return Ok(report);
        }
        after = last;
    }
}

/// The newest entries of a tenant's chain, newest first.
pub async fn recent(db: &TenantDb, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(record).collect())
}

/// The newest entries of the operator's chain, newest first.
pub async fn recent_platform(store: &Store, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.platform())
    .await?;
    Ok(rows.into_iter().map(record).collect())
}

/// Every entry of a tenant's chain in order, for export.
pub async fn export(db: &TenantDb) -> Result<Vec<AuditRecord>, StoreError> {
    let mut all = Vec::new();
    let mut after = 0_i64;
    loop {
        let mut tx = db.read().await?;
        let rows: Vec<AuditRow> = sqlx::query_as(PAGE)
            .bind(after)
            .bind(1000_i64)
            .fetch_all(tx.conn())
            .await?;
        tx.rollback().await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(all);
        };
        all.extend(rows.into_iter().map(record));
        after = last;
    }
}
