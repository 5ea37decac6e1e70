//! Text messages as the second factor, the alternative to an authenticator app:
//! enrolment confirms the number with a code, and each sign-in then needs a fresh
//! code sent to it (6 digits, 5 minutes, 5 attempts, stored hashed, resend limits).

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::accounts::{self, CodeCheck, SessionState};
use portico_tenants::audit::AuditEntry;
use serde::Deserialize;

use super::pages::{advance_session, check_session_csrf, require_session};
use super::session::CurrentSession;
use super::stepup::{CodeRequest, SendOutcome, code_hash, limited_page, send_one_time_code};
use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::sms;
use crate::state::AppState;

const ENROL: &str = "enrol_sms";
const LOGIN: &str = "login_sms";
/// Wrong attempts allowed per code.
const ATTEMPTS: i64 = 5;

/// The routes of the SMS factor.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/enrol/sms/send", post(enrol_send))
        .route("/enrol/sms/verify", post(enrol_verify))
        .route("/login/second-factor/send", post(login_send))
        .route("/login/second-factor/sms", post(login_verify))
}

fn form<T>(input: Result<Form<T>, FormRejection>) -> Result<T, ApiError> {
    input.map(|Form(v)| v).map_err(|r| ApiError::Invalid {
        field: "form".into(),
        reason: r.body_text(),
    })
}

fn code_page(
    state: &AppState,
    locale: Locale,
    current: &CurrentSession,
    action: &str,
    phone: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    render(
        state,
        status,
        "sms_code.html",
        context! {
            lang => locale.tag(),
            title => locale.text("second-factor-title"),
            help => locale.text_with("sms-code-sent", &[("phone", sms::mask_phone(phone).as_str())]),
            code_label => locale.text("second-factor-code"),
            submit => locale.text("second-factor-submit"),
            error => error.map(|id| locale.text(id)),
            action => action,
            csrf => &current.session.csrf_token,
        },
    )
}

fn send_failed(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::BAD_GATEWAY,
        "message.html",
        context! { lang => locale.tag(), title => locale.text("second-factor-title"), body => locale.text("stepup-send-failed") },
    )
}

#[derive(Debug, Deserialize)]
struct SendInput {
    csrf: String,
    #[serde(default)]
    phone: String,
}

async fn enrol_send(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<SendInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::Enrolment).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    let Ok(phone) = sms::parse_phone(&input.phone) else {
        return Ok(render(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "message.html",
            context! { lang => locale.tag(), title => locale.text("enrol-sms-heading"), body => locale.text("stepup-phone-invalid") },
        ));
    };
    let ip = connect.0.ip().to_string();
    match send_one_time_code(
        &state,
        &db,
        &tenant.name,
        CodeRequest {
            user_id: current.user.user_id,
            purpose: ENROL,
            phone: &phone,
            ip: &ip,
        },
        locale,
    )
    .await?
    {
        SendOutcome::Sent => Ok(code_page(
            &state,
            locale,
            &current,
            "/enrol/sms/verify",
            &phone,
            None,
            StatusCode::OK,
        )),
        SendOutcome::Limited(wait) => Ok(limited_page(&state, locale, wait)),
        SendOutcome::Failed => Ok(send_failed(&state, locale)),
    }
}

#[derive(Debug, Deserialize)]
struct CodeInput {
    csrf: String,
    code: String,
}

fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

async fn enrol_verify(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<CodeInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::Enrolment).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    let user_id = current.user.user_id;
    let hash = code_hash(&db, user_id, ENROL, &digits(&input.code));
    match accounts::check_sms_code(&db, user_id, ENROL, &hash, ATTEMPTS).await? {
        CodeCheck::Accepted { phone } => {
            let mut tx = db.begin().await?;
            accounts::save_verified_phone(&mut tx, user_id, &phone).await?;
            accounts::set_second_factor(&mut tx, user_id, "sms").await?;
            tx.commit().await?;
            advance_session(
                &state,
                &db,
                &current,
                SessionState::Active,
                AuditEntry {
                    actor: format!("user:{user_id}"),
                    action: "auth.sms.enrolled",
                    target: format!("user:{user_id}"),
                    details: serde_json::json!({ "phone": sms::mask_phone(&phone) }),
                },
                Redirect::to("/").into_response(),
            )
            .await
        }
        CodeCheck::Wrong | CodeCheck::Unusable => Ok(render(
            &state,
            StatusCode::UNAUTHORIZED,
            "message.html",
            context! { lang => locale.tag(), title => locale.text("enrol-sms-heading"), body => locale.text("stepup-code-unusable") },
        )),
    }
}

async fn login_send(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<SendInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    let db = tenant.db(&state.store)?;
    let current = match require_session(&state, &db, &headers, SessionState::SecondFactor).await? {
        Ok(current) => current,
        Err(redirect) => return Ok(redirect),
    };
    check_session_csrf(&state, &headers, &current, &input.csrf)?;
    if current.user.second_factor.as_deref() != Some("sms") {
        return Err(ApiError::Forbidden);
    }
    let Some(phone) = accounts::verified_phone(&db, current.user.user_id).await? else {
        return Err(ApiError::Forbidden);
    };
    let ip = connect.0.ip().to_string();
    match send_one_time_code(
        &state,
        &db,
        &tenant.name,
        CodeRequest {
            user_id: current.user.user_id,
            purpose: LOGIN,
            phone: &phone,
            ip: &ip,
        },
        locale,
    )
    .await?
    {
        SendOutcome::Sent => Ok(code_page(
            &state,
            locale,
            &current,
            "/login/second-factor/sms",
            &phone,
            None,
            StatusCode::OK,
        )),
        SendOutcome::Limited(wait) => Ok(limited_page(&state, locale, wait)),
        SendOutcome::Failed => Ok(send_failed(&state, locale)),
    }
}

async fn login_verify(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
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
    let hash = code_hash(&db, user_id, LOGIN, &digits(&input.code));
    match accounts::check_sms_code(&db, user_id, LOGIN, &hash, ATTEMPTS).await? {
        CodeCheck::Accepted { .. } => {
            advance_session(
                &state,
                &db,
                &current,
                SessionState::Active,
                AuditEntry {
                    actor: format!("user:{user_id}"),
                    action: "auth.login.succeeded",
                    target: format!("user:{user_id}"),
                    details: serde_json::json!({ "method": "sms" }),
                },
                Redirect::to("/").into_response(),
            )
            .await
        }
        check => {
            portico_tenants::audit::append(
                &db,
                AuditEntry {
                    actor: format!("user:{user_id}"),
                    action: "auth.second_factor.failed",
                    target: format!("user:{user_id}"),
                    details: serde_json::json!({ "method": "sms", "unusable": check == CodeCheck::Unusable }),
                },
            )
            .await?;
            let phone = accounts::verified_phone(&db, user_id)
                .await?
                .unwrap_or_default();
            Ok(code_page(
                &state,
                locale,
                &current,
                "/login/second-factor/sms",
                &phone,
                Some("second-factor-failed"),
                StatusCode::UNAUTHORIZED,
            ))
        }
    }
}
