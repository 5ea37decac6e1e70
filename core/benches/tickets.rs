//! Tickets at scale, over HTTP against the real application (port 0, in this
//! process) on either backend:
//!
//! 1. **create** — `POST /api/v1/tickets` with an MSP admin's API token at
//!    concurrency 1, 8 and 32 (`--seconds` each, default 10): tickets/s, p50, p99.
//!    Every organization has an SLA contract on a business-hours calendar, so each
//!    creation also computes its due times.
//! 2. **fill** — the tenant is brought to `--tickets` tickets (default 1,000,000)
//!    through the library's bulk import (batches of 1,000, one transaction each),
//!    a third of them assigned. Classes: new 10 %, open 15 %, waiting 5 %, paused 5 %, resolved 10 %, closed 55 %.
//!    Texts are in five languages (en 40 %, de 20 %, fr 15 %, it 15 %, es 10 %) from a
//!    service-desk vocabulary: one of 24 topics per ticket, common words, and host
//!    names and error codes that make rare terms.
//! 3. **list** — `GET /api/v1/tickets` with the status tabs' counts, one request at a
//!    time, in the shapes the portal and console use: p50, p99 per shape.
//! 4. **search** — `GET /api/v1/tickets?q=…` for rare, topical and common words.
//! 5. **pages** — every portal and console page (server-rendered HTML) with a
//!    contact's, a main contact's and a technician's session: p50, p99 per page.
//!
//! Run: `cargo bench -p portico-core --bench tickets -- [sqlite|postgres]
//! [--tickets N] [--seconds S] [--requests R] [--data DIR] [--phases create,fill,read,pages]`
//! (`read` is list and search; create, fill and read by default). With `--data` the data
//! set is kept (SQLite files and blobs in DIR; on PostgreSQL the database
//! `portico_bench_tickets`) and a later run only tops it up; without it everything
//! is thrown away at the end. The load generator shares the process and the two
//! cores with the server, so throughput is a lower bound.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_core::app::{Application, Extensions};
use portico_core::settings::{MailSink, Settings};
use portico_tenants::ids::EmailAddress;
use portico_tenants::import::{self, ImportedTicket};
use portico_tenants::people::{self, NewUser};
use portico_tenants::policy::Scope;
use portico_tenants::routing::HostMatch;
use portico_tenants::tickets::{self, Priority, Source};
use portico_tenants::{Role, TenantDb, TenantSlug, organizations, registry, ticket_sla, tokens};
use tokio_util::sync::CancellationToken;

mod common;

const SLUG: &str = "bench";
const ORGANIZATIONS: usize = 50;
const CONTACTS_PER_ORGANIZATION: usize = 40;
const TECHNICIANS: usize = 10;
const PG_DATABASE: &str = "portico_bench_tickets";

fn host() -> String {
    format!("{SLUG}.localhost")
}

/// A small, seedable generator (xorshift64*): the data set is the same on every run.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Languages in the order of the word tables' columns.
const LANGUAGES: [&str; 5] = ["en", "de", "fr", "it", "es"];

/// One topic per ticket, in each language (singular, plural).
const TOPICS: [[(&str, &str); 5]; 24] = [
    [
        ("printer", "printers"),
        ("Drucker", "Drucker"),
        ("imprimante", "imprimantes"),
        ("stampante", "stampanti"),
        ("impresora", "impresoras"),
    ],
    [
        ("mailbox", "mailboxes"),
        ("Postfach", "Postfächer"),
        ("boîte", "boîtes"),
        ("casella", "caselle"),
        ("buzón", "buzones"),
    ],
    [
        ("password", "passwords"),
        ("Passwort", "Passwörter"),
        ("mot de passe", "mots de passe"),
        ("password", "password"),
        ("contraseña", "contraseñas"),
    ],
    [
        ("laptop", "laptops"),
        ("Notebook", "Notebooks"),
        ("portable", "portables"),
        ("portatile", "portatili"),
        ("portátil", "portátiles"),
    ],
    [
        ("network", "networks"),
        ("Netzwerk", "Netzwerke"),
        ("réseau", "réseaux"),
        ("rete", "reti"),
        ("red", "redes"),
    ],
    [
        ("server", "servers"),
        ("Server", "Server"),
        ("serveur", "serveurs"),
        ("server", "server"),
        ("servidor", "servidores"),
    ],
    [
        ("backup", "backups"),
        ("Sicherung", "Sicherungen"),
        ("sauvegarde", "sauvegardes"),
        ("salvataggio", "salvataggi"),
        ("copia", "copias"),
    ],
    [
        ("license", "licenses"),
        ("Lizenz", "Lizenzen"),
        ("licence", "licences"),
        ("licenza", "licenze"),
        ("licencia", "licencias"),
    ],
    [
        ("monitor", "monitors"),
        ("Bildschirm", "Bildschirme"),
        ("écran", "écrans"),
        ("monitor", "monitor"),
        ("pantalla", "pantallas"),
    ],
    [
        ("keyboard", "keyboards"),
        ("Tastatur", "Tastaturen"),
        ("clavier", "claviers"),
        ("tastiera", "tastiere"),
        ("teclado", "teclados"),
    ],
    [
        ("phone", "phones"),
        ("Telefon", "Telefone"),
        ("téléphone", "téléphones"),
        ("telefono", "telefoni"),
        ("teléfono", "teléfonos"),
    ],
    [
        ("invoice", "invoices"),
        ("Rechnung", "Rechnungen"),
        ("facture", "factures"),
        ("fattura", "fatture"),
        ("factura", "facturas"),
    ],
    [
        ("folder", "folders"),
        ("Ordner", "Ordner"),
        ("dossier", "dossiers"),
        ("cartella", "cartelle"),
        ("carpeta", "carpetas"),
    ],
    [
        ("calendar", "calendars"),
        ("Kalender", "Kalender"),
        ("calendrier", "calendriers"),
        ("calendario", "calendari"),
        ("calendario", "calendarios"),
    ],
    [
        ("update", "updates"),
        ("Aktualisierung", "Aktualisierungen"),
        ("mise à jour", "mises à jour"),
        ("aggiornamento", "aggiornamenti"),
        ("actualización", "actualizaciones"),
    ],
    [
        ("firewall", "firewalls"),
        ("Firewall", "Firewalls"),
        ("pare-feu", "pare-feux"),
        ("firewall", "firewall"),
        ("cortafuegos", "cortafuegos"),
    ],
    [
        ("scanner", "scanners"),
        ("Scanner", "Scanner"),
        ("scanner", "scanners"),
        ("scanner", "scanner"),
        ("escáner", "escáneres"),
    ],
    [
        ("account", "accounts"),
        ("Konto", "Konten"),
        ("compte", "comptes"),
        ("utenza", "utenze"),
        ("cuenta", "cuentas"),
    ],
    [
        ("database", "databases"),
        ("Datenbank", "Datenbanken"),
        ("base", "bases"),
        ("database", "database"),
        ("base", "bases"),
    ],
    [
        ("router", "routers"),
        ("Router", "Router"),
        ("routeur", "routeurs"),
        ("router", "router"),
        ("enrutador", "enrutadores"),
    ],
    [
        ("certificate", "certificates"),
        ("Zertifikat", "Zertifikate"),
        ("certificat", "certificats"),
        ("certificato", "certificati"),
        ("certificado", "certificados"),
    ],
    [
        ("headset", "headsets"),
        ("Kopfhörer", "Kopfhörer"),
        ("casque", "casques"),
        ("cuffia", "cuffie"),
        ("auricular", "auriculares"),
    ],
    [
        ("meeting", "meetings"),
        ("Besprechung", "Besprechungen"),
        ("réunion", "réunions"),
        ("riunione", "riunioni"),
        ("reunión", "reuniones"),
    ],
    [
        ("storage", "storages"),
        ("Speicher", "Speicher"),
        ("stockage", "stockages"),
        ("archiviazione", "archiviazioni"),
        ("almacenamiento", "almacenamientos"),
    ],
];

/// Common words of each language's service-desk mail.
const COMMON: [&[&str]; 5] = [
    &[
        "the",
        "is",
        "not",
        "working",
        "since",
        "this",
        "morning",
        "please",
        "help",
        "we",
        "cannot",
        "open",
        "again",
        "after",
        "restart",
        "error",
        "message",
        "shows",
        "when",
        "users",
        "try",
        "office",
        "slow",
        "today",
        "urgent",
        "thanks",
        "colleague",
        "reports",
        "same",
        "problem",
    ],
    &[
        "der",
        "die",
        "funktioniert",
        "nicht",
        "seit",
        "heute",
        "morgen",
        "bitte",
        "Hilfe",
        "wir",
        "können",
        "öffnen",
        "wieder",
        "nach",
        "Neustart",
        "Fehler",
        "Meldung",
        "erscheint",
        "wenn",
        "Benutzer",
        "Büro",
        "langsam",
        "dringend",
        "danke",
        "Kollege",
        "meldet",
        "gleiche",
        "Problem",
        "immer",
        "noch",
    ],
    &[
        "le",
        "la",
        "ne",
        "fonctionne",
        "plus",
        "depuis",
        "ce",
        "matin",
        "merci",
        "aide",
        "nous",
        "pouvons",
        "ouvrir",
        "encore",
        "après",
        "redémarrage",
        "erreur",
        "message",
        "affiche",
        "quand",
        "utilisateurs",
        "bureau",
        "lent",
        "urgent",
        "collègue",
        "signale",
        "même",
        "problème",
        "toujours",
        "aujourd'hui",
    ],
    &[
        "il",
        "la",
        "non",
        "funziona",
        "più",
        "da",
        "stamattina",
        "per",
        "favore",
        "aiuto",
        "non",
        "riusciamo",
        "aprire",
        "dopo",
        "riavvio",
        "errore",
        "messaggio",
        "compare",
        "quando",
        "utenti",
        "ufficio",
        "lento",
        "urgente",
        "grazie",
        "collega",
        "segnala",
        "stesso",
        "problema",
        "ancora",
        "oggi",
    ],
    &[
        "el",
        "la",
        "no",
        "funciona",
        "desde",
        "esta",
        "mañana",
        "por",
        "favor",
        "ayuda",
        "no",
        "podemos",
        "abrir",
        "después",
        "reinicio",
        "error",
        "mensaje",
        "aparece",
        "cuando",
        "usuarios",
        "oficina",
        "lento",
        "urgente",
        "gracias",
        "compañero",
        "informa",
        "mismo",
        "problema",
        "todavía",
        "hoy",
    ],
];

/// Host names (`srv-0` … `srv-49999`) and error codes (`0x0000` … `0xffff`): rare terms.
fn rare_term(rng: &mut Rng) -> String {
    if rng.below(2) == 0 {
        format!("srv-{}", rng.below(50_000))
    } else {
        format!("0x{:04x}", rng.below(65_536))
    }
}

fn language_of(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..40 => 0,
        40..60 => 1,
        60..75 => 2,
        75..90 => 3,
        _ => 4,
    }
}

/// A ticket's subject and description in language `lang`.
fn ticket_text(rng: &mut Rng, lang: usize) -> (String, String) {
    let topic = rng.below(TOPICS.len());
    let word = |rng: &mut Rng, topic: usize| {
        let (one, many) = TOPICS[topic][lang];
        if rng.below(3) == 0 { many } else { one }
    };
    let mut subject = vec![word(rng, topic).to_owned()];
    for _ in 0..2 + rng.below(3) {
        subject.push(rng.pick(COMMON[lang]).to_owned());
    }
    if rng.below(3) == 0 {
        subject.push(rare_term(rng));
    }
    let mut body = Vec::new();
    for _ in 0..25 + rng.below(36) {
        let roll = rng.below(100);
        body.push(match roll {
            0..70 => rng.pick(COMMON[lang]).to_owned(),
            70..85 => word(rng, topic).to_owned(),
            85..90 => word(rng, rng.clone().below(TOPICS.len())).to_owned(),
            _ => rare_term(rng),
        });
    }
    (subject.join(" "), body.join(" "))
}

fn priority_of(rng: &mut Rng) -> Priority {
    match rng.below(100) {
        0..5 => Priority::Critical,
        5..25 => Priority::High,
        25..75 => Priority::Medium,
        _ => Priority::Low,
    }
}

/// The people of the data set.
struct People {
    /// (id, organization) of every contact.
    contacts: Vec<(i64, i64)>,
    technicians: Vec<i64>,
}

fn contact_email(organization: usize, n: usize) -> String {
    format!("contact{n}@org{organization}.example")
}

/// Creates the organizations (each with a domain and the SLA contract), contacts and
/// technicians, or reads them back from a kept data set.
async fn people(db: &TenantDb) -> anyhow::Result<People> {
    let existing = people::list_users(db, Scope::All).await?;
    if existing.is_empty() {
        let calendar: ticket_sla::StoredCalendar = serde_json::from_value(serde_json::json!({
            "key": "office", "name": "Office hours",
            "definition": { "time_zone": "Europe/Rome", "week": {
                "mon": [["09:00", "13:00"], ["14:00", "18:00"]], "tue": [["09:00", "13:00"], ["14:00", "18:00"]],
                "wed": [["09:00", "13:00"], ["14:00", "18:00"]], "thu": [["09:00", "13:00"], ["14:00", "18:00"]],
                "fri": [["09:00", "13:00"], ["14:00", "17:00"]] },
                "holidays": ["2026-12-25", "2026-12-26", "2027-01-01"] }
        }))?;
        ticket_sla::create_calendar(db, calendar, "bench").await?;
        let policy: ticket_sla::Policy = serde_json::from_value(serde_json::json!({
            "key": "standard", "name": "Standard", "calendar": "office",
            "targets": {
                "critical": { "first_response_minutes": 30, "resolution_minutes": 240 },
                "high": { "first_response_minutes": 60, "resolution_minutes": 480 },
                "medium": { "first_response_minutes": 240, "resolution_minutes": 1440 },
                "low": { "first_response_minutes": 480, "resolution_minutes": 4800 } }
        }))?;
        ticket_sla::create_policy(db, policy, "bench").await?;
        for o in 0..ORGANIZATIONS {
            let organization = organizations::create_organization(
                db,
                &format!("Organization {o}"),
                &[format!("org{o}.example")],
                "bench",
            )
            .await?;
            ticket_sla::set_organization_policy(db, organization.id, Some("standard"), "bench")
                .await?;
            for n in 0..CONTACTS_PER_ORGANIZATION {
                people::create_user(
                    db,
                    NewUser {
                        email: EmailAddress::parse(&contact_email(o, n))?,
                        display_name: format!("Contact {n} of {o}"),
                        role: if n == 0 {
                            Role::MainContact
                        } else {
                            Role::Contact
                        },
                        invite: false,
                        organization_id: Some(organization.id),
                    },
                )
                .await?;
            }
        }
        for t in 0..TECHNICIANS {
            people::create_user(
                db,
                NewUser {
                    email: EmailAddress::parse(&format!("tech{t}@{SLUG}.example"))?,
                    display_name: format!("Technician {t}"),
                    role: Role::Technician,
                    invite: false,
                    organization_id: None,
                },
            )
            .await?;
        }
    }
    let users = people::list_users(db, Scope::All).await?;
    let contacts = users
        .iter()
        .filter(|u| matches!(u.role, Role::Contact | Role::MainContact))
        .filter_map(|u| Some((u.id, u.organization_id?)))
        .collect::<Vec<_>>();
    let technicians = users
        .iter()
        .filter(|u| u.role == Role::Technician)
        .map(|u| u.id)
        .collect::<Vec<_>>();
    anyhow::ensure!(
        contacts.len() == ORGANIZATIONS * CONTACTS_PER_ORGANIZATION
            && technicians.len() == TECHNICIANS,
        "unexpected people in the data set"
    );
    Ok(People {
        contacts,
        technicians,
    })
}

/// The final status of the `n`-th filled ticket (see the module's text).
fn final_status(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..10 => "new",
        10..25 => "open",
        25..30 => "waiting",
        30..35 => "paused",
        35..45 => "resolved",
        _ => "closed",
    }
}

/// Imports tickets until the tenant holds `target`: batches of 1,000 through the
/// library's bulk import (one transaction each, the same rows as creation: ticket,
/// first message indexed for search, status history, counts), opened over the three
/// years before now, oldest first.
/// What the server's worker does while tickets arrive, done at once (SQLite: the
/// search index's segments merged; PostgreSQL: nothing, autovacuum's part).
async fn maintain(db: &TenantDb) -> anyhow::Result<()> {
    let merging = Instant::now();
    let mut passes = 0;
    while !tickets::maintain_search_index(db, 64).await? {
        passes += 1;
    }
    println!(
        "fill: search index maintained in {:.1} s ({} passes of 64 steps)",
        merging.elapsed().as_secs_f64(),
        passes + 1
    );
    Ok(())
}

async fn fill(db: &TenantDb, people: &People, target: u64) -> anyhow::Result<()> {
    let present = tickets::status_counts(db, Scope::All)
        .await?
        .iter()
        .map(|(_, n)| *n as u64)
        .sum::<u64>();
    if present >= target {
        println!("fill: the data set already holds {present} tickets");
        return Ok(());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let span = 3 * 365 * 86_400_000_i64;
    let started = Instant::now();
    let mut n = present;
    while n < target {
        let size = (target - n).min(1_000);
        let mut batch = Vec::with_capacity(size as usize);
        for i in n..n + size {
            let mut rng = Rng::new(i + 1);
            let lang = language_of(&mut rng);
            let (subject, description) = ticket_text(&mut rng, lang);
            let (requester_id, organization_id) = people.contacts[rng.below(people.contacts.len())];
            let created_at = now - span + (span / target as i64) * i as i64;
            let status = final_status(&mut rng);
            let updated_at = if status == "new" {
                created_at
            } else {
                (created_at + rng.below(10 * 86_400_000) as i64).min(now)
            };
            batch.push(ImportedTicket {
                subject,
                description,
                priority: priority_of(&mut rng),
                status: status.to_owned(),
                requester_id,
                organization_id: Some(organization_id),
                assignee_id: (status != "new" && i % 3 == 0)
                    .then(|| people.technicians[rng.below(people.technicians.len())]),
                source: if rng.below(2) == 0 {
                    Source::Email
                } else {
                    Source::Portal
                },
                language: LANGUAGES[lang].to_owned(),
                created_at,
                updated_at,
            });
        }
        import::import_tickets(db, &batch, "bench").await?;
        n += size;
        if n % 100_000 == 0 {
            println!(
                "fill: {n} tickets ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "fill: {} tickets imported in {elapsed:.0} s ({:.0} tickets/s)",
        target - present,
        (target - present) as f64 / elapsed
    );
    Ok(())
}

struct Client {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Client {
    async fn get(&self, token: &str, path: &str) -> anyhow::Result<(f64, serde_json::Value)> {
        let began = Instant::now();
        let response = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .header("Host", host())
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status == 200,
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok((ms, serde_json::from_slice(&body)?))
    }

    /// A page with a session cookie: milliseconds and the HTML's size.
    async fn page(&self, cookie: &str, path: &str) -> anyhow::Result<(f64, usize)> {
        let began = Instant::now();
        let response = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .header("Host", host())
            .header("Cookie", cookie)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status == 200,
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok((ms, body.len()))
    }
}

/// `POST /api/v1/tickets` from `concurrency` clients for `seconds`.
async fn create_phase(
    client: &Arc<Client>,
    token: &Arc<str>,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, token) = (client.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(0xC0FF_EE00 + worker as u64 * 7919 + seconds);
            let mut latencies = Vec::new();
            let mut failures = 0_u64;
            while Instant::now() < deadline {
                let lang = language_of(&mut rng);
                let (subject, description) = ticket_text(&mut rng, lang);
                let body = serde_json::json!({
                    "subject": subject,
                    "description": description,
                    "priority": priority_of(&mut rng).as_str(),
                    "requester_email": contact_email(
                        rng.below(ORGANIZATIONS),
                        rng.below(CONTACTS_PER_ORGANIZATION)
                    ),
                });
                let began = Instant::now();
                let response = client
                    .http
                    .post(format!("http://{}/api/v1/tickets", client.addr))
                    .header("Host", host())
                    .bearer_auth(&*token)
                    .json(&body)
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if status == 201 {
                    latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failures += 1;
                }
            }
            anyhow::Ok((latencies, failures))
        }));
    }
    let began = Instant::now();
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mine, failed) = task.await??;
        latencies.extend(mine);
        failures += failed;
    }
    let wall = began.elapsed().as_secs_f64();
    let created = latencies.len();
    let latencies = common::sorted(latencies);
    println!(
        "create, concurrency {concurrency:>2}: {:>6.0} tickets/s ({created} in {wall:.1} s), p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms{}",
        created as f64 / wall,
        common::quantile(&latencies, 0.5),
        common::quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        if failures > 0 {
            format!("; {failures} FAILED")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// `requests` sequential GETs of `path` (or of the paths `path` yields per request).
async fn measure(
    client: &Client,
    label: &str,
    token: &str,
    requests: usize,
    mut path: impl FnMut(usize) -> String,
) -> anyhow::Result<()> {
    // Warm-up: the first requests read the pages into the caches.
    for i in 0..requests.min(20) {
        client.get(token, &path(i)).await?;
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut rows = 0_usize;
    let mut total = 0_i64;
    for i in 0..requests {
        let (ms, body) = client.get(token, &path(i)).await?;
        latencies.push(ms);
        rows += body["tickets"].as_array().map_or(0, Vec::len);
        total = body["counts"]["all"].as_i64().unwrap_or(0);
    }
    let latencies = common::sorted(latencies);
    println!(
        "{label:<58} p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.1} ms ({:.1} rows per page; tab 'all' {total})",
        common::quantile(&latencies, 0.5),
        common::quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        rows as f64 / requests as f64,
    );
    Ok(())
}

/// The cursor of page `pages` of `path` (for a deep-page measurement).
async fn cursor_after(
    client: &Client,
    token: &str,
    path: &str,
    pages: usize,
) -> anyhow::Result<String> {
    let mut cursor = String::new();
    for _ in 0..pages {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = if cursor.is_empty() {
            path.to_owned()
        } else {
            format!("{path}{sep}after={cursor}")
        };
        let (_, body) = client.get(token, &url).await?;
        cursor = body["next_cursor"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no next page"))?
            .to_owned();
    }
    Ok(cursor)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let options = ["--tickets", "--seconds", "--requests", "--data", "--phases"];
    let backend = common::positional(&args, &options)
        .first()
        .cloned()
        .unwrap_or_else(|| "sqlite".to_owned());
    let target: u64 = common::option(&args, "--tickets")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let seconds: u64 = common::option(&args, "--seconds")
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let requests: usize = common::option(&args, "--requests")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let kept = common::option(&args, "--data").map(PathBuf::from);
    let phases = common::option(&args, "--phases").unwrap_or_else(|| "create,fill,read".to_owned());
    let phase = |name: &str| phases.split(',').any(|p| p.trim() == name);
    let temporary = tempfile::tempdir()?;
    let data_dir = kept
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    std::fs::create_dir_all(&data_dir)?;
    let mut env: Vec<(&str, String)> = Vec::new();
    if backend == "postgres" {
        let marker = data_dir.join("postgres-kept");
        if kept.is_none() || !marker.exists() {
            common::psql(&format!(
                "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
            ))?;
            common::psql(&format!("CREATE DATABASE {PG_DATABASE}"))?;
            std::fs::write(&marker, PG_DATABASE)?;
        }
        env.push((
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"),
        ));
        // PostgreSQL wants a master key every instance shares: kept with the data.
        let key_file = data_dir.join("master.key");
        if !key_file.exists() {
            std::fs::write(&key_file, portico_core::secrets::MasterKey::generate().1)?;
        }
        env.push(("PORTICO_MASTER_KEY_FILE", key_file.display().to_string()));
    } else {
        anyhow::ensure!(backend == "sqlite", "backend: sqlite or postgres");
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let defaults = Settings::load_with_env(None, &env_refs)?;
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.clone(),
        demo_tenant: false,
        mail_sink: MailSink::Log,
        poll_ms: 100,
        shutdown_grace: 5,
        ..defaults
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let application = Application::build(settings, listener, Extensions::default()).await?;
    let addr = application.local_addr()?;
    let state = application.state().clone();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(application.run(shutdown.clone()));

    if state.store.tenant_by_slug(SLUG).await.is_err() {
        registry::create_tenant(&state.store, &TenantSlug::parse(SLUG)?, "Bench MSP").await?;
    }
    let routed = Instant::now();
    while !matches!(state.hosts.resolve(&host()), HostMatch::Tenant(_)) {
        anyhow::ensure!(
            routed.elapsed() < Duration::from_secs(10),
            "tenant not routed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let db = state.store.tenant_by_slug(SLUG).await?;
    let people = people(&db).await?;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let admin: Arc<str> =
        tokens::create_api_token(&state.store, SLUG, &format!("bench {run}"), Role::MspAdmin)
            .await?
            .into();
    let technician = tokens::create_personal_token(
        &state.store,
        SLUG,
        &format!("tech {run}"),
        &format!("tech0@{SLUG}.example"),
    )
    .await?;
    let main_contact = tokens::create_personal_token(
        &state.store,
        SLUG,
        &format!("main {run}"),
        &contact_email(7, 0),
    )
    .await?;
    let contact = tokens::create_personal_token(
        &state.store,
        SLUG,
        &format!("contact {run}"),
        &contact_email(7, 3),
    )
    .await?;
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?,
        addr,
    });

    println!("backend {backend}; data in {}", data_dir.display());
    if phase("create") {
        for concurrency in [1, 8, 32] {
            create_phase(&client, &admin, concurrency, seconds).await?;
        }
    }
    if phase("fill") {
        fill(&db, &people, target).await?;
        maintain(&db).await?;
    }
    if phase("pages") {
        pages_phase(&state, &db, &client, &contact, requests).await?;
    }
    if phase("read") {
        read_phase(
            &client,
            &people,
            &admin,
            &technician,
            &main_contact,
            &contact,
            requests,
        )
        .await?;
    }

    shutdown.cancel();
    server.await??;
    if kept.is_none() && backend == "postgres" {
        common::psql(&format!(
            "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
        ))?;
    }
    Ok(())
}

/// A signed-in browser session for `email` (stored as sign-in stores it), as the
/// `Cookie` header a browser would send.
async fn session_cookie(
    state: &portico_core::state::AppState,
    db: &TenantDb,
    email: &str,
) -> anyhow::Result<String> {
    use portico_core::identity::session;
    let user = people::list_users(db, Scope::All)
        .await?
        .into_iter()
        .find(|u| u.email == email)
        .ok_or_else(|| anyhow::anyhow!("{email} is missing"))?;
    let id = session::new_session_id();
    let csrf = session::new_csrf_token();
    let mut tx = db.begin().await?;
    state
        .sessions
        .create(
            db,
            &mut tx,
            portico_tenants::accounts::NewSession {
                id_hash: &tokens::hash_token(&id),
                user_id: user.id,
                state: portico_tenants::accounts::SessionState::Active,
                csrf_token: &csrf,
                expires_at: portico_tenants::clock::now_ms() + 12 * 3_600_000,
                ip: "127.0.0.1",
                user_agent: "bench",
            },
            3_600_000,
        )
        .await
        .map_err(|e| anyhow::anyhow!("session: {e:?}"))?;
    tx.commit().await?;
    Ok(format!(
        "{}={id}",
        session::session_cookie_name(&state.settings)
    ))
}

/// Every portal and console page, server time as the client sees it on loopback:
/// one request at a time, each page with its session.
async fn pages_phase(
    state: &portico_core::state::AppState,
    db: &TenantDb,
    client: &Client,
    contact_token: &str,
    requests: usize,
) -> anyhow::Result<()> {
    let contact = session_cookie(state, db, &contact_email(7, 3)).await?;
    let main_contact = session_cookie(state, db, &contact_email(7, 0)).await?;
    let technician = session_cookie(state, db, &format!("tech0@{SLUG}.example")).await?;
    // An MSP administrator for the administration pages (made once per data set).
    let admin_email = format!("admin@{SLUG}.example");
    if people::list_users(db, Scope::All)
        .await?
        .iter()
        .all(|u| u.email != admin_email)
    {
        people::create_user(
            db,
            NewUser {
                email: EmailAddress::parse(&admin_email)?,
                display_name: "Bench admin".to_owned(),
                role: Role::MspAdmin,
                invite: false,
                organization_id: None,
            },
        )
        .await?;
    }
    let admin = session_cookie(state, db, &admin_email).await?;
    // One of the contact's own tickets (the newest), for the ticket page.
    let (_, own) = client.get(contact_token, "/api/v1/tickets?limit=1").await?;
    let number = own["tickets"][0]["number"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("the contact has no ticket"))?;
    let shapes: Vec<(&str, &str, String)> = vec![
        (
            "contact: /tickets (in progress, counts)",
            &contact,
            "/tickets".to_owned(),
        ),
        (
            "contact: /tickets?status=closed",
            &contact,
            "/tickets?status=closed".to_owned(),
        ),
        (
            "contact: /tickets?q=printer",
            &contact,
            "/tickets?q=printer".to_owned(),
        ),
        ("contact: /tickets/new", &contact, "/tickets/new".to_owned()),
        (
            "contact: /tickets/{n}",
            &contact,
            format!("/tickets/{number}"),
        ),
        (
            "contact: /tickets/{n}/thread (live fragment)",
            &contact,
            format!("/tickets/{number}/thread"),
        ),
        (
            "main contact: /tickets (organization)",
            &main_contact,
            "/tickets".to_owned(),
        ),
        (
            "technician: /console?view=mine",
            &technician,
            "/console?view=mine".to_owned(),
        ),
        (
            "technician: /console?view=unassigned",
            &technician,
            "/console?view=unassigned".to_owned(),
        ),
        (
            "technician: /console?view=sla",
            &technician,
            "/console?view=sla".to_owned(),
        ),
        (
            "technician: /console?view=approval",
            &technician,
            "/console?view=approval".to_owned(),
        ),
        (
            "technician: /console?view=all",
            &technician,
            "/console?view=all".to_owned(),
        ),
        (
            "technician: /console?view=all&status=open",
            &technician,
            "/console?view=all&status=open".to_owned(),
        ),
        (
            "technician: /tickets/{n} (workspace)",
            &technician,
            format!("/tickets/{number}"),
        ),
        (
            "technician: /console?view=all&q=srv-{n} (search)",
            &technician,
            "/console?view=all&q=srv-{n}".to_owned(),
        ),
        (
            "contact: /account/settings",
            &contact,
            "/account/settings".to_owned(),
        ),
        (
            "main contact: /reports (this month)",
            &main_contact,
            "/reports".to_owned(),
        ),
        ("admin: /admin/people", &admin, "/admin/people".to_owned()),
        (
            "admin: /admin/people?q=contact7",
            &admin,
            "/admin/people?q=contact7".to_owned(),
        ),
        (
            "admin: /admin/organizations",
            &admin,
            "/admin/organizations".to_owned(),
        ),
        ("admin: /admin/portal", &admin, "/admin/portal".to_owned()),
        ("admin: /admin/sla", &admin, "/admin/sla".to_owned()),
        ("admin: /admin/audit", &admin, "/admin/audit".to_owned()),
    ];
    println!("pages, {requests} requests one at a time (server-rendered HTML):");
    for (label, cookie, path) in &shapes {
        let path_of = |i: usize| path.replace("{n}", &((i * 7919) % 50_000).to_string());
        for i in 0..requests.min(20) {
            client.page(cookie, &path_of(i)).await?;
        }
        let mut latencies = Vec::with_capacity(requests);
        let mut bytes = 0_usize;
        for i in 0..requests {
            let (ms, size) = client.page(cookie, &path_of(i)).await?;
            latencies.push(ms);
            bytes = size;
        }
        let latencies = common::sorted(latencies);
        println!(
            "{label:<58} p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.1} ms ({bytes} bytes)",
            common::quantile(&latencies, 0.5),
            common::quantile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

/// The list and search measurements.
async fn read_phase(
    client: &Client,
    people: &People,
    admin: &str,
    technician: &str,
    main_contact: &str,
    contact: &str,
    requests: usize,
) -> anyhow::Result<()> {
    let organization = people.contacts[7 * CONTACTS_PER_ORGANIZATION].1;
    let deep = cursor_after(client, admin, "/api/v1/tickets?status=closed", 20).await?;
    let shapes: Vec<(&str, &str, String)> = vec![
        (
            "staff, all tickets, first page",
            admin,
            "/api/v1/tickets".to_owned(),
        ),
        (
            "staff, status open",
            admin,
            "/api/v1/tickets?status=open".to_owned(),
        ),
        (
            "staff, status closed, page 21 (cursor)",
            admin,
            format!("/api/v1/tickets?status=closed&after={deep}"),
        ),
        (
            "staff, one organization",
            admin,
            format!("/api/v1/tickets?organization={organization}"),
        ),
        (
            "staff, unassigned, status new",
            admin,
            "/api/v1/tickets?assignee=none&status=new".to_owned(),
        ),
        (
            "staff, SLA at risk",
            admin,
            "/api/v1/tickets?sla=at_risk".to_owned(),
        ),
        (
            "staff, priority critical, status open",
            admin,
            "/api/v1/tickets?priority=critical&status=open".to_owned(),
        ),
        (
            "technician, assigned to me, status open",
            technician,
            "/api/v1/tickets?assignee=me&status=open".to_owned(),
        ),
        (
            "main contact (organization scope), all",
            main_contact,
            "/api/v1/tickets".to_owned(),
        ),
        (
            "contact (own scope), all",
            contact,
            "/api/v1/tickets".to_owned(),
        ),
        (
            "contact (own scope), status closed",
            contact,
            "/api/v1/tickets?status=closed".to_owned(),
        ),
    ];
    println!("list with the tabs' counts, 50 per page, {requests} requests one at a time:");
    for (label, token, path) in &shapes {
        measure(client, label, token, requests, |_| path.clone()).await?;
    }
    println!("search (q=…), 50 per page, {requests} requests one at a time:");
    let searches: Vec<(&str, &str, String)> = vec![
        (
            "staff, a host name (rare; a different one each time)",
            admin,
            "/api/v1/tickets?q=srv-{n}".to_owned(),
        ),
        (
            "staff, 'printer' (a topic, English)",
            admin,
            "/api/v1/tickets?q=printer&lang=en".to_owned(),
        ),
        (
            "staff, 'stampanti' (a topic, Italian, stemmed)",
            admin,
            "/api/v1/tickets?q=stampanti&lang=it".to_owned(),
        ),
        (
            "staff, 'Drucker Fehler' (two words, German)",
            admin,
            "/api/v1/tickets?q=Drucker%20Fehler&lang=de".to_owned(),
        ),
        (
            "staff, 'please' (in most English tickets)",
            admin,
            "/api/v1/tickets?q=please&lang=en".to_owned(),
        ),
        (
            "staff, 'printer', status open",
            admin,
            "/api/v1/tickets?q=printer&lang=en&status=open".to_owned(),
        ),
        (
            "contact (own scope), 'printer'",
            contact,
            "/api/v1/tickets?q=printer&lang=en".to_owned(),
        ),
    ];
    for (label, token, path) in &searches {
        measure(client, label, token, requests, |i| {
            path.replace("{n}", &((i * 7919) % 50_000).to_string())
        })
        .await?;
    }
    Ok(())
}
