//! Plugins under `/api/v1/plugins`, for MSP admins: the platform's catalogue (each
//! version's capabilities with their reasons and its configuration schema, from
//! which a configuration form is generated) beside the tenant's installs; install
//! or upgrade with a grant and a configuration, enable per organization, disable,
//! configure, roll back, uninstall. Every change is audited in the tenant's chain.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use http::StatusCode;
use portico_tenants::plugins::Install;
use serde::{Deserialize, Serialize};

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::plugins::PluginsError;
use crate::state::AppState;

/// A capability a version asks for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct AskedCapability {
    /// Its name (read-tickets, update-tickets, create-tickets, read-kb, kv, http, llm, device-actions, send-email).
    pub(crate) name: String,
    /// Why, in the publisher's words.
    pub(crate) reason: String,
    /// For `http`: the hosts it reaches.
    pub(crate) hosts: Vec<String>,
}

/// A published version in the catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct CatalogueEntry {
    pub(crate) plugin_id: String,
    pub(crate) version: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) publisher: String,
    /// ticket-hooks, http, scheduled, ui or device-actions.
    pub(crate) world: String,
    pub(crate) capabilities: Vec<AskedCapability>,
    /// JSON Schema of the configuration.
    #[schema(value_type = Object)]
    pub(crate) config_schema: Option<serde_json::Value>,
    pub(crate) published_at: i64,
}

/// The catalogue and this tenant's installs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PluginOverview {
    catalogue: Vec<CatalogueEntry>,
    installed: Vec<Install>,
}

/// What the administrator grants.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantInput {
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

/// Input of `PUT /api/v1/plugins/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstallInput {
    /// A published version (default: the newest).
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    grant: GrantInput,
    /// The configuration (default: the current one, or `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Value>,
}

/// Input of `PATCH /api/v1/plugins/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeInput {
    #[serde(default)]
    enabled: Option<bool>,
    /// Organizations it runs for; `null`: all. Only with `enabled`.
    #[serde(default, with = "crate::http::tickets_api::serde_with_null")]
    #[schema(value_type = Option<Vec<i64>>)]
    organizations: Option<Option<Vec<i64>>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Value>,
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(input)| input)
        .map_err(|rejection| ApiError::Invalid {
            field: "body".to_owned(),
            reason: rejection.body_text(),
        })
}

/// The platform's catalogue: every published version with what it asks for.
pub(crate) async fn catalogue(state: &AppState) -> Result<Vec<CatalogueEntry>, ApiError> {
    let mut catalogue = Vec::new();
    for package in portico_tenants::plugins::packages(&state.store).await? {
        let Ok(manifest) = portico_plugins::Manifest::parse(&package.manifest) else {
            continue;
        };
        catalogue.push(CatalogueEntry {
            capabilities: manifest
                .capabilities
                .iter()
                .map(|c| AskedCapability {
                    name: c.name.as_str().to_owned(),
                    reason: c.reason.clone(),
                    hosts: c.hosts.clone(),
                })
                .collect(),
            description: manifest.description.clone(),
            config_schema: manifest.config_schema.clone(),
            plugin_id: package.plugin_id,
            version: package.version,
            name: package.name,
            publisher: package.publisher,
            world: package.world,
            published_at: package.published_at,
        });
    }
    Ok(catalogue)
}

/// Installs (or upgrades) a plugin with the capabilities and hosts granted, as
/// the API and the admin page both do.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn install_granted(
    state: &AppState,
    db: &portico_tenants::TenantDb,
    id: &str,
    version: Option<&str>,
    capabilities: &[String],
    hosts: &[String],
    config: Option<serde_json::Value>,
    actor: &str,
) -> Result<Install, ApiError> {
    let capabilities = capabilities
        .iter()
        .map(|c| c.parse::<portico_plugins::Capability>())
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Invalid {
            field: "grant.capabilities".to_owned(),
            reason: e.to_string(),
        })?;
    let grant = portico_plugins::Grant {
        capabilities,
        hosts: hosts
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
    };
    state
        .plugins
        .install(db, id, version, grant, config, actor)
        .await
        .map_err(api_error)
}

pub(crate) fn api_error(error: PluginsError) -> ApiError {
    match error {
        PluginsError::Store(e) => e.into(),
        PluginsError::Plugin(e) => ApiError::Refused {
            code: "plugin_refused",
            reason: e.to_string(),
        },
        other => ApiError::Invalid {
            field: "plugin".to_owned(),
            reason: other.to_string(),
        },
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/plugins",
    tag = "plugins",
    summary = "The plugin catalogue and this tenant's installs",
    responses((status = 200, description = "Catalogue and installs", body = PluginOverview), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_plugins(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<PluginOverview>, ApiError> {
    caller.scope(&state, "plugin", "read").await?;
    let catalogue = catalogue(&state).await?;
    let installed = portico_tenants::plugins::installs(&caller.db).await?;
    Ok(Json(PluginOverview {
        catalogue,
        installed,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/plugins/{id}",
    tag = "plugins",
    summary = "Install a plugin, or upgrade it (compiled, checked and warmed before the switch)",
    params(("id" = String, Path, description = "The plugin's id")),
    request_body = InstallInput,
    responses((status = 200, description = "Installed", body = Install), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn install_plugin(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    input: Result<Json<InstallInput>, JsonRejection>,
) -> Result<Json<Install>, ApiError> {
    caller.scope(&state, "plugin", "install").await?;
    let input = body(input)?;
    let install = install_granted(
        &state,
        &caller.db,
        &id,
        input.version.as_deref(),
        &input.grant.capabilities,
        &input.grant.hosts,
        input.config,
        &caller.actor(),
    )
    .await?;
    Ok(Json(install))
}

#[utoipa::path(
    patch,
    path = "/api/v1/plugins/{id}",
    tag = "plugins",
    summary = "Enable (per organization), disable or configure an installed plugin",
    params(("id" = String, Path, description = "The plugin's id")),
    request_body = ChangeInput,
    responses((status = 200, description = "Changed", body = Install), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn change_plugin(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    input: Result<Json<ChangeInput>, JsonRejection>,
) -> Result<Json<Install>, ApiError> {
    caller.scope(&state, "plugin", "update").await?;
    let input = body(input)?;
    let actor = caller.actor();
    let mut install = portico_tenants::plugins::install_of_plugin(&caller.db, &id).await?;
    if let Some(config) = input.config {
        install = state
            .plugins
            .configure(&caller.db, &id, config, &actor)
            .await
            .map_err(api_error)?;
    }
    match input.enabled {
        Some(true) => {
            let organizations = input.organizations.unwrap_or(install.organizations.clone());
            install = state
                .plugins
                .enable(&caller.db, &id, organizations, &actor)
                .await
                .map_err(api_error)?;
        }
        Some(false) => {
            install = portico_tenants::plugins::set_enabled(
                &caller.db,
                &id,
                false,
                input.organizations,
                &actor,
            )
            .await?;
        }
        None if input.organizations.is_some() => {
            return Err(ApiError::Invalid {
                field: "organizations".to_owned(),
                reason: "give it with enabled".to_owned(),
            });
        }
        None => {}
    }
    Ok(Json(install))
}

#[utoipa::path(
    post,
    path = "/api/v1/plugins/{id}/rollback",
    tag = "plugins",
    summary = "Go back to the version used before the last upgrade",
    params(("id" = String, Path, description = "The plugin's id")),
    responses((status = 200, description = "Rolled back", body = Install), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
pub(crate) async fn rollback_plugin(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Install>, ApiError> {
    caller.scope(&state, "plugin", "update").await?;
    let install = state
        .plugins
        .rollback(&caller.db, &id, &caller.actor())
        .await
        .map_err(api_error)?;
    Ok(Json(install))
}

#[utoipa::path(
    delete,
    path = "/api/v1/plugins/{id}",
    tag = "plugins",
    summary = "Uninstall a plugin with its key-value store and secrets",
    params(("id" = String, Path, description = "The plugin's id")),
    responses((status = 204, description = "Uninstalled"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn uninstall_plugin(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "plugin", "delete").await?;
    portico_tenants::plugins::uninstall(&caller.db, &id, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
