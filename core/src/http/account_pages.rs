//! A person's settings on the tenant host (`/account/settings`): language, password,
//! second factor and phone number, and a link to their active sessions. For
//! customers it follows the tenant's `settings` section switch: switched off, the
//! page is not found.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use minijinja::context;
use portico_tenants::accounts;
use portico_tenants::audit::AuditEntry;
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::web::{Fields, WebForm, WebUser, page};
use crate::state::AppState;

/// The routes of the settings and devices pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/settings", get(settings_page))
        .route("/account/password", post(password_submit))
        .route("/account/phone/remove", post(phone_remove))
        .route("/account/time-zone", post(time_zone_submit))
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
            "time-zone" => Some(locale.text("settings-time-zone-saved")),
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
    let (_, now) = user.when(portico_tenants::clock::now_ms());
    let context = context! {
        notice, error, phone, factor, now,
        email => &user.current.user.email,
        zone_options => crate::i18n::zone_options(&user.current.user.time_zone),
        ..user.page("settings")
    };
    Ok(render(state, status, "settings.html", context))
}

/// The form of a password change.
#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

async fn password_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<PasswordForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
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

async fn phone_remove(
    State(state): State<AppState>,
    WebForm { user, .. }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
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

/// The form of the time-zone choice.
#[derive(Debug, Deserialize)]
struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// `POST /account/time-zone`: the zone this person reads times in (empty: the
/// tenant's).
async fn time_zone_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<TimeZoneForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        user.require_section("settings")?;
        let chosen = input.time_zone.trim();
        if !chosen.is_empty() && crate::i18n::named_zone(chosen).is_none() {
            return Err(ApiError::Invalid {
                field: "time_zone".to_owned(),
                reason: locale.text("settings-time-zone-unknown"),
            });
        }
        portico_tenants::people::set_time_zone(&user.db, user.user_id(), chosen).await?;
        Ok(Redirect::to("/account/settings?done=time-zone").into_response())
    })
    .await
}
