//! The plugin host: one engine with the pooling allocator and epoch interruption,
//! one linker for every world, admission (imports inside the declared world),
//! compiled code cached by (wasm hash, engine compatibility hash), and invocations
//! in a fresh store each, inside hard limits.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use crate::bindings;
use crate::host::{CallContext, HostState, PluginServices};
use crate::limits::{Breakers, TenantLimits};
use crate::manifest::{Capability, Manifest, PlatformPolicy, World};
use crate::package::VerifiedBundle;

/// The host's settings.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled code is cached; `None` keeps it in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Key authenticating cached compiled code: a file without a valid tag is
    /// never loaded (the host loads only code it compiled itself).
    pub cache_key: [u8; 32],
    /// Instances alive at once (the pooling allocator's slots).
    pub max_instances: u32,
    /// How long a call waits for a slot before it is refused.
    pub queue_wait: Duration,
    /// Calls at once per tenant.
    pub tenant_concurrency: usize,
    /// Guest CPU time per tenant per day.
    pub tenant_daily_cpu: Duration,
    /// Consecutive failures that open a breaker, and for how long.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses calls.
    pub breaker_cool_down: Duration,
    /// The epoch tick (CPU-time granularity).
    pub epoch_tick: Duration,
    /// What plugins may do on this platform at all.
    pub policy: PlatformPolicy,
    /// CPU-time limits through epoch interruption. Off only to measure their
    /// overhead: without them an endless loop runs until its wall time.
    pub cpu_limits: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            cache_dir: None,
            cache_key: [0; 32],
            max_instances: 128,
            queue_wait: Duration::from_secs(2),
            tenant_concurrency: 8,
            tenant_daily_cpu: Duration::from_secs(600),
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(30),
            epoch_tick: Duration::from_millis(10),
            policy: PlatformPolicy::default(),
            cpu_limits: true,
        }
    }
}

/// Why a call did not produce a result. The host and every other call carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The plugin returned an error of its own.
    #[error("the plugin reported: {0}")]
    Guest(String),
    /// It ran past its CPU time.
    #[error("the plugin ran past its CPU limit")]
    CpuLimit,
    /// It ran past its wall time (host calls included).
    #[error("the plugin ran past its time limit")]
    Timeout,
    /// It asked for more memory than allowed.
    #[error("the plugin ran out of its memory limit")]
    MemoryLimit,
    /// It recursed too deep.
    #[error("the plugin overflowed its stack")]
    StackOverflow,
    /// It trapped (a panic, an unreachable, an out-of-bounds access…).
    #[error("the plugin crashed: {0}")]
    Trap(String),
    /// What it returned is larger than its output limit.
    #[error("the plugin's answer is larger than its output limit")]
    OutputTooLarge,
    /// Its circuit breaker is open after repeated failures.
    #[error("the plugin is paused after repeated failures")]
    CircuitOpen,
    /// The tenant's plugins used up today's CPU time.
    #[error("the tenant's plugin CPU budget for today is used up")]
    BudgetExhausted,
    /// No slot became free in time.
    #[error("the plugin host is busy")]
    Busy,
    /// The plugin does not implement what was asked.
    #[error("the plugin does not provide {0}")]
    WrongWorld(&'static str),
    /// The host could not run it.
    #[error("plugin host error: {0}")]
    Host(String),
}

impl PluginError {
    /// Whether this failure counts against the circuit breaker.
    fn counts(&self) -> bool {
        !matches!(
            self,
            PluginError::CircuitOpen
                | PluginError::BudgetExhausted
                | PluginError::Busy
                | PluginError::WrongWorld(_)
        )
    }
}

/// Why a component was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// It did not compile.
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// It imports something outside its world.
    #[error("the component imports {0}, which the {1} world does not provide")]
    ImportOutsideWorld(String, &'static str),
    /// It lacks a required export.
    #[error("the component does not export {0}, which the {1} world requires")]
    MissingExport(String, &'static str),
    /// Linking failed.
    #[error("the component does not link: {0}")]
    Link(String),
}

enum WorldPre {
    TicketHooks(bindings::ticket_hooks::TicketHooksPluginPre<HostState>),
    Http(bindings::http::HttpPluginPre<HostState>),
    Scheduled(bindings::scheduled::ScheduledPluginPre<HostState>),
    Ui(bindings::ui::UiPluginPre<HostState>),
    DeviceActions(bindings::device_actions::DeviceActionsPluginPre<HostState>),
}

/// A plugin version compiled, admitted and ready to instantiate.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// SHA-256 of its component.
    pub wasm_sha256: String,
    /// Whether the compiled code came from the cache.
    pub from_cache: bool,
    /// How long compiling took (zero when cached).
    pub compile_time: Duration,
    pre: WorldPre,
    base: bindings::base::BasePre<HostState>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version.to_string())
            .finish()
    }
}

impl LoadedPlugin {
    /// `id@version`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.manifest.id, self.manifest.version)
    }
}

/// A call's identity: which tenant, which plugin version, with what grant.
#[derive(Clone)]
pub struct Invocation {
    /// The loaded version to run.
    pub plugin: Arc<LoadedPlugin>,
    /// Tenant, grant and configuration.
    pub call: CallContext,
}

/// Effects refused for want of a capability: (effect name, capability).
pub type Refused = Vec<(String, Capability)>;

/// A hook's result: the effects the grant allows, and what was refused.
#[derive(Debug, Clone, Default)]
pub struct Outcome<T> {
    /// The value (effects filtered by the grant).
    pub value: T,
    /// Effects proposed without the capability they need.
    pub refused: Refused,
    /// Host functions called without a grant.
    pub denied: Vec<Capability>,
    /// Guest time the call used.
    pub cpu: Duration,
}

/// The capability an effect needs.
pub fn effect_capability(effect: &bindings::Effect) -> Capability {
    use bindings::Effect as E;
    match effect {
        E::AddNote(_) | E::SetPriority(_) | E::SetType(_) | E::AddTags(_) | E::SetFields(_) => {
            Capability::UpdateTickets
        }
        E::OpenTicket(_) => Capability::CreateTickets,
        E::RequestDeviceAction(_) => Capability::DeviceActions,
        E::SendEmail(_) => Capability::SendEmail,
    }
}

/// A short name of an effect, for logs and the audit trail.
pub fn effect_name(effect: &bindings::Effect) -> &'static str {
    use bindings::Effect as E;
    match effect {
        E::AddNote(_) => "add-note",
        E::SetPriority(_) => "set-priority",
        E::SetType(_) => "set-type",
        E::AddTags(_) => "add-tags",
        E::SetFields(_) => "set-fields",
        E::OpenTicket(_) => "open-ticket",
        E::RequestDeviceAction(_) => "request-device-action",
        E::SendEmail(_) => "send-email",
    }
}

fn effect_size(effect: &bindings::Effect) -> usize {
    use bindings::Effect as E;
    16 + match effect {
        E::AddNote(s) | E::SetPriority(s) | E::SetType(s) => s.len(),
        E::AddTags(tags) => tags.iter().map(|t| t.len() + 8).sum(),
        E::SetFields(fields) => fields
            .iter()
            .map(|f| f.name.len() + f.value.len() + 8)
            .sum(),
        E::OpenTicket(t) => t.subject.len() + t.description.len() + 16,
        E::RequestDeviceAction(a) => a.device_id.len() + a.action.len() + a.reason.len(),
        E::SendEmail(m) => m.to.len() + m.subject.len() + m.text.len(),
    }
}

fn view_size(view: &bindings::ui::exports::portico::plugin::ui::View) -> usize {
    use bindings::ui::exports::portico::plugin::ui::Block;
    view.title.len()
        + view
            .blocks
            .iter()
            .map(|b| {
                16 + match b {
                    Block::Heading(s) | Block::Paragraph(s) | Block::Markdown(s) => s.len(),
                    Block::Items(items) => items.iter().map(|i| i.len() + 8).sum(),
                    Block::Table(t) => {
                        t.columns.iter().map(|c| c.len() + 8).sum::<usize>()
                            + t.rows
                                .iter()
                                .flat_map(|r| r.iter())
                                .map(|c| c.len() + 8)
                                .sum::<usize>()
                    }
                    Block::Form(f) => {
                        f.action.len()
                            + f.submit_label.len()
                            + f.inputs
                                .iter()
                                .map(|i| i.name.len() + i.label.len() + i.value.len() + 16)
                                .sum::<usize>()
                    }
                    Block::Chat(messages) => messages
                        .iter()
                        .map(|m| m.author.len() + m.text.len() + 8)
                        .sum(),
                }
            })
            .sum::<usize>()
}

/// One call in a fresh store: admission (budget, breaker, slots), instantiation
/// from the version's `InstancePre`, the export `$call` under the wall-time limit,
/// the guest's own error or a trap turned into a `PluginError`, `$check` on the
/// value, then the call's accounting (`settle`).
macro_rules! hook {
    ($host:ident, $invocation:ident, $pre:expr, |$instance:ident, $store:ident| $call:expr, |$value:ident| $check:expr) => {{
        let admitted = $host.admit($invocation).await?;
        let mut store = $host.store($invocation);
        let result = tokio::time::timeout(Self::wall($invocation), async {
            let instance = $pre.instantiate_async(&mut store).await;
            let $instance = instance.map_err(|e| $host.classify(&store, e))?;
            let called = {
                let $store = &mut store;
                $call.await
            };
            match called {
                Ok(Ok($value)) => $check,
                Ok(Err(message)) => Err(PluginError::Guest(truncate(message))),
                Err(e) => Err($host.classify(&store, e)),
            }
        })
        .await;
        $host.settle($invocation, admitted, &store, result)?
    }};
}

/// The plugin host.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    config: HostConfig,
    services: Arc<dyn PluginServices>,
    policy: Arc<PlatformPolicy>,
    compat: String,
    slots: Arc<Semaphore>,
    tenants: TenantLimits,
    breakers: Breakers,
    loaded: RwLock<HashMap<String, Arc<LoadedPlugin>>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").finish_non_exhaustive()
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Interfaces of ours a plugin may import (all worlds share the base imports).
const BASE_IMPORTS: [&str; 8] = [
    "types",
    "log",
    "config",
    "kv",
    "tickets",
    "knowledge",
    "egress",
    "llm",
];
/// WASI 0.2 packages the host links with an empty context.
const WASI_PACKAGES: [&str; 6] = [
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

fn split_version(name: &str) -> (&str, Option<semver::Version>) {
    match name.rsplit_once('@') {
        Some((base, version)) => (base, semver::Version::parse(version).ok()),
        None => (name, None),
    }
}

/// Whether `name` (an import of the component) is inside the worlds this host
/// provides: our base interfaces at a compatible version, or WASI 0.2.
fn import_allowed(name: &str) -> bool {
    let (base, version) = split_version(name);
    if let Some(interface) = base.strip_prefix("portico:plugin/") {
        let compatible = version.is_some_and(|v| {
            v.major == crate::manifest::INTERFACE_VERSION.major
                && v.minor == crate::manifest::INTERFACE_VERSION.minor
        });
        return compatible && BASE_IMPORTS.contains(&interface);
    }
    WASI_PACKAGES.iter().any(|p| base.starts_with(p))
        && version.is_some_and(|v| v.major == 0 && v.minor == 2)
}

impl PluginHost {
    /// A host with its engine and epoch ticker.
    pub fn new(
        config: HostConfig,
        services: Arc<dyn PluginServices>,
    ) -> wasmtime::Result<PluginHost> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(config.max_instances)
            .total_core_instances(config.max_instances * 8)
            .total_memories(config.max_instances * 2)
            .total_tables(config.max_instances * 4)
            .total_stacks(config.max_instances)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_core_instances_per_component(16)
            .max_memory_size(crate::manifest::MAX_LIMITS.memory_mib as usize * (1 << 20))
            // A fresh store per call reuses a slot at once: clearing the first
            // pages of a memory, its tables and the fiber stack with memset is
            // cheaper than giving them back and faulting them in again. Guests
            // built with a 64 KiB shadow stack (plugins/build.sh) keep stack and
            // data in that first part.
            .linear_memory_keep_resident(128 * 1024)
            .table_keep_resident(16 * 1024)
            .async_stack_keep_resident(64 * 1024);
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(config.cpu_limits)
            .max_wasm_stack(512 * 1024)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm)?;
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::base::Base::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop.clone();
            let tick = config.epoch_tick;
            std::thread::Builder::new()
                .name("plugin-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })?;
        }
        Ok(PluginHost {
            slots: Arc::new(Semaphore::new(config.max_instances as usize)),
            tenants: TenantLimits::new(config.tenant_concurrency, config.tenant_daily_cpu),
            breakers: Breakers::new(config.breaker_threshold, config.breaker_cool_down),
            policy: Arc::new(config.policy.clone()),
            engine,
            linker,
            config,
            services,
            compat,
            loaded: RwLock::new(HashMap::new()),
            stop,
        })
    }

    /// The platform policy.
    pub fn policy(&self) -> &PlatformPolicy {
        &self.policy
    }

    /// The engine's compatibility hash (part of the compiled-code cache key).
    pub fn compatibility(&self) -> &str {
        &self.compat
    }

    /// Per-tenant budgets and concurrency.
    pub fn tenant_limits(&self) -> &TenantLimits {
        &self.tenants
    }

    /// Whether the breaker of a tenant's plugin version is open.
    pub fn breaker_open(&self, tenant: &str, plugin: &LoadedPlugin) -> bool {
        self.breakers.is_open(&format!("{tenant}:{}", plugin.key()))
    }

    fn cache_path(&self, wasm_sha256: &str) -> Option<PathBuf> {
        self.config
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{wasm_sha256}-{}.cwasm", self.compat)))
    }

    fn tag(&self, bytes: &[u8]) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.config.cache_key).expect("any key length");
        mac.update(self.compat.as_bytes());
        mac.update(bytes);
        mac.finalize().into_bytes().to_vec()
    }

    /// Compiled code from the cache, if this host wrote it: the file holds a MAC
    /// (keyed with the host's secret) over the engine hash and the code, checked
    /// before the code is deserialized.
    fn cached(&self, wasm_sha256: &str) -> Option<Component> {
        let path = self.cache_path(wasm_sha256)?;
        let bytes = std::fs::read(&path).ok()?;
        if bytes.len() < 32 {
            return None;
        }
        let (tag, code) = bytes.split_at(32);
        let expected = self.tag(code);
        if !bool::from(subtle_eq(tag, &expected)) {
            tracing::warn!(path = %path.display(), "compiled plugin code with an invalid tag ignored");
            return None;
        }
        // SAFETY: `code` was produced by `Component::serialize` of this very engine
        // configuration (the file name carries the engine's compatibility hash) and
        // written by this host: the MAC over it, keyed with the host's secret, has
        // just been verified, so no other party produced or altered these bytes.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&self.engine, code) };
        component.ok()
    }

    fn store_cache(&self, wasm_sha256: &str, component: &Component) {
        let Some(path) = self.cache_path(wasm_sha256) else {
            return;
        };
        let Ok(code) = component.serialize() else {
            return;
        };
        let mut bytes = self.tag(&code);
        bytes.extend_from_slice(&code);
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let temporary = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&temporary, &bytes).is_ok() {
                let _ = std::fs::rename(&temporary, &path);
            }
        }
    }

    /// Compiles (or loads from the cache) and admits a verified bundle. Blocking
    /// work: call it off the request path (`spawn_blocking`).
    pub fn prepare(&self, bundle: &VerifiedBundle) -> Result<Arc<LoadedPlugin>, AdmissionError> {
        let key = format!("{}@{}", bundle.manifest.id, bundle.manifest.version);
        if let Some(loaded) = self.get(&key)
            && loaded.wasm_sha256 == bundle.wasm_sha256
        {
            return Ok(loaded);
        }
        let started = Instant::now();
        let (component, from_cache) = match self.cached(&bundle.wasm_sha256) {
            Some(component) => (component, true),
            None => {
                let component = Component::new(&self.engine, &bundle.wasm)
                    .map_err(|e| AdmissionError::Compile(format!("{e:#}")))?;
                self.store_cache(&bundle.wasm_sha256, &component);
                (component, false)
            }
        };
        let compile_time = if from_cache {
            Duration::ZERO
        } else {
            started.elapsed()
        };
        let world = bundle.manifest.world;
        let ty = component.component_type();
        for (name, _) in ty.imports(&self.engine) {
            if !import_allowed(name) {
                return Err(AdmissionError::ImportOutsideWorld(
                    name.to_owned(),
                    world.as_str(),
                ));
            }
        }
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(name, _)| split_version(name).0.to_owned())
            .collect();
        for required in ["lifecycle", world.export()] {
            let full = format!("portico:plugin/{required}");
            if !exports.contains(&full) {
                return Err(AdmissionError::MissingExport(
                    format!("{full}@{}", crate::manifest::INTERFACE_VERSION),
                    world.as_str(),
                ));
            }
        }
        let instance_pre: InstancePre<HostState> = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| AdmissionError::Link(format!("{e:#}")))?;
        let link = |e: wasmtime::Error| AdmissionError::Link(format!("{e:#}"));
        let pre = match world {
            World::TicketHooks => WorldPre::TicketHooks(
                bindings::ticket_hooks::TicketHooksPluginPre::new(instance_pre.clone())
                    .map_err(link)?,
            ),
            World::Http => WorldPre::Http(
                bindings::http::HttpPluginPre::new(instance_pre.clone()).map_err(link)?,
            ),
            World::Scheduled => WorldPre::Scheduled(
                bindings::scheduled::ScheduledPluginPre::new(instance_pre.clone()).map_err(link)?,
            ),
            World::Ui => {
                WorldPre::Ui(bindings::ui::UiPluginPre::new(instance_pre.clone()).map_err(link)?)
            }
            World::DeviceActions => WorldPre::DeviceActions(
                bindings::device_actions::DeviceActionsPluginPre::new(instance_pre.clone())
                    .map_err(link)?,
            ),
        };
        let base = bindings::base::BasePre::new(instance_pre).map_err(link)?;
        let loaded = Arc::new(LoadedPlugin {
            manifest: bundle.manifest.clone(),
            wasm_sha256: bundle.wasm_sha256.clone(),
            from_cache,
            compile_time,
            pre,
            base,
        });
        self.loaded
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, loaded.clone());
        Ok(loaded)
    }

    /// A loaded version, by `id@version`.
    pub fn get(&self, key: &str) -> Option<Arc<LoadedPlugin>> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Forgets a loaded version (calls in flight keep their own reference).
    pub fn unload(&self, key: &str) {
        self.loaded
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn store(&self, invocation: &Invocation) -> Store<HostState> {
        let limits = invocation.plugin.manifest.limits;
        let wall = Duration::from_millis(u64::from(limits.wall_ms));
        let cpu = Duration::from_millis(u64::from(limits.cpu_ms));
        let state = HostState::new(
            invocation.call.clone(),
            self.services.clone(),
            self.policy.clone(),
            limits.memory_mib as usize * (1 << 20),
            wall,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Every tick the guest runs, the callback checks its CPU time (wall time
        // minus host calls) and yields to the runtime so a busy guest never holds a
        // worker thread; past its limit it traps.
        if self.config.cpu_limits {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |ctx| {
                if ctx.data().guest_time() > cpu {
                    Err(wasmtime::Trap::Interrupt.into())
                } else {
                    Ok(wasmtime::UpdateDeadline::Yield(1))
                }
            });
        }
        store
    }

    fn classify(&self, store: &Store<HostState>, error: wasmtime::Error) -> PluginError {
        if store.data().limiter.hit {
            return PluginError::MemoryLimit;
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => PluginError::CpuLimit,
            Some(wasmtime::Trap::StackOverflow) => PluginError::StackOverflow,
            Some(trap) => PluginError::Trap(trap.to_string()),
            None => PluginError::Trap(format!("{error:#}")),
        }
    }

    async fn admit(&self, invocation: &Invocation) -> Result<AdmittedCall, PluginError> {
        let tenant = &invocation.call.tenant;
        let breaker = format!("{tenant}:{}", invocation.plugin.key());
        if !self.tenants.has_budget(tenant) {
            return Err(PluginError::BudgetExhausted);
        }
        if !self.breakers.allow(&breaker) {
            return Err(PluginError::CircuitOpen);
        }
        let tenant_slot = self
            .tenants
            .acquire(tenant, self.config.queue_wait)
            .await
            .ok_or(PluginError::Busy)?;
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            // The queue in front of the pool: wait for a free instance slot.
            Err(_) => {
                tokio::time::timeout(self.config.queue_wait, self.slots.clone().acquire_owned())
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .ok_or(PluginError::Busy)?
            }
        };
        Ok(AdmittedCall {
            breaker,
            _slots: (tenant_slot, slot),
        })
    }

    fn settle<T>(
        &self,
        invocation: &Invocation,
        admitted: AdmittedCall,
        store: &Store<HostState>,
        result: Result<Result<T, PluginError>, tokio::time::error::Elapsed>,
    ) -> Result<(T, Vec<Capability>, Duration), PluginError> {
        let cpu = store.data().guest_time();
        self.tenants.charge(&invocation.call.tenant, cpu);
        let result = match result {
            Ok(inner) => inner,
            Err(_) => Err(PluginError::Timeout),
        };
        self.breakers.record(
            &admitted.breaker,
            result.as_ref().is_err_and(PluginError::counts),
        );
        if let Err(error) = &result {
            tracing::warn!(
                tenant = %invocation.call.tenant,
                plugin = %invocation.plugin.key(),
                %error,
                "plugin call failed"
            );
        }
        result.map(|value| (value, store.data().denied.clone(), cpu))
    }

    fn wall(invocation: &Invocation) -> Duration {
        Duration::from_millis(u64::from(invocation.plugin.manifest.limits.wall_ms))
    }

    fn output_limit(invocation: &Invocation) -> usize {
        invocation.plugin.manifest.limits.output_kib as usize * 1024
    }

    fn filter_effects(
        invocation: &Invocation,
        effects: Vec<bindings::Effect>,
    ) -> Result<(Vec<bindings::Effect>, Refused), PluginError> {
        if effects.iter().map(effect_size).sum::<usize>() > Self::output_limit(invocation) {
            return Err(PluginError::OutputTooLarge);
        }
        let mut allowed = Vec::new();
        let mut refused = Vec::new();
        for effect in effects {
            let needs = effect_capability(&effect);
            if invocation.call.grant.capabilities.contains(&needs) {
                allowed.push(effect);
            } else {
                refused.push((effect_name(&effect).to_owned(), needs));
            }
        }
        Ok((allowed, refused))
    }

    /// Runs a ticket hook.
    pub async fn on_ticket_event(
        &self,
        invocation: &Invocation,
        event: &bindings::TicketEvent,
    ) -> Result<Outcome<Vec<bindings::Effect>>, PluginError> {
        let WorldPre::TicketHooks(pre) = &invocation.plugin.pre else {
            return Err(PluginError::WrongWorld("ticket hooks"));
        };
        let ((value, refused), denied, cpu) = hook!(
            self,
            invocation,
            pre,
            |instance, store| instance
                .portico_plugin_ticket_hooks()
                .call_on_ticket_event(store, event),
            |effects| Self::filter_effects(invocation, effects)
        );
        Ok(Outcome {
            value,
            refused,
            denied,
            cpu,
        })
    }

    /// Runs a scheduled plugin.
    pub async fn run_scheduled(
        &self,
        invocation: &Invocation,
        now_ms: i64,
    ) -> Result<Outcome<Vec<bindings::Effect>>, PluginError> {
        let WorldPre::Scheduled(pre) = &invocation.plugin.pre else {
            return Err(PluginError::WrongWorld("a schedule"));
        };
        let ((value, refused), denied, cpu) = hook!(
            self,
            invocation,
            pre,
            |instance, store| instance.portico_plugin_scheduled().call_run(store, now_ms),
            |effects| Self::filter_effects(invocation, effects)
        );
        Ok(Outcome {
            value,
            refused,
            denied,
            cpu,
        })
    }

    /// Answers an HTTP request under `/plugins/<id>/…`.
    pub async fn handle_http(
        &self,
        invocation: &Invocation,
        request: &bindings::http::exports::portico::plugin::http_handler::Request,
    ) -> Result<
        Outcome<bindings::http::exports::portico::plugin::http_handler::Response>,
        PluginError,
    > {
        let WorldPre::Http(pre) = &invocation.plugin.pre else {
            return Err(PluginError::WrongWorld("HTTP answers"));
        };
        let limit = Self::output_limit(invocation);
        let (value, denied, cpu) = hook!(
            self,
            invocation,
            pre,
            |instance, store| instance
                .portico_plugin_http_handler()
                .call_handle(store, request),
            |response| if response.body.len() > limit {
                Err(PluginError::OutputTooLarge)
            } else {
                Ok(response)
            }
        );
        Ok(Outcome {
            value,
            refused: Vec::new(),
            denied,
            cpu,
        })
    }

    /// Renders one of a UI plugin's views, or submits a form to it.
    pub async fn ui(
        &self,
        invocation: &Invocation,
        request: &bindings::ui::exports::portico::plugin::ui::ViewRequest,
        submit: Option<(
            &str,
            &[bindings::ui::exports::portico::plugin::ui::FieldValue],
        )>,
    ) -> Result<Outcome<bindings::ui::exports::portico::plugin::ui::View>, PluginError> {
        let WorldPre::Ui(pre) = &invocation.plugin.pre else {
            return Err(PluginError::WrongWorld("views"));
        };
        let limit = Self::output_limit(invocation);
        let (value, denied, cpu) = hook!(
            self,
            invocation,
            pre,
            |instance, store| async {
                let ui = instance.portico_plugin_ui();
                match submit {
                    None => ui.call_render(&mut *store, request).await,
                    Some((action, values)) => {
                        ui.call_submit(&mut *store, request, action, values).await
                    }
                }
            },
            |view| if view_size(&view) > limit {
                Err(PluginError::OutputTooLarge)
            } else {
                Ok(view)
            }
        );
        Ok(Outcome {
            value,
            refused: Vec::new(),
            denied,
            cpu,
        })
    }

    /// Asks a device-actions plugin for proposals.
    pub async fn propose_device_actions(
        &self,
        invocation: &Invocation,
        device: &bindings::device_actions::exports::portico::plugin::device_actions::Device,
        problem: &str,
    ) -> Result<Outcome<Vec<bindings::DeviceAction>>, PluginError> {
        let WorldPre::DeviceActions(pre) = &invocation.plugin.pre else {
            return Err(PluginError::WrongWorld("device actions"));
        };
        let limit = Self::output_limit(invocation);
        let (actions, denied, cpu) = hook!(
            self,
            invocation,
            pre,
            |instance, store| instance
                .portico_plugin_device_actions()
                .call_propose(store, device, problem),
            |actions| {
                let size: usize = actions
                    .iter()
                    .map(|a| a.device_id.len() + a.action.len() + a.reason.len() + 16)
                    .sum();
                if size > limit {
                    Err(PluginError::OutputTooLarge)
                } else {
                    Ok(actions)
                }
            }
        );
        let granted = invocation
            .call
            .grant
            .capabilities
            .contains(&Capability::DeviceActions);
        let (value, refused) = if granted {
            (actions, Vec::new())
        } else {
            let refused = actions
                .iter()
                .map(|_| {
                    (
                        "request-device-action".to_owned(),
                        Capability::DeviceActions,
                    )
                })
                .collect();
            (Vec::new(), refused)
        };
        Ok(Outcome {
            value,
            refused,
            denied,
            cpu,
        })
    }

    /// Calls the plugin's `on-install` (at install and upgrade).
    pub async fn on_install(&self, invocation: &Invocation) -> Result<Outcome<()>, PluginError> {
        let base = &invocation.plugin.base;
        let (value, denied, cpu) = hook!(
            self,
            invocation,
            base,
            |instance, store| instance.portico_plugin_lifecycle().call_on_install(store),
            |done| Ok(done)
        );
        Ok(Outcome {
            value,
            refused: Vec::new(),
            denied,
            cpu,
        })
    }

    /// An instance kept alive without running anything (for measuring the memory
    /// of idle instances, and for warm pools).
    pub async fn instantiate_idle(
        &self,
        invocation: &Invocation,
    ) -> Result<IdleInstance, PluginError> {
        let mut store = self.store(invocation);
        let instance = invocation
            .plugin
            .base
            .instantiate_async(&mut store)
            .await
            .map_err(|e| self.classify(&store, e))?;
        Ok(IdleInstance {
            _store: store,
            _instance: instance,
        })
    }

    /// Instantiates and drops (warming a new version before it is swapped in).
    pub async fn warm(&self, invocation: &Invocation) -> Result<(), PluginError> {
        let mut store = self.store(invocation);
        invocation
            .plugin
            .base
            .instantiate_async(&mut store)
            .await
            .map(|_| ())
            .map_err(|e| self.classify(&store, e))
    }
}

/// A live instance with its store.
pub struct IdleInstance {
    _store: Store<HostState>,
    _instance: bindings::base::Base,
}

struct AdmittedCall {
    breaker: String,
    _slots: (
        tokio::sync::OwnedSemaphorePermit,
        tokio::sync::OwnedSemaphorePermit,
    ),
}

fn truncate(mut message: String) -> String {
    if message.len() > 1_000 {
        let mut end = 1_000;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

fn subtle_eq(a: &[u8], b: &[u8]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    if a.len() != b.len() {
        return subtle::Choice::from(0);
    }
    a.ct_eq(b)
}
