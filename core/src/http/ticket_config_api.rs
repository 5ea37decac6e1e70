//! What an MSP configures about tickets, under `/api/v1`: statuses, queues, custom
//! fields, ticket types and the portal's field visibility. Everyone signed in may
//! read them (the portal needs them to draw its forms; customers see only the fields
//! and statuses meant for them); only MSP admins change them.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use portico_tenants::ticket_config::{
    self, Field, FieldVisibility, NewStatus, Queue, Status, TicketType,
};
use serde::{Deserialize, Serialize};

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::state::AppState;

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|rejection| ApiError::Invalid {
            field: "body".to_owned(),
            reason: rejection.body_text(),
        })
}

pub(crate) async fn list_statuses(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Status>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    let staff = caller.allows(&state, "ticket_note", "read").await?;
    let mut statuses = ticket_config::statuses(&caller.db).await?;
    if !staff {
        statuses.retain(|s| s.visible_to_customers.0);
    }
    Ok(Json(statuses))
}

pub(crate) async fn create_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<NewStatus>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let status =
        ticket_config::create_status(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(status)))
}

/// Input of `PUT /api/v1/ticket-statuses/{key}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusFlags {
    #[serde(default)]
    visible_to_customers: Option<bool>,
    #[serde(default)]
    pauses_sla: Option<bool>,
}

pub(crate) async fn update_status(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Result<Json<StatusFlags>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let flags = json_body(body)?;
    ticket_config::update_status(
        &caller.db,
        &key,
        flags.visible_to_customers,
        flags.pauses_sla,
        &caller.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_queues(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Queue>>, ApiError> {
    caller.scope(&state, "ticket", "update").await?;
    Ok(Json(ticket_config::queues(&caller.db).await?))
}

pub(crate) async fn create_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<Queue>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let queue = ticket_config::create_queue(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(queue)))
}

pub(crate) async fn list_fields(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Field>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    let staff = caller.allows(&state, "ticket_note", "read").await?;
    let mut fields = ticket_config::fields(&caller.db).await?;
    if !staff {
        fields.retain(|f| f.portal != FieldVisibility::Hidden);
    }
    Ok(Json(fields))
}

pub(crate) async fn create_field(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<Field>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let field = ticket_config::create_field(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(field)))
}

/// Input of `PUT /api/v1/ticket-fields/{key}` and `PUT /api/v1/portal-fields/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Visibility {
    portal: FieldVisibility,
}

pub(crate) async fn set_field_visibility(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Result<Json<Visibility>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let input = json_body(body)?;
    ticket_config::set_field_visibility(&caller.db, &key, input.portal, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One standard field as the portal treats it.
#[derive(Debug, Serialize)]
pub(crate) struct PortalField {
    name: String,
    portal: FieldVisibility,
}

pub(crate) async fn list_portal_fields(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<PortalField>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    let fields = ticket_config::read_portal_fields(&caller.db).await?;
    Ok(Json(
        fields
            .standard_fields()
            .into_iter()
            .map(|(name, portal)| PortalField { name, portal })
            .collect(),
    ))
}

pub(crate) async fn set_portal_field(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(name): Path<String>,
    body: Result<Json<Visibility>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let input = json_body(body)?;
    ticket_config::set_standard_visibility(&caller.db, &name, input.portal, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn list_types(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<TicketType>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    Ok(Json(ticket_config::types(&caller.db).await?))
}

pub(crate) async fn create_type(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<TicketType>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let created = ticket_config::create_type(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A priority as people choose it: its name and the guidance on when to pick it, in
/// the reader's language.
#[derive(Debug, Serialize)]
pub(crate) struct PriorityChoice {
    key: &'static str,
    label: String,
    guidance: String,
}

/// `GET /api/v1/ticket-priorities`: the four priorities with their guidance (the
/// Italian manual's), in the caller's language (`?lang=` or their own).
pub(crate) async fn list_priorities(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(query): axum::extract::Query<LanguageQuery>,
) -> Result<Json<Vec<PriorityChoice>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    let tag = match query.lang {
        Some(lang) => lang,
        None => match caller.grant.user_id {
            Some(id) => {
                portico_tenants::people::get_user(
                    &caller.db,
                    id,
                    portico_tenants::policy::Scope::All,
                )
                .await?
                .locale
            }
            None => "en".to_owned(),
        },
    };
    let locale = crate::i18n::Locale::from_tag(&tag).unwrap_or_default();
    Ok(Json(
        portico_tenants::tickets::Priority::ALL
            .iter()
            .map(|priority| PriorityChoice {
                key: priority.as_str(),
                label: locale.text(&format!("priority-{}", priority.as_str())),
                guidance: locale.text(&format!("priority-{}-help", priority.as_str())),
            })
            .collect(),
    ))
}

/// `?lang=` of a translated list.
#[derive(Debug, Deserialize)]
pub(crate) struct LanguageQuery {
    #[serde(default)]
    lang: Option<String>,
}
