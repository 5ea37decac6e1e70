//! The e-mail channel's storage: the inbound queue (one for IMAP, the SMTP/LMTP
//! receiver and webhooks), the tenant's IMAP mailboxes with their lease and cursor,
//! and the outbound queue that is also every ticket's mail log.
//!
//! Nothing lost, nothing twice: a transport acknowledges a message only after
//! [`enqueue`] committed its row (with a unique dedup key: a repeated delivery
//! finds the key and is acknowledged without a second row); processing settles the
//! row in the same transaction as its effect ([`settle_in`], called by ticket
//! creation, replies and closes), so a crash before the commit leaves it pending
//! and a crash after it leaves it done.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::jobs::NewJob;
use crate::outbox::NewEvent;
use crate::store::{TenantDb, TenantTx};
use crate::thread::{self, NewMessage, Posted};
use crate::tickets::{self, Created, NewTicket, Reader};

/// The job that processes one queued inbound message (`{"id": …}`).
pub const PROCESS_JOB: &str = "mail.process";
/// The job that sends one queued outbound message (`{"id": …}`).
pub const SEND_JOB: &str = "mail.send";
/// Attempts a queued outbound message gets before it is kept as failed.
pub const SEND_ATTEMPTS: i64 = 12;
/// Refusal code when an inbound message was settled by another worker first.
pub const ALREADY_PROCESSED: &str = "mail_already_processed";

/// A queued inbound message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Inbound {
    /// Its id.
    pub id: i64,
    /// What makes it unique (see the migration).
    pub dedup_key: String,
    /// `imap`, `smtp` or `webhook`.
    pub transport: String,
    /// The mailbox it was read from (IMAP).
    pub mailbox_id: Option<i64>,
    /// The address it reached us through.
    pub recipient: Option<String>,
    /// Its sender (From).
    pub sender: Option<String>,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Where the raw message is (never shown).
    #[serde(skip)]
    pub raw_key: String,
    /// Bytes.
    pub size: i64,
    /// When it was queued.
    pub received_at: i64,
    /// `pending`, `created`, `added`, `closed`, `held`, `ignored`, `refused`,
    /// `discarded` or `failed`.
    pub state: String,
    /// The ticket it went to.
    pub ticket_number: Option<i64>,
    /// Why (automated kind, hold reason, refusal, error; `released` once a technician
    /// let a held message through).
    pub detail: Option<String>,
    /// When it was settled.
    pub processed_at: Option<i64>,
    /// The worker processing it now.
    #[serde(skip)]
    pub lease_owner: Option<String>,
    /// Until when.
    #[serde(skip)]
    pub lease_until: i64,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewInbound {
    /// Its dedup key.
    pub dedup_key: String,
    /// `imap`, `smtp` or `webhook`.
    pub transport: &'static str,
    /// The IMAP mailbox.
    pub mailbox_id: Option<i64>,
    /// The envelope recipient.
    pub recipient: Option<String>,
    /// The sender.
    pub sender: Option<String>,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Where the raw bytes were stored.
    pub raw_key: String,
    /// Bytes.
    pub size: i64,
}

const INBOUND_COLUMNS: &str = "id, dedup_key, transport, mailbox_id, recipient, sender, message_id, raw_key, size, \
     received_at, state, ticket_number, detail, processed_at, lease_owner, lease_until";

type InboundRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
);

fn inbound_of(row: InboundRow) -> Inbound {
    let (
        id,
        dedup_key,
        transport,
        mailbox_id,
        recipient,
        sender,
        message_id,
        raw_key,
        size,
        received_at,
        state,
        ticket_number,
        detail,
        processed_at,
        lease_owner,
        lease_until,
    ) = row;
    Inbound {
        id,
        dedup_key,
        transport,
        mailbox_id,
        recipient,
        sender,
        message_id,
        raw_key,
        size,
        received_at,
        state,
        ticket_number,
        detail,
        processed_at,
        lease_owner,
        lease_until,
    }
}

fn clip(value: Option<String>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

async fn insert_inbound(tx: &mut TenantTx, new: &NewInbound) -> Result<Option<i64>, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO mail_inbound (dedup_key, transport, mailbox_id, recipient, sender, message_id, raw_key, size, \
         received_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .bind(&new.dedup_key)
    .bind(new.transport)
    .bind(new.mailbox_id)
    .bind(clip(new.recipient.clone(), 320))
    .bind(clip(new.sender.clone(), 320))
    .bind(clip(new.message_id.clone(), 998))
    .bind(&new.raw_key)
    .bind(new.size)
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = id {
        tx.enqueue(process_job(id)).await?;
    }
    Ok(id)
}

/// The dedup key of message `id`'s processing job.
fn process_job_key(id: i64) -> String {
    format!("mail-in:{id}")
}

fn process_job(id: i64) -> NewJob {
    NewJob {
        dedup_key: Some(process_job_key(id)),
        max_attempts: 8,
        ..NewJob::now(PROCESS_JOB, serde_json::json!({ "id": id }))
    }
}

/// Queues a message with its processing job; `None` when its dedup key is known
/// (a repeated delivery: acknowledge it, there is nothing more to do).
pub async fn enqueue(db: &TenantDb, new: NewInbound) -> Result<Option<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let id = insert_inbound(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(id)
}

/// Queues the messages read from IMAP mailbox `mailbox_id` and moves its cursor to
/// (`uidvalidity`, `last_uid`) in one transaction, skipping known dedup keys and —
/// after a UIDVALIDITY change renumbered the folder — Message-IDs this mailbox
/// already delivered. Returns the ids queued.
pub async fn enqueue_from_mailbox(
    db: &TenantDb,
    mailbox_id: i64,
    uidvalidity: i64,
    last_uid: i64,
    batch: &[NewInbound],
) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let mut queued = Vec::new();
    for new in batch {
        if let Some(message_id) = &new.message_id {
            let seen: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM mail_inbound WHERE message_id = $1 AND mailbox_id = $2 LIMIT 1",
            )
            .bind(message_id)
            .bind(mailbox_id)
            .fetch_optional(tx.conn())
            .await?;
            if seen.is_some() {
                continue;
            }
        }
        if let Some(id) = insert_inbound(&mut tx, new).await? {
            queued.push(id);
        }
    }
    sqlx::query(
        "UPDATE mail_mailboxes SET uidvalidity = $2, last_uid = CASE WHEN uidvalidity = $2 AND last_uid > $3 \
         THEN last_uid ELSE $3 END, last_polled_at = $4, last_error = NULL WHERE id = $1",
    )
    .bind(mailbox_id)
    .bind(uidvalidity)
    .bind(last_uid)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(queued)
}

/// One queued message.
pub async fn inbound(db: &TenantDb, id: i64) -> Result<Inbound, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<InboundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INBOUND_COLUMNS} FROM mail_inbound WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(inbound_of)
        .ok_or(StoreError::NotFound("inbound message"))
}

/// The queue, newest first, optionally in one state.
pub async fn list_inbound(
    db: &TenantDb,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Inbound>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<InboundRow> = match state {
        Some(state) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLUMNS} FROM mail_inbound WHERE state = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(state)
        .bind(limit.clamp(1, 1000))
        .fetch_all(tx.conn())
        .await?,
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {INBOUND_COLUMNS} FROM mail_inbound ORDER BY id DESC LIMIT $1"
            )))
            .bind(limit.clamp(1, 1000))
            .fetch_all(tx.conn())
            .await?
        }
    };
    tx.rollback().await?;
    Ok(rows.into_iter().map(inbound_of).collect())
}

/// Claims pending message `first` (when it is free) and up to `limit` more pending
/// ones, oldest first, for `owner` until `now + lease_ms`; the ids claimed. A row
/// leased by another worker is skipped until its lease ends.
pub async fn claim(
    db: &TenantDb,
    owner: &str,
    first: Option<i64>,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<i64>, StoreError> {
    let now = now_ms();
    let sql = db.store().backend().pick(
        "UPDATE mail_inbound SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM mail_inbound WHERE state = 'pending' AND (lease_until < $3 OR lease_owner = $1) \
            ORDER BY CASE WHEN id = $4 THEN 0 ELSE 1 END, id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING id",
        "UPDATE mail_inbound SET lease_owner = $1, lease_until = $2 WHERE id IN (\
            SELECT id FROM mail_inbound WHERE state = 'pending' AND (lease_until < $3 OR lease_owner = $1) \
            ORDER BY CASE WHEN id = $4 THEN 0 ELSE 1 END, id LIMIT $5) RETURNING id",
    );
    let mut tx = db.begin().await?;
    let mut ids: Vec<i64> = sqlx::query_scalar(sql)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .bind(first.unwrap_or(-1))
        .bind(limit.max(1))
        .fetch_all(tx.conn())
        .await?;
    tx.commit().await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Settles a pending message inside `tx`; refused with [`ALREADY_PROCESSED`] when it
/// is no longer pending (another worker's transaction won).
pub(crate) async fn settle_in(
    tx: &mut TenantTx,
    id: i64,
    state: &str,
    ticket_number: Option<i64>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE mail_inbound SET state = $2, ticket_number = COALESCE($3, ticket_number), \
         detail = COALESCE($4, detail), processed_at = $5 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(state)
    .bind(ticket_number)
    .bind(detail.map(|d| d.chars().take(500).collect::<String>()))
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(StoreError::Refused {
            code: ALREADY_PROCESSED,
            reason: format!("inbound message {id} is no longer pending"),
        });
    }
    // Its own processing job has nothing left to do (unless it is running now).
    sqlx::query(
        "DELETE FROM jobs WHERE dedup_key = $1 AND state = 'pending' AND lease_owner IS NULL",
    )
    .bind(process_job_key(id))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Settles a pending message whose effect is only its state (`held`, `ignored`,
/// `refused`, `failed`); `false` when it was not pending.
pub async fn settle(
    db: &TenantDb,
    id: i64,
    state: &str,
    ticket_number: Option<i64>,
    detail: Option<&str>,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    match settle_in(&mut tx, id, state, ticket_number, detail).await {
        Ok(()) => {
            if state == "held" {
                tx.emit(NewEvent {
                    aggregate_type: "mail",
                    aggregate_id: id.to_string(),
                    event_type: "mail.held",
                    payload: serde_json::json!({
                        "id": id, "number": ticket_number, "reason": detail,
                    }),
                })
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        }
        Err(StoreError::Refused { code, .. }) if code == ALREADY_PROCESSED => Ok(false),
        Err(error) => Err(error),
    }
}

/// Creates a ticket from pending message `intake`, settling it in the same
/// transaction.
pub async fn create_ticket(
    db: &TenantDb,
    intake: i64,
    new: NewTicket,
) -> Result<Created, StoreError> {
    tickets::create_ticket_with(db, new, None, Reader::SYSTEM, Some(intake)).await
}

/// Adds pending message `intake` to ticket `number` as `reader`, settling it in the
/// same transaction.
pub async fn add_message(
    db: &TenantDb,
    intake: i64,
    number: i64,
    new: NewMessage,
    actor: &str,
    reader: Reader,
) -> Result<Posted, StoreError> {
    thread::add_message_with(db, number, new, actor, reader, Some(intake)).await
}

/// Closes ticket `number` on its requester's e-mailed close command, settling
/// pending message `intake` as `closed` in the same transaction.
pub async fn close_ticket(
    db: &TenantDb,
    intake: i64,
    number: i64,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let current = tickets::get_in(&mut tx, number, Reader::SYSTEM).await?;
    if current.status_class != "closed" && current.merged_into.is_none() {
        let target = tickets::status_by_key(&mut tx, "closed")
            .await?
            .ok_or(StoreError::NotFound("status"))?;
        tickets::move_status(&mut tx, &current, &target, actor).await?;
    }
    settle_in(&mut tx, intake, "closed", Some(number), None).await?;
    tx.commit().await
}

/// Lets a held message through (a technician's decision): it is processed again
/// without the participant check.
pub async fn release(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE mail_inbound SET state = 'pending', detail = 'released', processed_at = NULL, \
         lease_owner = NULL, lease_until = 0 WHERE id = $1 AND state = 'held'",
    )
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(StoreError::Refused {
            code: "mail_not_held",
            reason: "only a held message can be released".to_owned(),
        });
    }
    // Its job was deleted when it was held: a fresh one processes it again.
    tx.enqueue(process_job(id)).await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.released",
        target: format!("mail:{id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// Discards a held message (a technician's decision).
pub async fn discard(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE mail_inbound SET state = 'discarded', processed_at = $2 WHERE id = $1 AND state = 'held'",
    )
    .bind(id)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if done == 0 {
        return Err(StoreError::Refused {
            code: "mail_not_held",
            reason: "only a held message can be discarded".to_owned(),
        });
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.discarded",
        target: format!("mail:{id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// How many messages `sender` sent us since `since`, up to and including queued
/// message `up_to` (loop and rate protection: the same answer whatever order the
/// messages are processed in).
pub async fn received_from(
    db: &TenantDb,
    sender: &str,
    since: i64,
    up_to: i64,
) -> Result<i64, StoreError> {
    let mut tx = db.read().await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM mail_inbound WHERE sender = $1 AND received_at >= $2 AND id <= $3",
    )
    .bind(sender)
    .bind(since)
    .bind(up_to)
    .fetch_one(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(n)
}

/// Whether the people who may add to ticket `number` by mail include `email`: its
/// requester, its watchers, anyone who wrote on it, and the service desk's staff.
pub async fn is_participant(db: &TenantDb, number: i64, email: &str) -> Result<bool, StoreError> {
    let mut tx = db.read().await?;
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM tickets t JOIN users u ON u.id = t.requester_id WHERE t.number = $1 AND u.email = $2 \
         UNION ALL SELECT 1 FROM tickets t JOIN ticket_watchers w ON w.ticket_id = t.id \
           WHERE t.number = $1 AND w.email = $2 \
         UNION ALL SELECT 1 FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id \
           JOIN users u ON u.id = m.author_id WHERE t.number = $1 AND u.email = $2 \
         UNION ALL SELECT 1 FROM users u WHERE u.email = $2 AND u.status <> 'disabled' \
           AND u.role IN ('technician', 'msp_admin') \
         LIMIT 1",
    )
    .bind(number)
    .bind(email)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------
// IMAP mailboxes

/// One of the tenant's own IMAP mailboxes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Mailbox {
    /// Its id.
    pub id: i64,
    /// The address mail is sent to.
    pub address: String,
    /// IMAP server.
    pub host: String,
    /// Port.
    pub port: i64,
    /// `tls`, `starttls` or `none` (loopback and tests only).
    pub tls: String,
    /// Login.
    pub username: String,
    /// The sealed password (never shown).
    #[serde(skip)]
    pub sealed_password: String,
    /// The folder read.
    pub folder: String,
    /// Polled or not.
    pub enabled: bool,
    /// The folder's UIDVALIDITY last seen.
    pub uidvalidity: Option<i64>,
    /// The highest UID queued.
    pub last_uid: i64,
    /// The last error, until a poll succeeds.
    pub last_error: Option<String>,
    /// When it was last read.
    pub last_polled_at: Option<i64>,
    /// Added.
    pub created_at: i64,
}

/// A mailbox to add.
#[derive(Debug, Clone)]
pub struct NewMailbox {
    /// The address mail is sent to.
    pub address: String,
    /// IMAP server.
    pub host: String,
    /// Port.
    pub port: i64,
    /// `tls`, `starttls` or `none`.
    pub tls: String,
    /// Login.
    pub username: String,
    /// The password, sealed by the caller.
    pub sealed_password: String,
    /// The folder to read (`INBOX`).
    pub folder: String,
}

const MAILBOX_COLUMNS: &str = "id, address, host, port, tls, username, sealed_password, folder, enabled, uidvalidity, \
     last_uid, last_error, last_polled_at, created_at";

type MailboxRow = (
    i64,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<i64>,
    i64,
);

fn mailbox_of(row: MailboxRow) -> Mailbox {
    let (
        id,
        address,
        host,
        port,
        tls,
        username,
        sealed_password,
        folder,
        enabled,
        uidvalidity,
        last_uid,
        last_error,
        last_polled_at,
        created_at,
    ) = row;
    Mailbox {
        id,
        address,
        host,
        port,
        tls,
        username,
        sealed_password,
        folder,
        enabled: enabled != 0,
        uidvalidity,
        last_uid,
        last_error,
        last_polled_at,
        created_at,
    }
}

fn invalid(field: &'static str, reason: &str) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

/// Adds a mailbox (audited).
pub async fn create_mailbox(
    db: &TenantDb,
    new: NewMailbox,
    actor: &str,
) -> Result<Mailbox, StoreError> {
    let address = crate::ids::EmailAddress::parse(&new.address)
        .map_err(|_| invalid("address", "is not an e-mail address"))?;
    if new.host.trim().is_empty() || new.host.len() > 253 || new.host.contains(char::is_whitespace)
    {
        return Err(invalid("host", "must be a host name"));
    }
    if !(1..=65535).contains(&new.port) {
        return Err(invalid("port", "must be 1 to 65535"));
    }
    if !matches!(new.tls.as_str(), "tls" | "starttls" | "none") {
        return Err(invalid("tls", "must be tls, starttls or none"));
    }
    if new.username.trim().is_empty() || new.username.len() > 320 {
        return Err(invalid("username", "must not be empty"));
    }
    let folder = if new.folder.trim().is_empty() {
        "INBOX".to_owned()
    } else {
        new.folder.trim().to_owned()
    };
    if folder.len() > 200 || folder.contains(['\r', '\n', '"']) {
        return Err(invalid("folder", "must be a folder name"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO mail_mailboxes (address, host, port, tls, username, sealed_password, folder, enabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
    )
    .bind(address.as_str())
    .bind(new.host.trim())
    .bind(new.port)
    .bind(&new.tls)
    .bind(new.username.trim())
    .bind(&new.sealed_password)
    .bind(&folder)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "mailbox address"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.mailbox_added",
        target: format!("mailbox:{id}"),
        details: serde_json::json!({ "address": address.as_str(), "host": new.host.trim() }),
    })
    .await?;
    tx.commit().await?;
    mailbox(db, id).await
}

/// One mailbox.
pub async fn mailbox(db: &TenantDb, id: i64) -> Result<Mailbox, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<MailboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MAILBOX_COLUMNS} FROM mail_mailboxes WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(mailbox_of).ok_or(StoreError::NotFound("mailbox"))
}

/// Every mailbox of the tenant.
pub async fn list_mailboxes(db: &TenantDb) -> Result<Vec<Mailbox>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<MailboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MAILBOX_COLUMNS} FROM mail_mailboxes ORDER BY id"
    )))
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(mailbox_of).collect())
}

/// Turns polling of a mailbox on or off (audited).
pub async fn set_mailbox_enabled(
    db: &TenantDb,
    id: i64,
    enabled: bool,
    actor: &str,
) -> Result<Mailbox, StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE mail_mailboxes SET enabled = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(i64::from(enabled))
        .bind(now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if done == 0 {
        return Err(StoreError::NotFound("mailbox"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.mailbox_changed",
        target: format!("mailbox:{id}"),
        details: serde_json::json!({ "enabled": enabled }),
    })
    .await?;
    tx.commit().await?;
    mailbox(db, id).await
}

/// Removes a mailbox (audited); its queued mail stays.
pub async fn delete_mailbox(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("DELETE FROM mail_mailboxes WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if done == 0 {
        return Err(StoreError::NotFound("mailbox"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.mailbox_removed",
        target: format!("mailbox:{id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// Takes or renews the lease on mailbox `id` for `owner` until `now + ttl_ms`;
/// `false` when another instance holds it.
pub async fn lease_mailbox(
    db: &TenantDb,
    id: i64,
    owner: &str,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE mail_mailboxes SET lease_owner = $2, lease_until = $3 \
         WHERE id = $1 AND enabled = 1 AND (lease_owner = $2 OR lease_owner IS NULL OR lease_until < $4)",
    )
    .bind(id)
    .bind(owner)
    .bind(now + ttl_ms)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(done == 1)
}

/// Gives the lease up (on shutdown), so another instance takes over at once.
pub async fn release_mailbox(db: &TenantDb, id: i64, owner: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE mail_mailboxes SET lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Records a failed poll (shown to the MSP admin until a poll succeeds).
pub async fn mailbox_failed(db: &TenantDb, id: i64, error: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE mail_mailboxes SET last_error = $2, last_polled_at = $3 WHERE id = $1")
        .bind(id)
        .bind(error.chars().take(500).collect::<String>())
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

// ---------------------------------------------------------------------------
// Outbound

/// A rendered message to queue.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    /// One message per key (e.g. `event:<id>:<recipient>:<kind>`).
    pub dedup_key: String,
    /// The ticket it belongs to.
    pub ticket_number: Option<i64>,
    /// What it is (`ticket_created`, `reply`, `status`, `invitation`, …).
    pub kind: String,
    /// Its Message-ID (without angle brackets).
    pub message_id: String,
    /// Recipient address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// The whole message as sent.
    pub raw: String,
}

/// A queued or sent message (the ticket's mail log).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Outbound {
    /// Its id.
    pub id: i64,
    /// The ticket.
    pub ticket_number: Option<i64>,
    /// What it is.
    pub kind: String,
    /// Its Message-ID.
    pub message_id: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last transport error.
    pub last_error: Option<String>,
    /// Queued at.
    pub created_at: i64,
    /// Sent at.
    pub sent_at: Option<i64>,
    /// The whole message (only for the sender).
    #[serde(skip)]
    pub raw: String,
}

const OUTBOUND_COLUMNS: &str = "id, ticket_number, kind, message_id, recipient, subject, state, attempts, last_error, \
     created_at, sent_at, raw";

type OutboundRow = (
    i64,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

fn outbound_of(row: OutboundRow) -> Outbound {
    let (
        id,
        ticket_number,
        kind,
        message_id,
        recipient,
        subject,
        state,
        attempts,
        last_error,
        created_at,
        sent_at,
        raw,
    ) = row;
    Outbound {
        id,
        ticket_number,
        kind,
        message_id,
        recipient,
        subject,
        state,
        attempts,
        last_error,
        created_at,
        sent_at,
        raw,
    }
}

/// Queues messages with their send jobs in one transaction; a known dedup key is
/// skipped. Returns the ids queued.
pub async fn queue_outbound(db: &TenantDb, batch: &[NewOutbound]) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    let mut ids = Vec::new();
    for new in batch {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO mail_outbound (dedup_key, ticket_number, kind, message_id, recipient, subject, raw, \
             state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8) \
             ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        )
        .bind(&new.dedup_key)
        .bind(new.ticket_number)
        .bind(&new.kind)
        .bind(&new.message_id)
        .bind(&new.recipient)
        .bind(new.subject.chars().take(998).collect::<String>())
        .bind(&new.raw)
        .bind(now_ms())
        .fetch_optional(tx.conn())
        .await?;
        if let Some(id) = id {
            tx.enqueue(NewJob {
                dedup_key: Some(format!("mail-out:{id}")),
                max_attempts: SEND_ATTEMPTS,
                ..NewJob::now(SEND_JOB, serde_json::json!({ "id": id }))
            })
            .await?;
            ids.push(id);
        }
    }
    tx.commit().await?;
    Ok(ids)
}

/// One outbound message.
pub async fn outbound(db: &TenantDb, id: i64) -> Result<Outbound, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<OutboundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOUND_COLUMNS} FROM mail_outbound WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(outbound_of)
        .ok_or(StoreError::NotFound("outbound message"))
}

/// Records a send attempt: sent, or the error (and `failed` when it was the last).
pub async fn record_attempt(
    db: &TenantDb,
    id: i64,
    error: Option<&str>,
    last: bool,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    match error {
        None => {
            sqlx::query(
                "UPDATE mail_outbound SET state = 'sent', attempts = attempts + 1, sent_at = $2, last_error = NULL \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now_ms())
            .execute(tx.conn())
            .await?;
        }
        Some(error) => {
            sqlx::query(
                "UPDATE mail_outbound SET state = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(if last { "failed" } else { "queued" })
            .bind(error.chars().take(500).collect::<String>())
            .execute(tx.conn())
            .await?;
        }
    }
    tx.commit().await
}

/// The mail log of ticket `number`, oldest first.
pub async fn ticket_mail(db: &TenantDb, number: i64) -> Result<Vec<Outbound>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<OutboundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOUND_COLUMNS} FROM mail_outbound WHERE ticket_number = $1 ORDER BY id"
    )))
    .bind(number)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(outbound_of).collect())
}

/// The Message-IDs of ticket `number`'s thread as sent to `recipient` and received,
/// oldest first, at most `limit` (the newest ones): a new message's References.
pub async fn thread_ids(
    db: &TenantDb,
    number: i64,
    recipient: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let mut tx = db.read().await?;
    let mut rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT created_at, message_id FROM mail_outbound WHERE ticket_number = $1 AND recipient = $2 \
         UNION ALL SELECT m.created_at, m.email_message_id FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id \
           WHERE t.number = $1 AND m.email_message_id IS NOT NULL AND m.source = 'email' \
         ORDER BY 1 DESC LIMIT $3",
    )
    .bind(number)
    .bind(recipient)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    rows.reverse();
    Ok(rows.into_iter().map(|(_, id)| id).collect())
}

/// Whether a message of `kind` went to `recipient` since `since` (loop protection
/// for Portico's own automatic answers).
pub async fn sent_recently(
    db: &TenantDb,
    recipient: &str,
    kind: &str,
    since: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.read().await?;
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM mail_outbound WHERE recipient = $1 AND kind = $2 AND created_at >= $3 LIMIT 1",
    )
    .bind(recipient)
    .bind(kind)
    .bind(since)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(found.is_some())
}

// ---------------------------------------------------------------------------
// The tenant's own SMTP server

/// The tenant's own SMTP server: the sealed URL and the sender address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSmtp {
    /// `smtp://…` or `smtps://…` with credentials, sealed.
    pub sealed_url: String,
    /// The address its mail goes out from.
    pub from_address: String,
    /// When it was set.
    pub updated_at: i64,
}

/// The tenant's own SMTP server, if it set one.
pub async fn tenant_smtp(db: &TenantDb) -> Result<Option<TenantSmtp>, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT sealed_url, from_address, updated_at FROM mail_smtp WHERE id = 1")
            .fetch_optional(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(
        row.map(|(sealed_url, from_address, updated_at)| TenantSmtp {
            sealed_url,
            from_address,
            updated_at,
        }),
    )
}

/// Sets the tenant's own SMTP server (audited, without the URL).
pub async fn set_tenant_smtp(
    db: &TenantDb,
    sealed_url: &str,
    from_address: &str,
    host: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let from = crate::ids::EmailAddress::parse(from_address)
        .map_err(|_| invalid("from", "is not an e-mail address"))?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO mail_smtp (id, sealed_url, from_address, updated_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET sealed_url = $1, from_address = $2, updated_at = $3",
    )
    .bind(sealed_url)
    .bind(from.as_str())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.smtp_set",
        target: "mail:smtp".to_owned(),
        details: serde_json::json!({ "host": host, "from": from.as_str() }),
    })
    .await?;
    tx.commit().await
}

/// Goes back to the platform's SMTP server (audited).
pub async fn clear_tenant_smtp(db: &TenantDb, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM mail_smtp WHERE id = 1")
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "mail.smtp_cleared",
        target: "mail:smtp".to_owned(),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}
