//! Tickets: creation with a per-tenant number, status classes and the status
//! history, per-scope status counts kept in the ticket's own transaction, idempotent
//! creation, scoped reads (list with filters, full-text search and cursor
//! pagination; one by number), changes (priority, type, assignee, queue, level,
//! tags, watchers, custom fields), links and merges. The thread (messages,
//! attachments) is in [`crate::thread`]; statuses, queues, fields and types in
//! [`crate::ticket_config`].
//!
//! Every read takes the caller's [`Reader`] (the scope from the permission decision
//! and whether they are staff) and filters in SQL: a ticket outside it is answered
//! exactly like a missing one, and customers never see internal notes or hidden
//! fields, nor find a ticket through them.
//!
//! Counts: `ticket_counts` holds, per scope (`all`, `organization`, `requester`),
//! status class and shard, how many tickets there are. A write adds to one random
//! shard of each of its three scopes, so concurrent writers seldom meet on a row; a
//! read sums at most 6 × 8 rows. No page view ever counts the tickets table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::policy::Scope;
use crate::search::{self, Language};
use crate::store::{Backend, TenantDb, TenantTx};
use crate::ticket_config::{self, FieldVisibility, PortalFields};

/// How many shards each counter has.
const COUNT_SHARDS: u64 = 8;

/// The six status classes, in the order the tabs show them.
pub const STATUS_CLASSES: [&str; 6] = ["new", "open", "waiting", "paused", "resolved", "closed"];

/// A ticket's priority, with the Italian manual's guidance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A global outage affecting several users, or a security problem.
    Critical,
    /// One user blocked.
    High,
    /// Urgent.
    #[default]
    Medium,
    /// Not urgent.
    Low,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }

    /// From the stored or submitted name.
    pub fn parse(value: &str) -> Result<Priority, StoreError> {
        match value {
            "critical" => Ok(Priority::Critical),
            "high" => Ok(Priority::High),
            "medium" => Ok(Priority::Medium),
            "low" => Ok(Priority::Low),
            _ => Err(StoreError::Invalid {
                field: "priority",
                reason: "must be critical, high, medium or low".to_owned(),
            }),
        }
    }
}

/// Where a ticket or message came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The portal's form.
    #[default]
    Portal,
    /// An e-mail.
    Email,
    /// The desktop form of the endpoint agent.
    Agent,
    /// The AI assistant.
    Assistant,
    /// The REST API.
    Api,
    /// The console (technicians).
    Console,
    /// Portico itself (automatic notes).
    System,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Portal => "portal",
            Source::Email => "email",
            Source::Agent => "agent",
            Source::Assistant => "assistant",
            Source::Api => "api",
            Source::Console => "console",
            Source::System => "system",
        }
    }

    /// The source a ticket may be created from (`console` and `system` are only
    /// sources of messages; a ticket opened in the console is stored as `portal`).
    pub(crate) fn ticket_source(self) -> &'static str {
        match self {
            Source::Console | Source::System => "portal",
            other => other.as_str(),
        }
    }
}

/// Who is reading: the scope from the permission decision, and whether the reader is
/// staff (sees internal notes, hidden fields, all statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    /// Which tickets.
    pub scope: Scope,
    /// Staff (technician, MSP admin, a service account with ticket rights) or customer.
    pub staff: bool,
}

impl Reader {
    /// Everything, as staff: for Portico's own work (jobs, re-reads after a write).
    pub const SYSTEM: Reader = Reader {
        scope: Scope::All,
        staff: true,
    };
}

/// A ticket to create.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    /// One line, 1 to 250 characters.
    pub subject: String,
    /// The first message.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// The ticket type's key, if any.
    pub type_key: Option<String>,
    /// The requesting person.
    pub requester_id: i64,
    /// Their organization, if any.
    pub organization_id: Option<i64>,
    /// The device concerned (devices arrive with the endpoint agent).
    pub device_id: Option<i64>,
    /// Where it came from.
    pub source: Source,
    /// The language of its text (for search).
    pub language: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Addresses copied on it.
    pub watchers: Vec<String>,
    /// Custom field values by key.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// E-mail Message-ID of the first message, when it came by mail.
    pub email_message_id: Option<String>,
    /// Files already stored for the first message (e-mail attachments).
    pub files: Vec<crate::thread::StoredFile>,
}

pub(crate) fn validate_subject(subject: &str) -> Result<(), StoreError> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 250 || subject.contains(['\r', '\n']) {
        return Err(StoreError::Invalid {
            field: "subject",
            reason: "must be one line of 1 to 250 characters".to_owned(),
        });
    }
    Ok(())
}

/// A message body's limit.
pub const MAX_BODY_BYTES: usize = 1_000_000;

pub(crate) fn validate_body(body: &str, field: &'static str) -> Result<(), StoreError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(StoreError::Invalid {
            field,
            reason: "must be at most 1,000,000 bytes".to_owned(),
        });
    }
    Ok(())
}

/// Tags: lowercase, 1 to 40 letters, digits, `-`, `_` or `.`; at most 20.
fn normalize_tags(tags: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty()
            || tag.chars().count() > 40
            || !tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(StoreError::Invalid {
                field: "tags",
                reason: "a tag is 1 to 40 letters, digits, '-', '_' or '.'".to_owned(),
            });
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > 20 {
        return Err(StoreError::Invalid {
            field: "tags",
            reason: "at most 20 tags".to_owned(),
        });
    }
    out.sort();
    Ok(out)
}

fn normalize_watchers(watchers: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for watcher in watchers {
        let address =
            crate::ids::EmailAddress::parse(watcher).map_err(|_| StoreError::Invalid {
                field: "watchers",
                reason: format!("{watcher:?} is not an e-mail address"),
            })?;
        let address = address.as_str().to_owned();
        if !out.contains(&address) {
            out.push(address);
        }
    }
    if out.len() > 50 {
        return Err(StoreError::Invalid {
            field: "watchers",
            reason: "at most 50 people".to_owned(),
        });
    }
    Ok(out)
}

/// A ticket as lists and pages show it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Ticket {
    /// Internal id (never shown to people).
    #[serde(skip)]
    pub id: i64,
    /// The number people see (#1042).
    pub number: i64,
    /// Subject.
    pub subject: String,
    /// First message.
    pub description: String,
    /// The status key (`new`, `open`, … or an MSP-defined one).
    pub status: String,
    /// Its class.
    pub status_class: String,
    /// Priority (`None` when hidden from the reader).
    pub priority: Option<String>,
    /// Ticket type's key.
    #[serde(rename = "type")]
    pub type_key: Option<String>,
    /// Requester.
    pub requester_id: i64,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Device concerned.
    pub device_id: Option<i64>,
    /// Assigned technician.
    pub assignee_id: Option<i64>,
    /// Queue's key.
    pub queue: Option<String>,
    /// Support level (1: first level, 2: second level, 3).
    pub level: i64,
    /// Origin.
    pub source: String,
    /// Language of its text.
    pub language: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom field values the reader may see.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// When staff first answered publicly.
    pub first_response_at: Option<i64>,
    /// When it was last resolved.
    pub resolved_at: Option<i64>,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// The ticket it was merged into.
    pub merged_into: Option<i64>,
    /// SLA: `ok`, `at_risk`, `breached`, `paused` or `met`; none without a policy
    /// (and for customers).
    pub sla_state: Option<String>,
    /// When the first response is due.
    pub first_response_due_at: Option<i64>,
    /// When the resolution is due (none while paused).
    pub resolution_due_at: Option<i64>,
    /// When a target was first missed.
    pub sla_breached_at: Option<i64>,
    /// `pending` (awaiting approval), `approved` or `rejected`; none when its type
    /// needs no approval.
    pub approval_state: Option<String>,
    /// Created, Unix milliseconds.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: i64,
    number: i64,
    subject: String,
    description: String,
    status: String,
    status_class: String,
    priority: String,
    type_key: Option<String>,
    requester_id: i64,
    organization_id: Option<i64>,
    device_id: Option<i64>,
    assignee_id: Option<i64>,
    queue: Option<String>,
    level: i64,
    source: String,
    language: String,
    fields: String,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    closed_at: Option<i64>,
    merged_into: Option<i64>,
    sla_state: Option<String>,
    first_response_due_at: Option<i64>,
    resolution_due_at: Option<i64>,
    sla_breached_at: Option<i64>,
    approval_state: Option<String>,
    created_at: i64,
    updated_at: i64,
}

const TICKET_COLUMNS: &str = "SELECT t.id, t.number, t.subject, t.description, s.key AS status, \
     t.status_class, t.priority, t.type_key, t.requester_id, t.organization_id, t.device_id, \
     t.assignee_id, q.key AS queue, t.level, t.source, t.language, t.fields, t.first_response_at, \
     t.resolved_at, t.closed_at, m.number AS merged_into, t.sla_state, t.first_response_due_at, \
     t.resolution_due_at, t.sla_breached_at, t.approval_state, t.created_at, t.updated_at \
     FROM tickets t JOIN ticket_statuses s ON s.id = t.status_id \
     LEFT JOIN ticket_queues q ON q.id = t.queue_id \
     LEFT JOIN tickets m ON m.id = t.merged_into";

impl TicketRow {
    /// The ticket as `reader` may see it: customers see a status not visible to
    /// them as its class, and no hidden field.
    fn into_ticket(
        self,
        reader: Reader,
        portal: &PortalFields,
        visible_statuses: &[String],
    ) -> Ticket {
        let mut fields = match serde_json::from_str::<serde_json::Value>(&self.fields) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let mut ticket = Ticket {
            id: self.id,
            number: self.number,
            subject: self.subject,
            description: self.description,
            status: self.status,
            status_class: self.status_class,
            priority: Some(self.priority),
            type_key: self.type_key,
            requester_id: self.requester_id,
            organization_id: self.organization_id,
            device_id: self.device_id,
            assignee_id: self.assignee_id,
            queue: self.queue,
            level: self.level,
            source: self.source,
            language: self.language,
            tags: Vec::new(),
            fields: serde_json::Map::new(),
            first_response_at: self.first_response_at,
            resolved_at: self.resolved_at,
            closed_at: self.closed_at,
            merged_into: self.merged_into,
            sla_state: self.sla_state,
            first_response_due_at: self.first_response_due_at,
            resolution_due_at: self.resolution_due_at,
            sla_breached_at: self.sla_breached_at,
            approval_state: self.approval_state,
            created_at: self.created_at,
            updated_at: self.updated_at,
        };
        if !reader.staff {
            if !visible_statuses.contains(&ticket.status) {
                ticket.status = ticket.status_class.clone();
            }
            if portal.standard("priority") == FieldVisibility::Hidden {
                ticket.priority = None;
            }
            if portal.standard("type") == FieldVisibility::Hidden {
                ticket.type_key = None;
            }
            if portal.standard("device") == FieldVisibility::Hidden {
                ticket.device_id = None;
            }
            if portal.standard("assignee") == FieldVisibility::Hidden {
                ticket.assignee_id = None;
            }
            // Queues, levels, tags and SLA clocks are the MSP's own organisation of work.
            ticket.queue = None;
            ticket.level = 0;
            ticket.sla_state = None;
            ticket.first_response_due_at = None;
            ticket.resolution_due_at = None;
            ticket.sla_breached_at = None;
            fields.retain(|key, _| portal.custom(key) != FieldVisibility::Hidden);
        }
        ticket.fields = fields;
        ticket
    }
}

/// The SQL filter of a scope, with its bound value (`$n` is `first_param`).
fn scope_clause(scope: Scope, first_param: usize) -> Option<(String, Option<i64>)> {
    match scope {
        Scope::All => Some((String::new(), None)),
        Scope::Organization(Some(organization)) => Some((
            format!(" AND t.organization_id = ${first_param}"),
            Some(organization),
        )),
        Scope::Own(Some(user)) => {
            Some((format!(" AND t.requester_id = ${first_param}"), Some(user)))
        }
        Scope::Organization(None) | Scope::Own(None) => None,
    }
}

/// Adds `delta` to the counts of the scopes a ticket belongs to, for one class.
async fn count(
    tx: &mut TenantTx,
    requester_id: i64,
    organization_id: Option<i64>,
    status_class: &str,
    delta: i64,
) -> Result<(), StoreError> {
    // One statement for the ticket's two or three scopes.
    let shard = (rand::random::<u64>() % COUNT_SHARDS) as i64;
    let organization = if organization_id.is_some() {
        ", ('organization', $5, $2, $3, $4)"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO ticket_counts (scope, scope_id, status_class, shard, n) VALUES \
         ('all', 0, $2, $3, $4), ('requester', $1, $2, $3, $4){organization} \
         ON CONFLICT (scope, scope_id, status_class, shard) DO UPDATE SET n = ticket_counts.n + excluded.n"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(requester_id)
        .bind(status_class)
        .bind(shard)
        .bind(delta);
    if let Some(organization) = organization_id {
        query = query.bind(organization);
    }
    query.execute(tx.conn()).await?;
    Ok(())
}

/// Adds `delta` to one scope's count of `status_class` (bulk writers sum first).
pub(crate) async fn add_count(
    tx: &mut TenantTx,
    scope: &str,
    scope_id: i64,
    status_class: &str,
    delta: i64,
) -> Result<(), StoreError> {
    let shard = (rand::random::<u64>() % COUNT_SHARDS) as i64;
    sqlx::query(
        "INSERT INTO ticket_counts (scope, scope_id, status_class, shard, n) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (scope, scope_id, status_class, shard) DO UPDATE SET n = ticket_counts.n + excluded.n",
    )
    .bind(scope)
    .bind(scope_id)
    .bind(status_class)
    .bind(shard)
    .bind(delta)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Indexes a message for full-text search (in the same transaction that wrote it).
/// `subject` is indexed with the first message.
pub(crate) async fn index_message(
    tx: &mut TenantTx,
    message_id: i64,
    subject: Option<&str>,
    body: &str,
    language: &str,
) -> Result<(), StoreError> {
    let text = match subject {
        Some(subject) => format!("{subject}\n{body}"),
        None => body.to_owned(),
    };
    let language = Language::from_tag(language);
    match tx.tenant().store().backend() {
        Backend::Postgres => {
            sqlx::query(
                "UPDATE ticket_messages SET search = to_tsvector(CAST($2 AS regconfig), $3) || to_tsvector('simple', $3) \
                 WHERE id = $1",
            )
            .bind(message_id)
            .bind(language.pg_config())
            .bind(&text)
            .execute(tx.conn())
            .await?;
        }
        Backend::Sqlite => {
            sqlx::query("INSERT OR REPLACE INTO ticket_fts (rowid, body) VALUES ($1, $2)")
                .bind(message_id)
                .bind(search::index_text(&text, language))
                .execute(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// SQLite: how many pages one step of merging the search index writes (a few
/// tens of milliseconds holding the tenant's write lock).
const MERGE_STEP_PAGES: i64 = 500;

/// The tenant setting where the search index's last full merge is kept: the
/// newest message it covered.
const MERGED_UPTO_SETTING: &str = "search_index_merged_upto";

/// Keeps the SQLite search index fast to probe, `max_steps` steps at most, each
/// its own short write transaction. FTS5 keeps its index as segments, one or more
/// per committed transaction, merged into larger ones level by level; every probe
/// of a word (a search for a common word, see [`list_tickets`]) seeks in every
/// segment, and after a million tickets arrived one transaction at a time a probe
/// costs about 25 times what it does on one segment. When a fiftieth of the
/// messages (at least 1,000) arrived since the last full merge, the segments are
/// merged into one again, incrementally. Returns whether nothing is left to do.
/// PostgreSQL's GIN index needs none of this (autovacuum flushes its pending list).
pub async fn maintain_search_index(db: &TenantDb, max_steps: usize) -> Result<bool, StoreError> {
    if db.store().backend() != Backend::Sqlite {
        return Ok(true);
    }
    let mut tx = db.read().await?;
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM ticket_messages")
        .fetch_one(tx.conn())
        .await?;
    let mark: Option<String> =
        sqlx::query_scalar("SELECT value FROM tenant_settings WHERE key = $1")
            .bind(MERGED_UPTO_SETTING)
            .fetch_optional(tx.conn())
            .await?;
    tx.rollback().await?;
    let newest = newest.unwrap_or(0);
    let mark = mark.and_then(|m| m.parse::<i64>().ok()).unwrap_or(0);
    if newest - mark < (newest / 50).max(1_000) {
        return Ok(true);
    }
    for _ in 0..max_steps {
        let mut tx = db.begin().await?;
        // A step that changes (almost) nothing found a single segment: done.
        let before: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(tx.conn())
            .await?;
        sqlx::query("INSERT INTO ticket_fts (ticket_fts, rank) VALUES ('merge', $1)")
            .bind(-MERGE_STEP_PAGES)
            .execute(tx.conn())
            .await?;
        let after: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(tx.conn())
            .await?;
        let finished = after - before < 2;
        if finished {
            crate::accounts::put_setting(&mut tx, MERGED_UPTO_SETTING, &newest.to_string()).await?;
        }
        tx.commit().await?;
        if finished {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What creation did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The ticket.
    pub ticket: Ticket,
    /// `false` when an earlier request with the same idempotency key made it.
    pub fresh: bool,
}

/// Why an idempotent creation was refused.
pub const IDEMPOTENCY_MISMATCH: &str = "this Idempotency-Key was used for a different request";

async fn next_number(tx: &mut TenantTx) -> Result<i64, StoreError> {
    Ok(match tx.tenant().store().backend() {
        Backend::Postgres => {
            sqlx::query_scalar("SELECT nextval('ticket_numbers')")
                .fetch_one(tx.conn())
                .await?
        }
        Backend::Sqlite => {
            sqlx::query_scalar(
                "UPDATE ticket_numbers SET next = next + 1 WHERE id = 1 RETURNING next - 1",
            )
            .fetch_one(tx.conn())
            .await?
        }
    })
}

async fn set_tags(tx: &mut TenantTx, ticket_id: i64, tags: &[String]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1")
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    for tag in tags {
        sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2)")
            .bind(ticket_id)
            .bind(tag)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

async fn add_watchers(
    tx: &mut TenantTx,
    ticket_id: i64,
    watchers: &[String],
) -> Result<(), StoreError> {
    for email in watchers {
        let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO ticket_watchers (ticket_id, email, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT (ticket_id, email) DO NOTHING",
        )
        .bind(ticket_id)
        .bind(email)
        .bind(user)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

/// A status as the history and the SLA need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StatusRow {
    pub(crate) id: i64,
    pub(crate) key: String,
    pub(crate) class: String,
    pub(crate) pauses_sla: i64,
}

pub(crate) async fn status_by_key(
    tx: &mut TenantTx,
    key: &str,
) -> Result<Option<StatusRow>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, key, class, pauses_sla FROM ticket_statuses WHERE key = $1")
            .bind(key)
            .fetch_optional(tx.conn())
            .await?,
    )
}

pub(crate) async fn record_status(
    tx: &mut TenantTx,
    ticket_id: i64,
    status: &StatusRow,
    at: i64,
    actor: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ticket_status_history (ticket_id, status_id, class, pauses_sla, at, actor) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ticket_id)
    .bind(status.id)
    .bind(&status.class)
    .bind(status.pauses_sla)
    .bind(at)
    .bind(actor)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Creates a ticket in status `new`, its first message (indexed for search), tags,
/// watchers, custom field values, its status history, counts and `ticket.created`
/// event in one transaction, and returns it as `reader` sees it. With `idempotency`
/// (caller, key, request hash), a repeated request returns the first one's ticket
/// instead.
pub async fn create_ticket(
    db: &TenantDb,
    new: NewTicket,
    idempotency: Option<(&str, &str, &str)>,
    reader: Reader,
) -> Result<Created, StoreError> {
    create_ticket_with(db, new, idempotency, reader, None).await
}

/// [`create_ticket`], also settling the pending inbound mail `mail_intake` as
/// `created` in the same transaction (refused with
/// [`crate::mail::ALREADY_PROCESSED`] when another worker settled it first).
pub(crate) async fn create_ticket_with(
    db: &TenantDb,
    new: NewTicket,
    idempotency: Option<(&str, &str, &str)>,
    reader: Reader,
    mail_intake: Option<i64>,
) -> Result<Created, StoreError> {
    validate_subject(&new.subject)?;
    validate_body(&new.description, "description")?;
    let tags = normalize_tags(&new.tags)?;
    let watchers = normalize_watchers(&new.watchers)?;
    if let Some((caller, key, hash)) = idempotency
        && let Some(existing) = idempotent_ticket(db, caller, key, hash, reader).await?
    {
        return Ok(Created {
            ticket: existing,
            fresh: false,
        });
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    if let Some(type_key) = &new.type_key {
        ticket_config::require_type(&mut tx, type_key).await?;
    }
    let fields = ticket_config::validate_fields(&mut tx, &new.fields, None).await?;
    let number = next_number(&mut tx).await?;
    let status = status_by_key(&mut tx, "new")
        .await?
        .ok_or(StoreError::NotFound("status"))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, subject, description, status_id, status_class, priority, type_key, \
         requester_id, organization_id, device_id, source, language, fields, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'new', $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(number)
    .bind(new.subject.trim())
    .bind(&new.description)
    .bind(status.id)
    .bind(new.priority.as_str())
    .bind(&new.type_key)
    .bind(new.requester_id)
    .bind(new.organization_id)
    .bind(new.device_id)
    .bind(new.source.ticket_source())
    .bind(&new.language)
    .bind(serde_json::Value::Object(fields).to_string())
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    let message_id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, \
         email_message_id, language) VALUES ($1, $2, 0, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(id)
    .bind(new.requester_id)
    .bind(&new.description)
    .bind(new.source.as_str())
    .bind(now)
    .bind(&new.email_message_id)
    .bind(&new.language)
    .fetch_one(tx.conn())
    .await?;
    crate::thread::insert_files(
        &mut tx,
        id,
        message_id,
        &new.files,
        Some(new.requester_id),
        now,
    )
    .await?;
    index_message(
        &mut tx,
        message_id,
        Some(new.subject.trim()),
        &new.description,
        &new.language,
    )
    .await?;
    if !tags.is_empty() {
        set_tags(&mut tx, id, &tags).await?;
    }
    add_watchers(&mut tx, id, &watchers).await?;
    record_status(
        &mut tx,
        id,
        &status,
        now,
        &format!("user:{}", new.requester_id),
    )
    .await?;
    count(&mut tx, new.requester_id, new.organization_id, "new", 1).await?;
    crate::approvals::open_for_new_ticket(
        &mut tx,
        id,
        number,
        new.type_key.as_deref(),
        new.organization_id,
    )
    .await?;
    crate::ticket_sla::recompute(&mut tx, id, "system:sla").await?;
    if let Some((caller, key, hash)) = idempotency {
        let stored = sqlx::query(
            "INSERT INTO ticket_idempotency (caller, idempotency_key, ticket_id, request_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caller, idempotency_key) DO NOTHING",
        )
        .bind(caller)
        .bind(key)
        .bind(id)
        .bind(hash)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if stored == 0 {
            // A concurrent request with the same key won: return its ticket.
            tx.rollback().await?;
            return match idempotent_ticket(db, caller, key, hash, reader).await? {
                Some(ticket) => Ok(Created {
                    ticket,
                    fresh: false,
                }),
                None => Err(StoreError::Conflict("idempotency key")),
            };
        }
    }
    if let Some(intake) = mail_intake {
        crate::mail::settle_in(&mut tx, intake, "created", Some(number), None).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.created",
        payload: serde_json::json!({
            "number": number,
            "subject": new.subject.trim(),
            "priority": new.priority.as_str(),
            "type": new.type_key,
            "requester_id": new.requester_id,
            "organization_id": new.organization_id,
            "source": new.source.ticket_source(),
            "tags": tags,
        }),
    })
    .await?;
    tx.commit().await?;
    let ticket = get_ticket(db, number, reader).await?;
    Ok(Created {
        ticket,
        fresh: true,
    })
}

async fn idempotent_ticket(
    db: &TenantDb,
    caller: &str,
    key: &str,
    hash: &str,
    reader: Reader,
) -> Result<Option<Ticket>, StoreError> {
    let mut tx = db.read().await?;
    let found: Option<(i64, String)> = sqlx::query_as(
        "SELECT t.number, i.request_hash FROM ticket_idempotency i JOIN tickets t ON t.id = i.ticket_id \
         WHERE i.caller = $1 AND i.idempotency_key = $2",
    )
    .bind(caller)
    .bind(key)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    match found {
        None => Ok(None),
        Some((_, stored)) if stored != hash => Err(StoreError::Invalid {
            field: "Idempotency-Key",
            reason: IDEMPOTENCY_MISMATCH.to_owned(),
        }),
        Some((number, _)) => get_ticket(db, number, reader).await.map(Some),
    }
}

async fn tags_of(tx: &mut TenantTx, tickets: &mut [Ticket]) -> Result<(), StoreError> {
    if tickets.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=tickets.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({}) ORDER BY tag",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
    for ticket in tickets.iter() {
        query = query.bind(ticket.id);
    }
    for (ticket_id, tag) in query.fetch_all(tx.conn()).await? {
        if let Some(ticket) = tickets.iter_mut().find(|t| t.id == ticket_id) {
            ticket.tags.push(tag);
        }
    }
    Ok(())
}

/// What a customer may see of statuses and fields, read once per request.
async fn customer_view(
    tx: &mut TenantTx,
    reader: Reader,
) -> Result<(PortalFields, Vec<String>), StoreError> {
    if reader.staff {
        return Ok((PortalFields::default(), Vec::new()));
    }
    let portal = ticket_config::portal_fields(tx).await?;
    let visible: Vec<String> =
        sqlx::query_scalar("SELECT key FROM ticket_statuses WHERE visible_to_customers = 1")
            .fetch_all(tx.conn())
            .await?;
    Ok((portal, visible))
}

/// One ticket by its number, as `reader` may see it; outside their scope it is
/// `NotFound` like a missing one.
pub async fn get_ticket(db: &TenantDb, number: i64, reader: Reader) -> Result<Ticket, StoreError> {
    let mut tx = db.read().await?;
    let ticket = get_in(&mut tx, number, reader).await;
    tx.rollback().await?;
    ticket
}

pub(crate) async fn get_in(
    tx: &mut TenantTx,
    number: i64,
    reader: Reader,
) -> Result<Ticket, StoreError> {
    let Some((filter, value)) = scope_clause(reader.scope, 2) else {
        return Err(StoreError::NotFound("ticket"));
    };
    let query = format!("{TICKET_COLUMNS} WHERE t.number = $1{filter}");
    let mut statement = sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(query)).bind(number);
    if let Some(value) = value {
        statement = statement.bind(value);
    }
    let Some(row) = statement.fetch_optional(tx.conn()).await? else {
        return Err(StoreError::NotFound("ticket"));
    };
    let (portal, visible) = customer_view(tx, reader).await?;
    let mut tickets = vec![row.into_ticket(reader, &portal, &visible)];
    if reader.staff {
        tags_of(tx, &mut tickets).await?;
    }
    Ok(tickets.remove(0))
}

/// Filters of a ticket list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Status class.
    pub status_class: Option<String>,
    /// Only tickets still being worked (new, open, waiting, paused): the portal's
    /// "in progress" tab.
    pub unfinished: bool,
    /// Priority.
    pub priority: Option<Priority>,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Requester (a console's "the requester's other tickets").
    pub requester_id: Option<i64>,
    /// Assignee: `Some(None)` for unassigned tickets.
    pub assignee: Option<Option<i64>>,
    /// Ticket type's key.
    pub type_key: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Queue's key.
    pub queue: Option<String>,
    /// SLA state (`ok`, `at_risk`, `breached`, `paused`, `met`).
    pub sla: Option<String>,
    /// Approval state (`pending` for tickets awaiting approval).
    pub approval: Option<String>,
    /// Words to find in subjects and messages.
    pub text: Option<String>,
    /// The searcher's language (stems the words of `text`).
    pub language: String,
}

/// A page of a ticket list.
#[derive(Debug, Clone, Serialize)]
pub struct TicketPage {
    /// Newest change first.
    pub tickets: Vec<Ticket>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Binds of a dynamically built query, in order.
enum Bind {
    Int(i64),
    Text(String),
}

/// Lists tickets `reader` may see, filtered, newest change first, `limit` at a time
/// after `cursor` (from the previous page). Customers filter only by what they can
/// see; their text search never looks into internal notes.
pub async fn list_tickets(
    db: &TenantDb,
    reader: Reader,
    filter: &TicketFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<TicketPage, StoreError> {
    if let Some(class) = &filter.status_class
        && !STATUS_CLASSES.contains(&class.as_str())
    {
        return Err(StoreError::Invalid {
            field: "status",
            reason: "must be new, open, waiting, paused, resolved or closed".to_owned(),
        });
    }
    let after = match cursor {
        Some(cursor) => Some(parse_cursor(cursor)?),
        None => None,
    };
    let empty = TicketPage {
        tickets: Vec::new(),
        next_cursor: None,
    };
    let Some((scope_filter, scope_value)) = scope_clause(reader.scope, 1) else {
        return Ok(empty);
    };
    // A customer's filter on a standard field the portal hides from them is ignored,
    // like their tag and queue filters: it must not reveal the hidden values.
    let portal = if reader.staff {
        None
    } else {
        Some(ticket_config::read_portal_fields(db).await?)
    };
    let visible = |name: &str| {
        portal
            .as_ref()
            .is_none_or(|p| p.standard(name) != FieldVisibility::Hidden)
    };
    let mut binds: Vec<Bind> = Vec::new();
    if let Some(value) = scope_value {
        binds.push(Bind::Int(value));
    }
    let mut sql = format!(" WHERE 1 = 1{scope_filter}");
    let param = |binds: &mut Vec<Bind>, bind: Bind| {
        binds.push(bind);
        format!("${}", binds.len())
    };
    if filter.unfinished {
        sql.push_str(" AND t.status_class IN ('new', 'open', 'waiting', 'paused')");
    }
    if let Some(class) = &filter.status_class {
        let p = param(&mut binds, Bind::Text(class.clone()));
        sql.push_str(&format!(" AND t.status_class = {p}"));
    }
    if let Some(priority) = filter.priority.filter(|_| visible("priority")) {
        let p = param(&mut binds, Bind::Text(priority.as_str().to_owned()));
        sql.push_str(&format!(" AND t.priority = {p}"));
    }
    if let Some(organization) = filter.organization_id {
        let p = param(&mut binds, Bind::Int(organization));
        sql.push_str(&format!(" AND t.organization_id = {p}"));
    }
    if let Some(requester) = filter.requester_id {
        let p = param(&mut binds, Bind::Int(requester));
        sql.push_str(&format!(" AND t.requester_id = {p}"));
    }
    match filter.assignee.filter(|_| visible("assignee")) {
        Some(Some(assignee)) => {
            let p = param(&mut binds, Bind::Int(assignee));
            sql.push_str(&format!(" AND t.assignee_id = {p}"));
        }
        Some(None) => sql.push_str(" AND t.assignee_id IS NULL"),
        None => {}
    }
    if let Some(type_key) = filter.type_key.as_ref().filter(|_| visible("type")) {
        let p = param(&mut binds, Bind::Text(type_key.clone()));
        sql.push_str(&format!(" AND t.type_key = {p}"));
    }
    if reader.staff {
        if let Some(tag) = &filter.tag {
            let p = param(&mut binds, Bind::Text(tag.trim().to_lowercase()));
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = {p})"
            ));
        }
        if let Some(queue) = &filter.queue {
            let p = param(&mut binds, Bind::Text(queue.clone()));
            sql.push_str(&format!(" AND q.key = {p}"));
        }
        if let Some(sla) = &filter.sla {
            if !crate::ticket_sla::SLA_STATES.contains(&sla.as_str()) {
                return Err(StoreError::Invalid {
                    field: "sla",
                    reason: "must be ok, at_risk, breached, paused or met".to_owned(),
                });
            }
            let p = param(&mut binds, Bind::Text(sla.clone()));
            sql.push_str(&format!(" AND t.sla_state = {p}"));
        }
    }
    if let Some(approval) = &filter.approval {
        if !["pending", "approved", "rejected"].contains(&approval.as_str()) {
            return Err(StoreError::Invalid {
                field: "approval",
                reason: "must be pending, approved or rejected".to_owned(),
            });
        }
        let p = param(&mut binds, Bind::Text(approval.clone()));
        sql.push_str(&format!(" AND t.approval_state = {p}"));
    }
    if let Some((updated_at, id)) = after {
        let u = param(&mut binds, Bind::Int(updated_at));
        let i = param(&mut binds, Bind::Int(id));
        sql.push_str(&format!(
            " AND (t.updated_at < {u} OR (t.updated_at = {u} AND t.id < {i}))"
        ));
    }
    let limit = limit.clamp(1, 200);
    let mut tx = db.read().await?;
    let mut search = None;
    if let Some(text) = &filter.text {
        let Some(query) = TextQuery::new(db.store().backend(), text, &filter.language) else {
            tx.rollback().await?;
            return Ok(empty);
        };
        let strategy = query.plan(&mut tx, limit + 1).await?;
        search = Some((query, strategy));
    }
    let search = search.as_ref().map(|(query, strategy)| (query, *strategy));
    let mut rows = fetch_page(&mut tx, &sql, &binds, search, reader.staff, limit).await?;
    // A probe that found less than a page while more candidates exist than it
    // walked: the word is rare among these candidates, so every match is listed.
    if let Some((query, Strategy::Probe { window })) = search
        && rows.len() as i64 <= limit
        && more_than_window(&mut tx, &sql, &binds, window).await?
    {
        let list = Some((query, Strategy::List));
        rows = fetch_page(&mut tx, &sql, &binds, list, reader.staff, limit).await?;
    }
    let (portal, visible) = customer_view(&mut tx, reader).await?;
    let mut tickets: Vec<Ticket> = rows
        .into_iter()
        .map(|row| row.into_ticket(reader, &portal, &visible))
        .collect();
    let next_cursor = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| format!("{}.{}", t.updated_at, t.id))
    } else {
        None
    };
    if reader.staff {
        tags_of(&mut tx, &mut tickets).await?;
    }
    tx.rollback().await?;
    Ok(TicketPage {
        tickets,
        next_cursor,
    })
}

/// A ticket search's words, prepared for the backend's index.
struct TextQuery {
    backend: Backend,
    /// FTS5: the match expression; PostgreSQL: the words for `plainto_tsquery`.
    words: String,
    /// PostgreSQL: the searcher's text-search configuration.
    config: &'static str,
}

/// How a search finds its tickets.
#[derive(Clone, Copy)]
enum Strategy {
    /// Few matches: look every one up through the index, then sort them.
    Few,
    /// List every matching message, then take the newest tickets among them
    /// (the planner picks the order): the cost grows with the matches.
    List,
    /// Walk the newest candidate tickets (`window` at most) and ask the index
    /// about each one: the cost grows with the tickets walked.
    Probe {
        /// How many candidates it walks at most.
        window: i64,
    },
}

/// PostgreSQL's query of the words bound as `words` in configuration `config`
/// (the searcher's stems, or the words as written).
fn pg_tsquery(config: &str, words: &str) -> String {
    format!(
        "(plainto_tsquery(CAST({config} AS regconfig), {words}) || plainto_tsquery('simple', {words}))"
    )
}

impl TextQuery {
    fn new(backend: Backend, text: &str, language: &str) -> Option<TextQuery> {
        let language = Language::from_tag(language);
        let words = match backend {
            Backend::Postgres => search::pg_query_text(text)?,
            Backend::Sqlite => search::fts5_query(text, language)?,
        };
        Some(TextQuery {
            backend,
            words,
            config: language.pg_config(),
        })
    }

    /// How to find a page (`page` rows): probing the newest tickets when the
    /// words match so many messages that it finds a page sooner than listing the
    /// matches would (counted through the index and only that far), else looking
    /// the few matches up.
    ///
    /// Listing costs about `c_list` per match, probing `c_probe` per ticket walked,
    /// and a page needs `page / d` probes at a density `d = m / n` (`m` matches,
    /// `n` tickets): both cost the same at `m = sqrt(n · page · c_probe / c_list)`.
    /// Measured at a million tickets (SQLite, merged index): `c_list` ≈ 4 µs,
    /// `c_probe` ≈ 8 µs, so the ratio is 2; there a page of 50 switches at about
    /// 10,000 matches (about 40 ms either way). The window is three times the
    /// tickets a page needs at that density, so a probe that stops short of a page
    /// means the word is rare among these candidates.
    async fn plan(&self, tx: &mut TenantTx, page: i64) -> Result<Strategy, StoreError> {
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(n) AS BIGINT) FROM ticket_counts WHERE scope = 'all' AND scope_id = 0",
        )
        .fetch_one(tx.conn())
        .await?;
        let total = total.unwrap_or(0).max(1);
        let enough = (((total * page * 2) as f64).sqrt() as i64).clamp(2_000, 200_000);
        let probe = Strategy::Probe {
            window: (3 * page * total / enough).clamp(1_000, 50_000),
        };
        // PostgreSQL builds the whole bitmap of a word's matches before counting the
        // first (about 80 ms for a word in most tickets): when the planner already
        // estimates far more matches than needed, it is not asked to count.
        if self.backend == Backend::Postgres
            && self
                .pg_estimate(tx)
                .await?
                .is_some_and(|rows| rows > 8 * enough)
        {
            return Ok(probe);
        }
        let counted: i64 = match self.backend {
            Backend::Postgres => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_messages m WHERE m.search @@ {} LIMIT $3) AS hits",
                pg_tsquery("$1", "$2")
            )))
            .bind(self.config)
            .bind(&self.words)
            .bind(enough + 1)
            .fetch_one(tx.conn())
            .await?,
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT 1 FROM ticket_fts WHERE ticket_fts MATCH $1 LIMIT $2)",
            )
            .bind(&self.words)
            .bind(enough + 1)
            .fetch_one(tx.conn())
            .await?,
        };
        Ok(if counted > enough {
            probe
        } else {
            Strategy::Few
        })
    }

    /// PostgreSQL: the planner's estimate of the messages matching, from the
    /// column's statistics (planning only, nothing is read). The words are
    /// inlined for `EXPLAIN`, which takes no parameters: only letters, digits,
    /// spaces and `-._@` are kept, so nothing can be quoted out of the literal.
    async fn pg_estimate(&self, tx: &mut TenantTx) -> Result<Option<i64>, StoreError> {
        let words: String = self
            .words
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-._@".contains(c) {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let sql = format!(
            "EXPLAIN SELECT 1 FROM ticket_messages m WHERE m.search @@ {}",
            pg_tsquery(&format!("'{}'", self.config), &format!("'{words}'"))
        );
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .fetch_all(tx.conn())
            .await?;
        Ok(plan.first().and_then(|line| {
            let rows = line.split("rows=").nth(1)?;
            rows.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        }))
    }

    /// The condition on ticket `ticket` (an id column) that its public messages
    /// (every message for `staff`) match, with the words bound as `$words` (and the
    /// configuration as `$config`).
    fn condition(
        &self,
        strategy: Strategy,
        ticket: &str,
        staff: bool,
        words: &str,
        config: &str,
    ) -> String {
        let internal = if staff { "" } else { " AND tm.internal = 0" };
        let tsquery = pg_tsquery(config, words);
        match (self.backend, strategy) {
            // `IS TRUE` keeps the GIN index out of the probe: each ticket's messages
            // are found by ticket and tested, whatever the statistics say (with the
            // GIN index, each probe would scan its pending list of new rows).
            (Backend::Postgres, Strategy::Probe { .. }) => format!(
                "EXISTS (SELECT 1 FROM ticket_messages tm WHERE tm.ticket_id = {ticket}{internal} \
                 AND (tm.search @@ {tsquery}) IS TRUE)"
            ),
            // Few matches: look them up through the GIN index and sort them.
            (Backend::Postgres, Strategy::Few) => format!(
                "{ticket} = ANY(ARRAY(SELECT tm.ticket_id FROM ticket_messages tm WHERE tm.search @@ {tsquery}{internal}))"
            ),
            (Backend::Postgres, Strategy::List) => format!(
                "{ticket} IN (SELECT tm.ticket_id FROM ticket_messages tm WHERE tm.search @@ {tsquery}{internal})"
            ),
            // The ticket's messages first, then the index asked about each by rowid.
            (Backend::Sqlite, Strategy::Probe { .. }) => format!(
                "EXISTS (SELECT 1 FROM ticket_messages tm CROSS JOIN ticket_fts tf \
                 WHERE tm.ticket_id = {ticket}{internal} AND tf.rowid = tm.id AND tf.ticket_fts MATCH {words})"
            ),
            (Backend::Sqlite, Strategy::Few | Strategy::List) => format!(
                "{ticket} IN (SELECT tm.ticket_id FROM ticket_fts tf JOIN ticket_messages tm ON tm.id = tf.rowid \
                 WHERE tf.ticket_fts MATCH {words}{internal})"
            ),
        }
    }
}

/// Whether more tickets than `window` meet `conditions` (else a probe saw every
/// candidate and its page is complete).
async fn more_than_window(
    tx: &mut TenantTx,
    conditions: &str,
    binds: &[Bind],
    window: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets t LEFT JOIN ticket_queues q ON q.id = t.queue_id\
         {conditions} LIMIT {}) AS candidates",
        window + 1
    );
    let (count,): (i64,) = bound(sqlx::query_as(sqlx::AssertSqlSafe(sql)), binds)
        .fetch_one(tx.conn())
        .await?;
    Ok(count > window)
}

/// One page (`limit` + 1 rows, to tell whether another follows) of the tickets
/// `conditions` (a `WHERE` clause on `t` and `q`) select with `binds`, newest
/// change first, and matching `search` when given.
async fn fetch_page(
    tx: &mut TenantTx,
    conditions: &str,
    binds: &[Bind],
    search: Option<(&TextQuery, Strategy)>,
    staff: bool,
    limit: i64,
) -> Result<Vec<TicketRow>, StoreError> {
    const ORDER: &str = "ORDER BY t.updated_at DESC, t.id DESC";
    let mut extra = Vec::new();
    let page = limit + 1;
    let sql = match search {
        None => format!("{TICKET_COLUMNS}{conditions} {ORDER} LIMIT {page}"),
        Some((query, strategy)) => {
            let words = format!("${}", binds.len() + 1);
            extra.push(Bind::Text(query.words.clone()));
            let config = if query.backend == Backend::Postgres {
                extra.push(Bind::Text(query.config.to_owned()));
                format!("${}", binds.len() + 2)
            } else {
                String::new()
            };
            match strategy {
                Strategy::Few | Strategy::List => format!(
                    "{TICKET_COLUMNS}{conditions} AND {} {ORDER} LIMIT {page}",
                    query.condition(strategy, "t.id", staff, &words, &config)
                ),
                Strategy::Probe { window } => format!(
                    "{TICKET_COLUMNS} WHERE t.id IN (SELECT w.id FROM \
                     (SELECT t.id, t.updated_at FROM tickets t LEFT JOIN ticket_queues q ON q.id = t.queue_id\
                     {conditions} {ORDER} LIMIT {}) w WHERE {} \
                     ORDER BY w.updated_at DESC, w.id DESC LIMIT {page}) {ORDER}",
                    window,
                    query.condition(strategy, "w.id", staff, &words, &config)
                ),
            }
        }
    };
    let binds: Vec<&Bind> = binds.iter().chain(&extra).collect();
    Ok(bound(sqlx::query_as(sqlx::AssertSqlSafe(sql)), binds)
        .fetch_all(tx.conn())
        .await?)
}

/// `query` with `binds` bound in order.
fn bound<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    binds: impl IntoIterator<Item = &'q Bind>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(*value),
            Bind::Text(value) => query.bind(value.clone()),
        };
    }
    query
}

fn parse_cursor(cursor: &str) -> Result<(i64, i64), StoreError> {
    let invalid = || StoreError::Invalid {
        field: "after",
        reason: "is not a cursor from a previous page".to_owned(),
    };
    let (updated_at, id) = cursor.split_once('.').ok_or_else(invalid)?;
    Ok((
        updated_at.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}

/// Ticket counts per status class in `scope` (the tabs), from the counters: the
/// same cost at a thousand tickets as at millions.
pub async fn status_counts(db: &TenantDb, scope: Scope) -> Result<Vec<(String, i64)>, StoreError> {
    let (scope_name, scope_id) = match scope {
        Scope::All => ("all", 0),
        Scope::Organization(Some(organization)) => ("organization", organization),
        Scope::Own(Some(user)) => ("requester", user),
        Scope::Organization(None) | Scope::Own(None) => {
            return Ok(STATUS_CLASSES
                .iter()
                .map(|c| ((*c).to_owned(), 0))
                .collect());
        }
    };
    let mut tx = db.read().await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status_class, CAST(SUM(n) AS BIGINT) FROM ticket_counts WHERE scope = $1 AND scope_id = $2 \
         GROUP BY status_class",
    )
    .bind(scope_name)
    .bind(scope_id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(STATUS_CLASSES
        .iter()
        .map(|class| {
            let n = rows.iter().find(|(c, _)| c == class).map_or(0, |(_, n)| *n);
            ((*class).to_owned(), n)
        })
        .collect())
}

/// Moves the ticket read as `current` to `target` inside `tx`: its class, the counts
/// of its scopes, `resolved_at` / `closed_at`, the status history and the
/// `ticket.status_changed` event. Conditional on the class read, so a concurrent
/// change cannot make the counts drift: the loser gets `Conflict`.
pub(crate) async fn move_status(
    tx: &mut TenantTx,
    current: &Ticket,
    target: &StatusRow,
    actor: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    let moved: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE tickets SET status_id = $2, status_class = $3, updated_at = $4, \
         resolved_at = CASE WHEN $3 = 'resolved' THEN $4 WHEN $3 IN ('new', 'open', 'waiting', 'paused') THEN NULL ELSE resolved_at END, \
         closed_at = CASE WHEN $3 = 'closed' THEN $4 ELSE NULL END \
         WHERE id = $1 AND status_class = $5 RETURNING requester_id, organization_id",
    )
    .bind(current.id)
    .bind(target.id)
    .bind(&target.class)
    .bind(now)
    .bind(&current.status_class)
    .fetch_optional(tx.conn())
    .await?;
    let Some((requester_id, organization_id)) = moved else {
        return Err(StoreError::Conflict("ticket changed meanwhile"));
    };
    if target.class != current.status_class {
        count(tx, requester_id, organization_id, &current.status_class, -1).await?;
        count(tx, requester_id, organization_id, &target.class, 1).await?;
    }
    record_status(tx, current.id, target, now, actor).await?;
    crate::ticket_sla::recompute(tx, current.id, actor).await?;
    if target.class == "resolved" {
        schedule_auto_close(tx, current.id, current.number, now).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: current.number.to_string(),
        event_type: "ticket.status_changed",
        payload: serde_json::json!({
            "number": current.number,
            "from": current.status,
            "to": target.key,
            "class": target.class,
            "actor": actor,
        }),
    })
    .await?;
    Ok(())
}

/// Moves a ticket (within `reader`'s scope) to status `key` (a built-in or
/// MSP-defined one), as a person of `role` (`None`: Portico itself) and as far as
/// the tenant's workflow lets that role ([`crate::workflow`]); never work on a
/// ticket awaiting approval. Returns the ticket.
pub async fn change_status(
    db: &TenantDb,
    number: i64,
    key: &str,
    actor: &str,
    reader: Reader,
    role: Option<crate::ids::Role>,
) -> Result<Ticket, StoreError> {
    let mut tx = db.begin().await?;
    let current = get_in(&mut tx, number, Reader::SYSTEM).await?;
    // The reader's scope decides whether the ticket exists for them at all.
    get_in(&mut tx, number, reader).await?;
    let Some(target) = status_by_key(&mut tx, key).await? else {
        return Err(StoreError::Invalid {
            field: "status",
            reason: "is not a status of this service desk".to_owned(),
        });
    };
    if current.merged_into.is_some() {
        return Err(StoreError::Refused {
            code: "ticket_merged",
            reason: "this ticket was merged into another one".to_owned(),
        });
    }
    // Awaiting approval, the requester side may still withdraw it by closing it.
    if reader.staff || target.class != "closed" {
        ensure_workable(&current)?;
    }
    crate::workflow::ensure_transition(&mut tx, role, &current.status_class, &target).await?;
    move_status(&mut tx, &current, &target, actor).await?;
    tx.commit().await?;
    get_ticket(db, number, reader).await
}

/// Refuses work on a ticket that awaits its organization's approval.
pub(crate) fn ensure_workable(ticket: &Ticket) -> Result<(), StoreError> {
    if ticket.approval_state.as_deref() == Some("pending") {
        return Err(StoreError::Refused {
            code: crate::approvals::AWAITING_APPROVAL,
            reason: format!("ticket #{} is awaiting approval", ticket.number),
        });
    }
    Ok(())
}

/// What a change to a ticket sets; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct TicketChange {
    /// New subject.
    pub subject: Option<String>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New type (`Some(None)` clears it).
    pub type_key: Option<Option<String>>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<i64>>,
    /// New queue by key (`Some(None)` clears it).
    pub queue: Option<Option<String>>,
    /// New support level.
    pub level: Option<i64>,
    /// Tags, replacing the present ones.
    pub tags: Option<Vec<String>>,
    /// Addresses to copy.
    pub add_watchers: Vec<String>,
    /// Addresses to stop copying.
    pub remove_watchers: Vec<String>,
    /// Custom field values to set (`null` clears one).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The device concerned (`Some(None)` clears it).
    pub device_id: Option<Option<i64>>,
}

impl TicketChange {
    /// Names of the standard fields this change touches (for portal visibility).
    fn standard_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.subject.is_some() {
            out.push("subject");
        }
        if self.priority.is_some() {
            out.push("priority");
        }
        if self.type_key.is_some() {
            out.push("type");
        }
        if self.assignee_id.is_some() {
            out.push("assignee");
        }
        if self.device_id.is_some() {
            out.push("device");
        }
        if !self.add_watchers.is_empty() || !self.remove_watchers.is_empty() {
            out.push("watchers");
        }
        out
    }
}

/// Changes a ticket's attributes within `reader`'s scope. Customers may change only
/// the standard fields the portal makes editable (subject, priority, type, device,
/// watchers) and custom fields that are not hidden; queues, levels, tags and the
/// assignee are staff's. One `ticket.updated` event lists what changed.
pub async fn update_ticket(
    db: &TenantDb,
    number: i64,
    change: TicketChange,
    actor: &str,
    reader: Reader,
) -> Result<Ticket, StoreError> {
    if let Some(subject) = &change.subject {
        validate_subject(subject)?;
    }
    let tags = change.tags.as_deref().map(normalize_tags).transpose()?;
    let adding = normalize_watchers(&change.add_watchers)?;
    let remove_watchers = normalize_watchers(&change.remove_watchers)?;
    if let Some(level) = change.level
        && !(1..=3).contains(&level)
    {
        return Err(StoreError::Invalid {
            field: "level",
            reason: "must be 1, 2 or 3".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let current = get_in(&mut tx, number, reader).await?;
    if reader.staff
        && (change.assignee_id.is_some()
            || change.queue.is_some()
            || change.level.is_some()
            || change.priority.is_some())
    {
        ensure_workable(&current)?;
    }
    if !reader.staff {
        let portal = ticket_config::portal_fields(&mut tx).await?;
        if change.queue.is_some()
            || change.level.is_some()
            || tags.is_some()
            || change.assignee_id.is_some()
        {
            return Err(StoreError::Refused {
                code: "field_not_editable",
                reason: "queues, levels, tags and the assignee are set by the service desk"
                    .to_owned(),
            });
        }
        for field in change.standard_fields() {
            if portal.standard(field) != FieldVisibility::Editable {
                return Err(StoreError::Refused {
                    code: "field_not_editable",
                    reason: format!("{field} cannot be changed in the portal"),
                });
            }
        }
        for key in change.fields.keys() {
            if portal.custom(key) != FieldVisibility::Editable {
                return Err(StoreError::Refused {
                    code: "field_not_editable",
                    reason: format!("{key} cannot be changed in the portal"),
                });
            }
        }
    }
    let mut changed: Vec<&str> = Vec::new();
    let now = now_ms();
    if let Some(subject) = &change.subject {
        sqlx::query("UPDATE tickets SET subject = $2 WHERE id = $1")
            .bind(current.id)
            .bind(subject.trim())
            .execute(tx.conn())
            .await?;
        // The first message carries the subject in the search index.
        let first: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT id, body, language FROM ticket_messages WHERE ticket_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(current.id)
        .fetch_optional(tx.conn())
        .await?;
        if let Some((message_id, body, language)) = first {
            index_message(&mut tx, message_id, Some(subject.trim()), &body, &language).await?;
        }
        changed.push("subject");
    }
    if let Some(priority) = change.priority {
        sqlx::query("UPDATE tickets SET priority = $2 WHERE id = $1")
            .bind(current.id)
            .bind(priority.as_str())
            .execute(tx.conn())
            .await?;
        crate::ticket_sla::recompute(&mut tx, current.id, actor).await?;
        changed.push("priority");
    }
    if let Some(type_key) = &change.type_key {
        if let Some(key) = type_key {
            ticket_config::require_type(&mut tx, key).await?;
        }
        sqlx::query("UPDATE tickets SET type_key = $2 WHERE id = $1")
            .bind(current.id)
            .bind(type_key)
            .execute(tx.conn())
            .await?;
        changed.push("type");
    }
    if let Some(assignee) = change.assignee_id {
        if let Some(assignee) = assignee {
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND status <> 'disabled'")
                    .bind(assignee)
                    .fetch_optional(tx.conn())
                    .await?;
            if !matches!(role.as_deref(), Some("technician" | "msp_admin")) {
                return Err(StoreError::Invalid {
                    field: "assignee_id",
                    reason: "must be an active technician or MSP admin".to_owned(),
                });
            }
        }
        sqlx::query("UPDATE tickets SET assignee_id = $2 WHERE id = $1")
            .bind(current.id)
            .bind(assignee)
            .execute(tx.conn())
            .await?;
        changed.push("assignee");
    }
    if let Some(queue) = &change.queue {
        let queue_id = match queue {
            Some(key) => Some(ticket_config::queue_id(&mut tx, key).await?),
            None => None,
        };
        sqlx::query("UPDATE tickets SET queue_id = $2 WHERE id = $1")
            .bind(current.id)
            .bind(queue_id)
            .execute(tx.conn())
            .await?;
        changed.push("queue");
    }
    if let Some(level) = change.level {
        sqlx::query("UPDATE tickets SET level = $2 WHERE id = $1")
            .bind(current.id)
            .bind(level)
            .execute(tx.conn())
            .await?;
        changed.push("level");
    }
    if let Some(device) = change.device_id {
        sqlx::query("UPDATE tickets SET device_id = $2 WHERE id = $1")
            .bind(current.id)
            .bind(device)
            .execute(tx.conn())
            .await?;
        changed.push("device");
    }
    if let Some(tags) = &tags {
        set_tags(&mut tx, current.id, tags).await?;
        changed.push("tags");
    }
    if !adding.is_empty() {
        add_watchers(&mut tx, current.id, &adding).await?;
        changed.push("watchers");
    }
    for email in &remove_watchers {
        sqlx::query("DELETE FROM ticket_watchers WHERE ticket_id = $1 AND email = $2")
            .bind(current.id)
            .bind(email)
            .execute(tx.conn())
            .await?;
        if !changed.contains(&"watchers") {
            changed.push("watchers");
        }
    }
    if !change.fields.is_empty() {
        let stored: String = sqlx::query_scalar("SELECT fields FROM tickets WHERE id = $1")
            .bind(current.id)
            .fetch_one(tx.conn())
            .await?;
        let existing = match serde_json::from_str::<serde_json::Value>(&stored) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let merged =
            ticket_config::validate_fields(&mut tx, &change.fields, Some(existing)).await?;
        sqlx::query("UPDATE tickets SET fields = $2 WHERE id = $1")
            .bind(current.id)
            .bind(serde_json::Value::Object(merged).to_string())
            .execute(tx.conn())
            .await?;
        changed.push("fields");
    }
    if changed.is_empty() {
        tx.rollback().await?;
        return Ok(current);
    }
    sqlx::query("UPDATE tickets SET updated_at = $2 WHERE id = $1")
        .bind(current.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.updated",
        payload: serde_json::json!({ "number": number, "changed": changed, "actor": actor }),
    })
    .await?;
    tx.commit().await?;
    get_ticket(db, number, reader).await
}

/// The addresses copied on a ticket (staff and the ticket's requester side see them).
pub async fn watchers(
    db: &TenantDb,
    number: i64,
    reader: Reader,
) -> Result<Vec<String>, StoreError> {
    let mut tx = db.read().await?;
    let ticket = get_in(&mut tx, number, reader).await?;
    let out: Vec<String> =
        sqlx::query_scalar("SELECT email FROM ticket_watchers WHERE ticket_id = $1 ORDER BY email")
            .bind(ticket.id)
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(out)
}

/// A link between two tickets.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Link {
    /// The other ticket's number.
    pub number: i64,
    /// `related`, `follow_up` (this ticket follows the other), `followed_by`,
    /// `merged_into` or `merged_from`.
    pub kind: String,
}

/// Links of a ticket to others that `reader` may also see.
pub async fn links(db: &TenantDb, number: i64, reader: Reader) -> Result<Vec<Link>, StoreError> {
    let mut tx = db.read().await?;
    let ticket = get_in(&mut tx, number, reader).await?;
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT o.number, l.kind, 0 FROM ticket_links l JOIN tickets o ON o.id = l.other_id WHERE l.ticket_id = $1 \
         UNION ALL SELECT o.number, l.kind, 1 FROM ticket_links l JOIN tickets o ON o.id = l.ticket_id WHERE l.other_id = $1",
    )
    .bind(ticket.id)
    .fetch_all(tx.conn())
    .await?;
    let mut out = Vec::new();
    for (other, kind, reverse) in rows {
        if get_in(&mut tx, other, reader).await.is_err() {
            continue;
        }
        let kind = match (kind.as_str(), reverse) {
            ("related", _) => "related",
            ("follow_up", 0) => "follow_up",
            ("follow_up", _) => "followed_by",
            ("merged", 0) => "merged_into",
            _ => "merged_from",
        };
        out.push(Link {
            number: other,
            kind: kind.to_owned(),
        });
    }
    tx.rollback().await?;
    out.sort_by(|a, b| (a.number, &a.kind).cmp(&(b.number, &b.kind)));
    Ok(out)
}

pub(crate) async fn insert_link(
    tx: &mut TenantTx,
    ticket_id: i64,
    other_id: i64,
    kind: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ticket_links (ticket_id, other_id, kind, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ticket_id, other_id, kind) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(other_id)
    .bind(kind)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Links two tickets as related (both within `reader`'s scope).
pub async fn link(
    db: &TenantDb,
    number: i64,
    other: i64,
    actor: &str,
    reader: Reader,
) -> Result<Vec<Link>, StoreError> {
    if number == other {
        return Err(StoreError::Invalid {
            field: "number",
            reason: "a ticket cannot be linked to itself".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let a = get_in(&mut tx, number, reader).await?;
    let b = get_in(&mut tx, other, reader).await?;
    let (first, second) = if a.id < b.id { (&a, &b) } else { (&b, &a) };
    insert_link(&mut tx, first.id, second.id, "related").await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.linked",
        payload: serde_json::json!({ "number": number, "other": other, "actor": actor }),
    })
    .await?;
    tx.commit().await?;
    links(db, number, reader).await
}

/// Merges ticket `number` into `into`: its messages and attachments move to the
/// target's thread, both get a system note, the source is closed and points at the
/// target. Both must be in `reader`'s scope and belong to the same requester side
/// (same organization, or the same requester when there is none).
pub async fn merge(
    db: &TenantDb,
    number: i64,
    into: i64,
    actor: &str,
    reader: Reader,
) -> Result<Ticket, StoreError> {
    if number == into {
        return Err(StoreError::Invalid {
            field: "into",
            reason: "a ticket cannot be merged into itself".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let source = get_in(&mut tx, number, reader).await?;
    let target = get_in(&mut tx, into, reader).await?;
    if source.merged_into.is_some() || target.merged_into.is_some() {
        return Err(StoreError::Refused {
            code: "ticket_merged",
            reason: "a merged ticket cannot be merged again".to_owned(),
        });
    }
    let same_side = match (source.organization_id, target.organization_id) {
        (Some(a), Some(b)) => a == b,
        (None, None) => source.requester_id == target.requester_id,
        _ => false,
    };
    if !same_side {
        return Err(StoreError::Refused {
            code: "merge_across_customers",
            reason: "tickets of different customers cannot be merged".to_owned(),
        });
    }
    let now = now_ms();
    sqlx::query("UPDATE ticket_messages SET ticket_id = $2 WHERE ticket_id = $1")
        .bind(source.id)
        .bind(target.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE ticket_attachments SET ticket_id = $2 WHERE ticket_id = $1")
        .bind(source.id)
        .bind(target.id)
        .execute(tx.conn())
        .await?;
    // The target's note is for staff; the source's is public, so its requester
    // reads where the conversation went (replies to it land on the target).
    for (ticket, text, internal) in [
        (
            &target,
            format!("Ticket #{number} was merged into this ticket."),
            1_i64,
        ),
        (&source, format!("This ticket was merged into #{into}."), 0),
    ] {
        let message_id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, language) \
             VALUES ($1, NULL, $4, $2, 'system', $3, 'en') RETURNING id",
        )
        .bind(ticket.id)
        .bind(&text)
        .bind(now)
        .bind(internal)
        .fetch_one(tx.conn())
        .await?;
        index_message(&mut tx, message_id, None, &text, "en").await?;
    }
    // The source's requester stays informed of the conversation it joined.
    if let Some(email) = sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
        .bind(source.requester_id)
        .fetch_optional(tx.conn())
        .await?
    {
        add_watchers(&mut tx, target.id, &[email]).await?;
    }
    insert_link(&mut tx, source.id, target.id, "merged").await?;
    sqlx::query("UPDATE tickets SET merged_into = $2 WHERE id = $1")
        .bind(source.id)
        .bind(target.id)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE tickets SET updated_at = $2 WHERE id = $1")
        .bind(target.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    if source.status_class != "closed" {
        let closed = status_by_key(&mut tx, "closed")
            .await?
            .ok_or(StoreError::NotFound("status"))?;
        move_status(&mut tx, &source, &closed, actor).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.merged",
        payload: serde_json::json!({ "number": number, "into": into, "actor": actor }),
    })
    .await?;
    tx.commit().await?;
    get_ticket(db, into, reader).await
}

/// The tenant setting: resolved tickets close after this many days (0: never).
pub const AUTO_CLOSE_SETTING: &str = "tickets_auto_close_days";

/// Days after which a resolved ticket closes when the tenant set nothing.
pub const DEFAULT_AUTO_CLOSE_DAYS: i64 = 7;

/// The job kind that closes a resolved ticket.
pub const AUTO_CLOSE_JOB: &str = "ticket.auto_close";

const DAY_MS: i64 = 86_400_000;

async fn auto_close_days(tx: &mut TenantTx) -> Result<i64, StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM tenant_settings WHERE key = $1")
            .bind(AUTO_CLOSE_SETTING)
            .fetch_optional(tx.conn())
            .await?;
    Ok(stored
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_AUTO_CLOSE_DAYS)
        .clamp(0, 3650))
}

/// Schedules the auto-close of a ticket resolved at `resolved_at`, in `tx`.
async fn schedule_auto_close(
    tx: &mut TenantTx,
    ticket_id: i64,
    number: i64,
    resolved_at: i64,
) -> Result<(), StoreError> {
    let days = auto_close_days(tx).await?;
    if days == 0 {
        return Ok(());
    }
    tx.enqueue(crate::jobs::NewJob {
        kind: AUTO_CLOSE_JOB,
        payload: serde_json::json!({ "number": number, "resolved_at": resolved_at }),
        run_at: resolved_at + days * DAY_MS,
        max_attempts: 20,
        dedup_key: Some(format!("auto-close:{ticket_id}:{resolved_at}")),
    })
    .await?;
    Ok(())
}

/// Runs [`AUTO_CLOSE_JOB`]: closes the ticket if it is still in the resolution the
/// job was scheduled for and the tenant's present setting says its time has come
/// (a changed setting reschedules it). Idempotent.
#[derive(Debug, Default)]
pub struct AutoClose;

impl AutoClose {
    async fn close(db: &TenantDb, number: i64, resolved_at: i64) -> Result<(), StoreError> {
        let mut tx = db.begin().await?;
        let current = match get_in(&mut tx, number, Reader::SYSTEM).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        };
        if current.status_class != "resolved" || current.resolved_at != Some(resolved_at) {
            return Ok(());
        }
        let days = auto_close_days(&mut tx).await?;
        if days == 0 {
            return Ok(());
        }
        let due = resolved_at + days * DAY_MS;
        if due > now_ms() {
            // The setting grew since: try again then.
            tx.enqueue(crate::jobs::NewJob {
                kind: AUTO_CLOSE_JOB,
                payload: serde_json::json!({ "number": number, "resolved_at": resolved_at }),
                run_at: due,
                max_attempts: 20,
                dedup_key: Some(format!("auto-close:{}:{resolved_at}:{due}", current.id)),
            })
            .await?;
            return tx.commit().await;
        }
        let target = status_by_key(&mut tx, "closed")
            .await?
            .ok_or(StoreError::NotFound("status"))?;
        move_status(&mut tx, &current, &target, "system:auto-close").await?;
        tx.commit().await
    }
}

impl crate::jobs::JobHandler for AutoClose {
    fn kind(&self) -> &'static str {
        AUTO_CLOSE_JOB
    }

    fn run<'a>(
        &'a self,
        scope: crate::jobs::JobScope<'a>,
        payload: &'a serde_json::Value,
    ) -> futures::future::BoxFuture<'a, Result<(), crate::jobs::JobError>> {
        Box::pin(async move {
            let crate::jobs::JobScope::Tenant(db) = scope else {
                return Err(crate::jobs::JobError::Permanent(
                    "auto-close is a tenant job".to_owned(),
                ));
            };
            let (Some(number), Some(resolved_at)) =
                (payload["number"].as_i64(), payload["resolved_at"].as_i64())
            else {
                return Err(crate::jobs::JobError::Permanent(
                    "payload needs number and resolved_at".to_owned(),
                ));
            };
            Self::close(db, number, resolved_at)
                .await
                .map_err(|e| crate::jobs::JobError::Retry(e.to_string()))
        })
    }
}
