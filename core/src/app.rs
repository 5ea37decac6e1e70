//! Building and running the application from an already-bound listener: what
//! `portico serve` runs, and what every black-box test runs on port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use portico_tenants::jobs::JobHandlers;
use portico_tenants::migrate::{self, error_chain};
use portico_tenants::outbox::Subscriber;
use portico_tenants::routing::{self, HostIndex};
use portico_tenants::work::Worker;
use portico_tenants::{Store, StoreError, StoreOptions, TenantSlug, people, registry};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::mail::{FileSink, LogSink, MailTransport, Mailer};
use crate::metrics::Metrics;
use crate::outbound::OutboundHttp;
use crate::secrets::MasterKey;
use crate::settings::{MailSink, Settings};
use crate::state::{AppParts, AppState};
use crate::subscribers::InvitationMail;
use crate::templates::Templates;

/// Extra subscribers and job handlers (later issues and tests register theirs).
#[derive(Default)]
pub struct Extensions {
    /// Event subscribers beside the built-in ones.
    pub subscribers: Vec<Arc<dyn Subscriber>>,
    /// Job handlers.
    pub job_handlers: JobHandlers,
    /// Replaces the configured mail sink (tests capture mail with it).
    pub mail_transport: Option<Arc<dyn MailTransport>>,
    /// Replaces the configured SMS provider.
    pub sms: Option<crate::sms::Sms>,
}

/// What start-up did that the operator must see.
#[derive(Debug, Default, Clone)]
pub struct StartupReport {
    /// The demo tenant's address, when it exists.
    pub demo_url: Option<String>,
    /// Whether this start created it.
    pub demo_created: bool,
    /// Single-use link to set up the first platform admin, while there is none.
    pub operator_setup_link: Option<String>,
    /// Single-use link to set up the demo tenant's first MSP admin, while there is none.
    pub demo_admin_link: Option<String>,
    /// First-party plugin components found in `plugins_dir` (`None`: the folder is absent).
    pub first_party_plugins: Option<Vec<String>>,
}

/// A built application, ready to run.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    tls_listener: Option<TcpListener>,
    metrics_listener: Option<TcpListener>,
    smtp_listener: Option<TcpListener>,
    worker: Arc<Worker>,
    report: StartupReport,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("listener", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

/// Opens the configured store.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let mut options = match &settings.database_url {
        Some(url) => StoreOptions::postgres(url.expose_secret(), &settings.data_dir),
        None => StoreOptions::sqlite(&settings.data_dir),
    };
    options.max_connections = settings.db_max_connections;
    options.max_open_tenants = settings.max_open_tenants;
    Store::open(options).await.map_err(|error| {
        let setting = if settings.is_embedded() {
            "PORTICO_DATA_DIR"
        } else {
            "DATABASE_URL"
        };
        anyhow::anyhow!(
            "{setting}: cannot open the database: {}",
            error_chain(&error)
        )
    })
}

const MASTER_KEY_CHECK: &str = "master_key_check";
const MASTER_KEY_CONTEXT: &str = "platform:master-key-check";

/// Refuses to start with a master key other than the one this database was set up
/// with: every stored secret would be unreadable.
async fn check_master_key(store: &Store, key: &MasterKey) -> anyhow::Result<()> {
    let sealed = key.seal(MASTER_KEY_CONTEXT, b"portico");
    registry::insert_meta_if_absent(store, MASTER_KEY_CHECK, &sealed).await?;
    let stored = registry::get_meta(store, MASTER_KEY_CHECK)
        .await?
        .context("master key check missing")?;
    if key.open(MASTER_KEY_CONTEXT, &stored).is_err() {
        bail!(
            "PORTICO_MASTER_KEY: this is not the key the database was set up with; stored secrets could not be read"
        );
    }
    Ok(())
}

/// Creates the `demo` tenant on the very first start (never again once deleted).
async fn ensure_demo(store: &Store) -> anyhow::Result<bool> {
    if registry::get_meta(store, "demo_tenant_created")
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let slug = TenantSlug::parse("demo")?;
    let created = match registry::create_tenant(store, &slug, "Demo").await {
        Ok(_) => true,
        Err(StoreError::Conflict(_)) => false,
        Err(error) => return Err(error.into()),
    };
    registry::insert_meta_if_absent(store, "demo_tenant_created", "1").await?;
    Ok(created)
}

impl Application {
    /// Prepares everything: key, database, migrations, routing, worker, mail.
    pub async fn build(
        settings: Settings,
        listener: TcpListener,
        extensions: Extensions,
    ) -> anyhow::Result<Self> {
        let master_key = MasterKey::load(&settings)?;
        let store = open_store(&settings).await?;
        if settings.migrate_on_start {
            let report = migrate::migrate_all(&store, settings.migrate_parallelism, |_| {})
                .await
                .map_err(|e| anyhow::anyhow!("migrating: {}", error_chain(&e)))?;
            if !report.failures.is_empty() {
                tracing::error!(
                    failed = report.failures.len(),
                    "some tenant schemas could not be migrated; run `portico migrate`"
                );
            }
        } else {
            let version = migrate::platform_version(&store).await?;
            let latest = migrate::latest_version(store.backend(), migrate::Level::Platform);
            if version != latest {
                bail!(
                    "the platform schema is at version {version}, this binary needs {latest}: run `portico migrate` (or set PORTICO_MIGRATE_ON_START=true)"
                );
            }
        }
        check_master_key(&store, &master_key).await?;
        crate::permissions::Permissions::seed(&store)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the role permissions: {}", error_chain(&e)))?;

        let mut report = StartupReport::default();
        if settings.demo_tenant {
            report.demo_created = ensure_demo(&store).await?;
        }
        if let Ok(demo) = store.tenant_by_slug("demo").await {
            report.demo_url = Some(settings.tenant_url("demo"));
            if let Some(token) = people::first_admin_invitation(&demo).await? {
                report.demo_admin_link =
                    Some(format!("{}/invite/{token}", settings.tenant_url("demo")));
            }
        }
        if let Some(token) = registry::first_admin_setup_token(&store).await? {
            report.operator_setup_link = Some(format!("{}/setup/{token}", settings.operator_url()));
        }

        let hosts = Arc::new(HostIndex::new(&settings.base_domain));
        hosts.reload(&store).await?;

        let transport: Arc<dyn MailTransport> = match (
            extensions.mail_transport,
            &settings.smtp_url,
            settings.mail_sink,
        ) {
            (Some(transport), _, _) => transport,
            (None, Some(url), _) => Arc::new(
                crate::mail::SmtpSink::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("PORTICO_SMTP_URL: {e}"))?,
            ),
            (None, None, MailSink::File) => Arc::new(
                FileSink::new(settings.data_dir.join("mail")).with_context(|| {
                    format!(
                        "PORTICO_DATA_DIR: cannot create {}",
                        settings.data_dir.join("mail").display()
                    )
                })?,
            ),
            (None, None, MailSink::Log) => Arc::new(LogSink),
        };
        let dkim = match (&settings.dkim_selector, &settings.dkim_key_file) {
            (Some(selector), Some(file)) => Some(crate::mail::load_dkim(
                selector,
                &settings.base_domain,
                file,
            )?),
            _ => None,
        };
        let mailer = Mailer::new(
            transport,
            &format!("Portico <noreply@{}>", settings.base_domain),
            crate::mail::ThreadKeys::new(
                master_key.derive("mail-thread-keys"),
                &settings.base_domain,
            ),
            dkim,
            hosts.clone(),
        )
        .map_err(|e| anyhow::anyhow!("PORTICO_BASE_DOMAIN: not usable in a sender address: {e}"))?
        .with_master_key(master_key.clone());
        let outbound = OutboundHttp::new(settings.outbound_allow_private)?;
        let redis = match &settings.redis_url {
            Some(url) => {
                let client =
                    redis::Client::open(url.expose_secret()).context("REDIS_URL: invalid")?;
                Some(
                    redis::aio::ConnectionManager::new(client)
                        .await
                        .context("REDIS_URL: cannot connect")?,
                )
            }
            None => None,
        };

        let mut subscribers: Vec<Arc<dyn Subscriber>> = vec![
            Arc::new(InvitationMail {
                mailer: mailer.clone(),
                settings: settings.clone(),
                hosts: hosts.clone(),
            }),
            Arc::new(crate::subscribers::DomainMail {
                mailer: mailer.clone(),
            }),
            Arc::new(crate::subscribers::LowRatingMail {
                mailer: mailer.clone(),
            }),
            Arc::new(crate::subscribers::EscalationMail {
                mailer: mailer.clone(),
            }),
            Arc::new(crate::subscribers::ApprovalMail {
                mailer: mailer.clone(),
                settings: settings.clone(),
                hosts: hosts.clone(),
            }),
        ];
        subscribers.push(Arc::new(crate::mail::notify::TicketMail {
            mailer: mailer.clone(),
            settings: settings.clone(),
            hosts: hosts.clone(),
        }));
        // Every event may become webhook deliveries; the deliveries are jobs of the
        // tenant, so the worker finds them through the work index like any job.
        subscribers.push(Arc::new(crate::webhooks::WebhookEvents));
        // Ticket hooks of the tenants' installed plugins.
        let plugins = crate::plugins::Plugins::new(&settings, store.clone(), &master_key)?;
        subscribers.push(Arc::new(crate::plugins::PluginEvents {
            plugins: plugins.clone(),
            mailer: mailer.clone(),
        }));
        report.first_party_plugins = crate::plugins::first_party(&settings.plugins_dir);
        subscribers.extend(extensions.subscribers);
        let mut job_handlers = JobHandlers::default();
        job_handlers.register(Arc::new(portico_tenants::tickets::AutoClose));
        job_handlers.register(Arc::new(portico_tenants::ticket_sla::SlaCheck));
        job_handlers.register(Arc::new(crate::plugins::PluginSchedule {
            plugins: plugins.clone(),
            mailer: mailer.clone(),
        }));
        job_handlers.register(crate::webhooks::WebhookDelivery::new(
            OutboundHttp::without_redirects(settings.outbound_allow_private)?,
            master_key.clone(),
            settings.webhook_retry_schedule(),
            Duration::from_secs(settings.webhook_timeout_seconds),
        ));
        let blobs = crate::blobs::Blobs::open(&settings).context("opening file storage")?;
        let intake = crate::mail::intake::Intake {
            blobs: blobs.clone(),
            mailer: mailer.clone(),
            hosts: hosts.clone(),
            mailboxes_changed: Arc::new(tokio::sync::Notify::new()),
        };
        job_handlers.register(Arc::new(crate::mail::SendMail {
            mailer: mailer.clone(),
        }));
        job_handlers.register(Arc::new(crate::mail::intake::ProcessMail::new(
            intake.clone(),
        )));
        job_handlers.extend(extensions.job_handlers);
        let smtp_listener = match settings.smtp_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("PORTICO_SMTP_LISTEN: cannot bind {address}"))?,
            ),
            None => None,
        };
        let worker = Arc::new(Worker::new(
            store.clone(),
            subscribers,
            job_handlers,
            Duration::from_millis(settings.poll_ms),
        ));
        let metrics_listener = match settings.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("PORTICO_METRICS_LISTEN: cannot bind {address}"))?,
            ),
            None => None,
        };
        // A random id of this installation: it keeps shared services (Redis) apart.
        registry::insert_meta_if_absent(
            &store,
            "installation_id",
            &portico_tenants::tokens::random_token(8),
        )
        .await?;
        let installation = registry::get_meta(&store, "installation_id")
            .await?
            .unwrap_or_default();
        let limits = crate::ratelimit::RateLimiter::new(&store, redis.clone(), &installation);
        let sessions =
            crate::identity::session_store::SessionStore::new(redis.clone(), &installation);
        let tls_listener = match settings.tls_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("PORTICO_TLS_LISTEN: cannot bind {address}"))?,
            ),
            None => None,
        };
        let certs = Arc::new(crate::domains::tls::CertStore::new(
            &settings.base_domain,
            settings
                .tls_cert_file
                .clone()
                .zip(settings.tls_key_file.clone()),
        ));
        certs.reload_wildcard()?;
        certs
            .reload_if_changed(&store, &master_key, hosts.epoch())
            .await
            .context("loading the stored certificates")?;
        let domains = Arc::new(
            crate::domains::DomainService::new(&settings, store.clone())
                .context("PORTICO_DNS_SERVER: the domain resolver")?,
        );
        let sms: crate::sms::Sms = match (extensions.sms, settings.sms_provider.as_str()) {
            (Some(sms), _) => sms,
            (None, "twilio") => Arc::new(crate::sms::TwilioProvider::new(
                outbound.clone(),
                &settings.sms_base_url,
                settings.sms_account_sid.as_deref().unwrap_or_default(),
                settings
                    .sms_auth_token
                    .clone()
                    .unwrap_or_else(|| SecretString::from(String::new())),
                &settings.sms_from,
            )),
            (None, _) => Arc::new(crate::sms::LogProvider),
        };
        let state = AppState::new(AppParts {
            intake,
            plugins,
            blobs,
            templates: Templates::load().context("loading templates")?,
            worker_stats: worker.stats(),
            metrics: Metrics::new(),
            oidc_http: OutboundHttp::without_redirects(settings.outbound_allow_private)?,
            oidc_metadata: crate::identity::sso::MetadataCache::default(),
            sms,
            limits,
            sessions,
            domains,
            certs,
            permissions: crate::permissions::Permissions::new(settings.max_open_tenants.max(1024)),
            passwords: crate::identity::password::Passwords::new(
                settings.password_hash_concurrency,
            ),
            settings,
            store,
            hosts,
            mailer,
            outbound,
            master_key,
            redis,
        });
        Ok(Application {
            state,
            listener,
            tls_listener,
            metrics_listener,
            smtp_listener,
            worker,
            report,
        })
    }

    /// The address the web server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address of the HTTPS listener, when enabled.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The address of the built-in SMTP receiver, when enabled.
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The address of the metrics listener, when enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The shared state (tests reach the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What start-up did.
    pub fn report(&self) -> &StartupReport {
        &self.report
    }

    /// The background worker (tests drive it directly).
    pub fn worker(&self) -> Arc<Worker> {
        self.worker.clone()
    }

    /// Serves until `shutdown`, then lets in-flight requests finish (bounded by
    /// `PORTICO_SHUTDOWN_GRACE`), stops the background tasks and closes the database.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Application {
            state,
            listener,
            tls_listener,
            metrics_listener,
            smtp_listener,
            worker,
            report: _,
        } = self;
        let background = CancellationToken::new();
        let watcher = tokio::spawn(routing::watch(
            state.store.clone(),
            state.hosts.clone(),
            Duration::from_millis(state.settings.poll_ms),
            background.clone(),
        ));
        let worker_task = tokio::spawn(worker.run(background.clone()));
        let sweeper = tokio::spawn(state.domains.clone().run(state.clone(), background.clone()));
        let cert_watcher = tokio::spawn(watch_certificates(state.clone(), background.clone()));
        if let Some(smtp_listener) = smtp_listener {
            let receiver = Arc::new(crate::mail::smtp::Receiver::new(
                state.intake.clone(),
                state.store.clone(),
                state.settings.smtp_lmtp,
                state.settings.mail_max_bytes,
                state.settings.mail_sender_rate,
            ));
            tokio::spawn(crate::mail::smtp::serve(
                smtp_listener,
                receiver,
                background.clone(),
            ));
        }
        let imap = Arc::new(crate::mail::imap::ImapService::new(
            state.intake.clone(),
            state.store.clone(),
            state.master_key.clone(),
            Duration::from_secs(state.settings.imap_poll_seconds.max(1)),
            Duration::from_secs(60),
        ));
        let imap_task = tokio::spawn(imap.run(background.clone()));
        if let Some(metrics_listener) = metrics_listener {
            let metrics_app = Router::new()
                .route("/metrics", get(render_metrics))
                .with_state(state.clone());
            let stop = background.clone();
            tokio::spawn(async move {
                let served = axum::serve(metrics_listener, metrics_app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
                if let Err(error) = served {
                    tracing::error!(%error, "metrics listener failed");
                }
            });
        }

        let grace = crate::http::shutdown_grace(&state);
        let app = crate::http::router(state.clone());
        // With HTTPS on, the plain listener answers ACME challenges and probes and
        // redirects everything else; the application is served over TLS.
        let tls_port = tls_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map_or(443, |a| a.port());
        let tls_server = match tls_listener {
            Some(tls_listener) => {
                let config = Arc::new(crate::domains::tls::server_config(state.certs.clone()));
                let listener = crate::domains::tls::TlsListener::start(
                    tls_listener,
                    config,
                    background.clone(),
                )?;
                // `tap_io` gives the listener axum's `ConnectInfo<SocketAddr>` support.
                let listener = axum::serve::ListenerExt::tap_io(listener, |_| {});
                let served = axum::serve(
                    listener,
                    app.clone()
                        .into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
                Some(tokio::spawn(async move { served.await }))
            }
            None => None,
        };
        let plain = if tls_server.is_some() {
            crate::http::redirect_router(state.clone(), tls_port)
        } else {
            app
        };
        let server = axum::serve(
            listener,
            plain.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served.context("serving HTTP")?,
            () = deadline => tracing::warn!("shutdown grace elapsed with requests still in flight"),
        }
        if let Some(tls_server) = tls_server {
            let _ = tokio::time::timeout(grace, tls_server).await;
        }
        background.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            let _ = worker_task.await;
            let _ = watcher.await;
            let _ = sweeper.await;
            let _ = cert_watcher.await;
            let _ = imap_task.await;
        })
        .await;
        state.store.close().await;
        Ok(())
    }
}

/// Keeps the served certificates current: the wildcard files when they change,
/// the custom domains' certificates whenever the routing epoch moves (every
/// certificate change moves it, on any instance).
async fn watch_certificates(state: AppState, stop: CancellationToken) {
    let every = Duration::from_millis(state.settings.poll_ms);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(error) = state.certs.reload_wildcard() {
            tracing::warn!(%error, "the wildcard certificate could not be reloaded");
        }
        if let Err(error) = state
            .certs
            .reload_if_changed(&state.store, &state.master_key, state.hosts.epoch())
            .await
        {
            tracing::warn!(error = %format!("{error:#}"), "certificates could not be reloaded");
        }
    }
}

async fn render_metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&state.store, &state.worker_stats),
    )
}
