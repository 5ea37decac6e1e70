//! The MSP's administration pages and the operator's tenant screens over HTTP, on
//! both backends, as a browser without JavaScript uses them. Each change made on a
//! page is checked where it takes effect — the contact's portal, the API, the data
//! layer — not only on the page that made it.

use std::time::Duration;

use portico_tenants::{Role, TenantStatus, approvals, people, registry, ticket_config, ticket_sla};
use portico_tests::browser::Page;
use portico_tests::{Backend, TestApp, TestEnv, eventually};
use rstest::rstest;

use crate::identity::register_as;

/// The id in a link such as `href="/admin/people/12"` following `marker`.
fn id_after(body: &str, marker: &str) -> i64 {
    body.split(marker)
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no {marker} in {body}"))
}

/// The text of the `<code>` right after `label` (a secret shown once).
fn code_after(body: &str, label: &str) -> String {
    body.split(label)
        .nth(1)
        .and_then(|rest| rest.split("<code>").nth(1))
        .and_then(|rest| rest.split("</code>").next())
        .map(|s| s.replace("&#x2f;", "/"))
        .unwrap_or_else(|| panic!("no secret after {label}"))
}

fn assert_done(page: &Page, path: &str, done: &str) {
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{path}?done={done}").as_str()),
        "{}",
        page.body
    );
}

/// A tenant with an organization, its administrator, a technician and a contact of
/// the organization, each signed in. Bind every field: one left to `..` would be
/// dropped at once, and with `app` the server stops.
struct Desk {
    _env: std::sync::Arc<TestEnv>,
    app: TestApp,
    db: portico_tenants::TenantDb,
    org: i64,
    admin: portico_tests::browser::Browser,
    tech: portico_tests::browser::Browser,
    contact: portico_tests::browser::Browser,
}

async fn desk(backend: Backend) -> Desk {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let db = app.tenant("acme").await;
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    let (admin, _, _) = register_as(&app, "acme", "ada@acme.example", Role::MspAdmin, None).await;
    let (tech, _, _) = register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    let (contact, _, _) = register_as(
        &app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    Desk {
        _env: env,
        app,
        db,
        org,
        admin,
        tech,
        contact,
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn msp_admins_run_the_service_desk_from_the_admin_pages(#[case] backend: Backend) {
    let Desk {
        _env,
        app,
        db,
        org,
        mut admin,
        mut tech,
        mut contact,
    } = desk(backend).await;

    // Who sees what: the hub for staff, nothing for customers; a technician reads
    // people but neither invites nor changes the portal.
    let hub = admin.get("/admin").await;
    assert_eq!(hub.status, 200, "{}", hub.body);
    for page in [
        "people",
        "organizations",
        "portal",
        "sla",
        "mail",
        "domains",
        "tokens",
        "webhooks",
        "audit",
    ] {
        assert!(
            hub.body
                .contains(&format!("href=\"&#x2f;admin&#x2f;{page}\"")),
            "{page}"
        );
    }
    assert!(
        admin
            .get("/console")
            .await
            .body
            .contains("href=\"&#x2f;admin\"")
    );
    assert_eq!(contact.get("/admin").await.status, 404);
    assert_eq!(contact.get("/admin/people").await.status, 404);
    let tech_hub = tech.get("/admin").await;
    assert_eq!(tech_hub.status, 200);
    assert!(tech_hub.body.contains("href=\"&#x2f;admin&#x2f;sla\""));
    assert!(!tech_hub.body.contains("href=\"&#x2f;admin&#x2f;tokens\""));
    let tech_people = tech.get("/admin/people").await;
    assert_eq!(tech_people.status, 200);
    assert!(tech_people.body.contains("carla@contoso.example"));
    assert!(
        !tech_people
            .body
            .contains("action=\"&#x2f;admin&#x2f;people\" id=\"invite\"")
    );
    assert_eq!(tech.get("/admin/portal").await.status, 404);
    assert_eq!(tech.get("/admin/tokens").await.status, 404);

    // Invite a contact of Contoso; a form without the session's token does nothing.
    let people_page = admin.get("/admin/people").await;
    let csrf = people_page.field("csrf").expect("csrf");
    assert!(
        people_page
            .body
            .contains("action=\"&#x2f;admin&#x2f;people\" id=\"invite\"")
    );
    assert!(
        !people_page.body.contains("&#x2f;disable\""),
        "account actions are on each person's page, not in the list"
    );
    let invite = [
        ("email", "nina@contoso.example"),
        ("name", "Nina"),
        ("role", "contact"),
        ("organization", &org.to_string()),
    ];
    let mut forged = invite.to_vec();
    forged.push(("csrf", "wrong"));
    assert_eq!(admin.post("/admin/people", &forged).await.status, 404);
    let mut form = invite.to_vec();
    form.push(("csrf", &csrf));
    assert_done(
        &admin.post("/admin/people", &form).await,
        "/admin/people",
        "invited",
    );
    let nina = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.email == "nina@contoso.example")
        .expect("invited");
    assert_eq!(nina.organization_id, Some(org));
    assert_eq!(nina.status, "invited");
    let listed = admin.get("/admin/people?q=nina").await;
    assert!(listed.body.contains("nina@contoso.example") && listed.body.contains("Invited"));
    assert!(
        !listed.body.contains("carla@contoso.example"),
        "the search narrows"
    );
    // Bad input: a clear message, nothing created.
    let bad = admin
        .post(
            "/admin/people",
            &[
                ("email", "not an address"),
                ("role", "contact"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("valid e-mail address"), "{}", bad.body);
    assert_done(
        &admin
            .post(
                &format!("/admin/people/{}/resend", nina.id),
                &[("csrf", &csrf)],
            )
            .await,
        &format!("/admin/people/{}", nina.id),
        "resent",
    );

    // Roles: Nina becomes a main contact; a technician cannot become a contact of
    // no organization; nobody changes their own role, and the last administrator
    // keeps hers.
    let nina_page = format!("/admin/people/{}", nina.id);
    assert!(admin.get(&nina_page).await.body.contains("id=\"role\""));
    assert_done(
        &admin
            .post(
                &format!("{nina_page}/role"),
                &[
                    ("role", "main_contact"),
                    ("organization", &org.to_string()),
                    ("csrf", &csrf),
                ],
            )
            .await,
        &nina_page,
        "role",
    );
    assert_eq!(
        people::get_user(&db, nina.id, portico_tenants::policy::Scope::All)
            .await
            .expect("nina")
            .role,
        Role::MainContact
    );
    let ada = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.email == "ada@acme.example")
        .expect("ada");
    assert!(
        !admin
            .get(&format!("/admin/people/{}", ada.id))
            .await
            .body
            .contains("id=\"role\"")
    );
    assert_eq!(
        admin
            .post(
                &format!("/admin/people/{}/role", ada.id),
                &[("role", "technician"), ("csrf", &csrf)],
            )
            .await
            .status,
        422
    );
    let tess_id = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.email == "tess@acme.example")
        .expect("tess")
        .id;
    let orphan = admin
        .post(
            &format!("/admin/people/{tess_id}/role"),
            &[("role", "contact"), ("organization", ""), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(orphan.status, 422, "{}", orphan.body);
    assert!(
        people::set_role(&db, ada.id, Role::Technician, None, "test")
            .await
            .is_err(),
        "the last administrator keeps the role"
    );
    // A new organization with its domain; Carla's organization gets approvers, an
    // SLA policy of its own and the knowledge base switched off.
    let created = admin
        .post(
            "/admin/organizations",
            &[
                ("name", "Fabrikam"),
                ("domains", "fabrikam.example, fabrikam.test"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let fabrikam = id_after(
        created.location.as_deref().unwrap_or_default(),
        "/admin/organizations/",
    );
    let fabrikam_page = admin.get(&format!("/admin/organizations/{fabrikam}")).await;
    assert!(
        fabrikam_page
            .body
            .contains("fabrikam.example, fabrikam.test")
    );
    // Its domains change; one that belongs to another organization is refused.
    assert_done(
        &admin
            .post(
                &format!("/admin/organizations/{fabrikam}/domains"),
                &[
                    ("domains", "fabrikam.example fabrikam.net"),
                    ("csrf", &csrf),
                ],
            )
            .await,
        &format!("/admin/organizations/{fabrikam}"),
        "domains",
    );
    assert!(
        admin
            .get(&format!("/admin/organizations/{fabrikam}"))
            .await
            .body
            .contains("fabrikam.example, fabrikam.net")
    );
    assert_eq!(
        admin
            .post(
                &format!("/admin/organizations/{fabrikam}/domains"),
                &[("domains", "contoso.example"), ("csrf", &csrf)],
            )
            .await
            .status,
        409
    );
    let duplicate = admin
        .post(
            "/admin/organizations",
            &[("name", "Fabrikam"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);

    let carla = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.email == "carla@contoso.example")
        .expect("carla");
    let contoso = format!("/admin/organizations/{org}");
    let page = admin.get(&contoso).await;
    assert!(page.body.contains("carla@contoso.example"));
    assert_done(
        &admin
            .post(
                &format!("{contoso}/approvers"),
                &[("approver", &carla.id.to_string()), ("csrf", &csrf)],
            )
            .await,
        &contoso,
        "approvers",
    );
    assert_eq!(
        approvals::approvers(&db, org).await.expect("approvers"),
        vec![carla.id]
    );
    assert!(
        contact
            .get("/tickets")
            .await
            .body
            .contains("href=\"&#x2f;kb\"")
    );
    assert_done(
        &admin
            .post(
                &format!("{contoso}/sections"),
                &[("section-knowledge_base", "off"), ("csrf", &csrf)],
            )
            .await,
        &contoso,
        "sections",
    );
    assert!(
        !contact
            .get("/tickets")
            .await
            .body
            .contains("href=\"&#x2f;kb\"")
    );
    // Carla herself is set apart: the knowledge base is on for her again.
    let carla_page = format!("/admin/people/{}", carla.id);
    assert_done(
        &admin
            .post(
                &format!("{carla_page}/sections"),
                &[("section-knowledge_base", "on"), ("csrf", &csrf)],
            )
            .await,
        &carla_page,
        "sections",
    );
    assert!(
        contact
            .get("/tickets")
            .await
            .body
            .contains("href=\"&#x2f;kb\"")
    );

    // The portal's settings: "new ticket" hidden from customers, a default zone,
    // and a value out of range refused without changing anything.
    let portal = admin.get("/admin/portal").await;
    assert_eq!(portal.status, 200, "{}", portal.body);
    assert!(
        portal
            .body
            .contains("name=\"tickets_can_reopen\" value=\"true\" checked")
    );
    assert_eq!(contact.get("/tickets/new").await.status, 200);
    let refused = admin
        .post(
            "/admin/portal/settings",
            &[
                ("portal_hide_new_ticket", "true"),
                ("tickets_auto_close_days", "99999"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        contact.get("/tickets/new").await.status,
        200,
        "nothing was saved"
    );
    assert_done(
        &admin
            .post(
                "/admin/portal/settings",
                &[
                    ("tickets_can_reopen", "true"),
                    ("portal_hide_new_ticket", "true"),
                    ("tickets_auto_close_days", "7"),
                    ("mail_unknown_senders", "refuse"),
                    ("brand_color", "#aa3300"),
                    ("time_zone", "Europe/Rome"),
                    ("welcome_message", "Call us on 555 0100 any weekday."),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/portal",
        "settings",
    );
    assert_eq!(contact.get("/tickets/new").await.status, 404);
    // An emptied number goes back to its default.
    assert_eq!(
        portico_tenants::accounts::tenant_setting(&db, "tickets_auto_close_days")
            .await
            .expect("setting"),
        Some(serde_json::json!(7))
    );
    assert_done(
        &admin
            .post(
                "/admin/portal/settings",
                &[
                    ("tickets_can_reopen", "true"),
                    ("portal_hide_new_ticket", "true"),
                    ("tickets_auto_close_days", ""),
                    ("welcome_message", "Call us on 555 0100 any weekday."),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/portal",
        "settings",
    );
    assert_eq!(
        portico_tenants::accounts::tenant_setting(&db, "tickets_auto_close_days")
            .await
            .expect("setting"),
        Some(serde_json::Value::Null)
    );
    assert!(
        !admin
            .get("/admin/portal")
            .await
            .body
            .contains("name=\"tickets_auto_close_days\" type=\"number\" value=\"7\"")
    );
    assert!(
        !contact
            .get("/tickets")
            .await
            .body
            .contains("data-shortcut=\"new\"")
    );
    let sheet = contact
        .get_raw("/brand.css")
        .await
        .text()
        .await
        .expect("css");
    assert!(sheet.contains("--brand:#aa3300"), "{sheet}");
    // The welcome message ends the invitations sent from now on.
    let mut invite = vec![
        ("email", "omar@contoso.example"),
        ("role", "contact"),
        ("csrf", csrf.as_str()),
    ];
    let org_text = org.to_string();
    invite.push(("organization", &org_text));
    assert_done(
        &admin.post("/admin/people", &invite).await,
        "/admin/people",
        "invited",
    );
    eventually(
        Duration::from_secs(10),
        "the invitation with its welcome message",
        || async {
            let dir = _env.data_dir().join("mail");
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                (text.contains("omar@contoso.example")
                    && text.contains("/invite/")
                    && text.contains("Call us on 555 0100 any weekday."))
                .then_some(())
            })
        },
    )
    .await;
    // A logo: an image by its bytes, at most 512 KB; shown through the brand sheet.
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a,
        0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x68,
        0x00, 0x00, 0x00, 0x82, 0x00, 0x81, 0x77, 0xcd, 0x72, 0xb6, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let upload = |bytes: Vec<u8>, name: &'static str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            )
    };
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let refused = admin
        .post_multipart("/admin/portal/logo", upload(svg, "logo.png"))
        .await;
    assert_eq!(refused.status, 422, "an SVG is no logo: {}", refused.body);
    assert_done(
        &admin
            .post_multipart("/admin/portal/logo", upload(png.to_vec(), "logo.png"))
            .await,
        "/admin/portal",
        "logo",
    );
    let served = contact.get_raw("/brand.css").await;
    assert_eq!(served.headers()["cache-control"], "no-cache");
    let etag = served.headers()["etag"].to_str().expect("etag").to_owned();
    let sheet = served.text().await.expect("css");
    assert!(sheet.contains("/brand/logo?v="), "{sheet}");
    let again = reqwest::Client::new()
        .get(app.url("/brand.css"))
        .header("host", TestApp::host("acme"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 304, "an unchanged sheet is not sent again");
    let logo = contact.get_raw("/brand/logo").await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.expect("bytes").as_ref(), png);
    assert_done(
        &admin
            .post("/admin/portal/logo-remove", &[("csrf", &csrf)])
            .await,
        "/admin/portal",
        "logo",
    );
    assert_eq!(contact.get_raw("/brand/logo").await.status(), 404);
    assert!(
        !contact
            .get_raw("/brand.css")
            .await
            .text()
            .await
            .expect("css")
            .contains("/brand/logo")
    );
    // Times now read in Rome for everyone who chose no zone.
    let settings = contact.get("/account/settings").await;
    assert!(
        settings.body.contains(" CET") || settings.body.contains(" CEST"),
        "{}",
        settings.body
    );
    // A person's own zone wins; an unknown zone is refused.
    let contact_csrf = settings.field("csrf").expect("csrf");
    assert_done(
        &contact
            .post(
                "/account/time-zone",
                &[("time_zone", "Asia/Tokyo"), ("csrf", &contact_csrf)],
            )
            .await,
        "/account/settings",
        "time-zone",
    );
    assert!(contact.get("/account/settings").await.body.contains(" JST"));
    assert_eq!(
        contact
            .post(
                "/account/time-zone",
                &[("time_zone", "Mars/Olympus"), ("csrf", &contact_csrf)],
            )
            .await
            .status,
        422
    );

    // Statuses, fields and types.
    assert_done(
        &admin
            .post(
                "/admin/portal/status-new",
                &[("key", "on_site"), ("class", "open"), ("csrf", &csrf)],
            )
            .await,
        "/admin/portal",
        "status",
    );
    let statuses = ticket_config::statuses(&db).await.expect("statuses");
    let on_site = statuses
        .iter()
        .find(|s| s.key == "on_site")
        .expect("created");
    assert!(!on_site.visible_to_customers.0, "a box left unticked");
    assert_done(
        &admin
            .post(
                "/admin/portal/status",
                &[("key", "on_site"), ("visible", "true"), ("csrf", &csrf)],
            )
            .await,
        "/admin/portal",
        "status",
    );
    assert!(
        ticket_config::statuses(&db)
            .await
            .expect("statuses")
            .iter()
            .any(|s| s.key == "on_site" && s.visible_to_customers.0)
    );
    assert_done(
        &admin
            .post(
                "/admin/portal/field",
                &[
                    ("name", "priority"),
                    ("standard", "true"),
                    ("visibility", "hidden"),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/portal",
        "field",
    );
    let fields = ticket_config::read_portal_fields(&db)
        .await
        .expect("fields");
    assert_eq!(
        fields.standard("priority"),
        ticket_config::FieldVisibility::Hidden
    );
    assert_done(
        &admin
            .post(
                "/admin/portal/field-new",
                &[
                    ("key", "asset_tag"),
                    ("label", "Asset tag"),
                    ("kind", "select"),
                    ("options", "A-1, A-2"),
                    ("portal", "true"),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/portal",
        "field",
    );
    let custom = ticket_config::fields(&db).await.expect("fields");
    assert_eq!(custom[0].options, vec!["A-1".to_owned(), "A-2".to_owned()]);
    assert_done(
        &admin
            .post(
                "/admin/portal/type-new",
                &[
                    ("key", "access_change"),
                    ("name", "Access change"),
                    ("requires_approval", "true"),
                    ("approvals_needed", "2"),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/portal",
        "type",
    );
    let types = ticket_config::types(&db).await.expect("types");
    assert!(
        types
            .iter()
            .any(|t| t.key == "access_change" && t.requires_approval && t.approvals_needed == 2)
    );
    let portal = admin.get("/admin/portal").await;
    assert!(portal.body.contains("Asset tag") && portal.body.contains("Access change"));

    // API tokens: the secret is shown once, on a page never stored; it works until
    // it is revoked.
    let created = admin
        .post(
            "/admin/tokens",
            &[
                ("name", "Billing export"),
                ("role", "technician"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = code_after(&created.body, "shown this once");
    let reader = reqwest::Client::new();
    let call = |secret: String| {
        let reader = reader.clone();
        let url = app.url("/api/v1/tenant");
        async move {
            reader
                .get(url)
                .header("host", TestApp::host("acme"))
                .bearer_auth(secret)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(call(secret.clone()).await, 200);
    let tokens = admin.get("/admin/tokens").await;
    assert!(tokens.body.contains("Billing export") && !tokens.body.contains(&secret));
    let token_id = id_after(&tokens.body, "action=\"&#x2f;admin&#x2f;tokens&#x2f;");
    assert_done(
        &admin
            .post(
                &format!("/admin/tokens/{token_id}/revoke"),
                &[("csrf", &csrf)],
            )
            .await,
        "/admin/tokens",
        "revoked",
    );
    eventually(Duration::from_secs(5), "the token stops working", || {
        let secret = secret.clone();
        let call = &call;
        async move { (call(secret).await == 401).then_some(()) }
    })
    .await;
    // A token never acts as a customer.
    assert_eq!(
        admin
            .post(
                "/admin/tokens",
                &[("name", "X"), ("role", "contact"), ("csrf", &csrf)]
            )
            .await
            .status,
        422
    );

    // Webhooks: created with its secret shown once, disabled, enabled, a new secret,
    // deleted; a private address is refused.
    let private = admin
        .post(
            "/admin/webhooks",
            &[
                ("url", "http://127.0.0.1:9/hook"),
                ("events", "*"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(private.status, 422, "{}", private.body);
    let hook = admin
        .post(
            "/admin/webhooks",
            &[
                ("url", "https://hooks.example.com/portico"),
                ("description", "Billing"),
                ("events", "ticket.created, ticket.*"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(hook.status, 200, "{}", hook.body);
    assert!(code_after(&hook.body, "shown this once").starts_with("whsec_"));
    let endpoints = portico_tenants::webhooks::list_endpoints(&db)
        .await
        .expect("hooks");
    assert_eq!(endpoints.len(), 1);
    let hook_id = endpoints[0].id;
    assert_eq!(endpoints[0].event_types, vec!["ticket.created", "ticket.*"]);
    let hooks = format!("/admin/webhooks/{hook_id}");
    assert_done(
        &admin
            .post(&format!("{hooks}/disable"), &[("csrf", &csrf)])
            .await,
        "/admin/webhooks",
        "disabled",
    );
    assert!(
        !portico_tenants::webhooks::get_endpoint(&db, hook_id)
            .await
            .expect("hook")
            .enabled
    );
    assert_done(
        &admin
            .post(&format!("{hooks}/enable"), &[("csrf", &csrf)])
            .await,
        "/admin/webhooks",
        "enabled",
    );
    let rotated = admin
        .post(&format!("{hooks}/rotate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(rotated.status, 200);
    assert!(code_after(&rotated.body, "shown this once").starts_with("whsec_"));
    assert_done(
        &admin
            .post(&format!("{hooks}/delete"), &[("csrf", &csrf)])
            .await,
        "/admin/webhooks",
        "deleted",
    );
    assert!(
        portico_tenants::webhooks::list_endpoints(&db)
            .await
            .expect("hooks")
            .is_empty()
    );

    // Accounts: Carla's sessions end; disabled, she is signed out for good.
    assert!(
        admin
            .get(&carla_page)
            .await
            .body
            .contains("&#x2f;disable\"")
    );
    assert_done(
        &admin
            .post(&format!("{carla_page}/end-sessions"), &[("csrf", &csrf)])
            .await,
        &carla_page,
        "sessions-ended",
    );
    assert_eq!(
        contact.get("/tickets").await.location.as_deref(),
        Some("/login")
    );
    assert_done(
        &admin
            .post(&format!("{carla_page}/disable"), &[("csrf", &csrf)])
            .await,
        &carla_page,
        "disabled",
    );
    let person = admin.get(&carla_page).await;
    assert!(person.body.contains("Disabled"), "{}", person.body);
    assert!(
        !person.body.contains("&#x2f;disable\""),
        "no second disable"
    );
    let tess = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people")
        .into_iter()
        .find(|p| p.email == "tess@acme.example")
        .expect("tess");
    assert_done(
        &admin
            .post(
                &format!("/admin/people/{}/reset-factor", tess.id),
                &[("csrf", &csrf)],
            )
            .await,
        &format!("/admin/people/{}", tess.id),
        "factor-reset",
    );
    assert_ne!(tech.get("/console").await.status, 200, "signed out");

    // Everything above is in the audit log, whose chain holds; the export is whole.
    let log = admin.get("/admin/audit?verify=1").await;
    assert_eq!(log.status, 200);
    for action in [
        "setting.changed",
        "setting.section_switched",
        "ticket_status.created",
        "api_token.created",
        "api_token.revoked",
        "user.disabled",
    ] {
        assert!(log.body.contains(action), "{action} missing from the log");
    }
    assert!(log.body.contains("is intact"), "{}", log.body);
    let export = admin.get_raw("/admin/audit/export").await;
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let lines = export.text().await.expect("text");
    assert!(lines.lines().count() > 10);
    assert!(
        lines
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn operators_create_suspend_resume_and_delete_tenants(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    let store = app.store();
    let first = registry::first_admin_setup_token(store)
        .await
        .expect("token")
        .expect("no admin yet");
    let (mut operator, _, _) =
        crate::operator::set_up(&app, &first, Some("root@msp.example")).await;
    let home = operator.get("/").await;
    assert!(home.body.contains("No tenant yet"), "{}", home.body);
    let csrf = home.field("csrf").expect("csrf");

    // A bad address is refused with the reason; nothing is created.
    let bad = operator
        .post(
            "/tenants",
            &[("slug", "Not A Slug"), ("name", "X"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        registry::list_tenants(store)
            .await
            .expect("tenants")
            .is_empty()
    );

    let created = operator
        .post(
            "/tenants",
            &[
                ("slug", "globex"),
                ("name", "Globex Support"),
                ("admin_email", "hank@globex.example"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_done(&created, "/tenants/globex", "created");
    let db = app.tenant("globex").await;
    let admins = people::list_users(&db, portico_tenants::policy::Scope::All)
        .await
        .expect("people");
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].role, Role::MspAdmin);
    assert_eq!(admins[0].status, "invited");
    let again = operator
        .post(
            "/tenants",
            &[("slug", "globex"), ("name", "Again"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 409);

    // Its page shows its usage.
    app.organization("globex", "Initech", "initech.example")
        .await;
    let page = operator.get("/tenants/globex").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Globex Support"));
    assert!(
        page.body.contains("Organizations</th><td>1</td>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Staff (administrators and technicians)</th><td>1</td>")
    );

    // Suspended, its portal is unavailable; resumed, it is back.
    assert_done(
        &operator
            .post("/tenants/globex/suspend", &[("csrf", &csrf)])
            .await,
        "/tenants/globex",
        "suspended",
    );
    assert_eq!(
        registry::get_tenant(store, "globex")
            .await
            .expect("tenant")
            .status,
        TenantStatus::Suspended
    );
    eventually(Duration::from_secs(5), "the portal answers 503", || async {
        (app.get(&TestApp::host("globex"), "/login").await.status() == 503).then_some(())
    })
    .await;
    assert_done(
        &operator
            .post("/tenants/globex/resume", &[("csrf", &csrf)])
            .await,
        "/tenants/globex",
        "resumed",
    );
    eventually(Duration::from_secs(5), "the portal is back", || async {
        (app.get(&TestApp::host("globex"), "/login").await.status() == 200).then_some(())
    })
    .await;

    // Deleting needs the slug typed; then the tenant is gone.
    let wrong = operator
        .post(
            "/tenants/globex/delete",
            &[("confirm", "globe"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(registry::get_tenant(store, "globex").await.is_ok());
    let deleted = operator
        .post(
            "/tenants/globex/delete",
            &[("confirm", "globex"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.body.contains("globex was deleted"));
    assert!(registry::get_tenant(store, "globex").await.is_err());
    // A tenant host's session cannot reach these screens.
    let mut stranger = operator.on_host("acme.localhost");
    assert_ne!(stranger.get("/tenants/globex").await.status, 200);

    // The operator's chain has every step.
    let chain = portico_tenants::audit::recent_platform(store, 50)
        .await
        .expect("chain");
    for action in [
        "tenant.created",
        "tenant.suspended",
        "tenant.resumed",
        "tenant.deleted",
    ] {
        assert!(chain.iter().any(|e| e.action == action), "{action}");
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn service_levels_mailboxes_and_domains_are_set_up_in_the_admin_pages(
    #[case] backend: Backend,
) {
    let Desk {
        _env,
        app: _app,
        db,
        org,
        mut admin,
        mut tech,
        contact: _contact,
    } = desk(backend).await;
    let page = admin.get("/admin/sla").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf").expect("csrf");
    // Technicians read the service levels but do not change them; e-mail channels and
    // domains are the administrator's.
    let read_only = tech.get("/admin/sla").await;
    assert_eq!(read_only.status, 200);
    assert!(!read_only.body.contains("id=\"calendar-new\""));
    assert_eq!(tech.get("/admin/mail").await.status, 404);
    assert_eq!(tech.get("/admin/domains").await.status, 404);

    // A calendar: Rome, weekdays 9 to 17 with a lunch break on Friday, Christmas off.
    let mut calendar = vec![
        ("key", "rome"),
        ("name", "Rome office"),
        ("time_zone", "Europe/Rome"),
        ("mon", "09:00-17:00"),
        ("tue", "09:00-17:00"),
        ("wed", "09:00-17:00"),
        ("thu", "09:00-17:00"),
        ("fri", "09:00-13:00, 14:00-17:00"),
        ("sat", ""),
        ("sun", ""),
        ("holidays", "2026-12-25\n2026-12-26"),
        ("csrf", &csrf),
    ];
    let mut broken = calendar.clone();
    broken[3] = ("mon", "nine to five");
    let refused = admin.post("/admin/sla/calendars", &broken).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("nine to five"), "{}", refused.body);
    assert!(
        ticket_sla::calendars(&db)
            .await
            .expect("calendars")
            .is_empty()
    );
    assert_done(
        &admin.post("/admin/sla/calendars", &calendar).await,
        "/admin/sla",
        "created",
    );
    let stored = ticket_sla::calendars(&db).await.expect("calendars");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].definition.time_zone, "Europe/Rome");
    assert_eq!(stored[0].definition.week.fri.len(), 2);
    assert!(stored[0].definition.week.sat.is_empty());
    assert_eq!(stored[0].definition.holidays.len(), 2);
    calendar[0] = ("key", "rome");
    assert_eq!(
        admin.post("/admin/sla/calendars", &calendar).await.status,
        409,
        "keys are unique"
    );

    // A policy on it, made the default; a target that is not a number is refused.
    let mut policy = vec![
        ("key", "gold"),
        ("name", "Gold"),
        ("calendar", "rome"),
        ("critical_first", "0.5"),
        ("critical_resolution", "4"),
        ("high_first", "1"),
        ("high_resolution", "8"),
        ("medium_first", ""),
        ("medium_resolution", "24"),
        ("low_first", ""),
        ("low_resolution", ""),
        ("warning_percent", "75"),
        ("default", "true"),
        ("csrf", &csrf),
    ];
    policy[4] = ("critical_resolution", "soon");
    assert_eq!(admin.post("/admin/sla/policies", &policy).await.status, 422);
    policy[4] = ("critical_resolution", "4");
    assert_done(
        &admin.post("/admin/sla/policies", &policy).await,
        "/admin/sla",
        "created",
    );
    let policies = ticket_sla::policies(&db).await.expect("policies");
    let gold = policies.iter().find(|p| p.key == "gold").expect("gold");
    assert_eq!(gold.calendar.as_deref(), Some("rome"));
    assert_eq!(gold.warning_percent, 75);
    assert_eq!(gold.targets["critical"].first_response_minutes, Some(30));
    assert_eq!(gold.targets["high"].resolution_minutes, Some(480));
    assert!(!gold.targets.contains_key("low"));
    assert_eq!(
        portico_tenants::accounts::tenant_setting(&db, ticket_sla::DEFAULT_POLICY_SETTING)
            .await
            .expect("setting"),
        Some(serde_json::json!("gold"))
    );
    let shown = admin.get("/admin/sla").await;
    assert!(shown.body.contains("Rome office") && shown.body.contains("Gold"));
    // The organization's page offers it.
    assert!(
        admin
            .get(&format!("/admin/organizations/{org}"))
            .await
            .body
            .contains("<option value=\"gold\"")
    );

    // E-mail: the platform address, a mailbox of one's own (its server refuses the
    // connection, which the page reports), paused, removed; the tenant's own SMTP.
    let mail = admin.get("/admin/mail").await;
    assert_eq!(mail.status, 200, "{}", mail.body);
    assert!(
        mail.body.contains("acme@inbound.localhost"),
        "{}",
        mail.body
    );
    assert_done(
        &admin
            .post(
                "/admin/mail/mailboxes",
                &[
                    ("address", "help@contoso.example"),
                    ("host", "127.0.0.1"),
                    ("port", "1"),
                    ("tls", "tls"),
                    ("username", "help"),
                    ("password", "Secret-Mailbox-1"),
                    ("folder", ""),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/mail",
        "created",
    );
    let mailboxes = portico_tenants::mail::list_mailboxes(&db)
        .await
        .expect("mailboxes");
    assert_eq!(mailboxes.len(), 1);
    assert_eq!(mailboxes[0].folder, "INBOX");
    assert_ne!(mailboxes[0].sealed_password, "Secret-Mailbox-1", "sealed");
    let mailbox = format!("/admin/mail/mailboxes/{}", mailboxes[0].id);
    assert!(
        !admin
            .get("/admin/mail")
            .await
            .body
            .contains("Secret-Mailbox-1")
    );
    assert_done(
        &admin
            .post(&format!("{mailbox}/disable"), &[("csrf", &csrf)])
            .await,
        "/admin/mail",
        "disabled",
    );
    assert!(
        !portico_tenants::mail::list_mailboxes(&db)
            .await
            .expect("mailboxes")[0]
            .enabled
    );
    assert_done(
        &admin
            .post(&format!("{mailbox}/remove"), &[("csrf", &csrf)])
            .await,
        "/admin/mail",
        "deleted",
    );
    assert!(
        portico_tenants::mail::list_mailboxes(&db)
            .await
            .expect("mailboxes")
            .is_empty()
    );
    let bad_smtp = admin
        .post(
            "/admin/mail/smtp",
            &[
                ("url", "ftp://mail.example.com"),
                ("from", "help@acme.example"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(bad_smtp.status, 422);
    assert_done(
        &admin
            .post(
                "/admin/mail/smtp",
                &[
                    ("url", "smtp://help:Secret-Smtp-1@127.0.0.1:2525"),
                    ("from", "help@acme.example"),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/mail",
        "settings",
    );
    let mail = admin.get("/admin/mail").await;
    assert!(mail.body.contains("127.0.0.1:2525") && !mail.body.contains("Secret-Smtp-1"));
    assert_done(
        &admin
            .post("/admin/mail/smtp-clear", &[("csrf", &csrf)])
            .await,
        "/admin/mail",
        "settings",
    );
    assert!(
        portico_tenants::mail::tenant_smtp(&db)
            .await
            .expect("smtp")
            .is_none()
    );

    // A custom domain: the records to create are shown; removed again.
    assert_done(
        &admin
            .post(
                "/admin/domains",
                &[("host", "help.contoso.example"), ("csrf", &csrf)],
            )
            .await,
        "/admin/domains",
        "created",
    );
    let domains = admin.get("/admin/domains").await;
    assert_eq!(domains.status, 200, "{}", domains.body);
    assert!(
        domains
            .body
            .contains("_portico-challenge.help.contoso.example")
    );
    assert!(domains.body.contains("Waiting for its records"));
    let invalid = admin
        .post("/admin/domains", &[("host", "not a host"), ("csrf", &csrf)])
        .await;
    assert_eq!(invalid.status, 422);
    assert_done(
        &admin
            .post(
                "/admin/domains/help.contoso.example/remove",
                &[("csrf", &csrf)],
            )
            .await,
        "/admin/domains",
        "deleted",
    );
    assert!(
        !admin
            .get("/admin/domains")
            .await
            .body
            .contains("_portico-challenge.help.contoso.example")
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn technicians_start_replies_with_canned_responses(#[case] backend: Backend) {
    let Desk {
        _env,
        app,
        db: _db,
        org: _org,
        mut admin,
        mut tech,
        mut contact,
    } = desk(backend).await;
    let form = contact.get("/tickets/new").await;
    let opened = contact
        .post_multipart(
            "/tickets/new",
            reqwest::multipart::Form::new()
                .text("csrf", form.field("csrf").expect("csrf"))
                .text("subject", "Printer jammed"),
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.body);
    let ticket = opened.location.clone().expect("the ticket's page");

    // Administrators write them; technicians only use them.
    let csrf = admin
        .get("/admin/responses")
        .await
        .field("csrf")
        .expect("csrf");
    let body = "Hello {requester}, about #{number} ({subject}): tray 2. {unknown} {me}";
    assert_done(
        &admin
            .post(
                "/admin/responses",
                &[("title", "Printer tray"), ("body", body), ("csrf", &csrf)],
            )
            .await,
        "/admin/responses",
        "created",
    );
    assert_eq!(
        admin
            .post(
                "/admin/responses",
                &[
                    ("title", "Printer tray"),
                    ("body", "again"),
                    ("csrf", &csrf)
                ],
            )
            .await
            .status,
        409
    );
    let list = tech.get("/admin/responses").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("Printer tray") && !list.body.contains("id=\"response-new\""));
    let tech_csrf = list.field("csrf").expect("csrf");
    assert_eq!(
        tech.post(
            "/admin/responses",
            &[("title", "Mine"), ("body", "x"), ("csrf", &tech_csrf)]
        )
        .await
        .status,
        404
    );
    let id = portico_tenants::canned::list(&app.tenant("acme").await)
        .await
        .expect("list")[0]
        .id;

    // On the ticket page the technician picks it; the reply starts with it filled in.
    let page = tech.get(&ticket).await;
    assert!(page.body.contains("Printer tray"), "{}", page.body);
    let number = ticket.trim_start_matches("/tickets/");
    let drafted = tech.get(&format!("{ticket}?canned={id}")).await;
    assert_eq!(drafted.status, 200);
    assert!(
        drafted.body.contains(&format!(
            "Hello carla@contoso.example, about #{number} (Printer jammed): tray 2. {{unknown}} tess@acme.example</textarea>"
        )),
        "{}",
        drafted.body
    );
    // Customers neither see them nor get a draft.
    let customer = contact.get(&format!("{ticket}?canned={id}")).await;
    assert_eq!(customer.status, 200);
    assert!(!customer.body.contains("Printer tray") && !customer.body.contains("tray 2"));

    // Changed and removed by the administrator.
    assert_done(
        &admin
            .post(
                &format!("/admin/responses/{id}"),
                &[
                    ("title", "Printer tray (v2)"),
                    ("body", "Try again, {requester}."),
                    ("csrf", &csrf),
                ],
            )
            .await,
        "/admin/responses",
        "saved",
    );
    assert!(
        tech.get(&format!("{ticket}?canned={id}"))
            .await
            .body
            .contains("Try again, carla@contoso.example.</textarea>")
    );
    assert_done(
        &admin
            .post(&format!("/admin/responses/{id}/delete"), &[("csrf", &csrf)])
            .await,
        "/admin/responses",
        "deleted",
    );
    assert!(!tech.get(&ticket).await.body.contains("Printer tray"));
    let log = admin.get("/admin/audit").await;
    for action in [
        "canned_response.created",
        "canned_response.changed",
        "canned_response.deleted",
    ] {
        assert!(log.body.contains(action), "{action}");
    }
}
