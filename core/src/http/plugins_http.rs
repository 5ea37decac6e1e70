//! `/plugins/<id>/…` on a tenant's host: requests answered by the tenant's
//! installed `http` plugin. The plugin never sees the caller's credentials (cookies
//! and `Authorization` are kept back); its answers are served only as plain text
//! or JSON, with a sandboxing CSP, so a plugin can never run script on the
//! tenant's origin.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{HeaderValue, StatusCode, header};
use portico_plugins::bindings::http::exports::portico::plugin::http_handler;
use portico_plugins::{PluginError, World};

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The largest request body passed to a plugin.
const MAX_BODY: usize = 1 << 20;
/// Request headers a plugin never sees.
const WITHHELD: [&str; 4] = [
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-csrf-token",
];

/// The plugin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plugins/{id}", any(root))
        .route("/plugins/{id}/{*rest}", any(nested))
}

async fn root(
    state: State<AppState>,
    tenant: CurrentTenant,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    serve(state, tenant, id, String::new(), request).await
}

async fn nested(
    state: State<AppState>,
    tenant: CurrentTenant,
    Path((id, rest)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    serve(state, tenant, id, rest, request).await
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

async fn serve(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    id: String,
    rest: String,
    request: Request,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let install = match portico_tenants::plugins::install_of_plugin(&db, &id).await {
        Ok(install) if install.enabled => install,
        Ok(_) | Err(portico_tenants::StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let loaded = match state.plugins.load(&id, &install.version).await {
        Ok(loaded) if loaded.manifest.world == World::Http => loaded,
        Ok(_) => return Err(ApiError::NotFound),
        Err(e) => {
            tracing::warn!(tenant = db.slug(), plugin = %id, error = %e, "plugin not loaded");
            return Ok(error(
                StatusCode::BAD_GATEWAY,
                "plugin_unavailable",
                "the plugin cannot be loaded",
            ));
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return Ok(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "plugins take at most 1 MiB",
        ));
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !WITHHELD.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            Some(http_handler::Header {
                name: name.as_str().to_owned(),
                value: value.to_str().ok()?.to_owned(),
            })
        })
        .collect();
    let request = http_handler::Request {
        method: parts.method.as_str().to_owned(),
        path: format!("/{rest}"),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: body.to_vec(),
    };
    let invocation = state.plugins.invocation(&db, loaded, &install);
    let Ok(host) = state.plugins.host().await else {
        return Ok(error(
            StatusCode::BAD_GATEWAY,
            "plugin_unavailable",
            "the plugin host is not running",
        ));
    };
    let answer = match host.handle_http(&invocation, &request).await {
        Ok(outcome) => outcome.value,
        Err(e) => {
            let (status, code) = match e {
                PluginError::Busy | PluginError::CircuitOpen | PluginError::BudgetExhausted => {
                    (StatusCode::SERVICE_UNAVAILABLE, "plugin_unavailable")
                }
                PluginError::Timeout | PluginError::CpuLimit => {
                    (StatusCode::GATEWAY_TIMEOUT, "plugin_timeout")
                }
                _ => (StatusCode::BAD_GATEWAY, "plugin_failed"),
            };
            return Ok(error(status, code, &e.to_string()));
        }
    };
    let content_type = answer.content_type.to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !matches!(essence, "text/plain" | "application/json") {
        return Ok(error(
            StatusCode::BAD_GATEWAY,
            "plugin_answer_refused",
            "plugins may answer only text/plain or application/json",
        ));
    }
    let Ok(status) = StatusCode::from_u16(answer.status) else {
        return Ok(error(
            StatusCode::BAD_GATEWAY,
            "plugin_answer_refused",
            "invalid status",
        ));
    };
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
