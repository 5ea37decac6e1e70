//! Tickets under `/api/v1/tickets`: create (idempotent with `Idempotency-Key`), list
//! with filters, full-text search, the tab counts and a cursor, show, change,
//! status moves, close by the requester side, the thread (replies, internal notes,
//! attachments), links, merges, watchers and time entries. The caller's scope from
//! the permission decision, and whether they are staff, are applied by the data
//! layer; a requester is found, or created as a contact, from `requester_email`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::policy::Scope;
use portico_tenants::routing::TenantRoute;
use portico_tenants::thread::{self, Attachment, Message, NewMessage, StoredFile};
use portico_tenants::tickets::{
    self, Link, NewTicket, Priority, Reader, Source, Ticket, TicketChange, TicketFilter,
};
use portico_tenants::time_entries::{self, NewTimeEntry, TimeEntry};
use portico_tenants::tokens::hash_token;
use portico_tenants::{Role, TenantDb};
use serde::Deserialize;

use crate::blobs;
use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The tenant setting: largest attachment, bytes.
pub const ATTACHMENT_MAX_SETTING: &str = "attachments_max_bytes";
/// The tenant setting: allowed attachment types (`image/*`, `application/pdf`, …).
pub const ATTACHMENT_TYPES_SETTING: &str = "attachments_allowed_types";
/// Largest attachment when the tenant set nothing.
pub const DEFAULT_ATTACHMENT_MAX: usize = 8 * 1024 * 1024;
/// Attachment types allowed when the tenant set nothing: no markup, no programs.
pub const DEFAULT_ATTACHMENT_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/heif",
    "application/pdf",
    "text/plain",
    "application/zip",
    "application/gzip",
    "application/x-7z-compressed",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/msword",
    "application/vnd.ms-excel",
    "message/rfc822",
    "audio/*",
    "video/*",
];
/// At most this many files per message.
const MAX_FILES: usize = 20;

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn number(raw: &str) -> Result<i64, ApiError> {
    raw.trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::NotFound)
}

pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|rejection| invalid("body", rejection.body_text()))
}

impl ApiCaller {
    /// Whether Casbin allows `action` on `object` at all.
    pub(crate) async fn allows(
        &self,
        state: &AppState,
        object: &'static str,
        action: &'static str,
    ) -> Result<bool, ApiError> {
        match self.scope(state, object, action).await {
            Ok(_) => Ok(true),
            Err(ApiError::Forbidden) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The ticket reader for `action`: the scope Casbin grants, and staff when the
    /// caller may read internal notes.
    pub(crate) async fn reader(
        &self,
        state: &AppState,
        action: &'static str,
    ) -> Result<Reader, ApiError> {
        let scope = self.scope(state, "ticket", action).await?;
        let staff = self.allows(state, "ticket_note", "read").await?;
        Ok(Reader { scope, staff })
    }

    /// The caller's language (a person's locale; English for service accounts).
    async fn language(&self) -> Result<String, ApiError> {
        Ok(match self.grant.user_id {
            Some(id) => people::get_user(&self.db, id, Scope::All).await?.locale,
            None => "en".to_owned(),
        })
    }
}

/// Input of `POST /api/v1/tickets`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTicket {
    subject: String,
    #[serde(default)]
    description: String,
    /// `None` when not given (then `medium`): a customer may give it only when the
    /// portal lets them change it.
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    requester_email: Option<String>,
    #[serde(default, rename = "type")]
    type_key: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    watchers: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    device_id: Option<i64>,
}

fn default_priority() -> String {
    "medium".to_owned()
}

/// The requester a caller may open a ticket for, within their scope.
async fn requester(
    caller: &ApiCaller,
    scope: Scope,
    email: Option<&str>,
) -> Result<people::User, ApiError> {
    let bad = |reason: &str| invalid("requester_email", reason);
    let own = match caller.grant.user_id {
        Some(id) => Some(people::get_user(&caller.db, id, Scope::All).await?),
        None => None,
    };
    let Some(email) = email else {
        return own.ok_or_else(|| bad("is required for a service account"));
    };
    let email = EmailAddress::parse(email).map_err(|_| bad("is not an e-mail address"))?;
    match scope {
        Scope::All => {
            if let Some(found) =
                portico_tenants::organizations::contact_for_email(&caller.db, &email).await?
            {
                return Ok(found);
            }
            // Unknown, and at no organization's domain: a contact of no organization.
            Ok(people::create_user(
                &caller.db,
                NewUser {
                    email,
                    display_name: String::new(),
                    role: Role::Contact,
                    invite: false,
                    organization_id: None,
                },
            )
            .await?)
        }
        Scope::Organization(Some(organization)) => {
            let found = portico_tenants::organizations::contact_for_email(&caller.db, &email)
                .await?
                .filter(|u| u.organization_id == Some(organization));
            found.ok_or_else(|| bad("is not a person of your organization"))
        }
        Scope::Own(Some(_)) | Scope::Organization(None) | Scope::Own(None) => match own {
            Some(own) if own.email == email.as_str() => Ok(own),
            _ => Err(bad("must be your own address")),
        },
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets",
    tag = "tickets",
    summary = "Open a ticket (idempotent with `Idempotency-Key`)",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeating a key answers the ticket it created")),
    request_body = CreateTicket,
    responses((status = 201, description = "Opened", body = Ticket), (status = 200, description = "Already opened with this Idempotency-Key", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Result<Json<CreateTicket>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let reader = caller.reader(&state, "create").await?;
    let input = json_body(body)?;
    let priority_name = input.priority.clone().unwrap_or_else(default_priority);
    let priority = Priority::parse(&priority_name)?;
    let requester = requester(&caller, reader.scope, input.requester_email.as_deref()).await?;
    if !reader.staff {
        // Customers set only the fields the portal lets them see and change, the
        // standard ones as on a change of the ticket.
        let portal = portico_tenants::ticket_config::read_portal_fields(&caller.db).await?;
        let standard = [
            ("priority", input.priority.is_some()),
            ("type", input.type_key.is_some()),
            ("watchers", !input.watchers.is_empty()),
            ("device", input.device_id.is_some()),
        ];
        for (name, given) in standard {
            if given
                && portal.standard(name)
                    != portico_tenants::ticket_config::FieldVisibility::Editable
            {
                return Err(invalid(name, format!("{name} cannot be set in the portal")));
            }
        }
        for key in input.fields.keys() {
            if portal.custom(key) != portico_tenants::ticket_config::FieldVisibility::Editable {
                return Err(invalid(
                    "fields",
                    format!("{key} cannot be set in the portal"),
                ));
            }
        }
    }
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .map(str::to_owned)
                .ok_or_else(|| invalid("Idempotency-Key", "must be 1 to 255 visible characters"))
        })
        .transpose()?;
    let request_hash = hash_token(&format!(
        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}",
        input.subject,
        input.description,
        priority_name,
        requester.id,
        input.type_key,
        input.tags,
        input.watchers,
        input.fields,
        input.device_id,
    ));
    let actor = caller.actor();
    let idempotency = key
        .as_deref()
        .map(|key| (actor.as_str(), key, request_hash.as_str()));
    let created = tickets::create_ticket(
        &caller.db,
        NewTicket {
            subject: input.subject,
            description: input.description,
            priority,
            type_key: input.type_key,
            requester_id: requester.id,
            organization_id: requester.organization_id,
            device_id: input.device_id,
            source: Source::Api,
            language: requester.locale.clone(),
            tags: input.tags,
            watchers: input.watchers,
            fields: input.fields,
            email_message_id: None,
            files: Vec::new(),
        },
        idempotency,
        reader,
    )
    .await?;
    let status = if created.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(created.ticket)))
}

/// Query of `GET /api/v1/tickets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    organization: Option<i64>,
    /// Only the tickets this person asked for.
    #[serde(default)]
    requester: Option<i64>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default, rename = "type")]
    type_key: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    sla: Option<String>,
    #[serde(default)]
    approval: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// A page of tickets with the counts of the status tabs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ListAnswer {
    tickets: Vec<Ticket>,
    next_cursor: Option<String>,
    counts: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    summary = "List tickets with filters, search and a cursor",
    params(ListQuery),
    responses((status = 200, description = "A page of tickets with the status tabs' counts", body = ListAnswer), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn list_tickets(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ListAnswer>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    let assignee = match query.assignee.as_deref() {
        None | Some("") => None,
        Some("none") => Some(None),
        Some("me") => Some(Some(caller.grant.user_id.ok_or_else(|| {
            invalid("assignee", "a service account has no tickets of its own")
        })?)),
        Some(id) => {
            Some(Some(id.parse().map_err(|_| {
                invalid("assignee", "must be a person's id, me or none")
            })?))
        }
    };
    let language = match query.lang {
        Some(lang) => lang,
        None if query.q.is_some() => caller.language().await?,
        None => "en".to_owned(),
    };
    let filter = TicketFilter {
        status_class: query.status.filter(|s| !s.is_empty() && s != "all"),
        priority: query
            .priority
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(Priority::parse)
            .transpose()?,
        organization_id: query.organization,
        requester_id: query.requester,
        unfinished: false,
        assignee,
        type_key: query.type_key.filter(|t| !t.is_empty()),
        tag: query.tag.filter(|t| !t.is_empty()),
        queue: query.queue.filter(|q| !q.is_empty()),
        sla: query.sla.filter(|s| !s.is_empty()),
        approval: query.approval.filter(|a| !a.is_empty()),
        text: query.q.filter(|q| !q.trim().is_empty()),
        language,
    };
    let page = tickets::list_tickets(
        &caller.db,
        reader,
        &filter,
        query.after.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    let mut counts = serde_json::Map::new();
    let mut all = 0;
    for (class, n) in tickets::status_counts(&caller.db, reader.scope).await? {
        all += n;
        counts.insert(class, n.into());
    }
    counts.insert("all".to_owned(), all.into());
    Ok(Json(ListAnswer {
        tickets: page.tickets,
        next_cursor: page.next_cursor,
        counts,
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}",
    tag = "tickets",
    summary = "One ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "The ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn show_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        tickets::get_ticket(&caller.db, number(&raw)?, reader).await?,
    ))
}

/// Input of `PATCH /api/v1/tickets/{number}`: only the members present change;
/// `null` clears a type, assignee, queue, device or custom field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeTicket {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default, rename = "type", with = "serde_with_null")]
    type_key: Option<Option<String>>,
    #[serde(default, with = "serde_with_null")]
    assignee_id: Option<Option<i64>>,
    #[serde(default, with = "serde_with_null")]
    queue: Option<Option<String>>,
    #[serde(default)]
    level: Option<i64>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    add_watchers: Vec<String>,
    #[serde(default)]
    remove_watchers: Vec<String>,
    #[serde(default)]
    fields: BTreeMap<String, serde_json::Value>,
    #[serde(default, with = "serde_with_null")]
    device_id: Option<Option<i64>>,
}

/// Tells a member set to `null` (`Some(None)`) from a missing one (`None`).
pub(crate) mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    /// Wraps a present value (`null` included) in `Some`.
    pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

#[utoipa::path(
    patch,
    path = "/api/v1/tickets/{number}",
    tag = "tickets",
    summary = "Change a ticket (only the members given; `null` clears)",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = ChangeTicket,
    responses((status = 200, description = "The changed ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn update_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<ChangeTicket>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let input = json_body(body)?;
    // Staff change tickets with `update`; the requester side with `comment`, limited
    // by the portal's field visibility in the data layer.
    let reader = if caller.allows(&state, "ticket", "update").await? {
        caller.reader(&state, "update").await?
    } else {
        caller.reader(&state, "comment").await?
    };
    let change = TicketChange {
        subject: input.subject,
        priority: input.priority.as_deref().map(Priority::parse).transpose()?,
        type_key: input.type_key,
        assignee_id: input.assignee_id,
        queue: input.queue,
        level: input.level,
        tags: input.tags,
        add_watchers: input.add_watchers,
        remove_watchers: input.remove_watchers,
        fields: input.fields,
        device_id: input.device_id,
    };
    Ok(Json(
        tickets::update_ticket(&caller.db, number(&raw)?, change, &caller.actor(), reader).await?,
    ))
}

/// Input of `POST /api/v1/tickets/{number}/status`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeStatus {
    status: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/status",
    tag = "tickets",
    summary = "Move a ticket to a status",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = ChangeStatus,
    responses((status = 200, description = "The ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn change_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<ChangeStatus>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let reader = caller.reader(&state, "update").await?;
    let input = json_body(body)?;
    Ok(Json(
        tickets::change_status(
            &caller.db,
            number(&raw)?,
            &input.status,
            &caller.actor(),
            reader,
            Some(caller.grant.role),
        )
        .await?,
    ))
}

/// `POST /api/v1/tickets/{number}/close`: the requester side closes its ticket (the
/// portal's button, the e-mail's `#close`).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/close",
    tag = "tickets",
    summary = "Close a ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "The ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn close_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    let reader = caller.reader(&state, "comment").await?;
    Ok(Json(
        tickets::change_status(
            &caller.db,
            number(&raw)?,
            "closed",
            &caller.actor(),
            reader,
            Some(caller.grant.role),
        )
        .await?,
    ))
}

/// `POST /api/v1/tickets/{number}/reopen`: the requester side reopens a resolved or
/// closed ticket, unless the tenant forbids it.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/reopen",
    tag = "tickets",
    summary = "Reopen a ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "The ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn reopen_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    let reader = caller.reader(&state, "comment").await?;
    let number = number(&raw)?;
    let ticket = tickets::get_ticket(&caller.db, number, reader).await?;
    if !matches!(ticket.status_class.as_str(), "resolved" | "closed") {
        return Err(ApiError::Refused {
            code: "ticket_not_finished",
            reason: "only a resolved or closed ticket can be reopened".to_owned(),
        });
    }
    if !reader.staff && !thread::can_reopen(&caller.db).await? {
        return Err(ApiError::Refused {
            code: thread::CANNOT_REOPEN,
            reason: "tickets of this service desk cannot be reopened; open a new one".to_owned(),
        });
    }
    Ok(Json(
        tickets::change_status(
            &caller.db,
            number,
            "open",
            &caller.actor(),
            reader,
            Some(caller.grant.role),
        )
        .await?,
    ))
}

/// Input of a JSON `POST /api/v1/tickets/{number}/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PostMessage {
    body: String,
    #[serde(default)]
    internal: bool,
    #[serde(default)]
    follow_up: bool,
}

/// The multipart form of `POST /api/v1/tickets/{number}/messages` (documentation
/// only: the handler reads the parts one by one).
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "describes the form for the OpenAPI document; never built"
)]
pub(crate) struct PostMessageForm {
    /// The text.
    body: String,
    /// `true` for an internal note (staff only).
    internal: Option<bool>,
    /// `true` to open a follow-up when the ticket cannot be reopened.
    follow_up: Option<bool>,
    /// Any number of files.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
}

/// The answer to a posted message.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PostedAnswer {
    ticket: Ticket,
    message_id: i64,
    /// Set when the old ticket could not be reopened and this new one follows it.
    follow_up_of: Option<i64>,
}

/// What a tenant allows of attachments.
pub(crate) async fn attachment_limits(
    state: &AppState,
    db: &TenantDb,
) -> Result<(usize, Vec<String>), ApiError> {
    let max = portico_tenants::accounts::tenant_setting(db, ATTACHMENT_MAX_SETTING)
        .await?
        .and_then(|v| v.as_u64())
        .map_or(DEFAULT_ATTACHMENT_MAX, |v| v as usize)
        .min(state.settings.body_limit);
    let types = portico_tenants::accounts::tenant_setting(db, ATTACHMENT_TYPES_SETTING)
        .await?
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_else(|| {
            DEFAULT_ATTACHMENT_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect()
        });
    Ok((max, types))
}

/// Checks and stores one uploaded file.
pub(crate) async fn store_file(
    state: &AppState,
    route: &TenantRoute,
    limits: &(usize, Vec<String>),
    filename: &str,
    bytes: Bytes,
) -> Result<StoredFile, ApiError> {
    let (max, types) = limits;
    if bytes.len() > *max {
        return Err(invalid(
            "file",
            format!("{filename} is larger than the {max} bytes this service desk accepts"),
        ));
    }
    let content_type = blobs::sniff(&bytes);
    if !blobs::type_allowed(&content_type, types) {
        return Err(ApiError::Refused {
            code: "attachment_type_refused",
            reason: format!(
                "{filename} is {content_type}, which this service desk does not accept"
            ),
        });
    }
    let stored = state
        .blobs
        .put(route.id, "attachments", bytes)
        .await
        .map_err(ApiError::Internal)?;
    Ok(StoredFile {
        storage_key: stored.key,
        filename: blobs::clean_filename(filename),
        content_type,
        size: stored.size as i64,
        sha256: stored.sha256,
    })
}

/// Removes files stored for a message whose transaction did not commit.
pub(crate) async fn discard(state: &AppState, db: &TenantDb, files: &[StoredFile]) {
    let keys: Vec<String> = files.iter().map(|f| f.storage_key.clone()).collect();
    match thread::unreferenced(db, &keys).await {
        Ok(orphans) => {
            for key in orphans {
                if let Err(error) = state.blobs.delete(&key).await {
                    tracing::warn!(%key, error = %error, "an uncommitted attachment was not removed");
                }
            }
        }
        Err(error) => tracing::warn!(%error, "uncommitted attachments not checked"),
    }
}

/// `POST /api/v1/tickets/{number}/messages`: JSON (`body`, `internal`, `follow_up`)
/// or `multipart/form-data` with the same fields and any number of `file` parts.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/messages",
    tag = "tickets",
    summary = "Reply or add an internal note, with files as multipart",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body(content((PostMessage = "application/json"), (PostMessageForm = "multipart/form-data"))),
    responses((status = 201, description = "Posted", body = PostedAnswer), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn post_message(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    request: Request<Body>,
) -> Result<impl IntoResponse, ApiError> {
    let number = number(&raw)?;
    let reader = caller.reader(&state, "comment").await?;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let mut files: Vec<StoredFile> = Vec::new();
    let (body, internal, follow_up) = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| invalid("body", rejection.body_text()))?;
        let limits = attachment_limits(&state, &caller.db).await?;
        let (mut body, mut internal, mut follow_up) = (String::new(), false, false);
        let outcome: Result<(), ApiError> = async {
            while let Some(field) = form
                .next_field()
                .await
                .map_err(|e| invalid("body", e.body_text()))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                match name.as_str() {
                    "body" => {
                        body = field
                            .text()
                            .await
                            .map_err(|e| invalid("body", e.body_text()))?
                    }
                    "internal" | "follow_up" => {
                        let value = field
                            .text()
                            .await
                            .map_err(|e| invalid(&name, e.body_text()))?;
                        let flag = matches!(value.as_str(), "true" | "1" | "on" | "yes");
                        if name == "internal" {
                            internal = flag;
                        } else {
                            follow_up = flag;
                        }
                    }
                    "file" | "files" | "file[]" => {
                        let filename = field.file_name().unwrap_or("file").to_owned();
                        let bytes = field
                            .bytes()
                            .await
                            .map_err(|e| invalid("file", e.body_text()))?;
                        if bytes.is_empty() && filename.is_empty() {
                            continue; // an empty file input of a form
                        }
                        if files.len() >= MAX_FILES {
                            return Err(invalid(
                                "file",
                                format!("at most {MAX_FILES} files per message"),
                            ));
                        }
                        files.push(
                            store_file(&state, &caller.route, &limits, &filename, bytes).await?,
                        );
                    }
                    other => return Err(invalid(other, "is not a field of a message")),
                }
            }
            Ok(())
        }
        .await;
        if let Err(error) = outcome {
            discard(&state, &caller.db, &files).await;
            return Err(error);
        }
        (body, internal, follow_up)
    } else {
        let input: PostMessage = json_body(Json::from_request(request, &state).await)?;
        (input.body, input.internal, input.follow_up)
    };
    if internal && !caller.allows(&state, "ticket_note", "create").await? {
        discard(&state, &caller.db, &files).await;
        return Err(ApiError::Forbidden);
    }
    let language = caller.language().await?;
    let posted = thread::add_message(
        &caller.db,
        number,
        NewMessage {
            body,
            internal,
            author_id: caller.grant.user_id,
            source: Source::Api,
            language,
            email_message_id: None,
            files: files.clone(),
            follow_up,
        },
        &caller.actor(),
        reader,
    )
    .await;
    match posted {
        Ok(posted) => Ok((
            StatusCode::CREATED,
            Json(PostedAnswer {
                ticket: posted.ticket,
                message_id: posted.message_id,
                follow_up_of: posted.follow_up_of,
            }),
        )),
        Err(error) => {
            discard(&state, &caller.db, &files).await;
            Err(error.into())
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/messages",
    tag = "tickets",
    summary = "The ticket's thread",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Messages, oldest first", body = Vec<Message>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        thread::messages(&caller.db, number(&raw)?, reader).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/attachments",
    tag = "tickets",
    summary = "The ticket's attachments",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Attachments", body = Vec<Attachment>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_attachments(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<thread::Attachment>>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        thread::attachments(&caller.db, number(&raw)?, reader).await?,
    ))
}

/// The sandbox every download is served in: nothing in it may run or load.
pub const DOWNLOAD_CSP: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// `GET /api/v1/tickets/{number}/attachments/{id}`: always a download, never a page.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/attachments/{id}",
    tag = "tickets",
    summary = "Download an attachment (always as a download)",
    params(("number" = i64, Path, description = "The ticket's number"), ("id" = i64, Path, description = "The attachment's id")),
    responses((status = 200, description = "The file; active content is served as application/octet-stream", body = Vec<u8>, content_type = "*/*"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn download_attachment(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let file = thread::attachment_of(&caller.db, number(&raw)?, id, reader).await?;
    let bytes = state
        .blobs
        .get(&file.storage_key)
        .await
        .map_err(ApiError::Internal)?;
    attachment_response(&file, bytes)
}

/// The response serving an attachment: `Content-Disposition: attachment`, active
/// content as `application/octet-stream`, a sandboxing CSP and `nosniff`.
pub(crate) fn attachment_response(
    file: &thread::Attachment,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let header_value = |value: &str| {
        HeaderValue::from_str(value).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))
    };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header_value(blobs::served_type(&file.content_type))?,
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&blobs::disposition(&file.filename))?,
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/links",
    tag = "tickets",
    summary = "The ticket's links",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Links", body = Vec<Link>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_links(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<tickets::Link>>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        tickets::links(&caller.db, number(&raw)?, reader).await?,
    ))
}

/// Input of `POST /api/v1/tickets/{number}/links`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddLink {
    number: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/links",
    tag = "tickets",
    summary = "Link another ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = AddLink,
    responses((status = 200, description = "The links now", body = Vec<Link>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn add_link(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<AddLink>, JsonRejection>,
) -> Result<Json<Vec<tickets::Link>>, ApiError> {
    let reader = caller.reader(&state, "update").await?;
    let input = json_body(body)?;
    Ok(Json(
        tickets::link(
            &caller.db,
            number(&raw)?,
            input.number,
            &caller.actor(),
            reader,
        )
        .await?,
    ))
}

/// Input of `POST /api/v1/tickets/{number}/merge`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Merge {
    into: i64,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/merge",
    tag = "tickets",
    summary = "Merge this ticket into another",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = Merge,
    responses((status = 200, description = "The target ticket", body = Ticket), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn merge_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<Merge>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let reader = caller.reader(&state, "update").await?;
    let input = json_body(body)?;
    Ok(Json(
        tickets::merge(
            &caller.db,
            number(&raw)?,
            input.into,
            &caller.actor(),
            reader,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/watchers",
    tag = "tickets",
    summary = "Who is copied on the ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Addresses", body = Vec<String>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_watchers(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        tickets::watchers(&caller.db, number(&raw)?, reader).await?,
    ))
}

/// Input of time-entry creation and change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimeInput {
    minutes: i64,
    #[serde(default = "billable_default")]
    billable: bool,
    #[serde(default)]
    note: String,
    work_date: String,
    #[serde(default)]
    technician_id: Option<i64>,
}

fn billable_default() -> bool {
    true
}

impl TimeInput {
    fn entry(self, caller: &ApiCaller) -> Result<NewTimeEntry, ApiError> {
        let technician_id = self
            .technician_id
            .or(caller.grant.user_id)
            .ok_or_else(|| invalid("technician_id", "is required for a service account"))?;
        Ok(NewTimeEntry {
            technician_id,
            minutes: self.minutes,
            billable: self.billable,
            note: self.note,
            work_date: self.work_date,
        })
    }
}

async fn time_reader(
    state: &AppState,
    caller: &ApiCaller,
    action: &'static str,
) -> Result<Reader, ApiError> {
    let scope = caller.scope(state, "ticket_time", action).await?;
    Ok(Reader { scope, staff: true })
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/time-entries",
    tag = "tickets",
    summary = "Time worked on the ticket",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Entries", body = Vec<TimeEntry>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_time(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<TimeEntry>>, ApiError> {
    let reader = time_reader(&state, &caller, "read").await?;
    Ok(Json(
        time_entries::list(&caller.db, number(&raw)?, reader).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/time-entries",
    tag = "tickets",
    summary = "Log time",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = TimeInput,
    responses((status = 201, description = "Logged", body = TimeEntry), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn add_time(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<TimeInput>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let reader = time_reader(&state, &caller, "create").await?;
    let entry = json_body(body)?.entry(&caller)?;
    let added =
        time_entries::add(&caller.db, number(&raw)?, entry, &caller.actor(), reader).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

fn entry_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

#[utoipa::path(
    put,
    path = "/api/v1/tickets/{number}/time-entries/{id}",
    tag = "tickets",
    summary = "Change a time entry (not once invoiced)",
    params(("number" = i64, Path, description = "The ticket's number"), ("id" = i64, Path, description = "The time entry's id")),
    request_body = TimeInput,
    responses((status = 200, description = "Changed", body = TimeEntry), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn update_time(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((raw, id)): Path<(String, String)>,
    body: Result<Json<TimeInput>, JsonRejection>,
) -> Result<Json<TimeEntry>, ApiError> {
    let reader = time_reader(&state, &caller, "update").await?;
    let entry = json_body(body)?.entry(&caller)?;
    Ok(Json(
        time_entries::update(
            &caller.db,
            number(&raw)?,
            entry_id(&id)?,
            entry,
            &caller.actor(),
            reader,
        )
        .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tickets/{number}/time-entries/{id}",
    tag = "tickets",
    summary = "Remove a time entry (not once invoiced)",
    params(("number" = i64, Path, description = "The ticket's number"), ("id" = i64, Path, description = "The time entry's id")),
    responses((status = 204, description = "Removed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn remove_time(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((raw, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let reader = time_reader(&state, &caller, "update").await?;
    time_entries::remove(
        &caller.db,
        number(&raw)?,
        entry_id(&id)?,
        &caller.actor(),
        reader,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/time-entries/{id}/invoice",
    tag = "tickets",
    summary = "Mark a time entry invoiced (it is then locked)",
    params(("number" = i64, Path, description = "The ticket's number"), ("id" = i64, Path, description = "The time entry's id")),
    responses((status = 200, description = "Invoiced", body = TimeEntry), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn invoice_time(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Json<TimeEntry>, ApiError> {
    let reader = time_reader(&state, &caller, "invoice").await?;
    Ok(Json(
        time_entries::mark_invoiced(
            &caller.db,
            number(&raw)?,
            entry_id(&id)?,
            &caller.actor(),
            reader,
        )
        .await?,
    ))
}
