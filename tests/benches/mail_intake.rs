//! E-mail intake figures (`cargo bench -p portico-tests --bench mail_intake`), on
//! PostgreSQL (`MAIL_BENCH_BACKEND=sqlite` for the embedded default):
//!
//! 1. IMAP IDLE latency: 20 messages delivered one by one into a Dovecot mailbox
//!    (`tests/mail/setup.sh`) over LMTP; the time from delivery until each is a ticket;
//! 2. throughput into tickets: `MAIL_BENCH_MESSAGES` (2,000) new requests from 100
//!    known contacts posted to the inbound webhook by 16 concurrent clients; the time
//!    from the first post until every message is a ticket; then the same spread over
//!    four tenants.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use portico_tenants::Role;
use portico_tests::{Backend, TestEnv};
use reqwest::Method;
use serde_json::{Value, json};

const HOST: &str = "acme.localhost";

async fn settled(db: &portico_tenants::TenantDb) -> (i64, i64) {
    let mut tx = db.read().await.expect("read");
    let row: (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN state = 'created' THEN 1 ELSE 0 END) AS BIGINT) FROM mail_inbound",
    )
    .fetch_one(tx.conn())
    .await
    .expect("count");
    tx.rollback().await.expect("rollback");
    row
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = match std::env::var("MAIL_BENCH_BACKEND").as_deref() {
        Ok("sqlite") => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    let messages: usize = std::env::var("MAIL_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.mail_sink = portico_core::settings::MailSink::Log;
    settings.log = "warn".into();
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app.organization("acme", "One", "one.example").await;
    let (_, admin) = app
        .person("acme", "admin@acme.test", Role::MspAdmin, None)
        .await;
    for n in 0..100 {
        app.person(
            "acme",
            &format!("c{n}@one.example"),
            Role::Contact,
            Some(org),
        )
        .await;
    }
    let db = app.tenant("acme").await;

    // 1. IDLE latency, on a quiet system (before the load below leaves notification
    // work behind).
    let user = format!("bench-{}@test.local", uuid::Uuid::new_v4().simple());
    writeln!(
        std::fs::OpenOptions::new()
            .append(true)
            .open("/tmp/portico-dovecot/users")
            .expect("run tests/mail/setup.sh"),
        "{user}:{{PLAIN}}secret::::::"
    )
    .expect("user");
    let (status, body) = app
        .api(
            HOST,
            Method::POST,
            &admin,
            "/api/v1/mail/mailboxes",
            Some(json!({
                "address": user, "host": "127.0.0.1", "port": 10143, "tls": "none",
                "username": user, "password": "secret",
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = Vec::new();
    for n in 0..20 {
        let id = format!("idle-{n}@one.example");
        let script = format!(
            "import smtplib\ns=smtplib.LMTP('127.0.0.1',10024)\n\
             s.sendmail('x@one.example',['{user}'],'From: idle{n}@one.example\\r\\nTo: {user}\\r\\nSubject: Idle {n}\\r\\nMessage-ID: <{id}>\\r\\n\\r\\nHello {n}\\r\\n')\ns.quit()\n"
        );
        let sent = Instant::now();
        assert!(
            Command::new("python3")
                .args(["-c", &script])
                .status()
                .expect("python3")
                .success()
        );
        let delivered = sent.elapsed();
        loop {
            let (_, queue) = app
                .api(
                    HOST,
                    Method::GET,
                    &admin,
                    "/api/v1/mail/inbound?limit=5",
                    None,
                )
                .await;
            let found = queue.as_array().is_some_and(|q: &Vec<Value>| {
                q.iter()
                    .any(|m| m["message_id"] == id && m["state"] == "created")
            });
            if found {
                break;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(60),
                "message {n} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push((sent.elapsed() - delivered).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "IDLE latency ({backend:?}), mailbox to ticket, 20 messages: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies[latencies.len() - 1]
    );
    // 2. Throughput.
    let started = Instant::now();
    futures::stream::iter(0..messages)
        .map(|n| {
            let app = &app;
            let admin = &admin;
            async move {
                let raw = format!(
                    "From: Contact <c{}@one.example>\r\nTo: acme@inbound.localhost\r\nSubject: Request {n}\r\n\
                     Message-ID: <bench-{n}@one.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n\
                     The printer on floor {n} is jammed again.\r\n\r\nThanks,\r\nContact\r\n",
                    n % 100
                );
                let response = app
                    .request(Method::POST, HOST, "/api/v1/mail/inbound")
                    .bearer_auth(admin)
                    .header("content-type", "message/rfc822")
                    .body(raw)
                    .send()
                    .await
                    .expect("posted");
                assert_eq!(response.status(), 202);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let queued = started.elapsed();
    loop {
        let (total, created) = settled(&db).await;
        if total as usize >= messages && created as usize >= messages {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "intake stalled at {created}/{total}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = started.elapsed();
    println!(
        "throughput ({backend:?}): {messages} messages queued in {:.2} s ({:.0}/s), all tickets after {:.2} s: {:.0} messages/s into tickets",
        queued.as_secs_f64(),
        messages as f64 / queued.as_secs_f64(),
        done.as_secs_f64(),
        messages as f64 / done.as_secs_f64()
    );

    // 1b. The same load spread over four tenants (each tenant's outbox serializes its
    // own ticket-creating transactions; tenants proceed in parallel).
    let mut tenants = Vec::new();
    for t in 0..4 {
        let slug = format!("multi{t}");
        app.create_tenant(&slug, "Multi").await;
        let org = app.organization(&slug, "One", "one.example").await;
        let (_, token) = app
            .person(&slug, "admin@acme.test", Role::MspAdmin, None)
            .await;
        for n in 0..100 {
            app.person(
                &slug,
                &format!("c{n}@one.example"),
                Role::Contact,
                Some(org),
            )
            .await;
        }
        tenants.push((slug.clone(), token, app.tenant(&slug).await));
    }
    let started = Instant::now();
    futures::stream::iter(0..messages)
        .map(|n| {
            let app = &app;
            let (slug, token, _) = &tenants[n % 4];
            async move {
                let raw = format!(
                    "From: Contact <c{}@one.example>\r\nTo: {slug}@inbound.localhost\r\nSubject: Request {n}\r\n\
                     Message-ID: <multi-{n}@one.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\n\
                     The printer on floor {n} is jammed again.\r\n",
                    (n / 4) % 100
                );
                let response = app
                    .request(Method::POST, &format!("{slug}.localhost"), "/api/v1/mail/inbound")
                    .bearer_auth(token)
                    .header("content-type", "message/rfc822")
                    .body(raw)
                    .send()
                    .await
                    .expect("posted");
                assert_eq!(response.status(), 202);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    loop {
        let mut done = 0;
        for (_, _, db) in &tenants {
            done += settled(db).await.1;
        }
        if done as usize >= messages {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "intake stalled at {done}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = started.elapsed();
    println!(
        "throughput ({backend:?}), 4 tenants: {messages} messages into tickets after {:.2} s: {:.0} messages/s",
        done.as_secs_f64(),
        messages as f64 / done.as_secs_f64()
    );

    app.stop().await;
}
