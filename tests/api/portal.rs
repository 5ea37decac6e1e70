//! The portal's and console's ticket pages over HTTP, on both backends, as a browser
//! without JavaScript uses them: a contact registered from an invitation opens a
//! ticket with a screenshot (multipart), sees it under its tab with the right count,
//! a technician finds it in the console, takes it, answers and adds an internal
//! note; the contact sees the answer (and the event stream announces it) but never
//! the note; a main contact sees a colleague's ticket and a plain contact does not;
//! the language switch; CSRF and cross-site refusals; assets and the brand sheet.

use std::time::Duration;

use futures::StreamExt;
use portico_tenants::Role;
use portico_tests::{Backend, TestApp, TestEnv};
use reqwest::multipart::{Form, Part};
use rstest::rstest;

use crate::identity::register_as;

/// A tiny but real PNG (1×1, grey).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x81, 0x77, 0xcd, 0x72, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

fn number_of(location: Option<&str>) -> i64 {
    location
        .and_then(|l| l.strip_prefix("/tickets/"))
        .and_then(|rest| rest.split('?').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a ticket's page, not {location:?}"))
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn contacts_and_technicians_work_a_ticket_in_the_pages(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    let (mut contact, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (mut colleague, _, _) = register_as(
        &app,
        "acme",
        "cole@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (mut boss, _, _) = register_as(
        &app,
        "acme",
        "maria@contoso.example",
        Role::MainContact,
        Some(org),
    )
    .await;
    let (mut tech, _, _) =
        register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;

    // The new-ticket form: priorities with their guidance, the address filled in.
    let form = contact.get("/tickets/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.field("csrf").expect("csrf");
    assert!(form.body.contains("carla@contoso.example"));
    assert!(form.body.contains("enctype=\"multipart/form-data\""));

    // A form without its CSRF token changes nothing.
    let forged = contact
        .post_multipart(
            "/tickets/new",
            Form::new().text("subject", "Forged").text("csrf", "nope"),
        )
        .await;
    assert_eq!(forged.status, 404, "refused like a missing page");
    // A subject is required: the form comes back with what was typed.
    let empty = contact
        .post_multipart(
            "/tickets/new",
            Form::new()
                .text("csrf", csrf.clone())
                .text("subject", " ")
                .text("description", "kept text"),
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("role=\"alert\"") && empty.body.contains("kept text"));

    let opened = contact
        .post_multipart(
            "/tickets/new",
            Form::new()
                .text("csrf", csrf.clone())
                .text("subject", "Printer <b>jammed</b>")
                .text("description", "Paper stuck in tray 2")
                .part(
                    "file",
                    Part::bytes(PNG.to_vec())
                        .file_name("screenshot.png")
                        .mime_str("image/png")
                        .expect("mime"),
                ),
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let number = number_of(opened.location.as_deref());
    assert!(number >= 1000);

    // The list: the ticket under "in progress" with its count; the subject escaped.
    let list = contact.get("/tickets").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&format!("#{number}")));
    assert!(
        list.body.contains("Printer &lt;b&gt;jammed&lt;&#x2f;b&gt;"),
        "{}",
        list.body
    );
    assert!(
        list.body.contains("aria-current=\"page\">In progress<span class=\"count\" aria-label=\"1 tickets\">1</span>"),
        "{}",
        list.body
    );
    let closed_tab = contact.get("/tickets?status=closed").await;
    assert!(!closed_tab.body.contains(&format!("#{number}")));
    let search = contact.get("/tickets?q=tray").await;
    assert!(
        search.body.contains(&format!("#{number}")),
        "search finds the description"
    );

    // The ticket page, and the screenshot served as a download.
    let page = contact.get(&format!("/tickets/{number}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Paper stuck in tray 2"));
    let file_link = page
        .body
        .split(&format!("href=\"/tickets/{number}/files/"))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|id| format!("/tickets/{number}/files/{id}"))
        .expect("the screenshot is listed");
    let download = contact.get_raw(&file_link).await;
    assert_eq!(download.status(), 200);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment")
    );
    assert_eq!(download.bytes().await.expect("bytes").as_ref(), PNG);

    // Scopes: the main contact sees a colleague's ticket, a plain contact does not,
    // nor its file, nor its event stream.
    assert!(
        boss.get("/tickets")
            .await
            .body
            .contains(&format!("#{number}"))
    );
    assert_eq!(boss.get(&format!("/tickets/{number}")).await.status, 200);
    assert!(
        !colleague
            .get("/tickets")
            .await
            .body
            .contains(&format!("#{number}"))
    );
    assert_eq!(
        colleague.get(&format!("/tickets/{number}")).await.status,
        404
    );
    assert_eq!(colleague.get_raw(&file_link).await.status(), 404);
    assert_eq!(
        colleague
            .get_raw(&format!("/tickets/{number}/events"))
            .await
            .status(),
        404
    );
    // Customers have no console.
    assert_eq!(contact.get("/console").await.status, 404);

    // The contact listens for changes while the technician works.
    let events = contact.get_raw(&format!("/tickets/{number}/events")).await;
    assert_eq!(events.status(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let mut stream = events.bytes_stream();

    // The console: unassigned, then taken, then answered with a note beside it.
    let unassigned = tech.get("/console?view=unassigned").await;
    assert_eq!(unassigned.status, 200, "{}", unassigned.body);
    assert!(unassigned.body.contains(&format!("#{number}")));
    let workspace = tech.get(&format!("/tickets/{number}")).await;
    let tech_csrf = workspace.field("csrf").expect("csrf");
    assert!(workspace.body.contains("name=\"internal\""));
    let taken = tech
        .post(
            &format!("/tickets/{number}/status"),
            &[("csrf", &tech_csrf), ("action", "take")],
        )
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    assert!(
        tech.get("/console?view=mine")
            .await
            .body
            .contains(&format!("#{number}"))
    );
    assert!(
        !tech
            .get("/console?view=unassigned")
            .await
            .body
            .contains(&format!("#{number}"))
    );

    let answered = tech
        .post_multipart(
            &format!("/tickets/{number}/reply"),
            Form::new()
                .text("csrf", tech_csrf.clone())
                .text("body", "Open tray 2 and pull gently."),
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    let noted = tech
        .post_multipart(
            &format!("/tickets/{number}/reply"),
            Form::new()
                .text("csrf", tech_csrf.clone())
                .text("body", "Toner low too, order one")
                .text("internal", "true"),
        )
        .await;
    assert_eq!(noted.status, 303);

    // The stream announces the change.
    let announced = tokio::time::timeout(Duration::from_secs(15), async {
        let mut seen = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") {
                return seen;
            }
        }
        seen
    })
    .await
    .expect("an event within 15 s");
    assert!(announced.contains("event: changed"), "{announced}");

    // The contact's thread fragment has the answer, never the note.
    let thread = contact.get(&format!("/tickets/{number}/thread")).await;
    assert_eq!(thread.status, 200);
    assert!(
        thread.body.contains("Open tray 2 and pull gently."),
        "{}",
        thread.body
    );
    assert!(!thread.body.contains("Toner low"));
    assert!(
        tech.get(&format!("/tickets/{number}/thread"))
            .await
            .body
            .contains("Toner low")
    );
    // The contact may not post an internal note.
    let sneaky = contact
        .post_multipart(
            &format!("/tickets/{number}/reply"),
            Form::new()
                .text("csrf", csrf.clone())
                .text("body", "note?")
                .text("internal", "true"),
        )
        .await;
    assert_eq!(sneaky.status, 404);
    // Cross-site, a valid token does not help.
    let cross = contact
        .post_with(
            &format!("/tickets/{number}/status"),
            &[("csrf", &csrf), ("action", "close")],
            "cross-site",
        )
        .await;
    assert_eq!(cross.status, 404);

    // The contact closes the ticket; it leaves the "in progress" tab.
    let closed = contact
        .post(
            &format!("/tickets/{number}/status"),
            &[("csrf", &csrf), ("action", "close")],
        )
        .await;
    assert_eq!(closed.status, 303, "{}", closed.body);
    let in_progress = contact.get("/tickets").await;
    assert!(
        !in_progress.body.contains(&format!("#{number}")),
        "{}",
        in_progress.body
    );
    assert!(
        contact
            .get("/tickets?status=closed")
            .await
            .body
            .contains(&format!("#{number}"))
    );
    let reopened = contact
        .post(
            &format!("/tickets/{number}/status"),
            &[("csrf", &csrf), ("action", "reopen")],
        )
        .await;
    assert_eq!(reopened.status, 303);
    assert!(
        contact
            .get("/tickets")
            .await
            .body
            .contains(&format!("#{number}"))
    );

    // The portal in Italian, for this person from now on.
    let switched = contact
        .post("/account/language", &[("csrf", &csrf), ("language", "it")])
        .await;
    assert_eq!(switched.status, 303);
    let italian = contact.get("/tickets").await;
    assert!(italian.body.contains("<html lang=\"it\">"));
    assert!(italian.body.contains("I miei ticket"), "{}", italian.body);
    assert!(boss.get("/tickets").await.body.contains("My tickets"));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn pages_load_hashed_assets_under_a_strict_policy(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let (mut tech, _, _) =
        register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    // Signed out, the pages send people to sign in.
    let mut stranger = portico_tests::browser::Browser::new(app.addr, &TestApp::host("acme"));
    assert_eq!(
        stranger.get("/tickets").await.location.as_deref(),
        Some("/login")
    );

    let page = tech.get_raw("/console").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    // minijinja escapes `/` in attributes; read them back as a browser does.
    let body = page.text().await.expect("body").replace("&#x2f;", "/");
    // No inline code or style: every script has a source, no style attributes.
    assert!(
        !body.contains("<script>") && !body.contains("style="),
        "{body}"
    );
    for asset in ["css", "js"] {
        let href = body
            .split("/static/portico.")
            .skip(1)
            .find_map(|rest| {
                let name = rest.split('"').next()?;
                name.ends_with(asset)
                    .then(|| format!("/static/portico.{name}"))
            })
            .expect("the asset is linked");
        let served = tech.get_raw(&href).await;
        assert_eq!(served.status(), 200, "{href}");
        assert!(
            served.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("immutable")
        );
    }
    assert_eq!(tech.get_raw("/static/portico.css").await.status(), 404);
    let brand = tech.get("/brand.css").await;
    assert!(brand.body.contains("--brand:#"), "{}", brand.body);
}

/// The value of the first `<option … selected>` or checked radio with `name` is not
/// parsed here: the pages are read as text, the way a person reads them.
fn page_has(body: &str, text: &str) -> bool {
    body.contains(text)
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn approvers_requesters_and_technicians_use_the_ticket_forms(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    let (mut carla, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (mut colleague, _, _) = register_as(
        &app,
        "acme",
        "cole@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (mut boss, _, _) = register_as(
        &app,
        "acme",
        "maria@contoso.example",
        Role::MainContact,
        Some(org),
    )
    .await;
    let (mut tech, _, _) =
        register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    let host = TestApp::host("acme");
    let (status, _) = app
        .api(
            &host,
            reqwest::Method::POST,
            &admin,
            "/api/v1/ticket-types",
            Some(serde_json::json!({
                "key": "access_change", "name": "Access to shared folders",
                "requires_approval": true, "approvals_needed": 1
            })),
        )
        .await;
    assert_eq!(status, 201);

    // Carla asks for access: the type needs an approver's agreement.
    let form = carla.get("/tickets/new").await;
    let csrf = form.field("csrf").expect("csrf");
    assert!(
        form.body.contains("Access to shared folders"),
        "{}",
        form.body
    );
    let opened = carla
        .post_multipart(
            "/tickets/new",
            Form::new()
                .text("csrf", csrf.clone())
                .text("subject", "Access to the Finance share")
                .text("type", "access_change"),
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let number = number_of(opened.location.as_deref());
    let second = carla
        .post_multipart(
            "/tickets/new",
            Form::new()
                .text("csrf", csrf.clone())
                .text("subject", "Monitor flickers"),
        )
        .await;
    let other = number_of(second.location.as_deref());

    // The requester sees it waiting; she cannot decide it herself.
    let waiting = carla.get(&format!("/tickets/{number}")).await;
    assert!(
        page_has(&waiting.body, "Awaiting approval"),
        "{}",
        waiting.body
    );
    assert!(
        !waiting
            .body
            .contains(&format!("action=\"/tickets/{number}/approval\""))
    );

    // The main contact approves in the portal; a rejection needs a reason.
    let asked = boss.get(&format!("/tickets/{number}")).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked
            .body
            .contains(&format!("action=\"/tickets/{number}/approval\"")),
        "{}",
        asked.body
    );
    let boss_csrf = asked.field("csrf").expect("csrf");
    let bare = boss
        .post(
            &format!("/tickets/{number}/approval"),
            &[
                ("csrf", &boss_csrf),
                ("decision", "reject"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(bare.status, 422, "{}", bare.body);
    let colleague_csrf = colleague.get("/tickets").await.field("csrf").expect("csrf");
    let plain = colleague
        .post(
            &format!("/tickets/{number}/approval"),
            &[("csrf", &colleague_csrf), ("decision", "approve")],
        )
        .await;
    assert_ne!(plain.status, 303, "a plain contact is no approver");
    let approved = boss
        .post(
            &format!("/tickets/{number}/approval"),
            &[
                ("csrf", &boss_csrf),
                ("decision", "approve"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let after = boss.get(&format!("/tickets/{number}?done=decided")).await;
    assert!(after.body.contains("Your decision was recorded."));
    assert!(page_has(&after.body, "Approved"), "{}", after.body);
    assert!(
        !after
            .body
            .contains(&format!("action=\"/tickets/{number}/approval\""))
    );

    // The technician's workspace: priority and type, time, the requester's others.
    let workspace = tech.get(&format!("/tickets/{number}")).await;
    assert_eq!(workspace.status, 200, "{}", workspace.body);
    let tech_csrf = workspace.field("csrf").expect("csrf");
    assert!(
        workspace
            .body
            .contains(&format!("href=\"/tickets/{other}\"")),
        "the requester's other ticket is listed: {}",
        workspace.body
    );
    let set = tech
        .post(
            &format!("/tickets/{number}/fields"),
            &[
                ("csrf", &tech_csrf),
                ("priority", "critical"),
                ("type", "access_change"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let wrong = tech
        .post(
            &format!("/tickets/{number}/time"),
            &[("csrf", &tech_csrf), ("hours", "x"), ("minutes", "")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    let logged = tech
        .post(
            &format!("/tickets/{number}/time"),
            &[
                ("csrf", &tech_csrf),
                ("hours", "1"),
                ("minutes", "30"),
                ("billable", "true"),
                ("date", "2026-11-30"),
                ("note", "Granted read access"),
            ],
        )
        .await;
    assert_eq!(logged.status, 303, "{}", logged.body);
    let worked = tech.get(&format!("/tickets/{number}")).await;
    assert!(worked.body.contains("1 h 30 min"), "{}", worked.body);
    assert!(worked.body.contains("Granted read access"));
    assert!(worked.body.contains("<option value=\"critical\" selected>"));
    // Customers have no workspace, and cannot post to it.
    let carla_page = carla.get(&format!("/tickets/{number}")).await;
    assert!(!carla_page.body.contains("Granted read access"));
    assert!(
        !carla_page
            .body
            .contains(&format!("action=\"/tickets/{number}/time\""))
    );
    let sneaky = carla
        .post(
            &format!("/tickets/{number}/time"),
            &[("csrf", &csrf), ("minutes", "5")],
        )
        .await;
    assert_eq!(sneaky.status, 404);

    // Resolved: the requester rates the answer, once changed at will; nobody else may.
    let resolved = tech
        .post(
            &format!("/tickets/{number}/status"),
            &[
                ("csrf", &tech_csrf),
                ("action", "set"),
                ("status", "resolved"),
            ],
        )
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let to_rate = carla.get(&format!("/tickets/{number}")).await;
    assert!(
        to_rate
            .body
            .contains(&format!("action=\"/tickets/{number}/rating\"")),
        "{}",
        to_rate.body
    );
    let none = carla
        .post(&format!("/tickets/{number}/rating"), &[("csrf", &csrf)])
        .await;
    assert_eq!(none.status, 422);
    let rated = carla
        .post(
            &format!("/tickets/{number}/rating"),
            &[
                ("csrf", &csrf),
                ("rating", "5"),
                ("comment", "Quick, thanks"),
            ],
        )
        .await;
    assert_eq!(rated.status, 303, "{}", rated.body);
    let shown = carla.get(&format!("/tickets/{number}")).await;
    assert!(
        shown.body.contains("value=\"5\" required checked"),
        "{}",
        shown.body
    );
    assert!(shown.body.contains("Quick, thanks"));
    let (status, rating) = app
        .api(
            &host,
            reqwest::Method::GET,
            &admin,
            &format!("/api/v1/tickets/{number}/rating"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rating}");
    assert_eq!(rating["rating"], 5);
    let boss_rates = boss
        .post(
            &format!("/tickets/{number}/rating"),
            &[("csrf", &boss_csrf), ("rating", "1")],
        )
        .await;
    assert_ne!(boss_rates.status, 303, "only the requester rates");
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn people_keep_their_settings_and_sections_follow_the_switches(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    let (mut carla, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (mut other, _, _) = register_as(
        &app,
        "acme",
        "otto@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let host = TestApp::host("acme");

    // The settings page: the address, the factor, no phone yet.
    let settings = carla.get("/account/settings").await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let csrf = settings.field("csrf").expect("csrf");
    assert!(settings.body.contains("carla@contoso.example"));
    assert!(
        settings.body.contains("Authenticator app"),
        "{}",
        settings.body
    );
    assert!(settings.body.contains("Add a mobile number"));

    // A phone confirmed earlier (by the step-up) can be removed here.
    let db = app.tenant("acme").await;
    let carla_id = portico_tenants::people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|u| u.email == "carla@contoso.example")
        .expect("carla")
        .id;
    let mut tx = db.begin().await.expect("tx");
    portico_tenants::accounts::save_verified_phone(&mut tx, carla_id, "+393331234567")
        .await
        .expect("phone");
    tx.commit().await.expect("commit");
    let with_phone = carla.get("/account/settings").await;
    assert!(
        !with_phone.body.contains("+393331234567"),
        "the number is masked"
    );
    assert!(
        with_phone
            .body
            .contains("action=\"&#x2f;account&#x2f;phone&#x2f;remove\"")
            || with_phone.body.contains("action=\"/account/phone/remove\"")
    );
    let removed = carla
        .post("/account/phone/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(
        carla
            .get("/account/settings?done=phone-removed")
            .await
            .body
            .contains("The mobile number was removed.")
    );

    // Changing the password: the current one first, twice the same, the policy.
    for (current, new, again, expected) in [
        (
            "wrong",
            "Brisk-Falcon-19",
            "Brisk-Falcon-19",
            "The current password is not correct.",
        ),
        (
            crate::identity::PASSWORD,
            "Brisk-Falcon-19",
            "Brisk-Falcon-20",
            "The two passwords are not the same.",
        ),
        (
            crate::identity::PASSWORD,
            "password",
            "password",
            "The password needs",
        ),
    ] {
        let refused = carla
            .post(
                "/account/password",
                &[
                    ("csrf", &csrf),
                    ("current", current),
                    ("password", new),
                    ("password_again", again),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains(expected), "{}", refused.body);
    }
    let changed = carla
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", crate::identity::PASSWORD),
                ("password", "Brisk-Falcon-19"),
                ("password_again", "Brisk-Falcon-19"),
            ],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(changed.body.contains("Password changed"));
    // Every session ended, this one too.
    assert_eq!(
        carla.get("/tickets").await.location.as_deref(),
        Some("/login")
    );

    // Sections: tickets off for the organization, settings off for one person.
    let (status, _) = app
        .api(
            &host,
            reqwest::Method::PUT,
            &admin,
            "/api/v1/sections/tickets",
            Some(serde_json::json!({ "enabled": false, "organization_id": org })),
        )
        .await;
    assert!(status == 200 || status == 204, "{status}");
    let other_id = portico_tenants::people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|u| u.email == "otto@contoso.example")
        .expect("otto")
        .id;
    let (status, _) = app
        .api(
            &host,
            reqwest::Method::PUT,
            &admin,
            "/api/v1/sections/settings",
            Some(serde_json::json!({ "enabled": false, "user_id": other_id })),
        )
        .await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(other.get("/tickets").await.status, 404);
    assert_eq!(other.get("/tickets/new").await.status, 404);
    assert_eq!(other.get("/account/settings").await.status, 404);
    let kb = other.get("/kb").await;
    assert_eq!(kb.status, 200, "{}", kb.body);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn technicians_filter_by_organization_and_change_tickets_in_bulk(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let contoso = app.organization("acme", "Contoso", "contoso.example").await;
    app.organization("acme", "Fabrikam", "fabrikam.example")
        .await;
    let (mut tech, _, _) =
        register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    let (mut carla, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(contoso),
    )
    .await;
    let host = TestApp::host("acme");
    let mut numbers = Vec::new();
    for (subject, requester) in [
        ("VPN drops", "ann@contoso.example"),
        ("Mail quota", "bob@contoso.example"),
        ("Scanner offline", "fay@fabrikam.example"),
    ] {
        let (status, ticket) = app
            .api(
                &host,
                reqwest::Method::POST,
                &admin,
                "/api/v1/tickets",
                Some(serde_json::json!({ "subject": subject, "requester_email": requester })),
            )
            .await;
        assert_eq!(status, 201, "{ticket}");
        numbers.push(ticket["number"].as_i64().expect("number"));
    }

    // One organization's tickets.
    let filtered = tech
        .get(&format!("/console?view=all&organization={contoso}"))
        .await;
    assert_eq!(filtered.status, 200, "{}", filtered.body);
    assert!(filtered.body.contains("VPN drops") && filtered.body.contains("Mail quota"));
    assert!(
        !filtered.body.contains("Scanner offline"),
        "{}",
        filtered.body
    );
    assert!(
        filtered.body.contains("Fabrikam"),
        "the filter lists every organization"
    );
    let csrf = filtered.field("csrf").expect("csrf");

    // Take two at once; then close one of them and a number that does not exist.
    let form = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let taken = tech
        .post_pairs(
            "/console/bulk",
            &form(&[
                ("csrf", csrf.clone()),
                ("action", "take".to_owned()),
                ("number", numbers[0].to_string()),
                ("number", numbers[1].to_string()),
                ("back", "/console?view=unassigned".to_owned()),
            ]),
        )
        .await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    assert_eq!(
        taken.location.as_deref(),
        Some("/console?view=unassigned&changed=2&failed=0")
    );
    let done = tech.get(taken.location.as_deref().expect("location")).await;
    assert!(done.body.contains("2 ticket(s) changed."), "{}", done.body);
    let mine = tech.get("/console?view=mine").await;
    assert!(mine.body.contains("VPN drops") && mine.body.contains("Mail quota"));
    assert!(!mine.body.contains("Scanner offline"));

    let closed = tech
        .post_pairs(
            "/console/bulk",
            &form(&[
                ("csrf", csrf.clone()),
                ("action", "close".to_owned()),
                ("number", numbers[0].to_string()),
                ("number", "999999".to_owned()),
                ("back", "https://evil.example/".to_owned()),
            ]),
        )
        .await;
    assert_eq!(
        closed.location.as_deref(),
        Some("/console?changed=1&failed=1"),
        "a foreign back address is ignored"
    );
    let (_, ticket) = app
        .api(
            &host,
            reqwest::Method::GET,
            &admin,
            &format!("/api/v1/tickets/{}", numbers[0]),
            None,
        )
        .await;
    assert_eq!(ticket["status"], "closed");

    // Nothing selected is an error; customers have no bulk actions.
    let none = tech
        .post_pairs(
            "/console/bulk",
            &form(&[("csrf", csrf.clone()), ("action", "close".to_owned())]),
        )
        .await;
    assert_eq!(none.status, 422);
    let carla_csrf = carla.get("/tickets").await.field("csrf").expect("csrf");
    let refused = carla
        .post_pairs(
            "/console/bulk",
            &form(&[
                ("csrf", carla_csrf),
                ("action", "close".to_owned()),
                ("number", numbers[1].to_string()),
            ]),
        )
        .await;
    assert_eq!(refused.status, 404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn main_contacts_read_their_report_and_ask_for_colleagues(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let admin = app.token("acme", Role::MspAdmin).await;
    let contoso = app.organization("acme", "Contoso", "contoso.example").await;
    app.organization("acme", "Fabrikam", "fabrikam.example")
        .await;
    let (mut boss, _, _) = register_as(
        &app,
        "acme",
        "maria@contoso.example",
        Role::MainContact,
        Some(contoso),
    )
    .await;
    let (mut carla, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(contoso),
    )
    .await;
    let (mut tech, _, _) =
        register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    let host = TestApp::host("acme");
    for requester in [
        "ann@contoso.example",
        "fay@fabrikam.example",
        "gus@fabrikam.example",
    ] {
        let (status, _) = app
            .api(
                &host,
                reqwest::Method::POST,
                &admin,
                "/api/v1/tickets",
                Some(serde_json::json!({ "subject": "Help", "requester_email": requester })),
            )
            .await;
        assert_eq!(status, 201);
    }
    let opened = |body: &str| {
        body.split("<th scope=\"row\">Tickets opened</th><td>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_owned)
    };

    // The main contact's report counts only their organization; staff see all.
    let report = boss.get("/reports").await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(
        opened(&report.body).as_deref(),
        Some("1"),
        "{}",
        report.body
    );
    let all = tech.get("/reports").await;
    assert_eq!(opened(&all.body).as_deref(), Some("3"), "{}", all.body);
    assert!(
        all.body.contains("Fabrikam"),
        "staff choose the organization"
    );
    let export = boss
        .get_raw("/reports/export?from=2020-01-01&to=2030-12-31")
        .await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment")
    );
    let csv = export.text().await.expect("csv");
    assert!(
        csv.starts_with("organization_id") || csv.contains("opened"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|row| row.contains(&contoso.to_string())),
        "{csv}"
    );
    let bad = boss.get("/reports?from=yesterday&to=today").await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        carla.get("/reports").await.status,
        404,
        "contacts have no report"
    );

    // Accounts for colleagues.
    let page = boss.get("/colleagues").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf").expect("csrf");
    let invalid = boss
        .post(
            "/colleagues",
            &[("csrf", &csrf), ("email", "not an address")],
        )
        .await;
    assert_eq!(invalid.status, 422);
    let asked = boss
        .post(
            "/colleagues",
            &[
                ("csrf", &csrf),
                ("email", "nina@contoso.example"),
                ("name", "Nina Bauer"),
            ],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let listed = boss.get("/colleagues?done=requested").await;
    assert!(listed.body.contains("nina@contoso.example"));
    assert!(listed.body.contains("Waiting for the service desk"));
    let (status, requests) = app
        .api(
            &host,
            reqwest::Method::GET,
            &admin,
            "/api/v1/account-requests",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(requests[0]["email"], "nina@contoso.example");
    assert_eq!(requests[0]["organization_id"], contoso);
    assert_eq!(carla.get("/colleagues").await.status, 404);
}
