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
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Serialize)]
pub(crate) struct WithSecret {
    #[serde(flatten)]
    endpoint: Endpoint,
    /// `whsec_…`: receivers verify signatures with it.
    secret: String,
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

pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Endpoint>>, ApiError> {
    caller.scope(&state, "webhook", "read").await?;
    Ok(Json(webhooks::list_endpoints(&caller.db).await?))
}

pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    input: Result<Json<CreateWebhook>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "webhook", "create").await?;
    let input = body(input)?;
    let url =
        parse_endpoint_url(&input.url, state.settings.outbound_allow_private).map_err(|error| {
            ApiError::Invalid {
                field: "url".to_owned(),
                reason: error.to_string(),
            }
        })?;
    let secret = generate_secret();
    let endpoint = webhooks::create_endpoint(
        &caller.db,
        NewEndpoint {
            url: url.to_string(),
            description: input.description,
            event_types: input.event_types,
        },
        |id| {
            state
                .master_key
                .seal(&secret_context(&caller.db, id), secret.as_bytes())
        },
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(WithSecret { endpoint, secret })))
}

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

pub(crate) async fn remove_webhook(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "webhook", "delete").await?;
    webhooks::delete_endpoint(&caller.db, parse_id(&id)?, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

pub(crate) async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<WithSecret>, ApiError> {
    caller.scope(&state, "webhook", "update").await?;
    let id = parse_id(&id)?;
    let secret = generate_secret();
    let sealed = state
        .master_key
        .seal(&secret_context(&caller.db, id), secret.as_bytes());
    let endpoint = webhooks::replace_secret(&caller.db, id, &sealed, &caller.actor()).await?;
    Ok(Json(WithSecret { endpoint, secret }))
}

/// Query of `GET /api/v1/webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize)]
pub(crate) struct DeliveriesQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

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
