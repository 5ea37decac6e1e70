//! Knowledge-base search at 10,000 articles, over HTTP against the real
//! application (port 0, in this process) on either backend.
//!
//! The data set: `--articles` articles (default 10,000) written through
//! `kb::create_article` and published, in five languages (en 40 %, de 20 %, fr 15 %,
//! it 15 %, es 10 %), one in five with a second version in English; visibility public
//! 30 %, all customers 40 %, one of 20 organizations 20 %, internal 10 %. Each body has
//! about 250 words: one of 24 topics' words in its language, common words, and a
//! product code (`px-0` … `px-1999`) as a rare term.
//!
//! Measured (`--requests` each, default 1,000, one at a time after 20 warm-up
//! requests): `GET /api/v1/kb/search` as a technician, a contact (their
//! organization's view), anonymously (public articles), for a topic word in the
//! searcher's language, a common word, two words, a rare code; and
//! `GET /api/v1/kb/suggestions` for a ticket subject (any word may match).
//!
//! Run: `cargo bench -p portico-core --bench kb -- [sqlite|postgres] [--articles N]
//! [--requests R]`. Everything is thrown away at the end (PostgreSQL: the database
//! `portico_bench_kb`). The load generator shares the process and the two cores.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use portico_core::app::{Application, Extensions};
use portico_core::settings::{MailSink, Settings};
use portico_tenants::ids::EmailAddress;
use portico_tenants::kb::{self, NewArticle, Visibility};
use portico_tenants::people::{self, NewUser};
use portico_tenants::routing::HostMatch;
use portico_tenants::{Role, TenantSlug, organizations, registry, tokens};
use tokio_util::sync::CancellationToken;

mod common;

const SLUG: &str = "kbbench";
const PG_DATABASE: &str = "portico_bench_kb";
const ORGANIZATIONS: usize = 20;

fn host() -> String {
    format!("{SLUG}.localhost")
}

/// xorshift64*: the same data set on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Per language: topics (title words, body words) and common words.
struct Vocabulary {
    language: &'static str,
    topics: [(&'static str, &'static str); 8],
    common: &'static [&'static str],
}

const VOCABULARIES: [Vocabulary; 5] = [
    Vocabulary {
        language: "en",
        topics: [
            (
                "Printer does not print",
                "printer printing spooler toner paper jam queue driver",
            ),
            (
                "VPN connection drops",
                "vpn tunnel client certificate gateway connection timeout",
            ),
            (
                "Outlook asks for the password",
                "outlook mailbox password credential profile exchange",
            ),
            (
                "Laptop battery drains",
                "laptop battery charger power sleep hibernate",
            ),
            (
                "Shared folder access denied",
                "folder share permission access denied group drive",
            ),
            (
                "Wi-Fi keeps disconnecting",
                "wifi wireless network access point signal roaming",
            ),
            (
                "Teams meeting without sound",
                "teams meeting audio microphone headset speaker",
            ),
            (
                "Reset a forgotten password",
                "password reset account locked sign-in recovery",
            ),
        ],
        common: &[
            "please", "the", "and", "then", "open", "check", "restart", "settings", "user",
            "computer", "click", "window", "again", "after", "before", "select", "menu",
        ],
    },
    Vocabulary {
        language: "de",
        topics: [
            (
                "Der Drucker druckt nicht",
                "drucker druckauftrag warteschlange toner papierstau treiber",
            ),
            (
                "VPN-Verbindung bricht ab",
                "vpn tunnel zertifikat verbindung zeitüberschreitung",
            ),
            (
                "Outlook fragt nach dem Kennwort",
                "outlook postfach kennwort anmeldedaten profil",
            ),
            (
                "Akku des Laptops entlädt sich",
                "laptop akku ladegerät energie ruhezustand",
            ),
            (
                "Zugriff auf Freigabe verweigert",
                "ordner freigabe berechtigung zugriff gruppe laufwerk",
            ),
            (
                "WLAN trennt sich ständig",
                "wlan netzwerk zugangspunkt signal verbindung",
            ),
            (
                "Teams-Besprechung ohne Ton",
                "teams besprechung mikrofon lautsprecher headset",
            ),
            (
                "Vergessenes Kennwort zurücksetzen",
                "kennwort zurücksetzen konto gesperrt anmeldung",
            ),
        ],
        common: &[
            "bitte",
            "der",
            "die",
            "und",
            "dann",
            "öffnen",
            "prüfen",
            "neu",
            "starten",
            "einstellungen",
            "benutzer",
            "fenster",
            "wieder",
            "nach",
            "auswählen",
        ],
    },
    Vocabulary {
        language: "fr",
        topics: [
            (
                "L'imprimante n'imprime pas",
                "imprimante impression spouleur toner bourrage pilote",
            ),
            (
                "La connexion VPN se coupe",
                "vpn tunnel certificat connexion passerelle délai",
            ),
            (
                "Outlook demande le mot de passe",
                "outlook messagerie mot passe profil identifiants",
            ),
            (
                "La batterie du portable se vide",
                "portable batterie chargeur alimentation veille",
            ),
            (
                "Accès refusé au dossier partagé",
                "dossier partage autorisation accès refusé groupe",
            ),
            (
                "Le Wi-Fi se déconnecte",
                "wifi réseau borne signal connexion",
            ),
            (
                "Réunion Teams sans son",
                "teams réunion micro casque haut-parleur",
            ),
            (
                "Réinitialiser un mot de passe oublié",
                "mot passe réinitialiser compte verrouillé",
            ),
        ],
        common: &[
            "merci",
            "le",
            "la",
            "et",
            "puis",
            "ouvrir",
            "vérifier",
            "redémarrer",
            "paramètres",
            "utilisateur",
            "fenêtre",
            "encore",
            "après",
            "sélectionner",
        ],
    },
    Vocabulary {
        language: "it",
        topics: [
            (
                "La stampante non stampa",
                "stampante stampa coda toner inceppamento driver",
            ),
            (
                "La connessione VPN cade",
                "vpn tunnel certificato connessione gateway",
            ),
            (
                "Outlook chiede la password",
                "outlook casella password credenziali profilo",
            ),
            (
                "La batteria del portatile si scarica",
                "portatile batteria caricatore alimentazione",
            ),
            (
                "Accesso negato alla cartella condivisa",
                "cartella condivisione permessi accesso negato",
            ),
            (
                "Il Wi-Fi si disconnette",
                "wifi rete wireless segnale connessione",
            ),
            (
                "Riunione Teams senza audio",
                "teams riunione microfono cuffie altoparlante",
            ),
            (
                "Reimpostare una password dimenticata",
                "password reimpostare account bloccato accesso",
            ),
        ],
        common: &[
            "grazie",
            "il",
            "la",
            "e",
            "poi",
            "aprire",
            "controllare",
            "riavviare",
            "impostazioni",
            "utente",
            "finestra",
            "ancora",
            "dopo",
            "selezionare",
        ],
    },
    Vocabulary {
        language: "es",
        topics: [
            (
                "La impresora no imprime",
                "impresora impresión cola tóner atasco controlador",
            ),
            (
                "La conexión VPN se corta",
                "vpn túnel certificado conexión puerta",
            ),
            (
                "Outlook pide la contraseña",
                "outlook buzón contraseña credenciales perfil",
            ),
            (
                "La batería del portátil se agota",
                "portátil batería cargador energía suspensión",
            ),
            (
                "Acceso denegado a la carpeta compartida",
                "carpeta compartida permiso acceso denegado",
            ),
            (
                "El Wi-Fi se desconecta",
                "wifi red inalámbrica señal conexión",
            ),
            (
                "Reunión de Teams sin sonido",
                "teams reunión micrófono auriculares altavoz",
            ),
            (
                "Restablecer una contraseña olvidada",
                "contraseña restablecer cuenta bloqueada",
            ),
        ],
        common: &[
            "gracias",
            "el",
            "la",
            "y",
            "luego",
            "abrir",
            "comprobar",
            "reiniciar",
            "configuración",
            "usuario",
            "ventana",
            "otra",
            "después",
            "seleccionar",
        ],
    },
];

fn language_index(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..40 => 0,
        40..60 => 1,
        60..75 => 2,
        75..90 => 3,
        _ => 4,
    }
}

/// An article's title and Markdown body in vocabulary `v`.
fn article_text(rng: &mut Rng, v: &Vocabulary, n: usize) -> (String, String) {
    let (title, topic) = v.topics[rng.below(v.topics.len())];
    let topic: Vec<&str> = topic.split(' ').collect();
    let mut body = format!("## {title}\n\n");
    for paragraph in 0..5 {
        for word in 0..50 {
            let w = if word % 5 == 0 {
                rng.pick(&topic)
            } else {
                rng.pick(v.common)
            };
            body.push_str(w);
            body.push(' ');
        }
        if paragraph == 2 {
            body.push_str(&format!("(product code px-{})", n % 2000));
        }
        body.push_str("\n\n");
    }
    (format!("{title} ({n})"), body)
}

struct Client {
    http: reqwest::Client,
    addr: SocketAddr,
}

impl Client {
    async fn get(&self, token: Option<&str>, path: &str) -> anyhow::Result<(f64, usize)> {
        let began = Instant::now();
        let mut request = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .header("Host", host());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(
            status == 200,
            "GET {path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        let hits: serde_json::Value = serde_json::from_slice(&body)?;
        Ok((ms, hits.as_array().map_or(0, Vec::len)))
    }
}

async fn measure(
    client: &Client,
    label: &str,
    token: Option<&str>,
    requests: usize,
    mut path: impl FnMut(usize) -> String,
) -> anyhow::Result<()> {
    for i in 0..requests.min(20) {
        client.get(token, &path(i)).await?;
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut hits = 0;
    for i in 0..requests {
        let (ms, n) = client.get(token, &path(i)).await?;
        latencies.push(ms);
        hits += n;
    }
    let latencies = common::sorted(latencies);
    println!(
        "{label:<52} p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.1} ms ({:.1} hits)",
        common::quantile(&latencies, 0.5),
        common::quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        hits as f64 / requests as f64
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let options = ["--articles", "--requests"];
    let backend = common::positional(&args, &options)
        .first()
        .cloned()
        .unwrap_or_else(|| "sqlite".to_owned());
    let articles: usize = common::option(&args, "--articles")
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let requests: usize = common::option(&args, "--requests")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let temporary = tempfile::tempdir()?;
    let mut env: Vec<(&str, String)> = Vec::new();
    if backend == "postgres" {
        common::psql(&format!(
            "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
        ))?;
        common::psql(&format!("CREATE DATABASE {PG_DATABASE}"))?;
        env.push((
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"),
        ));
        let key_file = temporary.path().join("master.key");
        std::fs::write(&key_file, portico_core::secrets::MasterKey::generate().1)?;
        env.push(("PORTICO_MASTER_KEY_FILE", key_file.display().to_string()));
    } else {
        anyhow::ensure!(backend == "sqlite", "backend: sqlite or postgres");
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let defaults = Settings::load_with_env(None, &env_refs)?;
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: temporary.path().to_path_buf(),
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
    registry::create_tenant(&state.store, &TenantSlug::parse(SLUG)?, "KB bench").await?;
    let routed = Instant::now();
    while !matches!(state.hosts.resolve(&host()), HostMatch::Tenant(_)) {
        anyhow::ensure!(
            routed.elapsed() < Duration::from_secs(10),
            "tenant not routed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let db = state.store.tenant_by_slug(SLUG).await?;
    let mut orgs = Vec::new();
    for o in 0..ORGANIZATIONS {
        orgs.push(
            organizations::create_organization(
                &db,
                &format!("Org {o}"),
                &[format!("org{o}.example")],
                "bench",
            )
            .await?
            .id,
        );
    }
    for (email, role, org) in [
        ("tech@msp.example", Role::Technician, None),
        ("anna@org3.example", Role::Contact, Some(orgs[3])),
    ] {
        people::create_user(
            &db,
            NewUser {
                email: EmailAddress::parse(email)?,
                display_name: String::new(),
                role,
                invite: false,
                organization_id: org,
            },
        )
        .await?;
    }
    let technician =
        tokens::create_personal_token(&state.store, SLUG, "tech", "tech@msp.example").await?;
    let contact =
        tokens::create_personal_token(&state.store, SLUG, "anna", "anna@org3.example").await?;
    portico_tenants::accounts::set_tenant_setting(
        &db,
        kb::PUBLIC_SETTING,
        &serde_json::json!(true),
        "bench",
    )
    .await?;

    let began = Instant::now();
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    for n in 0..articles {
        let v = &VOCABULARIES[language_index(&mut rng)];
        let (title, body) = article_text(&mut rng, v, n);
        let (visibility, organizations) = match rng.below(10) {
            0..3 => (Visibility::Public, Vec::new()),
            3..7 => (Visibility::Customers, Vec::new()),
            7..9 => (
                Visibility::Organizations,
                vec![orgs[rng.below(ORGANIZATIONS)]],
            ),
            _ => (Visibility::Internal, Vec::new()),
        };
        let id = kb::create_article(
            &db,
            NewArticle {
                slug: None,
                language: v.language.to_owned(),
                title,
                body,
                category: None,
                tags: Vec::new(),
                visibility,
                organizations,
                publish: true,
                source_ticket_id: None,
            },
            "bench",
        )
        .await?;
        if v.language != "en" && rng.below(5) == 0 {
            let (title, body) = article_text(&mut rng, &VOCABULARIES[0], n);
            kb::save_translation(&db, id, "en", &title, &body, "", true, "bench").await?;
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    println!(
        "backend {backend}: {articles} articles written and published in {elapsed:.1} s ({:.0}/s)",
        articles as f64 / elapsed
    );
    if backend == "postgres" {
        // As autovacuum would have done by now: statistics and the GIN pending list.
        let url = format!("postgres://postgres@127.0.0.1:5432/{PG_DATABASE}");
        let status = std::process::Command::new("psql")
            .args([url.as_str(), "-q", "-c", "VACUUM ANALYZE"])
            .status()?;
        anyhow::ensure!(status.success(), "vacuum");
    }

    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(8)
            .build()?,
        addr,
    };
    let (tech, anna) = (Some(technician.as_str()), Some(contact.as_str()));
    let topic_words = [
        ("en", "printers"),
        ("de", "Druckers"),
        ("fr", "imprimantes"),
        ("it", "stampanti"),
        ("es", "impresoras"),
    ];
    measure(
        &client,
        "technician, a topic word in each language",
        tech,
        requests,
        |i| {
            let (lang, word) = topic_words[i % 5];
            format!("/api/v1/kb/search?q={word}&lang={lang}")
        },
    )
    .await?;
    measure(
        &client,
        "contact (organization's view), topic word",
        anna,
        requests,
        |i| {
            let (lang, word) = topic_words[i % 5];
            format!("/api/v1/kb/search?q={word}&lang={lang}")
        },
    )
    .await?;
    measure(
        &client,
        "anonymous (public articles), topic word",
        None,
        requests,
        |i| {
            let (lang, word) = topic_words[i % 5];
            format!("/api/v1/kb/search?q={word}&lang={lang}")
        },
    )
    .await?;
    measure(
        &client,
        "technician, a common word ('please', en)",
        tech,
        requests,
        |_| "/api/v1/kb/search?q=please&lang=en".to_owned(),
    )
    .await?;
    measure(
        &client,
        "contact, two words ('restart printer', en)",
        anna,
        requests,
        |_| "/api/v1/kb/search?q=restart%20printer&lang=en".to_owned(),
    )
    .await?;
    measure(
        &client,
        "contact, a rare product code (px-N)",
        anna,
        requests,
        |i| format!("/api/v1/kb/search?q=px-{}&lang=en", (i * 37) % 2000),
    )
    .await?;
    measure(
        &client,
        "suggestions for a ticket subject (contact, it)",
        anna,
        requests,
        |_| {
            "/api/v1/kb/suggestions?subject=la%20mia%20stampante%20non%20stampa%20pi%C3%B9&lang=it"
                .to_owned()
        },
    )
    .await?;

    shutdown.cancel();
    server.await??;
    if backend == "postgres" {
        common::psql(&format!(
            "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
        ))?;
    }
    Ok(())
}
