//! The MSP admin's view of custom domains under `/api/v1/domains`: add a host name,
//! see the exact DNS records to create, the last check's findings in words, the
//! state (pending, verified, in its grace period, disabled), the certificate's
//! issuer and expiry and the last ordering error; check again now; remove.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use portico_tenants::domains::{self, DomainRecord};
use portico_tenants::registry;
use portico_tenants::{TenantDb, TenantId};
use serde::{Deserialize, Serialize};

use crate::domains::dns::challenge_name;
use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// A DNS record the MSP must create.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExpectedRecord {
    /// `CNAME` or `TXT`.
    pub r#type: &'static str,
    /// The record's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A domain as the admin view shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomainView {
    /// The stored facts.
    #[serde(flatten)]
    pub domain: DomainRecord,
    /// `pending`, `verified`, `grace` or `disabled`.
    pub status: &'static str,
    /// The records to create.
    pub records: Vec<ExpectedRecord>,
}

pub(crate) fn view(state: &AppState, domain: DomainRecord) -> DomainView {
    let status = match (domain.state, domain.grace_until) {
        (registry::DomainState::Verified, Some(_)) => "grace",
        (registry::DomainState::Verified, None) => "verified",
        (registry::DomainState::Disabled, _) => "disabled",
        (registry::DomainState::Pending, _) => "pending",
    };
    let records = vec![
        ExpectedRecord {
            r#type: "CNAME",
            name: domain.host.clone(),
            value: state.domains.edge_host().to_owned(),
        },
        ExpectedRecord {
            r#type: "TXT",
            name: challenge_name(&domain.host),
            value: domain.verification_token.clone(),
        },
    ];
    DomainView {
        domain,
        status,
        records,
    }
}

/// This tenant's domain `host`, or 404 (another tenant's looks the same as none).
async fn own_domain(
    state: &AppState,
    tenant: TenantId,
    host: &str,
) -> Result<DomainRecord, ApiError> {
    match domains::get(&state.store, &host.to_ascii_lowercase()).await? {
        Some(domain) if domain.tenant_id == tenant => Ok(domain),
        _ => Err(ApiError::NotFound),
    }
}

/// The tenant's domains as the admin sees them.
pub(crate) async fn tenant_domains(
    state: &AppState,
    tenant: TenantId,
) -> Result<Vec<DomainView>, ApiError> {
    let found = domains::list_for_tenant(&state.store, tenant).await?;
    Ok(found
        .into_iter()
        .map(|domain| view(state, domain))
        .collect())
}

/// Adds a host name (checked against the base domain), audited as `actor`, and
/// wakes the checker.
pub(crate) async fn add_host(
    state: &AppState,
    db: &TenantDb,
    tenant: TenantId,
    raw: &str,
    actor: &str,
) -> Result<DomainView, ApiError> {
    let host = registry::parse_host(raw, &state.settings.base_domain)?;
    registry::add_domain(&state.store, db, &host, &state.settings.base_domain).await?;
    portico_tenants::audit::append(
        db,
        portico_tenants::audit::AuditEntry {
            actor: actor.to_owned(),
            action: "domain.added",
            target: format!("domain:{host}"),
            details: serde_json::json!({}),
        },
    )
    .await?;
    state.domains.wake();
    let domain = own_domain(state, tenant, &host).await?;
    Ok(view(state, domain))
}

/// Checks a host name's records now.
pub(crate) async fn check_host(
    state: &AppState,
    tenant: TenantId,
    host: &str,
) -> Result<DomainView, ApiError> {
    let domain = own_domain(state, tenant, host).await?;
    state.domains.check(&domain.host).await?;
    state.domains.wake();
    let domain = own_domain(state, tenant, host).await?;
    Ok(view(state, domain))
}

/// Removes a host name, audited as `actor`.
pub(crate) async fn remove_host(
    state: &AppState,
    db: &TenantDb,
    tenant: TenantId,
    host: &str,
    actor: &str,
) -> Result<(), ApiError> {
    let domain = own_domain(state, tenant, host).await?;
    if !domains::remove(&state.store, tenant, &domain.host).await? {
        return Err(ApiError::NotFound);
    }
    portico_tenants::audit::append(
        db,
        portico_tenants::audit::AuditEntry {
            actor: actor.to_owned(),
            action: "domain.removed",
            target: format!("domain:{}", domain.host),
            details: serde_json::json!({}),
        },
    )
    .await?;
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/v1/domains",
    tag = "domains",
    summary = "List the tenant's custom host names",
    responses((status = 200, description = "Domains", body = Vec<DomainView>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_domains(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<DomainView>>, ApiError> {
    caller.scope(&state, "domain", "read").await?;
    Ok(Json(tenant_domains(&state, caller.route.id).await?))
}

/// Input of `POST /api/v1/domains`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddDomain {
    host: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/domains",
    tag = "domains",
    summary = "Add a custom host name",
    request_body = AddDomain,
    responses((status = 201, description = "Added; create the records shown", body = DomainView), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn add_domain(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<AddDomain>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "domain", "create").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let added = add_host(
        &state,
        &caller.db,
        caller.route.id,
        &input.host,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(
    get,
    path = "/api/v1/domains/{host}",
    tag = "domains",
    summary = "One custom host name",
    params(("host" = String, Path, description = "The host name")),
    responses((status = 200, description = "The domain", body = DomainView), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn show_domain(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(host): Path<String>,
) -> Result<Json<DomainView>, ApiError> {
    caller.scope(&state, "domain", "read").await?;
    let domain = own_domain(&state, caller.route.id, &host).await?;
    Ok(Json(view(&state, domain)))
}

#[utoipa::path(
    post,
    path = "/api/v1/domains/{host}/check",
    tag = "domains",
    summary = "Check the DNS records now",
    params(("host" = String, Path, description = "The host name")),
    responses((status = 200, description = "The domain after the check", body = DomainView), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn check_domain(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(host): Path<String>,
) -> Result<Json<DomainView>, ApiError> {
    caller.scope(&state, "domain", "create").await?;
    Ok(Json(check_host(&state, caller.route.id, &host).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/domains/{host}",
    tag = "domains",
    summary = "Remove a custom host name",
    params(("host" = String, Path, description = "The host name")),
    responses((status = 204, description = "Removed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn remove_domain(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(host): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "domain", "delete").await?;
    remove_host(&state, &caller.db, caller.route.id, &host, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
