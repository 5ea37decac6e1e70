//! The tenant's REST API under `/api/v1`, authenticated by API tokens (service
//! accounts with a role in one tenant). The foundation serves the tenant's own
//! description and its people; later issues add tickets, articles and devices.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::{Json, Router};
use http::StatusCode;
use portico_tenants::accounts::AccountChange;
use portico_tenants::audit::AuditRecord;
use portico_tenants::ids::EmailAddress;
use portico_tenants::organizations::{AccountRequest, Organization};
use portico_tenants::people::{self, NewUser, User};
use portico_tenants::sso::IdentityProvider;
use portico_tenants::tokens::{self, ApiTokenGrant};
use portico_tenants::{Role, TenantDb};
use portico_tenants::{accounts, audit, organizations};
use serde::Deserialize;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::permissions;
use crate::state::AppState;
use portico_tenants::policy::Scope;

/// Declares the API routes once: the router, and the list of (method, path) that
/// the permission-matrix test must cover row by row (it fails on a route missing
/// from its table, so every new route gets its allow/deny and scope rows), and the
/// handlers the OpenAPI document is built from.
macro_rules! api_routes {
    ($($path:literal => [$($method:ident $handler:ident),+ $(,)?];)+) => {
        /// Every API route as (method, path).
        pub const API_ROUTES: &[(&str, &str)] = &[$($((api_routes!(@name $method), $path),)+)+];

        /// The API routes of a tenant host.
        pub fn router() -> Router<AppState> {
            Router::new()$(.route($path, api_routes!(@chain $($method $handler),+)))+
        }

        /// The operations of the OpenAPI document: every handler of the router
        /// (a handler without `#[utoipa::path]` does not compile).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($($handler),+),+))]
        pub struct ApiPaths;
    };
    (@name get) => { "GET" };
    (@name post) => { "POST" };
    (@name put) => { "PUT" };
    (@name delete) => { "DELETE" };
    (@name patch) => { "PATCH" };
    (@chain $method:ident $handler:ident) => { axum::routing::$method($handler) };
    (@chain $method:ident $handler:ident, $($rest_method:ident $rest_handler:ident),+) => {
        axum::routing::$method($handler)$(.$rest_method($rest_handler))+
    };
}

api_routes! {
    "/api/v1/tenant" => [get tenant_info];
    "/api/v1/users" => [get list_users, post create_user];
    "/api/v1/users/import" => [post import_users];
    "/api/v1/users/{id}" => [get show_user];
    "/api/v1/users/{id}/disable" => [post disable_user];
    "/api/v1/users/{id}/reset-second-factor" => [post reset_second_factor];
    "/api/v1/users/{id}/end-sessions" => [post end_sessions];
    "/api/v1/users/{id}/invitation" => [post resend_invitation];
    "/api/v1/users/{id}/remove-phone" => [post remove_phone];
    "/api/v1/users/{id}/sections" => [get user_sections];
    "/api/v1/organizations" => [get list_organizations, post create_organization];
    "/api/v1/identity-providers" => [get list_providers, post add_provider];
    "/api/v1/settings/{key}" => [put put_setting];
    "/api/v1/sections/{section}" => [put put_section];
    "/api/v1/account-requests" => [get list_account_requests, post request_account];
    "/api/v1/account-requests/{id}/approve" => [post approve_account_request];
    "/api/v1/account-requests/{id}/reject" => [post reject_account_request];
    "/api/v1/audit" => [get audit_entries];
    "/api/v1/audit/export" => [get audit_export];
    "/api/v1/domains" => [get list_domains, post add_domain];
    "/api/v1/domains/{host}" => [get show_domain, delete remove_domain];
    "/api/v1/domains/{host}/check" => [post check_domain];
    "/api/v1/tickets" => [get list_tickets, post create_ticket];
    "/api/v1/tickets/{number}" => [get show_ticket, patch update_ticket];
    "/api/v1/tickets/{number}/status" => [post change_status];
    "/api/v1/tickets/{number}/close" => [post close_ticket];
    "/api/v1/tickets/{number}/reopen" => [post reopen_ticket];
    "/api/v1/tickets/{number}/messages" => [get list_messages, post post_message];
    "/api/v1/tickets/{number}/attachments" => [get list_attachments];
    "/api/v1/tickets/{number}/attachments/{id}" => [get download_attachment];
    "/api/v1/tickets/{number}/links" => [get list_links, post add_link];
    "/api/v1/tickets/{number}/merge" => [post merge_ticket];
    "/api/v1/tickets/{number}/watchers" => [get list_watchers];
    "/api/v1/tickets/{number}/time-entries" => [get list_time, post add_time];
    "/api/v1/tickets/{number}/time-entries/{id}" => [put update_time, delete remove_time];
    "/api/v1/tickets/{number}/time-entries/{id}/invoice" => [post invoice_time];
    "/api/v1/ticket-statuses" => [get list_statuses, post create_status];
    "/api/v1/ticket-statuses/{key}" => [put update_status];
    "/api/v1/ticket-queues" => [get list_queues, post create_queue];
    "/api/v1/ticket-queues/{key}/members" => [get list_queue_members, put set_queue_members];
    "/api/v1/ticket-workflow" => [get list_workflows];
    "/api/v1/ticket-workflow/{role}" => [put set_workflow, delete reset_workflow];
    "/api/v1/ticket-fields" => [get list_fields, post create_field];
    "/api/v1/ticket-fields/{key}" => [put set_field_visibility];
    "/api/v1/portal-fields" => [get list_portal_fields];
    "/api/v1/portal-fields/{name}" => [put set_portal_field];
    "/api/v1/ticket-types" => [get list_types, post create_type];
    "/api/v1/ticket-priorities" => [get list_priorities];
    "/api/v1/tickets/{number}/approval" => [get show_approval, post decide];
    "/api/v1/organizations/{id}/approvers" => [get list_approvers, put set_approvers];
    "/api/v1/organizations/{id}/sla-policy" => [put set_organization_policy];
    "/api/v1/sla-calendars" => [get list_calendars, post create_calendar];
    "/api/v1/sla-policies" => [get list_policies, post create_policy];
    "/api/v1/tickets/{number}/rating" => [get show_rating, post rate];
    "/api/v1/reports/service" => [get service_report];
    "/api/v1/webhooks" => [get list_webhooks, post create_webhook];
    "/api/v1/webhooks/{id}" => [get show_webhook, delete remove_webhook];
    "/api/v1/webhooks/{id}/enable" => [post enable_webhook];
    "/api/v1/webhooks/{id}/disable" => [post disable_webhook];
    "/api/v1/webhooks/{id}/rotate-secret" => [post rotate_webhook_secret];
    "/api/v1/webhooks/{id}/deliveries" => [get list_webhook_deliveries];
    "/api/v1/webhooks/{id}/deliveries/{delivery}/retry" => [post retry_webhook_delivery];
    "/api/v1/kb/articles" => [get list_kb_articles, post create_kb_article];
    "/api/v1/kb/articles/{key}" => [get show_kb_article, patch update_kb_article, delete delete_kb_article];
    "/api/v1/kb/articles/{key}/translations/{lang}" => [put save_kb_translation];
    "/api/v1/kb/articles/{key}/translations/{lang}/publish" => [post publish_kb_translation];
    "/api/v1/kb/articles/{key}/translations/{lang}/unpublish" => [post unpublish_kb_translation];
    "/api/v1/kb/articles/{key}/revisions" => [get list_kb_revisions];
    "/api/v1/kb/articles/{key}/feedback" => [post kb_feedback];
    "/api/v1/kb/search" => [get search_kb];
    "/api/v1/kb/suggestions" => [get suggest_kb];
    "/api/v1/kb/categories" => [get list_kb_categories, post create_kb_category];
    "/api/v1/kb/stats" => [get kb_stats];
    "/api/v1/tickets/{number}/messages/{id}/kb-article" => [post draft_kb_from_message];
    "/api/v1/plugins" => [get list_plugins];
    "/api/v1/plugins/{id}" => [put install_plugin, patch change_plugin, delete uninstall_plugin];
    "/api/v1/plugins/{id}/rollback" => [post rollback_plugin];
    "/api/v1/mail/inbound" => [get list_inbound, post receive_mail];
    "/api/v1/mail/inbound/{id}/raw" => [get raw_inbound];
    "/api/v1/mail/inbound/{id}/release" => [post release_inbound];
    "/api/v1/mail/inbound/{id}/discard" => [post discard_inbound];
    "/api/v1/mail/mailboxes" => [get list_mailboxes, post add_mailbox];
    "/api/v1/mail/mailboxes/{id}" => [patch change_mailbox, delete remove_mailbox];
    "/api/v1/mail/smtp" => [get show_smtp, put set_smtp, delete clear_smtp];
    "/api/v1/tickets/{number}/mail" => [get ticket_mail];
}

// Globs: each handler comes with the `__path_` item its annotation generates.
use crate::http::approvals::*;
use crate::http::kb_api::*;
use crate::http::mail_api::*;
use crate::http::plugins_api::*;
use crate::http::reports_api::*;
use crate::http::ticket_config_api::*;
use crate::http::tickets_api::*;

use crate::http::webhooks_api::*;

use crate::http::domains_api::*;

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
    pub(crate) async fn scope(
        &self,
        state: &AppState,
        object: &'static str,
        action: &'static str,
    ) -> Result<Scope, ApiError> {
        // A personal token acts as its person; a service account as itself.
        let subject = match self.grant.user_id {
            Some(user_id) => format!("user:{user_id}"),
            None => format!("token:{}", self.grant.token_id),
        };
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
        let organization = match self.grant.user_id {
            Some(user_id) => portico_tenants::policy::organization_of(&self.db, user_id).await?,
            None => None,
        };
        Ok(permissions::scope_for(
            kind,
            self.grant.user_id,
            organization,
        ))
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

#[utoipa::path(
    get,
    path = "/api/v1/tenant",
    tag = "tenant",
    summary = "The tenant and the calling token",
    responses((status = 200, description = "The tenant", body = TenantInfo), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn tenant_info(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    caller: ApiCaller,
) -> Result<Json<TenantInfo>, ApiError> {
    caller.scope(&state, "tenant", "read").await?;
    Ok(Json(TenantInfo {
        slug: tenant.slug.to_string(),
        name: tenant.name.to_string(),
        caller: TokenInfo {
            token: caller.grant.name,
            role: caller.grant.role,
        },
    }))
}

/// Output of `GET /api/v1/tenant`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct TenantInfo {
    /// The tenant's slug (its subdomain).
    slug: String,
    /// Its display name.
    name: String,
    /// The token the request came with.
    caller: TokenInfo,
}

/// The calling token, as `GET /api/v1/tenant` shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct TokenInfo {
    /// The token's name.
    token: String,
    /// Its role.
    role: Role,
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    summary = "List the people the caller may see",
    responses((status = 200, description = "People", body = Vec<User>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn list_users(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<User>>, ApiError> {
    let scope = caller.scope(&state, "user", "read").await?;
    Ok(Json(people::list_users(&caller.db, scope).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    summary = "One person",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "The person", body = User), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    #[serde(default)]
    display_name: String,
    role: String,
    #[serde(default = "default_true")]
    invite: bool,
    #[serde(default)]
    organization_id: Option<i64>,
}

fn default_true() -> bool {
    true
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create a person (and invite them)",
    request_body = CreateUser,
    responses((status = 201, description = "Created", body = User), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
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
        organization_id: input.organization_id,
    };
    let user = people::create_user(&caller.db, new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

impl ApiCaller {
    /// The caller as an audit actor.
    pub(crate) fn actor(&self) -> String {
        format!("token:{}", self.grant.token_id)
    }
}

/// What an administrator does to a person's account.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccountAction {
    /// Disable the account.
    Disable,
    /// Remove the second factor (and the phone), so the person enrols again.
    ResetSecondFactor,
    /// End every session.
    EndSessions,
}

/// Applies `action` to a person's account, audited as `actor`, and ends the
/// sessions the store keeps elsewhere (Redis), so the change holds at once.
pub(crate) async fn change_account(
    state: &AppState,
    db: &TenantDb,
    user_id: i64,
    action: AccountAction,
    actor: &str,
) -> Result<accounts::AccountChange, ApiError> {
    let mut change = match action {
        AccountAction::Disable => accounts::disable_user(db, user_id, actor).await?,
        AccountAction::ResetSecondFactor => {
            accounts::reset_second_factor(db, user_id, actor).await?
        }
        AccountAction::EndSessions => accounts::revoke_sessions(db, user_id, actor).await?,
    };
    change.sessions_ended += state.sessions.end_all_elsewhere(db, user_id).await?;
    Ok(change)
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    tag = "users",
    summary = "Disable a person and end their sessions",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "Done", body = AccountChange), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
async fn disable_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<accounts::AccountChange>, ApiError> {
    caller.scope(&state, "user", "update").await?;
    let user_id = parse_id(&id)?;
    Ok(Json(
        change_account(
            &state,
            &caller.db,
            user_id,
            AccountAction::Disable,
            &caller.actor(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/reset-second-factor",
    tag = "users",
    summary = "Reset a person's second factor",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "Done", body = AccountChange), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
async fn reset_second_factor(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<accounts::AccountChange>, ApiError> {
    caller.scope(&state, "user", "update").await?;
    let user_id = parse_id(&id)?;
    Ok(Json(
        change_account(
            &state,
            &caller.db,
            user_id,
            AccountAction::ResetSecondFactor,
            &caller.actor(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/end-sessions",
    tag = "users",
    summary = "End every session of a person",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "Done", body = AccountChange), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
async fn end_sessions(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<accounts::AccountChange>, ApiError> {
    caller.scope(&state, "session", "revoke").await?;
    let user_id = parse_id(&id)?;
    Ok(Json(
        change_account(
            &state,
            &caller.db,
            user_id,
            AccountAction::EndSessions,
            &caller.actor(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/invitation",
    tag = "users",
    summary = "Send the invitation again",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 202, description = "The invitation will be sent"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
async fn resend_invitation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "user", "create").await?;
    people::request_invitation(&caller.db, parse_id(&id)?, &caller.actor()).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "organizations",
    summary = "List customer organizations",
    responses((status = 200, description = "Organizations", body = Vec<Organization>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn list_organizations(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<organizations::Organization>>, ApiError> {
    let scope = caller.scope(&state, "organization", "read").await?;
    Ok(Json(
        organizations::list_organizations(&caller.db, scope).await?,
    ))
}

/// Input of `POST /api/v1/organizations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateOrganization {
    name: String,
    #[serde(default)]
    domains: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/organizations",
    tag = "organizations",
    summary = "Create a customer organization",
    request_body = CreateOrganization,
    responses((status = 201, description = "Created", body = Organization), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
async fn create_organization(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<CreateOrganization>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "organization", "create").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let created = organizations::create_organization(
        &caller.db,
        &input.name,
        &input.domains,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// How many entries, 1 to 1000 (100 when not given).
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    summary = "The most recent audit entries",
    params(AuditQuery),
    responses((status = 200, description = "Newest first", body = Vec<AuditRecord>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn audit_entries(
    State(state): State<AppState>,
    caller: ApiCaller,
    axum::extract::Query(query): axum::extract::Query<AuditQuery>,
) -> Result<Json<Vec<audit::AuditRecord>>, ApiError> {
    caller.scope(&state, "audit", "read").await?;
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(audit::recent(&caller.db, limit).await?))
}

/// The whole chain as JSON lines, oldest first, for archiving and independent checks.
#[utoipa::path(
    get,
    path = "/api/v1/audit/export",
    tag = "audit",
    summary = "The whole audit chain as JSON lines, oldest first",
    responses((status = 200, description = "One AuditRecord per line", body = String, content_type = "application/x-ndjson"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn audit_export(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    caller.scope(&state, "audit", "read").await?;
    audit_download(&caller.db).await
}

/// The whole audit chain as JSON lines, a download (the API's and the admin
/// page's export).
pub(crate) async fn audit_download(db: &TenantDb) -> Result<Response, ApiError> {
    let entries = audit::export(db).await?;
    let mut body = String::new();
    for entry in entries {
        body.push_str(
            &serde_json::to_string(&entry)
                .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?,
        );
        body.push('\n');
    }
    Ok((
        [
            (http::header::CONTENT_TYPE, "application/x-ndjson"),
            (
                http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.jsonl\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/remove-phone",
    tag = "users",
    summary = "Remove a person's SMS phone number",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 204, description = "Removed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
async fn remove_phone(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "user", "update").await?;
    accounts::remove_phone(&caller.db, parse_id(&id)?, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/identity-providers",
    tag = "identity",
    summary = "List single sign-on providers",
    responses((status = 200, description = "Providers (never their secrets)", body = Vec<IdentityProvider>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn list_providers(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<portico_tenants::sso::IdentityProvider>>, ApiError> {
    caller.scope(&state, "identity_provider", "read").await?;
    Ok(Json(
        portico_tenants::sso::list_providers(&caller.db).await?,
    ))
}

/// Input of `POST /api/v1/identity-providers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AddProvider {
    name: String,
    #[serde(default)]
    organization_id: Option<i64>,
    issuer: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    link_by_email: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/identity-providers",
    tag = "identity",
    summary = "Add an OpenID Connect provider",
    request_body = AddProvider,
    responses((status = 201, description = "Added", body = IdentityProvider), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
async fn add_provider(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<AddProvider>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "identity_provider", "create").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    crate::identity::sso::check_issuer(&input.issuer, state.settings.outbound_allow_private)?;
    if input.name.trim().is_empty()
        || input.client_id.trim().is_empty()
        || input.client_secret.is_empty()
    {
        return Err(ApiError::Invalid {
            field: "body".to_owned(),
            reason: "name, client_id and client_secret are required".to_owned(),
        });
    }
    let issuer = input.issuer.trim().trim_end_matches('/').to_owned();
    let sealed = state.master_key.seal(
        &crate::identity::sso::secret_context(&caller.db, &issuer, input.client_id.trim()),
        input.client_secret.as_bytes(),
    );
    let provider = portico_tenants::sso::add_provider(
        &caller.db,
        portico_tenants::sso::NewIdentityProvider {
            name: input.name.trim().to_owned(),
            organization_id: input.organization_id,
            issuer,
            client_id: input.client_id.trim().to_owned(),
            sealed_client_secret: sealed,
            domains: input
                .domains
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
            link_by_email: input.link_by_email,
        },
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(provider)))
}

/// Settings an MSP admin may change through the API, with the values each takes.
pub(crate) const SETTINGS: &[(&str, SettingKind)] = &[
    (
        crate::identity::pages::CONTACTS_SECOND_FACTOR_OPTIONAL,
        SettingKind::Bool,
    ),
    (portico_tenants::thread::REOPEN_SETTING, SettingKind::Bool),
    (portico_tenants::kb::PUBLIC_SETTING, SettingKind::Bool),
    (
        portico_tenants::tickets::AUTO_CLOSE_SETTING,
        SettingKind::Integer(0, 3650),
    ),
    (
        crate::http::tickets_api::ATTACHMENT_MAX_SETTING,
        SettingKind::Integer(1, 1 << 40),
    ),
    (
        crate::http::tickets_api::ATTACHMENT_TYPES_SETTING,
        SettingKind::TypeList,
    ),
    (
        portico_tenants::ticket_sla::DEFAULT_POLICY_SETTING,
        SettingKind::Key,
    ),
    (
        portico_tenants::ticket_sla::ESCALATION_LEVEL_SETTING,
        SettingKind::Integer(0, 3),
    ),
    (
        portico_tenants::ticket_sla::ESCALATION_QUEUE_SETTING,
        SettingKind::Key,
    ),
    (
        crate::mail::intake::UNKNOWN_SENDERS_SETTING,
        SettingKind::Choice(&["triage", "refuse"]),
    ),
    (crate::mail::intake::TRIAGE_QUEUE_SETTING, SettingKind::Key),
    (crate::mail::notify::BRAND_COLOR_SETTING, SettingKind::Color),
    (crate::http::web::HIDE_NEW_TICKET_SETTING, SettingKind::Bool),
    (crate::i18n::TIME_ZONE_SETTING, SettingKind::TimeZone),
    (
        crate::subscribers::WELCOME_MESSAGE_SETTING,
        SettingKind::Text(2000),
    ),
];

/// What a setting accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SettingKind {
    Bool,
    Integer(i64, i64),
    /// A list of MIME types or `major/*` patterns.
    TypeList,
    /// The key of a policy, queue or the like (checked when used).
    Key,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
    /// A colour, `#rrggbb`.
    Color,
    /// An IANA time zone name (`Europe/Rome`).
    TimeZone,
    /// Text of at most this many characters (line breaks allowed).
    Text(usize),
}

impl SettingKind {
    pub(crate) fn check(self, value: &serde_json::Value) -> Result<(), String> {
        match self {
            SettingKind::Text(max) => match value.as_str() {
                Some(text)
                    if text.chars().count() <= max
                        && !text
                            .chars()
                            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
                {
                    Ok(())
                }
                _ => Err(format!("must be text of at most {max} characters")),
            },
            SettingKind::TimeZone => match value.as_str().and_then(crate::i18n::named_zone) {
                Some(_) => Ok(()),
                None => Err("must be a time zone such as \"Europe/Rome\"".to_owned()),
            },
            SettingKind::Bool if value.is_boolean() => Ok(()),
            SettingKind::Bool => Err("must be true or false".to_owned()),
            SettingKind::Integer(min, max) => match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("must be a whole number from {min} to {max}")),
            },
            SettingKind::Key => match value.as_str() {
                Some(key)
                    if !key.is_empty()
                        && key.len() <= 40
                        && key
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
                {
                    Ok(())
                }
                _ => Err("must be a key such as \"standard\"".to_owned()),
            },
            SettingKind::Choice(words) => match value.as_str() {
                Some(word) if words.contains(&word) => Ok(()),
                _ => Err(format!("must be one of {}", words.join(", "))),
            },
            SettingKind::Color => match value.as_str() {
                Some(color) if crate::mail::notify::valid_color(color) => Ok(()),
                _ => Err("must be a colour such as \"#2f6feb\"".to_owned()),
            },
            SettingKind::TypeList => {
                let ok = value.as_array().is_some_and(|items| {
                    items.len() <= 200
                        && items.iter().all(|item| {
                            item.as_str().is_some_and(|t| {
                                let mut parts = t.split('/');
                                let (Some(major), Some(minor), None) =
                                    (parts.next(), parts.next(), parts.next())
                                else {
                                    return false;
                                };
                                let token = |p: &str| {
                                    !p.is_empty()
                                        && p.len() <= 100
                                        && p.chars().all(|c| {
                                            c.is_ascii_alphanumeric() || "+-.*_".contains(c)
                                        })
                                };
                                token(major) && token(minor)
                            })
                        })
                });
                if ok {
                    Ok(())
                } else {
                    Err(
                        "must be a list of types such as \"image/*\" or \"application/pdf\""
                            .to_owned(),
                    )
                }
            }
        }
    }
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/{key}",
    tag = "settings",
    summary = "Change a tenant setting",
    params(("key" = String, Path, description = "The setting, e.g. `contacts-second-factor-optional`, `auto-close-days`")),
    request_body(content = serde_json::Value, description = "The value: a boolean, a number, a key or a list of types, by setting"),
    responses((status = 204, description = "Changed"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
async fn put_setting(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(key): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "setting", "update").await?;
    let key = key.replace('-', "_");
    let Some((_, kind)) = SETTINGS.iter().find(|(k, _)| *k == key) else {
        return Err(ApiError::NotFound);
    };
    let Json(value) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    kind.check(&value).map_err(|reason| ApiError::Invalid {
        field: "body".to_owned(),
        reason,
    })?;
    accounts::set_tenant_setting(&caller.db, &key, &value, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Input of `PUT /api/v1/sections/{section}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SectionSwitch {
    enabled: bool,
    #[serde(default)]
    organization_id: Option<i64>,
    #[serde(default)]
    user_id: Option<i64>,
}

#[utoipa::path(
    put,
    path = "/api/v1/sections/{section}",
    tag = "settings",
    summary = "Switch a section on or off for everyone, an organization or a person",
    params(("section" = String, Path, description = "The section, e.g. `devices`")),
    request_body = SectionSwitch,
    responses((status = 204, description = "Switched"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
async fn put_section(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(section): Path<String>,
    body: Result<Json<SectionSwitch>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "setting", "update").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let scope = match (input.organization_id, input.user_id) {
        (None, None) => portico_tenants::sections::SwitchScope::All,
        (Some(id), None) => portico_tenants::sections::SwitchScope::Organization(id),
        (None, Some(id)) => portico_tenants::sections::SwitchScope::User(id),
        (Some(_), Some(_)) => {
            return Err(ApiError::Invalid {
                field: "body".to_owned(),
                reason: "give organization_id or user_id, not both".to_owned(),
            });
        }
    };
    portico_tenants::sections::set_switch(
        &caller.db,
        &section.replace('-', "_"),
        scope,
        input.enabled,
        &caller.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/sections",
    tag = "users",
    summary = "The sections enabled for a person",
    params(("id" = i64, Path, description = "The person's id")),
    responses((status = 200, description = "Section keys", body = Vec<String>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
async fn user_sections(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<&'static str>>, ApiError> {
    let scope = caller.scope(&state, "user", "read").await?;
    let user = people::get_user(&caller.db, parse_id(&id)?, scope).await?;
    Ok(Json(
        portico_tenants::sections::enabled_sections(&caller.db, user.id, user.organization_id)
            .await?,
    ))
}

/// One row of a CSV import's report.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct ImportRow {
    /// The line in the file (the header is line 1).
    line: u64,
    /// The address on that line, as given.
    email: String,
    /// `created` or `error`.
    status: &'static str,
    /// Why the row was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The created person's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
}

/// The report of a CSV import: each row stands alone, so one bad row never stops
/// the others.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct ImportReport {
    created: usize,
    failed: usize,
    rows: Vec<ImportRow>,
}

/// At most this many rows per import.
const IMPORT_MAX_ROWS: usize = 5_000;

/// `POST /api/v1/users/import` with a CSV body: columns `email` (required), `name`,
/// `role` (default `contact`), `organization` (by name), `invite` (`yes`/`no`,
/// default `yes`).
#[utoipa::path(
    post,
    path = "/api/v1/users/import",
    tag = "users",
    summary = "Import people from CSV (`email`, `name`, `role`, `organization`, `invite`)",
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row"),
    responses((status = 200, description = "One report row per line", body = ImportReport), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Invalid)
)]
async fn import_users(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: String,
) -> Result<Json<ImportReport>, ApiError> {
    caller.scope(&state, "user", "create").await?;
    let organizations = organizations::list_organizations(&caller.db, Scope::All).await?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::Invalid {
            field: "csv".to_owned(),
            reason: e.to_string(),
        })?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect::<Vec<_>>();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let Some(email_column) = column("email") else {
        return Err(ApiError::Invalid {
            field: "csv".to_owned(),
            reason: "the header row needs an `email` column".to_owned(),
        });
    };
    let (name_column, role_column, org_column, invite_column) = (
        column("name"),
        column("role"),
        column("organization"),
        column("invite"),
    );
    let mut report = ImportReport {
        created: 0,
        failed: 0,
        rows: Vec::new(),
    };
    for (index, record) in reader.records().enumerate() {
        if index >= IMPORT_MAX_ROWS {
            return Err(ApiError::Invalid {
                field: "csv".to_owned(),
                reason: format!("at most {IMPORT_MAX_ROWS} rows per import"),
            });
        }
        let line = index as u64 + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                report.failed += 1;
                report.rows.push(ImportRow {
                    line,
                    email: String::new(),
                    status: "error",
                    error: Some(error.to_string()),
                    id: None,
                });
                continue;
            }
        };
        let field =
            |column: Option<usize>| column.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let email_text = field(Some(email_column));
        let outcome = async {
            let email = EmailAddress::parse(&email_text)?;
            let role_text = field(role_column);
            let role = if role_text.is_empty() {
                Role::Contact
            } else {
                Role::parse(&role_text)?
            };
            let organization_name = field(org_column);
            let organization_id = if organization_name.is_empty() {
                None
            } else {
                Some(
                    organizations
                        .iter()
                        .find(|o| o.name.eq_ignore_ascii_case(&organization_name))
                        .map(|o| o.id)
                        .ok_or_else(|| portico_tenants::StoreError::Invalid {
                            field: "organization",
                            reason: format!("no organization named `{organization_name}`"),
                        })?,
                )
            };
            let invite = !matches!(
                field(invite_column).to_ascii_lowercase().as_str(),
                "no" | "false" | "0"
            );
            people::create_user(
                &caller.db,
                NewUser {
                    email,
                    display_name: field(name_column),
                    role,
                    invite,
                    organization_id,
                },
            )
            .await
        }
        .await;
        match outcome {
            Ok(user) => {
                report.created += 1;
                report.rows.push(ImportRow {
                    line,
                    email: email_text,
                    status: "created",
                    error: None,
                    id: Some(user.id),
                });
            }
            Err(error) => {
                report.failed += 1;
                report.rows.push(ImportRow {
                    line,
                    email: email_text,
                    status: "error",
                    error: Some(error.to_string()),
                    id: None,
                });
            }
        }
    }
    audit::append(
        &caller.db,
        audit::AuditEntry {
            actor: caller.actor(),
            action: "user.imported",
            target: "users".to_owned(),
            details: serde_json::json!({ "created": report.created, "failed": report.failed }),
        },
    )
    .await?;
    Ok(Json(report))
}

/// Input of `POST /api/v1/account-requests`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RequestAccount {
    email: String,
    #[serde(default)]
    display_name: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/account-requests",
    tag = "organizations",
    summary = "Ask for an account for a colleague (main contacts)",
    request_body = RequestAccount,
    responses((status = 201, description = "Asked", body = AccountRequest), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
async fn request_account(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<RequestAccount>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let scope = caller.scope(&state, "user", "request").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    // Only a person of an organization can ask for colleagues.
    let (Scope::Organization(Some(organization)), Some(requester)) = (scope, caller.grant.user_id)
    else {
        return Err(ApiError::Invalid {
            field: "caller".to_owned(),
            reason: "only a main contact of an organization can request accounts".to_owned(),
        });
    };
    let email = EmailAddress::parse(&input.email)?;
    let created = organizations::request_account(
        &caller.db,
        organization,
        requester,
        &email,
        &input.display_name,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/v1/account-requests",
    tag = "organizations",
    summary = "List account requests",
    responses((status = 200, description = "Requests", body = Vec<AccountRequest>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
async fn list_account_requests(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<organizations::AccountRequest>>, ApiError> {
    // The MSP sees every request; a main contact their organization's.
    let scope = match caller.scope(&state, "user", "create").await {
        Ok(scope) => scope,
        Err(_) => caller.scope(&state, "user", "request").await?,
    };
    Ok(Json(
        organizations::list_account_requests(&caller.db, scope).await?,
    ))
}

/// Input of a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AccountDecision)]
struct Decision {
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/account-requests/{id}/approve",
    tag = "organizations",
    summary = "Approve an account request",
    params(("id" = i64, Path, description = "The request's id")),
    responses((status = 200, description = "Approved", body = AccountRequest), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict)
)]
async fn approve_account_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<organizations::AccountRequest>, ApiError> {
    caller.scope(&state, "user", "create").await?;
    Ok(Json(
        organizations::decide_account_request(
            &caller.db,
            parse_id(&id)?,
            true,
            None,
            &caller.actor(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/account-requests/{id}/reject",
    tag = "organizations",
    summary = "Reject an account request",
    params(("id" = i64, Path, description = "The request's id")),
    request_body(content = Option<Decision>, description = "An optional reason"),
    responses((status = 200, description = "Rejected", body = AccountRequest), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
async fn reject_account_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: Option<Json<Decision>>,
) -> Result<Json<organizations::AccountRequest>, ApiError> {
    caller.scope(&state, "user", "create").await?;
    let reason = body.and_then(|Json(d)| d.reason);
    Ok(Json(
        organizations::decide_account_request(
            &caller.db,
            parse_id(&id)?,
            false,
            reason.as_deref(),
            &caller.actor(),
        )
        .await?,
    ))
}
