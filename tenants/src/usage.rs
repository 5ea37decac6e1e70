//! What a tenant uses, for the operator: people by role, organizations, tickets
//! (from the maintained counters, so it costs the same at a million tickets),
//! tickets opened in the last 30 days (an index range), and attachment storage.

use serde::Serialize;

use crate::clock::now_ms;
use crate::error::StoreError;
use crate::store::TenantDb;

/// A tenant's usage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Active or invited MSP administrators and technicians.
    pub staff: i64,
    /// Active or invited contacts and main contacts.
    pub contacts: i64,
    /// Customer organizations.
    pub organizations: i64,
    /// Every ticket.
    pub tickets: i64,
    /// Tickets neither resolved nor closed.
    pub open_tickets: i64,
    /// Tickets opened in the last 30 days.
    pub tickets_last_30_days: i64,
    /// Bytes of stored attachments.
    pub attachment_bytes: i64,
}

/// Reads a tenant's usage in one read transaction.
pub async fn usage(db: &TenantDb) -> Result<Usage, StoreError> {
    let mut tx = db.read().await?;
    let roles: Vec<(String, i64)> = sqlx::query_as(
        "SELECT role, CAST(COUNT(*) AS BIGINT) FROM users WHERE status <> 'disabled' GROUP BY role",
    )
    .fetch_all(tx.conn())
    .await?;
    let count = |wanted: &[&str]| {
        roles
            .iter()
            .filter(|(role, _)| wanted.contains(&role.as_str()))
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let organizations: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM organizations")
            .fetch_one(tx.conn())
            .await?;
    let classes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status_class, CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ticket_counts \
         WHERE scope = 'all' AND scope_id = 0 GROUP BY status_class",
    )
    .fetch_all(tx.conn())
    .await?;
    let since = now_ms() - 30 * 86_400_000;
    let recent: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM tickets WHERE created_at >= $1")
            .bind(since)
            .fetch_one(tx.conn())
            .await?;
    let bytes: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM ticket_attachments")
            .fetch_one(tx.conn())
            .await?;
    tx.rollback().await?;
    let tickets = classes.iter().map(|(_, n)| n).sum();
    let open_tickets = classes
        .iter()
        .filter(|(class, _)| class != "resolved" && class != "closed")
        .map(|(_, n)| n)
        .sum();
    Ok(Usage {
        staff: count(&["msp_admin", "technician"]),
        contacts: count(&["contact", "main_contact"]),
        organizations,
        tickets,
        open_tickets,
        tickets_last_30_days: recent,
        attachment_bytes: bytes,
    })
}
