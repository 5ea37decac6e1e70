//! OpenID Connect single sign-on: the MSP's own provider for its technicians and one
//! per customer organization, chosen by the e-mail domain the person types (home
//! realm discovery). Authorization code flow with PKCE; state, nonce and the PKCE
//! verifier travel in a cookie sealed with the master key, so they are bound to the
//! browser that started; the `iss` parameter of the response is checked (RFC 9207);
//! identity is (issuer, subject). Discovery, JWKS and token calls go through the
//! foundation's guarded outbound client, which here follows no redirects.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope as OAuthScope, TokenResponse,
};
use portico_tenants::accounts::{NewSession, SessionState};
use portico_tenants::audit::AuditEntry;
use portico_tenants::clock::now_ms;
use portico_tenants::ids::{EmailAddress, Role};
use portico_tenants::people::{self, NewUser};
use portico_tenants::sso::{self, IdentityProvider};
use portico_tenants::tokens::hash_token;
use portico_tenants::{TenantDb, accounts};
use serde::{Deserialize, Serialize};

use super::session;
use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::outbound::OutboundHttp;
use crate::state::AppState;

/// The sign-in flow is abandoned after this long.
const FLOW_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Discovered provider metadata (with its keys) is reused this long.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// The SSO routes of a tenant host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/sso", post(start))
        .route("/sso/callback", get(callback))
}

/// Cached provider metadata, by issuer.
#[derive(Default)]
pub struct MetadataCache {
    entries: Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataCache")
    }
}

/// An HTTP error from the guarded client, in the form openidconnect expects.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

async fn send(
    client: &OutboundHttp,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut builder = client
        .request(parts.method, &parts.uri.to_string())
        .map_err(|e| HttpError(e.to_string()))?;
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut out = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    out.body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

async fn metadata(state: &AppState, issuer: &str) -> Result<CoreProviderMetadata, ApiError> {
    if let Ok(cache) = state.oidc_metadata.entries.lock()
        && let Some((at, metadata)) = cache.get(issuer)
        && at.elapsed() < METADATA_TTL
    {
        return Ok(metadata.clone());
    }
    let client = state.oidc_http.clone();
    let http_client = move |request: openidconnect::HttpRequest| {
        let client = client.clone();
        async move { send(&client, request).await }
    };
    let issuer_url =
        IssuerUrl::new(issuer.to_owned()).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let discovered = CoreProviderMetadata::discover_async(issuer_url, &http_client)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("OIDC discovery of {issuer}: {e}")))?;
    if let Ok(mut cache) = state.oidc_metadata.entries.lock() {
        cache.insert(issuer.to_owned(), (Instant::now(), discovered.clone()));
    }
    Ok(discovered)
}

fn redirect_uri(state: &AppState, tenant_slug: &str) -> String {
    format!("{}/sso/callback", state.settings.tenant_url(tenant_slug))
}

/// What the browser carries between the start of the flow and the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    provider: i64,
    state: String,
    nonce: String,
    verifier: String,
    started_at: i64,
}

fn flow_cookie_name(state: &AppState) -> &'static str {
    if state.settings.public_scheme == "https" {
        "__Host-portico_sso"
    } else {
        "portico_sso"
    }
}

fn flow_context(db: &TenantDb) -> String {
    format!("sso-flow:{}", db.id())
}

/// Checks a provider's issuer: https, or plain http only in test configurations.
pub fn check_issuer(issuer: &str, allow_http: bool) -> Result<(), ApiError> {
    let url = url::Url::parse(issuer).map_err(|_| ApiError::Invalid {
        field: "issuer".to_owned(),
        reason: "is not a URL".to_owned(),
    })?;
    if url.scheme() == "https" || (allow_http && url.scheme() == "http") {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            field: "issuer".to_owned(),
            reason: "must be an https URL".to_owned(),
        })
    }
}

fn client_for(
    state: &AppState,
    db: &TenantDb,
    provider: &IdentityProvider,
    metadata: CoreProviderMetadata,
    slug: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    ApiError,
> {
    let secret = state
        .master_key
        .open(
            &secret_context(db, &provider.issuer, &provider.client_id),
            &provider.sealed_client_secret,
        )
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let secret =
        String::from_utf8(secret).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let redirect = RedirectUrl::new(redirect_uri(state, slug))
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect))
}

/// The sealing context of a provider's client secret.
pub fn secret_context(db: &TenantDb, issuer: &str, client_id: &str) -> String {
    format!("tenant:{}:sso:{issuer}:{client_id}", db.id())
}

#[derive(Debug, Deserialize)]
struct StartInput {
    email: String,
    csrf: String,
}

fn login_message(
    state: &AppState,
    locale: Locale,
    status: StatusCode,
    message_id: &str,
) -> Response {
    render(
        state,
        status,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("login-title"),
            body => locale.text(message_id),
        },
    )
}

async fn start(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<StartInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = input.map(|Form(v)| v).map_err(|r| ApiError::Invalid {
        field: "form".into(),
        reason: r.body_text(),
    })?;
    session::check_origin(&state.settings, &headers)?;
    let expected = session::read_cookie(&headers, session::csrf_cookie_name(&state.settings))
        .unwrap_or_default();
    if !session::tokens_match(&expected, &input.csrf) {
        return Err(ApiError::Forbidden);
    }
    let db = tenant.db(&state.store)?;
    let domain = input
        .email
        .trim()
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let Some(provider) = sso::provider_for_domain(&db, &domain).await? else {
        return Ok(login_message(
            &state,
            locale,
            StatusCode::NOT_FOUND,
            "sso-not-available",
        ));
    };
    let metadata = metadata(&state, &provider.issuer).await?;
    let client = client_for(&state, &db, &provider, metadata, &tenant.slug)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(OAuthScope::new("email".to_owned()))
        .add_scope(OAuthScope::new("profile".to_owned()))
        .add_extra_param("login_hint", input.email.trim())
        .set_pkce_challenge(challenge)
        .url();
    let flow = Flow {
        provider: provider.id,
        state: csrf_state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        started_at: now_ms(),
    };
    let sealed = state.master_key.seal(
        &flow_context(&db),
        &serde_json::to_vec(&flow).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?,
    );
    let mut response = Redirect::to(url.as_str()).into_response();
    session::append_cookie(
        response.headers_mut(),
        session::set_cookie(
            &state.settings,
            flow_cookie_name(&state),
            &sealed,
            Some(FLOW_LIFETIME_MS / 1000),
        ),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// Why a callback was refused (audited; the person sees one generic message).
fn refuse(reason: &'static str) -> Result<Refusal, ApiError> {
    Ok(Refusal(reason))
}

struct Refusal(&'static str);

async fn callback(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let outcome = complete(&state, &db, &tenant.slug, &headers, &query).await?;
    let mut response = match outcome {
        Ok((user_id, how)) => {
            let id = session::new_session_id();
            let csrf = session::new_csrf_token();
            let agent: String = headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            let mut tx = db.begin().await?;
            state
                .sessions
                .create(
                    &db,
                    &mut tx,
                    NewSession {
                        id_hash: &hash_token(&id),
                        user_id,
                        state: SessionState::Active,
                        csrf_token: &csrf,
                        expires_at: now_ms()
                            + state.settings.session_absolute_hours as i64 * 3_600_000,
                        ip: "",
                        user_agent: &agent,
                    },
                    crate::identity::pages::idle_ms(&state),
                )
                .await?;
            accounts::note_login(&mut tx, user_id).await?;
            tx.audit(AuditEntry {
                actor: format!("user:{user_id}"),
                action: "auth.login.succeeded",
                target: format!("user:{user_id}"),
                details: serde_json::json!({ "method": "oidc", "how": how }),
            })
            .await?;
            tx.commit().await?;
            let mut response = Redirect::to("/").into_response();
            session::append_cookie(
                response.headers_mut(),
                session::set_cookie(
                    &state.settings,
                    session::session_cookie_name(&state.settings),
                    &id,
                    None,
                ),
            );
            response
        }
        Err(Refusal(reason)) => {
            portico_tenants::audit::append(
                &db,
                AuditEntry {
                    actor: "sso".to_owned(),
                    action: "auth.sso.refused",
                    target: format!("tenant:{}", tenant.slug),
                    details: serde_json::json!({ "reason": reason }),
                },
            )
            .await?;
            login_message(&state, locale, StatusCode::FORBIDDEN, "sso-failed")
        }
    };
    session::append_cookie(
        response.headers_mut(),
        session::clear_cookie(&state.settings, flow_cookie_name(&state)),
    );
    Ok(response)
}

/// Runs every check of the callback; `Ok(Err(_))` is a refusal, `Err` a failure.
async fn complete(
    state: &AppState,
    db: &TenantDb,
    slug: &str,
    headers: &HeaderMap,
    query: &CallbackQuery,
) -> Result<Result<(i64, &'static str), Refusal>, ApiError> {
    if query.error.is_some() {
        return refuse("provider_error").map(Err);
    }
    let Some(sealed) = session::read_cookie(headers, flow_cookie_name(state)) else {
        return refuse("no_flow").map(Err);
    };
    let Ok(plain) = state.master_key.open(&flow_context(db), &sealed) else {
        return refuse("flow_tampered").map(Err);
    };
    let Ok(flow) = serde_json::from_slice::<Flow>(&plain) else {
        return refuse("flow_tampered").map(Err);
    };
    if now_ms() - flow.started_at > FLOW_LIFETIME_MS {
        return refuse("flow_expired").map(Err);
    }
    if !session::tokens_match(&flow.state, query.state.as_deref().unwrap_or("")) {
        return refuse("bad_state").map(Err);
    }
    let provider = sso::get_provider(db, flow.provider).await?;
    let metadata = metadata(state, &provider.issuer).await?;
    // RFC 9207: the response must come from the issuer we sent the browser to.
    if let Some(iss) = &query.iss
        && iss.trim_end_matches('/') != metadata.issuer().as_str().trim_end_matches('/')
    {
        return refuse("wrong_issuer").map(Err);
    }
    let Some(code) = &query.code else {
        return refuse("no_code").map(Err);
    };
    let client = client_for(state, db, &provider, metadata, slug)?;
    let http = state.oidc_http.clone();
    let http_client = move |request: openidconnect::HttpRequest| {
        let http = http.clone();
        async move { send(&http, request).await }
    };
    let request = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
    let Ok(tokens) = request.request_async(&http_client).await else {
        return refuse("token_exchange").map(Err);
    };
    let Some(id_token) = tokens.id_token() else {
        return refuse("no_id_token").map(Err);
    };
    let verifier = client.id_token_verifier();
    let claims = match id_token.claims(&verifier, &Nonce::new(flow.nonce.clone())) {
        Ok(claims) => claims,
        Err(openidconnect::ClaimsVerificationError::InvalidNonce(_)) => {
            return refuse("bad_nonce").map(Err);
        }
        Err(_) => return refuse("bad_id_token").map(Err),
    };
    let issuer = claims.issuer().as_str().to_owned();
    let subject = claims.subject().as_str().to_owned();
    if let Some(user_id) = sso::linked_user(db, &issuer, &subject).await? {
        return Ok(Ok((user_id, "linked")));
    }
    let verified = claims.email_verified().unwrap_or(false);
    let Some(email) = claims
        .email()
        .and_then(|e| EmailAddress::parse(e.as_str()).ok())
    else {
        return refuse("no_email").map(Err);
    };
    if !verified {
        return refuse("email_not_verified").map(Err);
    }
    // Link to the existing account with this address, when the tenant allows it.
    let existing = accounts::login_by_email(db, email.as_str()).await?;
    if let Some(existing) = existing {
        if !provider.link_by_email || existing.status == "disabled" {
            return refuse("linking_not_allowed").map(Err);
        }
        // A customer's provider may only speak for its own organization's people.
        if let Some(organization) = provider.organization_id {
            let user =
                people::get_user(db, existing.user_id, portico_tenants::policy::Scope::All).await?;
            if user.organization_id != Some(organization) {
                return refuse("other_organization").map(Err);
            }
        }
        sso::link(db, &issuer, &subject, existing.user_id, "email").await?;
        return Ok(Ok((existing.user_id, "linked_by_email")));
    }
    // Just-in-time contact: only into the provider's own organization, and only for
    // an address at one of that organization's domains.
    let Some(organization) = provider.organization_id else {
        return refuse("unknown_staff_member").map(Err);
    };
    let domain = email.as_str().rsplit('@').next().unwrap_or("");
    let owner = sso::provider_for_domain(db, domain).await?;
    if owner.map(|p| p.id) != Some(provider.id) {
        return refuse("foreign_domain").map(Err);
    }
    let user = people::create_user(
        db,
        NewUser {
            email,
            display_name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            role: Role::Contact,
            invite: false,
            organization_id: Some(organization),
        },
    )
    .await?;
    sso::link(db, &issuer, &subject, user.id, "just_in_time").await?;
    Ok(Ok((user.id, "provisioned")))
}
