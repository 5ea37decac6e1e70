//! SMS step-up: before a sensitive action (a device action of the self-service
//! module, for instance) the person proves possession of their phone with a fresh
//! code. The first time they enter their number and it is saved on their contact
//! once the code confirms it. A confirmed step-up gives the session a new id and is
//! good for one action within five minutes ([`consume`]).

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::TenantDb;
use portico_tenants::accounts::{self, CodeCheck, SessionState};
use portico_tenants::audit::AuditEntry;
use portico_tenants::tokens::hash_token;
use rand::Rng;
use serde::Deserialize;

use super::session::{self, CurrentSession};
use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::sms;
use crate::state::AppState;

/// Codes live five minutes.
const CODE_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Wrong attempts allowed per code.
const CODE_ATTEMPTS: i64 = 5;
/// Codes one person, or one number, may be sent per 15 minutes.
const SENDS_PER_WINDOW: i64 = 5;
/// A confirmed step-up is good for one action within this time.
pub const STEP_UP_VALIDITY_MS: i64 = 5 * 60 * 1000;
const PURPOSE: &str = "step_up";

/// The step-up routes of a tenant host.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/step-up", get(step_up_page))
        .route("/account/step-up/send", post(send_code))
        .route("/account/step-up/verify", post(verify_code))
}

/// Uses up the session's fresh step-up for one sensitive action: `true` at most
/// once per confirmed code.
pub async fn consume(
    state: &AppState,
    db: &TenantDb,
    current: &CurrentSession,
) -> Result<bool, ApiError> {
    state
        .sessions
        .consume_step_up(db, &current.session.id_hash, STEP_UP_VALIDITY_MS)
        .await
}

/// The stored form of a one-time code: bound to tenant, person and purpose.
pub(crate) fn code_hash(db: &TenantDb, user_id: i64, purpose: &str, code: &str) -> String {
    hash_token(&format!("{}:{user_id}:{purpose}:{code}", db.id()))
}

/// What became of a request to text a code.
pub(crate) enum SendOutcome {
    /// Sent.
    Sent,
    /// A resend limit holds: wait this many seconds.
    Limited(u64),
    /// The gateway failed.
    Failed,
}

/// Texts a fresh one-time code for `purpose` to `phone`, within the resend limits
/// per person, per number and per client address.
/// Where a one-time code goes, and why.
pub(crate) struct CodeRequest<'a> {
    /// The person.
    pub user_id: i64,
    /// What the code is for (`step_up`, `login_sms`, …).
    pub purpose: &'a str,
    /// The number, E.164.
    pub phone: &'a str,
    /// The client address (for its resend limit).
    pub ip: &'a str,
}

pub(crate) async fn send_one_time_code(
    state: &AppState,
    db: &TenantDb,
    tenant_name: &str,
    request: CodeRequest<'_>,
    locale: Locale,
) -> Result<SendOutcome, ApiError> {
    let CodeRequest {
        user_id,
        purpose,
        phone,
        ip,
    } = request;
    let tenant_id = db.id();
    let limits = [
        (format!("sms:user:{tenant_id}:{user_id}"), SENDS_PER_WINDOW),
        (format!("sms:number:{phone}"), SENDS_PER_WINDOW),
        (format!("sms:addr:{ip}"), SENDS_PER_WINDOW * 4),
    ];
    for (key, max) in limits {
        if let Some(wait) = state
            .limits
            .address(&key, max)
            .await
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?
        {
            return Ok(SendOutcome::Limited(wait));
        }
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    accounts::store_sms_code(
        db,
        user_id,
        purpose,
        phone,
        &code_hash(db, user_id, purpose, &code),
        CODE_LIFETIME_MS,
    )
    .await?;
    let text = locale.text_with(
        "stepup-sms",
        &[("tenant", tenant_name), ("code", code.as_str())],
    );
    if let Err(error) = state.sms.send(phone, &text).await {
        tracing::warn!(%error, "one-time code not sent");
        return Ok(SendOutcome::Failed);
    }
    Ok(SendOutcome::Sent)
}

/// The 429 page for a resend limit.
pub(crate) fn limited_page(state: &AppState, locale: Locale, wait: u64) -> Response {
    let minutes = wait.div_ceil(60).max(1).to_string();
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
    if let Ok(value) = http::HeaderValue::from_str(&wait.to_string()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// Only local paths: never an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn active_session(
    state: &AppState,
    db: &TenantDb,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, ApiError> {
    Ok(session::load(state, db, headers)
        .await?
        .filter(|c| c.session.state == SessionState::Active))
}

struct PageText<'a> {
    error: Option<&'a str>,
    phone: Option<String>,
    code_sent: bool,
}

fn page(
    state: &AppState,
    locale: Locale,
    current: &CurrentSession,
    next: &str,
    text: PageText<'_>,
    status: StatusCode,
) -> Response {
    let masked = text.phone.as_deref().map(sms::mask_phone);
    render(
        state,
        status,
        "step_up.html",
        context! {
            lang => locale.tag(),
            title => locale.text("stepup-title"),
            help => match &masked {
                Some(phone) => locale.text_with("stepup-help-known", &[("phone", phone.as_str())]),
                None => locale.text("stepup-help-new"),
            },
            phone_label => locale.text("stepup-phone"),
            send_label => locale.text("stepup-send"),
            code_help => locale.text("stepup-code-help"),
            code_label => locale.text("second-factor-code"),
            verify_label => locale.text("second-factor-submit"),
            error => text.error.map(|id| locale.text(id)),
            known_phone => masked.is_some(),
            code_sent => text.code_sent,
            next => next,
            csrf => &current.session.csrf_token,
        },
    )
}

async fn step_up_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let Some(current) = active_session(&state, &db, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let phone = accounts::verified_phone(&db, current.user.user_id).await?;
    let next = safe_next(query.next.as_deref());
    Ok(page(
        &state,
        locale,
        &current,
        &next,
        PageText {
            error: None,
            phone,
            code_sent: false,
        },
        StatusCode::OK,
    ))
}

#[derive(Debug, Deserialize)]
struct SendInput {
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    next: String,
}

async fn send_code(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    input: Result<Form<SendInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = input.map(|Form(v)| v).map_err(|r| ApiError::Invalid {
        field: "form".into(),
        reason: r.body_text(),
    })?;
    let db = tenant.db(&state.store)?;
    let Some(current) = active_session(&state, &db, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    session::check_origin(&state.settings, &headers)?;
    if !session::tokens_match(&current.session.csrf_token, &input.csrf) {
        return Err(ApiError::Forbidden);
    }
    let next = safe_next(Some(&input.next));
    let user_id = current.user.user_id;
    // A verified number is used as it is; only the first step-up takes a typed one.
    let known = accounts::verified_phone(&db, user_id).await?;
    let phone = match &known {
        Some(phone) => phone.clone(),
        None => match sms::parse_phone(&input.phone) {
            Ok(phone) => phone,
            Err(_) => {
                return Ok(page(
                    &state,
                    locale,
                    &current,
                    &next,
                    PageText {
                        error: Some("stepup-phone-invalid"),
                        phone: None,
                        code_sent: false,
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
        },
    };
    match send_one_time_code(
        &state,
        &db,
        &tenant.name,
        CodeRequest {
            user_id,
            purpose: PURPOSE,
            phone: &phone,
            ip: &connect.0.ip().to_string(),
        },
        locale,
    )
    .await?
    {
        SendOutcome::Sent => {}
        SendOutcome::Limited(wait) => return Ok(limited_page(&state, locale, wait)),
        SendOutcome::Failed => {
            return Ok(page(
                &state,
                locale,
                &current,
                &next,
                PageText {
                    error: Some("stepup-send-failed"),
                    phone: known,
                    code_sent: false,
                },
                StatusCode::BAD_GATEWAY,
            ));
        }
    }
    portico_tenants::audit::append(
        &db,
        AuditEntry {
            actor: format!("user:{user_id}"),
            action: "auth.step_up.code_sent",
            target: format!("user:{user_id}"),
            details: serde_json::json!({ "phone": sms::mask_phone(&phone), "first_time": known.is_none() }),
        },
    )
    .await?;
    Ok(page(
        &state,
        locale,
        &current,
        &next,
        PageText {
            error: None,
            phone: Some(phone),
            code_sent: true,
        },
        StatusCode::OK,
    ))
}

#[derive(Debug, Deserialize)]
struct VerifyInput {
    csrf: String,
    code: String,
    #[serde(default)]
    next: String,
}

async fn verify_code(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    input: Result<Form<VerifyInput>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = input.map(|Form(v)| v).map_err(|r| ApiError::Invalid {
        field: "form".into(),
        reason: r.body_text(),
    })?;
    let db = tenant.db(&state.store)?;
    let Some(current) = active_session(&state, &db, &headers).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    session::check_origin(&state.settings, &headers)?;
    if !session::tokens_match(&current.session.csrf_token, &input.csrf) {
        return Err(ApiError::Forbidden);
    }
    let next = safe_next(Some(&input.next));
    let user_id = current.user.user_id;
    let code: String = input.code.chars().filter(char::is_ascii_digit).collect();
    let check = accounts::check_sms_code(
        &db,
        user_id,
        PURPOSE,
        &code_hash(&db, user_id, PURPOSE, &code),
        CODE_ATTEMPTS,
    )
    .await?;
    let phone = match check {
        CodeCheck::Accepted { phone } => phone,
        CodeCheck::Wrong | CodeCheck::Unusable => {
            let unusable = check == CodeCheck::Unusable;
            portico_tenants::audit::append(
                &db,
                AuditEntry {
                    actor: format!("user:{user_id}"),
                    action: "auth.step_up.failed",
                    target: format!("user:{user_id}"),
                    details: serde_json::json!({ "unusable": unusable }),
                },
            )
            .await?;
            let known = accounts::verified_phone(&db, user_id).await?;
            return Ok(page(
                &state,
                locale,
                &current,
                &next,
                PageText {
                    error: Some(if unusable {
                        "stepup-code-unusable"
                    } else {
                        "second-factor-failed"
                    }),
                    phone: known,
                    code_sent: !unusable,
                },
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    let first_time = accounts::verified_phone(&db, user_id).await?.is_none();
    let new_id = session::new_session_id();
    let mut tx = db.begin().await?;
    if first_time {
        accounts::save_verified_phone(&mut tx, user_id, &phone).await?;
    }
    let rotated = state
        .sessions
        .rotate(
            &db,
            &mut tx,
            user_id,
            &current.session.id_hash,
            &hash_token(&new_id),
            &session::new_csrf_token(),
            SessionState::Active,
            true,
            crate::identity::pages::idle_ms(&state),
        )
        .await?;
    if !rotated {
        tx.rollback().await?;
        return Ok(Redirect::to("/login").into_response());
    }
    tx.audit(AuditEntry {
        actor: format!("user:{user_id}"),
        action: if first_time {
            "auth.phone.verified"
        } else {
            "auth.step_up.succeeded"
        },
        target: format!("user:{user_id}"),
        details: serde_json::json!({ "phone": sms::mask_phone(&phone) }),
    })
    .await?;
    tx.commit().await?;
    let mut response = Redirect::to(&next).into_response();
    session::append_cookie(
        response.headers_mut(),
        session::set_cookie(
            &state.settings,
            session::session_cookie_name(&state.settings),
            &new_id,
            None,
        ),
    );
    Ok(response)
}
