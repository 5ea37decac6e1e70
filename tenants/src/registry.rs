//! The tenant registry: creating, listing, suspending, resuming and deleting
//! tenants, their custom host names, and the platform's operators.

use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::{EmailAddress, TenantId, TenantSlug, TenantStatus};
use crate::migrate::{self, Level};
use crate::store::{Backend, Store, TenantDb};
use crate::tokens;

/// A tenant as the registry lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TenantRecord {
    /// Stable id.
    pub id: TenantId,
    /// Host label.
    pub slug: String,
    /// Display name (the MSP's brand).
    pub name: String,
    /// Life-cycle state.
    pub status: TenantStatus,
    /// Version of the tenant's schema.
    pub schema_version: i64,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}

type TenantRow = (i64, String, String, String, i64, i64);

fn record((id, slug, name, status, schema_version, created_at): TenantRow) -> TenantRecord {
    TenantRecord {
        id: TenantId(id),
        slug,
        name,
        status: TenantStatus::from_db(&status),
        schema_version,
        created_at,
    }
}

/// Validates a display name.
fn parse_name(name: &str) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "must be 1 to 100 printable characters".to_owned(),
        });
    }
    Ok(name.to_owned())
}

/// Creates a tenant: its registry row, then its schema (PostgreSQL) or file (SQLite),
/// migrated to the current version, then marks it active. A run that crashed half
/// way leaves a `provisioning` row; creating the same slug again finishes it.
pub async fn create_tenant(
    store: &Store,
    slug: &TenantSlug,
    name: &str,
) -> Result<TenantRecord, StoreError> {
    let name = parse_name(name)?;
    let now = now_ms();
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(store.platform())
            .await?;
    let id = match existing {
        Some((id, status)) if status == "provisioning" => TenantId(id),
        Some(_) => return Err(StoreError::Conflict("tenant slug")),
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tenants (slug, name, status, schema_version, created_at, updated_at) \
                 VALUES ($1, $2, 'provisioning', 0, $3, $3) RETURNING id",
            )
            .bind(slug.as_str())
            .bind(&name)
            .bind(now)
            .fetch_one(store.platform())
            .await
            .map_err(|e| StoreError::from_db(e, "tenant slug"))?;
            TenantId(id)
        }
    };
    provision(store, id, None).await?;
    let mut tx = store.platform_tx().await?;
    sqlx::query("UPDATE tenants SET status = 'active', name = $2, updated_at = $3 WHERE id = $1")
        .bind(id.0)
        .bind(&name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    get_tenant(store, slug.as_str()).await
}

/// Creates and migrates a tenant's schema or file, up to `up_to` or fully.
pub(crate) async fn provision(
    store: &Store,
    id: TenantId,
    up_to: Option<i64>,
) -> Result<i64, StoreError> {
    migrate::migrate_tenant(store, id, up_to).await
}

/// Creates a tenant whose schema stops at `version`: benchmarks use it to measure
/// `migrate` on tenants that are genuinely behind.
pub async fn create_tenant_at_version(
    store: &Store,
    slug: &TenantSlug,
    name: &str,
    version: i64,
) -> Result<TenantRecord, StoreError> {
    let name = parse_name(name)?;
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tenants (slug, name, status, schema_version, created_at, updated_at) \
         VALUES ($1, $2, 'provisioning', 0, $3, $3) RETURNING id",
    )
    .bind(slug.as_str())
    .bind(&name)
    .bind(now)
    .fetch_one(store.platform())
    .await
    .map_err(|e| StoreError::from_db(e, "tenant slug"))?;
    provision(store, TenantId(id), Some(version)).await?;
    let mut tx = store.platform_tx().await?;
    sqlx::query("UPDATE tenants SET status = 'active' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    get_tenant(store, slug.as_str()).await
}

/// One tenant by slug, whatever its state.
pub async fn get_tenant(store: &Store, slug: &str) -> Result<TenantRecord, StoreError> {
    let row: Option<TenantRow> = sqlx::query_as(
        "SELECT id, slug, name, status, schema_version, created_at FROM tenants WHERE slug = $1",
    )
    .bind(slug)
    .fetch_optional(store.platform())
    .await?;
    row.map(record).ok_or(StoreError::NotFound("tenant"))
}

/// Every tenant, ordered by slug.
pub async fn list_tenants(store: &Store) -> Result<Vec<TenantRecord>, StoreError> {
    let rows: Vec<TenantRow> = sqlx::query_as(
        "SELECT id, slug, name, status, schema_version, created_at FROM tenants ORDER BY slug",
    )
    .fetch_all(store.platform())
    .await?;
    Ok(rows.into_iter().map(record).collect())
}

/// Suspends (503 page, data kept) or resumes a tenant.
pub async fn set_status(
    store: &Store,
    slug: &str,
    status: TenantStatus,
) -> Result<TenantRecord, StoreError> {
    let allowed_from: &[&str] = match status {
        TenantStatus::Suspended => &["active", "suspended"],
        // A `provisioning` tenant is finished by `tenant create`, never by resume.
        TenantStatus::Active => &["active", "suspended"],
        _ => {
            return Err(StoreError::Invalid {
                field: "status",
                reason: "only suspend and resume change a tenant's status".to_owned(),
            });
        }
    };
    let mut tx = store.platform_tx().await?;
    let current: Option<String> = sqlx::query_scalar("SELECT status FROM tenants WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *tx)
        .await?;
    let current = current.ok_or(StoreError::NotFound("tenant"))?;
    if !allowed_from.contains(&current.as_str()) {
        return Err(StoreError::TenantUnavailable(
            TenantStatus::from_db(&current).as_str(),
        ));
    }
    sqlx::query("UPDATE tenants SET status = $2, updated_at = $3 WHERE slug = $1")
        .bind(slug)
        .bind(status.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    get_tenant(store, slug).await
}

/// Deletes a tenant and all its data: the routing entry first (it answers 404 at
/// once), then its schema or file, then its registry row. Rerunning after a crash
/// finishes the job.
pub async fn delete_tenant(store: &Store, slug: &str) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *tx)
        .await?;
    let id = TenantId(id.ok_or(StoreError::NotFound("tenant"))?);
    sqlx::query("UPDATE tenants SET status = 'deleting', updated_at = $2 WHERE id = $1")
        .bind(id.0)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();

    match store.backend() {
        Backend::Postgres => {
            // The schema name is generated from the numeric id, never from user text.
            let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", Store::schema_name(id));
            // A worker still finishing a transaction in the schema (its status is
            // `deleting` now, so none starts another) can deadlock with the drop,
            // which takes its tables' locks one by one: PostgreSQL then aborts one
            // of the two, and the drop is tried again.
            let mut attempt = 0_u64;
            loop {
                match sqlx::raw_sql(AssertSqlSafe(statement.clone()))
                    .execute(store.platform())
                    .await
                {
                    Ok(_) => break,
                    Err(sqlx::Error::Database(error))
                        if attempt < 10
                            && matches!(
                                error.code().as_deref(),
                                Some("40P01" | "55P03" | "40001")
                            ) =>
                    {
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Backend::Sqlite => {
            store.evict_tenant(id).await;
            let file = store.tenant_file(id);
            for suffix in ["", "-wal", "-shm"] {
                let path = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(StoreError::Io {
                            path: path.display().to_string(),
                            source,
                        });
                    }
                }
            }
        }
    }
    let mut tx = store.platform_tx().await?;
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    Ok(())
}

/// Records that routing changed, in the same transaction as the change. Other
/// instances learn it by NOTIFY (PostgreSQL) or by polling the epoch.
pub(crate) async fn bump_routing_epoch(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'routing_epoch'",
    )
    .execute(&mut *conn)
    .await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify('portico_routing', '')")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The routing epoch: it changes whenever a tenant or domain changes.
pub async fn routing_epoch(store: &Store) -> Result<i64, StoreError> {
    let value: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'routing_epoch'")
        .fetch_one(store.platform())
        .await?;
    Ok(value.parse().unwrap_or(0))
}

/// Verification state of a custom host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainState {
    /// Added, records not yet confirmed: not served.
    Pending,
    /// Records confirmed: served.
    Verified,
    /// Records gone or removed by the MSP: not served.
    Disabled,
}

impl DomainState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DomainState::Pending => "pending",
            DomainState::Verified => "verified",
            DomainState::Disabled => "disabled",
        }
    }
}

/// Validates a host name an MSP wants to point at the platform.
pub fn parse_host(input: &str, base_domain: &str) -> Result<String, StoreError> {
    let host = input.trim().trim_end_matches('.').to_ascii_lowercase();
    let invalid = |reason: &str| StoreError::Invalid {
        field: "host",
        reason: reason.to_owned(),
    };
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if host.len() > 253 || !host.contains('.') || !labels_ok {
        return Err(invalid("is not a valid host name"));
    }
    let base = base_domain.to_ascii_lowercase();
    if host == base || host.ends_with(&format!(".{base}")) {
        return Err(invalid("is under the platform's own domain"));
    }
    Ok(host)
}

/// Adds a custom host name to a tenant in the `pending` state and returns the
/// random token the MSP publishes in DNS to prove control.
pub async fn add_domain(
    store: &Store,
    tenant: &TenantDb,
    host: &str,
    base_domain: &str,
) -> Result<String, StoreError> {
    let host = parse_host(host, base_domain)?;
    let token = tokens::random_token(16);
    sqlx::query(
        "INSERT INTO domains (host, tenant_id, state, verification_token, created_at) \
         VALUES ($1, $2, 'pending', $3, $4)",
    )
    .bind(&host)
    .bind(tenant.id().0)
    .bind(&token)
    .bind(now_ms())
    .execute(store.platform())
    .await
    .map_err(|e| StoreError::from_db(e, "domain"))?;
    Ok(token)
}

/// Moves a custom host name to a new verification state; routing follows at once.
pub async fn set_domain_state(
    store: &Store,
    host: &str,
    state: DomainState,
) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    let verified_at = (state == DomainState::Verified).then(now_ms);
    let result = sqlx::query(
        "UPDATE domains SET state = $2, verified_at = COALESCE($3, verified_at) WHERE host = $1",
    )
    .bind(host)
    .bind(state.as_str())
    .bind(verified_at)
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound("domain"));
    }
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    Ok(())
}

/// Creates an operator account in the `invited` state with a single-use set-up
/// token valid for 72 hours; returns the token (shown once, stored hashed).
pub async fn create_platform_admin(
    store: &Store,
    email: &EmailAddress,
) -> Result<String, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO platform_admins (email, status, created_at) VALUES ($1, 'invited', $2) RETURNING id",
    )
    .bind(email.as_str())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StoreError::from_db(e, "platform admin"))?;
    let token = tokens::random_token(32);
    sqlx::query(
        "INSERT INTO setup_tokens (token_hash, admin_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tokens::hash_token(&token))
    .bind(id)
    .bind(now + tokens::SETUP_TOKEN_LIFETIME_MS)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// While the platform has no operator yet, issues a fresh single-use set-up token
/// (the previous unused ones stop working) for whoever installs Portico.
pub async fn first_admin_setup_token(store: &Store) -> Result<Option<String>, StoreError> {
    let mut tx = store.platform_tx().await?;
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform_admins")
        .fetch_one(&mut *tx)
        .await?;
    if admins > 0 {
        return Ok(None);
    }
    let now = now_ms();
    sqlx::query("DELETE FROM setup_tokens WHERE admin_id IS NULL AND used_at IS NULL")
        .execute(&mut *tx)
        .await?;
    let token = tokens::random_token(32);
    sqlx::query(
        "INSERT INTO setup_tokens (token_hash, admin_id, expires_at, created_at) VALUES ($1, NULL, $2, $3)",
    )
    .bind(tokens::hash_token(&token))
    .bind(now + tokens::SETUP_TOKEN_LIFETIME_MS)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// The tenant-schema version this binary expects.
pub fn current_tenant_version(store: &Store) -> i64 {
    migrate::latest_version(store.backend(), Level::Tenant)
}

/// A platform setting stored in the `meta` table.
pub async fn get_meta(store: &Store, key: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(key)
        .fetch_optional(store.platform())
        .await?)
}

/// Stores a platform setting unless it exists; returns whether this call stored it
/// (so exactly one of several starting instances wins).
pub async fn insert_meta_if_absent(
    store: &Store,
    key: &str,
    value: &str,
) -> Result<bool, StoreError> {
    let inserted =
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(store.platform())
            .await?
            .rows_affected();
    Ok(inserted == 1)
}
