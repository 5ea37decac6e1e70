//! What an MSP configures about tickets, under `/api/v1`: statuses, queues, custom
//! fields, ticket types, the portal's field visibility, the workflow (who may move
//! a ticket where) and each queue's technicians. Everyone signed in may
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
use portico_tenants::workflow::{self, RoleWorkflow, Transition};
use serde::{Deserialize, Serialize};

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::http::tickets_api::json_body;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/ticket-statuses",
    tag = "ticket configuration",
    summary = "List ticket statuses",
    responses((status = 200, description = "Statuses", body = Vec<Status>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/ticket-statuses",
    tag = "ticket configuration",
    summary = "Add a ticket status",
    request_body = NewStatus,
    responses((status = 201, description = "Added", body = Status), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusFlags {
    #[serde(default)]
    visible_to_customers: Option<bool>,
    #[serde(default)]
    pauses_sla: Option<bool>,
}

#[utoipa::path(
    put,
    path = "/api/v1/ticket-statuses/{key}",
    tag = "ticket configuration",
    summary = "Change a status's flags",
    params(("key" = String, Path, description = "The status key")),
    request_body = StatusFlags,
    responses((status = 204, description = "Changed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/ticket-queues",
    tag = "ticket configuration",
    summary = "List queues",
    responses((status = 200, description = "Queues", body = Vec<Queue>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_queues(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Queue>>, ApiError> {
    caller.scope(&state, "ticket", "update").await?;
    Ok(Json(ticket_config::queues(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/ticket-queues",
    tag = "ticket configuration",
    summary = "Add a queue",
    request_body = Queue,
    responses((status = 201, description = "Added", body = Queue), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<Queue>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let queue = ticket_config::create_queue(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(queue)))
}

#[utoipa::path(
    get,
    path = "/api/v1/ticket-fields",
    tag = "ticket configuration",
    summary = "List custom ticket fields",
    responses((status = 200, description = "Fields", body = Vec<Field>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/ticket-fields",
    tag = "ticket configuration",
    summary = "Add a custom ticket field",
    request_body = Field,
    responses((status = 201, description = "Added", body = Field), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Visibility {
    portal: FieldVisibility,
}

#[utoipa::path(
    put,
    path = "/api/v1/ticket-fields/{key}",
    tag = "ticket configuration",
    summary = "Set how the portal shows a custom field",
    params(("key" = String, Path, description = "The field key")),
    request_body = Visibility,
    responses((status = 204, description = "Changed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PortalField {
    name: String,
    portal: FieldVisibility,
}

#[utoipa::path(
    get,
    path = "/api/v1/portal-fields",
    tag = "ticket configuration",
    summary = "How the portal shows the standard fields",
    responses((status = 200, description = "Standard fields", body = Vec<PortalField>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
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

#[utoipa::path(
    put,
    path = "/api/v1/portal-fields/{name}",
    tag = "ticket configuration",
    summary = "Set how the portal shows a standard field",
    params(("name" = String, Path, description = "The standard field, e.g. `priority`")),
    request_body = Visibility,
    responses((status = 204, description = "Changed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/ticket-types",
    tag = "ticket configuration",
    summary = "List ticket types",
    responses((status = 200, description = "Types", body = Vec<TicketType>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_types(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<TicketType>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    Ok(Json(ticket_config::types(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/ticket-types",
    tag = "ticket configuration",
    summary = "Add a ticket type",
    request_body = TicketType,
    responses((status = 201, description = "Added", body = TicketType), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PriorityChoice {
    key: &'static str,
    label: String,
    guidance: String,
}

/// `GET /api/v1/ticket-priorities`: the four priorities with their guidance (the
/// Italian manual's), in the caller's language (`?lang=` or their own).
#[utoipa::path(
    get,
    path = "/api/v1/ticket-priorities",
    tag = "ticket configuration",
    summary = "The priorities with the guidance on when to choose each, translated",
    params(LanguageQuery),
    responses((status = 200, description = "Priorities, most urgent first", body = Vec<PriorityChoice>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LanguageQuery {
    #[serde(default)]
    lang: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/ticket-workflow",
    tag = "ticket configuration",
    summary = "Who may move a ticket where, per role",
    responses((status = 200, description = "The workflow of technicians, main contacts and contacts", body = Vec<RoleWorkflow>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_workflows(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<RoleWorkflow>>, ApiError> {
    caller.scope(&state, "ticket_config", "read").await?;
    Ok(Json(workflow::workflows(&caller.db).await?))
}

/// Input of `PUT /api/v1/ticket-workflow/{role}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowRules {
    /// The allowed moves; an empty list lets the role move no ticket.
    rules: Vec<Transition>,
}

#[utoipa::path(
    put,
    path = "/api/v1/ticket-workflow/{role}",
    tag = "ticket configuration",
    summary = "Set a role's allowed moves",
    params(("role" = String, Path, description = "technician, main_contact or contact")),
    request_body = WorkflowRules,
    responses((status = 200, description = "The role's workflow", body = RoleWorkflow), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn set_workflow(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(role): Path<String>,
    body: Result<Json<WorkflowRules>, JsonRejection>,
) -> Result<Json<RoleWorkflow>, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let input = json_body(body)?;
    Ok(Json(
        workflow::set_workflow(&caller.db, &role, &input.rules, &caller.actor()).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/ticket-workflow/{role}",
    tag = "ticket configuration",
    summary = "Return a role to the built-in moves",
    params(("role" = String, Path, description = "technician, main_contact or contact")),
    responses((status = 204, description = "Reset"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn reset_workflow(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(role): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    workflow::reset_workflow(&caller.db, &role, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A queue's technicians (ids of technicians and MSP admins).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueMembers {
    members: Vec<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/ticket-queues/{key}/members",
    tag = "ticket configuration",
    summary = "A queue's technicians",
    params(("key" = String, Path, description = "The queue key")),
    responses((status = 200, description = "Members", body = QueueMembers), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn list_queue_members(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
) -> Result<Json<QueueMembers>, ApiError> {
    caller.scope(&state, "ticket", "update").await?;
    Ok(Json(QueueMembers {
        members: workflow::queue_members(&caller.db, &key).await?,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/ticket-queues/{key}/members",
    tag = "ticket configuration",
    summary = "Set a queue's technicians (an escalation to its level notifies them)",
    params(("key" = String, Path, description = "The queue key")),
    request_body = QueueMembers,
    responses((status = 200, description = "Members", body = QueueMembers), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
pub(crate) async fn set_queue_members(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Result<Json<QueueMembers>, JsonRejection>,
) -> Result<Json<QueueMembers>, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let input = json_body(body)?;
    Ok(Json(QueueMembers {
        members: workflow::set_queue_members(&caller.db, &key, &input.members, &caller.actor())
            .await?,
    }))
}
