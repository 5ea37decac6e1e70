//! Approvals and SLA configuration over HTTP: the approval of a ticket and an
//! approver's decision (`/api/v1/tickets/{number}/approval`), an organization's
//! approvers and SLA policy, SLA calendars and policies; and the page an approval
//! e-mail's link opens (`/approvals/{token}`): it shows the request and asks for
//! the decision, which is a POST — following the link changes nothing.

use axum::Json;
use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use minijinja::context;
use portico_tenants::approvals::{self, Approval, Decision};
use portico_tenants::ticket_sla::{self, Policy, StoredCalendar};
use serde::Deserialize;

use crate::http::CurrentTenant;
use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::http::pages::render;
use crate::http::tickets_api::{json_body, number};
use crate::i18n::Locale;
use crate::identity::pages::{check_login_csrf, form, login_csrf, with_csrf_cookie};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/approval",
    tag = "approvals",
    summary = "The ticket's approval",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "The approval", body = Approval), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn show_approval(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Approval>, ApiError> {
    let number = number(&raw)?;
    let reader = caller.reader(&state, "read").await?;
    match approvals::approval(&caller.db, number, reader).await {
        Ok(approval) => Ok(Json(approval)),
        // An approver outside the ticket's usual scope still sees what they decide on.
        Err(portico_tenants::StoreError::NotFound(_)) if caller.grant.user_id.is_some() => {
            let approval =
                approvals::approval(&caller.db, number, portico_tenants::tickets::Reader::SYSTEM)
                    .await?;
            if caller
                .grant
                .user_id
                .is_some_and(|me| approval.approvers.contains(&me))
            {
                Ok(Json(approval))
            } else {
                Err(ApiError::NotFound)
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// Input of an approver's decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionInput {
    decision: Decision,
    #[serde(default)]
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/approval",
    tag = "approvals",
    summary = "Approve or reject as an approver",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = DecisionInput,
    responses((status = 200, description = "The approval now", body = Approval), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn decide(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<DecisionInput>, JsonRejection>,
) -> Result<Json<Approval>, ApiError> {
    // Approvers are people of the organization; the data layer checks that this one is.
    caller.scope(&state, "ticket", "comment").await?;
    let input = json_body(body)?;
    let me = caller.grant.user_id.ok_or(ApiError::Forbidden)?;
    let number = number(&raw)?;
    approvals::decide(
        &caller.db,
        number,
        me,
        input.decision,
        &input.reason,
        &caller.actor(),
    )
    .await?;
    Ok(Json(
        approvals::approval(&caller.db, number, portico_tenants::tickets::Reader::SYSTEM).await?,
    ))
}

fn organization_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

#[utoipa::path(
    get,
    path = "/api/v1/organizations/{id}/approvers",
    tag = "approvals",
    summary = "An organization's approvers",
    params(("id" = i64, Path, description = "The organization's id")),
    responses((status = 200, description = "Person ids", body = Vec<i64>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn list_approvers(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<i64>>, ApiError> {
    caller.scope(&state, "organization", "update").await?;
    Ok(Json(
        approvals::approvers(&caller.db, organization_id(&raw)?).await?,
    ))
}

/// Input of `PUT /api/v1/organizations/{id}/approvers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproversInput {
    approvers: Vec<i64>,
}

#[utoipa::path(
    put,
    path = "/api/v1/organizations/{id}/approvers",
    tag = "approvals",
    summary = "Set an organization's approvers",
    params(("id" = i64, Path, description = "The organization's id")),
    request_body = ApproversInput,
    responses((status = 200, description = "Person ids", body = Vec<i64>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn set_approvers(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<ApproversInput>, JsonRejection>,
) -> Result<Json<Vec<i64>>, ApiError> {
    caller.scope(&state, "organization", "update").await?;
    let input = json_body(body)?;
    Ok(Json(
        approvals::set_approvers(
            &caller.db,
            organization_id(&raw)?,
            &input.approvers,
            &caller.actor(),
        )
        .await?,
    ))
}

/// Input of `PUT /api/v1/organizations/{id}/sla-policy`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyChoice {
    policy: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/organizations/{id}/sla-policy",
    tag = "sla",
    summary = "Set (or clear) an organization's SLA policy",
    params(("id" = i64, Path, description = "The organization's id")),
    request_body = PolicyChoice,
    responses((status = 204, description = "Set"), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid)
)]
pub(crate) async fn set_organization_policy(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<PolicyChoice>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    caller.scope(&state, "organization", "update").await?;
    let input = json_body(body)?;
    ticket_sla::set_organization_policy(
        &caller.db,
        organization_id(&raw)?,
        input.policy.as_deref(),
        &caller.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/sla-calendars",
    tag = "sla",
    summary = "List SLA calendars",
    responses((status = 200, description = "Calendars", body = Vec<StoredCalendar>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_calendars(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<StoredCalendar>>, ApiError> {
    caller.scope(&state, "ticket", "update").await?;
    Ok(Json(ticket_sla::calendars(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/sla-calendars",
    tag = "sla",
    summary = "Add an SLA calendar",
    request_body = StoredCalendar,
    responses((status = 201, description = "Added", body = StoredCalendar), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_calendar(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<StoredCalendar>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let created =
        ticket_sla::create_calendar(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/v1/sla-policies",
    tag = "sla",
    summary = "List SLA policies",
    responses((status = 200, description = "Policies", body = Vec<Policy>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden)
)]
pub(crate) async fn list_policies(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<Policy>>, ApiError> {
    caller.scope(&state, "ticket", "update").await?;
    Ok(Json(ticket_sla::policies(&caller.db).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/sla-policies",
    tag = "sla",
    summary = "Add an SLA policy",
    request_body = Policy,
    responses((status = 201, description = "Added", body = Policy), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn create_policy(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: Result<Json<Policy>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    caller.scope(&state, "ticket_config", "update").await?;
    let created = ticket_sla::create_policy(&caller.db, json_body(body)?, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The approval-link pages on a tenant's host.
pub fn router() -> Router<AppState> {
    Router::new().route("/approvals/{token}", get(link_page).post(link_submit))
}

fn link_gone(state: &AppState, locale: Locale) -> Response {
    render(
        state,
        StatusCode::GONE,
        "message.html",
        context! {
            lang => locale.tag(),
            title => locale.text("approval-link-invalid-title"),
            body => locale.text("approval-link-invalid"),
        },
    )
}

async fn link_page(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let db = tenant.db(&state.store)?;
    let info = match approvals::link_info(&db, &token).await {
        Ok(info) => info,
        Err(portico_tenants::StoreError::Refused { .. }) => return Ok(link_gone(&state, locale)),
        Err(other) => return Err(other.into()),
    };
    let (csrf, fresh) = login_csrf(&state, &headers);
    let number = info.ticket.number.to_string();
    let page = render(
        &state,
        StatusCode::OK,
        "approval.html",
        context! {
            lang => locale.tag(),
            title => locale.text_with("approval-title", &[("number", number.as_str())]),
            intro => locale.text("approval-intro"),
            subject => info.ticket.subject,
            description => info.ticket.description,
            reason_label => locale.text("approval-reason"),
            approve_label => locale.text("approval-approve"),
            reject_label => locale.text("approval-reject"),
            csrf => csrf.clone(),
        },
    );
    Ok(with_csrf_cookie(&state, page, &csrf, fresh))
}

/// The confirmation page's form.
#[derive(Debug, Deserialize)]
pub(crate) struct LinkDecision {
    csrf: String,
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn link_submit(
    State(state): State<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    locale: Locale,
    headers: HeaderMap,
    Path(token): Path<String>,
    input: Result<Form<LinkDecision>, FormRejection>,
) -> Result<Response, ApiError> {
    let input = form(input)?;
    check_login_csrf(&state, &headers, &input.csrf)?;
    let decision = match input.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => {
            return Err(ApiError::Invalid {
                field: "decision".to_owned(),
                reason: "must be approve or reject".to_owned(),
            });
        }
    };
    let db = tenant.db(&state.store)?;
    match approvals::decide_by_link(&db, &token, decision, &input.reason).await {
        Ok(ticket) => {
            let number = ticket.number.to_string();
            let key = if decision == Decision::Approve {
                "approval-done-approved"
            } else {
                "approval-done-rejected"
            };
            Ok(render(
                &state,
                StatusCode::OK,
                "message.html",
                context! {
                    lang => locale.tag(),
                    title => locale.text_with("approval-title", &[("number", number.as_str())]),
                    body => locale.text_with(key, &[("number", number.as_str())]),
                },
            ))
        }
        Err(portico_tenants::StoreError::Refused {
            code: "approval_link_invalid" | "approval_decided" | "approval_already_given",
            ..
        }) => Ok(link_gone(&state, locale)),
        Err(portico_tenants::StoreError::Invalid { field, reason }) => {
            // A rejection without a reason: the link was consumed only if the
            // decision committed, so the same link still works.
            Err(ApiError::Invalid {
                field: field.to_owned(),
                reason,
            })
        }
        Err(other) => Err(other.into()),
    }
}
