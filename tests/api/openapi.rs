//! The published OpenAPI document as a contract: every documented operation is
//! called with an MSP admin's token and valid inputs (the permission matrix's
//! fixture and bodies), its status must be one the document lists for it, and a
//! JSON answer must validate against the documented schema. A few error answers
//! are checked against the one error schema.

use std::collections::{BTreeMap, BTreeSet};

use portico_tenants::Role;
use portico_tests::{Backend, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::Value;

use crate::permissions::{Fixture, MATRIX, normalize};

const HOST: &str = "acme.localhost";

/// The schema of one answer, made self-contained: the document's components are
/// carried along so `#/components/schemas/…` references resolve inside it.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"].clone(),
    });
    let (Some(root_object), Some(schema_object)) = (root.as_object_mut(), schema.as_object())
    else {
        panic!("schema is not an object: {schema}");
    };
    for (key, value) in schema_object {
        root_object.insert(key.clone(), value.clone());
    }
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("bad schema {schema}: {e}"))
}

/// Checks `body` against `schema`, naming every violation.
fn assert_valid(document: &Value, schema: &Value, body: &Value, what: &str) {
    let validator = validator(document, schema);
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the answer does not match its documented schema: {errors:#?}\n{body:#}"
    );
}

/// The documented answer of an operation for `status`, if any.
fn documented_response(operation: &Value, status: u16) -> Option<&Value> {
    operation["responses"].get(status.to_string())
}

async fn fetch_document(app: &portico_tests::TestApp) -> Value {
    let response = app.get(HOST, "/api/openapi.json").await;
    assert_eq!(response.status(), 200, "no token needed for the document");
    assert!(
        response.headers()[http::header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json"))
    );
    response.json().await.expect("the document is JSON")
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn every_documented_operation_answers_as_documented(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let fixture = Fixture::new(&app).await;
    let token = app.token("acme", Role::MspAdmin).await;
    let document = fetch_document(&app).await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    assert_eq!(document["info"]["title"], "Portico");
    if let Ok(file) = std::env::var("OPENAPI_DUMP") {
        std::fs::write(file, document.to_string()).expect("dump");
    }
    // The validator is no rubber stamp: a ticket of the wrong shape is refused.
    let ticket = validator(
        &document,
        &serde_json::json!({ "$ref": "#/components/schemas/Ticket" }),
    );
    assert!(!ticket.is_valid(&serde_json::json!({ "number": "one" })));

    let mut documented: BTreeMap<(String, String), Value> = BTreeMap::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            documented.insert(
                (method.to_ascii_uppercase(), path.clone()),
                operation.clone(),
            );
        }
    }

    // The MSP admin's rows of the permission matrix, in its order (changes last).
    let mut exercised = BTreeSet::new();
    for (n, (role, method, path, expected, _)) in MATRIX.iter().enumerate() {
        if *role != Role::MspAdmin {
            continue;
        }
        let route = ((*method).to_owned(), normalize(path));
        let operation = documented
            .get(&route)
            .unwrap_or_else(|| panic!("{method} {path} is routed but not documented"));
        let request = app
            .request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                HOST,
                &fixture.url(path),
            )
            .bearer_auth(&token);
        let response = fixture
            .with_body(request, method, path, n)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let what = format!("{method} {path} answered {status}");
        let answer = documented_response(operation, status).unwrap_or_else(|| {
            panic!(
                "{what}, not documented (documented: {:?})",
                operation["responses"]
                    .as_object()
                    .map(|r| r.keys().collect::<Vec<_>>())
            )
        });
        // A valid call by an MSP admin succeeds wherever the matrix says it does.
        if (200..300).contains(expected) {
            assert!((200..300).contains(&status), "{what}, expected {expected}");
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("body");
        match answer.get("content") {
            None => assert!(text.is_empty(), "{what}: a body where none is documented"),
            Some(content) => {
                if let Some(json) = content.get("application/json") {
                    assert!(
                        content_type.starts_with("application/json"),
                        "{what}: {content_type} where JSON is documented"
                    );
                    let body: Value = serde_json::from_str(&text).expect("JSON");
                    assert_valid(&document, &json["schema"], &body, &what);
                } else {
                    let media = content
                        .as_object()
                        .and_then(|c| c.keys().next().cloned())
                        .unwrap_or_default();
                    assert!(
                        media == "*/*" || content_type.starts_with(&media),
                        "{what}: {content_type} where {media} is documented"
                    );
                    if media == "application/x-ndjson" {
                        let schema =
                            serde_json::json!({ "$ref": "#/components/schemas/AuditRecord" });
                        for line in text.lines() {
                            let entry: Value = serde_json::from_str(line).expect("a JSON line");
                            assert_valid(&document, &schema, &entry, &what);
                        }
                    }
                }
            }
        }
        exercised.insert(route);
    }
    let missing: Vec<_> = documented
        .keys()
        .filter(|route| !exercised.contains(*route))
        .collect();
    assert!(
        missing.is_empty(),
        "documented operations never called: {missing:?}"
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn error_answers_match_the_error_schema(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let token = app.token("acme", Role::MspAdmin).await;
    let document = fetch_document(&app).await;
    let error_schema = serde_json::json!({ "$ref": "#/components/schemas/ErrorBody" });

    let cases = [
        ("GET", "/api/v1/tickets", None, None, 401, "unauthorized"),
        (
            "GET",
            "/api/v1/tickets/999999",
            Some(&token),
            None,
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/tickets",
            Some(&token),
            Some(serde_json::json!({ "subject": 42 })),
            422,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/users",
            Some(&token),
            Some(serde_json::json!({ "email": "not an address", "role": "contact" })),
            422,
            "invalid_input",
        ),
    ];
    for (method, path, token, body, status, code) in cases {
        let mut request = app.request(
            Method::from_bytes(method.as_bytes()).expect("method"),
            HOST,
            path,
        );
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let template = normalize_number(path);
        let operation = &document["paths"][&template][method.to_ascii_lowercase()];
        let answer = documented_response(operation, status)
            .unwrap_or_else(|| panic!("{method} {template}: {status} is not documented"));
        assert_eq!(
            answer["content"]["application/json"]["schema"], error_schema,
            "{method} {template} {status}"
        );
        let body: Value = response.json().await.expect("JSON error");
        assert_valid(&document, &error_schema, &body, &format!("{method} {path}"));
        assert_eq!(body["error"]["code"], code);
    }

    // The docs page lists every operation, with no script and nothing from elsewhere.
    let page = app.get(HOST, "/api/docs").await;
    assert_eq!(page.status(), 200);
    // minijinja escapes `/` in HTML; read the text back as a browser would.
    let html = page.text().await.expect("page").replace("&#x2f;", "/");
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("https://"), "nothing from elsewhere");
    for (method, path) in portico_core::http::api::API_ROUTES {
        assert!(
            html.contains(&format!("{method} {path}")),
            "{method} {path} is not on the docs page"
        );
    }
    let french = app
        .request(Method::GET, HOST, "/api/docs")
        .header("Accept-Language", "fr")
        .send()
        .await
        .expect("sent");
    assert!(
        french
            .text()
            .await
            .expect("page")
            .contains("<html lang=\"fr\""),
        "the page follows Accept-Language"
    );
    app.stop().await;
}

/// `/api/v1/tickets/999999` as the document names it.
fn normalize_number(path: &str) -> String {
    match path.strip_prefix("/api/v1/tickets/") {
        Some(_) => "/api/v1/tickets/{number}".to_owned(),
        None => path.to_owned(),
    }
}
