//! A ticket's thread: public replies and internal notes with their author, source,
//! e-mail ids and attachments (whose bytes live outside the database; the rows here
//! name them), and what a reply does to the ticket — a technician's first public
//! answer is the first response and opens a new ticket; a requester's reply to a
//! waiting ticket opens it again, and to a resolved or closed one reopens it unless
//! the tenant forbids reopening (then it is refused, or starts a follow-up ticket
//! linked to the old one).

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::store::TenantDb;
use crate::tickets::{self, Reader, Source, Ticket};

/// The tenant setting that forbids reopening (`false`: tickets cannot be reopened).
pub const REOPEN_SETTING: &str = "tickets_can_reopen";

/// An attachment's metadata.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Attachment {
    /// Its id (in the download URL).
    pub id: i64,
    /// The message it came with.
    pub message_id: Option<i64>,
    /// The name it was uploaded with.
    pub filename: String,
    /// The type sniffed from its content.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// When it was stored.
    pub created_at: i64,
    /// Where the bytes are (never shown).
    #[serde(skip)]
    pub storage_key: String,
}

/// A message of the thread.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Message {
    /// Its id.
    pub id: i64,
    /// Its author (none for Portico's own notes).
    pub author_id: Option<i64>,
    /// The author's display name or address.
    pub author: Option<String>,
    /// An internal note (staff only).
    pub internal: bool,
    /// The text.
    pub body: String,
    /// Where it came from.
    pub source: String,
    /// Its e-mail Message-ID, when it came by or went as mail.
    pub email_message_id: Option<String>,
    /// When it was written.
    pub created_at: i64,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
}

/// An attachment already stored outside the database, to record with a message.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Where the bytes are.
    pub storage_key: String,
    /// The uploaded name (sanitized by the caller).
    pub filename: String,
    /// The sniffed type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// A message to add.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// The text (may be empty when files are attached).
    pub body: String,
    /// An internal note.
    pub internal: bool,
    /// The author.
    pub author_id: Option<i64>,
    /// Where it came from.
    pub source: Source,
    /// Its language (for search).
    pub language: String,
    /// Its e-mail Message-ID.
    pub email_message_id: Option<String>,
    /// Files stored for it.
    pub files: Vec<StoredFile>,
    /// When the ticket cannot be reopened: start a new ticket linked to it instead.
    pub follow_up: bool,
}

/// What adding a message did.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The ticket the message is on (a new follow-up ticket, or the merge target).
    pub ticket: Ticket,
    /// The message.
    pub message_id: i64,
    /// A follow-up ticket was opened because the old one cannot be reopened.
    pub follow_up_of: Option<i64>,
}

/// Code of the refusal when a requester answers a ticket that cannot be reopened.
pub const CANNOT_REOPEN: &str = "ticket_cannot_be_reopened";

/// Records `files`, already stored, as attachments of message `message_id` of ticket
/// `ticket_id`, inside `tx`.
pub(crate) async fn insert_files(
    tx: &mut crate::store::TenantTx,
    ticket_id: i64,
    message_id: i64,
    files: &[StoredFile],
    uploaded_by: Option<i64>,
    at: i64,
) -> Result<(), StoreError> {
    for file in files {
        sqlx::query(
            "INSERT INTO ticket_attachments (ticket_id, message_id, storage_key, filename, content_type, size, \
             sha256, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(ticket_id)
        .bind(message_id)
        .bind(&file.storage_key)
        .bind(&file.filename)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(&file.sha256)
        .bind(uploaded_by)
        .bind(at)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// Whether the tenant lets requesters reopen resolved and closed tickets (default yes).
pub async fn can_reopen(db: &TenantDb) -> Result<bool, StoreError> {
    Ok(crate::accounts::tenant_setting(db, REOPEN_SETTING)
        .await?
        .and_then(|v| v.as_bool())
        .unwrap_or(true))
}

/// Adds a message to ticket `number` within `reader`'s scope, with its files, and
/// applies what it means for the ticket's status. A message to a merged ticket goes
/// to the ticket it was merged into.
pub async fn add_message(
    db: &TenantDb,
    number: i64,
    new: NewMessage,
    actor: &str,
    reader: Reader,
) -> Result<Posted, StoreError> {
    add_message_with(db, number, new, actor, reader, None).await
}

/// [`add_message`], also settling the pending inbound mail `mail_intake` (as
/// `added`, or `created` when it became a follow-up ticket) in the same transaction.
pub(crate) async fn add_message_with(
    db: &TenantDb,
    number: i64,
    new: NewMessage,
    actor: &str,
    reader: Reader,
    mail_intake: Option<i64>,
) -> Result<Posted, StoreError> {
    tickets::validate_body(&new.body, "body")?;
    if new.body.trim().is_empty() && new.files.is_empty() {
        return Err(StoreError::Invalid {
            field: "body",
            reason: "must not be empty".to_owned(),
        });
    }
    if new.internal && !reader.staff {
        return Err(StoreError::Refused {
            code: "internal_notes_are_staff_only",
            reason: "only the service desk writes internal notes".to_owned(),
        });
    }
    let reopen_allowed = can_reopen(db).await?;
    let mut tx = db.begin().await?;
    let asked = tickets::get_in(&mut tx, number, reader).await?;
    // A reply to a merged ticket goes to the ticket it was merged into — even when
    // that one belongs to a colleague the reader cannot see: the reply is not lost,
    // and the answer shows the reader's own (merged) ticket.
    let target = asked.merged_into.unwrap_or(asked.number);
    let answer_with =
        if asked.merged_into.is_some() && tickets::get_in(&mut tx, target, reader).await.is_err() {
            asked.number
        } else {
            target
        };
    // The ticket as stored (a customer's view shows some statuses as their class).
    let stored = tickets::get_in(&mut tx, target, Reader::SYSTEM).await?;
    let now = now_ms();
    let finished = matches!(stored.status_class.as_str(), "resolved" | "closed");
    let by_customer = !reader.staff && !new.internal;
    if by_customer && finished && !reopen_allowed {
        if !new.follow_up {
            return Err(StoreError::Refused {
                code: CANNOT_REOPEN,
                reason: format!(
                    "ticket #{} is {} and cannot be reopened; send the reply as a new ticket",
                    stored.number, stored.status_class
                ),
            });
        }
        tx.rollback().await?;
        return follow_up(db, &stored, new, actor, mail_intake).await;
    }
    let message_id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, \
         email_message_id, language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(stored.id)
    .bind(new.author_id)
    .bind(i64::from(new.internal))
    .bind(&new.body)
    .bind(new.source.as_str())
    .bind(now)
    .bind(&new.email_message_id)
    .bind(&new.language)
    .fetch_one(tx.conn())
    .await?;
    tickets::index_message(&mut tx, message_id, None, &new.body, &new.language).await?;
    insert_files(
        &mut tx,
        stored.id,
        message_id,
        &new.files,
        new.author_id,
        now,
    )
    .await?;
    sqlx::query(
        "UPDATE tickets SET updated_at = $2, \
         first_response_at = CASE WHEN $3 = 1 AND first_response_at IS NULL THEN $2 ELSE first_response_at END \
         WHERE id = $1",
    )
    .bind(stored.id)
    .bind(now)
    .bind(i64::from(reader.staff && !new.internal))
    .execute(tx.conn())
    .await?;
    if reader.staff && !new.internal && stored.first_response_at.is_none() {
        crate::ticket_sla::recompute(&mut tx, stored.id, actor).await?;
    }
    // What the reply means for the status.
    let next = match (reader.staff, new.internal, stored.status_class.as_str()) {
        (true, false, "new") => Some("open"),
        (false, false, "waiting" | "paused") => Some("open"),
        (false, false, "resolved" | "closed") => Some("open"),
        _ => None,
    };
    if let Some(key) = next {
        let target = tickets::status_by_key(&mut tx, key)
            .await?
            .ok_or(StoreError::NotFound("status"))?;
        let mut moved = stored.clone();
        moved.updated_at = now;
        tickets::move_status(&mut tx, &moved, &target, actor).await?;
    }
    if let Some(intake) = mail_intake {
        crate::mail::settle_in(&mut tx, intake, "added", Some(stored.number), None).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: stored.number.to_string(),
        event_type: "ticket.message_added",
        payload: serde_json::json!({
            "number": stored.number,
            "message_id": message_id,
            "internal": new.internal,
            "author_id": new.author_id,
            "source": new.source.as_str(),
            "attachments": new.files.len(),
            "actor": actor,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Posted {
        ticket: tickets::get_ticket(db, answer_with, reader).await?,
        message_id,
        follow_up_of: None,
    })
}

/// A requester's reply to a ticket that cannot be reopened, as a new ticket linked
/// to it.
async fn follow_up(
    db: &TenantDb,
    old: &Ticket,
    new: NewMessage,
    actor: &str,
    mail_intake: Option<i64>,
) -> Result<Posted, StoreError> {
    let requester_id = new.author_id.unwrap_or(old.requester_id);
    let subject: String = old.subject.chars().take(240).collect();
    let created = tickets::create_ticket_with(
        db,
        tickets::NewTicket {
            subject: format!("{subject} (#{})", old.number),
            description: new.body.clone(),
            priority: old
                .priority
                .as_deref()
                .map(tickets::Priority::parse)
                .transpose()?
                .unwrap_or_default(),
            type_key: old.type_key.clone(),
            requester_id,
            organization_id: old.organization_id,
            source: new.source,
            language: new.language.clone(),
            email_message_id: new.email_message_id.clone(),
            ..Default::default()
        },
        None,
        tickets::Reader::SYSTEM,
        mail_intake,
    )
    .await?;
    let mut tx = db.begin().await?;
    tickets::insert_link(&mut tx, created.ticket.id, old.id, "follow_up").await?;
    let message_id: i64 = sqlx::query_scalar(
        "SELECT id FROM ticket_messages WHERE ticket_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(created.ticket.id)
    .fetch_one(tx.conn())
    .await?;
    insert_files(
        &mut tx,
        created.ticket.id,
        message_id,
        &new.files,
        new.author_id,
        now_ms(),
    )
    .await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: created.ticket.number.to_string(),
        event_type: "ticket.linked",
        payload: serde_json::json!({
            "number": created.ticket.number,
            "other": old.number,
            "kind": "follow_up",
            "actor": actor,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Posted {
        ticket: created.ticket,
        message_id,
        follow_up_of: Some(old.number),
    })
}

type MessageRow = (
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    i64,
);

type AttachmentRow = (i64, Option<i64>, String, String, i64, String, i64, String);

fn attachment(row: AttachmentRow) -> Attachment {
    let (id, message_id, filename, content_type, size, sha256, created_at, storage_key) = row;
    Attachment {
        id,
        message_id,
        filename,
        content_type,
        size,
        sha256,
        created_at,
        storage_key,
    }
}

/// The thread of ticket `number` as `reader` may see it (customers: no internal
/// notes, nor their attachments), oldest first.
pub async fn messages(
    db: &TenantDb,
    number: i64,
    reader: Reader,
) -> Result<Vec<Message>, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let internal = if reader.staff {
        ""
    } else {
        " AND m.internal = 0"
    };
    let rows: Vec<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT m.id, m.author_id, u.display_name, u.email, m.internal, m.body, m.source, m.email_message_id, \
         m.created_at FROM ticket_messages m LEFT JOIN users u ON u.id = m.author_id \
         WHERE m.ticket_id = $1{internal} ORDER BY m.id"
    )))
    .bind(ticket.id)
    .fetch_all(tx.conn())
    .await?;
    let files: Vec<AttachmentRow> = sqlx::query_as(
        "SELECT id, message_id, filename, content_type, size, sha256, created_at, storage_key \
         FROM ticket_attachments WHERE ticket_id = $1 ORDER BY id",
    )
    .bind(ticket.id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    let mut out: Vec<Message> = rows
        .into_iter()
        .map(
            |(id, author_id, name, email, internal, body, source, email_message_id, created_at)| {
                Message {
                    id,
                    author_id,
                    author: name.filter(|n| !n.is_empty()).or(email),
                    internal: internal != 0,
                    body,
                    source,
                    email_message_id,
                    created_at,
                    attachments: Vec::new(),
                }
            },
        )
        .collect();
    for file in files.into_iter().map(attachment) {
        if let Some(message) = out.iter_mut().find(|m| Some(m.id) == file.message_id) {
            message.attachments.push(file);
        }
    }
    Ok(out)
}

/// The attachments of ticket `number` that `reader` may see.
pub async fn attachments(
    db: &TenantDb,
    number: i64,
    reader: Reader,
) -> Result<Vec<Attachment>, StoreError> {
    Ok(messages(db, number, reader)
        .await?
        .into_iter()
        .flat_map(|m| m.attachments)
        .collect())
}

/// One attachment of ticket `number`, if `reader` may see it; otherwise `NotFound`
/// exactly like a missing one.
pub async fn attachment_of(
    db: &TenantDb,
    number: i64,
    id: i64,
    reader: Reader,
) -> Result<Attachment, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let internal = if reader.staff {
        ""
    } else {
        " AND (m.internal = 0 OR m.internal IS NULL)"
    };
    let row: Option<AttachmentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256, a.created_at, a.storage_key \
         FROM ticket_attachments a LEFT JOIN ticket_messages m ON m.id = a.message_id \
         WHERE a.ticket_id = $1 AND a.id = $2{internal}"
    )))
    .bind(ticket.id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(attachment)
        .ok_or(StoreError::NotFound("attachment"))
}

/// Storage keys no attachment row names among `keys` (files stored for a message
/// whose transaction did not commit), for the caller to delete.
pub async fn unreferenced(db: &TenantDb, keys: &[String]) -> Result<Vec<String>, StoreError> {
    let mut tx = db.read().await?;
    let mut out = Vec::new();
    for key in keys {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM ticket_attachments WHERE storage_key = $1")
                .bind(key)
                .fetch_optional(tx.conn())
                .await?;
        if found.is_none() {
            out.push(key.clone());
        }
    }
    tx.rollback().await?;
    Ok(out)
}
