//! The portal and the console in a real browser, on both backends: Debian's Chromium
//! driven by Playwright (`tests/browser/scenario.mjs`, installed by
//! `tests/browser/setup.sh`). A contact registers from an invitation with TOTP,
//! opens a ticket with a pasted screenshot, sees it in the list with its count; a
//! technician takes and answers it from the console; the answer appears on the
//! contact's open page without a reload (SSE); a main contact sees the ticket and a
//! plain contact does not; the portal switches to Italian; an MSP administrator
//! goes through every administration page and the operator through the tenant
//! screens; a plugin's view (the suggestion box) is used from the portal and seen
//! in the console. axe-core checks every
//! page (no serious or critical WCAG 2.2 AA violation), the page's CSP must hold,
//! and each page is saved as a screenshot under `tests/browser/screenshots/<backend>/`.

use std::path::PathBuf;
use std::time::Duration;

use portico_tenants::Role;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tests::{Backend, TestEnv};
use rstest::rstest;

use crate::identity::register_as;

const PASSWORD: &str = "Quiet-Meadow-73";

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn people_work_a_ticket_in_chromium(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.master_key = Some(env.master_key().to_owned().into());
    let app = env.spawn_with(settings.clone(), Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    // A plugin's view in the portal and the console (the suggestion box).
    crate::plugins::install_example(
        &app,
        &settings,
        env.master_key(),
        "acme",
        "suggestions",
        &[portico_plugins::Capability::Kv],
    )
    .await;
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    let (boss, _, _) = register_as(
        &app,
        "acme",
        "maria@contoso.example",
        Role::MainContact,
        Some(org),
    )
    .await;
    let (colleague, _, _) = register_as(
        &app,
        "acme",
        "cole@contoso.example",
        Role::Contact,
        Some(org),
    )
    .await;
    let (tech, _, _) = register_as(&app, "acme", "tess@acme.example", Role::Technician, None).await;
    let (admin, _, _) = register_as(&app, "acme", "ada@acme.example", Role::MspAdmin, None).await;
    let first = portico_tenants::registry::first_admin_setup_token(app.store())
        .await
        .expect("token")
        .expect("no operator yet");
    let (operator, _, _) = crate::operator::set_up(&app, &first, Some("root@msp.example")).await;
    // The contact whose registration the browser goes through.
    let db = app.tenant("acme").await;
    let carla = people::create_user(
        &db,
        NewUser {
            email: EmailAddress::parse("carla@contoso.example").expect("email"),
            display_name: "Carla Rossi".to_owned(),
            role: Role::Contact,
            invite: false,
            organization_id: Some(org),
        },
    )
    .await
    .expect("user");
    let invitation = people::issue_invitation(&db, carla.id)
        .await
        .expect("invitation");

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let screenshots = root.join("screenshots").join(backend_name);
    let _ = std::fs::remove_dir_all(&screenshots);
    let config = serde_json::json!({
        "base": format!("http://acme.localhost:{}", app.addr.port()),
        "invitation": format!("/invite/{invitation}"),
        "password": PASSWORD,
        "sessions": {
            "tech": tech.cookies,
            "boss": boss.cookies,
            "colleague": colleague.cookies,
            "admin": admin.cookies,
        },
        "operator": {
            "base": format!("http://admin.localhost:{}", app.addr.port()),
            "cookies": operator.cookies,
        },
        "screenshots": screenshots,
    });
    let run = tokio::process::Command::new("node")
        .arg(root.join("scenario.mjs"))
        .env("PORTICO_BROWSER", config.to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("the browser scenario ends within 4 minutes")
        .expect("node runs (tests/browser/setup.sh installs Playwright and Chromium)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The figures (first paint, bytes per page) go to the test's output.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser scenario failed:\n{stderr}\n{stdout}"
    );
    assert!(stdout.contains("browser scenario passed"), "{stdout}");
    let saved = std::fs::read_dir(&screenshots)
        .expect("screenshots folder")
        .count();
    assert!(saved >= 20, "a screenshot of every page, found {saved}");
    app.stop().await;
}
