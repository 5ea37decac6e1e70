//! The e-mail channel end to end, on both backends, against real servers on
//! loopback: Dovecot (IMAP with IDLE, fed over LMTP by swaks; `tests/mail/setup.sh`),
//! Portico's own SMTP receiver (fed by lettre's SMTP client) and the inbound webhook.
//! A mail opens a ticket; its notification goes out threaded; the customer's replies
//! (Outlook, Gmail, Italian) come back through IMAP and land on the ticket with only
//! their new text; an out-of-office reply and a bounce do nothing; an outsider's
//! reply is held until released; a repeated delivery is recognised; `#close` closes.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use portico_tenants::Role;
use portico_tests::{Backend, TestApp, TestEnv, eventually};
use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};

const HOST: &str = "acme.localhost";
const PASSWD: &str = "/tmp/portico-dovecot/users";

/// A fresh Dovecot user (an empty INBOX): appended to the passwd-file, which Dovecot
/// re-reads by itself.
fn imap_user() -> String {
    let user = format!("desk-{}@test.local", uuid::Uuid::new_v4().simple());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(PASSWD)
        .expect("tests/mail/setup.sh has started Dovecot");
    writeln!(file, "{user}:{{PLAIN}}secret::::::").expect("user added");
    user
}

/// Delivers `raw` into `user`'s INBOX with swaks over LMTP (retried while Dovecot has
/// not re-read its passwd-file yet: it looks at most once a second).
fn deliver(user: &str, raw: &str) {
    for _ in 0..10 {
        if try_deliver(user, raw) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("swaks could not deliver to {user}");
}

fn try_deliver(user: &str, raw: &str) -> bool {
    let mut child = Command::new("swaks")
        .args([
            "--protocol",
            "LMTP",
            "--server",
            "127.0.0.1:10024",
            "--to",
            user,
        ])
        .args([
            "--from",
            "sender@test.local",
            "--data",
            "-",
            "--silent",
            "2",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("swaks runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(raw.replace('\n', "\r\n").as_bytes())
        .expect("message written");
    child.wait().expect("swaks ends").success()
}

async fn call(
    app: &TestApp,
    method: Method,
    host: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.api(host, method, token, path, body).await
}

/// The messages of ticket `number` as staff see them.
async fn thread(app: &TestApp, token: &str, number: i64) -> Vec<Value> {
    let (status, body) = call(
        app,
        Method::GET,
        HOST,
        &format!("/api/v1/tickets/{number}/messages"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

async fn inbound(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = call(
        app,
        Method::GET,
        HOST,
        "/api/v1/mail/inbound?limit=1000",
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().cloned().unwrap_or_default()
}

/// The `.eml` files the development sink wrote to `to`, parsed.
fn sent_to(env: &TestEnv, to: &str) -> Vec<portico_mailtext::Parsed> {
    let dir = env.data_dir().join("mail");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let raw = std::fs::read(&path).expect("eml");
        let parsed = portico_mailtext::parse(&raw).expect("our mail parses");
        if parsed.to.iter().any(|a| a.email == to) {
            found.push(parsed);
        }
    }
    found.sort_by_key(|p| p.date.unwrap_or_default());
    found
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_opens_threads_and_closes_tickets_through_real_servers(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let mut settings = env.settings();
    settings.smtp_listen = Some("127.0.0.1:0".parse().expect("addr"));
    settings.imap_poll_seconds = 30;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app.organization("acme", "One", "one.example").await;
    let (_alice, _alice_token) = app
        .person("acme", "alice@one.example", Role::Contact, Some(org))
        .await;
    let (_tech, tech) = app
        .person("acme", "tech@acme.test", Role::Technician, None)
        .await;
    let (_admin, admin) = app
        .person("acme", "admin@acme.test", Role::MspAdmin, None)
        .await;

    // 1. A new request arrives over SMTP (lettre → Portico's receiver) and opens a ticket.
    let smtp = app.smtp_addr.expect("receiver listens");
    let client = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .build();
    let first = lettre::Message::builder()
        .from("Alice <alice@one.example>".parse().expect("from"))
        .to("acme@inbound.localhost".parse().expect("to"))
        .subject("Printer on floor 2 is jammed")
        .message_id(Some("<first-1@one.example>".to_owned()))
        .body("The printer shows error E42.\n\nAlice".to_owned())
        .expect("message");
    client.send(first).await.expect("the receiver accepts it");
    let number = eventually(
        Duration::from_secs(20),
        "a ticket from the mail",
        || async {
            let (_, body) = call(&app, Method::GET, HOST, "/api/v1/tickets", &tech, None).await;
            body["tickets"]
                .as_array()
                .and_then(|items| items.first())
                .and_then(|t| t["number"].as_i64())
        },
    )
    .await;
    let ticket = thread(&app, &tech, number).await;
    assert_eq!(ticket[0]["source"], "email");
    assert!(
        ticket[0]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("error E42")
    );

    // 2. The requester's copy goes out, threaded: signed Message-ID, token, reply address.
    let copy = eventually(Duration::from_secs(20), "the requester's copy", || async {
        sent_to(&env, "alice@one.example").into_iter().next()
    })
    .await;
    let token = copy
        .subject_token
        .clone()
        .expect("the subject carries the token");
    assert_eq!(token.number, number);
    let root = copy.message_id.clone().expect("message id");
    assert!(
        root.starts_with(&format!("portico.acme.{number}.")),
        "{root}"
    );
    let reply_to = copy.reply_to.clone().expect("reply-to").email;
    assert!(
        reply_to.starts_with(&format!("acme+{number}-")),
        "{reply_to}"
    );
    assert!(
        copy.text.contains("##- "),
        "reply-above marker: {}",
        copy.text
    );
    assert!(
        copy.text.contains("/mail/close/"),
        "close link: {}",
        copy.text
    );

    // 3. A technician answers; the answer goes out in the same thread.
    let (status, _) = call(
        &app,
        Method::POST,
        HOST,
        &format!("/api/v1/tickets/{number}/messages"),
        &tech,
        Some(json!({"body": "Please open tray 2 and remove the paper."})),
    )
    .await;
    assert_eq!(status, 201);
    let answer = eventually(
        Duration::from_secs(20),
        "the technician's answer by mail",
        || async {
            sent_to(&env, "alice@one.example")
                .into_iter()
                .find(|m| m.text.contains("tray 2"))
        },
    )
    .await;
    assert!(answer.references.contains(&root) || answer.in_reply_to.contains(&root));
    let answer_id = answer.message_id.clone().expect("id");

    // 4. The customer's replies come back through IMAP (IDLE).
    let user = imap_user();
    let (status, body) = call(
        &app,
        Method::POST,
        HOST,
        "/api/v1/mail/mailboxes",
        &admin,
        Some(json!({
            "address": user, "host": "127.0.0.1", "port": 10143, "tls": "none",
            "username": user, "password": "secret",
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let subject = format!(
        "RE: [#{}-{}] Printer on floor 2 is jammed",
        token.number, token.tag
    );
    deliver(
        &user,
        &format!(
            "From: Alice <alice@one.example>\nTo: {user}\nSubject: {subject}\nMessage-ID: <outlook-1@one.example>\n\
         In-Reply-To: <{answer_id}>\nReferences: <{root}> <{answer_id}>\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n\n\
         It works now, thank you!\n\n-----Original Message-----\nFrom: Acme IT <acme@inbound.localhost>\n\
         Sent: Tuesday, December 1, 2026 9:00 AM\nTo: Alice\nSubject: Printer\n\nPlease open tray 2 and remove the paper.\n"
        ),
    );
    deliver(
        &user,
        &format!(
            "From: Alice <alice@one.example>\nTo: {user}\nSubject: Re: [#{}-{}] Printer on floor 2 is jammed\n\
         Message-ID: <gmail-1@one.example>\nDate: Tue, 01 Dec 2026 10:05:00 +0000\n\n\
         One more thing: tray 3 is empty.\n\nOn Tue, Dec 1, 2026 at 9:00 AM Acme IT <acme@inbound.localhost> wrote:\n\
         > Please open tray 2 and remove the paper.\n",
            token.number, token.tag
        ),
    );
    // An out-of-office answer to our mail: it must do nothing.
    deliver(
        &user,
        &format!(
            "From: Alice <alice@one.example>\nTo: {user}\nSubject: Automatic reply: {subject}\n\
         Message-ID: <ooo-1@one.example>\nIn-Reply-To: <{answer_id}>\nAuto-Submitted: auto-replied\n\
         Date: Tue, 01 Dec 2026 10:06:00 +0000\n\nI am out of the office until Monday.\n"
        ),
    );
    let messages = eventually(
        Duration::from_secs(30),
        "both replies on the ticket",
        || async {
            let messages = thread(&app, &tech, number).await;
            (messages.len() >= 4).then_some(messages)
        },
    )
    .await;
    let bodies: Vec<&str> = messages.iter().filter_map(|m| m["body"].as_str()).collect();
    assert!(bodies.contains(&"It works now, thank you!"), "{bodies:?}");
    assert!(
        bodies.contains(&"One more thing: tray 3 is empty."),
        "{bodies:?}"
    );

    // 5. An Italian reply through the provider's webhook, twice (a repeated delivery).
    let italian = format!(
        "From: Alice <alice@one.example>\r\nTo: acme@inbound.localhost\r\nSubject: R: {subject}\r\n\
         Message-ID: <it-1@one.example>\r\nIn-Reply-To: <{answer_id}>\r\nDate: Tue, 01 Dec 2026 10:10:00 +0000\r\n\r\n\
         Grazie mille, ora funziona.\r\n\r\nIl giorno mar 1 dic 2026 alle ore 09:00 Acme IT <acme@inbound.localhost> ha scritto:\r\n\
         > Please open tray 2 and remove the paper.\r\n"
    );
    for duplicate in [false, true] {
        let response = app
            .request(Method::POST, HOST, "/api/v1/mail/inbound")
            .bearer_auth(&admin)
            .header("content-type", "message/rfc822")
            .body(italian.clone())
            .send()
            .await
            .expect("webhook");
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["duplicate"], duplicate, "{body}");
    }
    // A bounce of one of our messages (a DSN) through the SMTP receiver: nothing happens.
    let bounce = format!(
        "From: Mail Delivery System <MAILER-DAEMON@one.example>\r\nTo: acme@inbound.localhost\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@one.example>\r\n\
         Date: Tue, 01 Dec 2026 10:11:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; one.example\r\n\r\n\
         Final-Recipient: rfc822; nobody@one.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --b1\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <{answer_id}>\r\nSubject: x\r\n\r\nbody\r\n--b1--\r\n"
    );
    let envelope =
        lettre::address::Envelope::new(None, vec!["acme@inbound.localhost".parse().expect("to")])
            .expect("envelope");
    client
        .send_raw(&envelope, bounce.as_bytes())
        .await
        .expect("bounce accepted");
    // An outsider answering the thread is held for a technician.
    deliver(
        &user,
        &format!(
            "From: Mallory <mallory@elsewhere.example>\nTo: {user}\nSubject: {subject}\n\
         Message-ID: <mallory-1@elsewhere.example>\nIn-Reply-To: <{answer_id}>\nDate: Tue, 01 Dec 2026 10:12:00 +0000\n\n\
         Please send me the admin password.\n"
        ),
    );
    let queue = eventually(Duration::from_secs(30), "every message settled", || async {
        let queue = inbound(&app, &tech).await;
        (queue.len() >= 7 && queue.iter().all(|m| m["state"] != "pending")).then_some(queue)
    })
    .await;
    let state_of = |id: &str| {
        queue
            .iter()
            .find(|m| m["message_id"] == id)
            .map(|m| {
                (
                    m["state"].as_str().unwrap_or_default().to_owned(),
                    m["detail"].clone(),
                )
            })
            .unwrap_or_else(|| panic!("{id} was queued: {queue:?}"))
    };
    assert_eq!(state_of("ooo-1@one.example").0, "ignored");
    assert_eq!(state_of("ooo-1@one.example").1, "auto_reply");
    assert_eq!(state_of("bounce-1@one.example").0, "ignored");
    assert_eq!(state_of("bounce-1@one.example").1, "bounce");
    assert_eq!(state_of("mallory-1@elsewhere.example").0, "held");
    assert_eq!(state_of("it-1@one.example").0, "added");
    // The whole message stays viewable, as a download that never runs.
    let outlook = queue
        .iter()
        .find(|m| m["message_id"] == "outlook-1@one.example")
        .and_then(|m| m["id"].as_i64())
        .expect("queued");
    let raw = app
        .request(
            Method::GET,
            HOST,
            &format!("/api/v1/mail/inbound/{outlook}/raw"),
        )
        .bearer_auth(&tech)
        .send()
        .await
        .expect("raw");
    assert_eq!(raw.status(), 200);
    assert!(
        raw.headers()["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.starts_with("attachment"))
    );
    assert!(
        raw.text()
            .await
            .expect("text")
            .contains("-----Original Message-----")
    );
    let messages = thread(&app, &tech, number).await;
    let bodies: Vec<&str> = messages.iter().filter_map(|m| m["body"].as_str()).collect();
    assert!(
        bodies.contains(&"Grazie mille, ora funziona."),
        "{bodies:?}"
    );
    assert!(
        !bodies
            .iter()
            .any(|b| b.contains("out of the office") || b.contains("admin password"))
    );
    // Nothing answered the automated mail.
    assert!(sent_to(&env, "mailer-daemon@one.example").is_empty());

    // The IMAP messages were flagged \Seen only after they were queued.
    let unseen = Command::new("python3")
        .args(["-c", &format!(
            "import imaplib;m=imaplib.IMAP4('127.0.0.1',10143);m.login('{user}','secret');m.select('INBOX');\
             print(len(m.search(None,'UNSEEN')[1][0].split()))")])
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&unseen.stdout).trim(), "0");

    // 6. A technician releases the held message: it lands on the ticket.
    let held = queue
        .iter()
        .find(|m| m["state"] == "held")
        .and_then(|m| m["id"].as_i64())
        .expect("held id");
    let (status, body) = call(
        &app,
        Method::POST,
        HOST,
        &format!("/api/v1/mail/inbound/{held}/release"),
        &tech,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eventually(
        Duration::from_secs(20),
        "the released message on the ticket",
        || async {
            thread(&app, &tech, number)
                .await
                .iter()
                .any(|m| {
                    m["body"]
                        .as_str()
                        .is_some_and(|b| b.contains("admin password"))
                })
                .then_some(())
        },
    )
    .await;

    // 6b. A reply with a screenshot attached: the text and the file land on the ticket.
    let png = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
    );
    deliver(
        &user,
        &format!(
            "From: Alice <alice@one.example>\nTo: {user}\nSubject: {subject}\nMessage-ID: <shot-1@one.example>\n\
             In-Reply-To: <{answer_id}>\nDate: Tue, 01 Dec 2026 10:15:00 +0000\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=\"xx\"\n\n--xx\nContent-Type: text/plain\n\n\
             Here is the screen.\n\n--xx\nContent-Type: image/png; name=\"screen.png\"\n\
             Content-Disposition: attachment; filename=\"screen.png\"\nContent-Transfer-Encoding: base64\n\n{png}\n--xx--\n"
        ),
    );
    let files = eventually(
        Duration::from_secs(30),
        "the screenshot on the ticket",
        || async {
            let (_, files) = call(
                &app,
                Method::GET,
                HOST,
                &format!("/api/v1/tickets/{number}/attachments"),
                &tech,
                None,
            )
            .await;
            files.as_array().filter(|f| !f.is_empty()).cloned()
        },
    )
    .await;
    assert_eq!(files[0]["filename"], "screen.png");
    assert_eq!(files[0]["content_type"], "image/png");

    // 7. The requester closes the ticket with `#close` as the first line.
    deliver(
        &user,
        &format!(
            "From: Alice <alice@one.example>\nTo: {user}\nSubject: {subject}\nMessage-ID: <close-1@one.example>\n\
         In-Reply-To: <{answer_id}>\nDate: Tue, 01 Dec 2026 10:20:00 +0000\n\n#close\n\nThanks!\n"
        ),
    );
    eventually(
        Duration::from_secs(30),
        "the ticket closed by mail",
        || async {
            let (_, body) = call(
                &app,
                Method::GET,
                HOST,
                &format!("/api/v1/tickets/{number}"),
                &tech,
                None,
            )
            .await;
            (body["status"] == "closed").then_some(())
        },
    )
    .await;
    let log = call(
        &app,
        Method::GET,
        HOST,
        &format!("/api/v1/tickets/{number}/mail"),
        &tech,
        None,
    )
    .await
    .1;
    assert!(log.as_array().is_some_and(|l| {
        l.iter()
            .all(|m| m["recipient"] != "mallory@elsewhere.example")
    }));
    assert!(
        log.as_array().is_some_and(|l| l
            .iter()
            .any(|m| m["kind"] == "reply" && m["state"] == "sent")),
        "{log}"
    );

    // 8. The one-click close link of a second ticket: following it changes nothing,
    // confirming the page's form closes the ticket.
    client
        .send(
            lettre::Message::builder()
                .from("Alice <alice@one.example>".parse().expect("from"))
                .to("acme@inbound.localhost".parse().expect("to"))
                .subject("VPN is slow")
                .message_id(Some("<second-1@one.example>".to_owned()))
                .body("Since this morning.".to_owned())
                .expect("message"),
        )
        .await
        .expect("accepted");
    let copy = eventually(
        Duration::from_secs(20),
        "the second ticket's copy",
        || async {
            sent_to(&env, "alice@one.example")
                .into_iter()
                .find(|m| m.subject.contains("VPN is slow"))
        },
    )
    .await;
    let second = copy.subject_token.expect("token").number;
    let link = copy
        .text
        .split_whitespace()
        .find(|w| w.contains("/mail/close/"))
        .expect("close link")
        .to_owned();
    let path = &link[link.find("/mail/close/").expect("path")..];
    let mut browser = portico_tests::browser::Browser::new(app.addr, HOST);
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (_, ticket) = call(
        &app,
        Method::GET,
        HOST,
        &format!("/api/v1/tickets/{second}"),
        &tech,
        None,
    )
    .await;
    assert_ne!(ticket["status"], "closed", "nothing changes on GET");
    let csrf = page.field("csrf").expect("csrf field");
    let done = browser.post(path, &[("csrf", csrf.as_str())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let (_, ticket) = call(
        &app,
        Method::GET,
        HOST,
        &format!("/api/v1/tickets/{second}"),
        &tech,
        None,
    )
    .await;
    assert_eq!(ticket["status"], "closed");
    // A forged token is refused.
    let forged = path.replace(
        &format!("/mail/close/{second}."),
        &format!("/mail/close/{}.", second + 1),
    );
    assert_eq!(browser.get(&forged).await.status, 410);
    app.stop().await;
}

#[tokio::test]
async fn the_smtp_receiver_refuses_strangers_oversized_mail_and_floods() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let env = TestEnv::new(Backend::Sqlite).await;
    let mut settings = env.settings();
    settings.smtp_listen = Some("127.0.0.1:0".parse().expect("addr"));
    settings.mail_max_bytes = 1000;
    settings.mail_sender_rate = 2;
    let app = env.spawn_with(settings, Default::default()).await;
    app.create_tenant("acme", "Acme IT").await;
    let stream = tokio::net::TcpStream::connect(app.smtp_addr.expect("receiver"))
        .await
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    async fn answer(
        lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    ) -> String {
        loop {
            let line = lines.next_line().await.expect("read").expect("a line");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }
    assert!(answer(&mut lines).await.starts_with("220 "));
    macro_rules! say {
        ($command:expr) => {{
            write
                .write_all(format!("{}\r\n", $command).as_bytes())
                .await
                .expect("write");
            answer(&mut lines).await
        }};
    }
    assert!(say!("EHLO client.example").starts_with("250 "));
    assert!(
        say!("RCPT TO:<acme@inbound.localhost>").starts_with("503 "),
        "MAIL first"
    );
    assert!(
        say!("MAIL FROM:<a@one.example> SIZE=5000").starts_with("552 "),
        "SIZE over the limit"
    );
    assert!(say!("MAIL FROM:<a@one.example>").starts_with("250 "));
    assert!(
        say!("RCPT TO:<someone@elsewhere.example>").starts_with("550 "),
        "not ours"
    );
    assert!(
        say!("RCPT TO:<nobody@inbound.localhost>").starts_with("550 "),
        "no such tenant"
    );
    assert!(say!("RCPT TO:<acme@inbound.localhost>").starts_with("250 "));
    assert!(say!("DATA").starts_with("354 "));
    let big = format!("Subject: big\r\n\r\n{}\r\n.", "x".repeat(2000));
    assert!(say!(&big).starts_with("552 "), "too big after DATA");
    assert!(say!("MAIL FROM:<a@one.example>").starts_with("250 "));
    assert!(
        say!("MAIL FROM:<a@one.example>").starts_with("450 "),
        "over the sender's rate"
    );
    assert!(say!("NOOP").starts_with("250 "));
    assert!(say!("QUIT").starts_with("221 "));
    app.stop().await;
}

async fn push(app: &TestApp, token: &str, raw: String) {
    let response = app
        .request(Method::POST, HOST, "/api/v1/mail/inbound")
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("webhook");
    assert_eq!(response.status(), 202);
}

fn plain(from: &str, id: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: acme@inbound.localhost\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nHello, I need help.\r\n"
    )
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_senders_are_triaged_or_refused_once_and_loops_are_cut(#[case] backend: Backend) {
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app.organization("acme", "One", "one.example").await;
    let (_admin, admin) = app
        .person("acme", "admin@acme.test", Role::MspAdmin, None)
        .await;

    // By default an unknown domain's mail becomes a ticket of a new contact.
    push(
        &app,
        &admin,
        plain(
            "Stranger <stranger@nowhere.example>",
            "s1@nowhere.example",
            "Hello",
        ),
    )
    .await;
    // A person at an organization's domain becomes its contact.
    push(
        &app,
        &admin,
        plain("Newcomer <new@one.example>", "n1@one.example", "Access"),
    )
    .await;
    eventually(Duration::from_secs(20), "both tickets", || async {
        let queue = inbound(&app, &admin).await;
        (queue.len() == 2 && queue.iter().all(|m| m["state"] == "created")).then_some(())
    })
    .await;
    let (_, users) = call(&app, Method::GET, HOST, "/api/v1/users", &admin, None).await;
    let find = |email: &str| {
        users
            .as_array()
            .and_then(|u| u.iter().find(|u| u["email"] == email).cloned())
            .unwrap_or_else(|| panic!("{email} is a contact: {users}"))
    };
    assert_eq!(find("new@one.example")["organization_id"], org);
    assert!(find("stranger@nowhere.example")["organization_id"].is_null());

    // Refusing unknown domains: a polite, automatic answer, once a day per sender.
    let (status, body) = call(
        &app,
        Method::PUT,
        HOST,
        "/api/v1/settings/mail-unknown-senders",
        &admin,
        Some(json!("refuse")),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = call(
        &app,
        Method::PUT,
        HOST,
        "/api/v1/settings/mail-unknown-senders",
        &admin,
        Some(json!("maybe")),
    )
    .await;
    assert_eq!(status, 422);
    for n in 0..2 {
        push(
            &app,
            &admin,
            plain(
                "Other <other@nowhere.example>",
                &format!("o{n}@nowhere.example"),
                "Offer",
            ),
        )
        .await;
    }
    let refusals = eventually(Duration::from_secs(20), "the refusal", || async {
        let queue = inbound(&app, &admin).await;
        let refused = queue.iter().filter(|m| m["state"] == "refused").count();
        let sent = sent_to(&env, "other@nowhere.example");
        (refused == 2 && !sent.is_empty()).then_some(sent)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = sent_to(&env, "other@nowhere.example");
    assert_eq!(
        again.len(),
        1,
        "one refusal a day: {:?}",
        again
            .iter()
            .map(|m| (&m.subject, &m.message_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        refusals[0].auto,
        Some(portico_mailtext::AutoKind::AutoReply),
        "marked automatic"
    );

    // A sender in a loop: after 30 messages in an hour the rest is ignored, whatever
    // order the worker processes them in.
    for n in 0..34 {
        push(
            &app,
            &admin,
            plain(
                "Loop <loop@one.example>",
                &format!("l{n}@one.example"),
                &format!("Loop {n}"),
            ),
        )
        .await;
    }
    let queue = eventually(Duration::from_secs(60), "the loop settled", || async {
        let queue = inbound(&app, &admin).await;
        let mine: Vec<Value> = queue
            .into_iter()
            .filter(|m| m["sender"] == "loop@one.example")
            .collect();
        (mine.len() == 34 && mine.iter().all(|m| m["state"] != "pending")).then_some(mine)
    })
    .await;
    assert_eq!(queue.iter().filter(|m| m["state"] == "created").count(), 30);
    assert_eq!(queue.iter().filter(|m| m["state"] == "ignored").count(), 4);
    app.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sends_through_its_own_smtp_server(#[case] backend: Backend) {
    // A real SMTP server on loopback (Python's smtpd), printing what it receives.
    let port = portico_tests::free_port();
    let log = tempfile::NamedTempFile::new().expect("log");
    let mut server = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-u",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::from(log.reopen().expect("log")))
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 smtpd");
    let env = TestEnv::new(backend).await;
    let app = env.spawn().await;
    app.create_tenant("acme", "Acme IT").await;
    let org = app.organization("acme", "One", "one.example").await;
    let (_, admin) = app
        .person("acme", "admin@acme.test", Role::MspAdmin, None)
        .await;
    let (_, alice) = app
        .person("acme", "alice@one.example", Role::Contact, Some(org))
        .await;
    let (status, body) = call(
        &app,
        Method::PUT,
        HOST,
        "/api/v1/mail/smtp",
        &admin,
        Some(json!({"url": format!("smtp://127.0.0.1:{port}"), "from": "help@acme.test"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["server"], format!("127.0.0.1:{port}"));
    let (status, _) = call(
        &app,
        Method::PUT,
        HOST,
        "/api/v1/mail/smtp",
        &admin,
        Some(json!({"url": "http://example.com", "from": "help@acme.test"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = call(
        &app,
        Method::POST,
        HOST,
        "/api/v1/tickets",
        &alice,
        Some(json!({"subject": "Through our own server", "description": "Hello"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let received = eventually(
        Duration::from_secs(20),
        "the copy at the tenant's server",
        || async {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            text.contains("Through our own server").then_some(text)
        },
    )
    .await;
    assert!(
        received.contains("From: \"Acme IT\" <help@acme.test>"),
        "{received}"
    );
    assert!(
        received.contains("Reply-To: <acme+") || received.contains("Reply-To: acme+"),
        "{received}"
    );
    assert!(
        received.contains("X-Peer:"),
        "delivered over SMTP: {received}"
    );
    assert!(
        sent_to(&env, "alice@one.example").is_empty(),
        "not through the platform's sink"
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        HOST,
        "/api/v1/mail/smtp",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, body) = call(&app, Method::GET, HOST, "/api/v1/mail/smtp", &admin, None).await;
    assert_eq!(body["configured"], false);
    let _ = server.kill();
    let _ = server.wait();
    app.stop().await;
}
