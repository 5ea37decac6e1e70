//! Ratings and service-quality reports over HTTP: the requester rates a resolved
//! ticket (`/api/v1/tickets/{number}/rating`); the MSP and an organization's main
//! contacts read the report per organization and period
//! (`/api/v1/reports/service?organization=&from=&to=`, JSON or `format=csv`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use portico_tenants::reports::{self, Rating, ServiceReport};
use serde::Deserialize;

use crate::http::api::ApiCaller;
use crate::http::error::ApiError;
use crate::http::tickets_api::number;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{number}/rating",
    tag = "tickets",
    summary = "The requester's rating of the ticket, if any",
    params(("number" = i64, Path, description = "The ticket's number")),
    responses((status = 200, description = "The rating, or null", body = Option<Rating>), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound)
)]
pub(crate) async fn show_rating(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
) -> Result<Json<Option<Rating>>, ApiError> {
    let reader = caller.reader(&state, "read").await?;
    Ok(Json(
        reports::rating(&caller.db, number(&raw)?, reader).await?,
    ))
}

/// Input of `POST /api/v1/tickets/{number}/rating`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatingInput {
    rating: i64,
    #[serde(default)]
    comment: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{number}/rating",
    tag = "tickets",
    summary = "Rate the answer to a resolved ticket (its requester, 1 to 5)",
    params(("number" = i64, Path, description = "The ticket's number")),
    request_body = RatingInput,
    responses((status = 200, description = "The rating", body = Rating), crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Conflict, crate::http::openapi::Invalid)
)]
pub(crate) async fn rate(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(raw): Path<String>,
    body: Result<Json<RatingInput>, JsonRejection>,
) -> Result<Json<Rating>, ApiError> {
    let reader = caller.reader(&state, "comment").await?;
    let Json(input) = body.map_err(|rejection| ApiError::Invalid {
        field: "body".to_owned(),
        reason: rejection.body_text(),
    })?;
    let me = caller.grant.user_id.ok_or(ApiError::Forbidden)?;
    Ok(Json(
        reports::rate(
            &caller.db,
            number(&raw)?,
            me,
            input.rating,
            &input.comment,
            reader,
        )
        .await?,
    ))
}

/// Query of the service report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    organization: Option<i64>,
    from: String,
    to: String,
    #[serde(default)]
    format: Option<String>,
}

pub(crate) fn day(field: &str, value: &str) -> Result<i64, ApiError> {
    reports::day_start_ms(value).ok_or_else(|| ApiError::Invalid {
        field: field.to_owned(),
        reason: "must be a date as YYYY-MM-DD".to_owned(),
    })
}

/// The report's CSV as a download.
pub(crate) fn csv_download(report: &ServiceReport) -> Result<Response, ApiError> {
    let mut response = csv(report)?.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"service-report.csv\""),
    );
    Ok(response)
}

/// The report's CSV: a header and one row, the figures as the JSON names them.
fn csv(report: &ServiceReport) -> Result<String, ApiError> {
    let value = serde_json::to_value(report).map_err(|e| ApiError::Internal(e.into()))?;
    let object = value.as_object().cloned().unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    writer
        .write_record(object.keys().map(String::as_str))
        .map_err(fail)?;
    writer
        .write_record(object.values().map(|v| match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => format!("{f:.2}"),
                _ => n.to_string(),
            },
            other => other.to_string(),
        }))
        .map_err(fail)?;
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.to_string())))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.into()))
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/service",
    tag = "reports",
    summary = "Service-quality report of an organization (or all) over a period, JSON or CSV",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report (with format=csv, the same figures as a text/csv file)", body = ServiceReport),
        crate::http::openapi::Unauthorized, crate::http::openapi::Forbidden, crate::http::openapi::NotFound, crate::http::openapi::Invalid
    )
)]
pub(crate) async fn service_report(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let scope = caller.scope(&state, "report", "read").await?;
    let from = day("from", &query.from)?;
    // `to` names the last day included.
    let to = day("to", &query.to)? + 86_400_000;
    let report = reports::service_report(&caller.db, scope, query.organization, from, to).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => csv_download(&report),
        Some(_) => Err(ApiError::Invalid {
            field: "format".to_owned(),
            reason: "must be json or csv".to_owned(),
        }),
    }
}
