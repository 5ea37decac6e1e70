//! The shared state of one running application, handed to every handler.

use std::ops::Deref;
use std::sync::Arc;

use portico_tenants::Store;
use portico_tenants::routing::HostIndex;
use portico_tenants::work::WorkerStats;

use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::outbound::OutboundHttp;
use crate::secrets::MasterKey;
use crate::settings::Settings;
use crate::templates::Templates;

/// Everything a request may need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<AppParts>,
}

/// The parts of the state.
pub struct AppParts {
    /// Validated settings.
    pub settings: Settings,
    /// The database.
    pub store: Store,
    /// Host → tenant routing.
    pub hosts: Arc<HostIndex>,
    /// Page templates.
    pub templates: Templates,
    /// Outbound mail.
    pub mailer: Mailer,
    /// The guarded client for tenant-configured URLs.
    pub outbound: OutboundHttp,
    /// Encrypts stored secrets.
    pub master_key: MasterKey,
    /// Prometheus instruments.
    pub metrics: Metrics,
    /// The background worker's counters.
    pub worker_stats: Arc<WorkerStats>,
    /// The outbound client for identity providers: follows no redirects.
    pub oidc_http: crate::outbound::OutboundHttp,
    /// Discovered identity-provider metadata.
    pub oidc_metadata: crate::identity::sso::MetadataCache,
    /// Text messages (codes for step-up).
    pub sms: crate::sms::Sms,
    /// Rate limits on sign-in and friends.
    pub limits: crate::ratelimit::RateLimiter,
    /// Casbin decisions.
    pub permissions: crate::permissions::Permissions,
    /// Password policy and hashing.
    pub passwords: crate::identity::password::Passwords,
    /// Browser sessions: the tenant schemas, or Redis when configured.
    pub sessions: crate::identity::session_store::SessionStore,
    /// Custom domains: DNS checks and certificate orders.
    pub domains: Arc<crate::domains::DomainService>,
    /// The certificates served over HTTPS, by SNI.
    pub certs: Arc<crate::domains::tls::CertStore>,
    /// Files outside the database (attachments).
    pub blobs: crate::blobs::Blobs,
    /// The inbound-mail pipeline.
    pub intake: crate::mail::intake::Intake,
    /// Redis, when configured.
    pub redis: Option<redis::aio::ConnectionManager>,
    /// The plugin host with Portico's services.
    pub plugins: crate::plugins::Plugins,
}

impl std::fmt::Debug for AppParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppParts")
            .field("settings", &self.settings)
            .field("store", &self.store)
            .field("redis", &self.redis.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(parts: AppParts) -> Self {
        AppState {
            inner: Arc::new(parts),
        }
    }
}

impl Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.inner
    }
}
