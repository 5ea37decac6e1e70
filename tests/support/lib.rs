//! Test support: the whole application on port 0, on a fresh SQLite directory or a
//! fresh PostgreSQL database per test, driven over HTTP with explicit `Host` headers
//! (`*.localhost` does not resolve outside browsers here).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use portico_core::app::{Application, Extensions};
use portico_core::settings::{MailSink, Settings};
use portico_core::state::AppState;
use portico_tenants::registry::{self, TenantRecord};
use portico_tenants::work::Worker;
use portico_tenants::{Role, Store, TenantDb, TenantSlug, tokens};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// PostgreSQL on 127.0.0.1:5432 (override with `PORTICO_TEST_PG`).
    Postgres,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let filter = if filter.is_empty() {
                "info".to_owned()
            } else {
                filter
            };
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

fn admin_url() -> String {
    std::env::var("PORTICO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh PostgreSQL database, dropped when the test ends (even on panic).
struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> TestDatabase {
        use sqlx::Connection;
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL is reachable for tests");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base.to_owned())
            .unwrap_or(admin);
        TestDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop needs async I/O: do it on a private runtime in its own thread.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A place for one or more application instances to share: a data directory and,
/// for PostgreSQL, a database and a master key.
pub struct TestEnv {
    /// The backend.
    pub backend: Backend,
    data: tempfile::TempDir,
    database: Option<TestDatabase>,
    master_key: String,
}

impl TestEnv {
    /// A fresh, empty environment.
    pub async fn new(backend: Backend) -> Arc<TestEnv> {
        init_logs();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await),
        };
        let (_, master_key) = portico_core::secrets::MasterKey::generate();
        Arc::new(TestEnv {
            backend,
            data: tempfile::tempdir().expect("temp dir"),
            database,
            master_key,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data.path().to_path_buf()
    }

    /// Settings for an instance in this environment.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: self.data_dir(),
            demo_tenant: false,
            mail_sink: MailSink::File,
            poll_ms: 100,
            shutdown_grace: 5,
            ..Settings::default()
        };
        if let Some(database) = &self.database {
            settings.database_url = Some(database.url.clone().into());
            settings.master_key = Some(self.master_key.clone().into());
        }
        settings
    }

    /// The PostgreSQL URL of this environment, if any.
    pub fn database_url(&self) -> Option<String> {
        self.database.as_ref().map(|d| d.url.clone())
    }

    /// The master key shared by this environment's PostgreSQL instances.
    pub fn master_key(&self) -> &str {
        &self.master_key
    }

    /// Starts an instance with default settings.
    pub async fn spawn(self: &Arc<Self>) -> TestApp {
        self.spawn_with(self.settings(), Extensions::default())
            .await
    }

    /// Starts an instance with the given settings and extensions.
    pub async fn spawn_with(
        self: &Arc<Self>,
        settings: Settings,
        extensions: Extensions,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        self.spawn_on(listener, settings, extensions).await
    }

    /// Starts an instance on an already bound plain listener (when another process,
    /// such as an ACME server, must know its port first).
    pub async fn spawn_on(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        mut settings: Settings,
        extensions: Extensions,
    ) -> TestApp {
        // Links the application prints and redirects to carry the real port.
        if settings.public_port.is_none() {
            settings.public_port = Some(listener.local_addr().expect("addr").port());
        }
        let application = Application::build(settings, listener, extensions)
            .await
            .expect("application builds");
        let addr = application.local_addr().expect("local addr");
        let tls_addr = application.tls_addr();
        let metrics_addr = application.metrics_addr();
        let smtp_addr = application.smtp_addr();
        let state = application.state().clone();
        let worker = application.worker();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(application.run(shutdown.clone()));
        TestApp {
            addr,
            tls_addr,
            metrics_addr,
            smtp_addr,
            state,
            worker,
            shutdown,
            handle: Some(handle),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            env: self.clone(),
        }
    }
}

/// One running instance.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its HTTPS listener listens, when enabled.
    pub tls_addr: Option<SocketAddr>,
    /// Where `/metrics` listens, when enabled.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the built-in SMTP receiver listens, when enabled.
    pub smtp_addr: Option<SocketAddr>,
    /// Its state (the store is reachable through it).
    pub state: AppState,
    /// Its background worker.
    pub worker: Arc<Worker>,
    /// An HTTP client that does not follow redirects.
    pub client: reqwest::Client,
    /// The environment it runs in.
    pub env: Arc<TestEnv>,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request to `path` on `host`.
    pub fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Host", host)
    }

    /// An API call on `host` with a bearer `token` and an optional JSON body: the
    /// status and the JSON answer (`null` when the answer is not JSON).
    pub async fn api(
        &self,
        host: &str,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.request(method, host, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// GET `path` on `host`.
    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, host, path)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a tenant through the registry and waits until this instance routes it.
    pub async fn create_tenant(&self, slug: &str, name: &str) -> TenantRecord {
        let parsed = TenantSlug::parse(slug).expect("valid slug");
        let record = registry::create_tenant(self.store(), &parsed, name)
            .await
            .expect("tenant created");
        let host = format!("{slug}.{}", self.state.settings.base_domain);
        eventually(
            Duration::from_secs(5),
            "the new tenant to be routed",
            || async {
                matches!(
                    self.state.hosts.resolve(&host),
                    portico_tenants::routing::HostMatch::Tenant(_)
                )
                .then_some(())
            },
        )
        .await;
        record
    }

    /// A handle on a tenant.
    pub async fn tenant(&self, slug: &str) -> TenantDb {
        self.store()
            .tenant_by_slug(slug)
            .await
            .expect("tenant exists")
    }

    /// An API token for a tenant.
    pub async fn token(&self, slug: &str, role: Role) -> String {
        let name = format!("test-{}", uuid::Uuid::new_v4().simple());
        tokens::create_api_token(self.store(), slug, &name, role)
            .await
            .expect("token created")
    }

    /// Creates a person in tenant `slug` (not invited) and a personal API token
    /// acting as them: their id and the token.
    pub async fn person(
        &self,
        slug: &str,
        email: &str,
        role: Role,
        organization_id: Option<i64>,
    ) -> (i64, String) {
        let user = portico_tenants::people::create_user(
            &self.tenant(slug).await,
            portico_tenants::people::NewUser {
                email: portico_tenants::ids::EmailAddress::parse(email).expect("email"),
                display_name: String::new(),
                role,
                invite: false,
                organization_id,
            },
        )
        .await
        .expect("person");
        let token = tokens::create_personal_token(self.store(), slug, email, email)
            .await
            .expect("token");
        (user.id, token)
    }

    /// Creates an organization of tenant `slug` with one e-mail domain; its id.
    pub async fn organization(&self, slug: &str, name: &str, domain: &str) -> i64 {
        portico_tenants::organizations::create_organization(
            &self.tenant(slug).await,
            name,
            &[domain.to_owned()],
            "test",
        )
        .await
        .expect("organization")
        .id
    }

    /// The host name of a tenant.
    pub fn host(slug: &str) -> String {
        format!("{slug}.localhost")
    }

    /// Stops the instance gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            let result = handle.await.expect("server task joined");
            result.expect("server stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A subscriber that records what it receives and fails on demand.
pub mod recorder {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use portico_tenants::TenantDb;
    use portico_tenants::outbox::{DeliveryError, Event, Subscriber};

    /// Records deliveries; fails the first `n` attempts of chosen aggregates, or all.
    pub struct Recorder {
        name: &'static str,
        /// Every successful delivery, in delivery order.
        pub delivered: Mutex<Vec<Event>>,
        /// Every attempt, failed or not: (event id, succeeded).
        pub attempts: Mutex<Vec<(i64, bool)>>,
        failures_left: Mutex<HashMap<String, usize>>,
        fail_everything: bool,
    }

    impl Recorder {
        /// A recorder that accepts everything.
        pub fn new(name: &'static str) -> Self {
            Recorder {
                name,
                delivered: Mutex::new(Vec::new()),
                attempts: Mutex::new(Vec::new()),
                failures_left: Mutex::new(HashMap::new()),
                fail_everything: false,
            }
        }

        /// A recorder that refuses everything.
        pub fn failing(name: &'static str) -> Self {
            Recorder {
                fail_everything: true,
                ..Recorder::new(name)
            }
        }

        /// Fails the first `times` deliveries of `aggregate_type:aggregate_id`.
        pub fn fail_first(self, aggregate: &str, times: usize) -> Self {
            self.failures_left
                .lock()
                .expect("lock")
                .insert(aggregate.to_owned(), times);
            self
        }

        /// The delivered events as `(aggregate_id, event_type)` pairs, in order.
        pub fn delivered_pairs(&self) -> Vec<(String, String)> {
            self.delivered
                .lock()
                .expect("lock")
                .iter()
                .map(|e| (e.aggregate_id.clone(), e.event_type.clone()))
                .collect()
        }
    }

    impl Subscriber for Recorder {
        fn name(&self) -> &'static str {
            self.name
        }

        fn deliver<'a>(
            &'a self,
            _tenant: &'a TenantDb,
            event: &'a Event,
        ) -> BoxFuture<'a, Result<(), DeliveryError>> {
            Box::pin(async move {
                let key = format!("{}:{}", event.aggregate_type, event.aggregate_id);
                let fail = self.fail_everything || {
                    let mut left = self.failures_left.lock().expect("lock");
                    match left.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            true
                        }
                        _ => false,
                    }
                };
                self.attempts.lock().expect("lock").push((event.id, !fail));
                if fail {
                    return Err(DeliveryError(format!("refusing {key}")));
                }
                self.delivered.lock().expect("lock").push(event.clone());
                Ok(())
            })
        }
    }
}

/// A job handler that counts its runs and fails on demand.
pub mod counting_job {
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use portico_tenants::jobs::{JobError, JobHandler, JobScope};

    /// Records each run as (tenant slug or `platform`, payload).
    pub struct CountingJob {
        kind: &'static str,
        /// Successful runs.
        pub runs: Mutex<Vec<(String, serde_json::Value)>>,
        failures_left: Mutex<usize>,
        permanent: bool,
    }

    impl CountingJob {
        /// Succeeds every time.
        pub fn new(kind: &'static str) -> Self {
            CountingJob {
                kind,
                runs: Mutex::new(Vec::new()),
                failures_left: Mutex::new(0),
                permanent: false,
            }
        }

        /// Fails the first `times` runs with a retryable error.
        pub fn failing_first(kind: &'static str, times: usize) -> Self {
            let job = CountingJob::new(kind);
            *job.failures_left.lock().expect("lock") = times;
            job
        }

        /// Always fails permanently.
        pub fn broken(kind: &'static str) -> Self {
            CountingJob {
                permanent: true,
                ..CountingJob::new(kind)
            }
        }

        /// How many times it succeeded.
        pub fn count(&self) -> usize {
            self.runs.lock().expect("lock").len()
        }
    }

    impl JobHandler for CountingJob {
        fn kind(&self) -> &'static str {
            self.kind
        }

        fn run<'a>(
            &'a self,
            scope: JobScope<'a>,
            payload: &'a serde_json::Value,
        ) -> BoxFuture<'a, Result<(), JobError>> {
            Box::pin(async move {
                if self.permanent {
                    return Err(JobError::Permanent("cannot ever work".into()));
                }
                {
                    let mut left = self.failures_left.lock().expect("lock");
                    if *left > 0 {
                        *left -= 1;
                        return Err(JobError::Retry("not yet".into()));
                    }
                }
                let place = match scope {
                    JobScope::Platform(_) => "platform".to_owned(),
                    JobScope::Tenant(db) => db.slug().to_owned(),
                };
                self.runs
                    .lock()
                    .expect("lock")
                    .push((place, payload.clone()));
                Ok(())
            })
        }
    }
}

/// A minimal browser for one host: keeps its cookies, sends the headers a browser
/// sends with same-origin form posts, and reads values out of pages.
pub mod browser {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;

    /// One browser tab on one host.
    #[derive(Debug, Clone)]
    pub struct Browser {
        addr: SocketAddr,
        /// The host name it talks to.
        pub host: String,
        /// Its cookies, by name.
        pub cookies: BTreeMap<String, String>,
        client: reqwest::Client,
    }

    /// A response, read whole.
    #[derive(Debug)]
    pub struct Page {
        /// Status code.
        pub status: u16,
        /// `Location`, for redirects.
        pub location: Option<String>,
        /// Body.
        pub body: String,
    }

    impl Page {
        /// The `value` of the form field named `name`.
        pub fn field(&self, name: &str) -> Option<String> {
            let marker = format!("name=\"{name}\" value=\"");
            let start = self.body.find(&marker)? + marker.len();
            let end = self.body[start..].find('"')? + start;
            Some(self.body[start..end].to_owned())
        }

        /// The texts inside `<code>` elements, in order.
        pub fn codes(&self) -> Vec<String> {
            self.body
                .split("<code>")
                .skip(1)
                .filter_map(|rest| rest.split("</code>").next().map(str::to_owned))
                .collect()
        }
    }

    impl Browser {
        /// A browser on `host`, talking to the server at `addr`.
        pub fn new(addr: SocketAddr, host: &str) -> Self {
            Browser {
                addr,
                host: host.to_owned(),
                cookies: BTreeMap::new(),
                client: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client"),
            }
        }

        /// The same cookies, sent to another host (what an attacker replaying them would do).
        pub fn on_host(&self, host: &str) -> Self {
            Browser {
                host: host.to_owned(),
                ..self.clone()
            }
        }

        fn cookie_header(&self) -> String {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        }

        async fn finish(&mut self, response: reqwest::Response) -> Page {
            for value in response.headers().get_all("set-cookie") {
                let text = value.to_str().unwrap_or("");
                let pair = text.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() || text.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.text().await.unwrap_or_default();
            Page {
                status,
                location,
                body,
            }
        }

        /// GET `path`.
        pub async fn get(&mut self, path: &str) -> Page {
            let response = self
                .client
                .get(format!("http://{}{path}", self.addr))
                .header("Host", &self.host)
                .header("Cookie", self.cookie_header())
                .header("Sec-Fetch-Site", "none")
                .send()
                .await
                .expect("sent");
            self.finish(response).await
        }

        /// POSTs a form to `path` as a same-origin page would.
        pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
            self.post_with(path, form, "same-origin").await
        }

        /// POSTs a form whose fields may repeat (checkboxes), as a same-origin page would.
        pub async fn post_pairs(&mut self, path: &str, form: &[(String, String)]) -> Page {
            let pairs: Vec<(&str, &str)> = form
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            self.post_with(path, &pairs, "same-origin").await
        }

        /// POSTs a `multipart/form-data` form (text fields and files) as a same-origin page would.
        pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
            let response = self
                .client
                .post(format!("http://{}{path}", self.addr))
                .header("Host", &self.host)
                .header("Cookie", self.cookie_header())
                .header("Origin", format!("http://{}", self.host))
                .header("Sec-Fetch-Site", "same-origin")
                .multipart(form)
                .send()
                .await
                .expect("sent");
            self.finish(response).await
        }

        /// GET `path`, the response unread (headers, bytes, streams).
        pub async fn get_raw(&self, path: &str) -> reqwest::Response {
            self.client
                .get(format!("http://{}{path}", self.addr))
                .header("Host", &self.host)
                .header("Cookie", self.cookie_header())
                .header("Sec-Fetch-Site", "same-origin")
                .send()
                .await
                .expect("sent")
        }

        /// POSTs a form with a chosen `Sec-Fetch-Site` (`cross-site`, `same-site`, …).
        pub async fn post_with(
            &mut self,
            path: &str,
            form: &[(&str, &str)],
            fetch_site: &str,
        ) -> Page {
            let response = self
                .client
                .post(format!("http://{}{path}", self.addr))
                .header("Host", &self.host)
                .header("Cookie", self.cookie_header())
                .header("Origin", format!("http://{}", self.host))
                .header("Sec-Fetch-Site", fetch_site)
                .form(form)
                .send()
                .await
                .expect("sent");
            self.finish(response).await
        }
    }
}

/// The test OpenID Connect provider (`tests/oidc/provider.mjs`, node oidc-provider),
/// started on a free port; stopped when dropped.
pub struct OidcProvider {
    child: std::process::Child,
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    /// Its address.
    pub addr: SocketAddr,
    _config: tempfile::NamedTempFile,
}

impl OidcProvider {
    /// Starts the provider with `config` (clients and accounts, see tests/oidc/README.md).
    pub fn start(config: &serde_json::Value) -> OidcProvider {
        use std::io::{BufRead, Write};
        let mut file = tempfile::NamedTempFile::new().expect("config file");
        file.write_all(config.to_string().as_bytes())
            .expect("write config");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc/provider.mjs");
        let mut child = std::process::Command::new("node")
            .arg(script)
            .args(["--port", "0", "--config"])
            .arg(file.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs (tests/oidc/setup.sh installs the provider)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("READY line");
        let issuer = line
            .trim()
            .strip_prefix("READY ")
            .expect("READY <issuer>")
            .to_owned();
        let addr: SocketAddr = issuer
            .trim_start_matches("http://")
            .parse()
            .expect("issuer address");
        OidcProvider {
            child,
            issuer,
            addr,
            _config: file,
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, then released for a child process to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Pebble (a real ACME server) with pebble-challtestsrv as its DNS, both from
/// Debian, started on free loopback ports with a CA generated for Pebble's own API;
/// stopped when dropped.
pub struct Pebble {
    pebble: std::process::Child,
    challtestsrv: std::process::Child,
    dir: tempfile::TempDir,
    /// The ACME directory URL.
    pub directory: String,
    /// The PEM file of the CA Pebble's API certificate is signed by.
    pub api_ca_file: std::path::PathBuf,
    /// challtestsrv's DNS server (UDP and TCP).
    pub dns: SocketAddr,
    management: String,
    challtestsrv_management: String,
}

/// How Pebble is to behave.
#[derive(Debug, Clone)]
pub struct PebbleOptions {
    /// The port Pebble validates HTTP-01 challenges on (the application's plain listener).
    pub http_port: u16,
    /// Lifetime of issued certificates, seconds (Pebble's default when `None`).
    pub validity_seconds: Option<u64>,
    /// Percentage of good nonces Pebble rejects as bad (its default is 5).
    pub nonce_reject_percent: u8,
}

impl Pebble {
    /// Starts challtestsrv and Pebble, and waits until Pebble's directory answers.
    pub async fn start(options: PebbleOptions) -> Pebble {
        let dir = tempfile::tempdir().expect("pebble dir");
        // Pebble's API needs a certificate; Debian ships none, so make a CA and one.
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            "Portico test CA for Pebble's API",
        );
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("server cert");
        let api_ca_file = dir.path().join("api-ca.pem");
        std::fs::write(&api_ca_file, ca_cert.pem()).expect("write ca");
        std::fs::write(dir.path().join("cert.pem"), server_cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), server_key.serialize_pem()).expect("write key");

        let dns: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("dns");
        let challtestsrv_management = format!("127.0.0.1:{}", free_port());
        let challtestsrv = std::process::Command::new("pebble-challtestsrv")
            .args(["-dns01", &dns.to_string()])
            .args(["-management", &challtestsrv_management])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv runs (tests/acme/setup.sh installs it)");
        let listen = format!("127.0.0.1:{}", free_port());
        let management = format!("127.0.0.1:{}", free_port());
        let mut config = serde_json::json!({
            "pebble": {
                "listenAddress": listen,
                "managementListenAddress": management,
                "certificate": dir.path().join("cert.pem"),
                "privateKey": dir.path().join("key.pem"),
                "httpPort": options.http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        if let Some(seconds) = options.validity_seconds {
            config["pebble"]["certificateValidityPeriod"] = serde_json::json!(seconds);
        }
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).expect("write config");
        let pebble = std::process::Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &dns.to_string(), "-strict=false"])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env(
                "PEBBLE_WFE_NONCEREJECT",
                options.nonce_reject_percent.to_string(),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pebble runs (tests/acme/setup.sh installs it)");
        let started = Pebble {
            pebble,
            challtestsrv,
            dir,
            directory: format!("https://{listen}/dir"),
            api_ca_file,
            dns,
            management: format!("https://{management}"),
            challtestsrv_management: format!("http://{challtestsrv_management}"),
        };
        let client = started.api_client();
        let directory = started.directory.clone();
        eventually(
            Duration::from_secs(20),
            "pebble's directory answers",
            || {
                let client = client.clone();
                let directory = directory.clone();
                async move {
                    client
                        .get(&directory)
                        .send()
                        .await
                        .ok()
                        .filter(|r| r.status().is_success())
                        .map(|_| ())
                }
            },
        )
        .await;
        let challtestsrv = started.challtestsrv_management.clone();
        eventually(Duration::from_secs(20), "challtestsrv answers", || {
            let challtestsrv = challtestsrv.clone();
            async move {
                reqwest::Client::new()
                    .post(format!("{challtestsrv}/clear-request-history"))
                    .json(&serde_json::json!({"host": "x.", "type": "http"}))
                    .send()
                    .await
                    .ok()
                    .map(|_| ())
            }
        })
        .await;
        started
    }

    /// A client trusting Pebble's API certificate.
    fn api_client(&self) -> reqwest::Client {
        let ca = std::fs::read(&self.api_ca_file).expect("ca");
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca pem"))
            .build()
            .expect("client")
    }

    /// The root that signs the certificates Pebble issues (PEM).
    pub async fn issuing_root(&self) -> String {
        self.api_client()
            .get(format!("{}/roots/0", self.management))
            .send()
            .await
            .expect("roots")
            .text()
            .await
            .expect("root pem")
    }

    async fn challtestsrv(&self, path: &str, body: serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.challtestsrv_management))
            .json(&body)
            .send()
            .await
            .expect("challtestsrv");
        assert!(
            response.status().is_success(),
            "challtestsrv {path}: {}",
            response.status()
        );
    }

    /// Serves a CNAME record `host` → `target`.
    pub async fn set_cname(&self, host: &str, target: &str) {
        self.challtestsrv(
            "/set-cname",
            serde_json::json!({ "host": format!("{host}."), "target": format!("{target}.") }),
        )
        .await;
    }

    /// Removes the CNAME record of `host`.
    pub async fn clear_cname(&self, host: &str) {
        self.challtestsrv(
            "/clear-cname",
            serde_json::json!({ "host": format!("{host}.") }),
        )
        .await;
    }

    /// Serves a TXT record at `host`.
    pub async fn set_txt(&self, host: &str, value: &str) {
        self.challtestsrv(
            "/set-txt",
            serde_json::json!({ "host": format!("{host}."), "value": value }),
        )
        .await;
    }

    /// Removes the TXT records at `host`.
    pub async fn clear_txt(&self, host: &str) {
        self.challtestsrv(
            "/clear-txt",
            serde_json::json!({ "host": format!("{host}.") }),
        )
        .await;
    }

    /// Answers A queries for `host` with `addresses` instead of the default.
    pub async fn add_a(&self, host: &str, addresses: &[&str]) {
        self.challtestsrv(
            "/add-a",
            serde_json::json!({ "host": format!("{host}."), "addresses": addresses }),
        )
        .await;
    }

    /// Back to the default address for `host`.
    pub async fn clear_a(&self, host: &str) {
        self.challtestsrv(
            "/clear-a",
            serde_json::json!({ "host": format!("{host}.") }),
        )
        .await;
    }

    /// Where Pebble keeps its files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.pebble, &mut self.challtestsrv] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
