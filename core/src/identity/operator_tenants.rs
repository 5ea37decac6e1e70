//! The operator's tenant screens on `admin.<base domain>`: the tenants with their
//! state (home), creating one (with its first administrator, who is invited by
//! e-mail), a tenant's usage, and suspending, resuming and deleting it — deleting
//! only after the operator typed the tenant's slug. Every change is written to the
//! platform's audit chain, as the CLI's are.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::audit::AuditEntry;
use portico_tenants::ids::{EmailAddress, Role, TenantSlug};
use portico_tenants::people::{self, NewUser};
use portico_tenants::{TenantStatus, registry, usage};
use serde::Deserialize;

use super::operator::{Current, actor, check_session_csrf, require};
use super::pages::form;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::state::AppState;
use portico_tenants::accounts::SessionState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        // The console's own stylesheets (the same embedded assets as tenant hosts).
        .route("/static/{file}", get(crate::http::web::asset))
        .route("/brand.css", get(crate::http::web::platform_brand_css))
        .route("/tenants", post(create_submit))
        .route("/tenants/{slug}", get(tenant_page))
        .route("/tenants/{slug}/{action}", post(tenant_action))
}

fn status_text(locale: Locale, status: TenantStatus) -> String {
    locale.text(match status {
        TenantStatus::Active => "operator-status-active",
        TenantStatus::Suspended => "operator-status-suspended",
        _ => "operator-status-other",
    })
}

/// The signed-in home: every tenant, and the form creating one.
pub(super) async fn home_view(
    state: &AppState,
    locale: Locale,
    current: &Current,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let tenants: Vec<minijinja::Value> = registry::list_tenants(&state.store)
        .await?
        .into_iter()
        .map(|tenant| {
            context! {
                status => status_text(locale, tenant.status),
                url => state.settings.tenant_url(&tenant.slug),
                created => locale.date_time(tenant.created_at, &jiff::tz::TimeZone::UTC),
                slug => tenant.slug,
                name => tenant.name,
                schema => tenant.schema_version,
            }
        })
        .collect();
    Ok(render(
        state,
        StatusCode::OK,
        "operator_home.html",
        context! {
            lang => locale.tag(),
            title => locale.text("operator-title"),
            signed_in => locale.text_with("signed-in-as", &[("email", current.operator.email.as_str())]),
            notice,
            tenants,
            csrf => &current.session.csrf_token,
        },
    ))
}

async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Current, Response>, ApiError> {
    require(state, headers, SessionState::Active).await
}

async fn audit(
    state: &AppState,
    current: &Current,
    action: &'static str,
    slug: &str,
    details: serde_json::Value,
) -> Result<(), ApiError> {
    portico_tenants::audit::append_platform(
        &state.store,
        AuditEntry {
            actor: actor(current.operator.id),
            action,
            target: format!("tenant:{slug}"),
            details,
        },
    )
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct CreateInput {
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    admin_email: String,
}

/// `POST /tenants`: creates a tenant and, when an address is given, invites its
/// first administrator (the invitation e-mail goes through the tenant's outbox).
async fn create_submit(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<CreateInput>, FormRejection>,
) -> Response {
    crate::http::web::page(&state, locale, async {
        let input = form(input)?;
        let current = match signed_in(&state, &headers).await? {
            Ok(current) => current,
            Err(redirect) => return Ok(redirect),
        };
        check_session_csrf(&state, &headers, &current, &input.csrf)?;
        let slug = TenantSlug::parse(input.slug.trim())?;
        let admin = match input.admin_email.trim() {
            "" => None,
            raw => Some(EmailAddress::parse(raw)?),
        };
        let tenant = registry::create_tenant(&state.store, &slug, &input.name).await?;
        audit(
            &state,
            &current,
            "tenant.created",
            &tenant.slug,
            serde_json::json!({ "name": tenant.name }),
        )
        .await?;
        if let Some(email) = admin {
            let db = state.store.tenant_by_slug(&tenant.slug).await?;
            people::create_user(
                &db,
                NewUser {
                    email,
                    display_name: String::new(),
                    role: Role::MspAdmin,
                    invite: true,
                    organization_id: None,
                },
            )
            .await?;
        }
        Ok(Redirect::to(&format!("/tenants/{}?done=created", tenant.slug)).into_response())
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn tenant_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Response {
    crate::http::web::page(&state, locale, async {
        let current = match signed_in(&state, &headers).await? {
            Ok(current) => current,
            Err(redirect) => return Ok(redirect),
        };
        let tenant = registry::get_tenant(&state.store, &slug).await?;
        let db = state.store.tenant_by_slug(&tenant.slug).await?;
        let used = usage::usage(&db).await?;
        let notice = match query.done.as_str() {
            "created" => Some(locale.text("operator-done-created")),
            "suspended" => Some(locale.text("operator-done-suspended")),
            "resumed" => Some(locale.text("operator-done-resumed")),
            _ => None,
        };
        let figures = [
            ("operator-usage-staff", locale.number(used.staff)),
            ("operator-usage-contacts", locale.number(used.contacts)),
            (
                "operator-usage-organizations",
                locale.number(used.organizations),
            ),
            ("operator-usage-tickets", locale.number(used.tickets)),
            ("operator-usage-open", locale.number(used.open_tickets)),
            (
                "operator-usage-recent",
                locale.number(used.tickets_last_30_days),
            ),
            (
                "operator-usage-storage",
                crate::http::web::size(locale, used.attachment_bytes),
            ),
        ]
        .into_iter()
        .map(|(key, value)| context! { label => locale.text(key), value })
        .collect::<Vec<_>>();
        Ok(render(
            &state,
            StatusCode::OK,
            "operator_tenant.html",
            context! {
                lang => locale.tag(),
                title => tenant.name.clone(),
                notice,
                slug => &tenant.slug,
                url => state.settings.tenant_url(&tenant.slug),
                status => status_text(locale, tenant.status),
                suspended => tenant.status == TenantStatus::Suspended,
                active => tenant.status == TenantStatus::Active,
                schema => tenant.schema_version,
                created => locale.date_time(tenant.created_at, &jiff::tz::TimeZone::UTC),
                figures,
                csrf => &current.session.csrf_token,
            },
        ))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ActionInput {
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn tenant_action(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
    Path((slug, action)): Path<(String, String)>,
    input: Result<Form<ActionInput>, FormRejection>,
) -> Response {
    crate::http::web::page(&state, locale, async {
        let input = form(input)?;
        let current = match signed_in(&state, &headers).await? {
            Ok(current) => current,
            Err(redirect) => return Ok(redirect),
        };
        check_session_csrf(&state, &headers, &current, &input.csrf)?;
        let tenant = registry::get_tenant(&state.store, &slug).await?;
        match action.as_str() {
            "suspend" => {
                registry::set_status(&state.store, &tenant.slug, TenantStatus::Suspended).await?;
                audit(
                    &state,
                    &current,
                    "tenant.suspended",
                    &tenant.slug,
                    serde_json::json!({}),
                )
                .await?;
                Ok(
                    Redirect::to(&format!("/tenants/{}?done=suspended", tenant.slug))
                        .into_response(),
                )
            }
            "resume" => {
                registry::set_status(&state.store, &tenant.slug, TenantStatus::Active).await?;
                audit(
                    &state,
                    &current,
                    "tenant.resumed",
                    &tenant.slug,
                    serde_json::json!({}),
                )
                .await?;
                Ok(Redirect::to(&format!("/tenants/{}?done=resumed", tenant.slug)).into_response())
            }
            "delete" => {
                // Deleting removes every record of the tenant: the operator types its
                // slug to say they mean this one.
                if input.confirm.trim() != tenant.slug {
                    return Err(ApiError::Invalid {
                        field: "confirm".to_owned(),
                        reason: locale.text("operator-delete-confirm-wrong"),
                    });
                }
                registry::delete_tenant(&state.store, &tenant.slug).await?;
                audit(
                    &state,
                    &current,
                    "tenant.deleted",
                    &tenant.slug,
                    serde_json::json!({}),
                )
                .await?;
                home_view(
                    &state,
                    locale,
                    &current,
                    Some(
                        locale.text_with(
                            "operator-done-deleted",
                            &[("tenant", tenant.slug.as_str())],
                        ),
                    ),
                )
                .await
            }
            _ => Err(ApiError::NotFound),
        }
    })
    .await
}
