//! The `portico` command line, run as a real process on both backends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use rstest::rstest;

const BINARY: &str = env!("CARGO_BIN_EXE_portico");

/// A place to run commands: a data directory and, for PostgreSQL, a fresh database.
struct Place {
    data: tempfile::TempDir,
    database: Option<String>,
    master_key: String,
}

fn admin_url() -> String {
    std::env::var("PORTICO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn psql(statement: &str) {
    // The CLI is what is under test; psql merely makes and drops the database.
    let status = Command::new("psql")
        .arg(admin_url())
        .args(["-q", "-c", statement])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(status.success(), "{statement}");
}

impl Place {
    fn new(postgres: bool) -> Place {
        let database = postgres.then(|| {
            let name = format!("portico_cli_{}", uuid::Uuid::new_v4().simple());
            psql(&format!("CREATE DATABASE {name}"));
            name
        });
        Place {
            data: tempfile::tempdir().expect("temp dir"),
            database,
            master_key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        command
            .env("PORTICO_DATA_DIR", self.data.path())
            .env("PORTICO_LOG", "warn");
        if let Some(name) = &self.database {
            let base = admin_url();
            let base = base
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(base);
            command
                .env("DATABASE_URL", format!("{base}/{name}"))
                .env("PORTICO_MASTER_KEY", &self.master_key);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("portico runs")
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(name) = &self.database {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[rstest]
#[case::sqlite(false)]
#[case::postgres(true)]
fn tenant_commands_give_clear_errors_and_exit_codes(#[case] postgres: bool) {
    let place = Place::new(postgres);
    let created = place.run(&["tenant", "create", "--slug", "acme", "--name", "Acme IT"]);
    assert_eq!(code(&created), 0, "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("http://acme.localhost:8080"));

    let duplicate = place.run(&["tenant", "create", "--slug", "acme", "--name", "Again"]);
    assert_eq!(code(&duplicate), 4);
    assert!(text(&duplicate.stderr).contains("already exists"));

    let invalid = place.run(&["tenant", "create", "--slug", "Not_Valid", "--name", "x"]);
    assert_eq!(code(&invalid), 2);
    assert!(text(&invalid.stderr).contains("invalid slug"));

    let unknown = place.run(&["tenant", "suspend", "nobody"]);
    assert_eq!(code(&unknown), 3);
    assert!(text(&unknown.stderr).contains("tenant not found"));

    assert_eq!(code(&place.run(&["tenant", "suspend", "acme"])), 0);
    let listed = place.run(&["tenant", "list", "--json"]);
    let tenants: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(tenants[0]["slug"], "acme");
    assert_eq!(tenants[0]["status"], "suspended");
    assert_eq!(code(&place.run(&["tenant", "resume", "acme"])), 0);
    assert!(text(&place.run(&["tenant", "list"]).stdout).contains("active"));

    let token = place.run(&[
        "api-token",
        "create",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--role",
        "technician",
    ]);
    assert_eq!(code(&token), 0, "{}", text(&token.stderr));
    let secret = text(&token.stdout);
    assert!(
        secret.trim().starts_with("pt_") && secret.trim().len() == 67,
        "{secret}"
    );
    let listed = place.run(&["api-token", "list", "--tenant", "acme", "--json"]);
    let tokens: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(tokens[0]["name"], "ci");
    assert!(tokens[0]["last_used_at"].is_null());
    assert!(
        !text(&listed.stdout).contains(secret.trim()),
        "secrets are never listed"
    );
    assert_eq!(
        code(&place.run(&["api-token", "revoke", "--tenant", "acme", "--name", "ci"])),
        0
    );
    assert_eq!(
        code(&place.run(&["api-token", "revoke", "--tenant", "acme", "--name", "ci"])),
        3
    );
    let listed = place.run(&["api-token", "list", "--tenant", "acme"]);
    assert!(text(&listed.stdout).contains("revoked"));
    let bad_role = place.run(&[
        "api-token",
        "create",
        "--tenant",
        "acme",
        "--name",
        "x",
        "--role",
        "root",
    ]);
    assert_eq!(code(&bad_role), 2);
    let same_name = place.run(&[
        "api-token",
        "create",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--role",
        "technician",
    ]);
    assert_eq!(code(&same_name), 4);

    let user = place.run(&[
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "Boss@Acme.example",
        "--role",
        "msp_admin",
    ]);
    assert_eq!(code(&user), 0, "{}", text(&user.stderr));
    assert!(text(&user.stdout).contains("http://acme.localhost:8080/invite/"));
    let admin = place.run(&["admin", "create", "--email", "ops@example.com"]);
    assert_eq!(code(&admin), 0);
    assert!(text(&admin.stdout).contains("http://admin.localhost:8080/setup/"));
    assert_eq!(
        code(&place.run(&["admin", "create", "--email", "ops@example.com"])),
        4
    );
    assert_eq!(code(&place.run(&["admin", "create", "--email", "nope"])), 2);

    let unconfirmed = place.run(&["tenant", "delete", "acme"]);
    assert_eq!(code(&unconfirmed), 2);
    assert!(text(&unconfirmed.stderr).contains("--yes"));
    assert_eq!(code(&place.run(&["tenant", "delete", "acme", "--yes"])), 0);
    assert_eq!(code(&place.run(&["tenant", "delete", "acme", "--yes"])), 3);
    let empty: serde_json::Value =
        serde_json::from_slice(&place.run(&["tenant", "list", "--json"]).stdout).expect("json");
    assert_eq!(empty, serde_json::json!([]));

    // Every operator command above is in the platform's chain, which verifies.
    let verified = place.run(&["audit", "verify", "--platform"]);
    assert_eq!(code(&verified), 0, "{}", text(&verified.stderr));
    assert!(
        text(&verified.stdout).contains("intact"),
        "{}",
        text(&verified.stdout)
    );
    assert_eq!(
        code(&place.run(&["audit", "verify", "--tenant", "nobody"])),
        3
    );

    let migrated = place.run(&["migrate"]);
    assert_eq!(code(&migrated), 0, "{}", text(&migrated.stderr));
    assert!(text(&migrated.stdout).contains("platform schema at version"));
}

#[test]
fn bad_settings_are_refused_naming_the_setting() {
    let place = Place::new(false);
    let output = place
        .command(&["tenant", "list"])
        .env("PORTICO_BASE_DOMAIN", "not a domain")
        .output()
        .expect("runs");
    assert_eq!(code(&output), 2);
    assert!(
        text(&output.stderr).contains("PORTICO_BASE_DOMAIN"),
        "{}",
        text(&output.stderr)
    );
    let output = place
        .command(&["tenant", "list"])
        .env("DATABASE_URL", "mysql://x")
        .output()
        .expect("runs");
    assert_eq!(code(&output), 2);
    assert!(text(&output.stderr).contains("DATABASE_URL"));
    let config = place.data.path().join("missing.toml");
    let output = place
        .command(&[
            "--config",
            config.to_str().expect("utf-8"),
            "tenant",
            "list",
        ])
        .output()
        .expect("runs");
    assert_eq!(code(&output), 2);
    assert!(text(&output.stderr).contains("missing.toml"));
}

fn wait_for_line(reader: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line).expect("read stdout");
        assert!(read > 0, "portico exited before printing {prefix}");
        if line.trim_start().starts_with(prefix) {
            return line.trim().to_owned();
        }
    }
}

#[rstest]
#[case::sqlite(false)]
#[case::postgres(true)]
fn serve_creates_the_demo_tenant_prints_links_and_stops_on_sigterm(#[case] postgres: bool) {
    let place = Place::new(postgres);
    let log_path = place.data.path().join("serve.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = place
        .command(&["serve"])
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .env("PORTICO_LOG_FORMAT", "json")
        .env("PORTICO_LOG", "warn,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("serve starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let demo = wait_for_line(&mut stdout, "Demo tenant:");
    let url = demo.trim_start_matches("Demo tenant:").trim().to_owned();
    assert!(url.starts_with("http://demo.localhost:"), "{url}");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    wait_for_line(&mut stdout, "Set up the first platform admin");
    let operator_link = wait_for_line(&mut stdout, "http://admin.localhost:");
    assert!(operator_link.contains("/setup/"));
    wait_for_line(&mut stdout, "Set up the demo tenant's first MSP admin");
    let demo_link = wait_for_line(&mut stdout, "http://demo.localhost:");
    assert!(demo_link.contains("/invite/"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .header("Host", format!("demo.localhost:{port}"))
            .send()
            .await
            .expect("served")
            .status()
    });
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let exit = child.wait().expect("exits");
    assert_eq!(exit.code(), Some(0), "graceful exit on SIGTERM");

    // JSON logs: the request's events carry its span with request id and tenant slug.
    let logs = std::fs::read_to_string(&log_path).expect("logs");
    let request_line = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|entry| entry["span"]["tenant"] == "demo")
        .unwrap_or_else(|| panic!("no JSON log line with the tenant: {logs}"));
    assert_eq!(
        request_line["span"]["request_id"].as_str().map(str::len),
        Some(36),
        "{request_line}"
    );
    assert_eq!(request_line["span"]["name"], "request");
    if !postgres {
        assert!(Path::new(&place.data.path().join("platform.db")).exists());
        assert!(place.data.path().join("master.key").exists());
    }

    // The demo tenant was created once, and survives the restart of the process.
    let second = place.run(&["tenant", "list", "--json"]);
    let tenants: serde_json::Value = serde_json::from_slice(&second.stdout).expect("json");
    assert_eq!(tenants.as_array().map(Vec::len), Some(1));
}

/// `portico plugin …` from a built component to an installed, configured,
/// disabled and uninstalled plugin, with exit codes for bad input.
#[rstest]
#[case::sqlite(false)]
#[case::postgres(true)]
fn plugin_commands_take_a_component_from_source_to_installed(#[case] postgres: bool) {
    let component = std::env::var_os("PORTICO_PLUGIN_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
        .join("auto-triage");
    assert!(
        component.join("plugin.wasm").exists(),
        "{} is missing: run plugins/build.sh (tests/run.sh does)",
        component.display()
    );
    let place = Place::new(postgres);
    let ok = |args: &[&str]| {
        let out = place.run(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&["tenant", "create", "--slug", "acme", "--name", "Acme IT"]);
    let key = place.data.path().join("publisher.key");
    let public = ok(&["plugin", "keygen", "--out", key.to_str().expect("path")]);
    assert!(public.trim().starts_with("ed25519:"), "{public}");
    // Never overwrites a key.
    assert_eq!(
        code(&place.run(&["plugin", "keygen", "--out", key.to_str().expect("path")])),
        2
    );
    let bundle = place.data.path().join("auto-triage.portico");
    ok(&[
        "plugin",
        "pack",
        component.to_str().expect("path"),
        "--key",
        key.to_str().expect("path"),
        "--out",
        bundle.to_str().expect("path"),
    ]);
    // Not trusted yet.
    let refused = place.run(&["plugin", "publish", bundle.to_str().expect("path")]);
    assert_eq!(code(&refused), 2);
    assert!(
        text(&refused.stderr).contains("not trusted"),
        "{}",
        text(&refused.stderr)
    );
    ok(&[
        "plugin",
        "trust",
        "--publisher",
        "portico",
        "--key",
        public.trim(),
    ]);
    assert!(
        ok(&["plugin", "publish", bundle.to_str().expect("path")]).contains("auto-triage@0.1.0")
    );
    let catalogue: serde_json::Value =
        serde_json::from_str(&ok(&["plugin", "list", "--json"])).expect("json");
    assert_eq!(catalogue[0]["plugin_id"], "auto-triage");

    let unknown = place.run(&[
        "plugin",
        "install",
        "--tenant",
        "acme",
        "auto-triage",
        "--grant",
        "root",
    ]);
    assert_eq!(code(&unknown), 2);
    assert!(text(&unknown.stderr).contains("unknown capability"));
    ok(&[
        "plugin",
        "install",
        "--tenant",
        "acme",
        "auto-triage",
        "--grant",
        "update-tickets,kv",
    ]);
    let bad = place.run(&[
        "plugin",
        "configure",
        "--tenant",
        "acme",
        "auto-triage",
        "--plugin-config",
        "{\"rules\": 3}",
    ]);
    assert_eq!(code(&bad), 2, "{}", text(&bad.stderr));
    ok(&[
        "plugin",
        "configure",
        "--tenant",
        "acme",
        "auto-triage",
        "--plugin-config",
        "{\"rules\": [{\"words\": [\"printer\"], \"priority\": \"low\"}]}",
    ]);
    ok(&["plugin", "disable", "--tenant", "acme", "auto-triage"]);
    let installs: serde_json::Value =
        serde_json::from_str(&ok(&["plugin", "list", "--tenant", "acme", "--json"])).expect("json");
    assert_eq!(installs[0]["enabled"], false);
    assert_eq!(installs[0]["config"]["rules"][0]["priority"], "low");
    assert_eq!(
        installs[0]["grant"]["capabilities"],
        serde_json::json!(["update-tickets", "kv"])
    );
    ok(&["plugin", "enable", "--tenant", "acme", "auto-triage"]);
    ok(&["plugin", "uninstall", "--tenant", "acme", "auto-triage"]);
    assert_eq!(
        code(&place.run(&["plugin", "uninstall", "--tenant", "acme", "auto-triage"])),
        3
    );
    let audit = ok(&["audit", "verify", "--tenant", "acme"]);
    assert!(audit.contains("intact"), "{audit}");
}

#[test]
fn mail_inspect_prints_what_the_pipeline_reads() {
    let place = Place::new(false);
    let file = place.data.path().join("reply.eml");
    std::fs::write(
        &file,
        "From: Alice Example <Alice@One.Example>\r\nTo: acme@inbound.desk.example\r\n\
         Subject: RE: [#1042-k7f2q] Printer jammed\r\nMessage-ID: <reply-1@one.example>\r\n\
         In-Reply-To: <portico.acme.1042.7.abcdefghij@desk.example>\r\n\
         References: <portico.acme.1042.0.abcdefghij@desk.example> <portico.acme.1042.7.abcdefghij@desk.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt works now, thanks!\r\n\r\n\
         -----Original Message-----\r\nFrom: Acme IT\r\nSent: Monday\r\nSubject: Printer\r\n\r\nTry tray 2.\r\n\
         --b\r\nContent-Type: application/pdf; name=\"log.pdf\"\r\nContent-Disposition: attachment; filename=\"log.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n",
    )
    .expect("fixture");
    let output = place.run(&["mail", "inspect", file.to_str().expect("path")]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["reply_text"], "It works now, thanks!");
    assert!(report["auto"].is_null());
    assert_eq!(report["message_id"], "reply-1@one.example");
    assert_eq!(
        report["in_reply_to"][0],
        "portico.acme.1042.7.abcdefghij@desk.example"
    );
    assert_eq!(report["references"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["subject_token"], "[#1042-k7f2q]");
    assert_eq!(report["sender"]["email"], "alice@one.example");
    assert_eq!(report["attachments"][0]["name"], "log.pdf");
    assert_eq!(report["attachments"][0]["type"], "application/pdf");
    assert_eq!(report["attachments"][0]["size"], 9);

    let auto = place.data.path().join("ooo.eml");
    std::fs::write(
        &auto,
        "From: bob@one.example\r\nTo: acme@inbound.desk.example\r\nSubject: Out of office\r\n\
         Auto-Submitted: auto-replied\r\n\r\nI am away.\r\n",
    )
    .expect("fixture");
    let output = place.run(&["mail", "inspect", auto.to_str().expect("path")]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["auto"], "auto_reply");

    let missing = place.run(&["mail", "inspect", "/nonexistent.eml"]);
    assert_eq!(code(&missing), 2);
    assert!(text(&missing.stderr).contains("cannot read"));
}
