//! Tickets through the API, part 1, on both backends: numbers from 1000 per tenant,
//! requester found or created from `requester_email`, scopes (all / organization /
//! own) applied by the data layer on lists, counts and single tickets, tenant
//! isolation, idempotent creation, cursor pagination.

use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::{organizations, tokens};
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

async fn create(
    app: &TestApp,
    host: &str,
    token: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = app
        .request(Method::POST, host, "/api/v1/tickets")
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn list(app: &TestApp, host: &str, token: &str, query: &str) -> serde_json::Value {
    app.request(Method::GET, host, &format!("/api/v1/tickets{query}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json")
}

fn numbers(page: &serde_json::Value) -> Vec<i64> {
    let mut numbers: Vec<i64> = page["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| t["number"].as_i64().expect("number"))
        .collect();
    numbers.sort_unstable();
    numbers
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn tickets_are_numbered_scoped_counted_and_created_once(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("beta", "Beta IT").await;
    let db = app.tenant("acme").await;
    let one = organizations::create_organization(&db, "One", &["one.example".to_owned()], "test")
        .await
        .expect("org");
    let two = organizations::create_organization(&db, "Two", &["two.example".to_owned()], "test")
        .await
        .expect("org");
    for (email, role, organization) in [
        ("boss@one.example", Role::MainContact, one.id),
        ("worker@one.example", Role::Contact, one.id),
        ("other@two.example", Role::Contact, two.id),
    ] {
        people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(email).expect("email"),
                display_name: String::new(),
                role,
                invite: false,
                organization_id: Some(organization),
            },
        )
        .await
        .expect("person");
    }
    let store = app.store();
    let staff = app.token("acme", Role::Technician).await;
    let boss = tokens::create_personal_token(store, "acme", "boss", "boss@one.example")
        .await
        .expect("token");
    let worker = tokens::create_personal_token(store, "acme", "worker", "worker@one.example")
        .await
        .expect("token");
    let other = tokens::create_personal_token(store, "acme", "other", "other@two.example")
        .await
        .expect("token");
    let host = "acme.localhost";

    // Staff open tickets for anyone; an unknown sender at a known domain becomes a
    // contact of that organization; numbers start at 1000 and follow each other.
    let (status, first) = create(
        &app,
        host,
        &staff,
        json!({"subject": "Printer jammed", "description": "Tray 2", "priority": "high", "requester_email": "worker@one.example"}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["number"], 1000);
    assert_eq!(first["status"], "new");
    assert_eq!(first["priority"], "high");
    assert_eq!(first["source"], "api");
    let (status, second) = create(
        &app,
        host,
        &staff,
        json!({"subject": "New laptop", "requester_email": "newcomer@one.example"}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["number"], 1001);
    assert_eq!(second["priority"], "medium", "the default");
    assert_eq!(second["organization_id"], one.id);
    // Contacts open their own; main contacts for their organization's people.
    let (status, own) = create(&app, host, &other, json!({"subject": "VPN down"})).await;
    assert_eq!(status, 201, "{own}");
    let (status, _) = create(
        &app,
        host,
        &other,
        json!({"subject": "For someone else", "requester_email": "worker@one.example"}),
    )
    .await;
    assert_eq!(status, 422, "a contact opens tickets for themselves only");
    let (status, for_colleague) = create(
        &app,
        host,
        &boss,
        json!({"subject": "Share access", "requester_email": "worker@one.example"}),
    )
    .await;
    assert_eq!(status, 201, "{for_colleague}");
    let (status, _) = create(
        &app,
        host,
        &boss,
        json!({"subject": "Not mine", "requester_email": "other@two.example"}),
    )
    .await;
    assert_eq!(status, 422, "not of the main contact's organization");
    let (status, bad) = create(
        &app,
        host,
        &staff,
        json!({"subject": "", "requester_email": "worker@one.example"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(bad["error"]["code"], "invalid_input");
    let (status, _) = create(
        &app,
        host,
        &staff,
        json!({"subject": "x", "priority": "urgent!", "requester_email": "worker@one.example"}),
    )
    .await;
    assert_eq!(status, 422);

    // Scopes on lists and counts.
    let all = list(&app, host, &staff, "").await;
    assert_eq!(numbers(&all), vec![1000, 1001, 1002, 1003]);
    assert_eq!(all["counts"]["all"], 4);
    assert_eq!(all["counts"]["new"], 4);
    assert_eq!(all["counts"]["open"], 0);
    let organization = list(&app, host, &boss, "").await;
    assert_eq!(numbers(&organization), vec![1000, 1001, 1003]);
    assert_eq!(organization["counts"]["all"], 3);
    let mine = list(&app, host, &worker, "").await;
    assert_eq!(numbers(&mine), vec![1000, 1003]);
    assert_eq!(mine["counts"]["new"], 2);
    let theirs = list(&app, host, &other, "?status=new").await;
    assert_eq!(numbers(&theirs), vec![1002]);
    assert_eq!(
        list(&app, host, &other, "?status=closed").await["tickets"],
        json!([])
    );
    // One ticket: outside the scope it does not exist.
    let get = |token: &str, number: i64| {
        app.request(Method::GET, host, &format!("/api/v1/tickets/{number}"))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(get(&worker, 1000).await.expect("sent").status(), 200);
    assert_eq!(get(&worker, 1002).await.expect("sent").status(), 404);
    assert_eq!(get(&boss, 1002).await.expect("sent").status(), 404);
    assert_eq!(get(&boss, 1001).await.expect("sent").status(), 200);
    assert_eq!(get(&staff, 9999).await.expect("sent").status(), 404);
    // Another tenant sees none of it, and numbers its own from 1000.
    let beta = app.token("beta", Role::Technician).await;
    assert_eq!(
        list(&app, "beta.localhost", &beta, "").await["counts"]["all"],
        0
    );
    let wrong_host = app
        .request(Method::GET, "beta.localhost", "/api/v1/tickets/1000")
        .bearer_auth(&staff)
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong_host.status(), 401, "acme's token on beta's host");
    let (_, beta_first) = create(
        &app,
        "beta.localhost",
        &beta,
        json!({"subject": "Hello", "requester_email": "someone@elsewhere.example"}),
    )
    .await;
    assert_eq!(beta_first["number"], 1000);

    // Idempotency-Key: the same request twice makes one ticket; another body is refused.
    let send = |key: &str, subject: &str| {
        app.request(Method::POST, host, "/api/v1/tickets")
            .bearer_auth(staff.clone())
            .header("Idempotency-Key", key.to_owned())
            .json(&json!({"subject": subject, "requester_email": "worker@one.example"}))
            .send()
    };
    let made = send("key-1", "Once").await.expect("sent");
    assert_eq!(made.status(), 201);
    let made: serde_json::Value = made.json().await.expect("json");
    let again = send("key-1", "Once").await.expect("sent");
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.expect("json");
    assert_eq!(again["number"], made["number"]);
    assert_eq!(
        send("key-1", "Different").await.expect("sent").status(),
        422
    );
    assert_eq!(list(&app, host, &staff, "").await["counts"]["all"], 5);

    // Cursor pagination walks every ticket once, newest change first.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = list(&app, host, &staff, &query).await;
        seen.extend(numbers(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&after={cursor}"),
            None => break,
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![1000, 1001, 1002, 1003, 1004]);
    let bad_cursor = app
        .request(Method::GET, host, "/api/v1/tickets?after=nonsense")
        .bearer_auth(&staff)
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_cursor.status(), 422);

    // Status changes move the counts with them, in every scope.
    let move_to = |number: i64, status: &str| {
        app.request(
            Method::POST,
            host,
            &format!("/api/v1/tickets/{number}/status"),
        )
        .bearer_auth(staff.clone())
        .json(&json!({ "status": status }))
        .send()
    };
    let opened: serde_json::Value = move_to(1000, "open")
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(opened["status"], "open");
    assert_eq!(move_to(1002, "resolved").await.expect("sent").status(), 200);
    assert_eq!(move_to(1002, "closed").await.expect("sent").status(), 200);
    assert_eq!(
        move_to(1002, "closed").await.expect("sent").status(),
        200,
        "no change, no drift"
    );
    assert_eq!(move_to(1001, "nonsense").await.expect("sent").status(), 422);
    assert_eq!(move_to(4242, "open").await.expect("sent").status(), 404);
    let counts = list(&app, host, &staff, "").await["counts"].clone();
    assert_eq!(
        (
            counts["new"].as_i64(),
            counts["open"].as_i64(),
            counts["resolved"].as_i64(),
            counts["closed"].as_i64(),
            counts["all"].as_i64()
        ),
        (Some(3), Some(1), Some(0), Some(1), Some(5))
    );
    let mine = list(&app, host, &worker, "").await;
    assert_eq!(mine["counts"]["open"], 1);
    assert_eq!(
        numbers(&list(&app, host, &worker, "?status=open").await),
        vec![1000]
    );
    assert_eq!(list(&app, host, &other, "").await["counts"]["closed"], 1);
    let refused = app
        .request(Method::POST, host, "/api/v1/tickets/1002/status")
        .bearer_auth(&other)
        .json(&json!({ "status": "open" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        refused.status(),
        403,
        "contacts do not move tickets through the API"
    );

    // Every creation is an event in the tenant's outbox (subscribers follow).
    let mut tx = db.read().await.expect("read");
    let created: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'ticket.created'",
    )
    .fetch_one(tx.conn())
    .await
    .expect("count");
    tx.rollback().await.expect("rollback");
    assert_eq!(created, 5);
    app.stop().await;
}
