//! Plugins' data: the platform's trusted publishers and catalogue of published
//! packages, and per tenant the installs (version, previous version for rollback,
//! grant, configuration, organizations), each plugin's key-value store with its
//! quota, and its sealed secrets. Every change to an install is audited in the
//! tenant's chain; the platform's changes in the operator's.
//!
//! Grants and configurations are stored as JSON that the plugin host defines; this
//! module does not interpret them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::store::{Store, TenantDb};

/// Keys a plugin may hold in its store.
pub const KV_MAX_KEYS: i64 = 1_000;
/// Bytes a plugin may hold in its store.
pub const KV_MAX_BYTES: i64 = 1 << 20;
/// The longest key.
pub const KV_MAX_KEY: usize = 256;
/// The largest value.
pub const KV_MAX_VALUE: usize = 64 * 1024;

/// A published package, as the catalogue holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Package {
    /// The plugin's id.
    pub plugin_id: String,
    /// Its version.
    pub version: String,
    /// Who signed it.
    pub publisher: String,
    /// Its display name.
    pub name: String,
    /// The world it targets.
    pub world: String,
    /// `plugin.toml`, as signed.
    pub manifest: String,
    /// SHA-256 of the component.
    pub wasm_sha256: String,
    /// When it was published, Unix milliseconds.
    pub published_at: i64,
}

/// A package with its bundle's bytes.
#[derive(Debug, Clone)]
pub struct PackageBundle {
    /// The catalogue entry.
    pub package: Package,
    /// The signed bundle, as received.
    pub bundle: Vec<u8>,
}

type PackageRow = (String, String, String, String, String, String, String, i64);
type PackageBundleRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
);

fn package_of(row: PackageRow) -> Package {
    let (plugin_id, version, publisher, name, world, manifest, wasm_sha256, published_at) = row;
    Package {
        plugin_id,
        version,
        publisher,
        name,
        world,
        manifest,
        wasm_sha256,
        published_at,
    }
}

const PACKAGE_COLUMNS: &str =
    "plugin_id, version, publisher, name, world, manifest, wasm_sha256, published_at";

async fn audit_platform(
    store: &Store,
    actor: &str,
    action: &'static str,
    target: String,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    crate::audit::append_platform(
        store,
        AuditEntry {
            actor: actor.to_owned(),
            action,
            target,
            details,
        },
    )
    .await
}

/// Trusts (or replaces) a publisher's public key.
pub async fn trust_publisher(
    store: &Store,
    name: &str,
    public_key: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    sqlx::query("DELETE FROM plugin_publishers WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO plugin_publishers (name, public_key, added_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(public_key)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    audit_platform(
        store,
        actor,
        "plugin.publisher_trusted",
        format!("publisher:{name}"),
        serde_json::json!({ "public_key": public_key }),
    )
    .await
}

/// Stops trusting a publisher: its packages can no longer be installed or loaded.
pub async fn distrust_publisher(store: &Store, name: &str, actor: &str) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM plugin_publishers WHERE name = $1")
        .bind(name)
        .execute(store.platform())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("publisher"));
    }
    audit_platform(
        store,
        actor,
        "plugin.publisher_distrusted",
        format!("publisher:{name}"),
        serde_json::json!({}),
    )
    .await
}

/// Trusted publishers: (name, public key).
pub async fn publishers(store: &Store) -> Result<Vec<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT name, public_key FROM plugin_publishers ORDER BY name")
            .fetch_all(store.platform())
            .await?,
    )
}

/// Adds a verified package to the catalogue. Publishing the same bytes again is a
/// no-op; a different component under a published version is refused (published
/// versions never change).
pub async fn publish(
    store: &Store,
    package: &Package,
    bundle: &[u8],
    actor: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.platform_tx().await?;
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT wasm_sha256 FROM plugin_packages WHERE plugin_id = $1 AND version = $2",
    )
    .bind(&package.plugin_id)
    .bind(&package.version)
    .fetch_optional(&mut *tx)
    .await?;
    match existing {
        Some(sha) if sha == package.wasm_sha256 => return Ok(false),
        Some(_) => {
            return Err(StoreError::Refused {
                code: "version_published",
                reason: "this version is already published with another component; publish a new version".to_owned(),
            });
        }
        None => {}
    }
    sqlx::query(
        "INSERT INTO plugin_packages (plugin_id, version, publisher, name, world, manifest, \
         wasm_sha256, bundle, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&package.plugin_id)
    .bind(&package.version)
    .bind(&package.publisher)
    .bind(&package.name)
    .bind(&package.world)
    .bind(&package.manifest)
    .bind(&package.wasm_sha256)
    .bind(B64.encode(bundle))
    .bind(package.published_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    audit_platform(
        store,
        actor,
        "plugin.published",
        format!("plugin:{}@{}", package.plugin_id, package.version),
        serde_json::json!({ "publisher": package.publisher, "wasm_sha256": package.wasm_sha256 }),
    )
    .await?;
    Ok(true)
}

/// The catalogue: every published version, newest publication first.
pub async fn packages(store: &Store) -> Result<Vec<Package>, StoreError> {
    let rows: Vec<PackageRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PACKAGE_COLUMNS} FROM plugin_packages ORDER BY plugin_id, published_at DESC"
    )))
    .fetch_all(store.platform())
    .await?;
    Ok(rows.into_iter().map(package_of).collect())
}

/// One published version with its bundle.
pub async fn package(
    store: &Store,
    plugin_id: &str,
    version: &str,
) -> Result<PackageBundle, StoreError> {
    let row: Option<PackageBundleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PACKAGE_COLUMNS}, bundle FROM plugin_packages WHERE plugin_id = $1 AND version = $2"
        )))
        .bind(plugin_id)
        .bind(version)
        .fetch_optional(store.platform())
        .await?;
    let (a, b, c, d, e, f, g, h, bundle) = row.ok_or(StoreError::NotFound("plugin package"))?;
    let bundle = B64.decode(bundle).map_err(|_| StoreError::Invalid {
        field: "plugin bundle",
        reason: "stored bundle is not base64".to_owned(),
    })?;
    Ok(PackageBundle {
        package: package_of((a, b, c, d, e, f, g, h)),
        bundle,
    })
}

/// A plugin installed in a tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Install {
    /// The plugin's id.
    pub plugin_id: String,
    /// The version in use.
    pub version: String,
    /// The version before the last upgrade (rollback goes back to it).
    pub previous_version: Option<String>,
    /// Whether it runs.
    pub enabled: bool,
    /// What the administrator granted (the host's JSON).
    #[schema(value_type = Object)]
    pub grant: serde_json::Value,
    /// The tenant's configuration.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Organizations it is enabled for; `None`: all.
    pub organizations: Option<Vec<i64>>,
    /// When it was installed.
    pub installed_at: i64,
    /// When the install last changed.
    pub updated_at: i64,
}

impl Install {
    /// Whether it runs for a ticket of `organization`.
    pub fn runs_for(&self, organization: Option<i64>) -> bool {
        self.enabled
            && match (&self.organizations, organization) {
                (None, _) => true,
                (Some(list), Some(org)) => list.contains(&org),
                (Some(_), None) => false,
            }
    }
}

type InstallRow = (
    String,
    String,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

fn install_of(row: InstallRow) -> Result<Install, StoreError> {
    let (
        plugin_id,
        version,
        previous_version,
        enabled,
        grant,
        config,
        organizations,
        installed_at,
        updated_at,
    ) = row;
    let corrupt = |what: &str| StoreError::Invalid {
        field: "plugin install",
        reason: format!("{plugin_id}: stored {what} is not valid JSON"),
    };
    Ok(Install {
        grant: serde_json::from_str(&grant).map_err(|_| corrupt("grant"))?,
        config: serde_json::from_str(&config).map_err(|_| corrupt("config"))?,
        organizations: organizations
            .map(|o| serde_json::from_str(&o))
            .transpose()
            .map_err(|_| corrupt("organizations"))?,
        plugin_id,
        version,
        previous_version,
        enabled: enabled != 0,
        installed_at,
        updated_at,
    })
}

const INSTALL_COLUMNS: &str = "plugin_id, version, previous_version, enabled, grant_json, \
     config_json, organizations_json, installed_at, updated_at";

/// The tenant's installed plugins.
pub async fn installs(db: &TenantDb) -> Result<Vec<Install>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<InstallRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INSTALL_COLUMNS} FROM plugin_installs ORDER BY plugin_id"
    )))
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    rows.into_iter().map(install_of).collect()
}

/// One installed plugin.
pub async fn install_of_plugin(db: &TenantDb, plugin_id: &str) -> Result<Install, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<InstallRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INSTALL_COLUMNS} FROM plugin_installs WHERE plugin_id = $1"
    )))
    .bind(plugin_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    install_of(row.ok_or(StoreError::NotFound("installed plugin"))?)
}

/// Installs `version` of a plugin, or upgrades to it (the version in use becomes
/// the previous one, for rollback). Enabled for all organizations on first install.
pub async fn install(
    db: &TenantDb,
    plugin_id: &str,
    version: &str,
    grant: &serde_json::Value,
    config: &serde_json::Value,
    actor: &str,
) -> Result<Install, StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT version FROM plugin_installs WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_optional(tx.conn())
            .await?;
    let action = match &current {
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO plugin_installs ({INSTALL_COLUMNS}) \
                 VALUES ($1, $2, NULL, 1, $3, $4, NULL, $5, $5)"
            )))
            .bind(plugin_id)
            .bind(version)
            .bind(grant.to_string())
            .bind(config.to_string())
            .bind(now)
            .execute(tx.conn())
            .await?;
            "plugin.installed"
        }
        Some(old) => {
            let previous = (old != version).then_some(old.as_str());
            sqlx::query(
                "UPDATE plugin_installs SET version = $2, \
                 previous_version = COALESCE($3, previous_version), grant_json = $4, \
                 config_json = $5, updated_at = $6 WHERE plugin_id = $1",
            )
            .bind(plugin_id)
            .bind(version)
            .bind(previous)
            .bind(grant.to_string())
            .bind(config.to_string())
            .bind(now)
            .execute(tx.conn())
            .await?;
            if previous.is_some() {
                "plugin.upgraded"
            } else {
                "plugin.reinstalled"
            }
        }
    };
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action,
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({ "version": version, "from": current, "grant": grant }),
    })
    .await?;
    tx.commit().await?;
    install_of_plugin(db, plugin_id).await
}

/// Goes back to the previous version (the current one becomes the previous).
pub async fn rollback(db: &TenantDb, plugin_id: &str, actor: &str) -> Result<Install, StoreError> {
    let current = install_of_plugin(db, plugin_id).await?;
    let Some(previous) = current.previous_version.clone() else {
        return Err(StoreError::Refused {
            code: "no_previous_version",
            reason: "this plugin has not been upgraded: there is nothing to roll back to"
                .to_owned(),
        });
    };
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE plugin_installs SET version = $2, previous_version = $3, updated_at = $4 WHERE plugin_id = $1")
        .bind(plugin_id)
        .bind(&previous)
        .bind(&current.version)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "plugin.rolled_back",
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({ "version": previous, "from": current.version }),
    })
    .await?;
    tx.commit().await?;
    install_of_plugin(db, plugin_id).await
}

/// Enables or disables a plugin, and (when given) sets the organizations it runs
/// for (`Some(None)`: all).
pub async fn set_enabled(
    db: &TenantDb,
    plugin_id: &str,
    enabled: bool,
    organizations: Option<Option<Vec<i64>>>,
    actor: &str,
) -> Result<Install, StoreError> {
    let mut tx = db.begin().await?;
    let done = match &organizations {
        None => sqlx::query("UPDATE plugin_installs SET enabled = $2, updated_at = $3 WHERE plugin_id = $1")
            .bind(plugin_id)
            .bind(i64::from(enabled))
            .bind(now_ms())
            .execute(tx.conn())
            .await?,
        Some(list) => sqlx::query(
            "UPDATE plugin_installs SET enabled = $2, organizations_json = $3, updated_at = $4 WHERE plugin_id = $1",
        )
        .bind(plugin_id)
        .bind(i64::from(enabled))
        .bind(list.as_ref().map(|l| serde_json::json!(l).to_string()))
        .bind(now_ms())
        .execute(tx.conn())
        .await?,
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("installed plugin"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: if enabled {
            "plugin.enabled"
        } else {
            "plugin.disabled"
        },
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({ "organizations": organizations }),
    })
    .await?;
    tx.commit().await?;
    install_of_plugin(db, plugin_id).await
}

/// Replaces a plugin's configuration (already checked against its schema).
pub async fn configure(
    db: &TenantDb,
    plugin_id: &str,
    config: &serde_json::Value,
    actor: &str,
) -> Result<Install, StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE plugin_installs SET config_json = $2, updated_at = $3 WHERE plugin_id = $1",
    )
    .bind(plugin_id)
    .bind(config.to_string())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("installed plugin"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "plugin.configured",
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({ "config": config }),
    })
    .await?;
    tx.commit().await?;
    install_of_plugin(db, plugin_id).await
}

/// Removes a plugin with its key-value store and secrets.
pub async fn uninstall(db: &TenantDb, plugin_id: &str, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let done = sqlx::query("DELETE FROM plugin_installs WHERE plugin_id = $1")
        .bind(plugin_id)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("installed plugin"));
    }
    for table in ["plugin_kv", "plugin_secrets"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE plugin_id = $1"
        )))
        .bind(plugin_id)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "plugin.uninstalled",
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// A value from a plugin's store.
pub async fn kv_get(
    db: &TenantDb,
    plugin_id: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut tx = db.read().await?;
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM plugin_kv WHERE plugin_id = $1 AND key = $2")
            .bind(plugin_id)
            .bind(key)
            .fetch_optional(tx.conn())
            .await?;
    tx.commit().await?;
    value
        .map(|v| {
            B64.decode(v).map_err(|_| StoreError::Invalid {
                field: "plugin value",
                reason: "stored value is not base64".to_owned(),
            })
        })
        .transpose()
}

/// Stores a value within the plugin's quota.
pub async fn kv_set(
    db: &TenantDb,
    plugin_id: &str,
    key: &str,
    value: &[u8],
) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > KV_MAX_KEY {
        return Err(StoreError::Invalid {
            field: "key",
            reason: format!("must be 1-{KV_MAX_KEY} bytes"),
        });
    }
    if value.len() > KV_MAX_VALUE {
        return Err(StoreError::Invalid {
            field: "value",
            reason: format!("must be at most {KV_MAX_VALUE} bytes"),
        });
    }
    let size = (key.len() + value.len()) as i64;
    let mut tx = db.begin().await?;
    let (keys, bytes, this): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(size), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN key = $2 THEN size ELSE 0 END), 0) AS BIGINT) \
         FROM plugin_kv WHERE plugin_id = $1",
    )
    .bind(plugin_id)
    .bind(key)
    .fetch_one(tx.conn())
    .await?;
    let new_key = this == 0;
    if (new_key && keys >= KV_MAX_KEYS) || bytes - this + size > KV_MAX_BYTES {
        return Err(StoreError::Refused {
            code: "plugin_quota_exceeded",
            reason: format!(
                "the plugin's store is full ({KV_MAX_KEYS} keys, {KV_MAX_BYTES} bytes)"
            ),
        });
    }
    sqlx::query("DELETE FROM plugin_kv WHERE plugin_id = $1 AND key = $2")
        .bind(plugin_id)
        .bind(key)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO plugin_kv (plugin_id, key, value, size, updated_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(plugin_id)
        .bind(key)
        .bind(B64.encode(value))
        .bind(size)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Deletes a value.
pub async fn kv_delete(db: &TenantDb, plugin_id: &str, key: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM plugin_kv WHERE plugin_id = $1 AND key = $2")
        .bind(plugin_id)
        .bind(key)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Sets (or with `None` removes) a sealed secret of a plugin.
pub async fn set_secret(
    db: &TenantDb,
    plugin_id: &str,
    name: &str,
    sealed: Option<&str>,
    actor: &str,
) -> Result<(), StoreError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "1-64 letters, digits, '_' or '-'".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM plugin_secrets WHERE plugin_id = $1 AND name = $2")
        .bind(plugin_id)
        .bind(name)
        .execute(tx.conn())
        .await?;
    if let Some(sealed) = sealed {
        sqlx::query("INSERT INTO plugin_secrets (plugin_id, name, sealed) VALUES ($1, $2, $3)")
            .bind(plugin_id)
            .bind(name)
            .bind(sealed)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: if sealed.is_some() {
            "plugin.secret_set"
        } else {
            "plugin.secret_removed"
        },
        target: format!("plugin:{plugin_id}"),
        details: serde_json::json!({ "name": name }),
    })
    .await?;
    tx.commit().await
}

/// A plugin's sealed secret.
pub async fn secret(
    db: &TenantDb,
    plugin_id: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let mut tx = db.read().await?;
    let sealed =
        sqlx::query_scalar("SELECT sealed FROM plugin_secrets WHERE plugin_id = $1 AND name = $2")
            .bind(plugin_id)
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
    tx.commit().await?;
    Ok(sealed)
}

/// The job kind that runs scheduled plugins.
pub const SCHEDULE_JOB: &str = "plugin.scheduled";

/// Schedules a run of a scheduled plugin at `run_at` (once per plugin and slot,
/// however often it is asked).
pub async fn schedule(db: &TenantDb, plugin_id: &str, run_at: i64) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    tx.enqueue(crate::jobs::NewJob {
        kind: SCHEDULE_JOB,
        payload: serde_json::json!({ "plugin_id": plugin_id, "run_at": run_at }),
        run_at,
        max_attempts: 3,
        dedup_key: Some(format!("plugin-schedule:{plugin_id}:{run_at}")),
    })
    .await?;
    tx.commit().await
}

/// Whether `plugin_id` already handled outbox event `event_id`.
pub async fn event_handled(
    db: &TenantDb,
    plugin_id: &str,
    event_id: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.read().await?;
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT event_id FROM plugin_event_runs WHERE plugin_id = $1 AND event_id = $2",
    )
    .bind(plugin_id)
    .bind(event_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(found.is_some())
}

/// Records that `plugin_id` handled outbox event `event_id` (and, now and then,
/// forgets records older than 30 days).
pub async fn mark_event_handled(
    db: &TenantDb,
    plugin_id: &str,
    event_id: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO plugin_event_runs (plugin_id, event_id, at) VALUES ($1, $2, $3) \
         ON CONFLICT (plugin_id, event_id) DO NOTHING",
    )
    .bind(plugin_id)
    .bind(event_id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    if event_id % 500 == 0 {
        sqlx::query("DELETE FROM plugin_event_runs WHERE at < $1")
            .bind(now - 30 * 86_400_000)
            .execute(tx.conn())
            .await?;
    }
    tx.commit().await
}
