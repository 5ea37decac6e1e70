//! Schema migrations: the platform schema and every tenant schema, to the version
//! embedded in this binary.
//!
//! Migration files live in `migrations/<level>/<backend>/` and are embedded with
//! `sqlx::migrate!`; this module applies them itself because a tenant's schema is
//! chosen per transaction. Each migration runs in its own transaction together with
//! its row in that schema's `schema_migrations` table, so a crash leaves every
//! schema at a whole version and a rerun resumes where it stopped. Concurrent
//! runners (two instances starting at once) serialize on a lock per schema and
//! re-check the version under it.

use std::time::Instant;

use futures::StreamExt;
use sqlx::migrate::{Migration, Migrator};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::TenantId;
use crate::store::{Backend, Store};

static PLATFORM_POSTGRES: Migrator = sqlx::migrate!("../migrations/platform/postgres");
static PLATFORM_SQLITE: Migrator = sqlx::migrate!("../migrations/platform/sqlite");
static TENANT_POSTGRES: Migrator = sqlx::migrate!("../migrations/tenant/postgres");
static TENANT_SQLITE: Migrator = sqlx::migrate!("../migrations/tenant/sqlite");

/// Which set of migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The platform schema (tenants, domains, tokens, work index).
    Platform,
    /// One tenant's schema.
    Tenant,
}

fn migrator(backend: Backend, level: Level) -> &'static Migrator {
    match (backend, level) {
        (Backend::Postgres, Level::Platform) => &PLATFORM_POSTGRES,
        (Backend::Sqlite, Level::Platform) => &PLATFORM_SQLITE,
        (Backend::Postgres, Level::Tenant) => &TENANT_POSTGRES,
        (Backend::Sqlite, Level::Tenant) => &TENANT_SQLITE,
    }
}

/// The newest version this binary knows for a level.
pub fn latest_version(backend: Backend, level: Level) -> i64 {
    migrator(backend, level)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

fn checksum_hex(migration: &Migration) -> String {
    hex::encode(&migration.checksum)
}

/// Where a set of migrations is applied: the platform, or one tenant.
#[derive(Debug, Clone, Copy)]
enum Target {
    Platform,
    Tenant(TenantId),
}

/// Applies the pending migrations of one schema up to `up_to` (all when `None`)
/// and returns the version it is at afterwards.
async fn migrate_schema(
    store: &Store,
    target: Target,
    up_to: Option<i64>,
) -> Result<i64, StoreError> {
    let backend = store.backend();
    let level = match target {
        Target::Platform => Level::Platform,
        Target::Tenant(_) => Level::Tenant,
    };
    let pool = match (backend, target) {
        (Backend::Sqlite, Target::Tenant(id)) => store.sqlite_tenant_pool(id, true)?,
        _ => store.platform().clone(),
    };
    let schema = match target {
        Target::Platform => "platform".to_owned(),
        Target::Tenant(id) => Store::schema_name(id),
    };
    let begin = backend.pick("BEGIN", "BEGIN IMMEDIATE");

    let applied = {
        let mut tx = pool.begin_with(begin).await?;
        enter_schema(&mut tx, backend, &schema).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
                checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        applied
    };

    let migrations = migrator(backend, level);
    let known = latest_version(backend, level);
    for (version, checksum) in &applied {
        match migrations.iter().find(|m| m.version == *version) {
            Some(m) if checksum_hex(m) != *checksum => {
                return Err(StoreError::MigrationChanged { version: *version });
            }
            Some(_) => {}
            None => {
                return Err(StoreError::SchemaTooNew {
                    found: *version,
                    known,
                });
            }
        }
    }

    let mut version = applied.last().map(|(v, _)| *v).unwrap_or(0);
    for migration in migrations.iter() {
        if applied.iter().any(|(v, _)| *v == migration.version)
            || up_to.is_some_and(|limit| migration.version > limit)
        {
            continue;
        }
        let mut tx = pool.begin_with(begin).await?;
        enter_schema(&mut tx, backend, &schema).await?;
        // Re-check under the lock: another instance may have applied it meanwhile.
        let already: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
        if already.is_none() {
            sqlx::raw_sql(migration.sql.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(migration.version)
            .bind(migration.description.to_string())
            .bind(checksum_hex(migration))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        if let (Backend::Postgres, Target::Tenant(id)) = (backend, target) {
            // Same database: the platform's cached version moves with the schema.
            sqlx::query("UPDATE platform.tenants SET schema_version = $1 WHERE id = $2 AND schema_version < $1")
                .bind(migration.version)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        version = migration.version;
    }

    if let (Backend::Sqlite, Target::Tenant(id)) = (backend, target) {
        sqlx::query("UPDATE tenants SET schema_version = $1 WHERE id = $2")
            .bind(version)
            .bind(id.0)
            .execute(store.platform())
            .await?;
        pool.close().await;
    }
    Ok(version)
}

/// Enters a schema for the rest of the transaction and, on PostgreSQL, takes the
/// schema's migration lock (released at commit).
async fn enter_schema(
    conn: &mut AnyConnection,
    backend: Backend,
    schema: &str,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("portico-migrate:{schema}"))
            .execute(&mut *conn)
            .await?;
        // `schema` is generated by us (`platform` or `tenant_<id>`), never user text.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&mut *conn)
        .await?;
        sqlx::query("SELECT set_config('search_path', $1, true)")
            .bind(schema)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Brings the platform schema to the current version.
pub async fn migrate_platform(store: &Store) -> Result<i64, StoreError> {
    migrate_schema(store, Target::Platform, None).await
}

/// The platform schema's applied version (0 before the first migration).
pub async fn platform_version(store: &Store) -> Result<i64, StoreError> {
    let exists = match store.backend() {
        Backend::Postgres => sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = 'platform' AND table_name = 'schema_migrations')",
        )
        .fetch_one(store.platform())
        .await?,
        Backend::Sqlite => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        )
        .fetch_one(store.platform())
        .await?
            > 0,
    };
    if !exists {
        return Ok(0);
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(store.platform())
        .await?;
    Ok(version.unwrap_or(0))
}

/// Creates (if needed) and migrates one tenant's schema, up to `up_to` or fully.
pub(crate) async fn migrate_tenant(
    store: &Store,
    id: TenantId,
    up_to: Option<i64>,
) -> Result<i64, StoreError> {
    migrate_schema(store, Target::Tenant(id), up_to).await
}

/// Progress of a migration run across tenants.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Tenants handled so far.
    pub done: usize,
    /// Tenants that were behind when the run started.
    pub total: usize,
    /// Tenants whose migration failed (the run carries on with the others).
    pub failed: usize,
}

/// What a migration run did.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    /// The platform schema's version afterwards.
    pub platform_version: i64,
    /// The version every tenant should now be at.
    pub tenant_version: i64,
    /// Tenants that were behind and are now current.
    pub migrated: usize,
    /// Tenants that failed, with the reason.
    pub failures: Vec<(String, String)>,
    /// Wall time of the whole run.
    pub elapsed: std::time::Duration,
}

/// Brings the platform schema and every tenant schema to the current version, at
/// most `parallelism` tenants at a time. Resumable: tenants already current are
/// skipped by one query on the platform's cached versions.
pub async fn migrate_all(
    store: &Store,
    parallelism: usize,
    mut on_progress: impl FnMut(Progress),
) -> Result<MigrationReport, StoreError> {
    let started = Instant::now();
    let platform_version = migrate_platform(store).await?;
    let tenant_version = latest_version(store.backend(), Level::Tenant);
    let behind: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, slug FROM tenants WHERE schema_version < $1 \
         AND status IN ('active', 'suspended', 'provisioning') ORDER BY id",
    )
    .bind(tenant_version)
    .fetch_all(store.platform())
    .await?;
    let mut progress = Progress {
        done: 0,
        total: behind.len(),
        failed: 0,
    };
    let mut report = MigrationReport {
        platform_version,
        tenant_version,
        ..MigrationReport::default()
    };
    on_progress(progress);
    let mut runs = futures::stream::iter(behind.into_iter().map(|(id, slug)| async move {
        let result = migrate_tenant(store, TenantId(id), None).await;
        (slug, result)
    }))
    .buffer_unordered(parallelism.max(1));
    let mut announced = 0;
    while let Some((slug, result)) = runs.next().await {
        progress.done += 1;
        // Let routing learn of migrated tenants as the run goes (a tenant behind is
        // shown a maintenance page), without a reload per tenant.
        if progress.done - announced >= 100 {
            announce(store).await;
            announced = progress.done;
        }
        match result {
            Ok(_) => report.migrated += 1,
            Err(error) => {
                progress.failed += 1;
                tracing::error!(tenant = %slug, error = %error_chain(&error), "tenant migration failed");
                report.failures.push((slug, error_chain(&error)));
            }
        }
        on_progress(progress);
    }
    if progress.done > 0 {
        announce(store).await;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn announce(store: &Store) {
    let bumped = async {
        let mut tx = store.platform_tx().await?;
        crate::registry::bump_routing_epoch(&mut tx, store.backend()).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(())
    };
    if let Err(error) = bumped.await {
        tracing::warn!(error = %error_chain(&error), "routing not told about migrated tenants; it will poll");
    }
    store.routing_notify().notify_one();
}

/// Tenants whose schema is behind this binary (0 when everything is current).
pub async fn tenants_behind(store: &Store) -> Result<i64, StoreError> {
    let latest = latest_version(store.backend(), Level::Tenant);
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM tenants WHERE schema_version < $1 AND status IN ('active', 'suspended')",
    )
    .bind(latest)
    .fetch_one(store.platform())
    .await?)
}

/// An error with its causes, for logs and operator output.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
