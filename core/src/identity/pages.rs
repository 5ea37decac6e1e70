//! The sign-in pages of a tenant's portal, all plain HTML forms that work without
//! JavaScript: sign-in, second factor, authenticator enrolment with recovery codes,
//! invitation acceptance, sign-out, and the list of one's own sessions.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::TenantDb;
use portico_tenants::accounts::{self, NewSession, SessionState};
use portico_tenants::audit::AuditEntry;
use portico_tenants::clock::now_ms;
use portico_tenants::tokens::hash_token;
use serde::Deserialize;

use super::session::{self, CurrentSession};
use super::totp;
use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::state::AppState;

/// The sign-in routes of a tenant host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route(
            "/login/second-factor",
            get(second_factor_page).post(second_factor_submit),
        )
        .route("/enrol/totp", get(enrol_page).post(enrol_submit))
        .route("/invite/{token}", get(invite_page).post(invite_submit))
        .route(
            "/login/reset",
            get(reset_request_page).post(reset_request_submit),
        )
        .route("/reset/{token}", get(reset_page).post(reset_submit))
        .route("/logout", post(logout))
        .route("/account/sessions", get(sessions_page))
        .route("/account/sessions/end", post(end_session))
}

pub(crate) fn form<T>(input: Result<Form<T>, FormRejection>) -> Result<T, ApiError> {
    input
        .map(|Form(value)| value)
        .map_err(|rejection| ApiError::Invalid {
            field: "form".to_owned(),
            reason: rejection.body_text(),
        })
}

pub(crate) fn client(connect: &ConnectInfo<SocketAddr>, headers: &HeaderMap) -> (String, String) {
    let agent: String = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    (connect.0.ip().to_string(), agent)
}

/// The pre-session CSRF token: the cookie's, or a new one to set.
pub(crate) fn login_csrf(state: &AppState, headers: &HeaderMap) -> (String, bool) {
    match session::read_cookie(headers, session::csrf_cookie_name(&state.settings)) {
        Some(token) if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (token, false)
        }
        _ => (session::new_csrf_token(), true),
    }
}

pub(crate) fn with_csrf_cookie(
    state: &AppState,
    mut response: Response,
    token: &str,
    fresh: bool,
) -> Response {
    if fresh {
        session::append_cookie(
            response.headers_mut(),
            session::set_cookie(
                &state.settings,
                session::csrf_cookie_name(&state.settings),
                token,
                None,
            ),
        );
    }
    response
}

pub(crate) fn check_login_csrf(
    state: &AppState,
    headers: &HeaderMap,
    submitted: &str,
) -> Result<(), ApiError> {
    session::check_origin(&state.settings, headers)?;
    let expected = session::read_cookie(headers, session::csrf_cookie_name(&state.settings))
        .unwrap_or_default();
    if session::tokens_match(&expected, submitted) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

pub(crate) fn check_session_csrf(
    state: &AppState,
    headers: &HeaderMap,
    current: &CurrentSession,
    submitted: &str,
) -> Result<(), ApiError> {
    session::check_origin(&state.settings, headers)?;
    if session::tokens_match(&current.session.csrf_token, submitted) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The idle limit of a session, milliseconds.
pub(crate) fn idle_ms(state: &AppState) -> i64 {
    state.settings.session_idle_minutes as i64 * 60_000
}

/// Starts a session (new id) and returns the redirect carrying its cookie.
async fn start_session(
    state: &AppState,
    db: &TenantDb,
    user_id: i64,
    session_state: SessionState,
    (ip, agent): (&str, &str),
    audit: AuditEntry,
    to: &str,
) -> Result<Response, ApiError> {
    let id = session::new_session_id();
    let csrf = session::new_csrf_token();
    let absolute_ms = state.settings.session_absolute_hours as i64 * 3_600_000;
    let mut tx = db.begin().await?;
    state
        .sessions
        .create(
            db,
            &mut tx,
            NewSession {
                id_hash: &hash_token(&id),
                user_id,
                state: session_state,
                csrf_token: &csrf,
                expires_at: now_ms() + absolute_ms,
                ip,
                user_agent: agent,
            },
            idle_ms(state),
        )
        .await?;
    tx.audit(audit).await?;
    tx.commit().await?;
    let mut response = Redirect::to(to).into_response();
    session::append_cookie(
        response.headers_mut(),
        session::set_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
            &id,
            None,
        ),
    );
    Ok(response)
}

/// Gives a session a new id and state (after each sign-in step) and returns the
/// response with the new cookie.
pub(crate) async fn advance_session(
    state: &AppState,
    db: &TenantDb,
    current: &CurrentSession,
    next: SessionState,
    audit: AuditEntry,
    mut response: Response,
) -> Result<Response, ApiError> {
    let id = session::new_session_id();
    let mut tx = db.begin().await?;
    let rotated = state
        .sessions
        .rotate(
            db,
            &mut tx,
            current.user.user_id,
            &current.session.id_hash,
            &hash_token(&id),
            &session::new_csrf_token(),
            next,
            false,
            idle_ms(state),
        )
        .await?;
    if !rotated {
        tx.rollback().await?;
        return Err(ApiError::Unauthorized);
    }
    if next == SessionState::Active {
        accounts::note_login(&mut tx, current.user.user_id).await?;
    }
    tx.audit(audit).await?;
    tx.commit().await?;
    session::append_cookie(
        response.headers_mut(),
        session::set_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
            &id,
            None,
        ),
    );
    Ok(response)
}

/// The 429 page, with `Retry-After`.
pub(crate) fn too_many(state: &AppState, locale: Locale, seconds: u64) -> Response {
    let minutes = seconds.div_ceil(60).max(1).to_string();
    let mut response = render(
        state,
        StatusCode::TOO_MANY_REQUESTS,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("rate-limited-title"),
            body => locale.text_with("rate-limited-body", &[("minutes", minutes.as_str())]),
        },
    );
    if let Ok(value) = http::HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

fn limit_error(error: crate::ratelimit::LimitError) -> ApiError {
    ApiError::Internal(anyhow::Error::new(error))
}

/// Applies the per-address ceiling of `purpose` in this tenant.
async fn address_limit(
    state: &AppState,
    tenant: &TenantDb,
    purpose: &str,
    ip: &str,
) -> Result<Option<u64>, ApiError> {
    state
        .limits
        .address(
            &format!("{purpose}:addr:{}:{ip}", tenant.id()),
            state.settings.login_address_limit,
        )
        .await
        .map_err(limit_error)
}

fn actor(user_id: i64) -> String {
    format!("user:{user_id}")
}

pub(crate) fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn totp_context(tenant: &TenantDb, user_id: i64) -> String {
    format!("tenant:{}:user:{user_id}:totp", tenant.id())
}

// ----- sign-in -----------------------------------------------------------------

async fn login_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    if let Some(current) = session::load(&state, &db, &headers).await? {
        return Ok(Redirect::to(next_step(current.session.state)).into_response());
    }
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = login_form(
        &state,
        locale,
        &tenant.name,
        &csrf,
        "",
        None,
        StatusCode::OK,
    );
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

fn next_step(state: SessionState) -> &'static str {
    match state {
        SessionState::Active => "/",
        SessionState::SecondFactor => "/login/second-factor",
        SessionState::Enrolment => "/enrol/totp",
    }
}

fn login_form(
    state: &AppState,
    locale: Locale,
    tenant_name: &str,
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
            tenant => tenant_name,
            email_label => locale.text("login-email"),
            password_label => locale.text("login-password"),
            submit => locale.text("login-submit"),
            sso_heading => locale.text("login-sso-heading"),
            forgot => locale.text("reset-link"),
            sso_submit => locale.text("login-sso-submit"),
            error => error.map(|id| locale.text(id)),
            email => email,
            csrf => csrf,
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginInput {
    email: String,
    password: String,
    csrf: String,
}

async fn login_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<LoginInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let db = tenant.db(&state.store)?;
    let email = input.email.trim().to_lowercase();
    let (ip, agent) = client(&connect, &headers);
    if let Some(wait) = address_limit(&state, &db, "login", &ip).await? {
        return Ok(too_many(&state, locale, wait));
    }
    // Keyed by the typed address, so unknown accounts slow down exactly like real ones.
    let account_key = format!(
        "login:acct:{}:{}",
        db.id(),
        email.chars().take(254).collect::<String>()
    );
    if let Some(wait) = state
        .limits
        .account_wait(&account_key)
        .await
        .map_err(limit_error)?
    {
        return Ok(too_many(&state, locale, wait));
    }
    let record = if email.len() <= 254 {
        accounts::login_by_email(&db, &email).await?
    } else {
        None
    };
    // Unknown, disabled and password-less accounts are checked against a dummy hash:
    // the answer and its timing are the same as for a wrong password.
    let usable = record
        .as_ref()
        .filter(|r| r.status != "disabled" && r.password_hash.is_some());
    let stored = usable.and_then(|r| r.password_hash.as_deref());
    let (matched, rehash) = state
        .passwords
        .verify(stored, &input.password)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let Some(user) = usable.filter(|_| matched) else {
        state
            .limits
            .account_failed(&account_key)
            .await
            .map_err(limit_error)?;
        portico_tenants::audit::append(
            &db,
            AuditEntry {
                actor: format!("ip:{ip}"),
                action: "auth.login.failed",
                target: format!("email:{}", email.chars().take(254).collect::<String>()),
                details: serde_json::json!({ "user_agent": agent }),
            },
        )
        .await?;
        let (csrf, _) = login_csrf(&state, &headers);
        return Ok(login_form(
            &state,
            locale,
            &tenant.name,
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
        .map_err(limit_error)?;
    if rehash && let Some(old) = stored {
        match state.passwords.hash(&input.password).await {
            Ok(new) => accounts::rehash_password(&db, user.user_id, old, &new).await?,
            Err(error) => tracing::warn!(%error, "password re-hash skipped"),
        }
    }
    let next = next_after_password(&db, user).await?;
    start_session(
        &state,
        &db,
        user.user_id,
        next,
        (&ip, &agent),
        AuditEntry {
            actor: actor(user.user_id),
            action: "auth.password.accepted",
            target: actor(user.user_id),
            details: serde_json::json!({ "ip": ip, "next": next }),
        },
        next_step(next),
    )
    .await
}

// ----- second factor -----------------------------------------------------------

pub(crate) async fn require_session(
    state: &AppState,
    db: &TenantDb,
    headers: &HeaderMap,
    wanted: SessionState,
) -> Result<Result<CurrentSession, Response>, ApiError> {
    match session::load(state, db, headers).await? {
        Some(current) if current.session.state == wanted => Ok(Ok(current)),
        Some(current) => Ok(Err(
            Redirect::to(next_step(current.session.state)).into_response()
        )),
        None => Ok(Err(Redirect::to("/login").into_response())),
    }
}

pub(crate) fn second_factor_form(
    state: &AppState,
    locale: Locale,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
    sms_button: Option<&str>,
) -> Response {
    render(
        state,
        status,
        "second_factor.html",
        context! {
            lang => locale.tag(),
            title => locale.text("second-factor-title"),
            help => locale.text("second-factor-help"),
            code_label => locale.text("second-factor-code"),
            submit => locale.text("second-factor-submit"),
            error => error.map(|id| locale.text(id)),
            csrf => csrf,
            sms => sms_button.map(|phone| locale.text_with("second-factor-sms-send", &[("phone", phone)])),
        },
    )
}

async fn second_factor_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    Ok(
        match require_session(&state, &db, &headers, SessionState::SecondFactor).await? {
            Ok(current) => {
                let phone = sms_phone(&db, &current).await?;
                second_factor_form(
                    &state,
                    locale,
                    &current.session.csrf_token,
                    None,
                    StatusCode::OK,
                    phone.as_deref(),
                )
            }
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
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<CodeInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::SecondFactor).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    let user_id = current.user.user_id;
    if let Some(wait) = address_limit(&state, &db, "mfa", &connect.0.ip().to_string()).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let account_key = format!("mfa:acct:{}:{user_id}", db.id());
    if let Some(wait) = state
        .limits
        .account_wait(&account_key)
        .await
        .map_err(limit_error)?
    {
        return Ok(too_many(&state, locale, wait));
    }
    let secret = current.user.totp_secret.as_deref().and_then(|sealed| {
        state
            .master_key
            .open(&totp_context(&db, user_id), sealed)
            .ok()
    });
    let mut method = None;
    if let Some(secret) = &secret
        && let Some(step) = totp::matching_step(secret, &input.code, unix_seconds())
        && accounts::accept_totp_step(&db, user_id, step).await?
    {
        method = Some("totp");
    }
    if method.is_none() {
        let normalized = totp::normalize_recovery_code(&input.code);
        if normalized.len() == 11
            && accounts::use_recovery_code(&db, user_id, &hash_token(&normalized)).await?
        {
            method = Some("recovery_code");
        }
    }
    let Some(method) = method else {
        state
            .limits
            .account_failed(&account_key)
            .await
            .map_err(limit_error)?;
        portico_tenants::audit::append(
            &db,
            AuditEntry {
                actor: actor(user_id),
                action: "auth.second_factor.failed",
                target: actor(user_id),
                details: serde_json::json!({}),
            },
        )
        .await?;
        let phone = sms_phone(&db, &current).await?;
        return Ok(second_factor_form(
            &state,
            locale,
            &current.session.csrf_token,
            Some("second-factor-failed"),
            StatusCode::UNAUTHORIZED,
            phone.as_deref(),
        ));
    };
    state
        .limits
        .account_succeeded(&account_key)
        .await
        .map_err(limit_error)?;
    advance_session(
        &state,
        &db,
        &current,
        SessionState::Active,
        AuditEntry {
            actor: actor(user_id),
            action: "auth.login.succeeded",
            target: actor(user_id),
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
    tenant_name: &str,
    current: &CurrentSession,
    secret: &[u8],
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let sealed = state
        .master_key
        .seal(&format!("enrol:{}", current.session.id_hash), secret);
    let (url, manual) =
        totp::provisioning(secret, tenant_name, &current.user.email).unwrap_or_default();
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
            sms_heading => locale.text("enrol-sms-heading"),
            phone_label => locale.text("stepup-phone"),
            sms_submit => locale.text("stepup-send"),
            csrf => &current.session.csrf_token,
        },
    )
}

async fn enrol_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    Ok(
        match require_session(&state, &db, &headers, SessionState::Enrolment).await? {
            Ok(current) => enrol_form(
                &state,
                locale,
                &tenant.name,
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
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<EnrolInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::Enrolment).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    // The secret travelled in the form, sealed to this session: it cannot be chosen
    // by the client nor replayed into another session.
    let secret = state
        .master_key
        .open(
            &format!("enrol:{}", current.session.id_hash),
            &input.pending,
        )
        .map_err(|_| ApiError::Forbidden)?;
    let Some(step) = totp::matching_step(&secret, &input.code, unix_seconds()) else {
        return Ok(enrol_form(
            &state,
            locale,
            &tenant.name,
            &current,
            &secret,
            Some("second-factor-failed"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    let user_id = current.user.user_id;
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|code| hash_token(code)).collect();
    let sealed = state.master_key.seal(&totp_context(&db, user_id), &secret);
    let mut tx = db.begin().await?;
    accounts::enrol_totp(&mut tx, user_id, &sealed, step, &hashes).await?;
    tx.commit().await?;
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
    advance_session(
        &state,
        &db,
        &current,
        SessionState::Active,
        AuditEntry {
            actor: actor(user_id),
            action: "auth.totp.enrolled",
            target: actor(user_id),
            details: serde_json::json!({ "recovery_codes": 10 }),
        },
        page,
    )
    .await
}

// ----- invitation --------------------------------------------------------------

fn invite_form(
    state: &AppState,
    locale: Locale,
    tenant_name: &str,
    csrf: &str,
    email: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let title = locale.text_with("invite-title", &[("tenant", tenant_name)]);
    choose_password_form(state, locale, &title, csrf, email, error, status)
}

/// The form that sets a first password from a single-use link (an invitation, or an
/// operator's set-up link); `email` is shown when known, asked for otherwise.
pub(crate) fn choose_password_form(
    state: &AppState,
    locale: Locale,
    title: &str,
    csrf: &str,
    email: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    render(
        state,
        status,
        "invite.html",
        context! {
            lang => locale.tag(),
            title => title,
            help => locale.text("invite-help"),
            email_label => locale.text("login-email"),
            password_label => locale.text("login-password"),
            again_label => locale.text("invite-password-again"),
            submit => locale.text("invite-submit"),
            error => error.map(|id| locale.text(id)),
            email => email,
            csrf => csrf,
            hide_email => false,
        },
    )
}

fn invalid_invitation(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::GONE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("invite-invalid-title"),
            body => locale.text("invite-invalid"),
        },
    )
}

async fn invite_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let Some(invitation) = accounts::peek_invitation(&db, &token).await? else {
        return Ok(invalid_invitation(&state, locale));
    };
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = invite_form(
        &state,
        locale,
        &tenant.name,
        &csrf,
        invitation.email.as_deref(),
        None,
        StatusCode::OK,
    );
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

#[derive(Debug, Deserialize)]
struct InviteInput {
    #[serde(default)]
    email: String,
    password: String,
    password_again: String,
    csrf: String,
}

async fn invite_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    input: Result<Form<InviteInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let db = tenant.db(&state.store)?;
    if let Some(wait) = address_limit(&state, &db, "invite", &connect.0.ip().to_string()).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let Some(invitation) = accounts::peek_invitation(&db, &token).await? else {
        return Ok(invalid_invitation(&state, locale));
    };
    let email = match &invitation.email {
        Some(email) => email.clone(),
        None => match portico_tenants::ids::EmailAddress::parse(&input.email) {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => {
                return Ok(invite_form(
                    &state,
                    locale,
                    &tenant.name,
                    &input.csrf,
                    None,
                    Some("invite-email-invalid"),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        },
    };
    let shown_email = invitation.email.as_deref();
    if input.password != input.password_again {
        return Ok(invite_form(
            &state,
            locale,
            &tenant.name,
            &input.csrf,
            shown_email,
            Some("password-mismatch"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if let Err(problem) = state.passwords.check(&input.password, &email) {
        return Ok(invite_form(
            &state,
            locale,
            &tenant.name,
            &input.csrf,
            shown_email,
            Some(problem.message_id()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let hash = state
        .passwords
        .hash(&input.password)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let mut tx = db.begin().await?;
    let Some(used) = accounts::consume_invitation(&mut tx, &token).await? else {
        tx.rollback().await?;
        return Ok(invalid_invitation(&state, locale));
    };
    let user_id = match used.user_id {
        Some(user_id) => user_id,
        None => match accounts::create_admin_from_invitation(&mut tx, &email, used.role).await {
            Ok(user_id) => user_id,
            Err(portico_tenants::StoreError::Conflict(_)) => {
                tx.rollback().await?;
                return Ok(invite_form(
                    &state,
                    locale,
                    &tenant.name,
                    &input.csrf,
                    None,
                    Some("invite-email-taken"),
                    StatusCode::CONFLICT,
                ));
            }
            Err(error) => return Err(error.into()),
        },
    };
    accounts::set_password(&mut tx, user_id, &hash).await?;
    tx.audit(AuditEntry {
        actor: actor(user_id),
        action: "auth.invitation.accepted",
        target: actor(user_id),
        details: serde_json::json!({ "role": used.role }),
    })
    .await?;
    tx.commit().await?;
    let (ip, agent) = client(&connect, &headers);
    start_session(
        &state,
        &db,
        user_id,
        SessionState::Enrolment,
        (&ip, &agent),
        AuditEntry {
            actor: actor(user_id),
            action: "auth.password.set",
            target: actor(user_id),
            details: serde_json::json!({ "ip": ip }),
        },
        "/enrol/totp",
    )
    .await
}

// ----- sign-out and sessions ---------------------------------------------------

#[derive(Debug, Deserialize)]
struct CsrfInput {
    csrf: String,
    #[serde(default)]
    session: String,
}

async fn logout(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    input: Result<Form<CsrfInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let mut response = Redirect::to("/login").into_response();
    session::append_cookie(
        response.headers_mut(),
        session::clear_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
        ),
    );
    let Some(current) = session::load(&state, &db, &headers).await? else {
        return Ok(response);
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    state
        .sessions
        .end_one(&db, current.user.user_id, &current.session.id_hash)
        .await?;
    portico_tenants::audit::append(
        &db,
        AuditEntry {
            actor: actor(current.user.user_id),
            action: "auth.logout",
            target: actor(current.user.user_id),
            details: serde_json::json!({}),
        },
    )
    .await?;
    Ok(response)
}

async fn sessions_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::Active).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    let locale = Locale::from_tag(&current.user.locale).unwrap_or(locale);
    let zone = crate::i18n::zone_of(&db, &current.user.time_zone).await?;
    let sessions: Vec<minijinja::Value> = state
        .sessions
        .list(&db, current.user.user_id)
        .await?
        .into_iter()
        .map(|s| {
            context! {
                id => s.id_hash,
                current => s.id_hash == current.session.id_hash,
                started => locale.date_time(s.created_at, &zone),
                last_seen => locale.date_time(s.last_seen_at, &zone),
                ip => s.ip,
                agent => s.user_agent,
            }
        })
        .collect();
    Ok(render(
        &state,
        StatusCode::OK,
        "sessions.html",
        context! {
            lang => locale.tag(),
            title => locale.text("sessions-title"),
            current_label => locale.text("sessions-current"),
            end_label => locale.text("sessions-end"),
            started_label => locale.text("sessions-started"),
            last_seen_label => locale.text("sessions-last-seen"),
            home_label => locale.text("nav-home"),
            sessions => sessions,
            csrf => &current.session.csrf_token,
        },
    ))
}

async fn end_session(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    headers: HeaderMap,
    input: Result<Form<CsrfInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::Active).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    if state
        .sessions
        .end_one(&db, current.user.user_id, &input.session)
        .await?
    {
        portico_tenants::audit::append(
            &db,
            AuditEntry {
                actor: actor(current.user.user_id),
                action: "auth.session.revoked",
                target: actor(current.user.user_id),
                details: serde_json::json!({}),
            },
        )
        .await?;
    }
    Ok(Redirect::to("/account/sessions").into_response())
}

/// The tenant setting that lets contacts sign in without a second factor.
pub const CONTACTS_SECOND_FACTOR_OPTIONAL: &str = "contacts_second_factor_optional";

/// Where a person goes after their password was accepted: their second factor, or
/// enrolment of one — unless they are a customer contact, have none, and the tenant
/// made it optional for contacts (an audited setting); staff always need one.
async fn next_after_password(
    db: &TenantDb,
    user: &accounts::LoginRecord,
) -> Result<SessionState, ApiError> {
    if matches!(user.second_factor.as_deref(), Some("totp" | "sms")) {
        return Ok(SessionState::SecondFactor);
    }
    let contact = matches!(
        user.role,
        portico_tenants::Role::Contact | portico_tenants::Role::MainContact
    );
    let optional = accounts::tenant_setting(db, CONTACTS_SECOND_FACTOR_OPTIONAL).await?
        == Some(serde_json::Value::Bool(true));
    Ok(if contact && optional {
        SessionState::Active
    } else {
        SessionState::Enrolment
    })
}

// ----- password reset ----------------------------------------------------------

fn reset_request_form(state: &AppState, locale: Locale, csrf: &str, sent: bool) -> Response {
    render(
        state,
        StatusCode::OK,
        "reset_request.html",
        context! {
            lang => locale.tag(),
            title => locale.text("reset-title"),
            help => locale.text("reset-help"),
            email_label => locale.text("login-email"),
            submit => locale.text("reset-submit"),
            back => locale.text("login-title"),
            sent => sent.then(|| locale.text("reset-sent")),
            csrf => csrf,
        },
    )
}

async fn reset_request_page(
    State(state): State<AppState>,
    locale: Locale,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = reset_request_form(&state, locale, &csrf, false);
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

#[derive(Debug, Deserialize)]
struct ResetRequestInput {
    email: String,
    csrf: String,
}

async fn reset_request_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<ResetRequestInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let db = tenant.db(&state.store)?;
    if let Some(wait) = address_limit(&state, &db, "reset", &connect.0.ip().to_string()).await? {
        return Ok(too_many(&state, locale, wait));
    }
    let email = input.email.trim().to_lowercase();
    let account_key = format!(
        "reset:acct:{}:{}",
        db.id(),
        email.chars().take(254).collect::<String>()
    );
    if state
        .limits
        .account_wait(&account_key)
        .await
        .map_err(limit_error)?
        .is_none()
    {
        state
            .limits
            .account_failed(&account_key)
            .await
            .map_err(limit_error)?;
        if let Some(user) = accounts::login_by_email(&db, &email).await?
            && user.status != "disabled"
        {
            // The mail subscriber issues the link, so no usable token is stored in clear.
            let mut tx = db.begin().await?;
            tx.emit(portico_tenants::outbox::NewEvent {
                aggregate_type: "user",
                aggregate_id: user.user_id.to_string(),
                event_type: "user.password_reset_requested",
                payload: serde_json::json!({ "user_id": user.user_id }),
            })
            .await?;
            tx.audit(AuditEntry {
                actor: format!("ip:{}", connect.0.ip()),
                action: "auth.password_reset.requested",
                target: actor(user.user_id),
                details: serde_json::json!({}),
            })
            .await?;
            tx.commit().await?;
        }
    }
    // The same answer whether or not the address has an account, and when throttled.
    Ok(reset_request_form(&state, locale, &input.csrf, true))
}

fn reset_form(
    state: &AppState,
    locale: Locale,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    render(
        state,
        status,
        "invite.html",
        context! {
            lang => locale.tag(),
            title => locale.text("reset-new-title"),
            help => locale.text("invite-help"),
            email_label => locale.text("login-email"),
            password_label => locale.text("login-password"),
            again_label => locale.text("invite-password-again"),
            submit => locale.text("invite-submit"),
            error => error.map(|id| locale.text(id)),
            email => "",
            csrf => csrf,
            hide_email => true,
        },
    )
}

async fn reset_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    if accounts::peek_password_reset(&db, &token).await?.is_none() {
        return Ok(invalid_invitation(&state, locale));
    }
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = reset_form(&state, locale, &csrf, None, StatusCode::OK);
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

async fn reset_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    input: Result<Form<InviteInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let db = tenant.db(&state.store)?;
    let Some(user_id) = accounts::peek_password_reset(&db, &token).await? else {
        return Ok(invalid_invitation(&state, locale));
    };
    let Some(user) = accounts::login_by_id(&db, user_id).await? else {
        return Ok(invalid_invitation(&state, locale));
    };
    if input.password != input.password_again {
        return Ok(reset_form(
            &state,
            locale,
            &input.csrf,
            Some("password-mismatch"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    if let Err(problem) = state.passwords.check(&input.password, &user.email) {
        return Ok(reset_form(
            &state,
            locale,
            &input.csrf,
            Some(problem.message_id()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let hash = state
        .passwords
        .hash(&input.password)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let mut tx = db.begin().await?;
    if accounts::consume_password_reset(&mut tx, &token).await? != Some(user_id) {
        tx.rollback().await?;
        return Ok(invalid_invitation(&state, locale));
    }
    accounts::set_password(&mut tx, user_id, &hash).await?;
    let ended = state.sessions.end_all(&db, &mut tx, user_id).await?;
    tx.audit(AuditEntry {
        actor: actor(user_id),
        action: "auth.password.reset",
        target: actor(user_id),
        details: serde_json::json!({ "sessions_ended": ended }),
    })
    .await?;
    tx.commit().await?;
    // A reset never bypasses the second factor: the new session still has to pass it.
    let next = next_after_password(&db, &user).await?;
    let (ip, agent) = client(&connect, &headers);
    start_session(
        &state,
        &db,
        user_id,
        next,
        (&ip, &agent),
        AuditEntry {
            actor: actor(user_id),
            action: "auth.password.accepted",
            target: actor(user_id),
            details: serde_json::json!({ "ip": ip, "next": next, "after": "reset" }),
        },
        next_step(next),
    )
    .await
}

/// The masked number of a person whose second factor is SMS.
async fn sms_phone(db: &TenantDb, current: &CurrentSession) -> Result<Option<String>, ApiError> {
    if current.user.second_factor.as_deref() != Some("sms") {
        return Ok(None);
    }
    Ok(accounts::verified_phone(db, current.user.user_id)
        .await?
        .map(|p| crate::sms::mask_phone(&p)))
}
