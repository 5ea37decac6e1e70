//! Durability of the mail intake, with the real binary: 200 messages wait in a
//! Dovecot mailbox; `portico serve` starts reading them and is killed with SIGKILL as
//! soon as the first ones are queued; restarted, it finishes. Every message ends in
//! exactly one ticket, none is lost, and every one is flagged `\Seen` on the server.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rstest::rstest;

const BINARY: &str = env!("CARGO_BIN_EXE_portico");
const PASSWD: &str = "/tmp/portico-dovecot/users";
const MESSAGES: usize = 200;

fn admin_url() -> String {
    std::env::var("PORTICO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn psql(statement: &str) {
    let status = Command::new("psql")
        .arg(admin_url())
        .args(["-q", "-c", statement])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(status.success(), "{statement}");
}

struct Place {
    data: tempfile::TempDir,
    database: Option<String>,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(name) = &self.database {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

impl Place {
    fn new(postgres: bool) -> Place {
        let database = postgres.then(|| {
            let name = format!("portico_mail_{}", uuid::Uuid::new_v4().simple());
            psql(&format!("CREATE DATABASE {name}"));
            name
        });
        Place {
            data: tempfile::tempdir().expect("temp dir"),
            database,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTICO_DATA_DIR", self.data.path())
            .env("PORTICO_LOG", "warn")
            .env("PORTICO_MAIL_SINK", "log")
            .env("PORTICO_DEMO_TENANT", "false")
            .env("PORTICO_POLL_MS", "50")
            .env(
                "PORTICO_MASTER_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            );
        if let Some(name) = &self.database {
            let base = admin_url();
            let base = base
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(base);
            command.env("DATABASE_URL", format!("{base}/{name}"));
        }
        command
    }

    fn serve(&self, port: u16) -> Child {
        self.command(&["serve"])
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// 200 distinct requests from 200 senders, delivered over LMTP in one session.
fn fill_mailbox(user: &str) {
    let script = format!(
        "import smtplib, time\n\
         s = smtplib.LMTP('127.0.0.1', 10024)\n\
         for i in range({MESSAGES}):\n\
         \x20   msg = ('From: Sender %d <sender%d@crash.example>\\r\\nTo: {user}\\r\\nSubject: Request %d\\r\\n'\n\
         \x20          'Message-ID: <crash-%d@crash.example>\\r\\nDate: Tue, 01 Dec 2026 10:00:00 +0000\\r\\n\\r\\n'\n\
         \x20          'Please help with request %d.\\r\\n') % (i, i, i, i, i)\n\
         \x20   for attempt in range(10):\n\
         \x20       try:\n\
         \x20           s.sendmail('sender@crash.example', ['{user}'], msg)\n\
         \x20           break\n\
         \x20       except smtplib.SMTPRecipientsRefused:\n\
         \x20           time.sleep(0.5)  # Dovecot re-reads the passwd-file at most once a second\n\
         s.quit()\n"
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "messages delivered");
}

fn unseen(user: &str) -> usize {
    let out = Command::new("python3")
        .args(["-c", &format!(
            "import imaplib;m=imaplib.IMAP4('127.0.0.1',10143);m.login('{user}','secret');m.select('INBOX');\
             print(len(m.search(None,'UNSEEN')[1][0].split()))")])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

async fn inbound(
    client: &reqwest::Client,
    port: u16,
    token: &str,
) -> Option<Vec<serde_json::Value>> {
    let response = client
        .get(format!(
            "http://127.0.0.1:{port}/api/v1/mail/inbound?limit=1000"
        ))
        .header("Host", "acme.localhost")
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    response.json::<Vec<serde_json::Value>>().await.ok()
}

#[rstest]
#[case::sqlite(false)]
#[case::postgres(true)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_batch_loses_and_repeats_no_mail(#[case] postgres: bool) {
    let place = Place::new(postgres);
    let created = place
        .command(&["tenant", "create", "--slug", "acme", "--name", "Acme IT"])
        .output()
        .expect("runs");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = place
        .command(&[
            "api-token",
            "create",
            "--tenant",
            "acme",
            "--name",
            "ci",
            "--role",
            "msp_admin",
        ])
        .output()
        .expect("runs");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    assert!(token.starts_with("pt_"), "{token}");

    let user = format!("crash-{}@test.local", uuid::Uuid::new_v4().simple());
    {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(PASSWD)
            .expect("tests/mail/setup.sh has started Dovecot");
        writeln!(file, "{user}:{{PLAIN}}secret::::::").expect("user added");
    }
    fill_mailbox(&user);
    assert_eq!(unseen(&user), MESSAGES);

    let client = reqwest::Client::new();
    let port = free_port();
    let mut first = place.serve(port);
    let started = Instant::now();
    loop {
        let added = client
            .post(format!("http://127.0.0.1:{port}/api/v1/mail/mailboxes"))
            .header("Host", "acme.localhost")
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "address": user, "host": "127.0.0.1", "port": 10143, "tls": "none",
                "username": user, "password": "secret",
            }))
            .send()
            .await;
        if let Ok(response) = added {
            assert_eq!(response.status(), 201);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Kill it while it is processing: some messages are tickets, others only queued
    // or not even read from the mailbox yet.
    let at_kill = loop {
        if let Some(queue) = inbound(&client, port, &token).await
            && queue.iter().filter(|m| m["state"] != "pending").count() >= 10
        {
            break queue;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing was processed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    first.kill().expect("SIGKILL");
    first.wait().expect("killed");
    let settled = at_kill.iter().filter(|m| m["state"] != "pending").count();
    eprintln!(
        "killed after {:?} with {} queued, {settled} settled",
        started.elapsed(),
        at_kill.len()
    );
    assert!(settled < MESSAGES, "killed in the middle of the batch");

    let port = free_port();
    let mut second = place.serve(port);
    let started = Instant::now();
    let mut report = Instant::now();
    let queue = loop {
        let seen = inbound(&client, port, &token).await;
        if report.elapsed() > Duration::from_secs(5) {
            report = Instant::now();
            if let Some(queue) = &seen {
                let settled = queue.iter().filter(|m| m["state"] != "pending").count();
                eprintln!(
                    "after {:?}: {} queued, {settled} settled",
                    started.elapsed(),
                    queue.len()
                );
            }
        }
        if let Some(queue) = seen
            && queue.len() >= MESSAGES
            && queue.iter().all(|m| m["state"] != "pending")
        {
            break queue;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the batch did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "the restarted instance finished after {:?}",
        started.elapsed()
    );
    // Exactly once: one row per message, each a ticket of its own.
    assert_eq!(queue.len(), MESSAGES, "no message queued twice");
    let mut ids: Vec<&str> = queue
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES);
    assert!(queue.iter().all(|m| m["state"] == "created"), "{queue:?}");
    let mut tickets: Vec<i64> = queue
        .iter()
        .filter_map(|m| m["ticket_number"].as_i64())
        .collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), MESSAGES, "every message in its own ticket");
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("http://127.0.0.1:{port}/api/v1/tickets?limit=100");
        if let Some(cursor) = &after {
            url.push_str(&format!("&after={cursor}"));
        }
        let page: serde_json::Value = client
            .get(url)
            .header("Host", "acme.localhost")
            .bearer_auth(&token)
            .send()
            .await
            .expect("tickets")
            .json()
            .await
            .expect("json");
        count += page["tickets"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(count, MESSAGES, "no ticket twice, none missing");
    assert_eq!(unseen(&user), 0, "every message flagged on the server");
    let _ = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    let _ = second.wait();
}
