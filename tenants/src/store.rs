//! The database handles: one platform store, and a handle per tenant that pins
//! every statement to that tenant's PostgreSQL schema or SQLite file.
//!
//! Both backends go through sqlx's `Any` driver so one SQL text serves both where
//! the dialects agree (sqlx's SQLite driver accepts `$1` parameters); the few
//! statements that differ are chosen with [`Backend::pick`].

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lru::LruCache;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::Notify;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::{TenantId, TenantSlug};

/// Which database holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a platform file and one file per tenant under the data directory.
    Sqlite,
    /// A `platform` schema and one schema per tenant in one PostgreSQL database.
    Postgres,
}

impl Backend {
    /// Chooses between two spellings of a statement where the dialects differ.
    pub fn pick(self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self {
            Backend::Postgres => postgres,
            Backend::Sqlite => sqlite,
        }
    }
}

/// How to reach the database and how many connections to hold.
#[derive(Clone)]
pub struct StoreOptions {
    /// A `postgres://` URL selects PostgreSQL; `None` selects SQLite files under `data_dir`.
    pub database_url: Option<String>,
    /// Where the embedded backend keeps `platform.db` and `tenants/<id>.db`.
    pub data_dir: PathBuf,
    /// Connections in the PostgreSQL pool (shared by the platform and every tenant).
    pub max_connections: u32,
    /// Connections per open tenant file on SQLite.
    pub tenant_connections: u32,
    /// How many tenant files stay open at once on SQLite; the least recently used close first.
    pub max_open_tenants: usize,
    /// Idle connections close after this long (a quiet tenant's file is then closed).
    pub idle_timeout: Duration,
    /// PostgreSQL connections are replaced after this long, which bounds the catalog
    /// cache each one accumulates across tenant schemas.
    pub max_lifetime: Duration,
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only which backend it selects.
        f.debug_struct("StoreOptions")
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "[redacted]"),
            )
            .field("data_dir", &self.data_dir)
            .field("max_connections", &self.max_connections)
            .field("tenant_connections", &self.tenant_connections)
            .field("max_open_tenants", &self.max_open_tenants)
            .finish_non_exhaustive()
    }
}

impl StoreOptions {
    /// Options for the embedded backend under `data_dir`.
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> Self {
        StoreOptions {
            database_url: None,
            data_dir: data_dir.into(),
            max_connections: 10,
            tenant_connections: 4,
            max_open_tenants: 256,
            idle_timeout: Duration::from_secs(300),
            max_lifetime: Duration::from_secs(1800),
        }
    }

    /// Options for PostgreSQL at `url`.
    pub fn postgres(url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        StoreOptions {
            database_url: Some(url.into()),
            ..StoreOptions::sqlite(data_dir)
        }
    }
}

/// The storage root: the platform database and the way to every tenant's schema.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    platform: AnyPool,
    options: StoreOptions,
    tenants_dir: PathBuf,
    open_tenants: Mutex<LruCache<TenantId, TenantPool>>,
    instance_id: String,
    work_notify: Notify,
    routing_notify: Notify,
    /// SQLite: work-index marks not yet written (see [`Store::mark_due_soon`]).
    pending_marks: Mutex<PendingMarks>,
}

#[derive(Default)]
struct PendingMarks {
    due: std::collections::HashMap<TenantId, i64>,
    flushing: bool,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("instance_id", &self.inner.instance_id)
            .finish_non_exhaustive()
    }
}

/// How long a SQLite writer waits for its turn before going on without it.
const WRITER_TURN_WAIT: Duration = Duration::from_secs(10);

/// An open tenant file: its pool and its writers' queue.
type TenantPool = (AnyPool, Arc<tokio::sync::Mutex<()>>);

/// PRAGMAs for every SQLite connection: WAL for concurrent readers, FULL sync so an
/// acknowledged commit survives a power cut, and a wait instead of an error on a busy lock.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

fn sqlite_url(path: &Path, create: bool) -> String {
    format!(
        "sqlite://{}?mode={}",
        path.display(),
        if create { "rwc" } else { "rw" }
    )
}

fn sqlite_pool_options(max_connections: u32, idle_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .idle_timeout(idle_timeout)
        .acquire_timeout(Duration::from_secs(15))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
}

impl Store {
    /// Connects to the configured backend, creating the data directory for SQLite.
    /// Migrations are not run here: see [`crate::migrate`].
    pub async fn open(options: StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(&options.data_dir).map_err(io(&options.data_dir))?;
        let data_dir = std::path::absolute(&options.data_dir).map_err(io(&options.data_dir))?;
        let tenants_dir = data_dir.join("tenants");
        let (backend, platform) = match &options.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections)
                    .min_connections(0)
                    .idle_timeout(options.idle_timeout)
                    .max_lifetime(options.max_lifetime)
                    .acquire_timeout(Duration::from_secs(15))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // The session default; tenant transactions override it with a
                            // transaction-local setting that ends with the transaction.
                            conn.execute("SET search_path TO platform").await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await
                    .map_err(StoreError::Database)?;
                (Backend::Postgres, pool)
            }
            Some(_) => {
                return Err(StoreError::Invalid {
                    field: "DATABASE_URL",
                    reason: "must start with postgres:// (leave it unset for the embedded SQLite default)"
                        .to_owned(),
                });
            }
            None => {
                std::fs::create_dir_all(&tenants_dir).map_err(io(&tenants_dir))?;
                let pool =
                    sqlite_pool_options(options.max_connections.max(2), options.idle_timeout)
                        .connect(&sqlite_url(&data_dir.join("platform.db"), true))
                        .await
                        .map_err(StoreError::Database)?;
                (Backend::Sqlite, pool)
            }
        };
        let capacity =
            NonZeroUsize::new(options.max_open_tenants.max(1)).unwrap_or(NonZeroUsize::MIN);
        Ok(Store {
            inner: Arc::new(Inner {
                backend,
                platform,
                options: StoreOptions {
                    data_dir,
                    ..options
                },
                tenants_dir,
                open_tenants: Mutex::new(LruCache::new(capacity)),
                instance_id: uuid::Uuid::now_v7().to_string(),
                work_notify: Notify::new(),
                routing_notify: Notify::new(),
                pending_marks: Mutex::new(PendingMarks::default()),
            }),
        })
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// A unique name for this process, used as the owner of leases.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The options the store was opened with (the data directory made absolute).
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The platform pool. Crate-private: platform tables are reached through the
    /// registry's functions, never by SQL from other crates.
    pub(crate) fn platform(&self) -> &AnyPool {
        &self.inner.platform
    }

    /// A write transaction on the platform tables.
    pub(crate) async fn platform_tx(&self) -> Result<Transaction<'static, sqlx::Any>, StoreError> {
        let begin = self.inner.backend.pick("BEGIN", "BEGIN IMMEDIATE");
        Ok(self.inner.platform.begin_with(begin).await?)
    }

    /// Connections in use and idle in the platform pool (the only pool on PostgreSQL).
    pub fn pool_usage(&self) -> (u32, usize) {
        (self.inner.platform.size(), self.inner.platform.num_idle())
    }

    /// Tenant files currently open (SQLite only; 0 on PostgreSQL).
    pub fn open_tenant_files(&self) -> usize {
        self.inner
            .open_tenants
            .lock()
            .map(|cache| cache.len())
            .unwrap_or(0)
    }

    /// Round-trips to the platform database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.platform)
            .await?;
        Ok(())
    }

    /// Closes every pool; used on shutdown so SQLite checkpoints its WAL.
    pub async fn close(&self) {
        let pools: Vec<AnyPool> = match self.inner.open_tenants.lock() {
            Ok(mut cache) => {
                let pools = cache.iter().map(|(_, (pool, _))| pool.clone()).collect();
                cache.clear();
                pools
            }
            Err(_) => Vec::new(),
        };
        for pool in pools {
            pool.close().await;
        }
        self.inner.platform.close().await;
    }

    pub(crate) fn work_notify(&self) -> &Notify {
        &self.inner.work_notify
    }

    /// SQLite: records, right after a tenant's commit, that the tenant has work due
    /// at `due_at`. The marks of commits that come while one is being written are
    /// written together in the next platform transaction: each lands after the
    /// commit it follows (so a worker's release can never drop it, see
    /// [`crate::work`]), and a crash before it lands is repaired by the start-up sweep,
    /// as for a single mark.
    pub(crate) fn mark_due_soon(&self, tenant: TenantId, due_at: i64) {
        let start = {
            let mut pending = match self.inner.pending_marks.lock() {
                Ok(pending) => pending,
                Err(poisoned) => poisoned.into_inner(),
            };
            let due = pending.due.entry(tenant).or_insert(due_at);
            *due = (*due).min(due_at);
            !std::mem::replace(&mut pending.flushing, true)
        };
        if start {
            let store = self.clone();
            tokio::spawn(async move { store.flush_marks().await });
        }
    }

    async fn flush_marks(&self) {
        loop {
            let marks: Vec<(TenantId, i64)> = {
                let mut pending = match self.inner.pending_marks.lock() {
                    Ok(pending) => pending,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if pending.due.is_empty() {
                    pending.flushing = false;
                    return;
                }
                pending.due.drain().collect()
            };
            if let Err(error) = crate::work::mark_due(self, &marks).await {
                tracing::warn!(%error, tenants = marks.len(), "work index not updated; the start-up sweep will repair it");
            }
            self.work_notify().notify_one();
        }
    }

    pub(crate) fn routing_notify(&self) -> &Notify {
        &self.inner.routing_notify
    }

    /// The PostgreSQL schema that holds a tenant's tables.
    pub(crate) fn schema_name(id: TenantId) -> String {
        format!("tenant_{}", id.0)
    }

    /// The SQLite file that holds a tenant's tables.
    pub(crate) fn tenant_file(&self, id: TenantId) -> PathBuf {
        self.inner.tenants_dir.join(format!("{}.db", id.0))
    }

    /// A handle on a tenant's schema. Crate-private: outside this crate a handle
    /// comes from a routed request ([`crate::routing::TenantRoute`]) or a registry lookup.
    pub(crate) fn handle(&self, id: TenantId, slug: Arc<str>) -> Result<TenantDb, StoreError> {
        let (pool, writer) = match self.inner.backend {
            Backend::Postgres => (self.inner.platform.clone(), None),
            Backend::Sqlite => {
                let (pool, writer) = self.sqlite_tenant(id, false)?;
                (pool, Some(writer))
            }
        };
        Ok(TenantDb {
            id,
            slug,
            pool,
            writer,
            store: self.clone(),
        })
    }

    /// The pool of a tenant's file, opened lazily and kept in an LRU. An evicted pool
    /// is only dropped from the cache: handles still in use keep it alive, and its
    /// connections close when idle.
    pub(crate) fn sqlite_tenant_pool(
        &self,
        id: TenantId,
        create: bool,
    ) -> Result<AnyPool, StoreError> {
        Ok(self.sqlite_tenant(id, create)?.0)
    }

    fn sqlite_tenant(&self, id: TenantId, create: bool) -> Result<TenantPool, StoreError> {
        let mut cache = match self.inner.open_tenants.lock() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(open) = cache.get(&id) {
            return Ok(open.clone());
        }
        let options = &self.inner.options;
        let pool = sqlite_pool_options(options.tenant_connections.max(1), options.idle_timeout)
            .connect_lazy(&sqlite_url(&self.tenant_file(id), create))
            .map_err(StoreError::Database)?;
        let open = (pool, Arc::new(tokio::sync::Mutex::new(())));
        if !create {
            cache.put(id, open.clone());
        }
        Ok(open)
    }

    /// Forgets an open tenant file so it can be removed.
    pub(crate) async fn evict_tenant(&self, id: TenantId) {
        let pool = match self.inner.open_tenants.lock() {
            Ok(mut cache) => cache.pop(&id),
            Err(_) => None,
        };
        if let Some((pool, _)) = pool {
            pool.close().await;
        }
    }

    /// Looks a tenant up by slug for operator commands and background work.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<TenantDb, StoreError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, slug, status FROM tenants WHERE slug = $1")
                .bind(slug)
                .fetch_optional(&self.inner.platform)
                .await?;
        match row {
            Some((id, slug, status)) if status == "active" || status == "suspended" => {
                self.handle(TenantId(id), Arc::from(slug))
            }
            Some(_) => Err(StoreError::TenantUnavailable("not ready")),
            None => Err(StoreError::NotFound("tenant")),
        }
    }

    /// Looks a tenant up by id (background work keyed by id).
    pub async fn tenant_by_id(&self, id: TenantId) -> Result<TenantDb, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT slug, status FROM tenants WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.inner.platform)
                .await?;
        match row {
            Some((slug, status)) if status == "active" || status == "suspended" => {
                self.handle(id, Arc::from(slug))
            }
            Some(_) => Err(StoreError::TenantUnavailable("not ready")),
            None => Err(StoreError::NotFound("tenant")),
        }
    }

    /// Validates a slug and looks the tenant up.
    pub async fn tenant(&self, slug: &TenantSlug) -> Result<TenantDb, StoreError> {
        self.tenant_by_slug(slug.as_str()).await
    }
}

/// A handle on one tenant's schema. The only way to run SQL against tenant data:
/// every transaction it opens is pinned to this tenant.
#[derive(Clone)]
pub struct TenantDb {
    id: TenantId,
    slug: Arc<str>,
    pool: AnyPool,
    /// SQLite: the tenant file's writers queue here, in order, instead of sleeping
    /// on the busy lock (which stays as the guard against other processes).
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    store: Store,
}

impl fmt::Debug for TenantDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantDb")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .finish_non_exhaustive()
    }
}

impl TenantDb {
    /// The tenant's id.
    pub fn id(&self) -> TenantId {
        self.id
    }

    /// The tenant's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The store this handle belongs to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Opens a write transaction in this tenant's schema.
    pub async fn begin(&self) -> Result<TenantTx, StoreError> {
        // SQLite: take the write lock up front, so two writers queue on busy_timeout
        // instead of one failing when it upgrades a read lock.
        let begin = self.store.backend().pick("BEGIN", "BEGIN IMMEDIATE");
        // The turn is taken before a connection, so a writer waiting for its turn
        // holds no connection the one writing might need.
        // A writer that waits too long (a transaction left open across an await of
        // another write: a bug) goes on without its turn and meets the busy lock's
        // timeout, as it would without the queue.
        let turn = match &self.writer {
            Some(writer) => tokio::time::timeout(WRITER_TURN_WAIT, writer.clone().lock_owned())
                .await
                .ok(),
            None => None,
        };
        let mut tx = self.open(begin).await?;
        tx.turn = turn;
        Ok(tx)
    }

    /// Opens a read transaction in this tenant's schema.
    pub async fn read(&self) -> Result<TenantTx, StoreError> {
        self.open("BEGIN").await
    }

    async fn open(&self, begin: &'static str) -> Result<TenantTx, StoreError> {
        let mut tx = self
            .pool
            .begin_with(begin)
            .await
            .map_err(|error| match error {
                // A deleted tenant's file is gone and mode=rw refuses to recreate it.
                sqlx::Error::Database(_)
                    if self.store.backend() == Backend::Sqlite
                        && !self.store.tenant_file(self.id).exists() =>
                {
                    StoreError::NotFound("tenant")
                }
                other => StoreError::Database(other),
            })?;
        if self.store.backend() == Backend::Postgres {
            // Transaction-local: the setting ends with this transaction, so a pooled
            // connection never carries one tenant's search_path into another's request.
            sqlx::query("SELECT set_config('search_path', $1, true)")
                .bind(Store::schema_name(self.id))
                .execute(&mut *tx)
                .await?;
        }
        Ok(TenantTx {
            tx,
            db: self.clone(),
            work_due_at: None,
            turn: None,
        })
    }
}

/// A transaction pinned to one tenant's schema. Domain events and jobs written
/// through it commit or roll back with the change that caused them.
pub struct TenantTx {
    tx: Transaction<'static, sqlx::Any>,
    db: TenantDb,
    /// Set when an event or job was written: the tenant then has background work,
    /// recorded in the platform's work index at commit.
    pub(crate) work_due_at: Option<i64>,
    /// SQLite writes: this transaction's turn among the tenant's writers, given back
    /// when the transaction ends (dropped with it).
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl fmt::Debug for TenantTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantTx")
            .field("tenant", &self.db.id)
            .finish_non_exhaustive()
    }
}

impl TenantTx {
    /// The connection, for queries on this tenant's tables.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The tenant this transaction belongs to.
    pub fn tenant(&self) -> &TenantDb {
        &self.db
    }

    /// Notes that the tenant has background work due at `due_at`.
    pub(crate) fn mark_work(&mut self, due_at: i64) {
        self.work_due_at = Some(self.work_due_at.map_or(due_at, |known| known.min(due_at)));
    }

    /// Commits the change with its events and jobs.
    ///
    /// On PostgreSQL the work index (in the platform schema of the same database) is
    /// updated inside the same transaction. On SQLite the platform is another file:
    /// it is updated right after the commit (coalesced with other commits' marks,
    /// [`Store::mark_due_soon`]), and a crash in between is repaired by the start-up
    /// sweep in [`crate::work`].
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let backend = self.db.store.backend();
        if let (Some(due_at), Backend::Postgres) = (self.work_due_at, backend) {
            crate::work::mark_due_in_tx(&mut self.tx, self.db.id, due_at).await?;
        }
        self.tx.commit().await?;
        // The next writer of this tenant may start while the work index is updated.
        self.turn.take();
        if let Some(due_at) = self.work_due_at {
            match backend {
                Backend::Sqlite => self.db.store.mark_due_soon(self.db.id, due_at),
                Backend::Postgres => self.db.store.work_notify().notify_one(),
            }
        }
        Ok(())
    }

    /// Abandons the transaction; nothing of it is kept.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// The current time, re-exported for callers that stamp rows.
pub fn timestamp() -> i64 {
    now_ms()
}
