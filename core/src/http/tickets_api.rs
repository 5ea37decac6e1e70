//! Tickets under `/api/v1/tickets`, part 1: create (idempotent with
//! `Idempotency-Key`), list by status with the tab counts and a cursor, show one by
//! number. The caller's scope from the permission decision is applied by the data
//! layer; a requester is found, or created as a contact, from `requester_email`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use http::{HeaderMap, StatusCode};
use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::policy::Scope;
use portico_tenants::tickets::{self, NewTicket, Priority, Source, Ticket};
use portico_tenants::tokens::hash_token;
use serde::Deserialize;

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Input of `POST /api/v1/tickets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTicket {
    subject: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_priority")]
    priority: String,
    #[serde(default)]
    requester_email: Option<String>,
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
    let invalid = |reason: &str| ApiError::Invalid {
        field: "requester_email".to_owned(),
        reason: reason.to_owned(),
    };
    let own = match caller.grant.user_id {
        Some(id) => Some(people::get_user(&caller.db, id, Scope::All).await?),
        None => None,
    };
    let Some(email) = email else {
        return own.ok_or_else(|| invalid("is required for a service account"));
    };
    let email = EmailAddress::parse(email).map_err(|_| invalid("is not an e-mail address"))?;
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
            found.ok_or_else(|| invalid("is not a person of your organization"))
        }
        Scope::Own(Some(_)) | Scope::Organization(None) | Scope::Own(None) => match own {
            Some(own) if own.email == email.as_str() => Ok(own),
            _ => Err(invalid("must be your own address")),
        },
    }
}

pub(crate) async fn create_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    body: Result<Json<CreateTicket>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let scope = caller.scope(&state, "ticket", "create").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let priority = Priority::parse(&input.priority)?;
    let requester = requester(&caller, scope, input.requester_email.as_deref()).await?;
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::Invalid {
                    field: "Idempotency-Key".to_owned(),
                    reason: "must be 1 to 255 visible characters".to_owned(),
                })
        })
        .transpose()?;
    let request_hash = hash_token(&format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        input.subject, input.description, input.priority, requester.id
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
            requester_id: requester.id,
            organization_id: requester.organization_id,
            source: Source::Api,
            language: requester.locale.clone(),
        },
        idempotency,
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
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// A page of tickets with the counts of the status tabs.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ListAnswer {
    tickets: Vec<Ticket>,
    next_cursor: Option<String>,
    counts: serde_json::Map<String, serde_json::Value>,
}

pub(crate) async fn list_tickets(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ListAnswer>, ApiError> {
    let scope = caller.scope(&state, "ticket", "read").await?;
    let page = tickets::list_tickets(
        &caller.db,
        scope,
        query.status.as_deref(),
        query.after.as_deref(),
        query.limit.unwrap_or(50),
    )
    .await?;
    let mut counts = serde_json::Map::new();
    let mut all = 0;
    for (class, n) in tickets::status_counts(&caller.db, scope).await? {
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

pub(crate) async fn show_ticket(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(number): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    let scope = caller.scope(&state, "ticket", "read").await?;
    let number: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    Ok(Json(tickets::get_ticket(&caller.db, number, scope).await?))
}

/// Input of `POST /api/v1/tickets/{number}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeStatus {
    status: String,
}

pub(crate) async fn change_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(number): Path<String>,
    body: Result<Json<ChangeStatus>, JsonRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let scope = caller.scope(&state, "ticket", "update").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let number: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::NotFound)?;
    Ok(Json(
        tickets::change_status(&caller.db, number, &input.status, &caller.actor(), scope).await?,
    ))
}
