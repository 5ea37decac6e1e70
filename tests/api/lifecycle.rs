//! Shutdown lets requests in flight finish; slow requests time out; a crash between
//! a tenant's commit and the work index (SQLite) is repaired at start-up.

use std::sync::Arc;
use std::time::Duration;

use portico_core::app::Extensions;
use portico_tenants::Role;
use portico_tenants::outbox::NewEvent;
use portico_tests::recorder::Recorder;
use portico_tests::{Backend, TestEnv, eventually};
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Starts a POST whose body is only partly sent; returns the stream and the rest.
async fn start_slow_post(
    addr: std::net::SocketAddr,
    host: &str,
    token: &str,
    body: &str,
) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(first).await.expect("first half");
    stream.flush().await.expect("flush");
    (stream, rest.to_vec())
}

async fn read_status(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    text.lines().next().unwrap_or("").to_owned()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme").await;
    let token = app.token("acme", Role::MspAdmin).await;
    let body = r#"{"email":"late@acme.example","role":"contact","invite":false}"#;
    let (mut stream, rest) = start_slow_post(app.addr, "acme.localhost", &token, body).await;
    // Make sure the server has the request in hand before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let store = app.store().clone();
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(&rest).await.expect("rest of the body");
    assert_eq!(read_status(&mut stream).await, "HTTP/1.1 201 Created");
    stopping.await.expect("stopped");
    // The acknowledged write is there after the restart.
    drop(store);
    let again = env.spawn().await;
    let users = portico_tenants::people::list_users(
        &again.tenant("acme").await,
        portico_tenants::policy::Scope::All,
    )
    .await
    .expect("list");
    assert!(users.iter().any(|u| u.email == "late@acme.example"));
    again.stop().await;
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_408() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.request_timeout = 1;
    let app = env.spawn_with(settings, Extensions::default()).await;
    app.create_tenant("acme", "Acme").await;
    let token = app.token("acme", Role::MspAdmin).await;
    let (mut stream, _rest) = start_slow_post(
        app.addr,
        "acme.localhost",
        &token,
        r#"{"email":"x@y.example","role":"contact"}"#,
    )
    .await;
    assert_eq!(
        read_status(&mut stream).await,
        "HTTP/1.1 408 Request Timeout"
    );
    app.stop().await;
}

#[tokio::test]
async fn work_lost_between_two_sqlite_commits_is_found_at_start_up() {
    let env = TestEnv::new(Backend::Sqlite).await;
    let refusing = Arc::new(Recorder::failing("sweep-recorder"));
    let first = env
        .spawn_with(
            env.settings(),
            Extensions {
                subscribers: vec![refusing.clone()],
                ..Extensions::default()
            },
        )
        .await;
    first.create_tenant("acme", "Acme").await;
    let db = first.tenant("acme").await;
    let mut tx = db.begin().await.expect("begin");
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: "9".into(),
        event_type: "ticket.created",
        payload: serde_json::json!({}),
    })
    .await
    .expect("emit");
    tx.commit().await.expect("commit");
    eventually(Duration::from_secs(10), "a refused attempt", || async {
        (!refusing.attempts.lock().expect("lock").is_empty()).then_some(())
    })
    .await;
    drop(db);
    first.stop().await;

    // Simulate a crash right after the tenant's commit: the platform never learnt of the work.
    {
        use sqlx::Connection;
        let url = format!(
            "sqlite://{}?mode=rw",
            env.data_dir().join("platform.db").display()
        );
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("platform file");
        sqlx::query("DELETE FROM work_index")
            .execute(&mut conn)
            .await
            .expect("forget work");
        conn.close().await.expect("close");
    }

    let accepting = Arc::new(Recorder::new("sweep-recorder"));
    let second = env
        .spawn_with(
            env.settings(),
            Extensions {
                subscribers: vec![accepting.clone()],
                ..Extensions::default()
            },
        )
        .await;
    eventually(
        Duration::from_secs(15),
        "the event after the sweep",
        || async { (accepting.delivered_pairs().len() == 1).then_some(()) },
    )
    .await;
    second.stop().await;
}
