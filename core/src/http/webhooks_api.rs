//! Webhooks under `/api/v1/webhooks`, for MSP admins: subscribe a URL to event
//! types (the signing secret is shown once, at creation and at rotation), list,
//! show, enable, disable, remove; an endpoint's delivery log with every attempt;
//! send a delivery again.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use http::StatusCode;
use portico_tenants::webhooks::{self, Delivery, DeliveryPage, Endpoint, NewEndpoint};
use serde::{Deserialize, Serialize};

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::state::AppState;
use crate::webhooks::{generate_secret, parse_endpoint_url, secret_context};

/// Input of `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhook {
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default = "every_event")]
    event_types: Vec<String>,
}

fn every_event() -> Vec<String> {
    vec![webhooks::ALL_EVENTS.to_owned()]
}

/// An endpoint with its signing secret: the one answer that shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WithSecret {
    #[serde(flatten)]
    pub(crate) endpoint: Endpoint,
    /// `whsec_…`: receivers verify signatures with it.
    pub(crate) secret: String,
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(input)| input)
        .map_err(|rejection| ApiError::Invalid {
            field: "body".to_owned(),
            reason: rejection.body_text(),
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "List webhook endpoints",
    responses((status = 200, description = "Endpoints", body = Vec<Endpoint>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Endpoint>>, ApiError> {
    caller.scope(&state, "webhook", "read").await?;
    Ok(Json(webhooks::list_endpoints(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    summary = "Add a webhook endpoint (the answer shows its secret once)",
    request_body = CreateWebhook,
    responses((status = 201, description = "Added", body = WithSecret), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    input: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "webhook", "create").await?;
    let input = body(input)?;
    let created = new_endpoint(
        &state,
        &caller.db,
        &input.url,
        input.description,
        input.event_types,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates an endpoint with a fresh signing secret (sealed with the master key;
/// returned once), its URL checked against private addresses unless allowed.
pub(crate) async fn new_endpoint(
    state: &AppState,
    db: &portico_tenants::TenantDb,
    url: &str,
    description: String,
    event_types: Vec<String>,
    actor: &str,
) -> Result<WithSecret, ApiError> {
    let url = parse_endpoint_url(url, state.settings.outbound_allow_private).map_err(|error| {
        ApiError::Invalid {
            field: "url".to_owned(),
            reason: error.to_string(),
        }
    })?;
    let secret = generate_secret();
    let endpoint = webhooks::create_endpoint(
        db,
        NewEndpoint {
            url: url.to_string(),
            description,
            event_types,
        },
        |id| {
            state
                .master_key
                .seal(&secret_context(db, id), secret.as_bytes())
        },
        actor,
    )
    .await?;
    Ok(WithSecret { endpoint, secret })
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "One webhook endpoint",
    params(("id" = i64, Path, description = "The webhook endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Endpoint), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn show_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, ApiError> {
    caller.scope(&state, "webhook", "read").await?;
    Ok(Json(
        webhooks::get_endpoint(&caller.db, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    summary = "Remove a webhook endpoint",
    params(("id" = i64, Path, description = "The webhook endpoint's id")),
    responses((status = 204, description = "Removed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn remove_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "webhook", "delete").await?;
    webhooks::delete_endpoint(&caller.db, parse_id(&id)?, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/enable",
    tag = "webhooks",
    summary = "Enable deliveries",
    params(("id" = i64, Path, description = "The webhook endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Endpoint), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn enable_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, ApiError> {
    caller.scope(&state, "webhook", "update").await?;
    Ok(Json(
        webhooks::set_enabled(&caller.db, parse_id(&id)?, None, &caller.actor()).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/disable",
    tag = "webhooks",
    summary = "Disable deliveries",
    params(("id" = i64, Path, description = "The webhook endpoint's id")),
    responses((status = 200, description = "The endpoint", body = Endpoint), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn disable_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, ApiError> {
    caller.scope(&state, "webhook", "update").await?;
    Ok(Json(
        webhooks::set_enabled(&caller.db, parse_id(&id)?, Some("admin"), &caller.actor()).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    summary = "Replace the signing secret (shown once)",
    params(("id" = i64, Path, description = "The webhook endpoint's id")),
    responses((status = 200, description = "The endpoint with its new secret", body = WithSecret), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<WithSecret>, ApiError> {
    caller.scope(&state, "webhook", "update").await?;
    let id = parse_id(&id)?;
    Ok(Json(
        rotate_secret(&state, &caller.db, id, &caller.actor()).await?,
    ))
}

/// Gives an endpoint a fresh signing secret (sealed; returned once), audited.
pub(crate) async fn rotate_secret(
    state: &AppState,
    db: &portico_tenants::TenantDb,
    id: i64,
    actor: &str,
) -> Result<WithSecret, ApiError> {
    let secret = generate_secret();
    let sealed = state
        .master_key
        .seal(&secret_context(db, id), secret.as_bytes());
    let endpoint = webhooks::replace_secret(db, id, &sealed, actor).await?;
    Ok(WithSecret { endpoint, secret })
}

/// Query of `GET /api/v1/webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveriesQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "The delivery log, newest first",
    params(("id" = i64, Path, description = "The webhook endpoint's id"), DeliveriesQuery),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn list_webhook_deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    caller.scope(&state, "webhook", "read").await?;
    Ok(Json(
        webhooks::list_deliveries(
            &caller.db,
            parse_id(&id)?,
            query.after.as_deref(),
            query.limit.unwrap_or(50),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery}/retry",
    tag = "webhooks",
    summary = "Deliver again",
    params(("id" = i64, Path, description = "The webhook endpoint's id"), ("delivery" = i64, Path, description = "The delivery's id")),
    responses((status = 202, description = "Queued again", body = Delivery), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn retry_webhook_delivery(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    caller.scope(&state, "webhook", "update").await?;
    let delivery = webhooks::redeliver(
        &caller.db,
        parse_id(&id)?,
        parse_id(&delivery)?,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
