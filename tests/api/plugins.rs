//! Plugins against Portico itself, on both backends: the auto-triage example built
//! from source (plugins/build.sh, run by tests/run.sh), signed with a fresh
//! publisher key, published, installed for one tenant and seen acting on a ticket
//! created through the API — and not acting for a tenant that did not install it.
//! A hostile plugin's endless loop in the same tenant is contained while the host
//! keeps serving; a tampered bundle is refused; upgrade, rollback, per-organization
//! enablement and the audit trail.

use std::path::PathBuf;
use std::time::Duration;

use portico_core::plugins::{Plugins, PluginsError};
use portico_core::secrets::MasterKey;
use portico_plugins::package;
use portico_plugins::{Capability, Grant};
use portico_tenants::Role;
use portico_tests::{Backend, TestEnv, eventually};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

fn component(name: &str) -> (String, Vec<u8>) {
    let dir = std::env::var_os("PORTICO_PLUGIN_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
        .join(name);
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run plugins/build.sh (tests/run.sh does)",
            dir.display()
        )
    });
    (
        manifest,
        std::fs::read(dir.join("plugin.wasm")).expect("component"),
    )
}

fn grant(capabilities: &[Capability]) -> Grant {
    Grant {
        capabilities: capabilities.iter().copied().collect(),
        hosts: Default::default(),
    }
}

/// A running instance with tenants `acme` (and `beta`), the plugins service, and a
/// publisher key the platform trusts.
struct Platform {
    env: std::sync::Arc<TestEnv>,
    app: portico_tests::TestApp,
    plugins: Plugins,
    signing: package::SigningKey,
}

impl Platform {
    async fn new(backend: Backend, tenants: &[&str]) -> Platform {
        let env = TestEnv::new(backend).await;
        let mut settings = env.settings();
        settings.master_key = Some(env.master_key().to_owned().into());
        let app = env.spawn_with(settings.clone(), Default::default()).await;
        for slug in tenants {
            app.create_tenant(slug, &format!("{slug} IT")).await;
        }
        let key = MasterKey::from_base64(env.master_key(), "test").expect("key");
        let plugins = Plugins::new(&settings, app.store().clone(), &key).expect("plugins");
        let (secret, public) = package::generate_key();
        let signing = package::parse_secret_key(&secret).expect("secret");
        portico_tenants::plugins::trust_publisher(app.store(), "portico", &public, "test")
            .await
            .expect("trusted");
        Platform {
            env,
            app,
            plugins,
            signing,
        }
    }

    /// Signs and publishes an example component.
    async fn publish(&self, name: &str) {
        let (manifest, wasm) = component(name);
        let bundle = package::build(&manifest, &wasm, &self.signing).expect("bundle");
        self.plugins
            .publish(&bundle, "test")
            .await
            .expect("published");
    }
}

/// Publishes example `name` under a fresh publisher key and installs it for
/// tenant `slug` with `capabilities` granted (for tests of other surfaces, such
/// as the browser's).
pub(crate) async fn install_example(
    app: &portico_tests::TestApp,
    settings: &portico_core::settings::Settings,
    master_key: &str,
    slug: &str,
    name: &str,
    capabilities: &[Capability],
) {
    let key = MasterKey::from_base64(master_key, "test").expect("key");
    let plugins = Plugins::new(settings, app.store().clone(), &key).expect("plugins");
    let (secret, public) = package::generate_key();
    let signing = package::parse_secret_key(&secret).expect("secret");
    portico_tenants::plugins::trust_publisher(app.store(), "portico", &public, "test")
        .await
        .expect("trusted");
    let (manifest, wasm) = component(name);
    let bundle = package::build(&manifest, &wasm, &signing).expect("bundle");
    plugins.publish(&bundle, "test").await.expect("published");
    plugins
        .install(
            &app.tenant(slug).await,
            name,
            None,
            grant(capabilities),
            None,
            "test",
        )
        .await
        .expect("installed");
}

/// Waits until ticket `number` of acme has `priority` (a plugin's effect).
async fn priority_becomes(
    app: &portico_tests::TestApp,
    token: &str,
    number: i64,
    priority: &str,
    what: &str,
) {
    eventually(Duration::from_secs(20), what, || async move {
        let (_, ticket) = app
            .api(
                "acme.localhost",
                Method::GET,
                token,
                &format!("/api/v1/tickets/{number}"),
                None,
            )
            .await;
        (ticket["priority"] == priority).then_some(())
    })
    .await;
}

async fn audit_actions(db: &portico_tenants::TenantDb) -> Vec<String> {
    portico_tenants::audit::recent(db, 500)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| r.action)
        .collect()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_triage_acts_for_the_tenant_that_installed_it(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.master_key = Some(env.master_key().to_owned().into());
    let app = env.spawn_with(settings.clone(), Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    app.create_tenant("beta", "Beta IT").await;
    let acme_admin = app.token("acme", Role::MspAdmin).await;
    let beta_admin = app.token("beta", Role::MspAdmin).await;
    let key = MasterKey::from_base64(env.master_key(), "test").expect("key");
    let plugins = Plugins::new(&settings, app.store().clone(), &key).expect("plugins");

    // A publisher key, trusted by the platform; bundles signed with it.
    let (secret, public) = package::generate_key();
    let signing = package::parse_secret_key(&secret).expect("secret");
    portico_tenants::plugins::trust_publisher(app.store(), "portico", &public, "test")
        .await
        .expect("trusted");
    let (manifest, wasm) = component("auto-triage");
    let bundle = package::build(&manifest, &wasm, &signing).expect("bundle");
    // Tampered: refused before anything is stored.
    let mut tampered = bundle.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    assert!(matches!(
        plugins.publish(&tampered, "test").await,
        Err(PluginsError::Package(_))
    ));
    let (published, new) = plugins.publish(&bundle, "test").await.expect("published");
    assert!(new && published.version == "0.1.0" && published.world == "ticket-hooks");
    assert!(!plugins.publish(&bundle, "test").await.expect("again").1);

    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    // Capabilities it did not ask for cannot be granted.
    assert!(matches!(
        plugins
            .install(
                &acme,
                "auto-triage",
                None,
                grant(&[Capability::Http]),
                None,
                "test"
            )
            .await,
        Err(PluginsError::Invalid(_))
    ));
    // Nor a configuration its schema refuses.
    assert!(matches!(
        plugins
            .install(
                &acme,
                "auto-triage",
                None,
                grant(&[Capability::UpdateTickets]),
                Some(json!({"rules": "printers"})),
                "test"
            )
            .await,
        Err(PluginsError::Invalid(_))
    ));
    let install = plugins
        .install(
            &acme,
            "auto-triage",
            None,
            grant(&[Capability::UpdateTickets, Capability::Kv]),
            None,
            "test",
        )
        .await
        .expect("installed");
    assert_eq!(install.version, "0.1.0");

    let create = |token: String, subject: &'static str| {
        let app = &app;
        async move {
            let (status, ticket) = app
                .api(
                    "acme.localhost",
                    Method::POST,
                    &token,
                    "/api/v1/tickets",
                    Some(json!({"subject": subject, "description": "Since this morning.", "requester_email": "ada@example.com"})),
                )
                .await;
            assert_eq!(status, 201, "{ticket}");
            ticket["number"].as_i64().expect("number")
        }
    };
    let number = create(acme_admin.clone(), "I cannot log in").await;
    priority_becomes(&app, &acme_admin, number, "high", "auto-triage to act").await;
    // The note is the plugin's last effect.
    let text = eventually(Duration::from_secs(20), "the triage note", || {
        let app = &app;
        let token = acme_admin.clone();
        async move {
            let (status, messages) = app
                .api(
                    "acme.localhost",
                    Method::GET,
                    &token,
                    &format!("/api/v1/tickets/{number}/messages"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{messages}");
            let text = messages.to_string();
            text.contains("Auto-triage set priority high")
                .then_some(text)
        }
    })
    .await;
    assert!(text.contains("cannot log in"), "{text}");
    assert_eq!(
        portico_tenants::plugins::kv_get(&acme, "auto-triage", "triaged")
            .await
            .expect("kv"),
        Some(b"1".to_vec())
    );
    assert!(
        audit_actions(&acme)
            .await
            .iter()
            .any(|a| a == "plugin.effect_applied")
    );

    // Beta did not install it: the same ticket stays as created.
    let (status, beta_ticket) = app
        .api(
            "beta.localhost",
            Method::POST,
            &beta_admin,
            "/api/v1/tickets",
            Some(json!({"subject": "I cannot log in", "requester_email": "bob@beta.example"})),
        )
        .await;
    assert_eq!(status, 201, "{beta_ticket}");
    let beta_number = beta_ticket["number"].as_i64().expect("number");
    // Once beta's events are delivered (a later ticket in acme proves the worker
    // passed), beta's ticket is unchanged and its audit has no plugin entry.
    let later = create(acme_admin.clone(), "Outage: nobody can print").await;
    priority_becomes(
        &app,
        &acme_admin,
        later,
        "critical",
        "the second acme ticket triaged",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, beta_ticket) = app
        .api(
            "beta.localhost",
            Method::GET,
            &beta_admin,
            &format!("/api/v1/tickets/{beta_number}"),
            None,
        )
        .await;
    assert_eq!(beta_ticket["priority"], "medium", "{beta_ticket}");
    assert!(
        !audit_actions(&beta)
            .await
            .iter()
            .any(|a| a.starts_with("plugin."))
    );

    // A hostile plugin looping forever in the same tenant: contained, audited, and
    // the host keeps serving and the other plugin keeps acting.
    let (hostile_manifest, hostile_wasm) = component("hostile");
    let hostile = package::build(&hostile_manifest, &hostile_wasm, &signing).expect("bundle");
    plugins.publish(&hostile, "test").await.expect("published");
    plugins
        .install(
            &acme,
            "hostile",
            None,
            grant(&[Capability::UpdateTickets]),
            Some(json!({"mode": "loop"})),
            "test",
        )
        .await
        .expect("installed");
    let third = create(acme_admin.clone(), "Blocked: cannot work at all").await;
    priority_becomes(
        &app,
        &acme_admin,
        third,
        "high",
        "triage beside the looping plugin",
    )
    .await;
    let actions = eventually(
        Duration::from_secs(20),
        "the loop's failure audited",
        || {
            let acme = &acme;
            async move {
                let actions = audit_actions(acme).await;
                actions
                    .iter()
                    .any(|a| a == "plugin.failed")
                    .then_some(actions)
            }
        },
    )
    .await;
    let health = app.get("acme.localhost", "/readyz").await;
    assert!(health.status().is_success());

    // Upgrade to a new version (compiled and warmed before the switch), then roll back.
    let upgraded = manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    let bundle2 = package::build(&upgraded, &wasm, &signing).expect("bundle");
    plugins
        .publish(&bundle2, "test")
        .await
        .expect("published 0.2.0");
    let install = plugins
        .install(
            &acme,
            "auto-triage",
            None,
            grant(&[Capability::UpdateTickets, Capability::Kv]),
            None,
            "test",
        )
        .await
        .expect("upgraded");
    assert_eq!(
        (
            install.version.as_str(),
            install.previous_version.as_deref()
        ),
        ("0.2.0", Some("0.1.0"))
    );
    let install = plugins
        .rollback(&acme, "auto-triage", "test")
        .await
        .expect("rolled back");
    assert_eq!(
        (
            install.version.as_str(),
            install.previous_version.as_deref()
        ),
        ("0.1.0", Some("0.2.0"))
    );

    // Enabled only for one organization: a ticket without it is left alone.
    let org = app.organization("acme", "Contoso", "contoso.example").await;
    portico_tenants::plugins::set_enabled(
        &acme,
        "auto-triage",
        true,
        Some(Some(vec![org])),
        "test",
    )
    .await
    .expect("per organization");
    portico_tenants::plugins::uninstall(&acme, "hostile", "test")
        .await
        .expect("uninstalled");
    let outside = create(acme_admin.clone(), "Locked out of my account").await;
    let inside = {
        let (status, ticket) = app
            .api(
                "acme.localhost",
                Method::POST,
                &acme_admin,
                "/api/v1/tickets",
                Some(json!({"subject": "Locked out of my account", "requester_email": "eve@contoso.example"})),
            )
            .await;
        assert_eq!(status, 201, "{ticket}");
        ticket["number"].as_i64().expect("number")
    };
    priority_becomes(
        &app,
        &acme_admin,
        inside,
        "high",
        "triage inside the organization",
    )
    .await;
    let (_, t) = app
        .api(
            "acme.localhost",
            Method::GET,
            &acme_admin,
            &format!("/api/v1/tickets/{outside}"),
            None,
        )
        .await;
    assert_eq!(t["priority"], "medium", "{t}");
    let actions: Vec<Value> = actions.into_iter().map(Value::String).collect();
    assert!(actions.contains(&json!("plugin.installed")));
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_plugin_answers_under_its_path_for_its_tenant_only(#[case] backend: Backend) {
    let platform = Platform::new(backend, &["acme", "beta"]).await;
    platform.publish("status-page").await;
    let (app, plugins) = (&platform.app, &platform.plugins);
    let acme = app.tenant("acme").await;
    plugins
        .install(
            &acme,
            "status-page",
            None,
            grant(&[]),
            Some(json!({"message": "Maintenance tonight"})),
            "test",
        )
        .await
        .expect("installed");

    let response = app
        .get("acme.localhost", "/plugins/status-page/status")
        .await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.starts_with("sandbox"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["message"], "Maintenance tonight");

    // The caller's credentials are kept back from the plugin.
    let response = app
        .request(
            Method::POST,
            "acme.localhost",
            "/plugins/status-page/echo?a=1",
        )
        .header("Cookie", "portico_session=secret")
        .header("Authorization", "Bearer pt_secret")
        .header("X-Custom", "kept")
        .body("hello")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let echo: Value = response.json().await.expect("json");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["query"], "a=1");
    assert_eq!(echo["body_length"], 5);
    let names = echo["headers"].to_string();
    assert!(names.contains("x-custom"), "{names}");
    assert!(
        !names.contains("cookie") && !names.contains("authorization"),
        "{names}"
    );

    // HTML (script on the tenant's origin) is never served.
    let response = app.get("acme.localhost", "/plugins/status-page/html").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "plugin_answer_refused");

    // The same through the admin API: the catalogue shows what each version asks
    // for and its configuration schema; disable, enable, uninstall.
    let admin = app.token("acme", Role::MspAdmin).await;
    let (status, overview) = app
        .api(
            "acme.localhost",
            Method::GET,
            &admin,
            "/api/v1/plugins",
            None,
        )
        .await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["catalogue"][0]["plugin_id"], "status-page");
    assert_eq!(overview["catalogue"][0]["world"], "http");
    assert_eq!(
        overview["catalogue"][0]["config_schema"]["properties"]["message"]["type"],
        "string"
    );
    assert_eq!(
        overview["installed"][0]["config"]["message"],
        "Maintenance tonight"
    );
    let (status, answer) = app
        .api(
            "acme.localhost",
            Method::PUT,
            &admin,
            "/api/v1/plugins/status-page",
            Some(json!({"grant": {"capabilities": ["kv"]}})),
        )
        .await;
    assert_eq!(status, 422, "a capability it does not ask for: {answer}");
    let (status, answer) = app
        .api(
            "acme.localhost",
            Method::PATCH,
            &admin,
            "/api/v1/plugins/status-page",
            Some(json!({"config": {"message": "All good"}})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let body: Value = app
        .get("acme.localhost", "/plugins/status-page/status")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["message"], "All good");
    let technician = app.token("acme", Role::Technician).await;
    let (status, _) = app
        .api(
            "acme.localhost",
            Method::PATCH,
            &technician,
            "/api/v1/plugins/status-page",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 403);

    // Another tenant, or a disabled install: nothing there.
    let response = app
        .get("beta.localhost", "/plugins/status-page/status")
        .await;
    assert_eq!(response.status(), 404);
    portico_tenants::plugins::set_enabled(&acme, "status-page", false, None, "test")
        .await
        .expect("disabled");
    let response = app
        .get("acme.localhost", "/plugins/status-page/status")
        .await;
    assert_eq!(response.status(), 404);
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_plugin_runs_as_a_job_and_schedules_its_next_run(#[case] backend: Backend) {
    let platform = Platform::new(backend, &["acme"]).await;
    platform.publish("reminder").await;
    let (env, app, plugins) = (&platform.env, &platform.app, &platform.plugins);
    let acme = app.tenant("acme").await;
    // on-install refuses a configuration without an address.
    assert!(matches!(
        plugins
            .install(
                &acme,
                "reminder",
                None,
                grant(&[Capability::SendEmail, Capability::Kv]),
                Some(json!({"to": "nobody", "text": "x"})),
                "test"
            )
            .await,
        Err(PluginsError::Plugin(_))
    ));
    plugins
        .install(
            &acme,
            "reminder",
            None,
            grant(&[Capability::SendEmail, Capability::Kv]),
            Some(json!({"to": "ops@acme.example", "text": "Check the backup report"})),
            "test",
        )
        .await
        .expect("installed");
    // The next run waits for the next full hour.
    let jobs = portico_tenants::jobs::list_tenant_jobs(&acme)
        .await
        .expect("jobs");
    let scheduled: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "plugin.scheduled")
        .collect();
    assert_eq!(scheduled.len(), 1, "{jobs:?}");
    assert_eq!(scheduled[0].run_at % 3_600_000, 0);
    assert!(scheduled[0].run_at > portico_tenants::clock::now_ms());

    // A run due now: the worker runs it, the e-mail goes out, the count is kept.
    portico_tenants::plugins::schedule(&acme, "reminder", portico_tenants::clock::now_ms())
        .await
        .expect("scheduled");
    let mail = eventually(Duration::from_secs(20), "the reminder e-mail", || async {
        let dir = env.data_dir().join("mail");
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let text = std::fs::read_to_string(entry.path()).ok()?;
            if text.contains("Reminder #1") {
                return Some(text);
            }
        }
        None
    })
    .await;
    assert!(
        mail.contains("ops@acme.example") && mail.contains("Check the backup report"),
        "{mail}"
    );
    assert!(mail.contains("Auto-Submitted: auto-generated"), "{mail}");
    assert_eq!(
        portico_tenants::plugins::kv_get(&acme, "reminder", "runs")
            .await
            .expect("kv"),
        Some(b"1".to_vec())
    );
    eventually(
        Duration::from_secs(10),
        "the applied effect audited",
        || {
            let acme = &acme;
            async move {
                audit_actions(acme)
                    .await
                    .iter()
                    .any(|a| a == "plugin.effect_applied")
                    .then_some(())
            }
        },
    )
    .await;
    // Still exactly one pending future run (the slot deduplicates).
    let jobs = portico_tenants::jobs::list_tenant_jobs(&acme)
        .await
        .expect("jobs");
    let pending = jobs
        .iter()
        .filter(|j| j.kind == "plugin.scheduled" && j.run_at > portico_tenants::clock::now_ms())
        .count();
    assert_eq!(pending, 1, "{jobs:?}");
}

/// A fail-closed plugin that fails holds its event: the outbox retries it until
/// the plugin succeeds, and the plugins that already handled it do not run again.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_closed_plugin_holds_its_event_without_rerunning_the_others(
    #[case] backend: Backend,
) {
    let platform = Platform::new(backend, &["acme"]).await;
    let (app, plugins) = (&platform.app, &platform.plugins);
    platform.publish("auto-triage").await;
    let (manifest, wasm) = component("hostile");
    let strict = manifest
        .replace("id = \"hostile\"", "id = \"strict\"")
        .replace("on_failure = \"open\"", "on_failure = \"closed\"");
    let bundle = package::build(&strict, &wasm, &platform.signing).expect("bundle");
    plugins.publish(&bundle, "test").await.expect("published");
    let acme = app.tenant("acme").await;
    for (id, config) in [
        ("auto-triage", json!({})),
        ("strict", json!({"mode": "panic"})),
    ] {
        plugins
            .install(
                &acme,
                id,
                None,
                grant(&[Capability::UpdateTickets, Capability::Kv]),
                Some(config),
                "test",
            )
            .await
            .expect("installed");
    }
    let admin = app.token("acme", Role::MspAdmin).await;
    let (status, ticket) = app
        .api(
            "acme.localhost",
            Method::POST,
            &admin,
            "/api/v1/tickets",
            Some(json!({"subject": "I cannot log in", "requester_email": "ada@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let number = ticket["number"].as_i64().expect("number");
    // Two failed deliveries: the event was retried.
    eventually(Duration::from_secs(20), "two failed deliveries", || {
        let acme = &acme;
        async move {
            let failures = audit_actions(acme)
                .await
                .iter()
                .filter(|a| *a == "plugin.failed")
                .count();
            (failures >= 2).then_some(())
        }
    })
    .await;
    // The plugin is fixed: the held event reaches it.
    plugins
        .configure(&acme, "strict", json!({"mode": "fine"}), "test")
        .await
        .expect("configured");
    let messages = eventually(Duration::from_secs(30), "the held event handled", || {
        let app = &app;
        let token = admin.clone();
        async move {
            let (_, messages) = app
                .api(
                    "acme.localhost",
                    Method::GET,
                    &token,
                    &format!("/api/v1/tickets/{number}/messages"),
                    None,
                )
                .await;
            messages
                .to_string()
                .contains("hostile plugin behaved")
                .then_some(messages)
        }
    })
    .await;
    let text = messages.to_string();
    assert_eq!(
        text.matches("Auto-triage set priority high").count(),
        1,
        "auto-triage ran once however often the event was retried: {text}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn administrators_choose_each_organizations_modules_in_the_admin_pages(
    #[case] backend: Backend,
) {
    let platform = Platform::new(backend, &["acme"]).await;
    platform.publish("status-page").await;
    let (app, plugins) = (&platform.app, &platform.plugins);
    let acme = app.tenant("acme").await;
    plugins
        .install(&acme, "status-page", None, grant(&[]), None, "test")
        .await
        .expect("installed");
    let contoso = app.organization("acme", "Contoso", "contoso.example").await;
    let fabrikam = app
        .organization("acme", "Fabrikam", "fabrikam.example")
        .await;
    let (mut admin, _, _) =
        crate::identity::register_as(app, "acme", "ada@acme.example", Role::MspAdmin, None).await;
    let page_path = format!("/admin/organizations/{contoso}");
    let page = admin.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("value=\"status-page\" checked"),
        "enabled for every organization: {}",
        page.body
    );
    let csrf = page.field("csrf").expect("csrf");

    // Unticked for Contoso: the module now runs for Fabrikam only.
    let saved = admin
        .post(&format!("{page_path}/modules"), &[("csrf", &csrf)])
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let install = portico_tenants::plugins::install_of_plugin(&acme, "status-page")
        .await
        .expect("install");
    assert!(install.enabled);
    assert_eq!(install.organizations, Some(vec![fabrikam]));
    assert!(
        !admin
            .get(&page_path)
            .await
            .body
            .contains("value=\"status-page\" checked")
    );
    // Ticked again: both.
    admin
        .post(
            &format!("{page_path}/modules"),
            &[("module", "status-page"), ("csrf", &csrf)],
        )
        .await;
    let mut organizations = portico_tenants::plugins::install_of_plugin(&acme, "status-page")
        .await
        .expect("install")
        .organizations
        .expect("a list");
    organizations.sort();
    assert_eq!(
        organizations,
        vec![contoso.min(fabrikam), contoso.max(fabrikam)]
    );
    let _ = &platform.env;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn administrators_install_configure_and_remove_plugins_in_the_admin_pages(
    #[case] backend: Backend,
) {
    let platform = Platform::new(backend, &["acme"]).await;
    platform.publish("status-page").await;
    let app = &platform.app;
    let acme = app.tenant("acme").await;
    let (mut admin, _, _) =
        crate::identity::register_as(app, "acme", "ada@acme.example", Role::MspAdmin, None).await;
    let (mut tech, _, _) =
        crate::identity::register_as(app, "acme", "tess@acme.example", Role::Technician, None)
            .await;
    assert_eq!(tech.get("/admin/plugins").await.status, 404);
    let page = admin.get("/admin/plugins").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"install-status-page\""),
        "{}",
        page.body
    );
    let csrf = page.field("csrf").expect("csrf");
    let version = page.field("version").expect("the catalogue's version");

    // Installed with a configuration; a configuration that is not JSON is refused.
    let refused = admin
        .post(
            "/admin/plugins/status-page/install",
            &[
                ("version", &version),
                ("config", "{not json"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // The configuration form is generated from the plugin's schema.
    assert!(page.body.contains("name=\"cfg.message\""), "{}", page.body);
    let installed = admin
        .post(
            "/admin/plugins/status-page/install",
            &[
                ("version", &version),
                ("cfg_form", "1"),
                ("cfg.message", "All systems go"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(installed.status, 303, "{}", installed.body);
    let status = || async {
        let response = app
            .get("acme.localhost", "/plugins/status-page/status")
            .await;
        let code = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (code, body["message"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(status().await, (200, "All systems go".to_owned()));
    let page = admin.get("/admin/plugins").await;
    assert!(
        page.body.contains("All systems go") && !page.body.contains("id=\"install-status-page\"")
    );

    // Configured, stopped, started, uninstalled.
    let configured = admin
        .post(
            "/admin/plugins/status-page/configure",
            &[
                ("config", r#"{"message": "Maintenance tonight"}"#),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(configured.status, 303, "{}", configured.body);
    assert_eq!(status().await, (200, "Maintenance tonight".to_owned()));
    admin
        .post("/admin/plugins/status-page/disable", &[("csrf", &csrf)])
        .await;
    assert!(
        !portico_tenants::plugins::install_of_plugin(&acme, "status-page")
            .await
            .expect("install")
            .enabled
    );
    assert_ne!(status().await.0, 200, "a stopped plugin does not answer");
    admin
        .post("/admin/plugins/status-page/enable", &[("csrf", &csrf)])
        .await;
    assert_eq!(status().await, (200, "Maintenance tonight".to_owned()));
    let removed = admin
        .post("/admin/plugins/status-page/uninstall", &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(
        portico_tenants::plugins::install_of_plugin(&acme, "status-page")
            .await
            .is_err()
    );
    let log: Vec<String> = portico_tenants::audit::recent(&acme, 50)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(log.iter().any(|a| a.starts_with("plugin.")), "{log:?}");
    let _ = &platform.env;
}

/// A `ui` plugin's view, drawn by the host in the portal and the console: its
/// Markdown sanitized, what people type shown as text, its form posted back with
/// the CSRF token; seen by staff and by the organizations it runs for, not by
/// another organization's contact nor in a tenant that did not install it.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ui_plugins_view_is_drawn_by_the_host_for_whom_it_runs(#[case] backend: Backend) {
    let platform = Platform::new(backend, &["acme", "beta"]).await;
    platform.publish("suggestions").await;
    let (app, plugins) = (&platform.app, &platform.plugins);
    let acme = app.tenant("acme").await;
    let contoso = app.organization("acme", "Contoso", "contoso.example").await;
    let fabrikam = app
        .organization("acme", "Fabrikam", "fabrikam.example")
        .await;
    plugins
        .install(
            &acme,
            "suggestions",
            None,
            grant(&[Capability::Kv]),
            Some(json!({ "intro": "**Tell us** what to improve. <script>alert(1)</script>" })),
            "test",
        )
        .await
        .expect("installed");
    portico_tenants::plugins::set_enabled(
        &acme,
        "suggestions",
        true,
        Some(Some(vec![contoso])),
        "test",
    )
    .await
    .expect("for Contoso only");

    let (mut carla, _, _) = crate::identity::register_as(
        app,
        "acme",
        "carla@contoso.example",
        Role::Contact,
        Some(contoso),
    )
    .await;
    let home = carla.get("/tickets").await;
    assert!(
        home.body.contains("href=\"&#x2f;apps\""),
        "the nav links the apps: {}",
        home.body
    );
    let index = carla.get("/apps").await;
    assert_eq!(index.status, 200, "{}", index.body);
    assert!(index.body.contains("Suggestion box"), "{}", index.body);
    let board = carla.get("/apps/suggestions/board").await;
    assert_eq!(board.status, 200, "{}", board.body);
    assert!(
        board.body.contains("<strong>Tell us</strong>"),
        "Markdown drawn: {}",
        board.body
    );
    assert!(
        !board.body.contains("<script>alert"),
        "and sanitized: {}",
        board.body
    );
    assert!(board.body.contains("No suggestions yet."), "{}", board.body);
    let csrf = board.field("csrf").expect("csrf");
    assert_eq!(board.field("_action").as_deref(), Some("add"));

    // Submitted: the plugin keeps it and answers a new view; markup stays text.
    let sent = carla
        .post(
            "/apps/suggestions/board",
            &[
                ("csrf", &csrf),
                ("_action", "add"),
                ("title", "<b>Faster</b> printers"),
                ("text", "Please"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains("Thank you: your suggestion was added."),
        "{}",
        sent.body
    );
    assert!(
        sent.body
            .contains("&lt;b&gt;Faster&lt;&#x2f;b&gt; printers"),
        "{}",
        sent.body
    );
    assert!(!sent.body.contains("<b>Faster</b>"), "{}", sent.body);
    assert!(sent.body.contains("carla@contoso.example"), "{}", sent.body);
    // Without the CSRF token nothing reaches the plugin.
    let forged = carla
        .post(
            "/apps/suggestions/board",
            &[("_action", "add"), ("title", "Forged")],
        )
        .await;
    assert_ne!(forged.status, 200, "{}", forged.body);
    // A view the manifest does not list, or a plugin not installed: not found.
    assert_eq!(carla.get("/apps/suggestions/secret").await.status, 404);
    assert_eq!(carla.get("/apps/status-page/board").await.status, 404);

    // Staff see it in the console, with what Carla sent, in their language.
    let (mut tech, _, _) =
        crate::identity::register_as(app, "acme", "tom@acme.example", Role::Technician, None).await;
    let seen = tech.get("/apps/suggestions/board").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(seen.body.contains("carla@contoso.example"), "{}", seen.body);
    let it = app.tenant("acme").await;
    let mut tx = it.begin().await.expect("tx");
    sqlx::query("UPDATE users SET locale = 'it' WHERE email = 'tom@acme.example'")
        .execute(tx.conn())
        .await
        .expect("italian");
    tx.commit().await.expect("commit");
    let italian = tech.get("/apps/suggestions/board").await;
    assert!(
        italian.body.contains("Cassetta dei suggerimenti"),
        "{}",
        italian.body
    );

    // Fabrikam's contact: no link, no view.
    let (mut fred, _, _) = crate::identity::register_as(
        app,
        "acme",
        "fred@fabrikam.example",
        Role::Contact,
        Some(fabrikam),
    )
    .await;
    assert!(
        !fred
            .get("/tickets")
            .await
            .body
            .contains("href=\"&#x2f;apps\"")
    );
    assert_eq!(fred.get("/apps/suggestions/board").await.status, 404);
    // Another tenant never installed it.
    let (mut other, _, _) =
        crate::identity::register_as(app, "beta", "olga@beta.example", Role::MspAdmin, None).await;
    assert_eq!(other.get("/apps/suggestions/board").await.status, 404);
    assert!(
        other
            .get("/apps")
            .await
            .body
            .contains("No apps are available to you yet.")
    );
    let _ = &platform.env;
}
