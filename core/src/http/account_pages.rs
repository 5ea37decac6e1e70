//! A person's settings on the tenant host (`/account/settings`): language, password,
//! second factor and phone number, and a link to their active sessions. For
//! customers it follows the tenant's `settings` section switch: switched off, the
//! page is not found.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use minijinja::context;
use portico_tenants::accounts;
use portico_tenants::audit::AuditEntry;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::web::{WebUser, form_input, page};
use crate::identity::pages::check_session_csrf;
use crate::state::AppState;

/// The routes of the settings and devices pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/settings", get(settings_page))
        .route("/account/password", post(password_submit))
        .route("/account/phone/remove", post(phone_remove))
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn settings_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DoneQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let notice = match query.done.as_str() {
            "phone-removed" => Some(locale.text("settings-phone-removed")),
            _ => None,
        };
        settings_view(&state, &user, StatusCode::OK, notice, None).await
    })
    .await
}

async fn settings_view(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    user.require_section("settings")?;
    let phone = accounts::verified_phone(&user.db, user.user_id())
        .await?
        .map(|p| crate::sms::mask_phone(&p));
    let factor = match user.current.user.second_factor.as_deref() {
        Some("totp") => user.locale.text("settings-factor-totp"),
        Some("sms") => user.locale.text("settings-factor-sms"),
        _ => user.locale.text("settings-factor-none"),
    };
    let context = context! {
        notice, error, phone, factor,
        email => &user.current.user.email,
        ..user.page("settings")
    };
    Ok(render(state, status, "settings.html", context))
}

/// The form of a password change.
#[derive(Debug, Deserialize)]
struct PasswordForm {
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

async fn password_submit(
    State(state): State<AppState>,
    user: WebUser,
    headers: http::HeaderMap,
    input: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let input = form_input(input)?;
        check_session_csrf(&state, &headers, &user.current, &input.csrf)?;
        user.require_section("settings")?;
        let refuse = |key: &str| {
            let message = locale.text(key);
            async {
                settings_view(
                    &state,
                    &user,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    Some(message),
                )
                .await
            }
        };
        let (matched, _) = state
            .passwords
            .verify(user.current.user.password_hash.as_deref(), &input.current)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        if !matched {
            return refuse("settings-password-wrong").await;
        }
        if input.password != input.password_again {
            return refuse("password-mismatch").await;
        }
        if let Err(problem) = state
            .passwords
            .check(&input.password, &user.current.user.email)
        {
            return refuse(problem.message_id()).await;
        }
        let hash = state
            .passwords
            .hash(&input.password)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        // A new password ends every session, this one included: whoever knew the old
        // one is signed out everywhere, and the person signs in again.
        let mut tx = user.db.begin().await?;
        accounts::set_password(&mut tx, user.user_id(), &hash).await?;
        state
            .sessions
            .end_all(&user.db, &mut tx, user.user_id())
            .await?;
        tx.audit(AuditEntry {
            actor: user.actor(),
            action: "auth.password.changed",
            target: format!("user:{}", user.user_id()),
            details: serde_json::json!({}),
        })
        .await?;
        tx.commit().await?;
        state
            .sessions
            .end_all_elsewhere(&user.db, user.user_id())
            .await?;
        Ok(render(
            &state,
            StatusCode::OK,
            "message.html",
            context! {
                lang => locale.tag(),
                title => locale.text("settings-password-changed-title"),
                body => locale.text("settings-password-changed"),
                link => "/login",
                link_label => locale.text("login-title"),
            },
        ))
    })
    .await
}

/// The form of a button with only its CSRF token.
#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn phone_remove(
    State(state): State<AppState>,
    user: WebUser,
    headers: http::HeaderMap,
    input: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let input = form_input(input)?;
        check_session_csrf(&state, &headers, &user.current, &input.csrf)?;
        user.require_section("settings")?;
        // The phone is the second factor of people who chose text messages: they
        // keep it until an administrator resets their factor.
        if user.current.user.second_factor.as_deref() == Some("sms") {
            return Err(ApiError::Refused {
                code: "phone_is_second_factor",
                reason: locale.text("settings-phone-is-factor"),
            });
        }
        accounts::remove_phone(&user.db, user.user_id(), &user.actor()).await?;
        Ok(Redirect::to("/account/settings?done=phone-removed").into_response())
    })
    .await
}
