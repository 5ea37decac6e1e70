//! The HTTP surface: routing by host name, the middleware every response passes
//! through, and each feature's router.
//!
//! Request path: request id → trace span → metrics → security headers → panic
//! guard → timeout → body limit → `/healthz` and `/readyz` (any host) → host
//! dispatch (tenant, operator or an opaque 404; suspended tenants get a 503 page)
//! → the feature router.

pub mod account_pages;
pub mod admin_pages;
pub mod api;
pub mod approvals;
pub mod domains_api;
pub mod error;
pub mod health;
pub mod kb_api;
pub mod kb_pages;
pub mod mail_api;
pub mod mail_pages;
pub mod openapi;
pub mod organization_pages;
pub mod pages;
pub mod plugin_views;
pub mod plugins_api;
pub mod plugins_http;
pub mod reports_api;
pub mod ticket_config_api;
pub mod tickets_api;
pub mod web;
pub mod webhooks_api;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, StatusCode};
use portico_tenants::TenantStatus;
use portico_tenants::routing::{HostMatch, TenantRoute};
use tower::{Service, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::i18n::Locale;
use crate::state::AppState;

/// The tenant a request was routed to, set by the host dispatch.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<TenantRoute>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentTenant {
    type Rejection = error::ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentTenant>()
            .cloned()
            .ok_or(error::ApiError::NotFound)
    }
}

/// The route template a response came from, for metrics.
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Where ACME HTTP-01 challenges are asked for, on any host.
const ACME_CHALLENGE_PATH: &str = "/.well-known/acme-challenge/{token}";

/// The answer to an ACME HTTP-01 challenge for the requested host, from the
/// database, so whichever instance the certificate authority reaches can answer.
async fn acme_challenge(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    request_headers: http::HeaderMap,
) -> Response {
    let host = request_headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(|value| strip_port(value).to_ascii_lowercase())
        .unwrap_or_default();
    if token.len() > 256 {
        return pages::not_found_page(&state, Locale::default());
    }
    match portico_tenants::domains::challenge_answer(&state.store, &token, &host).await {
        Ok(Some(answer)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response()
        }
        Ok(None) => pages::not_found_page(&state, Locale::default()),
        Err(error) => error::ApiError::from(error).into_response(),
    }
}

/// The host without a `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(inside, _)| &host[..inside.len() + 1]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// The plain-HTTP side when HTTPS is on: probes and ACME challenges are answered,
/// everything else is redirected (308) to the same address over HTTPS.
pub fn redirect_router(state: AppState, tls_port: u16) -> Router {
    // Behind a port mapping the public HTTPS port is configured; else it is ours.
    let https_port = match (
        state.settings.public_scheme.as_str(),
        state.settings.public_port,
    ) {
        ("https", Some(port)) => port,
        _ => tls_port,
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(ACME_CHALLENGE_PATH, get(acme_challenge))
        .fallback(move |request: Request<Body>| async move {
            let host = strip_port(request_host(&request)).to_owned();
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned());
            let port = if https_port == 443 {
                String::new()
            } else {
                format!(":{https_port}")
            };
            match HeaderValue::from_str(&format!("https://{host}{port}{path}")) {
                Ok(location) if !host.is_empty() => (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response(),
                _ => StatusCode::BAD_REQUEST.into_response(),
            }
        })
        .route_layer(middleware::from_fn(tag_route))
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
}

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let tenant = Router::new()
        .merge(pages::portal_router())
        .merge(approvals::router())
        .merge(mail_pages::router())
        .merge(crate::identity::pages::router())
        .merge(crate::identity::stepup::router())
        .merge(crate::identity::sms_factor::router())
        .merge(crate::identity::sso::router())
        .merge(api::router())
        .merge(openapi::router())
        .merge(plugins_http::router())
        .merge(plugin_views::router())
        .fallback(pages::not_found)
        .route_layer(middleware::from_fn(tag_route))
        .with_state(state.clone());
    let operator = Router::new()
        .merge(crate::identity::operator::router())
        .fallback(pages::not_found)
        .route_layer(middleware::from_fn(tag_route))
        .with_state(state.clone());
    let dispatch = HostDispatch {
        state: state.clone(),
        tenant,
        operator,
    };
    let settings = &state.settings;
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route(ACME_CHALLENGE_PATH, get(acme_challenge))
        .route_layer(middleware::from_fn(tag_route))
        .with_state(state.clone())
        .fallback_service(dispatch)
        // Listed innermost first: the last layer added sees the request first.
        .layer(axum::extract::DefaultBodyLimit::max(settings.body_limit))
        .layer(RequestBodyLimitLayer::new(settings.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout(),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn make_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    // ERROR level so the span is enabled under any log filter: a warning or error
    // logged by a handler must always carry its request id and tenant.
    tracing::error_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        host = %request_host(request),
        tenant = tracing::field::Empty,
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    error::ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
}

/// The host a request was sent to: the `Host` header (HTTP/1.1) or the URI
/// authority (HTTP/2).
fn request_host<B>(request: &Request<B>) -> &str {
    request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or("")
}

async fn tag_route(request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

async fn track_metrics(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|label| label.0.as_str())
        .unwrap_or("unmatched");
    state.metrics.record_request(
        route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &'static str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Links may carry single-use tokens: never leak them to another site.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if state.settings.public_scheme == "https" {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=63072000"));
    }
    response
}

/// Sends each request to the tenant, the operator or nowhere, by host name.
#[derive(Clone)]
struct HostDispatch {
    state: AppState,
    tenant: Router,
    operator: Router,
}

impl Service<Request<Body>> for HostDispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let locale = request
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .map(Locale::negotiate)
            .unwrap_or_default();
        match self.state.hosts.resolve(request_host(&request)) {
            HostMatch::Tenant(route) => {
                tracing::Span::current().record("tenant", &*route.slug);
                if route.status == TenantStatus::Suspended {
                    let response = pages::suspended(&self.state, locale, &route);
                    return Box::pin(async move { Ok(response) });
                }
                if !route.schema_current {
                    let response = pages::maintenance(&self.state, locale, &route);
                    return Box::pin(async move { Ok(response) });
                }
                request.extensions_mut().insert(CurrentTenant(route));
                let router = self.tenant.clone();
                Box::pin(async move { router.oneshot(request).await })
            }
            HostMatch::Operator => {
                let router = self.operator.clone();
                Box::pin(async move { router.oneshot(request).await })
            }
            HostMatch::Unknown => {
                let response = pages::not_found_page(&self.state, locale);
                Box::pin(async move { Ok(response) })
            }
        }
    }
}

/// How long `serve` waits for in-flight requests after a shutdown signal.
pub fn shutdown_grace(state: &AppState) -> Duration {
    Duration::from_secs(state.settings.shutdown_grace)
}
