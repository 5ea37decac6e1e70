//! Tickets, part 1: creation with a per-tenant number, status classes, the thread's
//! first message, per-scope status counts kept in the ticket's own transaction,
//! idempotent creation, and scoped reads (list with cursor pagination, one by
//! number). Every read takes the caller's `Scope` and filters in SQL: a ticket
//! outside it is answered exactly like a missing one.
//!
//! Counts: `ticket_counts` holds, per scope (`all`, `organization`, `requester`),
//! status class and shard, how many tickets there are. A write adds to one random
//! shard of each of its three scopes, so concurrent writers seldom meet on a row; a
//! read sums at most 6 × 8 rows. No page view ever counts the tickets table.

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::policy::Scope;
use crate::store::{Backend, TenantDb, TenantTx};

/// How many shards each counter has.
const COUNT_SHARDS: u64 = 8;

/// The six status classes, in the order the tabs show them.
pub const STATUS_CLASSES: [&str; 6] = ["new", "open", "waiting", "paused", "resolved", "closed"];

/// A ticket's priority, with the Italian manual's guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A global outage affecting several users, or a security problem.
    Critical,
    /// One user blocked.
    High,
    /// Urgent.
    Medium,
    /// Not urgent.
    Low,
}

impl Priority {
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

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The portal's form.
    Portal,
    /// An e-mail.
    Email,
    /// The desktop form of the endpoint agent.
    Agent,
    /// The AI assistant.
    Assistant,
    /// The REST API.
    Api,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Portal => "portal",
            Source::Email => "email",
            Source::Agent => "agent",
            Source::Assistant => "assistant",
            Source::Api => "api",
        }
    }
}

/// A ticket to create.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// One line, 1 to 250 characters.
    pub subject: String,
    /// The first message.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// The requesting person.
    pub requester_id: i64,
    /// Their organization, if any.
    pub organization_id: Option<i64>,
    /// Where it came from.
    pub source: Source,
    /// The language of its text (for search).
    pub language: String,
}

impl NewTicket {
    fn validate(&self) -> Result<(), StoreError> {
        let subject = self.subject.trim();
        if subject.is_empty() || subject.chars().count() > 250 || subject.contains(['\r', '\n']) {
            return Err(StoreError::Invalid {
                field: "subject",
                reason: "must be one line of 1 to 250 characters".to_owned(),
            });
        }
        if self.description.len() > 1_000_000 {
            return Err(StoreError::Invalid {
                field: "description",
                reason: "must be at most 1,000,000 bytes".to_owned(),
            });
        }
        Ok(())
    }
}

/// A ticket as lists and pages show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
    /// Priority.
    pub priority: String,
    /// Requester.
    pub requester_id: i64,
    /// Organization.
    pub organization_id: Option<i64>,
    /// Assigned technician.
    pub assignee_id: Option<i64>,
    /// Origin.
    pub source: String,
    /// Created, Unix milliseconds.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
}

type TicketRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    i64,
);

const TICKET_COLUMNS: &str = "SELECT t.id, t.number, t.subject, t.description, s.key, t.status_class, \
     t.priority, t.requester_id, t.organization_id, t.assignee_id, t.source, t.created_at, t.updated_at \
     FROM tickets t JOIN ticket_statuses s ON s.id = t.status_id";

fn ticket(row: TicketRow) -> Ticket {
    let (
        id,
        number,
        subject,
        description,
        status,
        status_class,
        priority,
        requester_id,
        organization_id,
        assignee_id,
        source,
        created_at,
        updated_at,
    ) = row;
    Ticket {
        id,
        number,
        subject,
        description,
        status,
        status_class,
        priority,
        requester_id,
        organization_id,
        assignee_id,
        source,
        created_at,
        updated_at,
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
    let shard = (rand::random::<u64>() % COUNT_SHARDS) as i64;
    let mut scopes = vec![("all", 0_i64), ("requester", requester_id)];
    if let Some(organization) = organization_id {
        scopes.push(("organization", organization));
    }
    for (scope, scope_id) in scopes {
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
    }
    Ok(())
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

/// Creates a ticket in status `new`, its first message, its counts and its
/// `ticket.created` event in one transaction. With `idempotency` (caller, key,
/// request hash), a repeated request returns the first one's ticket instead.
pub async fn create_ticket(
    db: &TenantDb,
    new: NewTicket,
    idempotency: Option<(&str, &str, &str)>,
) -> Result<Created, StoreError> {
    new.validate()?;
    if let Some((caller, key, hash)) = idempotency
        && let Some(existing) = idempotent_ticket(db, caller, key, hash).await?
    {
        return Ok(Created {
            ticket: existing,
            fresh: false,
        });
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let number: i64 = match db.store().backend() {
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
    };
    let status_id: i64 = sqlx::query_scalar("SELECT id FROM ticket_statuses WHERE key = 'new'")
        .fetch_one(tx.conn())
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tickets (number, subject, description, status_id, status_class, priority, requester_id, \
         organization_id, source, language, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'new', $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(number)
    .bind(new.subject.trim())
    .bind(&new.description)
    .bind(status_id)
    .bind(new.priority.as_str())
    .bind(new.requester_id)
    .bind(new.organization_id)
    .bind(new.source.as_str())
    .bind(&new.language)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at) \
         VALUES ($1, $2, 0, $3, $4, $5)",
    )
    .bind(id)
    .bind(new.requester_id)
    .bind(&new.description)
    .bind(new.source.as_str())
    .bind(now)
    .execute(tx.conn())
    .await?;
    count(&mut tx, new.requester_id, new.organization_id, "new", 1).await?;
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
            return match idempotent_ticket(db, caller, key, hash).await? {
                Some(ticket) => Ok(Created {
                    ticket,
                    fresh: false,
                }),
                None => Err(StoreError::Conflict("idempotency key")),
            };
        }
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.created",
        payload: serde_json::json!({
            "number": number,
            "subject": new.subject.trim(),
            "priority": new.priority.as_str(),
            "requester_id": new.requester_id,
            "organization_id": new.organization_id,
            "source": new.source.as_str(),
        }),
    })
    .await?;
    tx.commit().await?;
    let ticket = get_ticket(db, number, Scope::All).await?;
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
        Some((number, _)) => get_ticket(db, number, Scope::All).await.map(Some),
    }
}

/// One ticket by its number, within `scope`; outside it is `NotFound` like a
/// missing one.
pub async fn get_ticket(db: &TenantDb, number: i64, scope: Scope) -> Result<Ticket, StoreError> {
    let Some((filter, value)) = scope_clause(scope, 2) else {
        return Err(StoreError::NotFound("ticket"));
    };
    let mut tx = db.read().await?;
    let query = format!("{TICKET_COLUMNS} WHERE t.number = $1{filter}");
    let mut statement = sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(query)).bind(number);
    if let Some(value) = value {
        statement = statement.bind(value);
    }
    let row = statement.fetch_optional(tx.conn()).await?;
    tx.rollback().await?;
    row.map(ticket).ok_or(StoreError::NotFound("ticket"))
}

/// A page of a ticket list.
#[derive(Debug, Clone, Serialize)]
pub struct TicketPage {
    /// Newest change first.
    pub tickets: Vec<Ticket>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Lists tickets in `scope`, optionally of one status class, newest change first,
/// `limit` at a time after `cursor` (from the previous page).
pub async fn list_tickets(
    db: &TenantDb,
    scope: Scope,
    status_class: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<TicketPage, StoreError> {
    if let Some(class) = status_class
        && !STATUS_CLASSES.contains(&class)
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
    let Some((scope_filter, scope_value)) = scope_clause(scope, 1) else {
        return Ok(TicketPage {
            tickets: Vec::new(),
            next_cursor: None,
        });
    };
    let mut next = if scope_value.is_some() { 2 } else { 1 };
    let mut sql = format!("{TICKET_COLUMNS} WHERE 1 = 1{scope_filter}");
    if status_class.is_some() {
        sql.push_str(&format!(" AND t.status_class = ${next}"));
        next += 1;
    }
    if after.is_some() {
        sql.push_str(&format!(
            " AND (t.updated_at < ${} OR (t.updated_at = ${} AND t.id < ${}))",
            next,
            next,
            next + 1
        ));
        next += 2;
    }
    sql.push_str(&format!(
        " ORDER BY t.updated_at DESC, t.id DESC LIMIT ${next}"
    ));
    let limit = limit.clamp(1, 200);
    let mut statement = sqlx::query_as::<_, TicketRow>(sqlx::AssertSqlSafe(sql));
    if let Some(value) = scope_value {
        statement = statement.bind(value);
    }
    if let Some(class) = status_class {
        statement = statement.bind(class.to_owned());
    }
    if let Some((updated_at, id)) = after {
        statement = statement.bind(updated_at).bind(id);
    }
    statement = statement.bind(limit + 1);
    let mut tx = db.read().await?;
    let rows = statement.fetch_all(tx.conn()).await?;
    tx.rollback().await?;
    let mut tickets: Vec<Ticket> = rows.into_iter().map(ticket).collect();
    let next_cursor = if tickets.len() as i64 > limit {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| format!("{}.{}", t.updated_at, t.id))
    } else {
        None
    };
    Ok(TicketPage {
        tickets,
        next_cursor,
    })
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

/// Moves a ticket (within `scope`) to status `key` (a built-in or MSP-defined one):
/// its class, the counts of its scopes, `resolved_at` / `closed_at` and the
/// `ticket.status_changed` event change in one transaction. Returns the ticket.
pub async fn change_status(
    db: &TenantDb,
    number: i64,
    key: &str,
    actor: &str,
    scope: Scope,
) -> Result<Ticket, StoreError> {
    let current = get_ticket(db, number, scope).await?;
    let mut tx = db.begin().await?;
    let target: Option<(i64, String)> =
        sqlx::query_as("SELECT id, class FROM ticket_statuses WHERE key = $1")
            .bind(key)
            .fetch_optional(tx.conn())
            .await?;
    let Some((status_id, class)) = target else {
        tx.rollback().await?;
        return Err(StoreError::Invalid {
            field: "status",
            reason: "is not a status of this service desk".to_owned(),
        });
    };
    let now = now_ms();
    // Conditional on the class read above, so a concurrent change cannot make the
    // counts drift: the loser sees no row and retries from the new state.
    let moved: Option<(i64, Option<i64>, String)> = sqlx::query_as(
        "UPDATE tickets SET status_id = $2, status_class = $3, updated_at = $4, \
         resolved_at = CASE WHEN $3 = 'resolved' THEN $4 WHEN $3 IN ('new', 'open', 'waiting', 'paused') THEN NULL ELSE resolved_at END, \
         closed_at = CASE WHEN $3 = 'closed' THEN $4 WHEN $3 <> 'closed' THEN NULL ELSE closed_at END \
         WHERE id = $1 AND status_class = $5 RETURNING requester_id, organization_id, status_class",
    )
    .bind(current.id)
    .bind(status_id)
    .bind(&class)
    .bind(now)
    .bind(&current.status_class)
    .fetch_optional(tx.conn())
    .await?;
    let Some((requester_id, organization_id, _)) = moved else {
        tx.rollback().await?;
        return Err(StoreError::Conflict("ticket changed meanwhile"));
    };
    if class != current.status_class {
        count(
            &mut tx,
            requester_id,
            organization_id,
            &current.status_class,
            -1,
        )
        .await?;
        count(&mut tx, requester_id, organization_id, &class, 1).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.status_changed",
        payload: serde_json::json!({
            "number": number,
            "from": current.status,
            "to": key,
            "class": class,
            "actor": actor,
        }),
    })
    .await?;
    tx.commit().await?;
    get_ticket(db, number, Scope::All).await
}
