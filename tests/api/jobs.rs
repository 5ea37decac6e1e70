//! The durable job runner: tenant and platform jobs, retries with back-off, dead
//! jobs, restarts, and exactly one run across instances.

use std::sync::Arc;
use std::time::Duration;

use portico_core::app::Extensions;
use portico_tenants::clock::now_ms;
use portico_tenants::jobs::{self, JobHandlers, NewJob};
use portico_tests::counting_job::CountingJob;
use portico_tests::{Backend, TestEnv, eventually};
use rstest::rstest;

fn handlers(jobs: &[Arc<CountingJob>]) -> Extensions {
    let mut registry = JobHandlers::default();
    for job in jobs {
        registry.register(job.clone());
    }
    Extensions {
        job_handlers: registry,
        ..Extensions::default()
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn jobs_run_retry_and_die_as_told(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let ok = Arc::new(CountingJob::new("test.ok"));
    let flaky = Arc::new(CountingJob::failing_first("test.flaky", 2));
    let broken = Arc::new(CountingJob::broken("test.broken"));
    let app = env
        .spawn_with(
            env.settings(),
            handlers(&[ok.clone(), flaky.clone(), broken.clone()]),
        )
        .await;
    app.create_tenant("acme", "Acme").await;
    let db = app.tenant("acme").await;

    let mut tx = db.begin().await.expect("begin");
    tx.enqueue(NewJob::now("test.ok", serde_json::json!({ "n": 1 })))
        .await
        .expect("enqueue");
    let mut deduplicated = NewJob::now("test.ok", serde_json::json!({ "n": 2 }));
    deduplicated.dedup_key = Some("only-once".into());
    assert!(
        tx.enqueue(deduplicated.clone())
            .await
            .expect("enqueue")
            .is_some()
    );
    assert!(
        tx.enqueue(deduplicated).await.expect("enqueue").is_none(),
        "dedup key holds"
    );
    tx.enqueue(NewJob::now("test.flaky", serde_json::json!({})))
        .await
        .expect("enqueue");
    tx.enqueue(NewJob::now("test.broken", serde_json::json!({})))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    jobs::enqueue_platform(
        app.store(),
        NewJob::now("test.ok", serde_json::json!({ "n": 3 })),
    )
    .await
    .expect("platform job");

    eventually(Duration::from_secs(10), "the ok jobs", || async {
        (ok.count() == 3).then_some(())
    })
    .await;
    let runs = ok.runs.lock().expect("lock").clone();
    assert!(runs.contains(&("acme".to_owned(), serde_json::json!({ "n": 1 }))));
    assert!(runs.contains(&("platform".to_owned(), serde_json::json!({ "n": 3 }))));

    // Two failures with back-off (about 1 s, then 2 s), then success.
    eventually(Duration::from_secs(20), "the flaky job", || async {
        (flaky.count() == 1).then_some(())
    })
    .await;
    let remaining = eventually(
        Duration::from_secs(10),
        "only the dead job left",
        || async {
            let all = jobs::list_tenant_jobs(&db).await.expect("list");
            (all.len() == 1 && all[0].state == "dead").then_some(all)
        },
    )
    .await;
    assert_eq!(remaining[0].kind, "test.broken");
    assert_eq!(remaining[0].attempts, 1);
    assert_eq!(remaining[0].last_error.as_deref(), Some("cannot ever work"));
    assert!(
        jobs::list_platform_jobs(app.store())
            .await
            .expect("list")
            .is_empty()
    );
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn scheduled_jobs_survive_a_restart(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let first = env.spawn().await;
    first.create_tenant("acme", "Acme").await;
    let db = first.tenant("acme").await;
    let mut tx = db.begin().await.expect("begin");
    let mut later = NewJob::now("test.later", serde_json::json!({ "ticket": 42 }));
    later.run_at = now_ms() + 1_500;
    tx.enqueue(later).await.expect("enqueue");
    tx.commit().await.expect("commit");
    drop(db);
    first.stop().await;

    let later = Arc::new(CountingJob::new("test.later"));
    let second = env
        .spawn_with(env.settings(), handlers(std::slice::from_ref(&later)))
        .await;
    eventually(Duration::from_secs(15), "the job after restart", || async {
        (later.count() == 1).then_some(())
    })
    .await;
    assert_eq!(
        later.runs.lock().expect("lock")[0],
        ("acme".to_owned(), serde_json::json!({ "ticket": 42 }))
    );
    second.stop().await;
}

#[tokio::test]
async fn each_job_runs_once_across_two_instances() {
    let env = TestEnv::new(Backend::Postgres).await;
    let counter_a = Arc::new(CountingJob::new("test.once"));
    let counter_b = Arc::new(CountingJob::new("test.once"));
    let a = env
        .spawn_with(env.settings(), handlers(std::slice::from_ref(&counter_a)))
        .await;
    let b = env
        .spawn_with(env.settings(), handlers(std::slice::from_ref(&counter_b)))
        .await;
    for slug in ["t1", "t2", "t3", "t4"] {
        a.create_tenant(slug, slug).await;
    }
    for slug in ["t1", "t2", "t3", "t4"] {
        let db = a.tenant(slug).await;
        for n in 0..10 {
            let mut tx = db.begin().await.expect("begin");
            tx.enqueue(NewJob::now(
                "test.once",
                serde_json::json!({ "tenant": slug, "n": n }),
            ))
            .await
            .expect("enqueue");
            tx.commit().await.expect("commit");
        }
    }
    for n in 0..20 {
        jobs::enqueue_platform(
            b.store(),
            NewJob::now("test.once", serde_json::json!({ "platform": n })),
        )
        .await
        .expect("enqueue");
    }
    eventually(Duration::from_secs(30), "all 60 jobs", || async {
        (counter_a.count() + counter_b.count() >= 60).then_some(())
    })
    .await;
    // A last pass on both, then nothing may have run twice.
    a.worker.run_once().await.expect("pass");
    b.worker.run_once().await.expect("pass");
    let mut all: Vec<String> = counter_a
        .runs
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, p)| p.to_string())
        .collect();
    all.extend(
        counter_b
            .runs
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, p)| p.to_string()),
    );
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60);
    assert_eq!(total, 60, "a job ran twice");
    a.stop().await;
    b.stop().await;
}
