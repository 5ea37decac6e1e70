//! SLA and approvals through the API, on both backends: due times computed on the
//! organization's business-hours calendar and stored on the ticket; pauses; breach,
//! warning and escalation derived from the status history (time is made to pass by
//! moving the history back, which is what the SLA is derived from); the "SLA at
//! risk" filters; approvals by named approvers, N of M, in the portal and through
//! the e-mail's single-use links (a confirmation page, no change on GET), reused
//! and expired links, rejection with the reason told to the requester, audit.

use portico_tenants::sla::{Calendar, CalendarDefinition};
use portico_tenants::{Role, TenantDb};
use portico_tests::browser::Browser;
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    db: TenantDb,
    admin: String,
    tech: String,
}

impl Desk {
    async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.app
            .api("acme.localhost", method, token, path, body)
            .await
    }

    async fn ok(&self, method: Method, token: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method.clone(), token, path, Some(body)).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    async fn ticket(&self, token: &str, number: i64) -> Value {
        let (status, ticket) = self
            .call(
                Method::GET,
                token,
                &format!("/api/v1/tickets/{number}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{ticket}");
        ticket
    }
}

async fn desk(backend: Backend) -> (std::sync::Arc<TestEnv>, Desk, i64) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let org = portico_tenants::organizations::create_organization(
        &db,
        "Customer One",
        &["one.example".to_owned()],
        "test",
    )
    .await
    .expect("organization")
    .id;
    let (_, admin) = app
        .person("acme", "admin@msp.example", Role::MspAdmin, None)
        .await;
    let (_, tech) = app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    (
        env,
        Desk {
            app,
            db,
            admin,
            tech,
        },
        org,
    )
}

/// Moves a ticket's whole history `minutes` into the past: for the SLA, exactly as
/// if that much time had passed.
async fn age(db: &TenantDb, number: i64, minutes: i64) {
    let shift = minutes * 60_000;
    let mut tx = db.begin().await.expect("begin");
    let id: i64 = sqlx::query_scalar("SELECT id FROM tickets WHERE number = $1")
        .bind(number)
        .fetch_one(tx.conn())
        .await
        .expect("ticket");
    sqlx::query("UPDATE tickets SET created_at = created_at - $2 WHERE id = $1")
        .bind(id)
        .bind(shift)
        .execute(tx.conn())
        .await
        .expect("ticket aged");
    sqlx::query("UPDATE ticket_status_history SET at = at - $2 WHERE ticket_id = $1")
        .bind(id)
        .bind(shift)
        .execute(tx.conn())
        .await
        .expect("history aged");
    tx.commit().await.expect("commit");
}

async fn events(db: &TenantDb, number: i64) -> Vec<String> {
    let mut tx = db.read().await.expect("read");
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM outbox_events WHERE aggregate_type = 'ticket' AND aggregate_id = $1 ORDER BY id",
    )
    .bind(number.to_string())
    .fetch_all(tx.conn())
    .await
    .expect("events");
    tx.rollback().await.expect("rollback");
    types
}

fn office() -> Value {
    json!({
        "time_zone": "Europe/Rome",
        "week": {
            "mon": [["09:00", "13:00"], ["14:00", "18:00"]],
            "tue": [["09:00", "13:00"], ["14:00", "18:00"]],
            "wed": [["09:00", "13:00"], ["14:00", "18:00"]],
            "thu": [["09:00", "13:00"], ["14:00", "18:00"]],
            "fri": [["09:00", "13:00"], ["14:00", "18:00"]]
        },
        "holidays": ["2026-12-25", "2026-12-26", "2027-01-01"]
    })
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn due_times_follow_the_organizations_calendar_pause_and_breach(#[case] backend: Backend) {
    let (env, desk, org) = desk(backend).await;
    let admin = desk.admin.clone();
    let tech = desk.tech.clone();
    desk.ok(
        Method::POST,
        &admin,
        "/api/v1/sla-calendars",
        json!({
            "key": "office", "name": "Office hours", "definition": office()
        }),
    )
    .await;
    let (status, refused) = desk
        .call(Method::POST, &admin, "/api/v1/sla-calendars", Some(json!({
            "key": "broken", "name": "Broken",
            "definition": { "time_zone": "Mars/Olympus", "week": { "mon": [["09:00", "18:00"]] }, "holidays": [] }
        })))
        .await;
    assert_eq!(status, 422, "{refused}");
    desk.ok(
        Method::POST,
        &admin,
        "/api/v1/sla-policies",
        json!({
            "key": "gold", "name": "Gold", "calendar": "office",
            "targets": { "high": { "first_response_minutes": 60, "resolution_minutes": 480 } }
        }),
    )
    .await;
    desk.ok(
        Method::PUT,
        &admin,
        &format!("/api/v1/organizations/{org}/sla-policy"),
        json!({ "policy": "gold" }),
    )
    .await;
    let (_, alice) = desk
        .app
        .person("acme", "alice@one.example", Role::Contact, Some(org))
        .await;

    // Due times are the calendar's: computed here with the engine from the stored
    // creation time, whatever the hour the test runs at.
    let created = desk
        .ok(
            Method::POST,
            &alice,
            "/api/v1/tickets",
            json!({ "subject": "Mail is down", "priority": "high" }),
        )
        .await;
    let number = created["number"].as_i64().expect("number");
    let ticket = desk.ticket(&tech, number).await;
    let calendar = Calendar::parse(
        serde_json::from_value::<CalendarDefinition>(office()).expect("definition"),
    )
    .expect("calendar");
    let created_at = ticket["created_at"].as_i64().expect("created_at");
    assert_eq!(
        ticket["first_response_due_at"].as_i64(),
        Some(calendar.add_business(created_at, 3_600_000).expect("due"))
    );
    assert_eq!(
        ticket["resolution_due_at"].as_i64(),
        Some(
            calendar
                .add_business(created_at, 8 * 3_600_000)
                .expect("due")
        )
    );
    assert_eq!(ticket["sla_state"], "ok");
    assert_eq!(
        desk.ticket(&alice, number).await["sla_state"],
        Value::Null,
        "customers do not see the clocks"
    );

    // A pausing status stops the resolution clock: no due time while it lasts.
    desk.ok(
        Method::POST,
        &tech,
        &format!("/api/v1/tickets/{number}/status"),
        json!({ "status": "waiting" }),
    )
    .await;
    let waiting = desk.ticket(&tech, number).await;
    assert_eq!(waiting["resolution_due_at"], Value::Null, "{waiting}");
    desk.ok(
        Method::POST,
        &tech,
        &format!("/api/v1/tickets/{number}/status"),
        json!({ "status": "open" }),
    )
    .await;
    let resumed = desk.ticket(&tech, number).await;
    assert!(
        resumed["resolution_due_at"].as_i64() >= ticket["resolution_due_at"].as_i64(),
        "resuming never brings the due time forward: {resumed}"
    );

    // Unassigned organizations fall back on the tenant's default policy, 24 x 7.
    desk.ok(
        Method::POST,
        &admin,
        "/api/v1/sla-policies",
        json!({
            "key": "always", "name": "Always on",
            "targets": { "critical": { "first_response_minutes": 60, "resolution_minutes": 120 } },
            "warning_percent": 75
        }),
    )
    .await;
    let (status, _) = desk
        .call(
            Method::PUT,
            &admin,
            "/api/v1/settings/sla-default-policy",
            Some(json!("always")),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = desk
        .call(
            Method::PUT,
            &admin,
            "/api/v1/settings/sla-escalation-level",
            Some(json!(2)),
        )
        .await;
    assert_eq!(status, 204);
    // The second level is a queue with its own technician, who hears of escalations.
    let (customer, _) = desk
        .app
        .person("acme", "customer@one.example", Role::Contact, Some(org))
        .await;
    let (second_tech, _) = desk
        .app
        .person("acme", "second@msp.example", Role::Technician, None)
        .await;
    desk.ok(
        Method::POST,
        &admin,
        "/api/v1/ticket-queues",
        json!({ "key": "second", "name": "Second level", "level": 2 }),
    )
    .await;
    let members = desk
        .ok(
            Method::PUT,
            &admin,
            "/api/v1/ticket-queues/second/members",
            json!({ "members": [second_tech] }),
        )
        .await;
    assert_eq!(members["members"], json!([second_tech]));
    let (status, refused) = desk
        .call(
            Method::PUT,
            &admin,
            "/api/v1/ticket-queues/second/members",
            Some(json!({ "members": [customer] })),
        )
        .await;
    assert_eq!(status, 422, "only staff can be queue members: {refused}");
    let (status, _) = desk
        .call(
            Method::PUT,
            &admin,
            "/api/v1/settings/sla-escalation-queue",
            Some(json!("second")),
        )
        .await;
    assert_eq!(status, 204);
    let outage = desk
        .ok(Method::POST, &tech, "/api/v1/tickets", json!({
            "subject": "Everything is down", "priority": "critical", "requester_email": "someone@elsewhere.example"
        }))
        .await;
    let outage = outage["number"].as_i64().expect("number");
    let fresh = desk.ticket(&tech, outage).await;
    let created_at = fresh["created_at"].as_i64().expect("created_at");
    assert_eq!(
        fresh["first_response_due_at"].as_i64(),
        Some(created_at + 3_600_000)
    );
    assert_eq!(
        fresh["resolution_due_at"].as_i64(),
        Some(created_at + 7_200_000)
    );
    assert_eq!(fresh["level"], 1);

    // 100 minutes later: the first response (60) is breached, the resolution (120)
    // past its 75 % warning; the ticket is breached and escalated to level 2, once.
    age(&desk.db, outage, 100).await;
    desk.ok(
        Method::POST,
        &tech,
        &format!("/api/v1/tickets/{outage}/status"),
        json!({ "status": "open" }),
    )
    .await;
    let late = desk.ticket(&tech, outage).await;
    assert_eq!(late["sla_state"], "breached", "{late}");
    assert_eq!(
        late["sla_breached_at"].as_i64(),
        Some(created_at - 100 * 60_000 + 3_600_000)
    );
    assert_eq!(late["level"], 2, "escalated to the second level");
    assert_eq!(late["queue"], "second", "{late}");
    let notice = portico_tests::eventually(
        std::time::Duration::from_secs(10),
        "the escalation notice",
        || async {
            let dir = env.data_dir().join("mail");
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                (text.contains("second@msp.example")
                    && text.contains(&format!("Ticket #{outage} escalated to level 2")))
                .then_some(text)
            })
        },
    )
    .await;
    assert!(notice.contains("SLA was breached"), "{notice}");
    let happened = events(&desk.db, outage).await;
    assert_eq!(
        happened
            .iter()
            .filter(|e| *e == "ticket.sla_breached")
            .count(),
        1,
        "{happened:?}"
    );
    assert_eq!(
        happened.iter().filter(|e| *e == "ticket.escalated").count(),
        1,
        "{happened:?}"
    );

    // The views are filters on the stored state.
    let (_, breached) = desk
        .call(Method::GET, &tech, "/api/v1/tickets?sla=breached", None)
        .await;
    let numbers: Vec<i64> = breached["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["number"].as_i64())
        .collect();
    assert_eq!(numbers, [outage]);
    let (_, fine) = desk
        .call(Method::GET, &tech, "/api/v1/tickets?sla=ok", None)
        .await;
    let numbers: Vec<i64> = fine["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["number"].as_i64())
        .collect();
    assert_eq!(numbers, [number]);
    let (status, _) = desk
        .call(Method::GET, &tech, "/api/v1/tickets?sla=late", None)
        .await;
    assert_eq!(status, 422);

    // Resolving stops the clocks: the state is kept as it was reached.
    desk.ok(
        Method::POST,
        &tech,
        &format!("/api/v1/tickets/{outage}/status"),
        json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(desk.ticket(&tech, outage).await["sla_state"], "breached");
    desk.app.stop().await;
}

async fn mail_link(env: &TestEnv, to: &str, number: i64) -> String {
    portico_tests::eventually(
        std::time::Duration::from_secs(10),
        "an approval mail",
        || async {
            let dir = env.data_dir().join("mail");
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                let text = text
                    .replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=");
                if !(text.contains(to) && text.contains(&format!("#{number}"))) {
                    return None;
                }
                let start = text.find("/approvals/")?;
                let token: String = text[start + "/approvals/".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                Some(format!("/approvals/{token}"))
            })
        },
    )
    .await
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn approvals_wait_for_n_of_m_approvers_through_portal_and_single_use_links(
    #[case] backend: Backend,
) {
    let (env, desk, org) = desk(backend).await;
    let admin = desk.admin.clone();
    let tech = desk.tech.clone();
    let (boss_id, boss) = desk
        .app
        .person("acme", "boss@one.example", Role::MainContact, Some(org))
        .await;
    let (carol_id, carol) = desk
        .app
        .person("acme", "carol@one.example", Role::Contact, Some(org))
        .await;
    let (_, alice) = desk
        .app
        .person("acme", "alice@one.example", Role::Contact, Some(org))
        .await;
    desk.ok(Method::POST, &admin, "/api/v1/ticket-types", json!({
        "key": "access_change", "name": "Access to shared folders", "requires_approval": true, "approvals_needed": 2
    }))
    .await;
    let approvers = desk
        .ok(
            Method::PUT,
            &admin,
            &format!("/api/v1/organizations/{org}/approvers"),
            json!({ "approvers": [boss_id, carol_id] }),
        )
        .await;
    assert_eq!(approvers, json!([boss_id, carol_id]));

    let asked = desk
        .ok(
            Method::POST,
            &alice,
            "/api/v1/tickets",
            json!({ "subject": "Access to Finance share", "type": "access_change" }),
        )
        .await;
    let number = asked["number"].as_i64().expect("number");
    assert_eq!(asked["approval_state"], "pending");
    // Technicians cannot work it meanwhile.
    let (status, refused) = desk
        .call(
            Method::POST,
            &tech,
            &format!("/api/v1/tickets/{number}/status"),
            Some(json!({ "status": "open" })),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("awaiting_approval")),
        "{refused}"
    );
    let (status, _) = desk
        .call(
            Method::POST,
            &tech,
            &format!("/api/v1/tickets/{number}/time-entries"),
            Some(json!({ "minutes": 10, "work_date": "2026-12-01" })),
        )
        .await;
    assert_eq!(status, 409);
    let (_, waiting) = desk
        .call(Method::GET, &tech, "/api/v1/tickets?approval=pending", None)
        .await;
    assert_eq!(waiting["tickets"][0]["number"], number);

    // Each approver gets a link; opening it changes nothing.
    let boss_link = mail_link(&env, "boss@one.example", number).await;
    let carol_link = mail_link(&env, "carol@one.example", number).await;
    let mut browser = Browser::new(desk.app.addr, "acme.localhost");
    let page = browser.get(&carol_link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Access to Finance share"),
        "{}",
        page.body
    );
    let csrf = page.field("csrf").expect("csrf");
    assert_eq!(
        desk.ticket(&tech, number).await["approval_state"],
        "pending",
        "GET changes nothing"
    );

    // One of two: still pending. A person who is no approver is not told anything.
    let (status, _) = desk
        .call(
            Method::POST,
            &alice,
            &format!("/api/v1/tickets/{number}/approval"),
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(status, 404);
    let approval = desk
        .ok(
            Method::POST,
            &boss,
            &format!("/api/v1/tickets/{number}/approval"),
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(approval["state"], "pending");
    let (status, again) = desk
        .call(
            Method::POST,
            &boss,
            &format!("/api/v1/tickets/{number}/approval"),
            Some(json!({ "decision": "approve" })),
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("approval_already_given"))
    );

    // The second through the link's confirmation page: approved, and workable.
    let done = browser
        .post(
            &carol_link,
            &[("csrf", &csrf), ("decision", "approve"), ("reason", "")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        desk.ticket(&tech, number).await["approval_state"],
        "approved"
    );
    let (status, _) = desk
        .call(
            Method::POST,
            &tech,
            &format!("/api/v1/tickets/{number}/status"),
            Some(json!({ "status": "open" })),
        )
        .await;
    assert_eq!(status, 200);
    // A used link, and the other approver's link once decided, are gone.
    let reused = browser
        .post(
            &carol_link,
            &[("csrf", &csrf), ("decision", "reject"), ("reason", "x")],
        )
        .await;
    assert_eq!(reused.status, 410);
    assert_eq!(browser.get(&boss_link).await.status, 410);

    // Rejection: the reason reaches the requester, the ticket closes.
    let second = desk
        .ok(
            Method::POST,
            &alice,
            "/api/v1/tickets",
            json!({ "subject": "Access to HR share", "type": "access_change" }),
        )
        .await["number"]
        .as_i64()
        .expect("number");
    let (status, _) = desk
        .call(
            Method::POST,
            &carol,
            &format!("/api/v1/tickets/{second}/approval"),
            Some(json!({ "decision": "reject" })),
        )
        .await;
    assert_eq!(status, 422, "a rejection needs a reason");
    desk.ok(
        Method::POST,
        &carol,
        &format!("/api/v1/tickets/{second}/approval"),
        json!({ "decision": "reject", "reason": "HR data is restricted" }),
    )
    .await;
    let rejected = desk.ticket(&alice, second).await;
    assert_eq!(
        (
            rejected["approval_state"].as_str(),
            rejected["status"].as_str()
        ),
        (Some("rejected"), Some("closed"))
    );
    let (_, thread) = desk
        .call(
            Method::GET,
            &alice,
            &format!("/api/v1/tickets/{second}/messages"),
            None,
        )
        .await;
    assert!(
        thread.to_string().contains("HR data is restricted"),
        "{thread}"
    );
    portico_tests::eventually(
        std::time::Duration::from_secs(10),
        "the rejection mail",
        || async {
            let dir = env.data_dir().join("mail");
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path())
                    .ok()?
                    .replace("=\r\n", "")
                    .replace("=\n", "");
                (text.contains("alice@one.example") && text.contains("HR data is restricted"))
                    .then_some(())
            })
        },
    )
    .await;

    // An expired link is refused like a used one.
    let third = desk
        .ok(
            Method::POST,
            &alice,
            "/api/v1/tickets",
            json!({ "subject": "Access to IT share", "type": "access_change" }),
        )
        .await["number"]
        .as_i64()
        .expect("number");
    let link = mail_link(&env, "carol@one.example", third).await;
    let mut tx = desk.db.begin().await.expect("begin");
    sqlx::query("UPDATE approval_links SET expires_at = 1")
        .execute(tx.conn())
        .await
        .expect("expire");
    tx.commit().await.expect("commit");
    let expired = browser.get(&link).await;
    assert_eq!(expired.status, 410);
    let refused = browser
        .post(
            &link,
            &[("csrf", &csrf), ("decision", "approve"), ("reason", "")],
        )
        .await;
    assert_eq!(refused.status, 410);
    assert_eq!(desk.ticket(&tech, third).await["approval_state"], "pending");

    // Every decision is on the audit log.
    let (_, audit) = desk.call(Method::GET, &admin, "/api/v1/audit", None).await;
    let decisions = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "ticket.approval_decided")
        .count();
    assert_eq!(decisions, 3, "{audit}");
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_resolved_ticket_closes_by_itself_after_the_tenants_days(#[case] backend: Backend) {
    let (_env, desk, _) = desk(backend).await;
    let (admin, tech) = (desk.admin.clone(), desk.tech.clone());
    let (status, _) = desk
        .call(
            Method::PUT,
            &admin,
            "/api/v1/settings/tickets-auto-close-days",
            Some(json!(2)),
        )
        .await;
    assert_eq!(status, 204);
    let number = desk
        .ok(
            Method::POST,
            &tech,
            "/api/v1/tickets",
            json!({ "subject": "Printer jammed", "requester_email": "ann@elsewhere.example" }),
        )
        .await["number"]
        .as_i64()
        .expect("number");
    desk.ok(
        Method::POST,
        &tech,
        &format!("/api/v1/tickets/{number}/status"),
        json!({ "status": "resolved" }),
    )
    .await;
    let resolved_at = desk.ticket(&tech, number).await["resolved_at"]
        .as_i64()
        .expect("resolved_at");
    let jobs = portico_tenants::jobs::list_tenant_jobs(&desk.db)
        .await
        .expect("jobs");
    let job = jobs
        .iter()
        .find(|j| j.kind == "ticket.auto_close")
        .expect("an auto-close job");
    assert_eq!(job.run_at, resolved_at + 2 * 86_400_000);

    // Three days pass for the ticket and its job (both moved back), then any work
    // of the tenant wakes the worker: the job finds the resolution old enough.
    let earlier = resolved_at - 3 * 86_400_000;
    let mut tx = desk.db.begin().await.expect("begin");
    sqlx::query("UPDATE tickets SET resolved_at = $2 WHERE number = $1")
        .bind(number)
        .bind(earlier)
        .execute(tx.conn())
        .await
        .expect("ticket aged");
    sqlx::query("UPDATE jobs SET run_at = 0, payload = $1 WHERE kind = 'ticket.auto_close'")
        .bind(json!({ "number": number, "resolved_at": earlier }).to_string())
        .execute(tx.conn())
        .await
        .expect("job aged");
    tx.commit().await.expect("commit");
    desk.ok(
        Method::POST,
        &tech,
        "/api/v1/tickets",
        json!({ "subject": "Wake up", "requester_email": "ann@elsewhere.example" }),
    )
    .await;
    let closed = portico_tests::eventually(
        std::time::Duration::from_secs(10),
        "the auto-close",
        || async {
            let ticket = desk.ticket(&tech, number).await;
            (ticket["status"] == "closed").then_some(ticket)
        },
    )
    .await;
    assert!(closed["closed_at"].as_i64().is_some(), "{closed}");
    let mut tx = desk.db.read().await.expect("read");
    let actor: String = sqlx::query_scalar(
        "SELECT h.actor FROM ticket_status_history h JOIN tickets t ON t.id = h.ticket_id \
         WHERE t.number = $1 ORDER BY h.id DESC LIMIT 1",
    )
    .bind(number)
    .fetch_one(tx.conn())
    .await
    .expect("history");
    tx.rollback().await.expect("rollback");
    assert_eq!(actor, "system:auto-close");
    desk.app.stop().await;
}
