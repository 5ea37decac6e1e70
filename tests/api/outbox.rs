//! Domain events: written with the change, delivered at least once, in order per
//! aggregate, resumed after a restart.

use std::sync::Arc;
use std::time::Duration;

use portico_core::app::Extensions;
use portico_tenants::TenantDb;
use portico_tenants::outbox::NewEvent;
use portico_tests::recorder::Recorder;
use portico_tests::{Backend, TestEnv, eventually};
use rstest::rstest;

async fn emit(db: &TenantDb, aggregate: &str, event_type: &'static str) {
    let mut tx = db.begin().await.expect("begin");
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: aggregate.to_owned(),
        event_type,
        payload: serde_json::json!({ "n": event_type }),
    })
    .await
    .expect("emit");
    tx.commit().await.expect("commit");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_failing_aggregate_is_retried_in_order_while_others_flow(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let recorder = Arc::new(Recorder::new("order-recorder").fail_first("ticket:x", 2));
    let extensions = Extensions {
        subscribers: vec![recorder.clone()],
        ..Extensions::default()
    };
    let app = env.spawn_with(env.settings(), extensions).await;
    app.create_tenant("acme", "Acme").await;
    let db = app.tenant("acme").await;
    emit(&db, "x", "x1").await;
    emit(&db, "y", "y1").await;
    emit(&db, "x", "x2").await;
    emit(&db, "y", "y2").await;
    emit(&db, "x", "x3").await;

    let delivered = eventually(Duration::from_secs(20), "all five events", || async {
        let pairs = recorder.delivered_pairs();
        (pairs.len() >= 5).then_some(pairs)
    })
    .await;
    let order: Vec<&str> = delivered.iter().map(|(_, t)| t.as_str()).collect();
    let x: Vec<&str> = order
        .iter()
        .copied()
        .filter(|t| t.starts_with('x'))
        .collect();
    let y: Vec<&str> = order
        .iter()
        .copied()
        .filter(|t| t.starts_with('y'))
        .collect();
    assert_eq!(x, ["x1", "x2", "x3"], "{order:?}");
    assert_eq!(y, ["y1", "y2"], "{order:?}");
    // The healthy aggregate did not wait for the failing one.
    let first_x = order.iter().position(|t| *t == "x1").expect("x1");
    assert!(
        order.iter().position(|t| *t == "y2").expect("y2") < first_x,
        "{order:?}"
    );
    // x1 failed twice before it went through; nothing else failed.
    let attempts = recorder.attempts.lock().expect("lock").clone();
    assert_eq!(
        attempts.iter().filter(|(_, ok)| !ok).count(),
        2,
        "{attempts:?}"
    );
    // Each event was delivered exactly once here (at least once in general).
    assert_eq!(delivered.len(), 5);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn events_of_a_rolled_back_change_are_never_delivered(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let recorder = Arc::new(Recorder::new("rollback-recorder"));
    let extensions = Extensions {
        subscribers: vec![recorder.clone()],
        ..Extensions::default()
    };
    let app = env.spawn_with(env.settings(), extensions).await;
    app.create_tenant("acme", "Acme").await;
    let db = app.tenant("acme").await;
    let mut tx = db.begin().await.expect("begin");
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: "1".into(),
        event_type: "ticket.created",
        payload: serde_json::json!({}),
    })
    .await
    .expect("emit");
    tx.rollback().await.expect("rollback");
    emit(&db, "2", "ticket.created").await;
    let delivered = eventually(Duration::from_secs(10), "the committed event", || async {
        let pairs = recorder.delivered_pairs();
        (!pairs.is_empty()).then_some(pairs)
    })
    .await;
    // Let the worker make one more pass before checking nothing else arrived.
    app.worker.run_once().await.expect("pass");
    assert_eq!(recorder.delivered_pairs(), delivered);
    assert_eq!(delivered, [("2".to_owned(), "ticket.created".to_owned())]);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn undelivered_events_survive_a_restart(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let refusing = Arc::new(Recorder::failing("restart-recorder"));
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
    for n in ["e1", "e2", "e3"] {
        emit(&db, "7", n).await;
    }
    eventually(Duration::from_secs(10), "a refused attempt", || async {
        (!refusing.attempts.lock().expect("lock").is_empty()).then_some(())
    })
    .await;
    drop(db);
    first.stop().await;
    // The back-off the refused attempts earned survives the restart (1 s doubling
    // per attempt): on a loaded machine the stop takes a few seconds, more attempts
    // fail meanwhile, and the next one may be due a minute or more later.
    let refused = refusing.attempts.lock().expect("lock").len() as u32;
    let earned = Duration::from_millis(1_200 * (1_u64 << refused.min(7)));

    let accepting = Arc::new(Recorder::new("restart-recorder"));
    let second = env
        .spawn_with(
            env.settings(),
            Extensions {
                subscribers: vec![accepting.clone()],
                ..Extensions::default()
            },
        )
        .await;
    let delivered = eventually(
        Duration::from_secs(30) + earned,
        "the three events after restart",
        || async {
            let pairs = accepting.delivered_pairs();
            (pairs.len() >= 3).then_some(pairs)
        },
    )
    .await;
    let order: Vec<&str> = delivered.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(order, ["e1", "e2", "e3"]);
    second.stop().await;
}
