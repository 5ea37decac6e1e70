//! Probes for load balancers, answered on any host name including a bare IP:
//! `/healthz` (the process is alive) and `/readyz` (database reachable, schemas at
//! this binary's version, Redis reachable when configured).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use portico_tenants::migrate::{self, Level, error_chain};

use crate::state::AppState;

/// Alive: answers without touching anything else.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: every dependency answers and every schema is current.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let timeout = Duration::from_secs(2);
    let store = &state.store;
    let database = tokio::time::timeout(timeout, async {
        store.ping().await?;
        let platform = migrate::platform_version(store).await?;
        let behind = migrate::tenants_behind(store).await?;
        Ok::<_, portico_tenants::StoreError>((platform, behind))
    })
    .await;
    let mut ready = true;
    let mut checks = serde_json::Map::new();
    match database {
        Ok(Ok((platform, behind))) => {
            let latest = migrate::latest_version(store.backend(), Level::Platform);
            checks.insert("database".into(), "ok".into());
            // The platform schema must be current to serve at all. Tenants left behind
            // by a failed migration get a maintenance page of their own; they must not
            // take every instance out of the load balancer's rotation.
            let current = platform == latest;
            ready &= current;
            checks.insert(
                "platform_schema".into(),
                if current { "ok" } else { "behind" }.into(),
            );
            checks.insert("tenant_schemas_behind".into(), behind.into());
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %error_chain(&error), "readiness: database check failed");
            ready = false;
            checks.insert("database".into(), "failed".into());
        }
        Err(_) => {
            ready = false;
            checks.insert("database".into(), "timeout".into());
        }
    }
    if let Some(redis) = &state.redis {
        let mut connection = redis.clone();
        let ping = tokio::time::timeout(timeout, async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await;
        let ok = matches!(ping, Ok(Ok(_)));
        ready &= ok;
        checks.insert("redis".into(), if ok { "ok" } else { "failed" }.into());
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    (status, Json(body)).into_response()
}
