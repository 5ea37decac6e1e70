//! Tenant isolation: what is written through tenant A's host is never visible
//! through tenant B's host, by any route that exists.

use std::sync::Arc;
use std::time::Duration;

use portico_core::app::Extensions;
use portico_tenants::Role;
use portico_tests::recorder::Recorder;
use portico_tests::{Backend, TestEnv, eventually};
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn data_written_through_one_tenant_is_invisible_through_another(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let recorder = Arc::new(Recorder::new("isolation-recorder"));
    let extensions = Extensions {
        subscribers: vec![recorder.clone()],
        ..Extensions::default()
    };
    let app = env.spawn_with(env.settings(), extensions).await;
    let acme = app.create_tenant("acme", "Acme IT").await;
    let globex = app.create_tenant("globex", "Globex").await;
    let acme_token = app.token("acme", Role::MspAdmin).await;
    let globex_token = app.token("globex", Role::MspAdmin).await;

    let created = app
        .request(Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(&acme_token)
        .json(&json!({ "email": "Anna@Acme.example", "display_name": "Anna", "role": "contact" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let anna: serde_json::Value = created.json().await.expect("json");
    assert_eq!(anna["email"], "anna@acme.example");
    let anna_id = anna["id"].as_i64().expect("id");

    // Through acme's host: visible.
    let listed: serde_json::Value = app
        .request(Method::GET, "acme.localhost", "/api/v1/users")
        .bearer_auth(&acme_token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // Through globex's host, with globex's token: invisible by list and by id.
    let listed: serde_json::Value = app
        .request(Method::GET, "globex.localhost", "/api/v1/users")
        .bearer_auth(&globex_token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(listed, json!([]));
    let guessed = app
        .request(
            Method::GET,
            "globex.localhost",
            &format!("/api/v1/users/{anna_id}"),
        )
        .bearer_auth(&globex_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(guessed.status(), 404);
    assert_eq!(
        guessed.json::<serde_json::Value>().await.expect("json")["error"]["code"],
        "not_found"
    );

    // Acme's token on globex's host is refused exactly like a made-up token, and
    // globex's token on acme's host too.
    for (host, token) in [
        ("globex.localhost", acme_token.as_str()),
        ("acme.localhost", globex_token.as_str()),
        (
            "acme.localhost",
            "pt_0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ] {
        for path in [
            "/api/v1/users",
            "/api/v1/tenant",
            &format!("/api/v1/users/{anna_id}"),
        ] {
            let response = app
                .request(Method::GET, host, path)
                .bearer_auth(token)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 401, "{host}{path}");
        }
    }

    // The same id in globex is globex's own person.
    let created = app
        .request(Method::POST, "globex.localhost", "/api/v1/users")
        .bearer_auth(&globex_token)
        .json(&json!({ "email": "gina@globex.example", "role": "technician" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let gina: serde_json::Value = app
        .request(
            Method::GET,
            "globex.localhost",
            &format!("/api/v1/users/{anna_id}"),
        )
        .bearer_auth(&globex_token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(gina["email"], "gina@globex.example");

    // Events stay in their tenant: each subscriber call names the tenant it came from.
    let delivered = eventually(Duration::from_secs(10), "both events", || async {
        let events = recorder.delivered.lock().expect("lock").clone();
        (events.len() >= 2).then_some(events)
    })
    .await;
    let by_tenant: Vec<_> = delivered
        .iter()
        .map(|e| (e.tenant_id, e.payload["email"].clone()))
        .collect();
    assert!(
        by_tenant.contains(&(acme.id, json!("anna@acme.example"))),
        "{by_tenant:?}"
    );
    assert!(
        by_tenant.contains(&(globex.id, json!("gina@globex.example"))),
        "{by_tenant:?}"
    );
    assert_eq!(delivered.len(), 2);

    // The invitation e-mails carry each tenant's own address.
    let mails = eventually(Duration::from_secs(10), "two invitation mails", || async {
        let dir = env.data_dir().join("mail");
        let mut mails = Vec::new();
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            if entry.path().extension().is_some_and(|ext| ext == "eml") {
                mails.push(std::fs::read_to_string(entry.path()).ok()?);
            }
        }
        (mails.len() >= 2).then_some(mails)
    })
    .await;
    let anna_mail = mails
        .iter()
        .find(|m| m.contains("anna@acme.example"))
        .expect("anna's mail");
    assert!(anna_mail.contains("http://acme.localhost:"), "{anna_mail}");
    assert!(anna_mail.contains("/invite/"));
    assert!(anna_mail.contains("Auto-Submitted: auto-generated"));
    assert!(!anna_mail.contains("globex"));
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn api_checks_roles_and_input(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let contact = app.token("acme", Role::Contact).await;
    let admin = app.token("acme", Role::MspAdmin).await;

    let missing = app
        .request(Method::GET, "acme.localhost", "/api/v1/users")
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    // A contact's token may read only its own person — a service account has none.
    let own: serde_json::Value = app
        .request(Method::GET, "acme.localhost", "/api/v1/users")
        .bearer_auth(&contact)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(own, json!([]));
    let forbidden = app
        .request(Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(&contact)
        .json(&json!({ "email": "x@acme.example", "role": "contact" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(forbidden.status(), 403);
    let info: serde_json::Value = app
        .request(Method::GET, "acme.localhost", "/api/v1/tenant")
        .bearer_auth(&contact)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(info["slug"], "acme");
    assert_eq!(info["caller"]["role"], "contact");

    for (body, field) in [
        (
            json!({ "email": "not-an-address", "role": "contact" }),
            "email",
        ),
        (json!({ "email": "a@b.example", "role": "root" }), "role"),
        (
            json!({ "email": "a@b.example", "role": "contact", "admin": true }),
            "body",
        ),
    ] {
        let response = app
            .request(Method::POST, "acme.localhost", "/api/v1/users")
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 422, "{body}");
        let error: serde_json::Value = response.json().await.expect("json");
        assert_eq!(error["error"]["code"], "invalid_input");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let garbage = app
        .request(Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(garbage.status(), 422);

    let first = json!({ "email": "dup@acme.example", "role": "contact" });
    let created = app
        .request(Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(&admin)
        .json(&first)
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let again = app
        .request(Method::POST, "acme.localhost", "/api/v1/users")
        .bearer_auth(&admin)
        .json(&first)
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 409);
    assert_eq!(
        again.json::<serde_json::Value>().await.expect("json")["error"]["code"],
        "conflict"
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn contacts_import_from_csv_with_a_report_per_row(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    portico_tenants::organizations::create_organization(
        &db,
        "Customer One",
        &["one.example".to_owned()],
        "test",
    )
    .await
    .expect("organization");
    let admin = app.token("acme", Role::MspAdmin).await;
    let csv = "Email,Name,Role,Organization,Invite\n\
               anna@one.example,Anna Rossi,main_contact,customer one,no\n\
               not-an-address,Broken,,,\n\
               bert@one.example,\"Bert, Jr.\",,Customer One,no\n\
               carl@one.example,Carl,root,,\n\
               dora@one.example,Dora,,Unknown Org,\n\
               anna@one.example,Anna Again,,,no\n";
    let response = app
        .request(Method::POST, "acme.localhost", "/api/v1/users/import")
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.expect("json");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["failed"], 4, "{report}");
    let rows = report["rows"].as_array().expect("rows");
    let status_of = |line: u64| {
        rows.iter()
            .find(|r| r["line"] == line)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of(2), Some(json!("created")));
    assert_eq!(status_of(3), Some(json!("error")));
    assert_eq!(status_of(4), Some(json!("created")));
    for line in [5, 6, 7] {
        assert_eq!(status_of(line), Some(json!("error")), "line {line}");
    }
    assert!(rows.iter().any(|r| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("Unknown Org"))
    }));
    let people = portico_tenants::people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("list");
    let anna = people
        .iter()
        .find(|u| u.email == "anna@one.example")
        .expect("anna");
    assert_eq!(anna.role, Role::MainContact);
    assert!(anna.organization_id.is_some());
    assert_eq!(
        people
            .iter()
            .find(|u| u.email == "bert@one.example")
            .map(|u| u.display_name.as_str()),
        Some("Bert, Jr.")
    );
    let missing_column = app
        .request(Method::POST, "acme.localhost", "/api/v1/users/import")
        .bearer_auth(&admin)
        .body("name,role\nx,contact\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(missing_column.status(), 422);
    let technician = app.token("acme", Role::Technician).await;
    let refused = app
        .request(Method::POST, "acme.localhost", "/api/v1/users/import")
        .bearer_auth(&technician)
        .body(csv)
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 403);
    app.stop().await;
}
