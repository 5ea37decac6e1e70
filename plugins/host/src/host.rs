//! The host side of a call: the state each fresh store carries and the host
//! functions behind the WIT imports. Every function that reaches outside the guest
//! checks the call's effective grant first, against the tenant recorded here on the
//! host side; the guest cannot name another tenant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::base::portico::plugin::{
    config, egress, knowledge, kv, llm, log, tickets, types,
};
use crate::limits::MemoryLimiter;
use crate::manifest::{Capability, Grant, PlatformPolicy};

/// What the application provides to plugins: tenant data through its own
/// permission checks. Every method receives the tenant and plugin from the host.
#[async_trait::async_trait]
pub trait PluginServices: Send + Sync + 'static {
    /// A value from the plugin's key-value store.
    async fn kv_get(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, String>;
    /// Stores a value (within the plugin's quota).
    async fn kv_set(
        &self,
        tenant: &str,
        plugin: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), String>;
    /// Deletes a value.
    async fn kv_delete(&self, tenant: &str, plugin: &str, key: &str) -> Result<(), String>;
    /// A ticket of the tenant.
    async fn ticket(&self, tenant: &str, number: i64) -> Result<types::Ticket, String>;
    /// Searches the tenant's knowledge base as its staff sees it.
    async fn kb_search(
        &self,
        tenant: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<knowledge::ArticleHit>, String>;
    /// A completion from the platform's language model.
    async fn llm_complete(
        &self,
        tenant: &str,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<String, String>;
    /// A secret the tenant set for the plugin, by name.
    async fn secret(
        &self,
        tenant: &str,
        plugin: &str,
        name: &str,
    ) -> Result<Option<String>, String>;
}

/// A call's identity and rights, fixed by the host before the guest runs.
#[derive(Clone)]
pub struct CallContext {
    /// The tenant (slug) the call runs for.
    pub tenant: String,
    /// The plugin's id.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// requested ∩ granted ∩ platform policy.
    pub grant: Arc<Grant>,
    /// The tenant's configuration, JSON.
    pub config: Arc<str>,
}

/// The most log lines one call may write, and their length.
const MAX_LOG_LINES: u32 = 200;
const MAX_LOG_LINE: usize = 4_096;
/// The most an egress response body may hold.
const MAX_EGRESS_BODY: usize = 1 << 20;

/// A fresh store's data: one per invocation.
pub struct HostState {
    pub(crate) call: CallContext,
    pub(crate) services: Arc<dyn PluginServices>,
    pub(crate) policy: Arc<PlatformPolicy>,
    pub(crate) limiter: MemoryLimiter,
    /// Built on the first WASI call: most calls make none, and building it is a
    /// good part of a fresh store's cost.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    /// Capabilities the guest tried to use without a grant.
    pub(crate) denied: Vec<Capability>,
    log_lines: u32,
    /// Time spent inside host calls (not the guest's CPU time).
    pub(crate) in_host: Duration,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
}

impl HostState {
    pub(crate) fn new(
        call: CallContext,
        services: Arc<dyn PluginServices>,
        policy: Arc<PlatformPolicy>,
        memory_limit: usize,
        wall: Duration,
    ) -> HostState {
        let now = Instant::now();
        HostState {
            call,
            services,
            policy,
            limiter: MemoryLimiter::new(memory_limit),
            wasi: None,
            table: ResourceTable::new(),
            denied: Vec::new(),
            log_lines: 0,
            in_host: Duration::ZERO,
            started: now,
            deadline: now + wall,
        }
    }

    /// Guest time so far: wall time minus time spent in host calls.
    pub(crate) fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }

    fn check(&mut self, capability: Capability) -> Result<(), String> {
        if self.call.grant.capabilities.contains(&capability) {
            Ok(())
        } else {
            self.denied.push(capability);
            Err(format!(
                "capability {capability} was not granted to this plugin"
            ))
        }
    }

    async fn timed<T>(&mut self, work: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = work.await;
        self.in_host += start.elapsed();
        out
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // No files, no environment, no arguments, no sockets, no stdio.
        let ctx = self.wasi.get_or_insert_with(|| WasiCtx::builder().build());
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut end = MAX_LOG_LINE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        let (tenant, plugin) = (&self.call.tenant, &self.call.plugin);
        match level {
            log::Level::Trace => tracing::trace!(tenant, plugin, "{message}"),
            log::Level::Debug => tracing::debug!(tenant, plugin, "{message}"),
            log::Level::Info => tracing::info!(tenant, plugin, "{message}"),
            log::Level::Warn => tracing::warn!(tenant, plugin, "{message}"),
            log::Level::Error => tracing::error!(tenant, plugin, "{message}"),
        }
    }
}

impl config::Host for HostState {
    async fn get(&mut self) -> String {
        self.call.config.to_string()
    }
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        self.check(Capability::Kv)?;
        let services = self.services.clone();
        let (tenant, plugin) = (self.call.tenant.clone(), self.call.plugin.clone());
        self.timed(services.kv_get(&tenant, &plugin, &key)).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        self.check(Capability::Kv)?;
        let services = self.services.clone();
        let (tenant, plugin) = (self.call.tenant.clone(), self.call.plugin.clone());
        self.timed(services.kv_set(&tenant, &plugin, &key, &value))
            .await
    }

    async fn delete(&mut self, key: String) -> Result<(), String> {
        self.check(Capability::Kv)?;
        let services = self.services.clone();
        let (tenant, plugin) = (self.call.tenant.clone(), self.call.plugin.clone());
        self.timed(services.kv_delete(&tenant, &plugin, &key)).await
    }
}

impl tickets::Host for HostState {
    async fn get(&mut self, number: i64) -> Result<types::Ticket, String> {
        self.check(Capability::ReadTickets)?;
        let services = self.services.clone();
        let tenant = self.call.tenant.clone();
        self.timed(services.ticket(&tenant, number)).await
    }
}

impl knowledge::Host for HostState {
    async fn search(
        &mut self,
        query: String,
        limit: u32,
    ) -> Result<Vec<knowledge::ArticleHit>, String> {
        self.check(Capability::ReadKb)?;
        let services = self.services.clone();
        let tenant = self.call.tenant.clone();
        self.timed(services.kb_search(&tenant, &query, limit.min(50)))
            .await
    }
}

impl llm::Host for HostState {
    async fn complete(&mut self, prompt: String, max_tokens: u32) -> Result<String, String> {
        self.check(Capability::Llm)?;
        let services = self.services.clone();
        let tenant = self.call.tenant.clone();
        self.timed(services.llm_complete(&tenant, &prompt, max_tokens.min(4_096)))
            .await
    }
}

impl egress::Host for HostState {
    async fn fetch(&mut self, request: egress::Request) -> Result<egress::Response, String> {
        self.check(Capability::Http)?;
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let services = self.services.clone();
        let call = self.call.clone();
        let policy = self.policy.clone();
        self.timed(fetch(services, call, policy, request, remaining))
            .await
    }
}

/// Replaces each `{{secret:NAME}}` in a header value by the tenant's secret.
async fn substitute_secrets(
    services: &dyn PluginServices,
    call: &CallContext,
    value: String,
) -> Result<String, String> {
    const OPEN: &str = "{{secret:";
    if !value.contains(OPEN) {
        return Ok(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after
            .find("}}")
            .ok_or("unclosed {{secret:…}} in a header")?;
        let name = &after[..end];
        let secret = services
            .secret(&call.tenant, &call.plugin, name)
            .await?
            .ok_or_else(|| format!("secret {name} is not set for this plugin"))?;
        out.push_str(&secret);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| private(v4.into()))
        }
    }
}

/// Outbound HTTP: only to granted hosts, resolved once and pinned (no rebinding
/// between the check and the connection), no redirects, a capped body, secrets
/// substituted into headers on the way out.
async fn fetch(
    services: Arc<dyn PluginServices>,
    call: CallContext,
    policy: Arc<PlatformPolicy>,
    request: egress::Request,
    remaining: Duration,
) -> Result<egress::Response, String> {
    let url = url::Url::parse(&request.url).map_err(|e| format!("invalid URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_plain_http => {}
        other => return Err(format!("scheme {other} is not allowed")),
    }
    let host = url
        .host_str()
        .ok_or("the URL has no host")?
        .to_ascii_lowercase();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let named = if url.port().is_some() {
        format!("{host}:{port}")
    } else {
        host.clone()
    };
    if !call.grant.hosts.contains(&host) && !call.grant.hosts.contains(&named) {
        return Err(format!(
            "host {host} is not among the plugin's granted hosts"
        ));
    }
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let Some(address) = addresses
        .into_iter()
        .find(|a| policy.allow_private_network || !private(a.ip()))
    else {
        return Err(format!("{host} resolves only to private addresses"));
    };
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("invalid method {}", request.method))?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .timeout(remaining.max(Duration::from_millis(1)))
        .build()
        .map_err(|e| e.to_string())?;
    let mut builder = client.request(method, url);
    for header in request.headers {
        let value = substitute_secrets(&*services, &call, header.value).await?;
        builder = builder.header(header.name, value);
    }
    let mut response = builder
        .body(request.body)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some(egress::Header {
                name: name.to_string(),
                value: value.to_str().ok()?.to_owned(),
            })
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_EGRESS_BODY {
            return Err("the response is larger than 1 MiB".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(egress::Response {
        status,
        headers,
        body,
    })
}
