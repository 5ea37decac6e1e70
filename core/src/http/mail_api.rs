//! The e-mail channel under `/api/v1/mail`: the inbound webhook (a provider posts a
//! raw message), the tenant's IMAP mailboxes, the inbound queue (held messages are
//! released or discarded by technicians; every message's raw copy stays viewable),
//! and each ticket's mail log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use portico_tenants::mail::{self as store, Inbound, Mailbox, NewMailbox, Outbound};
use serde::{Deserialize, Serialize};

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::mail::intake::Accepted;
use crate::state::AppState;

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Query of `POST /api/v1/mail/inbound`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct InboundQuery {
    /// The envelope recipient (a plus-address threads the message).
    #[serde(default)]
    recipient: Option<String>,
}

/// What the webhook did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InboundAccepted {
    /// The queued message (none when it was a repeated delivery).
    id: Option<i64>,
    /// The message was known already.
    duplicate: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/mail/inbound",
    tag = "mail",
    summary = "Take a raw message from a mail provider's inbound webhook (queued durably, processed in the background)",
    params(InboundQuery),
    request_body(content = String, content_type = "message/rfc822", description = "The raw message"),
    responses((status = 202, description = "Queued (or known already)", body = InboundAccepted), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn receive_mail(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<InboundQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.scope(&state, "mail_inbound", "create").await?;
    if body.is_empty() {
        return Err(ApiError::Invalid {
            field: "body".to_owned(),
            reason: "must be a raw e-mail message".to_owned(),
        });
    }
    if body.len() > state.settings.mail_max_bytes {
        return Err(ApiError::Invalid {
            field: "body".to_owned(),
            reason: format!("must be at most {} bytes", state.settings.mail_max_bytes),
        });
    }
    let accepted = state
        .intake
        .accept(&caller.db, "webhook", query.recipient.as_deref(), body)
        .await
        .map_err(ApiError::Internal)?;
    let answer = match accepted {
        Accepted::Queued(id) => InboundAccepted {
            id: Some(id),
            duplicate: false,
        },
        Accepted::Duplicate => InboundAccepted {
            id: None,
            duplicate: true,
        },
        Accepted::NotMail => {
            return Err(ApiError::Invalid {
                field: "body".to_owned(),
                reason: "is not an e-mail message".to_owned(),
            });
        }
    };
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

/// Query of `GET /api/v1/mail/inbound`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct QueueQuery {
    /// Only this state (`held`, `failed`, `pending`, `ignored`, …).
    #[serde(default)]
    state: Option<String>,
    /// At most this many, newest first (default 100).
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/mail/inbound",
    tag = "mail",
    summary = "The inbound queue, newest first: what became of each message",
    params(QueueQuery),
    responses((status = 200, description = "Messages", body = Vec<Inbound>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_inbound(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<QueueQuery>,
) -> Result<Json<Vec<Inbound>>, ApiError> {
    caller.scope(&state, "mail", "read").await?;
    Ok(Json(
        store::list_inbound(
            &caller.db,
            query.state.as_deref(),
            query.limit.unwrap_or(100),
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/mail/inbound/{id}/raw",
    tag = "mail",
    summary = "The whole message as it arrived",
    params(("id" = i64, Path, description = "The queued message")),
    responses((status = 200, description = "The raw message", content_type = "message/rfc822", body = String), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn raw_inbound(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    caller.scope(&state, "mail", "read").await?;
    let row = store::inbound(&caller.db, parse_id(&raw)?).await?;
    let bytes = state
        .blobs
        .get(&row.raw_key)
        .await
        .map_err(ApiError::Internal)?;
    let file = portico_tenants::thread::Attachment {
        id: row.id,
        message_id: None,
        filename: format!("message-{}.eml", row.id),
        content_type: "message/rfc822".to_owned(),
        size: bytes.len() as i64,
        sha256: String::new(),
        created_at: row.received_at,
        storage_key: row.raw_key,
    };
    crate::http::tickets_api::attachment_response(&file, bytes)
}

#[utoipa::path(
    post,
    path = "/api/v1/mail/inbound/{id}/release",
    tag = "mail",
    summary = "Let a held message through to its ticket",
    params(("id" = i64, Path, description = "The held message")),
    responses((status = 200, description = "Released; it is processed again", body = Inbound), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn release_inbound(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Inbound>, ApiError> {
    caller.scope(&state, "mail", "update").await?;
    let id = parse_id(&raw)?;
    store::inbound(&caller.db, id).await?;
    store::release(&caller.db, id, &caller.actor()).await?;
    Ok(Json(store::inbound(&caller.db, id).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/mail/inbound/{id}/discard",
    tag = "mail",
    summary = "Discard a held message",
    params(("id" = i64, Path, description = "The held message")),
    responses((status = 200, description = "Discarded", body = Inbound), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn discard_inbound(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Inbound>, ApiError> {
    caller.scope(&state, "mail", "update").await?;
    let id = parse_id(&raw)?;
    store::inbound(&caller.db, id).await?;
    store::discard(&caller.db, id, &caller.actor()).await?;
    Ok(Json(store::inbound(&caller.db, id).await?))
}

/// Input of `POST /api/v1/mail/mailboxes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailboxInput {
    /// The address mail is sent to.
    pub(crate) address: String,
    /// IMAP server.
    pub(crate) host: String,
    /// Port (993 for TLS, 143 for STARTTLS).
    pub(crate) port: i64,
    /// `tls` (default), `starttls` or `none`.
    #[serde(default = "default_tls")]
    pub(crate) tls: String,
    /// Login.
    pub(crate) username: String,
    /// Password (sealed at once, never shown again).
    pub(crate) password: String,
    /// Folder (default `INBOX`).
    #[serde(default)]
    pub(crate) folder: String,
}

fn default_tls() -> String {
    "tls".to_owned()
}

#[utoipa::path(
    get,
    path = "/api/v1/mail/mailboxes",
    tag = "mail",
    summary = "The tenant's own IMAP mailboxes, with their state",
    responses((status = 200, description = "Mailboxes", body = Vec<Mailbox>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_mailboxes(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Mailbox>>, ApiError> {
    caller.scope(&state, "mail_channel", "read").await?;
    Ok(Json(store::list_mailboxes(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/mail/mailboxes",
    tag = "mail",
    summary = "Add an IMAP mailbox (read with IDLE where the server has it)",
    request_body = MailboxInput,
    responses((status = 201, description = "Added", body = Mailbox), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn add_mailbox(
    State(state): State<AppState>,
    caller: ApiCaller,
    input: Result<Json<MailboxInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.scope(&state, "mail_channel", "create").await?;
    let Json(input) = input.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let mailbox = new_mailbox(&state, &caller.db, input, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(mailbox)).into_response())
}

/// Adds a mailbox, its password sealed at once, audited as `actor`, and tells the
/// intake to start reading it.
pub(crate) async fn new_mailbox(
    state: &AppState,
    db: &portico_tenants::TenantDb,
    input: MailboxInput,
    actor: &str,
) -> Result<Mailbox, ApiError> {
    if input.password.is_empty() || input.password.len() > 1024 {
        return Err(ApiError::Invalid {
            field: "password".to_owned(),
            reason: "must be 1 to 1024 bytes".to_owned(),
        });
    }
    let sealed = state.master_key.seal(
        crate::mail::imap::PASSWORD_CONTEXT,
        input.password.as_bytes(),
    );
    let mailbox = store::create_mailbox(
        db,
        NewMailbox {
            address: input.address,
            host: input.host,
            port: input.port,
            tls: input.tls,
            username: input.username,
            sealed_password: sealed,
            folder: input.folder,
        },
        actor,
    )
    .await?;
    state.intake.mailboxes_changed.notify_one();
    Ok(mailbox)
}

/// Input of `PATCH /api/v1/mail/mailboxes/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailboxChange {
    /// Read it or not.
    enabled: bool,
}

#[utoipa::path(
    patch,
    path = "/api/v1/mail/mailboxes/{id}",
    tag = "mail",
    summary = "Turn reading a mailbox on or off",
    params(("id" = i64, Path, description = "The mailbox")),
    request_body = MailboxChange,
    responses((status = 200, description = "Changed", body = Mailbox), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn change_mailbox(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    input: Result<Json<MailboxChange>, JsonRejection>,
) -> Result<Json<Mailbox>, ApiError> {
    caller.scope(&state, "mail_channel", "update").await?;
    let Json(input) = input.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let mailbox =
        store::set_mailbox_enabled(&caller.db, parse_id(&raw)?, input.enabled, &caller.actor())
            .await?;
    state.intake.mailboxes_changed.notify_one();
    Ok(Json(mailbox))
}

#[utoipa::path(
    delete,
    path = "/api/v1/mail/mailboxes/{id}",
    tag = "mail",
    summary = "Remove a mailbox (its mail stays)",
    params(("id" = i64, Path, description = "The mailbox")),
    responses((status = 204, description = "Removed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn remove_mailbox(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "mail_channel", "delete").await?;
    store::delete_mailbox(&caller.db, parse_id(&raw)?, &caller.actor()).await?;
    state.intake.mailboxes_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/mail",
    tag = "mail",
    summary = "The mail Portico sent about a ticket, with each message's state",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "Messages, oldest first", body = Vec<Outbound>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn ticket_mail(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Outbound>>, ApiError> {
    caller.scope(&state, "mail", "read").await?;
    let reader = caller.reader(&state, "read").await?;
    let number = crate::http::tickets_api::number(&raw)?;
    portico_tenants::tickets::get_ticket(&caller.db, number, reader).await?;
    Ok(Json(store::ticket_mail(&caller.db, number).await?))
}

/// The tenant's own SMTP server, as shown (never the credentials).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SmtpView {
    /// Mail goes through the tenant's own server (else the platform's).
    pub(crate) configured: bool,
    /// Its host and port.
    pub(crate) server: Option<String>,
    /// The address mail goes out from.
    pub(crate) from: Option<String>,
}

/// Input of `PUT /api/v1/mail/smtp`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmtpInput {
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtps://…:465` (TLS).
    url: String,
    /// The address mail goes out from (one the server may send as).
    from: String,
}

fn smtp_server(url: &str) -> Result<String, ApiError> {
    let invalid = |reason: &str| ApiError::Invalid {
        field: "url".to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|_| invalid("must be an smtp:// or smtps:// URL"))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(invalid("must be an smtp:// or smtps:// URL"));
    }
    let host = parsed.host_str().ok_or_else(|| invalid("needs a host"))?;
    crate::mail::SmtpSink::from_url(url).map_err(|e| invalid(&e.to_string()))?;
    Ok(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Sends the tenant's mail through its own server: the URL checked, sealed at once,
/// audited as `actor` (without the URL).
pub(crate) async fn set_smtp_server(
    state: &AppState,
    db: &portico_tenants::TenantDb,
    url: &str,
    from: &str,
    actor: &str,
) -> Result<(), ApiError> {
    let server = smtp_server(url)?;
    let sealed = state
        .master_key
        .seal(crate::mail::SMTP_URL_CONTEXT, url.as_bytes());
    store::set_tenant_smtp(db, &sealed, from, &server, actor).await?;
    Ok(())
}

pub(crate) async fn smtp_view(
    state: &AppState,
    db: &portico_tenants::TenantDb,
) -> Result<SmtpView, ApiError> {
    Ok(match store::tenant_smtp(db).await? {
        Some(smtp) => {
            let url = state
                .master_key
                .open(crate::mail::SMTP_URL_CONTEXT, &smtp.sealed_url)
                .ok()
                .and_then(|u| String::from_utf8(u).ok());
            SmtpView {
                configured: true,
                server: url.and_then(|u| smtp_server(&u).ok()),
                from: Some(smtp.from_address),
            }
        }
        None => SmtpView {
            configured: false,
            server: None,
            from: None,
        },
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/mail/smtp",
    tag = "mail",
    summary = "The tenant's own SMTP server for outbound mail, if it set one",
    responses((status = 200, description = "The server (never its credentials)", body = SmtpView), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn show_smtp(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<SmtpView>, ApiError> {
    caller.scope(&state, "mail_channel", "read").await?;
    Ok(Json(smtp_view(&state, &caller.db).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/mail/smtp",
    tag = "mail",
    summary = "Send the tenant's mail through its own SMTP server (the URL is sealed at once)",
    request_body = SmtpInput,
    responses((status = 200, description = "Set", body = SmtpView), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn set_smtp(
    State(state): State<AppState>,
    caller: ApiCaller,
    input: Result<Json<SmtpInput>, JsonRejection>,
) -> Result<Json<SmtpView>, ApiError> {
    caller.scope(&state, "mail_channel", "update").await?;
    let Json(input) = input.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    set_smtp_server(&state, &caller.db, &input.url, &input.from, &caller.actor()).await?;
    Ok(Json(smtp_view(&state, &caller.db).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/mail/smtp",
    tag = "mail",
    summary = "Send the tenant's mail through the platform's SMTP server again",
    responses((status = 204, description = "Cleared"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn clear_smtp(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "mail_channel", "update").await?;
    store::clear_tenant_smtp(&caller.db, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
