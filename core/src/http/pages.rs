//! Server-rendered pages of the foundation: the tenant's home, the operator's home,
//! the not-found page and the suspension notice. The portal and console issues
//! grow these into full sections.

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use minijinja::context;
use portico_tenants::routing::TenantRoute;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::i18n::Locale;
use crate::state::AppState;

/// Pages on a tenant's host.
pub fn portal_router() -> Router<AppState> {
    Router::new()
        .route("/", get(portal_home))
        .merge(crate::http::kb_pages::router())
        .merge(crate::http::web::router())
        .merge(crate::http::account_pages::router())
        .merge(crate::http::organization_pages::router())
        .merge(crate::http::admin_pages::router())
}

/// Renders a template into a response with `status`; a template error is a 500.
pub(crate) fn render(
    state: &AppState,
    status: StatusCode,
    template: &str,
    context: minijinja::Value,
) -> Response {
    match state.templates.render(template, context) {
        Ok(page) => (status, Html(page)).into_response(),
        Err(error) => ApiError::Internal(anyhow::Error::new(error)).into_response(),
    }
}

async fn portal_home(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: http::HeaderMap,
) -> Result<Response, ApiError> {
    let name: &str = &tenant.name;
    let db = tenant.db(&state.store)?;
    let current = crate::identity::session::load(&state, &db, &headers)
        .await?
        .filter(|current| current.session.state == portico_tenants::accounts::SessionState::Active);
    Ok(render(
        &state,
        StatusCode::OK,
        "portal_home.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("portal-title", &[("tenant", name)]),
            welcome => locale.text_with("portal-welcome", &[("tenant", name)]),
            user => current.as_ref().map(|c| c.user.email.clone()),
            signed_in => current.as_ref().map(|c| locale.text_with("signed-in-as", &[("email", c.user.email.as_str())])),
            csrf => current.as_ref().map(|c| c.session.csrf_token.clone()),
            sessions_label => locale.text("nav-sessions"),
            logout_label => locale.text("logout"),
            login_label => locale.text("login-title"),
        },
    ))
}

/// The 404 page: the same for unknown hosts, deleted tenants and unknown paths,
/// so it reveals nothing.
pub fn not_found_page(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::NOT_FOUND,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("not-found-title"),
            body => locale.text("not-found-body"),
        },
    )
}

/// Fallback handler for unknown paths on a known host.
pub async fn not_found(State(state): State<AppState>, locale: Locale) -> Response {
    not_found_page(&state, locale)
}

/// The plain, branded 503 page of a suspended tenant.
pub fn suspended(state: &AppState, locale: Locale, tenant: &TenantRoute) -> Response {
    let name: &str = &tenant.name;
    let mut response = render(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("suspended-title", &[("tenant", name)]),
            body => locale.text("suspended-body"),
        },
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("3600"),
    );
    response
}

/// The 503 page of a tenant whose schema is not yet at this binary's version.
pub fn maintenance(state: &AppState, locale: Locale, tenant: &TenantRoute) -> Response {
    let name: &str = &tenant.name;
    let mut response = render(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("maintenance-title", &[("tenant", name)]),
            body => locale.text("maintenance-body"),
        },
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static("120"),
    );
    response
}
