//! The permission matrix over HTTP: every role × every API route, with the expected
//! answer and, for lists, the scope the data layer applied. Later issues add rows.

use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tests::{Backend, TestEnv};
use reqwest::Method;
use rstest::rstest;

/// (role, method, path, expected status, expected number of users listed).
const MATRIX: &[(Role, &str, &str, u16, Option<usize>)] = &[
    (Role::MspAdmin, "GET", "/api/v1/tenant", 200, None),
    (Role::Technician, "GET", "/api/v1/tenant", 200, None),
    (Role::MainContact, "GET", "/api/v1/tenant", 200, None),
    (Role::Contact, "GET", "/api/v1/tenant", 200, None),
    (Role::MspAdmin, "GET", "/api/v1/users", 200, Some(3)),
    (Role::Technician, "GET", "/api/v1/users", 200, Some(3)),
    (Role::MainContact, "GET", "/api/v1/users", 200, Some(0)),
    (Role::Contact, "GET", "/api/v1/users", 200, Some(0)),
    (Role::MspAdmin, "GET", "/api/v1/users/{id}", 200, None),
    (Role::Technician, "GET", "/api/v1/users/{id}", 200, None),
    (Role::MainContact, "GET", "/api/v1/users/{id}", 404, None),
    (Role::Contact, "GET", "/api/v1/users/{id}", 404, None),
    (Role::MspAdmin, "POST", "/api/v1/users", 201, None),
    (Role::Technician, "POST", "/api/v1/users", 403, None),
    (Role::MainContact, "POST", "/api/v1/users", 403, None),
    (Role::Contact, "POST", "/api/v1/users", 403, None),
];

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn every_role_on_every_api_route(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let mut ids = Vec::new();
    for email in ["a@acme.example", "b@acme.example", "c@acme.example"] {
        let user = people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(email).expect("email"),
                display_name: String::new(),
                role: Role::Contact,
                invite: false,
            },
        )
        .await
        .expect("user");
        ids.push(user.id);
    }
    let mut tokens = std::collections::HashMap::new();
    for role in Role::ALL {
        tokens.insert(role, app.token("acme", role).await);
    }
    // Every route appears for every role.
    let routes: std::collections::BTreeSet<(&str, &str)> =
        MATRIX.iter().map(|(_, m, p, _, _)| (*m, *p)).collect();
    for route in &routes {
        for role in Role::ALL {
            assert!(
                MATRIX
                    .iter()
                    .any(|(r, m, p, _, _)| *r == role && (*m, *p) == *route),
                "{role:?} {route:?} missing"
            );
        }
    }
    for (n, (role, method, path, status, listed)) in MATRIX.iter().enumerate() {
        let url = path.replace("{id}", &ids[0].to_string());
        let mut request = app
            .request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                "acme.localhost",
                &url,
            )
            .bearer_auth(&tokens[role]);
        if *method == "POST" {
            request = request.json(&serde_json::json!({ "email": format!("new{n}@acme.example"), "role": "contact", "invite": false }));
        }
        let response = request.send().await.expect("sent");
        assert_eq!(
            response.status().as_u16(),
            *status,
            "{role:?} {method} {path}"
        );
        if let Some(count) = listed {
            let body: Vec<serde_json::Value> = response.json().await.expect("json list");
            assert_eq!(body.len(), *count, "{role:?} {method} {path}: scope");
        }
    }
    app.stop().await;
}
