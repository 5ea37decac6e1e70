//! What a main contact does for their organization in the portal, and staff for
//! every organization: the service report (`/reports`, a period, the figures, a CSV
//! download) and, for main contacts, accounts for colleagues (`/colleagues`: ask
//! for one, see the requests and how the MSP decided). Both ask Casbin exactly as
//! the API does (`report` `read`, `user` `request`) and pass the scope to the data
//! layer, which keeps a main contact to their own organization.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::StatusCode;
use minijinja::{Value, context};
use portico_tenants::ids::EmailAddress;
use portico_tenants::policy::Scope;
use portico_tenants::{organizations, reports};
use serde::Deserialize;

use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::reports_api::{csv_download, day};
use crate::http::web::{WebForm, WebUser, page};
use crate::i18n::Locale;
use crate::state::AppState;

/// The routes of the organization pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(report_page))
        .route("/reports/export", get(report_csv))
        .route("/colleagues", get(colleagues_page).post(colleague_submit))
}

/// The period of a report: `YYYY-MM-DD`, both days included.
#[derive(Debug, Default, Deserialize)]
struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    organization: Option<String>,
}

/// The last 30 days up to today (UTC), as the form's default.
fn default_period() -> (String, String) {
    let today = portico_tenants::clock::now_ms();
    let to = reports::day_of(today);
    let from = reports::day_of(today - 29 * 86_400_000);
    (from, to)
}

/// What the report is about, as this person may see it.
async fn report_for(
    state: &AppState,
    user: &WebUser,
    period: &Period,
) -> Result<(reports::ServiceReport, String, String, Option<i64>), ApiError> {
    let scope = user
        .scope(state, "report", "read")
        .await?
        .ok_or(ApiError::NotFound)?;
    if matches!(scope, Scope::Own(_)) {
        return Err(ApiError::NotFound);
    }
    let (default_from, default_to) = default_period();
    let from_text = if period.from.is_empty() {
        default_from
    } else {
        period.from.clone()
    };
    let to_text = if period.to.is_empty() {
        default_to
    } else {
        period.to.clone()
    };
    let from = day("from", &from_text)?;
    let to = day("to", &to_text)? + 86_400_000;
    let organization = period
        .organization
        .as_deref()
        .and_then(|o| o.parse::<i64>().ok());
    let report = reports::service_report(&user.db, scope, organization, from, to).await?;
    Ok((report, from_text, to_text, organization))
}

fn minutes(locale: Locale, value: Option<f64>) -> String {
    match value {
        Some(m) => crate::http::web::duration(locale, m.round() as i64),
        None => "—".to_owned(),
    }
}

async fn report_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(period): Query<Period>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let (report, from, to, organization) = report_for(&state, &user, &period).await?;
        let staff = user.scope(&state, "ticket_note", "read").await?.is_some();
        let organizations: Vec<Value> = if staff {
            organizations::list_organizations(&user.db, Scope::All)
                .await?
                .into_iter()
                .map(|o| context! { current => Some(o.id) == organization, id => o.id, name => o.name })
                .collect()
        } else {
            Vec::new()
        };
        let t = |key: &str| locale.text(key);
        let percent = |v: Option<f64>| {
            v.map_or_else(
                || "—".to_owned(),
                |p| format!("{} %", locale.decimal((p * 10.0).round() as i64, 1)),
            )
        };
        let rows: Vec<Value> = vec![
            context! { label => t("report-opened"), value => locale.number(report.opened) },
            context! { label => t("report-resolved"), value => locale.number(report.resolved) },
            context! { label => t("report-closed"), value => locale.number(report.closed) },
            context! { label => t("report-first-response"), value => minutes(locale, report.mean_first_response_minutes) },
            context! { label => t("report-resolution"), value => minutes(locale, report.mean_resolution_minutes) },
            context! { label => t("report-sla"), value => format!("{} ({}/{})", percent(report.sla_compliance_percent), locale.number(report.sla_met), locale.number(report.sla_tickets)) },
            context! { label => t("report-ratings"), value => locale.number(report.ratings) },
            context! { label => t("report-mean-rating"), value => report.mean_rating.map_or_else(|| "—".to_owned(), |r| format!("{} / 5", locale.decimal((r * 100.0).round() as i64, 2))) },
            context! { label => t("report-low-ratings"), value => locale.number(report.low_ratings) },
            context! { label => t("report-billable"), value => crate::http::web::duration(locale, report.billable_minutes) },
            context! { label => t("report-non-billable"), value => crate::http::web::duration(locale, report.non_billable_minutes) },
        ];
        let export = format!(
            "/reports/export?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", &from)
                .append_pair("to", &to)
                .append_pair(
                    "organization",
                    &organization.map(|o| o.to_string()).unwrap_or_default()
                )
                .finish()
        );
        let context = context! { rows, from, to, organizations, export, ..user.page("reports") };
        Ok(render(&state, StatusCode::OK, "reports.html", context))
    })
    .await
}

async fn report_csv(
    State(state): State<AppState>,
    user: WebUser,
    Query(period): Query<Period>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let (report, ..) = report_for(&state, &user, &period).await?;
        csv_download(&report)
    })
    .await
}

/// A main contact's organization (the `user` `request` permission's scope).
async fn requesting_organization(state: &AppState, user: &WebUser) -> Result<i64, ApiError> {
    match user.scope(state, "user", "request").await? {
        Some(Scope::Organization(Some(organization))) => Ok(organization),
        _ => Err(ApiError::NotFound),
    }
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn colleagues_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DoneQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let notice = (query.done == "requested").then(|| locale.text("colleagues-requested"));
        colleagues_view(&state, &user, StatusCode::OK, notice, None).await
    })
    .await
}

async fn colleagues_view(
    state: &AppState,
    user: &WebUser,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let locale = user.locale;
    let organization = requesting_organization(state, user).await?;
    let requests: Vec<Value> =
        organizations::list_account_requests(&user.db, Scope::Organization(Some(organization)))
            .await?
            .into_iter()
            .map(|r| {
                context! {
                    email => r.email, name => r.display_name,
                    status => locale.text(&format!("colleagues-status-{}", r.status)),
                    reason => r.reason,
                }
            })
            .collect();
    let context = context! { requests, notice, error, ..user.page("colleagues") };
    Ok(render(state, status, "colleagues.html", context))
}

/// The form of an account request.
#[derive(Debug, Deserialize)]
struct ColleagueForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
}

async fn colleague_submit(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<ColleagueForm>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        let organization = requesting_organization(&state, &user).await?;
        let Ok(email) = EmailAddress::parse(input.email.trim()) else {
            return colleagues_view(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(locale.text("colleagues-email-invalid")),
            )
            .await;
        };
        organizations::request_account(
            &user.db,
            organization,
            user.user_id(),
            &email,
            input.name.trim(),
        )
        .await?;
        Ok(Redirect::to("/colleagues?done=requested").into_response())
    })
    .await
}
