//! Plugins in the application: the catalogue (publish, verified against trusted
//! publisher keys), installs per tenant (install, upgrade, rollback, enable per
//! organization, configure, uninstall), the services plugins reach through host
//! functions (each through Portico's own data layer, for the tenant the host
//! recorded), and the `plugins` outbox subscriber that runs ticket hooks and
//! applies their proposed effects with the normal checks and the audit log.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use portico_plugins::bindings::base::portico::plugin::knowledge::ArticleHit;
use portico_plugins::bindings::{Effect, Ticket as PluginTicket, TicketEvent};
use portico_plugins::package::{self, VerifiedBundle};
use portico_plugins::runtime::effect_name;
use portico_plugins::{
    CallContext, FailurePolicy, Grant, HostConfig, Invocation, LoadedPlugin, PlatformPolicy,
    PluginError, PluginHost, PluginServices, World,
};
use portico_tenants::audit::AuditEntry;
use portico_tenants::jobs::{JobError, JobHandler, JobScope};
use portico_tenants::outbox::{DeliveryError, Event, Subscriber};
use portico_tenants::plugins::{self as store_plugins, Install, Package};
use portico_tenants::tickets::{self, Priority, Reader, TicketChange};
use portico_tenants::{Store, StoreError, TenantDb};

use crate::mail::{Mailer, OutboundEmail};
use crate::secrets::MasterKey;
use crate::settings::Settings;

/// Why a plugin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginsError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bundle was refused (signature, manifest, size).
    #[error(transparent)]
    Package(#[from] package::PackageError),
    /// The component was not admitted.
    #[error(transparent)]
    Admission(#[from] portico_plugins::runtime::AdmissionError),
    /// The plugin host could not start.
    #[error("{0}")]
    Host(String),
    /// The plugin failed while installing.
    #[error("the plugin refused the install: {0}")]
    Plugin(#[from] PluginError),
    /// The request is invalid.
    #[error("{0}")]
    Invalid(String),
}

/// The plugin host with Portico's services behind it.
#[derive(Clone)]
pub struct Plugins {
    host: Arc<tokio::sync::OnceCell<Arc<PluginHost>>>,
    config: Arc<HostConfig>,
    policy: Arc<PlatformPolicy>,
    services: Arc<Services>,
    store: Store,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plugins")
    }
}

/// What plugins reach, through Portico's data layer.
struct Services {
    store: Store,
    master_key: MasterKey,
}

fn text(error: StoreError) -> String {
    portico_tenants::migrate::error_chain(&error)
}

impl Services {
    async fn tenant(&self, slug: &str) -> Result<TenantDb, String> {
        self.store.tenant_by_slug(slug).await.map_err(text)
    }
}

/// The ticket as plugins see it.
async fn plugin_ticket(db: &TenantDb, ticket: &tickets::Ticket) -> PluginTicket {
    let requester = portico_tenants::people::get_user(
        db,
        ticket.requester_id,
        portico_tenants::policy::Scope::All,
    )
    .await
    .ok()
    .map(|u| u.email);
    PluginTicket {
        number: ticket.number,
        subject: ticket.subject.clone(),
        description: ticket.description.clone(),
        status: ticket.status_class.clone(),
        priority: ticket
            .priority
            .clone()
            .unwrap_or_else(|| "medium".to_owned()),
        ticket_type: ticket.type_key.clone(),
        organization_id: ticket.organization_id,
        requester_email: requester,
        source: ticket.source.clone(),
        tags: ticket.tags.clone(),
    }
}

#[async_trait::async_trait]
impl PluginServices for Services {
    async fn kv_get(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let db = self.tenant(tenant).await?;
        store_plugins::kv_get(&db, plugin, key).await.map_err(text)
    }

    async fn kv_set(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), String> {
        let db = self.tenant(tenant).await?;
        store_plugins::kv_set(&db, plugin, key, value)
            .await
            .map_err(text)
    }

    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> Result<(), String> {
        let db = self.tenant(tenant).await?;
        store_plugins::kv_delete(&db, plugin, key)
            .await
            .map_err(text)
    }

    async fn ticket(&self, tenant: &str, number: i64) -> Result<PluginTicket, String> {
        let db = self.tenant(tenant).await?;
        let ticket = tickets::get_ticket(&db, number, Reader::SYSTEM)
            .await
            .map_err(text)?;
        Ok(plugin_ticket(&db, &ticket).await)
    }

    async fn kb_search(
        &self,
        tenant: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<ArticleHit>, String> {
        let db = self.tenant(tenant).await?;
        let hits = portico_tenants::kb::search(
            &db,
            portico_tenants::kb::Viewer::Staff,
            query,
            "en",
            i64::from(limit),
            true,
        )
        .await
        .map_err(text)?;
        Ok(hits
            .into_iter()
            .map(|hit| ArticleHit {
                slug: hit.slug,
                title: hit.title,
                snippet: strip_marks(&hit.snippet_html),
            })
            .collect())
    }

    async fn llm_complete(
        &self,
        _tenant: &str,
        _prompt: &str,
        _max: u32,
    ) -> Result<String, String> {
        Err("no language model is configured on this platform (the AI assistant module provides one)".to_owned())
    }

    async fn secret(
        &self,
        tenant: &str,
        plugin: &str,
        name: &str,
    ) -> Result<Option<String>, String> {
        let db = self.tenant(tenant).await?;
        let Some(sealed) = store_plugins::secret(&db, plugin, name)
            .await
            .map_err(text)?
        else {
            return Ok(None);
        };
        let context = secret_context(&db, plugin, name);
        let plain = self
            .master_key
            .open(&context, &sealed)
            .map_err(|_| format!("secret {name} cannot be opened with this platform's key"))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| format!("secret {name} is not text"))
    }
}

fn secret_context(db: &TenantDb, plugin: &str, name: &str) -> String {
    format!("tenant:{}:plugin:{plugin}:secret:{name}", db.id())
}

/// The snippet's text without the `<mark>` tags and with entities decoded.
fn strip_marks(html: &str) -> String {
    html.replace("<mark>", "")
        .replace("</mark>", "")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn parse_grant(value: &serde_json::Value) -> Grant {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

impl Plugins {
    /// The host for this installation: compiled code cached under the data
    /// directory, tagged with a key derived from the master key.
    pub fn new(
        settings: &Settings,
        store: Store,
        master_key: &MasterKey,
    ) -> anyhow::Result<Plugins> {
        let config = HostConfig {
            cache_dir: Some(settings.data_dir.join("plugins").join("compiled")),
            cache_key: master_key.derive("plugin-compiled-code"),
            policy: PlatformPolicy {
                allow_private_network: settings.outbound_allow_private,
                allow_plain_http: settings.outbound_allow_private,
                ..PlatformPolicy::default()
            },
            ..HostConfig::default()
        };
        let services = Arc::new(Services {
            store: store.clone(),
            master_key: master_key.clone(),
        });
        Ok(Plugins {
            host: Arc::new(tokio::sync::OnceCell::new()),
            policy: Arc::new(config.policy.clone()),
            config: Arc::new(config),
            services,
            store,
        })
    }

    /// The host, started on first use: an installation (or a test) that never
    /// runs a plugin never reserves the engine's instance pool nor starts its
    /// epoch ticker.
    pub async fn host(&self) -> Result<Arc<PluginHost>, PluginsError> {
        self.host
            .get_or_try_init(|| async {
                PluginHost::new((*self.config).clone(), self.services.clone())
                    .map(Arc::new)
                    .map_err(|e| PluginsError::Host(format!("starting the plugin host: {e:#}")))
            })
            .await
            .cloned()
    }

    async fn trusted(&self) -> Result<HashMap<String, package::VerifyingKey>, PluginsError> {
        let mut keys = HashMap::new();
        for (name, key) in store_plugins::publishers(&self.store).await? {
            keys.insert(name, package::parse_public_key(&key)?);
        }
        Ok(keys)
    }

    /// Compiles and admits a bundle off the async runtime's threads.
    async fn prepare(&self, bundle: VerifiedBundle) -> Result<Arc<LoadedPlugin>, PluginsError> {
        let host = self.host().await?;
        let loaded = tokio::task::spawn_blocking(move || host.prepare(&bundle))
            .await
            .map_err(|e| PluginsError::Invalid(format!("compilation stopped: {e}")))??;
        Ok(loaded)
    }

    /// Verifies, compiles and publishes a bundle into the catalogue. Returns the
    /// package and whether it was new.
    pub async fn publish(
        &self,
        bytes: &[u8],
        actor: &str,
    ) -> Result<(Package, bool), PluginsError> {
        let bundle = package::open(bytes, &self.trusted().await?)?;
        let package = Package {
            plugin_id: bundle.manifest.id.clone(),
            version: bundle.manifest.version.to_string(),
            publisher: bundle.manifest.publisher.clone(),
            name: bundle.manifest.name.clone(),
            world: bundle.manifest.world.as_str().to_owned(),
            manifest: bundle.manifest_text.clone(),
            wasm_sha256: bundle.wasm_sha256.clone(),
            published_at: portico_tenants::clock::now_ms(),
        };
        self.prepare(bundle).await?;
        let new = store_plugins::publish(&self.store, &package, bytes, actor).await?;
        Ok((package, new))
    }

    /// A published version, loaded (verified again against today's trusted keys:
    /// a distrusted publisher's code stops loading).
    pub async fn load(
        &self,
        plugin_id: &str,
        version: &str,
    ) -> Result<Arc<LoadedPlugin>, PluginsError> {
        if let Some(loaded) = self
            .host
            .get()
            .and_then(|host| host.get(&format!("{plugin_id}@{version}")))
        {
            return Ok(loaded);
        }
        let stored = store_plugins::package(&self.store, plugin_id, version).await?;
        let bundle = package::open(&stored.bundle, &self.trusted().await?)?;
        if bundle.wasm_sha256 != stored.package.wasm_sha256 {
            return Err(PluginsError::Invalid(
                "the stored bundle does not match the catalogue".into(),
            ));
        }
        self.prepare(bundle).await
    }

    /// The newest published version of a plugin.
    pub async fn latest(&self, plugin_id: &str) -> Result<String, PluginsError> {
        store_plugins::packages(&self.store)
            .await?
            .into_iter()
            .filter(|p| p.plugin_id == plugin_id)
            .filter_map(|p| semver::Version::parse(&p.version).ok())
            .max()
            .map(|v| v.to_string())
            .ok_or(PluginsError::Store(StoreError::NotFound("plugin package")))
    }

    /// The call identity for a tenant's install of `plugin`.
    pub fn invocation(
        &self,
        db: &TenantDb,
        plugin: Arc<LoadedPlugin>,
        install: &Install,
    ) -> Invocation {
        self.invocation_with(db, plugin, &parse_grant(&install.grant), &install.config)
    }

    fn invocation_with(
        &self,
        db: &TenantDb,
        plugin: Arc<LoadedPlugin>,
        grant: &Grant,
        config: &serde_json::Value,
    ) -> Invocation {
        let effective = portico_plugins::manifest::effective(&plugin.manifest, grant, &self.policy);
        Invocation {
            call: CallContext {
                tenant: db.slug().to_owned(),
                plugin: plugin.manifest.id.clone(),
                version: plugin.manifest.version.to_string(),
                grant: Arc::new(effective),
                config: config.to_string().into(),
            },
            plugin,
        }
    }

    /// Installs (or upgrades to) a version for a tenant: the new version is
    /// compiled, its configuration checked against its schema, its `on-install`
    /// run (which also warms it), and only then does the tenant switch to it —
    /// calls in flight finish on the version they started with.
    pub async fn install(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        version: Option<&str>,
        grant: Grant,
        config: Option<serde_json::Value>,
        actor: &str,
    ) -> Result<Install, PluginsError> {
        let version = match version {
            Some(v) => v.to_owned(),
            None => self.latest(plugin_id).await?,
        };
        let loaded = self.load(plugin_id, &version).await?;
        let existing = store_plugins::install_of_plugin(db, plugin_id).await.ok();
        let config = config
            .or_else(|| existing.as_ref().map(|e| e.config.clone()))
            .unwrap_or_else(|| serde_json::json!({}));
        loaded
            .manifest
            .check_config(&config)
            .map_err(|e| PluginsError::Invalid(format!("configuration: {e}")))?;
        let asked = loaded.manifest.requested();
        if let Some(extra) = grant.capabilities.iter().find(|c| !asked.contains(c)) {
            return Err(PluginsError::Invalid(format!(
                "the plugin does not ask for capability {extra}"
            )));
        }
        let invocation = self.invocation_with(db, loaded.clone(), &grant, &config);
        self.host().await?.on_install(&invocation).await?;
        let grant =
            serde_json::to_value(&grant).map_err(|e| PluginsError::Invalid(e.to_string()))?;
        let install =
            store_plugins::install(db, plugin_id, &version, &grant, &config, actor).await?;
        self.schedule_next(db, &loaded).await?;
        Ok(install)
    }

    /// Enables a plugin (for the organizations named, or all) and, for a scheduled
    /// one, schedules its next run.
    pub async fn enable(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        organizations: Option<Vec<i64>>,
        actor: &str,
    ) -> Result<Install, PluginsError> {
        let install =
            store_plugins::set_enabled(db, plugin_id, true, Some(organizations), actor).await?;
        let loaded = self.load(plugin_id, &install.version).await?;
        self.schedule_next(db, &loaded).await?;
        Ok(install)
    }

    /// A scheduled plugin's next run: the next multiple of its period.
    async fn schedule_next(
        &self,
        db: &TenantDb,
        loaded: &LoadedPlugin,
    ) -> Result<(), PluginsError> {
        let (World::Scheduled, Some(minutes)) =
            (loaded.manifest.world, loaded.manifest.every_minutes)
        else {
            return Ok(());
        };
        let period = i64::from(minutes) * 60_000;
        let now = portico_tenants::clock::now_ms();
        let next = (now / period + 1) * period;
        Ok(store_plugins::schedule(db, &loaded.manifest.id, next).await?)
    }

    /// Runs a scheduled plugin now (the `plugin.scheduled` job) and applies what it
    /// proposes; the next run is scheduled whatever happened.
    async fn run_scheduled(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        mailer: &Mailer,
    ) -> Result<(), JobError> {
        let install = match store_plugins::install_of_plugin(db, plugin_id).await {
            Ok(install) if install.enabled => install,
            // Uninstalled or disabled: the schedule ends (enabling starts it again).
            Ok(_) | Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(JobError::Retry(text(e))),
        };
        let loaded = self
            .load(plugin_id, &install.version)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        if loaded.manifest.world != World::Scheduled {
            return Ok(());
        }
        let invocation = self.invocation(db, loaded.clone(), &install);
        let actor = format!("plugin:{plugin_id}");
        let target = format!("plugin:{plugin_id}");
        let now = portico_tenants::clock::now_ms();
        let log = |action: &'static str, details: serde_json::Value| {
            let (actor, target) = (actor.clone(), target.clone());
            async move {
                portico_tenants::audit::append(
                    db,
                    AuditEntry {
                        actor,
                        action,
                        target,
                        details,
                    },
                )
                .await
                .map_err(|e| JobError::Retry(text(e)))
            }
        };
        let host = self
            .host()
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        match host.run_scheduled(&invocation, now).await {
            Ok(outcome) => {
                for (effect, capability) in &outcome.refused {
                    log(
                        "plugin.effect_refused",
                        serde_json::json!({ "effect": effect, "missing": capability.as_str() }),
                    )
                    .await?;
                }
                for capability in &outcome.denied {
                    log(
                        "plugin.call_denied",
                        serde_json::json!({ "capability": capability.as_str() }),
                    )
                    .await?;
                }
                for effect in outcome.value {
                    let name = effect_name(&effect);
                    let applied = match effect {
                        Effect::SendEmail(mail) => send_mail(mailer, mail).await,
                        _ => Err(
                            "a scheduled run has no ticket to change or take a requester from"
                                .to_owned(),
                        ),
                    };
                    match applied {
                        Ok(()) => {
                            log(
                                "plugin.effect_applied",
                                serde_json::json!({ "effect": name }),
                            )
                            .await?
                        }
                        Err(reason) => {
                            log(
                                "plugin.effect_refused",
                                serde_json::json!({ "effect": name, "reason": reason }),
                            )
                            .await?
                        }
                    }
                }
            }
            Err(error) => {
                log(
                    "plugin.failed",
                    serde_json::json!({ "error": error.to_string() }),
                )
                .await?;
            }
        }
        self.schedule_next(db, &loaded)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }

    /// Checks and stores a new configuration.
    pub async fn configure(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        config: serde_json::Value,
        actor: &str,
    ) -> Result<Install, PluginsError> {
        let install = store_plugins::install_of_plugin(db, plugin_id).await?;
        let loaded = self.load(plugin_id, &install.version).await?;
        loaded
            .manifest
            .check_config(&config)
            .map_err(|e| PluginsError::Invalid(format!("configuration: {e}")))?;
        Ok(store_plugins::configure(db, plugin_id, &config, actor).await?)
    }

    /// Rolls back to the previous version (loaded and warmed first).
    pub async fn rollback(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        actor: &str,
    ) -> Result<Install, PluginsError> {
        let install = store_plugins::install_of_plugin(db, plugin_id).await?;
        if let Some(previous) = &install.previous_version {
            let loaded = self.load(plugin_id, previous).await?;
            let invocation = self.invocation(db, loaded, &install);
            self.host().await?.warm(&invocation).await?;
        }
        Ok(store_plugins::rollback(db, plugin_id, actor).await?)
    }

    /// Sets a secret the plugin may use in egress headers (sealed at rest).
    pub async fn set_secret(
        &self,
        db: &TenantDb,
        plugin_id: &str,
        name: &str,
        value: Option<&str>,
        actor: &str,
    ) -> Result<(), PluginsError> {
        store_plugins::install_of_plugin(db, plugin_id).await?;
        let sealed = value.map(|v| {
            self.services
                .master_key
                .seal(&secret_context(db, plugin_id, name), v.as_bytes())
        });
        Ok(store_plugins::set_secret(db, plugin_id, name, sealed.as_deref(), actor).await?)
    }

    /// Runs the tenant's ticket hooks for one event and applies their effects.
    async fn ticket_event(
        &self,
        db: &TenantDb,
        event: &Event,
        mailer: &Mailer,
    ) -> Result<(), DeliveryError> {
        if event.payload["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("plugin:"))
        {
            // A plugin's own change: never fed back to plugins (no loops).
            return Ok(());
        }
        let installs = store_plugins::installs(db)
            .await
            .map_err(|e| DeliveryError(text(e)))?;
        // Only the enabled ticket-hook plugins that asked for this event; the ticket
        // is read only when there is one.
        let mut relevant = Vec::new();
        for install in installs.iter().filter(|i| i.enabled) {
            match self.load(&install.plugin_id, &install.version).await {
                Ok(loaded)
                    if loaded.manifest.world == World::TicketHooks
                        && loaded.manifest.events.contains(&event.event_type) =>
                {
                    relevant.push((install, loaded));
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(tenant = db.slug(), plugin = %install.plugin_id, %error, "plugin not loaded");
                }
            }
        }
        if relevant.is_empty() {
            return Ok(());
        }
        let Some(number) = event.payload["number"]
            .as_i64()
            .or_else(|| event.aggregate_id.parse().ok())
        else {
            return Ok(());
        };
        let ticket = match tickets::get_ticket(db, number, Reader::SYSTEM).await {
            Ok(ticket) => ticket,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(DeliveryError(text(e))),
        };
        let hook_event = TicketEvent {
            event_type: event.event_type.clone(),
            ticket: plugin_ticket(db, &ticket).await,
        };
        // Which plugin handled the event is recorded only when a fail-closed one can
        // make the outbox deliver it again.
        let track = relevant
            .iter()
            .any(|(_, loaded)| loaded.manifest.on_failure == FailurePolicy::Closed);
        for (install, loaded) in relevant
            .iter()
            .filter(|(i, _)| i.runs_for(ticket.organization_id))
        {
            // Already handled when an earlier delivery of this event stopped at a
            // fail-closed plugin after it.
            if track
                && store_plugins::event_handled(db, &install.plugin_id, event.id)
                    .await
                    .map_err(|e| DeliveryError(text(e)))?
            {
                continue;
            }
            let invocation = self.invocation(db, loaded.clone(), install);
            let actor = format!("plugin:{}", install.plugin_id);
            let host = self
                .host()
                .await
                .map_err(|e| DeliveryError(e.to_string()))?;
            match host.on_ticket_event(&invocation, &hook_event).await {
                Ok(outcome) => {
                    for (effect, capability) in &outcome.refused {
                        audit(db, &actor, "plugin.effect_refused", number, serde_json::json!({ "effect": effect, "missing": capability.as_str(), "version": install.version })).await?;
                    }
                    for capability in &outcome.denied {
                        audit(db, &actor, "plugin.call_denied", number, serde_json::json!({ "capability": capability.as_str(), "version": install.version })).await?;
                    }
                    for effect in outcome.value {
                        let name = effect_name(&effect);
                        match apply(db, &ticket, effect, &actor, mailer).await {
                            Ok(()) => audit(db, &actor, "plugin.effect_applied", number, serde_json::json!({ "effect": name, "version": install.version })).await?,
                            Err(reason) => audit(db, &actor, "plugin.effect_refused", number, serde_json::json!({ "effect": name, "reason": reason, "version": install.version })).await?,
                        }
                    }
                }
                Err(error) => {
                    audit(db, &actor, "plugin.failed", number, serde_json::json!({ "error": error.to_string(), "version": install.version })).await?;
                    if loaded.manifest.on_failure == FailurePolicy::Closed
                        && !matches!(error, PluginError::Guest(_))
                    {
                        return Err(DeliveryError(format!(
                            "plugin {} failed: {error}",
                            install.plugin_id
                        )));
                    }
                }
            }
            if track {
                store_plugins::mark_event_handled(db, &install.plugin_id, event.id)
                    .await
                    .map_err(|e| DeliveryError(text(e)))?;
            }
        }
        Ok(())
    }
}

async fn audit(
    db: &TenantDb,
    actor: &str,
    action: &'static str,
    number: i64,
    details: serde_json::Value,
) -> Result<(), DeliveryError> {
    portico_tenants::audit::append(
        db,
        AuditEntry {
            actor: actor.to_owned(),
            action,
            target: format!("ticket:{number}"),
            details,
        },
    )
    .await
    .map_err(|e| DeliveryError(text(e)))
}

/// A plugin's e-mail, sent as automatic mail from the tenant.
async fn send_mail(mailer: &Mailer, mail: portico_plugins::bindings::Email) -> Result<(), String> {
    mailer
        .send(&OutboundEmail {
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: None,
            automatic: true,
            locale: crate::i18n::Locale::default(),
        })
        .await
        .map_err(|e| e.to_string())
}

/// Applies one granted effect through the data layer's own checks.
async fn apply(
    db: &TenantDb,
    ticket: &tickets::Ticket,
    effect: Effect,
    actor: &str,
    mailer: &Mailer,
) -> Result<(), String> {
    let update = |change: TicketChange| async move {
        tickets::update_ticket(db, ticket.number, change, actor, Reader::SYSTEM)
            .await
            .map(|_| ())
            .map_err(text)
    };
    match effect {
        Effect::AddNote(body) => portico_tenants::thread::add_message(
            db,
            ticket.number,
            portico_tenants::thread::NewMessage {
                body,
                internal: true,
                author_id: None,
                source: tickets::Source::Api,
                language: ticket.language.clone(),
                email_message_id: None,
                files: Vec::new(),
                follow_up: false,
            },
            actor,
            Reader::SYSTEM,
        )
        .await
        .map(|_| ())
        .map_err(text),
        Effect::SetPriority(p) => {
            let priority = Priority::parse(&p).map_err(text)?;
            update(TicketChange {
                priority: Some(priority),
                ..TicketChange::default()
            })
            .await
        }
        Effect::SetType(t) => {
            update(TicketChange {
                type_key: Some(Some(t)),
                ..TicketChange::default()
            })
            .await
        }
        Effect::AddTags(tags) => {
            let mut all = ticket.tags.clone();
            all.extend(tags);
            update(TicketChange {
                tags: Some(all),
                ..TicketChange::default()
            })
            .await
        }
        Effect::SetFields(fields) => {
            update(TicketChange {
                fields: fields
                    .into_iter()
                    .map(|f| (f.name, serde_json::Value::String(f.value)))
                    .collect(),
                ..TicketChange::default()
            })
            .await
        }
        Effect::OpenTicket(new) => {
            let priority = match new.priority.as_deref() {
                Some(p) => Priority::parse(p).map_err(text)?,
                None => Priority::Medium,
            };
            tickets::create_ticket(
                db,
                tickets::NewTicket {
                    subject: new.subject,
                    description: new.description,
                    priority,
                    requester_id: ticket.requester_id,
                    organization_id: new.organization_id.or(ticket.organization_id),
                    source: tickets::Source::Api,
                    language: ticket.language.clone(),
                    ..tickets::NewTicket::default()
                },
                None,
                Reader::SYSTEM,
            )
            .await
            .map(|_| ())
            .map_err(text)
        }
        Effect::RequestDeviceAction(action) => Err(format!(
            "device action {} on {} cannot run: no endpoint agent is connected to this platform yet",
            action.action, action.device_id
        )),
        Effect::SendEmail(mail) => send_mail(mailer, mail).await,
    }
}

/// The outbox subscriber running ticket hooks.
pub struct PluginEvents {
    /// The plugins.
    pub plugins: Plugins,
    /// For send-email effects.
    pub mailer: Mailer,
}

impl Subscriber for PluginEvents {
    fn name(&self) -> &'static str {
        "plugins"
    }

    fn deliver<'a>(
        &'a self,
        tenant: &'a TenantDb,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            if event.aggregate_type != "ticket" {
                return Ok(());
            }
            self.plugins.ticket_event(tenant, event, &self.mailer).await
        })
    }
}

/// The job running scheduled plugins.
pub struct PluginSchedule {
    /// The plugins.
    pub plugins: Plugins,
    /// For send-email effects.
    pub mailer: Mailer,
}

impl JobHandler for PluginSchedule {
    fn kind(&self) -> &'static str {
        store_plugins::SCHEDULE_JOB
    }

    fn run<'a>(
        &'a self,
        scope: JobScope<'a>,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let JobScope::Tenant(db) = scope else {
                return Err(JobError::Permanent(
                    "a plugin schedule belongs to a tenant".into(),
                ));
            };
            let Some(plugin_id) = payload["plugin_id"].as_str() else {
                return Err(JobError::Permanent("no plugin_id".into()));
            };
            self.plugins
                .run_scheduled(db, plugin_id, &self.mailer)
                .await
        })
    }
}

/// First-party components built by `plugins/build.sh`: (directory, plugin ids).
pub fn first_party(dir: &std::path::Path) -> Option<Vec<String>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("plugin.toml").exists() && e.path().join("plugin.wasm").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    Some(ids)
}

/// Builds a signed bundle from a directory holding `plugin.toml` and `plugin.wasm`.
pub fn pack(dir: &std::path::Path, secret_key: &str) -> Result<Vec<u8>, PluginsError> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| PluginsError::Invalid(format!("{}: {e}", dir.join(name).display())))
    };
    let manifest = String::from_utf8(read("plugin.toml")?)
        .map_err(|_| PluginsError::Invalid("plugin.toml is not UTF-8".into()))?;
    let wasm = read("plugin.wasm")?;
    let key = package::parse_secret_key(secret_key)?;
    Ok(package::build(&manifest, &wasm, &key)?)
}
