//! The one-click close link of ticket mail: `GET /mail/close/{token}` shows a
//! confirmation page (nothing changes on GET: mail scanners follow links), its form
//! posts back and closes the ticket as its requester. The token is signed, names the
//! ticket and the requester, and expires ([`crate::mail::ThreadKeys::close_token`]).

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::policy::Scope;
use portico_tenants::tickets::{self, Reader};
use serde::Deserialize;

use crate::http::CurrentTenant;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::i18n::Locale;
use crate::identity::pages::{check_login_csrf, form, login_csrf, with_csrf_cookie};
use crate::state::AppState;

/// The close-link pages on a tenant's host.
pub fn router() -> Router<AppState> {
    Router::new().route("/mail/close/{token}", get(close_page).post(close_submit))
}

fn gone(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::GONE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("mail-close-invalid-title"),
            body => locale.text("mail-close-invalid"),
        },
    )
}

fn check(state: &AppState, slug: &str, token: &str) -> Option<(i64, i64)> {
    let now = portico_tenants::clock::now_ms() / 1000;
    state.mailer.keys().check_close_token(slug, token, now)
}

async fn close_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let Some((number, _user)) = check(&state, db.slug(), &token) else {
        return Ok(gone(&state, locale));
    };
    let ticket = match tickets::get_ticket(&db, number, Reader::SYSTEM).await {
        Ok(ticket) => ticket,
        Err(portico_tenants::StoreError::NotFound(_)) => return Ok(gone(&state, locale)),
        Err(error) => return Err(error.into()),
    };
    let number_text = number.to_string();
    let (csrf, fresh) = login_csrf(&state, &headers);
    let page = render(
        &state,
        StatusCode::OK,
        "mail_close.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("mail-close-title", &[("number", number_text.as_str())]),
            intro => locale.text("mail-close-intro"),
            subject => ticket.subject,
            confirm_label => locale.text("mail-close-confirm"),
            csrf => csrf.clone(),
        },
    );
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub(crate) struct CloseForm {
    csrf: String,
}

async fn close_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
    input: Result<Form<CloseForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let db = tenant.db(&state.store)?;
    let Some((number, user)) = check(&state, db.slug(), &token) else {
        return Ok(gone(&state, locale));
    };
    let requester = match portico_tenants::people::get_user(&db, user, Scope::All).await {
        Ok(person) if person.status != "disabled" => person,
        Ok(_) | Err(portico_tenants::StoreError::NotFound(_)) => return Ok(gone(&state, locale)),
        Err(error) => return Err(error.into()),
    };
    let ticket = tickets::get_ticket(&db, number, Reader::SYSTEM).await?;
    if ticket.requester_id != requester.id {
        return Ok(gone(&state, locale));
    }
    if ticket.status_class != "closed" {
        tickets::change_status(
            &db,
            number,
            "closed",
            &format!("user:{}", requester.id),
            Reader {
                scope: Scope::All,
                staff: false,
            },
            Some(requester.role),
        )
        .await?;
    }
    let number_text = number.to_string();
    Ok(render(
        &state,
        StatusCode::OK,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("mail-close-title", &[("number", number_text.as_str())]),
            body => locale.text_with("mail-close-done", &[("number", number_text.as_str())]),
        },
    ))
}
