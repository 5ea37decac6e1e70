//! Sign-in for platform admins on the operator host (`admin.<base domain>`): the
//! set-up link printed at first start (or made by `portico admin create`) leads to
//! choosing a password and enrolling an authenticator app — mandatory for
//! operators — then sign-in with password and code, sessions of their own in the
//! platform schema, and the signed-in console home. Plain HTML forms, the same
//! CSRF, cookie, rate-limit and audit rules as the tenant portal.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::accounts::SessionState;
use portico_tenants::audit::AuditEntry;
use portico_tenants::clock::now_ms;
use portico_tenants::operators::{self, Operator, OperatorSession};
use portico_tenants::tokens::hash_token;
use serde::Deserialize;

use super::pages::{
    check_login_csrf, client, form, login_csrf, too_many, unix_seconds, with_csrf_cookie,
};
use super::session;
use super::totp;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::state::AppState;

/// The operator host's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/setup/{token}", get(setup_page).post(setup_submit))
        .route("/login", get(login_page).post(login_submit))
        .route(
            "/login/second-factor",
            get(second_factor_page).post(second_factor_submit),
        )
        .route("/enrol/totp", get(enrol_page).post(enrol_submit))
        .route("/logout", post(logout))
        .merge(super::operator_tenants::router())
}

/// A signed-in (or signing-in) operator.
pub(super) struct Current {
    pub(super) session: OperatorSession,
    pub(super) operator: Operator,
}

pub(super) fn actor(id: i64) -> String {
    format!("operator:{id}")
}

fn totp_context(id: i64) -> String {
    format!("platform:operator:{id}:totp")
}

fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}

pub(super) fn check_session_csrf(
    state: &AppState,
    headers: &HeaderMap,
    current: &Current,
    submitted: &str,
) -> Result<(), ApiError> {
    session::check_origin(&state.settings, headers)?;
    if session::tokens_match(&current.session.csrf_token, submitted) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The operator session of this request, if any.
async fn load(state: &AppState, headers: &HeaderMap) -> Result<Option<Current>, ApiError> {
    let Some(id) = session::read_cookie(headers, session::session_cookie_name(&state.settings))
    else {
        return Ok(None);
    };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let idle_ms = super::pages::idle_ms(state);
    let Some(session) = operators::find_session(&state.store, &hash_token(&id), idle_ms).await?
    else {
        return Ok(None);
    };
    let Some(operator) = operators::by_id(&state.store, session.admin_id).await? else {
        return Ok(None);
    };
    Ok(Some(Current { session, operator }))
}

fn next_step(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "/",
        SessionState::SecondFactor => "/login/second-factor",
        SessionState::Enrolment => "/enrol/totp",
    }
}

/// The session in `wanted` state, or the redirect to where this one stands.
pub(super) async fn require(
    state: &AppState,
    headers: &HeaderMap,
    wanted: SessionState,
) -> Result<Result<Current, Response>, ApiError> {
    Ok(match load(state, headers).await? {
        Some(current) if current.session.state == wanted => Ok(current),
        Some(current) => Err(Redirect::to(next_step(current.session.state)).into_response()),
        None => Err(Redirect::to("/login").into_response()),
    })
}

fn session_cookie(state: &AppState, response: &mut Response, id: &str) {
    session::append_cookie(
        response.headers_mut(),
        session::set_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
            id,
            None,
        ),
    );
}

async fn start_session(
    state: &AppState,
    operator: &Operator,
    next: SessionState,
    client: (&str, &str),
    entry: AuditEntry,
) -> Result<Response, ApiError> {
    let id = session::new_session_id();
    let expires_at = now_ms() + state.settings.session_absolute_hours as i64 * 3_600_000;
    operators::create_session(
        &state.store,
        &hash_token(&id),
        operator.id,
        next,
        &session::new_csrf_token(),
        expires_at,
        client,
        entry,
    )
    .await?;
    let mut response = Redirect::to(next_step(next)).into_response();
    session_cookie(state, &mut response, &id);
    Ok(response)
}

async fn advance(
    state: &AppState,
    current: &Current,
    next: SessionState,
    entry: AuditEntry,
    mut response: Response,
) -> Result<Response, ApiError> {
    let id = session::new_session_id();
    if !operators::rotate_session(
        &state.store,
        &current.session.id_hash,
        &hash_token(&id),
        &session::new_csrf_token(),
        next,
        entry,
    )
    .await?
    {
        return Err(ApiError::Unauthorized);
    }
    session_cookie(state, &mut response, &id);
    Ok(response)
}

/// The per-address ceiling of `purpose` on the operator host.
async fn address_limit(state: &AppState, purpose: &str, ip: &str) -> Result<Option<u64>, ApiError> {
    state
        .limits
        .address(
            &format!("operator-{purpose}:addr:{ip}"),
            state.settings.login_address_limit,
        )
        .await
        .map_err(internal)
}

// ----- home --------------------------------------------------------------------

async fn home(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let current = match load(&state, &headers).await? {
        Some(current) if current.session.state == SessionState::Active => current,
        Some(current) => return Ok(Redirect::to(next_step(current.session.state)).into_response()),
        None => {
            return Ok(render(
                &state,
                StatusCode::OK,
                "operator_home.html",
                context! {
                    lang => locale.tag(),
                    title => locale.text("operator-title"),
                    welcome => locale.text("operator-welcome"),
                    login_label => locale.text("login-title"),
                    signed_in => None::<String>,
                },
            ));
        }
    };
    super::operator_tenants::home_view(&state, locale, &current, None).await
}

// ----- set-up link -------------------------------------------------------------

fn setup_form(
    state: &AppState,
    locale: Locale,
    csrf: &str,
    email: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let title = locale.text("operator-setup-title");
    super::pages::choose_password_form(state, locale, &title, csrf, email, error, status)
}

fn invalid_setup(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::GONE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("invite-invalid-title"),
            body => locale.text("operator-setup-invalid"),
        },
    )
}

async fn setup_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let Some(setup) = operators::peek_setup_token(&state.store, &token).await? else {
        return Ok(invalid_setup(&state, locale));
    };
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = setup_form(
        &state,
        locale,
        &csrf,
        setup.email.as_deref(),
        None,
        StatusCode::OK,
    );
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

#[derive(Debug, Deserialize)]
struct SetupInput {
    #[serde(default)]
    email: String,
    password: String,
    password_again: String,
    csrf: String,
}

async fn setup_submit(
    State(state): State<AppState>,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    input: Result<Form<SetupInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let (ip, agent) = client(&connect, &headers);
    if let Some(wait) = address_limit(&state, "setup", &ip).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let Some(setup) = operators::peek_setup_token(&state.store, &token).await? else {
        return Ok(invalid_setup(&state, locale));
    };
    let shown = setup.email.as_deref();
    let fail =
        |error: &str, status| setup_form(&state, locale, &input.csrf, shown, Some(error), status);
    let email = match &setup.email {
        Some(email) => email.clone(),
        None => match portico_tenants::ids::EmailAddress::parse(&input.email) {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => {
                return Ok(fail(
                    "invite-email-invalid",
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        },
    };
    if input.password != input.password_again {
        return Ok(fail("password-mismatch", StatusCode::UNPROCESSABLE_ENTITY));
    }
    if let Err(problem) = state.passwords.check(&input.password, &email) {
        return Ok(fail(problem.message_id(), StatusCode::UNPROCESSABLE_ENTITY));
    }
    let hash = state
        .passwords
        .hash(&input.password)
        .await
        .map_err(internal)?;
    let admin_id = match operators::complete_setup(&state.store, &token, &email, &hash, &ip).await {
        Ok(Some(admin_id)) => admin_id,
        Ok(None) => return Ok(invalid_setup(&state, locale)),
        Err(portico_tenants::StoreError::Conflict(_)) => {
            return Ok(fail("invite-email-taken", StatusCode::CONFLICT));
        }
        Err(error) => return Err(error.into()),
    };
    let Some(operator) = operators::by_id(&state.store, admin_id).await? else {
        return Ok(invalid_setup(&state, locale));
    };
    // The authenticator comes next: an operator has no session without one.
    start_session(
        &state,
        &operator,
        SessionState::Enrolment,
        (&ip, &agent),
        AuditEntry {
            actor: actor(admin_id),
            action: "operator.password.accepted",
            target: actor(admin_id),
            details: serde_json::json!({ "ip": ip, "next": "enrolment", "after": "setup" }),
        },
    )
    .await
}

// ----- sign-in -----------------------------------------------------------------

fn login_form(
    state: &AppState,
    locale: Locale,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    render(
        state,
        status,
        "login.html",
        context! {
            lang => locale.tag(),
            title => locale.text("login-title"),
            tenant => locale.text("operator-title"),
            email_label => locale.text("login-email"),
            password_label => locale.text("login-password"),
            submit => locale.text("login-submit"),
            error => error.map(|id| locale.text(id)),
            email => email,
            csrf => csrf,
            // No password reset by e-mail and no single sign-on for operators.
            forgot => None::<String>,
            sso_heading => None::<String>,
        },
    )
}

async fn login_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(current) = load(&state, &headers).await? {
        return Ok(Redirect::to(next_step(current.session.state)).into_response());
    }
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = login_form(&state, locale, &csrf, "", None, StatusCode::OK);
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

#[derive(Debug, Deserialize)]
struct LoginInput {
    email: String,
    password: String,
    csrf: String,
}

async fn login_submit(
    State(state): State<AppState>,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<LoginInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let email: String = input
        .email
        .trim()
        .to_lowercase()
        .chars()
        .take(254)
        .collect();
    let (ip, agent) = client(&connect, &headers);
    if let Some(wait) = address_limit(&state, "login", &ip).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let account_key = format!("operator-login:acct:{email}");
    if let Some(wait) = state
        .limits
        .account_wait(&account_key)
        .await
        .map_err(internal)?
    {
        return Ok(too_many(&state, locale, wait));
    }
    let record = operators::by_email(&state.store, &email).await?;
    // Unknown, disabled and password-less accounts are checked against a dummy hash.
    let usable = record
        .as_ref()
        .filter(|r| r.status != "disabled" && r.password_hash.is_some());
    let stored = usable.and_then(|r| r.password_hash.as_deref());
    let (matched, rehash) = state
        .passwords
        .verify(stored, &input.password)
        .await
        .map_err(internal)?;
    let Some(operator) = usable.filter(|_| matched) else {
        state
            .limits
            .account_failed(&account_key)
            .await
            .map_err(internal)?;
        portico_tenants::audit::append_platform(
            &state.store,
            AuditEntry {
                actor: format!("ip:{ip}"),
                action: "operator.login.failed",
                target: format!("email:{email}"),
                details: serde_json::json!({ "user_agent": agent }),
            },
        )
        .await?;
        let (csrf, _) = login_csrf(&state, &headers);
        return Ok(login_form(
            &state,
            locale,
            &csrf,
            &email,
            Some("login-failed"),
            StatusCode::UNAUTHORIZED,
        ));
    };
    state
        .limits
        .account_succeeded(&account_key)
        .await
        .map_err(internal)?;
    if rehash && let Some(old) = stored {
        match state.passwords.hash(&input.password).await {
            Ok(new) => operators::rehash_password(&state.store, operator.id, old, &new).await?,
            Err(error) => tracing::warn!(%error, "password re-hash skipped"),
        }
    }
    let next = if operator.totp_secret.is_some() {
        SessionState::SecondFactor
    } else {
        SessionState::Enrolment
    };
    start_session(
        &state,
        operator,
        next,
        (&ip, &agent),
        AuditEntry {
            actor: actor(operator.id),
            action: "operator.password.accepted",
            target: actor(operator.id),
            details: serde_json::json!({ "ip": ip, "next": next }),
        },
    )
    .await
}

// ----- second factor -----------------------------------------------------------

fn second_factor_form(
    state: &AppState,
    locale: Locale,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    super::pages::second_factor_form(state, locale, csrf, error, status, None)
}

async fn second_factor_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(
        match require(&state, &headers, SessionState::SecondFactor).await? {
            Ok(current) => second_factor_form(
                &state,
                locale,
                &current.session.csrf_token,
                None,
                StatusCode::OK,
            ),
            Err(redirect) => redirect,
        },
    )
}

#[derive(Debug, Deserialize)]
struct CodeInput {
    code: String,
    csrf: String,
}

async fn second_factor_submit(
    State(state): State<AppState>,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<CodeInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let current = match require(&state, &headers, SessionState::SecondFactor).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    let id = current.operator.id;
    if let Some(wait) = address_limit(&state, "mfa", &connect.0.ip().to_string()).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let account_key = format!("operator-mfa:acct:{id}");
    if let Some(wait) = state
        .limits
        .account_wait(&account_key)
        .await
        .map_err(internal)?
    {
        return Ok(too_many(&state, locale, wait));
    }
    let secret = current
        .operator
        .totp_secret
        .as_deref()
        .and_then(|sealed| state.master_key.open(&totp_context(id), sealed).ok());
    let mut method = None;
    if let Some(secret) = &secret
        && let Some(step) = totp::matching_step(secret, &input.code, unix_seconds())
        && operators::accept_totp_step(&state.store, id, step).await?
    {
        method = Some("totp");
    }
    if method.is_none() {
        let normalized = totp::normalize_recovery_code(&input.code);
        if normalized.len() == 11
            && operators::use_recovery_code(&state.store, id, &hash_token(&normalized)).await?
        {
            method = Some("recovery_code");
        }
    }
    let Some(method) = method else {
        state
            .limits
            .account_failed(&account_key)
            .await
            .map_err(internal)?;
        portico_tenants::audit::append_platform(
            &state.store,
            AuditEntry {
                actor: actor(id),
                action: "operator.second_factor.failed",
                target: actor(id),
                details: serde_json::json!({}),
            },
        )
        .await?;
        return Ok(second_factor_form(
            &state,
            locale,
            &current.session.csrf_token,
            Some("second-factor-failed"),
            StatusCode::UNAUTHORIZED,
        ));
    };
    state
        .limits
        .account_succeeded(&account_key)
        .await
        .map_err(internal)?;
    advance(
        &state,
        &current,
        SessionState::Active,
        AuditEntry {
            actor: actor(id),
            action: "operator.login.succeeded",
            target: actor(id),
            details: serde_json::json!({ "method": method }),
        },
        Redirect::to("/").into_response(),
    )
    .await
}

// ----- authenticator enrolment -------------------------------------------------

fn enrol_form(
    state: &AppState,
    locale: Locale,
    current: &Current,
    secret: &[u8],
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let sealed = state.master_key.seal(
        &format!("operator-enrol:{}", current.session.id_hash),
        secret,
    );
    let issuer = format!("Portico ({})", state.settings.base_domain);
    let (url, manual) =
        totp::provisioning(secret, &issuer, &current.operator.email).unwrap_or_default();
    let qr = totp::qr_svg(&url).unwrap_or_default();
    render(
        state,
        status,
        "enrol_totp.html",
        context! {
            lang => locale.tag(),
            title => locale.text("enrol-title"),
            help => locale.text("enrol-help"),
            manual_label => locale.text("enrol-manual"),
            code_label => locale.text("second-factor-code"),
            submit => locale.text("second-factor-submit"),
            error => error.map(|id| locale.text(id)),
            qr => minijinja::Value::from_safe_string(qr),
            manual => manual,
            pending => sealed,
            csrf => &current.session.csrf_token,
            // Operators enrol an authenticator app; text messages are not offered.
            sms_heading => None::<String>,
        },
    )
}

async fn enrol_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(
        match require(&state, &headers, SessionState::Enrolment).await? {
            Ok(current) => enrol_form(
                &state,
                locale,
                &current,
                &totp::new_secret(),
                None,
                StatusCode::OK,
            ),
            Err(redirect) => redirect,
        },
    )
}

#[derive(Debug, Deserialize)]
struct EnrolInput {
    code: String,
    pending: String,
    csrf: String,
}

async fn enrol_submit(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<EnrolInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let current = match require(&state, &headers, SessionState::Enrolment).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    // The secret travelled in the form sealed to this session: the client can
    // neither choose it nor replay it into another session.
    let secret = state
        .master_key
        .open(
            &format!("operator-enrol:{}", current.session.id_hash),
            &input.pending,
        )
        .map_err(|_| ApiError::Forbidden)?;
    let Some(step) = totp::matching_step(&secret, &input.code, unix_seconds()) else {
        return Ok(enrol_form(
            &state,
            locale,
            &current,
            &secret,
            Some("second-factor-failed"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let id = current.operator.id;
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|code| hash_token(code)).collect();
    let sealed = state.master_key.seal(&totp_context(id), &secret);
    operators::enrol_totp(&state.store, id, &sealed, step, &hashes).await?;
    let page = render(
        &state,
        StatusCode::OK,
        "recovery_codes.html",
        context! {
            lang => locale.tag(),
            title => locale.text("recovery-title"),
            help => locale.text("recovery-help"),
            continue_label => locale.text("continue"),
            codes => codes,
        },
    );
    advance(
        &state,
        &current,
        SessionState::Active,
        AuditEntry {
            actor: actor(id),
            action: "operator.login.succeeded",
            target: actor(id),
            details: serde_json::json!({ "method": "totp_enrolment" }),
        },
        page,
    )
    .await
}

// ----- sign-out ----------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct CsrfInput {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    input: Result<Form<CsrfInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let mut response = Redirect::to("/login").into_response();
    session::append_cookie(
        response.headers_mut(),
        session::clear_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
        ),
    );
    let Some(current) = load(&state, &headers).await? else {
        return Ok(response);
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    operators::end_session(
        &state.store,
        &current.session.id_hash,
        AuditEntry {
            actor: actor(current.operator.id),
            action: "operator.logout",
            target: actor(current.operator.id),
            details: serde_json::json!({}),
        },
    )
    .await?;
    Ok(response)
}
