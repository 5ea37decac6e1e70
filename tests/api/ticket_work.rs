//! Tickets through the API, part 2, on both backends, as real people (personal
//! tokens of a technician, an MSP admin, a main contact and a contact of
//! organization A, a contact of organization B) and with a second tenant: the
//! thread and its internal notes, reopening and follow-ups, attachments (sniffed,
//! stored outside the database, served as sandboxed downloads), full-text search in
//! five languages, filters and changes under the portal's field visibility, custom
//! fields, MSP-defined statuses, merges, time entries and the auto-close job.

use std::path::{Path, PathBuf};

use portico_tenants::jobs::{self, JobHandler, JobScope};
use portico_tenants::{Role, TenantDb, organizations, tokens};
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use rstest::rstest;
use serde_json::{Value, json};

const HOST: &str = "acme.localhost";
const OTHER_HOST: &str = "beta.localhost";

/// A person of the desk and the personal token acting as them.
struct Person {
    id: i64,
    token: String,
}

/// One application with tenant `acme` (organizations One and Two and the five
/// people) and tenant `beta` (a technician's service-account token only).
struct Desk {
    app: TestApp,
    db: TenantDb,
    org_a: i64,
    org_b: i64,
    /// A technician.
    tech: Person,
    /// An MSP admin.
    admin: Person,
    /// The main contact of organization A.
    boss: Person,
    /// A contact of organization A.
    alice: Person,
    /// A contact of organization B.
    bob: Person,
    /// A technician of the other tenant (a service account).
    beta: String,
}

async fn person(app: &TestApp, email: &str, role: Role, organization_id: Option<i64>) -> Person {
    let (id, token) = app.person("acme", email, role, organization_id).await;
    Person { id, token }
}

/// Sets a person's locale. No API changes it yet (the portal's profile page will),
/// and a ticket is indexed in its requester's language, so the search test arranges
/// it here as test data.
async fn set_locale(db: &TenantDb, email: &str, locale: &str) {
    let mut tx = db.begin().await.expect("begin");
    let changed = sqlx::query("UPDATE users SET locale = $1 WHERE email = $2")
        .bind(locale)
        .bind(email)
        .execute(tx.conn())
        .await
        .expect("locale")
        .rows_affected();
    assert_eq!(changed, 1, "{email} exists");
    tx.commit().await.expect("commit");
}

impl Desk {
    async fn new(backend: Backend) -> Desk {
        let env = TestEnv::new(backend).await;
        let app = env.spawn().await;
        app.create_tenant("acme", "Acme IT").await;
        app.create_tenant("beta", "Beta IT").await;
        let db = app.tenant("acme").await;
        let org_a =
            organizations::create_organization(&db, "One", &["one.example".to_owned()], "test")
                .await
                .expect("org")
                .id;
        let org_b =
            organizations::create_organization(&db, "Two", &["two.example".to_owned()], "test")
                .await
                .expect("org")
                .id;
        let tech = person(&app, "tech@acme.example", Role::Technician, None).await;
        let admin = person(&app, "admin@acme.example", Role::MspAdmin, None).await;
        let boss = person(&app, "boss@one.example", Role::MainContact, Some(org_a)).await;
        let alice = person(&app, "alice@one.example", Role::Contact, Some(org_a)).await;
        let bob = person(&app, "bob@two.example", Role::Contact, Some(org_b)).await;
        let beta = app.token("beta", Role::Technician).await;
        Desk {
            app,
            db,
            org_a,
            org_b,
            tech,
            admin,
            boss,
            alice,
            bob,
            beta,
        }
    }

    /// Sends `body` (JSON, if any) as `token` to `path` on acme; status and JSON answer.
    async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_on(HOST, method, token, path, body).await
    }

    async fn call_on(
        &self,
        host: &str,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.app.api(host, method, token, path, body).await
    }

    /// Opens a ticket as `token`; its number.
    async fn open(&self, token: &str, body: Value) -> i64 {
        let (status, ticket) = self
            .call(Method::POST, token, "/api/v1/tickets", Some(body))
            .await;
        assert_eq!(status, 201, "{ticket}");
        ticket["number"].as_i64().expect("number")
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

    /// Posts a JSON message; status and answer.
    async fn reply(&self, token: &str, number: i64, body: Value) -> (u16, Value) {
        self.call(
            Method::POST,
            token,
            &format!("/api/v1/tickets/{number}/messages"),
            Some(body),
        )
        .await
    }

    /// Posts a multipart message; status and answer.
    async fn reply_with_files(&self, token: &str, number: i64, form: Form) -> (u16, Value) {
        let response = self
            .app
            .request(
                Method::POST,
                HOST,
                &format!("/api/v1/tickets/{number}/messages"),
            )
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The bodies of the thread as `token` sees it.
    async fn thread(&self, token: &str, number: i64) -> Vec<String> {
        let (status, messages) = self
            .call(
                Method::GET,
                token,
                &format!("/api/v1/tickets/{number}/messages"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{messages}");
        messages
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["body"].as_str().expect("body").to_owned())
            .collect()
    }

    async fn move_to(&self, number: i64, status: &str) -> Value {
        let (code, ticket) = self
            .call(
                Method::POST,
                &self.tech.token,
                &format!("/api/v1/tickets/{number}/status"),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(code, 200, "{ticket}");
        ticket
    }

    async fn setting(&self, key: &str, value: Value) {
        let (status, answer) = self
            .call(
                Method::PUT,
                &self.admin.token,
                &format!("/api/v1/settings/{key}"),
                Some(value),
            )
            .await;
        assert_eq!(status, 204, "{key}: {answer}");
    }

    /// Ticket numbers of a list, sorted.
    async fn numbers(&self, token: &str, query: &str) -> Vec<i64> {
        let (status, page) = self
            .call(Method::GET, token, &format!("/api/v1/tickets{query}"), None)
            .await;
        assert_eq!(status, 200, "{query}: {page}");
        let mut numbers: Vec<i64> = page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .map(|t| t["number"].as_i64().expect("number"))
            .collect();
        numbers.sort_unstable();
        numbers
    }

    async fn counts(&self, token: &str) -> Value {
        let (status, page) = self.call(Method::GET, token, "/api/v1/tickets", None).await;
        assert_eq!(status, 200, "{page}");
        page["counts"].clone()
    }
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or_default()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn internal_notes_stay_with_staff_and_replies_move_the_status(#[case] backend: Backend) {
    let desk = Desk::new(backend).await;
    let number = desk
        .open(
            &desk.alice.token,
            json!({"subject": "Mail is slow", "description": "Since Monday"}),
        )
        .await;
    let ticket = desk.ticket(&desk.tech.token, number).await;
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["first_response_at"], Value::Null);

    // A contact's own reply leaves a new ticket new; a note is no response.
    let (status, _) = desk
        .reply(
            &desk.alice.token,
            number,
            json!({"body": "Still slow today"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, posted) = desk
        .reply(
            &desk.tech.token,
            number,
            json!({"body": "Customer's mailbox is at quota", "internal": true}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["status"], "new", "a note opens nothing");
    assert_eq!(posted["ticket"]["first_response_at"], Value::Null);

    // A contact cannot write a note.
    let (status, refused) = desk
        .reply(
            &desk.alice.token,
            number,
            json!({"body": "sneaky", "internal": true}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");

    // Only staff read notes.
    assert_eq!(
        desk.thread(&desk.alice.token, number).await,
        ["Since Monday", "Still slow today"]
    );
    assert_eq!(
        desk.thread(&desk.boss.token, number).await,
        ["Since Monday", "Still slow today"],
        "the main contact is a customer too"
    );
    assert_eq!(
        desk.thread(&desk.tech.token, number).await,
        [
            "Since Monday",
            "Still slow today",
            "Customer's mailbox is at quota"
        ]
    );
    let (status, _) = desk
        .call(
            Method::GET,
            &desk.bob.token,
            &format!("/api/v1/tickets/{number}/messages"),
            None,
        )
        .await;
    assert_eq!(status, 404, "another organization's thread does not exist");

    // The technician's first public reply is the first response and opens it.
    let (status, posted) = desk
        .reply(
            &desk.tech.token,
            number,
            json!({"body": "We raised the quota"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["status"], "open");
    let first_response = posted["ticket"]["first_response_at"]
        .as_i64()
        .expect("first_response_at is set");
    let (_, again) = desk
        .reply(&desk.tech.token, number, json!({"body": "Anything else?"}))
        .await;
    assert_eq!(
        again["ticket"]["first_response_at"].as_i64(),
        Some(first_response),
        "the first response stays the first"
    );

    // A reply to a waiting ticket opens it again.
    assert_eq!(desk.move_to(number, "waiting").await["status"], "waiting");
    let (status, posted) = desk
        .reply(&desk.alice.token, number, json!({"body": "It works now"}))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["status"], "open");
    assert_eq!(
        desk.ticket(&desk.tech.token, number).await["status"],
        "open"
    );
    let counts = desk.counts(&desk.alice.token).await;
    assert_eq!(
        (counts["open"].as_i64(), counts["waiting"].as_i64()),
        (Some(1), Some(0))
    );
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn finished_tickets_reopen_on_reply_unless_forbidden_then_follow_up(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let number = desk
        .open(&desk.alice.token, json!({"subject": "VPN drops"}))
        .await;
    desk.move_to(number, "resolved").await;
    let (status, posted) = desk
        .reply(
            &desk.alice.token,
            number,
            json!({"body": "It dropped again"}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["status"], "open", "reopened");
    assert_eq!(posted["ticket"]["resolved_at"], Value::Null);
    assert_eq!(posted["follow_up_of"], Value::Null);

    desk.setting("tickets-can-reopen", json!(false)).await;
    desk.move_to(number, "closed").await;
    let (status, refused) = desk
        .reply(&desk.alice.token, number, json!({"body": "And again"}))
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "ticket_cannot_be_reopened");
    assert_eq!(
        desk.ticket(&desk.tech.token, number).await["status"],
        "closed"
    );
    assert_eq!(
        desk.thread(&desk.tech.token, number)
            .await
            .last()
            .map(String::as_str),
        Some("It dropped again"),
        "the refused reply was not kept"
    );
    let (status, refused) = desk
        .call(
            Method::POST,
            &desk.alice.token,
            &format!("/api/v1/tickets/{number}/reopen"),
            None,
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(code(&refused), "ticket_cannot_be_reopened");

    let (status, posted) = desk
        .reply(
            &desk.alice.token,
            number,
            json!({"body": "And again", "follow_up": true}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["follow_up_of"], number);
    let follow_up = posted["ticket"]["number"].as_i64().expect("number");
    assert_ne!(follow_up, number);
    let new_ticket = desk.ticket(&desk.tech.token, follow_up).await;
    assert_eq!(new_ticket["status"], "new");
    assert_eq!(new_ticket["requester_id"], desk.alice.id);
    assert_eq!(new_ticket["organization_id"], desk.org_a);
    assert_eq!(new_ticket["description"], "And again");
    assert_eq!(
        desk.ticket(&desk.tech.token, number).await["status"],
        "closed"
    );
    let links = |token: String, of: i64| {
        let desk = &desk;
        async move {
            let (status, links) = desk
                .call(
                    Method::GET,
                    &token,
                    &format!("/api/v1/tickets/{of}/links"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{links}");
            links
        }
    };
    assert_eq!(
        links(desk.alice.token.clone(), follow_up).await,
        json!([{"number": number, "kind": "follow_up"}])
    );
    assert_eq!(
        links(desk.tech.token.clone(), number).await,
        json!([{"number": follow_up, "kind": "followed_by"}])
    );
    desk.app.stop().await;
}

/// A PNG: its signature and header chunk, then `size` bytes in all.
fn png(size: usize) -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];
    let mut n: u8 = 0;
    while bytes.len() < size {
        bytes.push(n);
        n = n.wrapping_mul(31).wrapping_add(7);
    }
    bytes
}

fn file_part(bytes: Vec<u8>, name: &str, declared: &str) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(declared)
        .expect("mime")
}

/// Every file under `folder`, recursively.
fn files_under(folder: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn attachments_are_sniffed_stored_outside_the_database_and_served_sandboxed(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let blobs = desk.app.env.data_dir().join("blobs");
    let number = desk
        .open(&desk.alice.token, json!({"subject": "Screen flickers"}))
        .await;
    let beta_number = {
        let (status, ticket) = desk
            .call_on(
                OTHER_HOST,
                Method::POST,
                &desk.beta,
                "/api/v1/tickets",
                Some(json!({"subject": "Beta's own", "requester_email": "x@beta.example"})),
            )
            .await;
        assert_eq!(status, 201, "{ticket}");
        ticket["number"].as_i64().expect("number")
    };
    assert_eq!(beta_number, number, "both tenants number from 1000");

    // A PNG is kept with its sniffed type, outside the database, byte for byte.
    let picture = png(3000);
    let form = Form::new().text("body", "Photo of the screen").part(
        "file",
        file_part(picture.clone(), "screen.png", "image/png"),
    );
    let (status, posted) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status, 201, "{posted}");
    let (status, listed) = desk
        .call(
            Method::GET,
            &desk.alice.token,
            &format!("/api/v1/tickets/{number}/attachments"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().expect("attachments").clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["filename"], "screen.png");
    assert_eq!(listed[0]["content_type"], "image/png");
    assert_eq!(listed[0]["size"], 3000);
    assert_eq!(listed[0]["message_id"], posted["message_id"]);
    assert!(listed[0].get("storage_key").is_none(), "never shown");
    let png_id = listed[0]["id"].as_i64().expect("id");
    let stored = files_under(&blobs);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).expect("blob"), picture);
    assert!(
        stored[0].starts_with(blobs.join(format!("t{}", desk.db.id().0))),
        "{} is in the tenant's folder",
        stored[0].display()
    );

    let download = |token: String, host: &'static str, number: i64, id: i64| {
        desk.app
            .request(
                Method::GET,
                host,
                &format!("/api/v1/tickets/{number}/attachments/{id}"),
            )
            .bearer_auth(token)
            .send()
    };
    let response = download(desk.alice.token.clone(), HOST, number, png_id)
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/png");
    assert!(
        header("content-disposition").starts_with("attachment;"),
        "{}",
        header("content-disposition")
    );
    assert!(header("content-disposition").contains("screen.png"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-security-policy").contains("sandbox"),
        "{}",
        header("content-security-policy")
    );
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), picture);

    // HTML named like a picture is refused for what it is; nothing stays behind,
    // not even a good file sent with it.
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let form = Form::new()
        .text("body", "two files")
        .part("file", file_part(png(500), "fine.png", "image/png"))
        .part("file", file_part(html.to_vec(), "photo.png", "image/png"));
    let (status, refused) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "attachment_type_refused");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("text/html")),
        "{refused}"
    );
    assert_eq!(files_under(&blobs), stored, "no file left behind");
    assert_eq!(
        desk.thread(&desk.tech.token, number).await.len(),
        2,
        "no message either"
    );

    // Anything is allowed when the MSP says so, but active content is served as
    // bytes to download, in a sandbox.
    desk.setting("attachments-allowed-types", json!(["*/*"]))
        .await;
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let form = Form::new().part("file", file_part(svg.to_vec(), "logo.svg", "image/svg+xml"));
    let (status, posted) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status, 201, "{posted}");
    let (_, listed) = desk
        .call(
            Method::GET,
            &desk.tech.token,
            &format!("/api/v1/tickets/{number}/attachments"),
            None,
        )
        .await;
    let svg_entry = listed
        .as_array()
        .expect("attachments")
        .iter()
        .find(|a| a["filename"] == "logo.svg")
        .expect("the svg is listed")
        .clone();
    assert_eq!(svg_entry["content_type"], "image/svg+xml");
    let response = download(
        desk.tech.token.clone(),
        HOST,
        number,
        svg_entry["id"].as_i64().expect("id"),
    )
    .await
    .expect("sent");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("sandbox")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("disposition")
            .starts_with("attachment;")
    );
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), svg);

    // Larger than the tenant allows: refused, nothing kept.
    desk.setting("attachments-max-bytes", json!(2048)).await;
    let before = files_under(&blobs);
    let form = Form::new().part("file", file_part(png(2049), "big.png", "image/png"));
    let (status, refused) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "file");
    assert_eq!(files_under(&blobs), before);
    let form = Form::new().part("file", file_part(png(2048), "limit.png", "image/png"));
    let (status, posted) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status, 201, "exactly the limit is accepted: {posted}");

    // A note's attachment is the staff's alone.
    let form = Form::new()
        .text("body", "Diagnostics")
        .text("internal", "true")
        .part("file", file_part(png(700), "diagnostics.png", "image/png"));
    let (status, posted) = desk.reply_with_files(&desk.tech.token, number, form).await;
    assert_eq!(status, 201, "{posted}");
    let (_, staff_list) = desk
        .call(
            Method::GET,
            &desk.tech.token,
            &format!("/api/v1/tickets/{number}/attachments"),
            None,
        )
        .await;
    let note_file = staff_list
        .as_array()
        .expect("attachments")
        .iter()
        .find(|a| a["filename"] == "diagnostics.png")
        .expect("staff see the note's file")["id"]
        .as_i64()
        .expect("id");
    let (_, customer_list) = desk
        .call(
            Method::GET,
            &desk.alice.token,
            &format!("/api/v1/tickets/{number}/attachments"),
            None,
        )
        .await;
    let customer_names: Vec<&str> = customer_list
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| a["filename"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(customer_names, ["screen.png", "logo.svg", "limit.png"]);
    let status = |response: reqwest::Response| response.status().as_u16();
    assert_eq!(
        status(
            download(desk.alice.token.clone(), HOST, number, note_file)
                .await
                .expect("sent")
        ),
        404
    );
    assert_eq!(
        status(
            download(desk.tech.token.clone(), HOST, number, note_file)
                .await
                .expect("sent")
        ),
        200
    );
    // A contact cannot smuggle a file in as a note.
    let form = Form::new()
        .text("internal", "true")
        .part("file", file_part(png(600), "sneaky.png", "image/png"));
    let before = files_under(&blobs);
    let (status_code, _) = desk.reply_with_files(&desk.alice.token, number, form).await;
    assert_eq!(status_code, 403);
    assert_eq!(files_under(&blobs), before, "the refused file was removed");

    // Out of scope, or another tenant: it does not exist.
    assert_eq!(
        status(
            download(desk.bob.token.clone(), HOST, number, png_id)
                .await
                .expect("sent")
        ),
        404
    );
    assert_eq!(
        status(
            download(desk.beta.clone(), OTHER_HOST, number, png_id)
                .await
                .expect("sent")
        ),
        404,
        "the other tenant's ticket with the same number has no such file"
    );
    assert_eq!(
        status(
            download(desk.beta.clone(), HOST, number, png_id)
                .await
                .expect("sent")
        ),
        401,
        "the other tenant's token is unknown here"
    );
    assert_eq!(
        status(
            download(desk.alice.token.clone(), OTHER_HOST, number, png_id)
                .await
                .expect("sent")
        ),
        401,
        "and acme's token is unknown on beta's host"
    );
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn search_stems_five_languages_and_never_looks_past_the_readers_view(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let cases = [
        ("it", "La stampante non stampa", "stampanti"),
        ("de", "Der Drucker druckt nicht", "Druckern"),
        ("fr", "L'imprimante est bloquée", "imprimantes"),
        ("es", "La impresora está atascada", "impresoras"),
        ("en", "The printer is printing blank pages", "printers"),
    ];
    let mut numbers = Vec::new();
    for (language, subject, _) in cases {
        let email = format!("{language}@one.example");
        person(&desk.app, &email, Role::Contact, Some(desk.org_a)).await;
        set_locale(&desk.db, &email, language).await;
        let number = desk
            .open(
                &desk.tech.token,
                json!({"subject": subject, "requester_email": email}),
            )
            .await;
        assert_eq!(
            desk.ticket(&desk.tech.token, number).await["language"],
            language
        );
        numbers.push(number);
    }
    for ((language, _, query), number) in cases.iter().zip(&numbers) {
        assert_eq!(
            desk.numbers(&desk.tech.token, &format!("?q={query}&lang={language}"))
                .await,
            [*number],
            "{query} in {language}"
        );
    }
    // The stem is the searcher's language's: English does not know "stampanti".
    assert_eq!(
        desk.numbers(&desk.tech.token, "?q=stampanti&lang=en").await,
        Vec::<i64>::new()
    );
    // Without `lang`, the searcher's own language.
    let italian = tokens::create_personal_token(desk.app.store(), "acme", "it", "it@one.example")
        .await
        .expect("token");
    assert_eq!(desk.numbers(&italian, "?q=stampanti").await, [numbers[0]]);
    // Host names and error codes are found as typed, punctuation and all.
    let host = desk
        .open(
            &desk.tech.token,
            json!({"subject": "Backup failed on srv-4567", "description": "Error 0x1f2e at night",
                   "requester_email": "en@one.example"}),
        )
        .await;
    for query in ["srv-4567", "0x1f2e", "SRV-4567%20backup"] {
        assert_eq!(
            desk.numbers(&desk.tech.token, &format!("?q={query}&lang=en"))
                .await,
            [host],
            "{query}"
        );
    }

    // Later messages are searched too; notes only by staff.
    let mail = desk
        .open(&desk.alice.token, json!({"subject": "Outlook crashes"}))
        .await;
    let (status, _) = desk
        .reply(
            &desk.tech.token,
            mail,
            json!({"body": "Please update the firmware of the dock"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = desk
        .reply(
            &desk.tech.token,
            mail,
            json!({"body": "Licence key zebracode99 expired", "internal": true}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(desk.numbers(&desk.alice.token, "?q=firmware").await, [mail]);
    assert_eq!(desk.numbers(&desk.boss.token, "?q=firmware").await, [mail]);
    assert_eq!(
        desk.numbers(&desk.tech.token, "?q=zebracode99").await,
        [mail]
    );
    assert_eq!(
        desk.numbers(&desk.alice.token, "?q=zebracode99").await,
        Vec::<i64>::new(),
        "a note's words find nothing for the customer"
    );
    assert_eq!(
        desk.numbers(&desk.boss.token, "?q=zebracode99").await,
        Vec::<i64>::new()
    );
    // Another organization's tickets are never found.
    assert_eq!(
        desk.numbers(&desk.bob.token, "?q=firmware").await,
        Vec::<i64>::new()
    );
    let bobs = desk
        .open(&desk.bob.token, json!({"subject": "Firmware question"}))
        .await;
    assert_eq!(desk.numbers(&desk.bob.token, "?q=firmware").await, [bobs]);
    assert_eq!(desk.numbers(&desk.alice.token, "?q=firmware").await, [mail]);
    assert_eq!(
        desk.numbers(&desk.tech.token, "?q=firmware").await,
        [mail, bobs]
    );
    // Search and the status filter combine.
    desk.move_to(mail, "resolved").await;
    assert_eq!(
        desk.numbers(&desk.tech.token, "?q=firmware&status=resolved")
            .await,
        [mail]
    );
    assert_eq!(
        desk.numbers(&desk.tech.token, "?q=firmware&status=new")
            .await,
        [bobs]
    );
    assert_eq!(
        desk.numbers(&desk.alice.token, "?q=firmware&status=new")
            .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        desk.numbers(&desk.alice.token, "?q=firmware&status=resolved")
            .await,
        [mail]
    );
    // Query syntax is never interpreted.
    for nasty in ["%22firm%22%20OR%20*", "NEAR(a%20b)", "%26%7C!", "a:*"] {
        let (status, page) = desk
            .call(
                Method::GET,
                &desk.tech.token,
                &format!("/api/v1/tickets?q={nasty}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{nasty}: {page}");
    }
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn filters_and_changes_follow_roles_and_the_portals_field_visibility(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let admin = &desk.admin.token;
    let tech = &desk.tech.token;
    let (status, answer) = desk
        .call(
            Method::POST,
            admin,
            "/api/v1/ticket-types",
            Some(json!({"key": "hardware", "name": "Hardware"})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (status, answer) = desk
        .call(
            Method::POST,
            admin,
            "/api/v1/ticket-queues",
            Some(json!({"key": "field_service", "name": "Field service", "level": 2})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let printer = desk
        .open(
            &desk.alice.token,
            json!({"subject": "Printer", "priority": "high", "type": "hardware"}),
        )
        .await;
    let laptop = desk
        .open(
            &desk.boss.token,
            json!({"subject": "Laptop", "priority": "low"}),
        )
        .await;
    let vpn = desk.open(&desk.bob.token, json!({"subject": "VPN"})).await;

    // Staff change what the desk organises.
    let (status, changed) = desk
        .call(
            Method::PATCH,
            tech,
            &format!("/api/v1/tickets/{printer}"),
            Some(json!({
                "assignee_id": desk.tech.id,
                "queue": "field_service",
                "level": 2,
                "tags": ["VIP", "printer"],
                "priority": "critical"
            })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["assignee_id"], desk.tech.id);
    assert_eq!(changed["queue"], "field_service");
    assert_eq!(changed["level"], 2);
    assert_eq!(changed["tags"], json!(["printer", "vip"]));
    assert_eq!(changed["priority"], "critical");
    let (status, changed) = desk
        .call(
            Method::PATCH,
            tech,
            &format!("/api/v1/tickets/{laptop}"),
            Some(json!({"assignee_id": desk.admin.id})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    for (body, field) in [
        (json!({"assignee_id": desk.alice.id}), "assignee_id"),
        (json!({"queue": "nowhere"}), "queue"),
        (json!({"level": 4}), "level"),
        (json!({"type": "nonsense"}), "type"),
        (json!({"tags": ["not a tag"]}), "tags"),
    ] {
        let (status, refused) = desk
            .call(
                Method::PATCH,
                tech,
                &format!("/api/v1/tickets/{vpn}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 422, "{body}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }

    // Every filter, for staff.
    let all = [printer, laptop, vpn];
    assert_eq!(desk.numbers(tech, "").await, all);
    assert_eq!(desk.numbers(tech, "?priority=critical").await, [printer]);
    assert_eq!(desk.numbers(tech, "?priority=low").await, [laptop]);
    assert_eq!(desk.numbers(tech, "?priority=medium").await, [vpn]);
    assert_eq!(
        desk.numbers(tech, &format!("?organization={}", desk.org_a))
            .await,
        [printer, laptop]
    );
    assert_eq!(
        desk.numbers(tech, &format!("?organization={}", desk.org_b))
            .await,
        [vpn]
    );
    assert_eq!(desk.numbers(tech, "?assignee=me").await, [printer]);
    assert_eq!(desk.numbers(admin, "?assignee=me").await, [laptop]);
    assert_eq!(desk.numbers(tech, "?assignee=none").await, [vpn]);
    assert_eq!(
        desk.numbers(tech, &format!("?assignee={}", desk.admin.id))
            .await,
        [laptop]
    );
    assert_eq!(desk.numbers(tech, "?type=hardware").await, [printer]);
    assert_eq!(desk.numbers(tech, "?tag=vip").await, [printer]);
    assert_eq!(desk.numbers(tech, "?tag=VIP").await, [printer]);
    assert_eq!(desk.numbers(tech, "?tag=other").await, Vec::<i64>::new());
    assert_eq!(desk.numbers(tech, "?queue=field_service").await, [printer]);
    assert_eq!(
        desk.numbers(tech, "?queue=field_service&priority=low")
            .await,
        Vec::<i64>::new(),
        "filters combine"
    );
    let (status, _) = desk
        .call(Method::GET, tech, "/api/v1/tickets?assignee=someone", None)
        .await;
    assert_eq!(status, 422);
    let (status, _) = desk
        .call(Method::GET, tech, "/api/v1/tickets?priority=urgent", None)
        .await;
    assert_eq!(status, 422);
    let service = desk.app.token("acme", Role::Technician).await;
    let (status, _) = desk
        .call(Method::GET, &service, "/api/v1/tickets?assignee=me", None)
        .await;
    assert_eq!(status, 422, "a service account has no tickets of its own");
    // Filters never widen a customer's scope.
    assert_eq!(
        desk.numbers(&desk.alice.token, &format!("?organization={}", desk.org_b))
            .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        desk.numbers(&desk.boss.token, "?priority=critical").await,
        [printer]
    );

    // Customers see none of the desk's own organisation and cannot change it.
    let seen = desk.ticket(&desk.alice.token, printer).await;
    assert_eq!(seen["queue"], Value::Null);
    assert_eq!(seen["level"], 0);
    assert_eq!(seen["tags"], json!([]));
    assert_eq!(seen["priority"], "critical", "priority is shown by default");
    assert_eq!(seen["assignee_id"], desk.tech.id, "read-only by default");
    for body in [
        json!({"tags": ["mine"]}),
        json!({"assignee_id": desk.tech.id}),
        json!({"queue": "field_service"}),
        json!({"level": 1}),
        json!({"subject": "Renamed"}),
    ] {
        let (status, refused) = desk
            .call(
                Method::PATCH,
                &desk.alice.token,
                &format!("/api/v1/tickets/{printer}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 409, "{body}: {refused}");
        assert_eq!(code(&refused), "field_not_editable", "{body}");
    }
    let (status, changed) = desk
        .call(
            Method::PATCH,
            &desk.alice.token,
            &format!("/api/v1/tickets/{printer}"),
            Some(json!({"priority": "medium"})),
        )
        .await;
    assert_eq!(status, 200, "priority is editable by default: {changed}");
    assert_eq!(changed["priority"], "medium");
    let (status, _) = desk
        .call(
            Method::PATCH,
            &desk.alice.token,
            &format!("/api/v1/tickets/{vpn}"),
            Some(json!({"priority": "high"})),
        )
        .await;
    assert_eq!(status, 404, "another organization's ticket");
    let staff_view = desk.ticket(tech, printer).await;
    assert_eq!(staff_view["tags"], json!(["printer", "vip"]));
    assert_eq!(staff_view["queue"], "field_service");

    // With priority hidden the customer neither sees nor sets it.
    let (status, answer) = desk
        .call(
            Method::PUT,
            admin,
            "/api/v1/portal-fields/priority",
            Some(json!({"portal": "hidden"})),
        )
        .await;
    assert_eq!(status, 204, "{answer}");
    let (status, _) = desk
        .call(
            Method::PUT,
            tech,
            "/api/v1/portal-fields/priority",
            Some(json!({"portal": "editable"})),
        )
        .await;
    assert_eq!(status, 403, "technicians do not configure the portal");
    assert_eq!(
        desk.ticket(&desk.alice.token, printer).await["priority"],
        Value::Null
    );
    let (_, page) = desk
        .call(Method::GET, &desk.boss.token, "/api/v1/tickets", None)
        .await;
    assert!(
        page["tickets"]
            .as_array()
            .expect("tickets")
            .iter()
            .all(|t| t["priority"].is_null()),
        "{page}"
    );
    assert_eq!(desk.ticket(tech, printer).await["priority"], "medium");
    let (status, refused) = desk
        .call(
            Method::PATCH,
            &desk.alice.token,
            &format!("/api/v1/tickets/{printer}"),
            Some(json!({"priority": "critical"})),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "field_not_editable");
    assert_eq!(desk.ticket(tech, printer).await["priority"], "medium");
    // Nor sets it on a new ticket, nor learns it by filtering.
    let (status, refused) = desk
        .call(
            Method::POST,
            &desk.alice.token,
            "/api/v1/tickets",
            Some(json!({"subject": "Urgent!", "priority": "critical"})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "priority");
    let plain = desk
        .open(&desk.alice.token, json!({"subject": "Plain"}))
        .await;
    assert_eq!(desk.ticket(tech, plain).await["priority"], "medium");
    let everything = desk.numbers(&desk.alice.token, "").await;
    assert_eq!(everything, [printer, plain]);
    for priority in ["critical", "high", "medium", "low"] {
        assert_eq!(
            desk.numbers(&desk.alice.token, &format!("?priority={priority}"))
                .await,
            everything,
            "a hidden field filters nothing for the customer ({priority})"
        );
    }
    assert_eq!(
        desk.numbers(tech, "?priority=medium").await,
        [printer, vpn, plain],
        "staff still filter by it"
    );
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn custom_fields_are_validated_and_hidden_ones_stay_with_staff(#[case] backend: Backend) {
    let desk = Desk::new(backend).await;
    let admin = &desk.admin.token;
    let tech = &desk.tech.token;
    for field in [
        json!({"key": "asset_tag", "label": "Asset tag", "kind": "text"}),
        json!({"key": "seats", "label": "Seats", "kind": "number"}),
        json!({"key": "visit_on", "label": "Visit on", "kind": "date"}),
        json!({"key": "site", "label": "Site", "kind": "select", "options": ["Milano", "Roma"]}),
        json!({"key": "on_warranty", "label": "On warranty", "kind": "checkbox"}),
        json!({"key": "cost_centre", "label": "Cost centre", "kind": "text", "portal": "hidden"}),
    ] {
        let (status, created) = desk
            .call(
                Method::POST,
                admin,
                "/api/v1/ticket-fields",
                Some(field.clone()),
            )
            .await;
        assert_eq!(status, 201, "{field}: {created}");
    }
    for bad in [
        json!({"key": "x", "label": "X", "kind": "colour"}),
        json!({"key": "y", "label": "Y", "kind": "select", "options": []}),
        json!({"key": "Bad Key", "label": "Z", "kind": "text"}),
        json!({"key": "w", "label": "W", "kind": "text", "portal": "read_only"}),
    ] {
        let (status, refused) = desk
            .call(
                Method::POST,
                admin,
                "/api/v1/ticket-fields",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {refused}");
    }
    let (status, _) = desk
        .call(
            Method::POST,
            tech,
            "/api/v1/ticket-fields",
            Some(json!({"key": "t", "label": "T", "kind": "text"})),
        )
        .await;
    assert_eq!(status, 403, "only MSP admins define fields");
    let (status, duplicate) = desk
        .call(
            Method::POST,
            admin,
            "/api/v1/ticket-fields",
            Some(json!({"key": "seats", "label": "Seats", "kind": "number"})),
        )
        .await;
    assert_eq!(status, 409, "{duplicate}");

    // Values are checked against their kind on creation.
    for bad in [
        json!({"site": "Napoli"}),
        json!({"seats": "three"}),
        json!({"visit_on": "2026-02-30"}),
        json!({"on_warranty": "yes"}),
        json!({"asset_tag": 42}),
        json!({"unknown": "x"}),
    ] {
        let (status, refused) = desk
            .call(
                Method::POST,
                tech,
                "/api/v1/tickets",
                Some(json!({"subject": "Bad", "requester_email": "alice@one.example", "fields": bad})),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {refused}");
        assert_eq!(refused["error"]["field"], "fields");
    }
    let values = json!({
        "asset_tag": "PC-0042",
        "seats": 3,
        "visit_on": "2026-12-01",
        "site": "Milano",
        "on_warranty": true,
        "cost_centre": "CC-7"
    });
    let number = desk
        .open(
            tech,
            json!({"subject": "Dock", "requester_email": "alice@one.example", "fields": values}),
        )
        .await;
    assert_eq!(desk.ticket(tech, number).await["fields"], values);
    let mut customer_values = values.clone();
    customer_values
        .as_object_mut()
        .expect("object")
        .remove("cost_centre");
    assert_eq!(
        desk.ticket(&desk.alice.token, number).await["fields"],
        customer_values,
        "a hidden field is not in the customer's view"
    );
    let (_, listed) = desk
        .call(
            Method::GET,
            &desk.alice.token,
            "/api/v1/ticket-fields",
            None,
        )
        .await;
    let keys: Vec<&str> = listed
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        keys,
        ["asset_tag", "seats", "visit_on", "site", "on_warranty"]
    );
    let (_, listed) = desk
        .call(Method::GET, tech, "/api/v1/ticket-fields", None)
        .await;
    assert_eq!(listed.as_array().expect("fields").len(), 6);

    // And on change.
    let patch = |token: String, fields: Value| {
        let desk = &desk;
        async move {
            desk.call(
                Method::PATCH,
                &token,
                &format!("/api/v1/tickets/{number}"),
                Some(json!({ "fields": fields })),
            )
            .await
        }
    };
    let (status, refused) = patch(tech.clone(), json!({"site": "Napoli"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(desk.ticket(tech, number).await["fields"]["site"], "Milano");
    let (status, changed) = patch(tech.clone(), json!({"site": "Roma", "seats": null})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["fields"]["site"], "Roma");
    assert!(
        changed["fields"].get("seats").is_none(),
        "null clears: {changed}"
    );
    assert_eq!(changed["fields"]["asset_tag"], "PC-0042", "the rest stays");

    // The customer writes visible fields, never hidden ones.
    let (status, changed) = patch(desk.alice.token.clone(), json!({"site": "Milano"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["fields"]["site"], "Milano");
    let (status, refused) = patch(desk.alice.token.clone(), json!({"site": "Napoli"})).await;
    assert_eq!(status, 422, "{refused}");
    let (status, refused) = patch(desk.alice.token.clone(), json!({"cost_centre": "CC-1"})).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "field_not_editable");
    let (status, refused) = desk
        .call(
            Method::POST,
            &desk.alice.token,
            "/api/v1/tickets",
            Some(json!({"subject": "Mine", "fields": {"cost_centre": "CC-1"}})),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        desk.ticket(tech, number).await["fields"]["cost_centre"],
        "CC-7"
    );

    // Made editable, the field is the customer's at once.
    let (status, answer) = desk
        .call(
            Method::PUT,
            admin,
            "/api/v1/ticket-fields/cost_centre",
            Some(json!({"portal": "editable"})),
        )
        .await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(
        desk.ticket(&desk.alice.token, number).await["fields"]["cost_centre"],
        "CC-7"
    );
    let (status, changed) = patch(desk.alice.token.clone(), json!({"cost_centre": "CC-1"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        desk.ticket(tech, number).await["fields"]["cost_centre"],
        "CC-1"
    );
    let (status, _) = desk
        .call(
            Method::PUT,
            admin,
            "/api/v1/ticket-fields/nothing_here",
            Some(json!({"portal": "hidden"})),
        )
        .await;
    assert_eq!(status, 404);
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn an_msp_status_shows_as_its_class_to_customers_and_counts_by_class(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let (status, created) = desk
        .call(
            Method::POST,
            &desk.admin.token,
            "/api/v1/ticket-statuses",
            Some(json!({"key": "on_site", "class": "open", "visible_to_customers": false})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["class"], "open");
    let (status, _) = desk
        .call(
            Method::POST,
            &desk.admin.token,
            "/api/v1/ticket-statuses",
            Some(json!({"key": "limbo", "class": "nowhere"})),
        )
        .await;
    assert_eq!(status, 422);
    let statuses = |token: String| {
        let desk = &desk;
        async move {
            let (_, listed) = desk
                .call(Method::GET, &token, "/api/v1/ticket-statuses", None)
                .await;
            listed
                .as_array()
                .expect("statuses")
                .iter()
                .map(|s| s["key"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(
        statuses(desk.tech.token.clone())
            .await
            .contains(&"on_site".to_owned())
    );
    assert!(
        !statuses(desk.alice.token.clone())
            .await
            .contains(&"on_site".to_owned())
    );

    let visit = desk
        .open(&desk.alice.token, json!({"subject": "Cabling"}))
        .await;
    let other = desk
        .open(&desk.alice.token, json!({"subject": "Phone"}))
        .await;
    let moved = desk.move_to(visit, "on_site").await;
    assert_eq!(moved["status"], "on_site");
    assert_eq!(moved["status_class"], "open");
    let seen = desk.ticket(&desk.alice.token, visit).await;
    assert_eq!(seen["status"], "open", "{seen}");
    assert_eq!(seen["status_class"], "open");
    let (_, page) = desk
        .call(
            Method::GET,
            &desk.boss.token,
            "/api/v1/tickets?status=open",
            None,
        )
        .await;
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["tickets"][0]["status"], "open");
    assert_eq!(
        desk.numbers(&desk.tech.token, "?status=open").await,
        [visit],
        "a status filters by its class"
    );
    for token in [&desk.tech.token, &desk.boss.token, &desk.alice.token] {
        let counts = desk.counts(token).await;
        assert_eq!(
            (
                counts["new"].as_i64(),
                counts["open"].as_i64(),
                counts["all"].as_i64()
            ),
            (Some(1), Some(1), Some(2)),
            "{counts}"
        );
        assert!(
            counts.get("on_site").is_none(),
            "tabs are classes: {counts}"
        );
    }
    assert_eq!(desk.counts(&desk.bob.token).await["all"], 0);
    // Within one class nothing moves; out of it the counts follow.
    desk.move_to(visit, "open").await;
    desk.move_to(visit, "on_site").await;
    desk.move_to(other, "on_site").await;
    let counts = desk.counts(&desk.alice.token).await;
    assert_eq!(
        (counts["new"].as_i64(), counts["open"].as_i64()),
        (Some(0), Some(2)),
        "{counts}"
    );
    desk.move_to(visit, "resolved").await;
    let counts = desk.counts(&desk.tech.token).await;
    assert_eq!(
        (
            counts["open"].as_i64(),
            counts["resolved"].as_i64(),
            counts["all"].as_i64()
        ),
        (Some(1), Some(1), Some(2)),
        "{counts}"
    );
    // Made visible, it shows as itself.
    let (status, _) = desk
        .call(
            Method::PUT,
            &desk.admin.token,
            "/api/v1/ticket-statuses/on_site",
            Some(json!({"visible_to_customers": true})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        desk.ticket(&desk.alice.token, other).await["status"],
        "on_site"
    );
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn merging_moves_the_thread_closes_the_source_and_stays_within_one_customer(
    #[case] backend: Backend,
) {
    let desk = Desk::new(backend).await;
    let tech = &desk.tech.token;
    let a = desk
        .open(
            &desk.alice.token,
            json!({"subject": "Printer A", "description": "First report"}),
        )
        .await;
    let b = desk
        .open(
            &desk.boss.token,
            json!({"subject": "Printer B", "description": "Second report"}),
        )
        .await;
    let foreign = desk
        .open(&desk.bob.token, json!({"subject": "Printer C"}))
        .await;
    let (status, _) = desk
        .reply(&desk.alice.token, a, json!({"body": "Tray 2 as well"}))
        .await;
    assert_eq!(status, 201);

    let merge = |token: String, source: i64, into: i64| {
        let desk = &desk;
        async move {
            desk.call(
                Method::POST,
                &token,
                &format!("/api/v1/tickets/{source}/merge"),
                Some(json!({ "into": into })),
            )
            .await
        }
    };
    let (status, refused) = merge(tech.clone(), a, foreign).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "merge_across_customers");
    let (status, _) = merge(desk.alice.token.clone(), a, b).await;
    assert_eq!(status, 403, "customers do not merge");
    let (status, _) = merge(tech.clone(), a, a).await;
    assert_eq!(status, 422);

    let (status, merged) = merge(tech.clone(), a, b).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["number"], b);
    let source = desk.ticket(tech, a).await;
    assert_eq!(source["status"], "closed");
    assert_eq!(source["merged_into"], b);
    assert_eq!(desk.ticket(&desk.alice.token, a).await["merged_into"], b);
    assert_eq!(
        desk.thread(&desk.boss.token, b).await,
        ["First report", "Second report", "Tray 2 as well"],
        "A's messages are on B's thread, in the order they were written"
    );
    let staff_thread = desk.thread(tech, b).await;
    assert!(
        staff_thread.contains(&format!("Ticket #{a} was merged into this ticket.")),
        "{staff_thread:?}"
    );
    assert_eq!(
        desk.thread(&desk.alice.token, a).await,
        [format!("This ticket was merged into #{b}.")],
        "A keeps only the public note saying where the conversation went"
    );
    let (_, links) = desk
        .call(
            Method::GET,
            tech,
            &format!("/api/v1/tickets/{b}/links"),
            None,
        )
        .await;
    assert_eq!(links, json!([{"number": a, "kind": "merged_from"}]));
    let (status, refused) = merge(tech.clone(), a, b).await;
    assert_eq!(status, 409);
    assert_eq!(code(&refused), "ticket_merged");

    // A reply to A lands on B, and reopens nothing on A. Alice, A's requester,
    // cannot see her colleague's B: her reply still lands there, she is answered
    // with her own A, and she is now copied on B.
    let (status, posted) = desk
        .reply(&desk.alice.token, a, json!({"body": "Still jammed"}))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["number"], a);
    assert_eq!(
        desk.thread(tech, b).await.last().map(String::as_str),
        Some("Still jammed")
    );
    let (status, _) = desk
        .call(
            Method::GET,
            &desk.alice.token,
            &format!("/api/v1/tickets/{b}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "B stays the colleague's");
    let (_, watchers) = desk
        .call(
            Method::GET,
            tech,
            &format!("/api/v1/tickets/{b}/watchers"),
            None,
        )
        .await;
    assert!(
        watchers
            .as_array()
            .is_some_and(|w| w.contains(&json!("alice@one.example"))),
        "{watchers}"
    );
    let (status, posted) = desk
        .reply(&desk.boss.token, a, json!({"body": "Any news?"}))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["number"], b);
    assert_eq!(
        desk.thread(tech, b).await.last().map(String::as_str),
        Some("Any news?")
    );
    let (status, posted) = desk
        .reply(&desk.tech.token, a, json!({"body": "Looking into it"}))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["number"], b);
    assert_eq!(posted["ticket"]["status"], "open", "B's first response");
    assert_eq!(desk.ticket(tech, a).await["status"], "closed");
    assert_eq!(desk.ticket(tech, a).await["first_response_at"], Value::Null);
    assert_eq!(
        desk.numbers(tech, "?q=tray").await,
        [b],
        "search follows the moved messages"
    );
    let counts = desk.counts(tech).await;
    assert_eq!(
        (
            counts["new"].as_i64(),
            counts["open"].as_i64(),
            counts["closed"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{counts}"
    );

    // Two tickets of one contact: her reply to the merged one lands on the other.
    let first = desk
        .open(
            &desk.alice.token,
            json!({"subject": "Scanner", "description": "Jammed"}),
        )
        .await;
    let second = desk
        .open(&desk.alice.token, json!({"subject": "Scanner again"}))
        .await;
    let (status, merged) = merge(tech.clone(), first, second).await;
    assert_eq!(status, 200, "{merged}");
    let (status, posted) = desk
        .reply(&desk.alice.token, first, json!({"body": "Still jammed"}))
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["ticket"]["number"], second);
    assert_eq!(
        desk.thread(&desk.alice.token, second).await,
        ["Jammed", "", "Still jammed"]
    );

    // Related links stay within the reader's scope.
    let (status, linked) = desk
        .call(
            Method::POST,
            tech,
            &format!("/api/v1/tickets/{b}/links"),
            Some(json!({"number": foreign})),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    let (_, seen) = desk
        .call(
            Method::GET,
            &desk.boss.token,
            &format!("/api/v1/tickets/{b}/links"),
            None,
        )
        .await;
    assert_eq!(
        seen,
        json!([{"number": a, "kind": "merged_from"}]),
        "another organization's ticket is not shown"
    );
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn time_entries_lock_once_invoiced_and_stay_with_staff(#[case] backend: Backend) {
    let desk = Desk::new(backend).await;
    let tech = &desk.tech.token;
    let number = desk
        .open(&desk.alice.token, json!({"subject": "New starter"}))
        .await;
    let path = format!("/api/v1/tickets/{number}/time-entries");
    let (status, added) = desk
        .call(
            Method::POST,
            tech,
            &path,
            Some(json!({"minutes": 45, "note": "Set up laptop", "work_date": "2026-03-02"})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["technician_id"], desk.tech.id);
    assert_eq!(added["billable"], true);
    assert_eq!(added["invoiced_at"], Value::Null);
    let entry = added["id"].as_i64().expect("id");
    for bad in [
        json!({"minutes": 0, "work_date": "2026-03-02"}),
        json!({"minutes": 1441, "work_date": "2026-03-02"}),
        json!({"minutes": 10, "work_date": "2026-02-30"}),
        json!({"minutes": 10, "work_date": "2026-03-02", "technician_id": desk.alice.id}),
    ] {
        let (status, refused) = desk
            .call(Method::POST, tech, &path, Some(bad.clone()))
            .await;
        assert_eq!(status, 422, "{bad}: {refused}");
    }
    let (status, second) = desk
        .call(
            Method::POST,
            &desk.admin.token,
            &path,
            Some(json!({"minutes": 15, "billable": false, "work_date": "2026-03-01"})),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, listed) = desk.call(Method::GET, tech, &path, None).await;
    assert_eq!(status, 200);
    let minutes: Vec<i64> = listed
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["minutes"].as_i64().expect("minutes"))
        .collect();
    assert_eq!(minutes, [15, 45], "by work date");

    let entry_path = format!("{path}/{entry}");
    let (status, updated) = desk
        .call(
            Method::PUT,
            tech,
            &entry_path,
            Some(json!({"minutes": 60, "note": "Set up laptop and phone", "work_date": "2026-03-02"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["minutes"], 60);

    // Only MSP admins invoice; then the entry is locked.
    let (status, _) = desk
        .call(Method::POST, tech, &format!("{entry_path}/invoice"), None)
        .await;
    assert_eq!(status, 403);
    let (status, invoiced) = desk
        .call(
            Method::POST,
            &desk.admin.token,
            &format!("{entry_path}/invoice"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{invoiced}");
    assert!(invoiced["invoiced_at"].is_i64(), "{invoiced}");
    let (status, refused) = desk
        .call(
            Method::PUT,
            tech,
            &entry_path,
            Some(json!({"minutes": 90, "work_date": "2026-03-02"})),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "time_entry_invoiced");
    let (status, refused) = desk
        .call(
            Method::PUT,
            &desk.admin.token,
            &entry_path,
            Some(json!({"minutes": 90, "work_date": "2026-03-02"})),
        )
        .await;
    assert_eq!(status, 409, "locked for admins too: {refused}");
    let (status, refused) = desk.call(Method::DELETE, tech, &entry_path, None).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(code(&refused), "time_entry_invoiced");
    let (status, refused) = desk
        .call(
            Method::POST,
            &desk.admin.token,
            &format!("{entry_path}/invoice"),
            None,
        )
        .await;
    assert_eq!(status, 409, "invoiced once: {refused}");
    let (_, listed) = desk.call(Method::GET, tech, &path, None).await;
    let kept = listed
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["id"] == entry)
        .expect("still there")
        .clone();
    assert_eq!(kept["minutes"], 60);
    // Not invoiced: removable.
    let second_path = format!("{path}/{}", second["id"]);
    let (status, _) = desk.call(Method::DELETE, tech, &second_path, None).await;
    assert_eq!(status, 204);
    let (_, listed) = desk.call(Method::GET, tech, &path, None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // Customers never see time entries.
    for token in [&desk.alice.token, &desk.boss.token] {
        let (status, _) = desk.call(Method::GET, token, &path, None).await;
        assert_eq!(status, 403);
        let (status, _) = desk
            .call(
                Method::POST,
                token,
                &path,
                Some(json!({"minutes": 5, "work_date": "2026-03-02"})),
            )
            .await;
        assert_eq!(status, 403);
    }
    desk.app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn resolving_schedules_the_auto_close_for_the_days_the_tenant_set(#[case] backend: Backend) {
    const DAY_MS: i64 = 86_400_000;
    let desk = Desk::new(backend).await;
    desk.setting("tickets-auto-close-days", json!(1)).await;
    let number = desk
        .open(&desk.alice.token, json!({"subject": "Password reset"}))
        .await;
    let resolved = desk.move_to(number, "resolved").await;
    let resolved_at = resolved["resolved_at"].as_i64().expect("resolved_at");

    let auto_close_jobs = || {
        let db = desk.db.clone();
        async move {
            let mut tx = db.read().await.expect("read");
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "SELECT payload, state, run_at FROM jobs WHERE kind = 'ticket.auto_close' ORDER BY id",
            )
            .fetch_all(tx.conn())
            .await
            .expect("jobs");
            tx.rollback().await.expect("rollback");
            rows.into_iter()
                .map(|(payload, state, run_at)| {
                    (
                        serde_json::from_str::<Value>(&payload).expect("payload"),
                        state,
                        run_at,
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let listed = jobs::list_tenant_jobs(&desk.db).await.expect("jobs");
    let pending: Vec<_> = listed
        .iter()
        .filter(|j| j.kind == "ticket.auto_close")
        .collect();
    assert_eq!(pending.len(), 1, "{listed:?}");
    assert_eq!(pending[0].state, "pending");
    assert_eq!(
        pending[0].run_at,
        resolved_at + DAY_MS,
        "one day after resolution"
    );
    let scheduled = auto_close_jobs().await;
    assert_eq!(
        scheduled[0].0,
        json!({"number": number, "resolved_at": resolved_at})
    );

    // Not due: the application's own worker leaves it, and the handler itself, run
    // early, keeps the ticket resolved.
    desk.app.worker.run_once().await.expect("worker pass");
    let listed = jobs::list_tenant_jobs(&desk.db).await.expect("jobs");
    let job = listed
        .iter()
        .find(|j| j.kind == "ticket.auto_close")
        .expect("still there");
    assert_eq!(
        (job.state.as_str(), job.attempts),
        ("pending", 0),
        "{job:?}"
    );
    portico_tenants::tickets::AutoClose
        .run(JobScope::Tenant(&desk.db), &scheduled[0].0)
        .await
        .expect("handler");
    let still = desk.ticket(&desk.tech.token, number).await;
    assert_eq!(still["status"], "resolved");
    assert_eq!(still["closed_at"], Value::Null);

    // Reopened and resolved again: a job for the new resolution; with the setting
    // at 0 nothing more is scheduled.
    desk.move_to(number, "open").await;
    let again = desk.move_to(number, "resolved").await;
    let resolved_again = again["resolved_at"].as_i64().expect("resolved_at");
    let scheduled = auto_close_jobs().await;
    assert!(
        scheduled.iter().any(|(payload, state, run_at)| {
            *payload == json!({"number": number, "resolved_at": resolved_again})
                && state == "pending"
                && *run_at == resolved_again + DAY_MS
        }),
        "{scheduled:?}"
    );
    desk.setting("tickets-auto-close-days", json!(0)).await;
    let other = desk
        .open(&desk.alice.token, json!({"subject": "Never closes"}))
        .await;
    let before = auto_close_jobs().await.len();
    desk.move_to(other, "resolved").await;
    assert_eq!(auto_close_jobs().await.len(), before, "0 days: never");
    desk.app.stop().await;
}
