//! Cost of the password step of sign-in, end to end over HTTP against the real
//! application (embedded SQLite in a temporary directory, port 0): 32 people of one
//! tenant sign in at once, round after round. Each browser first GETs `/login` for
//! its CSRF cookie and field (not timed), then all POST `/login` together; the
//! password is right and nobody has an authenticator yet, so each answer is a 303
//! to the enrolment page with a new session (argon2id verification, session row and
//! audit entry in one transaction).
//!
//! Run: `cargo bench -p portico-core --bench login -- [ROUNDS] [--browsers N]`
//! (defaults: 20 measured rounds after one warm-up round, 32 browsers). Each browser
//! connects from its own loopback address (127.0.1.x), as distinct clients would.
//! Memory is the whole process (server and load generator): its peak resident size
//! is reset (`/proc/self/clear_refs`) once set-up is done.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use portico_core::app::{Application, Extensions};
use portico_core::settings::{MailSink, Settings};
use portico_tenants::accounts;
use portico_tenants::ids::EmailAddress;
use portico_tenants::people::{self, NewUser};
use portico_tenants::routing::HostMatch;
use portico_tenants::{Role, TenantSlug, registry};
use tokio_util::sync::CancellationToken;

mod common;

const PASSWORD: &str = "Blue-Harbour-42";
const SLUG: &str = "bench";

/// One browser: its own client (own source address, own connections) and cookie.
struct Browser {
    client: reqwest::Client,
    email: String,
}

/// What one sign-in attempt gave.
struct Attempt {
    status: u16,
    location: Option<String>,
    post_ms: f64,
}

fn host() -> String {
    format!("{SLUG}.localhost")
}

/// GETs the form: the CSRF cookie and the form's CSRF field.
async fn open_form(browser: &Browser, addr: SocketAddr) -> anyhow::Result<(String, String)> {
    let form = browser
        .client
        .get(format!("http://{addr}/login"))
        .header("Host", host())
        .header("Sec-Fetch-Site", "none")
        .send()
        .await?;
    anyhow::ensure!(form.status() == 200, "GET /login: {}", form.status());
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|p| p.contains("csrf=")))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no CSRF cookie"))?;
    let body = form.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let at = body
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no CSRF field"))?
        + marker.len();
    let csrf = body[at..].split('"').next().unwrap_or_default().to_owned();
    Ok((cookie, csrf))
}

/// Opens the form, waits for every browser to be ready, then POSTs the password
/// step, timed from send to the whole answer read.
async fn sign_in(
    browser: &Browser,
    addr: SocketAddr,
    start: &tokio::sync::Barrier,
) -> anyhow::Result<Attempt> {
    let form = open_form(browser, addr).await;
    // Wait even on failure, or the others would wait forever.
    start.wait().await;
    let (cookie, csrf) = form?;
    let began = Instant::now();
    let response = browser
        .client
        .post(format!("http://{addr}/login"))
        .header("Host", host())
        .header("Cookie", cookie)
        .header("Origin", format!("http://{}", host()))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("email", browser.email.as_str()),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = response.bytes().await?;
    Ok(Attempt {
        status,
        location,
        post_ms: began.elapsed().as_secs_f64() * 1000.0,
    })
}

/// One round: every browser signs in at once. Returns the attempts and the time from
/// the common start of the POSTs to the last answer.
async fn round(
    browsers: &std::sync::Arc<Vec<Browser>>,
    addr: SocketAddr,
) -> anyhow::Result<(Vec<Attempt>, Duration)> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(browsers.len() + 1));
    let mut tasks = Vec::with_capacity(browsers.len());
    for i in 0..browsers.len() {
        let (browsers, start) = (browsers.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            sign_in(&browsers[i], addr, &start).await
        }));
    }
    start.wait().await;
    let began = Instant::now();
    let mut attempts = Vec::with_capacity(tasks.len());
    for task in tasks {
        attempts.push(task.await??);
    }
    Ok((attempts, began.elapsed()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let rounds: usize = common::positional(&args, &["--browsers"])
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let count: usize = common::option(&args, "--browsers")
        .and_then(|n| n.parse().ok())
        .unwrap_or(32)
        .clamp(1, 250);

    // The application as `portico serve` builds it, on port 0 (as the tests do). The
    // per-address ceiling is raised so that long runs are not answered 429 (each
    // browser has its own address anyway); an unknown setting is ignored.
    let data = tempfile::tempdir()?;
    let defaults = Settings::load_with_env(None, &[("PORTICO_LOGIN_ADDRESS_LIMIT", "1000000")])?;
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data.path().to_path_buf(),
        demo_tenant: false,
        mail_sink: MailSink::Log,
        poll_ms: 100,
        shutdown_grace: 5,
        ..defaults
    };
    let hash_concurrency = settings.password_hash_concurrency;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let application = Application::build(settings, listener, Extensions::default()).await?;
    let addr = application.local_addr()?;
    let state = application.state().clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(application.run(shutdown.clone()));

    // One tenant, routed; `count` people with a password and no authenticator.
    registry::create_tenant(&state.store, &TenantSlug::parse(SLUG)?, "Bench MSP").await?;
    let routed = Instant::now();
    while !matches!(state.hosts.resolve(&host()), HostMatch::Tenant(_)) {
        anyhow::ensure!(
            routed.elapsed() < Duration::from_secs(10),
            "tenant not routed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let db = state.store.tenant_by_slug(SLUG).await?;
    let mut browsers = Vec::with_capacity(count);
    for i in 0..count {
        let email = format!("person{i}@{SLUG}.example");
        let user = people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(&email)?,
                display_name: format!("Person {i}"),
                role: Role::Technician,
                invite: false,
                organization_id: None,
            },
        )
        .await?;
        // One at a time: set-up holds one argon2 buffer at most.
        let hash = state.passwords.hash(PASSWORD).await?;
        let mut tx = db.begin().await?;
        accounts::set_password(&mut tx, user.id, &hash).await?;
        tx.commit().await?;
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, (i + 1) as u8));
        browsers.push(Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .local_address(source)
                .build()?,
            email,
        });
    }
    // The argon2id verification alone, one at a time, for reference.
    let stored = accounts::login_by_email(&db, &browsers[0].email)
        .await?
        .and_then(|r| r.password_hash)
        .ok_or_else(|| anyhow::anyhow!("password not stored"))?;
    let mut verify_ms = Vec::new();
    for _ in 0..10 {
        let one = Instant::now();
        let (matched, _) = state.passwords.verify(Some(&stored), PASSWORD).await?;
        verify_ms.push(one.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(matched, "the stored hash verifies");
    }
    let verify_ms = common::sorted(verify_ms);

    let setup_peak = common::proc_status_mib("VmHWM");
    let rss_before = common::proc_status_mib("VmRSS");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    let browsers = std::sync::Arc::new(browsers);
    // One warm-up round (connections, first renders), not counted.
    let (warm_up, _) = round(&browsers, addr).await?;
    let mut latencies = Vec::with_capacity(rounds * count);
    let mut unexpected: Vec<String> = Vec::new();
    let mut posting = Duration::ZERO;
    let wall = Instant::now();
    for _ in 0..rounds {
        let (attempts, elapsed) = round(&browsers, addr).await?;
        posting += elapsed;
        for attempt in attempts {
            latencies.push(attempt.post_ms);
            if attempt.status != 303 || attempt.location.as_deref() != Some("/enrol/totp") {
                unexpected.push(format!("{} {:?}", attempt.status, attempt.location));
            }
        }
    }
    let wall = wall.elapsed();
    let peak = common::proc_status_mib("VmHWM");
    let rss_after = common::proc_status_mib("VmRSS");
    let warm_up_ok = warm_up.iter().filter(|a| a.status == 303).count();

    shutdown.cancel();
    server.await??;

    let signed_in = latencies.len() - unexpected.len();
    let mean = common::mean(&latencies);
    let latencies = common::sorted(latencies);
    println!(
        "sign-in, password step (POST /login → 303 /enrol/totp): {count} browsers at once × {rounds} rounds, argon2id m=19 MiB t=2 p=1, {hash_concurrency} hashes at once",
    );
    println!(
        "  latency p50 {:.0} ms, p99 {:.0} ms, mean {:.0} ms, max {:.0} ms; {:.1} sign-ins/s ({signed_in} in {:.1} s of POST phases, {:.1} s with the GETs); one verification alone p50 {:.1} ms",
        common::quantile(&latencies, 0.5),
        common::quantile(&latencies, 0.99),
        mean,
        latencies.last().copied().unwrap_or(f64::NAN),
        signed_in as f64 / posting.as_secs_f64(),
        posting.as_secs_f64(),
        wall.as_secs_f64(),
        common::quantile(&verify_ms, 0.5),
    );
    println!(
        "  memory (whole process): RSS {rss_before:.1} MiB before the sign-ins, peak {peak:.1} MiB during them{}, {rss_after:.1} MiB after; peak during set-up {setup_peak:.1} MiB",
        if reset {
            ""
        } else {
            " (peak not reset: since start)"
        },
    );
    if !unexpected.is_empty() || warm_up_ok != count {
        println!(
            "  UNEXPECTED answers: {} of {} ({:?}…); warm-up {warm_up_ok}/{count} ok",
            unexpected.len(),
            rounds * count,
            unexpected.iter().take(3).collect::<Vec<_>>()
        );
    }
    Ok(())
}
