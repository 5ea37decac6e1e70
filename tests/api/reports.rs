//! Ratings and service reports through the API, on both backends: only the requester
//! rates, only a resolved ticket; a low rating is an event; the report per
//! organization and period counts what happened in it (opened, closed, resolved,
//! first response and resolution times, SLA compliance, ratings, time billable or
//! not), a main contact reads only their organization's, and CSV carries the same.

use portico_tenants::{Role, TenantDb};
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.api("acme.localhost", method, token, path, body).await
}

async fn events(db: &TenantDb, kind: &str) -> usize {
    let mut tx = db.read().await.expect("read");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_events WHERE event_type = $1")
        .bind(kind)
        .fetch_one(tx.conn())
        .await
        .expect("count");
    tx.rollback().await.expect("rollback");
    n as usize
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn requesters_rate_resolved_tickets_and_reports_count_the_period(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let one = portico_tenants::organizations::create_organization(
        &db,
        "One",
        &["one.example".to_owned()],
        "test",
    )
    .await
    .expect("org")
    .id;
    let two = portico_tenants::organizations::create_organization(
        &db,
        "Two",
        &["two.example".to_owned()],
        "test",
    )
    .await
    .expect("org")
    .id;
    let (_, admin) = app
        .person("acme", "admin@msp.example", Role::MspAdmin, None)
        .await;
    let (tech_id, tech) = app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let (_, alice) = app
        .person("acme", "alice@one.example", Role::Contact, Some(one))
        .await;
    let (_, boss) = app
        .person("acme", "boss@one.example", Role::MainContact, Some(one))
        .await;
    let (_, zoe) = app
        .person("acme", "zoe@two.example", Role::Contact, Some(two))
        .await;

    let open = |token: String, subject: &'static str| {
        let app = &app;
        async move {
            let (status, ticket) = call(
                app,
                &token,
                Method::POST,
                "/api/v1/tickets",
                Some(json!({ "subject": subject })),
            )
            .await;
            assert_eq!(status, 201, "{ticket}");
            ticket["number"].as_i64().expect("number")
        }
    };
    let a = open(alice.clone(), "Printer jammed").await;
    let b = open(alice.clone(), "VPN drops").await;
    let z = open(zoe.clone(), "Screen flickers").await;

    // Not yet resolved: no rating.
    let (status, refused) = call(
        &app,
        &alice,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 5 })),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("ticket_not_resolved"))
    );
    // The technician answers, works 45 minutes (30 billable), resolves.
    for number in [a, b, z] {
        let (status, _) = call(
            &app,
            &tech,
            Method::POST,
            &format!("/api/v1/tickets/{number}/messages"),
            Some(json!({ "body": "On it" })),
        )
        .await;
        assert_eq!(status, 201);
    }
    for (number, minutes, billable) in [(a, 30, true), (b, 15, false), (z, 60, true)] {
        let (status, entry) = call(&app, &tech, Method::POST, &format!("/api/v1/tickets/{number}/time-entries"),
            Some(json!({ "minutes": minutes, "billable": billable, "work_date": "2026-12-01", "technician_id": tech_id }))).await;
        assert_eq!(status, 201, "{entry}");
    }
    for number in [a, z] {
        let (status, _) = call(
            &app,
            &tech,
            Method::POST,
            &format!("/api/v1/tickets/{number}/status"),
            Some(json!({ "status": "resolved" })),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) = call(
        &app,
        &boss,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 5 })),
    )
    .await;
    assert_eq!(status, 409, "only the requester rates");
    let (status, rated) = call(
        &app,
        &alice,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 1, "comment": "Still jams" })),
    )
    .await;
    assert_eq!(status, 200, "{rated}");
    assert_eq!(events(&db, "ticket.rated_low").await, 1);
    // The team hears of it: with nobody assigned, every technician and MSP admin.
    for to in ["tech@msp.example", "admin@msp.example"] {
        portico_tests::eventually(
            std::time::Duration::from_secs(10),
            "the low-rating mail",
            || async {
                let dir = env.data_dir().join("mail");
                std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                    let text = std::fs::read_to_string(entry.path())
                        .ok()?
                        .replace("=\r\n", "")
                        .replace("=\n", "");
                    (text.contains(to) && text.contains("Still jams")).then_some(())
                })
            },
        )
        .await;
    }
    let (status, rated) = call(
        &app,
        &alice,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 4, "comment": "Fixed after all" })),
    )
    .await;
    assert_eq!(
        (status, rated["rating"].as_i64()),
        (200, Some(4)),
        "a rating can be changed"
    );
    assert_eq!(
        events(&db, "ticket.rated_low").await,
        1,
        "no new low-rating event"
    );
    let (status, _) = call(
        &app,
        &alice,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 6 })),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &app,
        &zoe,
        Method::POST,
        &format!("/api/v1/tickets/{a}/rating"),
        Some(json!({ "rating": 1 })),
    )
    .await;
    assert_eq!(
        status, 404,
        "another organization's ticket does not exist for zoe"
    );
    let (_, shown) = call(
        &app,
        &tech,
        Method::GET,
        &format!("/api/v1/tickets/{a}/rating"),
        None,
    )
    .await;
    assert_eq!(shown["comment"], "Fixed after all");

    // The report of organization One for the UTC day the tickets were made on.
    let (_, ticket) = call(
        &app,
        &tech,
        Method::GET,
        &format!("/api/v1/tickets/{a}"),
        None,
    )
    .await;
    let created_at = ticket["created_at"].as_i64().expect("created_at");
    let date = civil(created_at - created_at.rem_euclid(86_400_000));
    let (status, report) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/reports/service?organization={one}&from={date}&to={date}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["opened"], 2);
    assert_eq!(report["resolved"], 1);
    assert_eq!(report["ratings"], 1);
    assert_eq!(report["mean_rating"], 4.0);
    assert_eq!(report["low_ratings"], 0);
    assert!(
        report["mean_first_response_minutes"]
            .as_f64()
            .is_some_and(|m| m >= 0.0),
        "{report}"
    );
    // Time is dated 2026-12-01: it counts when the period holds that day.
    let (_, december) = call(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/reports/service?organization={one}&from=2026-12-01&to=2026-12-01"),
        None,
    )
    .await;
    assert_eq!(
        (
            december["billable_minutes"].as_i64(),
            december["non_billable_minutes"].as_i64()
        ),
        (Some(30), Some(15)),
        "{december}"
    );
    let (_, all) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/reports/service?from=2026-12-01&to=2026-12-01",
        None,
    )
    .await;
    assert_eq!(all["billable_minutes"], 90);
    // The main contact reads One's, and only One's.
    let (status, own) = call(
        &app,
        &boss,
        Method::GET,
        &format!("/api/v1/reports/service?from={date}&to={date}"),
        None,
    )
    .await;
    assert_eq!((status, own["organization_id"].as_i64()), (200, Some(one)));
    let (status, _) = call(
        &app,
        &boss,
        Method::GET,
        &format!("/api/v1/reports/service?organization={two}&from={date}&to={date}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        &alice,
        Method::GET,
        &format!("/api/v1/reports/service?from={date}&to={date}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/reports/service?from=2026-12-02&to=2026-12-01",
        None,
    )
    .await;
    assert_eq!(status, 422);
    // CSV: a header and the same figures.
    let response = app
        .request(Method::GET, "acme.localhost", &format!("/api/v1/reports/service?organization={one}&from=2026-12-01&to=2026-12-01&format=csv"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = response.text().await.expect("csv");
    let mut rows = csv_rows(&text);
    let header = rows.remove(0);
    let values = rows.remove(0);
    let billable = header
        .iter()
        .position(|h| h == "billable_minutes")
        .expect("column");
    assert_eq!(values[billable], "30", "{text}");
    // The priorities come with the manual's guidance, in the reader's language.
    let (_, priorities) = call(
        &app,
        &alice,
        Method::GET,
        "/api/v1/ticket-priorities?lang=it",
        None,
    )
    .await;
    assert_eq!(priorities[0]["key"], "critical");
    assert_eq!(priorities[0]["label"], "Critica");
    assert!(
        priorities[0]["guidance"]
            .as_str()
            .is_some_and(|g| g.contains("sicurezza")),
        "{priorities}"
    );
    let (_, english) = call(&app, &alice, Method::GET, "/api/v1/ticket-priorities", None).await;
    assert_eq!(
        english[1]["guidance"],
        "One user is blocked and cannot work."
    );
    app.stop().await;
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

/// `YYYY-MM-DD` of the UTC day starting at `ms`.
fn civil(ms: i64) -> String {
    let mut day = portico_tenants::reports::day_start_ms("1970-01-01").expect("epoch");
    let (mut y, mut m, mut d) = (1970, 1, 1);
    while day < ms {
        day += 86_400_000;
        d += 1;
        let date = format!("{y:04}-{m:02}-{d:02}");
        if !portico_tenants::time_entries::is_date(&date) {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
    format!("{y:04}-{m:02}-{d:02}")
}
