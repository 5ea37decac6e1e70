//! The MSP's workflow through the API, on both backends: the built-in moves of each
//! role, rules set per role (status class or `*` to status key or `*`) that apply
//! to the next move at once, MSP admins never restricted, customers' close and
//! reopen governed by their role's rules, validation, reset to the defaults, audit.

use portico_tenants::Role;
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
}

impl Desk {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.app
            .api("acme.localhost", method, token, path, body)
            .await
    }

    /// Moves ticket `number` to `status` through `/status`; the HTTP status and the
    /// error code, if any.
    async fn move_to(&self, token: &str, number: i64, status: &str) -> (u16, String) {
        let (code, answer) = self
            .call(
                token,
                Method::POST,
                &format!("/api/v1/tickets/{number}/status"),
                Some(json!({ "status": status })),
            )
            .await;
        (
            code,
            answer["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    async fn status(&self, token: &str, number: i64) -> String {
        let (_, ticket) = self
            .call(
                token,
                Method::GET,
                &format!("/api/v1/tickets/{number}"),
                None,
            )
            .await;
        ticket["status"].as_str().unwrap_or_default().to_owned()
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn each_role_moves_tickets_as_its_workflow_allows(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app
        .organization("acme", "Customer One", "one.example")
        .await;
    let (_, admin) = app
        .person("acme", "admin@msp.example", Role::MspAdmin, None)
        .await;
    let (_, tech) = app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let (_, customer) = app
        .person("acme", "ann@one.example", Role::Contact, Some(org))
        .await;
    let desk = Desk { app };

    // Out of the box nothing is configured and technicians move tickets anywhere.
    let (status, workflows) = desk
        .call(&tech, Method::GET, "/api/v1/ticket-workflow", None)
        .await;
    assert_eq!(status, 200, "{workflows}");
    assert_eq!(
        workflows,
        json!([
            { "role": "technician", "configured": false, "rules": [] },
            { "role": "main_contact", "configured": false, "rules": [] },
            { "role": "contact", "configured": false, "rules": [] }
        ])
    );
    let new_ticket = |subject: &'static str| {
        let desk = &desk;
        let customer = customer.clone();
        async move {
            let (status, ticket) = desk
                .call(
                    &customer,
                    Method::POST,
                    "/api/v1/tickets",
                    Some(json!({ "subject": subject })),
                )
                .await;
            assert_eq!(status, 201, "{ticket}");
            ticket["number"].as_i64().expect("number")
        }
    };
    let first = new_ticket("Printer jammed").await;
    assert_eq!(desk.move_to(&tech, first, "closed").await.0, 200);

    // The MSP sets the technicians' workflow: it applies to the next move.
    let (status, set) = desk
        .call(
            &admin,
            Method::PUT,
            "/api/v1/ticket-workflow/technician",
            Some(json!({ "rules": [
                { "from": "new", "to": "open" },
                { "from": "open", "to": "waiting" },
                { "from": "*", "to": "resolved" },
                { "from": "new", "to": "open" }
            ] })),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        set,
        json!({ "role": "technician", "configured": true, "rules": [
            { "from": "*", "to": "resolved" },
            { "from": "new", "to": "open" },
            { "from": "open", "to": "waiting" }
        ] }),
        "sorted, duplicates dropped"
    );
    let second = new_ticket("VPN down").await;
    assert_eq!(
        desk.move_to(&tech, second, "closed").await,
        (409, "transition_not_allowed".to_owned())
    );
    assert_eq!(desk.status(&tech, second).await, "new", "nothing moved");
    assert_eq!(desk.move_to(&tech, second, "open").await.0, 200);
    assert_eq!(desk.move_to(&tech, second, "waiting").await.0, 200);
    assert_eq!(
        desk.move_to(&tech, second, "open").await,
        (409, "transition_not_allowed".to_owned()),
        "no rule from waiting back to open"
    );
    assert_eq!(
        desk.move_to(&tech, second, "resolved").await.0,
        200,
        "from *"
    );
    // An MSP admin is never restricted: they can always repair a ticket.
    assert_eq!(desk.move_to(&admin, second, "new").await.0, 200);

    // An MSP-defined status is a target like the built-in ones.
    let (status, _) = desk
        .call(
            &admin,
            Method::POST,
            "/api/v1/ticket-statuses",
            Some(json!({ "key": "on_site", "class": "open" })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        desk.move_to(&tech, second, "on_site").await,
        (409, "transition_not_allowed".to_owned())
    );
    let (status, _) = desk
        .call(
            &admin,
            Method::PUT,
            "/api/v1/ticket-workflow/technician",
            Some(json!({ "rules": [{ "from": "new", "to": "on_site" }] })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(desk.move_to(&tech, second, "on_site").await.0, 200);
    assert_eq!(desk.status(&tech, second).await, "on_site");

    // Rules name real classes and statuses, for the roles a workflow governs.
    for (path, body, field) in [
        (
            "/api/v1/ticket-workflow/technician",
            json!({ "rules": [{ "from": "limbo", "to": "open" }] }),
            "from",
        ),
        (
            "/api/v1/ticket-workflow/technician",
            json!({ "rules": [{ "from": "new", "to": "nowhere" }] }),
            "to",
        ),
        (
            "/api/v1/ticket-workflow/msp_admin",
            json!({ "rules": [] }),
            "role",
        ),
        (
            "/api/v1/ticket-workflow/robot",
            json!({ "rules": [] }),
            "role",
        ),
    ] {
        let (status, refused) = desk.call(&admin, Method::PUT, path, Some(body)).await;
        assert_eq!(status, 422, "{path}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (status, _) = desk
        .call(
            &tech,
            Method::PUT,
            "/api/v1/ticket-workflow/technician",
            Some(json!({ "rules": [] })),
        )
        .await;
    assert_eq!(status, 403, "only MSP admins set the workflow");

    // Customers: by default they close their ticket and reopen a resolved one. With
    // rules for contacts that allow only reopening, closing is refused.
    let third = new_ticket("Screen flickers").await;
    let close = |number: i64| {
        let desk = &desk;
        let customer = customer.clone();
        async move {
            desk.call(
                &customer,
                Method::POST,
                &format!("/api/v1/tickets/{number}/close"),
                None,
            )
            .await
        }
    };
    let (status, _) = desk
        .call(
            &admin,
            Method::PUT,
            "/api/v1/ticket-workflow/contact",
            Some(json!({ "rules": [{ "from": "resolved", "to": "open" }] })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = close(third).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "transition_not_allowed");
    assert_eq!(desk.move_to(&admin, third, "resolved").await.0, 200);
    let (status, reopened) = desk
        .call(
            &customer,
            Method::POST,
            &format!("/api/v1/tickets/{third}/reopen"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(reopened["status"], "open");
    // Back to the defaults: closing works again.
    let (status, _) = desk
        .call(
            &admin,
            Method::DELETE,
            "/api/v1/ticket-workflow/contact",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, closed) = close(third).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");

    // Every change is audited.
    let (_, audit) = desk
        .call(&admin, Method::GET, "/api/v1/audit?limit=200", None)
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["action"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "ticket_workflow.changed")
            .count(),
        3,
        "{audit}"
    );
    assert!(actions.contains(&"ticket_workflow.reset"), "{audit}");
    desk.app.stop().await;
}
