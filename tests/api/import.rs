//! Bulk import of tickets with their own history, on both backends: the numbers,
//! statuses, times and assignees kept; the tabs' counts, status filters and
//! full-text search (stemmed, in the ticket's language) see imported tickets like
//! created ones; a refused ticket leaves nothing of its batch; the batch's event.

use portico_tenants::import::{self, ImportedTicket};
use portico_tenants::tickets::{Priority, Source};
use portico_tenants::{Role, StoreError};
use portico_tests::{Backend, TestEnv};
use reqwest::Method;
use rstest::rstest;
use serde_json::json;

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn imported_tickets_are_counted_listed_and_found(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let org = app
        .organization("acme", "Customer One", "one.example")
        .await;
    let (ann, _) = app
        .person("acme", "ann@one.example", Role::Contact, Some(org))
        .await;
    let (tech, _) = app
        .person("acme", "tech@msp.example", Role::Technician, None)
        .await;
    let token = app.token("acme", Role::MspAdmin).await;
    let day = 86_400_000_i64;
    let base = 1_700_000_000_000_i64;
    let ticket = |n: i64, status: &str, language: &str, subject: &str| ImportedTicket {
        subject: subject.to_owned(),
        description: format!("Imported ticket {n}"),
        priority: Priority::High,
        status: status.to_owned(),
        requester_id: ann,
        organization_id: Some(org),
        assignee_id: (status != "new").then_some(tech),
        source: Source::Email,
        language: language.to_owned(),
        created_at: base + n * day,
        updated_at: base + n * day + 3_600_000,
    };
    let statuses = ["new", "open", "waiting", "resolved", "closed", "closed"];
    let first: Vec<ImportedTicket> = (0..12)
        .map(|n| ticket(n, statuses[n as usize % 6], "en", "Printer offline"))
        .collect();
    let numbers = import::import_tickets(&db, &first, "import:test")
        .await
        .expect("imported");
    assert_eq!(numbers.len(), 12);
    // A ticket created meanwhile takes its own number; the next batch goes on after.
    let (status, created) = app
        .api(
            "acme.localhost",
            Method::POST,
            &token,
            "/api/v1/tickets",
            Some(json!({ "subject": "Created in between", "requester_email": "ann@one.example" })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let second = vec![
        ticket(20, "closed", "it", "Le stampanti non funzionano"),
        ticket(21, "open", "de", "Drucker druckt nicht"),
    ];
    let more = import::import_tickets(&db, &second, "import:test")
        .await
        .expect("imported");
    let mut all: Vec<i64> = numbers.iter().chain(more.iter()).copied().collect();
    all.push(created["number"].as_i64().expect("number"));
    let unique: std::collections::BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "numbers are unique: {all:?}");
    assert!(more[0] > numbers[11], "{numbers:?} then {more:?}");

    // The tabs count imported tickets like created ones.
    let (_, page) = app
        .api(
            "acme.localhost",
            Method::GET,
            &token,
            "/api/v1/tickets?status=closed&limit=200",
            None,
        )
        .await;
    assert_eq!(
        page["counts"],
        json!({ "all": 15, "new": 3, "open": 3, "waiting": 2, "paused": 0, "resolved": 2, "closed": 5 }),
        "{page}"
    );
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(5));
    // Times, status and assignee are kept; resolved and closed times follow the status.
    let (_, shown) = app
        .api(
            "acme.localhost",
            Method::GET,
            &token,
            &format!("/api/v1/tickets/{}", numbers[4]),
            None,
        )
        .await;
    assert_eq!(shown["status"], "closed");
    assert_eq!(shown["created_at"], base + 4 * day);
    assert_eq!(shown["updated_at"], base + 4 * day + 3_600_000);
    assert_eq!(shown["closed_at"], base + 4 * day + 3_600_000);
    assert_eq!(shown["assignee_id"], tech);
    assert_eq!(shown["sla_state"], serde_json::Value::Null);
    // Found by search in their own language, stemmed.
    let (_, found) = app
        .api(
            "acme.localhost",
            Method::GET,
            &token,
            "/api/v1/tickets?q=stampante&lang=it",
            None,
        )
        .await;
    let found: Vec<i64> = found["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["number"].as_i64())
        .collect();
    assert_eq!(found, [more[0]]);
    let (_, printers) = app
        .api(
            "acme.localhost",
            Method::GET,
            &token,
            "/api/v1/tickets?q=printers&lang=en&limit=200",
            None,
        )
        .await;
    assert_eq!(printers["tickets"].as_array().map(Vec::len), Some(12));

    // One bad ticket refuses its whole batch.
    let mut bad = vec![
        ticket(30, "open", "en", "Fine"),
        ticket(31, "limbo", "en", "Broken"),
    ];
    assert!(matches!(
        import::import_tickets(&db, &bad, "import:test").await,
        Err(StoreError::Invalid {
            field: "status",
            ..
        })
    ));
    bad[1] = ticket(31, "open", "en", "Back in time");
    bad[1].updated_at = bad[1].created_at - 1;
    assert!(matches!(
        import::import_tickets(&db, &bad, "import:test").await,
        Err(StoreError::Invalid {
            field: "updated_at",
            ..
        })
    ));
    let (_, after) = app
        .api(
            "acme.localhost",
            Method::GET,
            &token,
            "/api/v1/tickets",
            None,
        )
        .await;
    assert_eq!(after["counts"]["all"], 15, "nothing of the refused batches");

    // One event per batch names the numbers.
    let mut tx = db.read().await.expect("read");
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM outbox_events WHERE event_type = 'tickets.imported' ORDER BY id",
    )
    .fetch_all(tx.conn())
    .await
    .expect("events");
    tx.rollback().await.expect("rollback");
    assert_eq!(payloads.len(), 2);
    let last: serde_json::Value = serde_json::from_str(&payloads[1]).expect("json");
    assert_eq!(last["numbers"], json!(more));
    app.stop().await;
}

/// The numbers of a ticket page and its cursor.
fn page_of(page: &serde_json::Value) -> (Vec<i64>, Option<String>) {
    let numbers = page["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["number"].as_i64())
        .collect();
    (numbers, page["next_cursor"].as_str().map(str::to_owned))
}

/// A word in thousands of tickets is searched by probing the newest ones, a word
/// that is common but absent from the newest by listing its matches, and both
/// give exactly the tickets, order and pages a listing gives, a note's words
/// never reaching a customer.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_common_word_is_found_newest_first_whichever_way_it_is_searched(
    #[case] backend: Backend,
) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let org = app
        .organization("acme", "Customer One", "one.example")
        .await;
    let (ann, ann_token) = app
        .person("acme", "ann@one.example", Role::Contact, Some(org))
        .await;
    let token = app.token("acme", Role::MspAdmin).await;
    let base = 1_700_000_000_000_i64;
    // 7,200 tickets, every one about a printer; the oldest 2,100 also about toner,
    // so the newest 5,100 (more than a probe walks here) hold no toner at all.
    let tickets: Vec<ImportedTicket> = (0..7_200_i64)
        .map(|n| ImportedTicket {
            subject: if n < 2_100 {
                format!("Printer {n} needs toner")
            } else {
                format!("Printer {n} jams")
            },
            description: "Reported by phone".to_owned(),
            priority: Priority::Medium,
            status: if n % 2 == 0 { "open" } else { "closed" }.to_owned(),
            requester_id: ann,
            organization_id: Some(org),
            assignee_id: None,
            source: Source::Email,
            language: "en".to_owned(),
            created_at: base + n * 1_000,
            updated_at: base + n * 1_000 + 500,
        })
        .collect();
    let mut numbers = Vec::new();
    for batch in tickets.chunks(1_000) {
        numbers.extend(
            import::import_tickets(&db, batch, "import:test")
                .await
                .expect("imported"),
        );
    }
    let get = |token: String, query: String| {
        let app = &app;
        async move {
            let (status, page) = app
                .api(
                    "acme.localhost",
                    Method::GET,
                    &token,
                    &format!("/api/v1/tickets?{query}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{query}: {page}");
            page_of(&page)
        }
    };
    let newest = |pick: &dyn Fn(usize) -> bool, n: usize| -> Vec<i64> {
        (0..numbers.len())
            .rev()
            .filter(|i| pick(*i))
            .take(n)
            .map(|i| numbers[i])
            .collect()
    };

    // Dense: the newest first, and the cursor's next page goes on exactly.
    let (first, cursor) = get(token.clone(), "q=printer&limit=30".into()).await;
    assert_eq!(first, newest(&|_| true, 30));
    let cursor = cursor.expect("a next page");
    let (second, _) = get(token.clone(), format!("q=printer&limit=30&after={cursor}")).await;
    assert_eq!(second, newest(&|_| true, 60)[30..]);
    // Quotes and the like in the words are only words (PostgreSQL's estimate
    // inlines them, cleaned).
    let (quoted, _) = get(token.clone(), "q=printer%27)%3B%20--%20%5C&limit=30".into()).await;
    assert_eq!(quoted, first);
    // With a filter, the probe walks only the candidates.
    let (open, _) = get(token.clone(), "q=printer&status=open&limit=25".into()).await;
    assert_eq!(open, newest(&|i| i % 2 == 0, 25));
    // Common, yet none among the newest: listed instead, still newest first.
    let (toner, cursor) = get(token.clone(), "q=toner&limit=40".into()).await;
    assert_eq!(toner, newest(&|i| i < 2_100, 40));
    let (toner_next, _) = get(
        token.clone(),
        format!("q=toner&limit=40&after={}", cursor.expect("a next page")),
    )
    .await;
    assert_eq!(toner_next, newest(&|i| i < 2_100, 80)[40..]);
    let (open_toner, _) = get(token.clone(), "q=toner&status=open&limit=10".into()).await;
    assert_eq!(open_toner, newest(&|i| i < 2_100 && i % 2 == 0, 10));

    // The worker's upkeep of the index (SQLite merges its segments into one) keeps
    // every answer; once done, there is nothing left until more messages arrive.
    assert!(
        portico_tenants::tickets::maintain_search_index(&db, 10_000)
            .await
            .expect("maintained")
    );
    assert!(
        portico_tenants::tickets::maintain_search_index(&db, 1)
            .await
            .expect("nothing to do")
    );
    // SQLite records the newest message the merge covered; PostgreSQL has no such
    // upkeep.
    let mut tx = db.read().await.expect("read");
    let merged: Option<String> = sqlx::query_scalar(
        "SELECT value FROM tenant_settings WHERE key = 'search_index_merged_upto'",
    )
    .fetch_optional(tx.conn())
    .await
    .expect("setting");
    let last_message: i64 = sqlx::query_scalar("SELECT MAX(id) FROM ticket_messages")
        .fetch_one(tx.conn())
        .await
        .expect("newest");
    tx.rollback().await.expect("rollback");
    match backend {
        Backend::Sqlite => assert_eq!(merged, Some(last_message.to_string())),
        Backend::Postgres => assert_eq!(merged, None),
    }
    let (again, _) = get(token.clone(), "q=printer&limit=30".into()).await;
    assert_eq!(again, first);
    let (toner_again, _) = get(token.clone(), "q=toner&limit=40".into()).await;
    assert_eq!(toner_again, toner);

    // The newest ticket mentions a printer only in a technician's note: staff find
    // it first, its requester's own search (probing too) does not.
    let (status, created) = app
        .api(
            "acme.localhost",
            Method::POST,
            &token,
            "/api/v1/tickets",
            Some(json!({ "subject": "Screen flickers", "requester_email": "ann@one.example" })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let number = created["number"].as_i64().expect("number");
    let (status, note) = app
        .api(
            "acme.localhost",
            Method::POST,
            &token,
            &format!("/api/v1/tickets/{number}/messages"),
            Some(json!({ "body": "Same printer driver as last week", "internal": true })),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let (staff, _) = get(token.clone(), "q=printer&limit=5".into()).await;
    assert_eq!(staff[0], number);
    assert_eq!(staff[1..], newest(&|_| true, 4)[..]);
    let (own, _) = get(ann_token.clone(), "q=printer&limit=5".into()).await;
    assert_eq!(
        own,
        newest(&|_| true, 5),
        "a note's words are not the customer's"
    );
    app.stop().await;
}
