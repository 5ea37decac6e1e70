//! The tenant's REST API under `/api/v1`, authenticated by API tokens (service
//! accounts with a role in one tenant). The foundation serves the tenant's own
//! description and its people; later issues add tickets, articles and devices.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser, User};
use portico_tenants::tokens::{self, ApiTokenGrant};
use portico_tenants::{Role, TenantDb};
use serde::Deserialize;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::permissions;
use crate::state::AppState;
use portico_tenants::policy::Scope;

/// The API routes of a tenant host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenant", get(tenant_info))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(show_user))
}

/// An authenticated API caller in the tenant the request was routed to.
#[derive(Debug)]
pub struct ApiCaller {
    /// What the token grants.
    pub grant: ApiTokenGrant,
    /// The tenant's schema.
    pub db: TenantDb,
    /// The tenant as routed.
    pub route: std::sync::Arc<portico_tenants::routing::TenantRoute>,
}

impl ApiCaller {
    /// Asks Casbin for the caller's scope on `action` over `object`; denied is 403.
    async fn scope(
        &self,
        state: &AppState,
        object: &'static str,
        action: &'static str,
    ) -> Result<Scope, ApiError> {
        let subject = format!("token:{}", self.grant.token_id);
        let kind = state
            .permissions
            .decide(
                &state.store,
                &self.route,
                &self.db,
                &subject,
                object,
                action,
            )
            .await?
            .ok_or(ApiError::Forbidden)?;
        // A token is a service account: it has no person and no organization of its own.
        Ok(permissions::scope_for(kind, None, None))
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentTenant(tenant) = CurrentTenant::from_request_parts(parts, state).await?;
        let secret = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let grant = tokens::authenticate_api_token(&state.store, secret.trim())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        // A token of another tenant is treated exactly like an unknown one.
        if grant.tenant_id != tenant.id {
            return Err(ApiError::Unauthorized);
        }
        let db = tenant.db(&state.store)?;
        Ok(ApiCaller {
            grant,
            db,
            route: tenant,
        })
    }
}

async fn tenant_info(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    caller: ApiCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.scope(&state, "tenant", "read").await?;
    Ok(Json(serde_json::json!({
        "slug": &*tenant.slug,
        "name": &*tenant.name,
        "caller": { "token": caller.grant.name, "role": caller.grant.role },
    })))
}

async fn list_users(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<User>>, ApiError> {
    let scope = caller.scope(&state, "user", "read").await?;
    Ok(Json(people::list_users(&caller.db, scope).await?))
}

async fn show_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let scope = caller.scope(&state, "user", "read").await?;
    // A malformed id is simply not found: the same answer as another tenant's id.
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(Json(people::get_user(&caller.db, id, scope).await?))
}

/// Input of `POST /api/v1/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    #[serde(default)]
    display_name: String,
    role: String,
    #[serde(default = "default_true")]
    invite: bool,
}

fn default_true() -> bool {
    true
}

async fn create_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<CreateUser>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "user", "create").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let new = NewUser {
        email: EmailAddress::parse(&input.email)?,
        display_name: input.display_name,
        role: Role::parse(&input.role)?,
        invite: input.invite,
    };
    let user = people::create_user(&caller.db, new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}
