//! The OpenAPI 3.1 description of the tenant API, generated from the handlers'
//! `#[utoipa::path]` annotations, served as `/api/openapi.json` and rendered as a
//! plain HTML page at `/api/docs` (no scripts, nothing from elsewhere).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, RefOr, ResponseBuilder, Schema};
use utoipa::{OpenApi as _, ToSchema};

use crate::i18n::Locale;
use crate::state::AppState;

/// The one error body every API error answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code (`not_found`, `invalid_input`, `conflict`, …).
    pub code: String,
    /// What happened, in words a person can act on.
    pub message: String,
    /// The input at fault, for `invalid_input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Declares one documented error answer per type, for `responses(...)` lists.
macro_rules! error_responses {
    ($($name:ident => $status:literal, $description:literal;)+) => {
        $(
            #[doc = concat!("The documented ", stringify!($status), " answer: ", $description, ".")]
            #[derive(Debug)]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                    error_response($status, $description)
                }
            }
        )+
    };
}

error_responses! {
    Unauthorized => "401", "no valid API token";
    Forbidden => "403", "the token's role may not do this";
    NotFound => "404", "nothing here, or nothing the caller may see";
    Conflict => "409", "it already exists, or the present state forbids it";
    Invalid => "422", "the input was rejected";
}

fn error_response(
    status: &str,
    description: &str,
) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(RefOr::<Schema>::Ref(
                utoipa::openapi::Ref::from_schema_name("ErrorBody"),
            ))),
        )
        .build();
    BTreeMap::from([(status.to_owned(), RefOr::T(response))])
}

/// Adds what the annotations cannot say: the bearer scheme, the title and version.
struct Additions;

impl utoipa::Modify for Additions {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi.info.title = "Portico".to_owned();
        openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
        openapi.info.description = Some(
            "The tenant API of Portico, under `/api/v1` on the tenant's host. Every operation \
             takes an API token as `Authorization: Bearer …`; errors answer with one shape, \
             `{\"error\":{\"code\",\"message\",\"field?\"}}`."
                .to_owned(),
        );
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token of the tenant"))
                    .build(),
            ),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The document's frame; the paths come from `api_routes!`.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Additions),
    tags(
        (name = "tenant", description = "The tenant itself"),
        (name = "users", description = "People of the tenant"),
        (name = "organizations", description = "Customer organizations and account requests"),
        (name = "identity", description = "Single sign-on providers"),
        (name = "settings", description = "Tenant settings and section switches"),
        (name = "audit", description = "The tamper-evident audit trail"),
        (name = "domains", description = "Custom host names"),
        (name = "tickets", description = "Tickets, their thread, links and time"),
        (name = "ticket configuration", description = "Statuses, queues, fields and types"),
        (name = "approvals", description = "Approvals of tickets"),
        (name = "sla", description = "Service-level calendars and policies"),
        (name = "webhooks", description = "Webhook endpoints and deliveries"),
        (name = "plugins", description = "The plugin catalogue and the tenant's installs"),
        (name = "mail", description = "The e-mail channel: inbound webhook, mailboxes, the inbound queue, ticket mail logs"),
        (name = "knowledge base", description = "Articles, their versions and revisions, search and suggestions"),
    )
)]
struct Frame;

/// The whole document, built once per call (cheap: a few hundred microseconds).
pub fn document() -> OpenApi {
    let mut document = Frame::openapi();
    document.merge(crate::http::api::ApiPaths::openapi());
    // Modifiers run in `openapi()`; run ours again after the merge so it wins.
    utoipa::Modify::modify(&Additions, &mut document);
    document
}

/// `/api/openapi.json` and `/api/docs`: public, on every tenant host.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

async fn openapi_json() -> Json<OpenApi> {
    Json(document())
}

/// One operation as the docs page lists it.
#[derive(Debug, Serialize)]
struct OperationView {
    method: &'static str,
    path: String,
    id: String,
    summary: String,
    description: String,
    parameters: Vec<ParameterView>,
    request: Vec<String>,
    responses: Vec<ResponseView>,
}

#[derive(Debug, Serialize)]
struct ParameterView {
    name: String,
    location: &'static str,
    required: bool,
    schema: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct ResponseView {
    status: String,
    description: String,
    schema: String,
}

/// A schema's name for people: `Ticket`, `array of Ticket`, `integer`.
fn schema_name(schema: &RefOr<Schema>) -> String {
    match schema {
        RefOr::Ref(reference) => reference
            .ref_location
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        RefOr::T(schema) => {
            let value = serde_json::to_value(schema).unwrap_or_default();
            describe_value(&value)
        }
    }
}

fn describe_value(value: &serde_json::Value) -> String {
    if let Some(reference) = value.get("$ref").and_then(|r| r.as_str()) {
        return reference.rsplit('/').next().unwrap_or_default().to_owned();
    }
    match value.get("type") {
        Some(serde_json::Value::String(kind)) if kind == "array" => {
            let items = value.get("items").map(describe_value).unwrap_or_default();
            format!("array of {items}")
        }
        Some(serde_json::Value::String(kind)) => kind.clone(),
        Some(serde_json::Value::Array(kinds)) => kinds
            .iter()
            .filter_map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(" or "),
        _ => {
            for key in ["oneOf", "allOf", "anyOf"] {
                if let Some(parts) = value.get(key).and_then(|p| p.as_array()) {
                    return parts
                        .iter()
                        .map(describe_value)
                        .filter(|p| p != "null")
                        .collect::<Vec<_>>()
                        .join(" and ");
                }
            }
            "any".to_owned()
        }
    }
}

fn content_names<'a>(content: impl IntoIterator<Item = (&'a String, &'a Content)>) -> Vec<String> {
    content
        .into_iter()
        .map(|(media_type, content)| match &content.schema {
            Some(schema) => format!("{} ({media_type})", schema_name(schema)),
            None => media_type.clone(),
        })
        .collect()
}

fn operation_view(method: &'static str, path: &str, operation: &Operation) -> OperationView {
    let parameters = operation
        .parameters
        .iter()
        .flatten()
        .map(|parameter| ParameterView {
            name: parameter.name.clone(),
            location: match parameter.parameter_in {
                ParameterIn::Path => "path",
                ParameterIn::Query => "query",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
            },
            required: matches!(parameter.required, utoipa::openapi::Required::True),
            schema: parameter
                .schema
                .as_ref()
                .map(schema_name)
                .unwrap_or_default(),
            description: parameter.description.clone().unwrap_or_default(),
        })
        .collect();
    let request = operation
        .request_body
        .as_ref()
        .map(|body| content_names(&body.content))
        .unwrap_or_default();
    let responses = operation
        .responses
        .responses
        .iter()
        .map(|(status, response)| match response {
            RefOr::T(response) => ResponseView {
                status: status.clone(),
                description: response.description.clone(),
                schema: content_names(&response.content).join(", "),
            },
            RefOr::Ref(reference) => ResponseView {
                status: status.clone(),
                description: String::new(),
                schema: reference.ref_location.clone(),
            },
        })
        .collect();
    OperationView {
        method,
        path: path.to_owned(),
        id: operation.operation_id.clone().unwrap_or_default(),
        summary: operation.summary.clone().unwrap_or_default(),
        description: operation.description.clone().unwrap_or_default(),
        parameters,
        request,
        responses,
    }
}

/// Every operation of the document, in path order, methods in a fixed order.
fn operations(document: &OpenApi) -> Vec<OperationView> {
    let mut views = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods: [(&'static str, &Option<Operation>); 5] = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, operation) in methods {
            if let Some(operation) = operation {
                views.push(operation_view(method, path, operation));
            }
        }
    }
    views
}

/// Every (method, path) the document describes, for the completeness test.
pub fn documented_routes(document: &OpenApi) -> Vec<(String, String)> {
    operations(document)
        .into_iter()
        .map(|operation| (operation.method.to_owned(), operation.path))
        .collect()
}

async fn docs_page(State(state): State<AppState>, locale: Locale) -> Response {
    let document = document();
    crate::http::pages::render(
        &state,
        http::StatusCode::OK,
        "api_docs.html",
        minijinja::context! {
            lang => locale.tag(),
            title => locale.text("api-docs-title"),
            intro => locale.text("api-docs-intro"),
            label_parameters => locale.text("api-docs-parameters"),
            label_request => locale.text("api-docs-request"),
            label_responses => locale.text("api-docs-responses"),
            label_required => locale.text("api-docs-required"),
            version => document.info.version.clone(),
            operations => operations(&document),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_describes_exactly_the_api_routes() {
        let documented: BTreeSet<(String, String)> =
            documented_routes(&document()).into_iter().collect();
        let routed: BTreeSet<(String, String)> = crate::http::api::API_ROUTES
            .iter()
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the document: {missing:?}"
        );
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }

    #[test]
    fn every_operation_documents_its_errors_and_a_success() {
        let document = document();
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.post, &item.put, &item.patch, &item.delete]
                .into_iter()
                .flatten()
            {
                let statuses: Vec<&String> = operation.responses.responses.keys().collect();
                assert!(
                    statuses.iter().any(|s| s.starts_with('2')),
                    "{path}: no success answer in {statuses:?}"
                );
                for status in ["401", "403"] {
                    assert!(
                        statuses.iter().any(|s| *s == status),
                        "{path}: no {status} in {statuses:?}"
                    );
                }
                assert!(operation.summary.is_some(), "{path}: no summary");
                // Every `{name}` of the path is a documented path parameter.
                for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                    assert!(
                        operation
                            .parameters
                            .iter()
                            .flatten()
                            .any(|p| p.name == name && matches!(p.parameter_in, ParameterIn::Path)),
                        "{path}: path parameter {name} is not documented"
                    );
                }
            }
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_bearer_scheme_and_the_error_schema() {
        let value = serde_json::to_value(document()).expect("serializes");
        assert!(
            value["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        );
        assert_eq!(value["info"]["title"], "Portico");
        assert_eq!(value["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            value["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert!(value["components"]["schemas"]["ErrorBody"].is_object());
        // Every `$ref` points at a schema the document defines.
        let text = value.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap_or_default();
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {target}"));
            assert!(
                value["components"]["schemas"][name].is_object(),
                "{name} is referenced but not defined"
            );
        }
    }
}
