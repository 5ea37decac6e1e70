//! Bulk import of tickets that already have a history elsewhere (a move from
//! another service desk; data sets for measurements): each batch is one
//! transaction holding every ticket with its first message (indexed for search),
//! its status history (created, then its present status), and the tabs' counts
//! summed once per batch. Imported tickets keep their own times; they carry no SLA
//! clock (their contract ran in the old system) and no approval. One
//! `tickets.imported` event per batch tells subscribers which numbers arrived.

use std::collections::BTreeMap;

use crate::StoreError;
use crate::outbox::NewEvent;
use crate::store::{Backend, TenantDb, TenantTx};
use crate::tickets::{self, Priority, Source, StatusRow};

/// A ticket to import.
#[derive(Debug, Clone)]
pub struct ImportedTicket {
    /// One line, 1 to 250 characters.
    pub subject: String,
    /// The first message.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Its present status (a key of this service desk).
    pub status: String,
    /// The requesting person.
    pub requester_id: i64,
    /// Their organization, if any.
    pub organization_id: Option<i64>,
    /// The technician working it, if any.
    pub assignee_id: Option<i64>,
    /// Where it came from.
    pub source: Source,
    /// The language of its text (for search).
    pub language: String,
    /// When it was opened (ms since the epoch).
    pub created_at: i64,
    /// When it last changed, and reached its present status (not before `created_at`).
    pub updated_at: i64,
}

/// Most tickets in one batch (one transaction).
pub const MAX_BATCH: usize = 5_000;

/// Imports `batch` in one transaction; returns the numbers given, in order. Nothing
/// of a batch is kept when one of its tickets is refused.
pub async fn import_tickets(
    db: &TenantDb,
    batch: &[ImportedTicket],
    actor: &str,
) -> Result<Vec<i64>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    if batch.len() > MAX_BATCH {
        return Err(StoreError::Invalid {
            field: "tickets",
            reason: format!("at most {MAX_BATCH} tickets per batch"),
        });
    }
    for ticket in batch {
        tickets::validate_subject(&ticket.subject)?;
        tickets::validate_body(&ticket.description, "description")?;
        if ticket.updated_at < ticket.created_at || ticket.created_at < 0 {
            return Err(StoreError::Invalid {
                field: "updated_at",
                reason: "must not be before created_at".to_owned(),
            });
        }
    }
    let mut tx = db.begin().await?;
    let reserved = reserve_numbers(&mut tx, batch.len() as i64).await?;
    let new_status = tickets::status_by_key(&mut tx, "new")
        .await?
        .ok_or(StoreError::NotFound("status"))?;
    let mut statuses: BTreeMap<String, StatusRow> = BTreeMap::new();
    let mut counts: BTreeMap<(&'static str, i64, String), i64> = BTreeMap::new();
    let mut numbers = Vec::with_capacity(batch.len());
    for (offset, ticket) in batch.iter().enumerate() {
        if !statuses.contains_key(&ticket.status) {
            let Some(row) = tickets::status_by_key(&mut tx, &ticket.status).await? else {
                return Err(StoreError::Invalid {
                    field: "status",
                    reason: format!("{:?} is not a status of this service desk", ticket.status),
                });
            };
            statuses.insert(ticket.status.clone(), row);
        }
        let status = &statuses[&ticket.status];
        let number = reserved[offset];
        let class = status.class.as_str();
        let resolved_at = matches!(class, "resolved" | "closed").then_some(ticket.updated_at);
        let closed_at = (class == "closed").then_some(ticket.updated_at);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (number, subject, description, status_id, status_class, priority, \
             requester_id, organization_id, assignee_id, source, language, fields, created_at, updated_at, \
             resolved_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '{}', $12, $13, $14, $15) RETURNING id",
        )
        .bind(number)
        .bind(ticket.subject.trim())
        .bind(&ticket.description)
        .bind(status.id)
        .bind(class)
        .bind(ticket.priority.as_str())
        .bind(ticket.requester_id)
        .bind(ticket.organization_id)
        .bind(ticket.assignee_id)
        .bind(ticket.source.ticket_source())
        .bind(&ticket.language)
        .bind(ticket.created_at)
        .bind(ticket.updated_at)
        .bind(resolved_at)
        .bind(closed_at)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| StoreError::from_db(e, "ticket"))?;
        let message_id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, language) \
             VALUES ($1, $2, 0, $3, $4, $5, $6) RETURNING id",
        )
        .bind(id)
        .bind(ticket.requester_id)
        .bind(&ticket.description)
        .bind(ticket.source.as_str())
        .bind(ticket.created_at)
        .bind(&ticket.language)
        .fetch_one(tx.conn())
        .await?;
        tickets::index_message(
            &mut tx,
            message_id,
            Some(ticket.subject.trim()),
            &ticket.description,
            &ticket.language,
        )
        .await?;
        tickets::record_status(&mut tx, id, &new_status, ticket.created_at, actor).await?;
        if status.key != "new" {
            tickets::record_status(&mut tx, id, status, ticket.updated_at, actor).await?;
        }
        let mut scopes = vec![("all", 0), ("requester", ticket.requester_id)];
        if let Some(organization) = ticket.organization_id {
            scopes.push(("organization", organization));
        }
        for (scope, scope_id) in scopes {
            *counts
                .entry((scope, scope_id, class.to_owned()))
                .or_default() += 1;
        }
        numbers.push(number);
    }
    for ((scope, scope_id, class), n) in &counts {
        tickets::add_count(&mut tx, scope, *scope_id, class, *n).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: reserved[0].to_string(),
        event_type: "tickets.imported",
        payload: serde_json::json!({
            "numbers": numbers,
            "actor": actor,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(numbers)
}

/// Takes `n` ticket numbers, in increasing order.
async fn reserve_numbers(tx: &mut TenantTx, n: i64) -> Result<Vec<i64>, StoreError> {
    Ok(match tx.tenant().store().backend() {
        // Unique, not necessarily consecutive: creations running meanwhile take theirs
        // from the same sequence.
        Backend::Postgres => {
            sqlx::query_scalar(
                "SELECT nextval('ticket_numbers') FROM generate_series(1, CAST($1 AS BIGINT)) ORDER BY 1",
            )
            .bind(n)
            .fetch_all(tx.conn())
            .await?
        }
        // The write lock is held: the range is the batch's alone.
        Backend::Sqlite => {
            let first: i64 = sqlx::query_scalar(
                "UPDATE ticket_numbers SET next = next + $1 WHERE id = 1 RETURNING next - $1",
            )
            .bind(n)
            .fetch_one(tx.conn())
            .await?;
            (first..first + n).collect()
        }
    })
}
