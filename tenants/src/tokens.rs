//! Bearer secrets: API tokens (service accounts with a role in one tenant) and the
//! single-use set-up and invitation tokens. Only SHA-256 hashes are stored.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::{Role, TenantId};
use crate::store::Store;

/// Set-up and invitation links stay valid for 72 hours.
pub const SETUP_TOKEN_LIFETIME_MS: i64 = 72 * 3600 * 1000;

/// API tokens start with this, so secret scanners can recognise a leaked one.
const API_TOKEN_PREFIX: &str = "pt_";

/// `bytes` random bytes from the operating system's generator, URL-safe hex.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// The stored form of a bearer secret.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// (id, tenant, name, role, last used, person) of a presented token.
type GrantRow = (i64, i64, String, String, Option<i64>, Option<i64>);
/// (id, name, role, person, created, last used, revoked) of a listed token.
type InfoRow = (
    i64,
    String,
    String,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
);

/// What an API token grants.
#[derive(Debug, Clone, Serialize)]
pub struct ApiTokenGrant {
    /// The token's id.
    pub token_id: i64,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its name (unique in the tenant).
    pub name: String,
    /// The role it acts with.
    pub role: Role,
    /// The person it acts as, when it is a personal token.
    pub user_id: Option<i64>,
}

/// Creates an API token for a tenant and returns the secret, which is shown once.
pub async fn create_api_token(
    store: &Store,
    tenant_slug: &str,
    name: &str,
    role: Role,
) -> Result<String, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "must be 1 to 100 printable characters".to_owned(),
        });
    }
    let tenant = store.tenant_by_slug(tenant_slug).await?;
    let secret = format!("{API_TOKEN_PREFIX}{}", random_token(32));
    sqlx::query(
        "INSERT INTO api_tokens (tenant_id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.id().0)
    .bind(name)
    .bind(role.as_str())
    .bind(hash_token(&secret))
    .bind(now_ms())
    .execute(store.platform())
    .await
    .map_err(|e| StoreError::from_db(e, "api token name"))?;
    crate::policy::bump_policy_version(store, tenant.id()).await?;
    Ok(secret)
}

/// Resolves a presented API token to its grant; `None` for unknown or revoked tokens.
pub async fn authenticate_api_token(
    store: &Store,
    secret: &str,
) -> Result<Option<ApiTokenGrant>, StoreError> {
    if !secret.starts_with(API_TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let row: Option<GrantRow> = sqlx::query_as(
        "SELECT id, tenant_id, name, role, last_used_at, user_id FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash_token(secret))
    .fetch_optional(store.platform())
    .await?;
    let Some((token_id, tenant_id, name, role, last_used_at, user_id)) = row else {
        return Ok(None);
    };
    let now = now_ms();
    // Record use at most once a minute, so a busy integration does not turn every
    // read into a write.
    if last_used_at.is_none_or(|at| now - at > 60_000) {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(now)
            .execute(store.platform())
            .await?;
    }
    Ok(Some(ApiTokenGrant {
        token_id,
        tenant_id: TenantId(tenant_id),
        name,
        role: Role::parse(&role)?,
        user_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_are_stable() {
        let first = random_token(32);
        assert_eq!(first.len(), 64);
        assert_ne!(first, random_token(32));
        assert_eq!(hash_token("abc"), hash_token("abc"));
        assert_ne!(hash_token("abc"), hash_token("abd"));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiTokenInfo {
    /// Id.
    pub id: i64,
    /// Name, unique in the tenant.
    pub name: String,
    /// Role (a personal token's is its person's at creation).
    pub role: Role,
    /// The person it acts as, for personal tokens.
    pub user_id: Option<i64>,
    /// Created, Unix milliseconds.
    pub created_at: i64,
    /// Last use (to the minute), if ever.
    pub last_used_at: Option<i64>,
    /// Revoked, if so.
    pub revoked_at: Option<i64>,
}

/// The tenant's API tokens.
pub async fn list_api_tokens(
    store: &Store,
    tenant_slug: &str,
) -> Result<Vec<ApiTokenInfo>, StoreError> {
    let tenant = store.tenant_by_slug(tenant_slug).await?;
    let rows: Vec<InfoRow> = sqlx::query_as(
        "SELECT id, name, role, user_id, created_at, last_used_at, revoked_at FROM api_tokens WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant.id().0)
    .fetch_all(store.platform())
    .await?;
    rows.into_iter()
        .map(
            |(id, name, role, user_id, created_at, last_used_at, revoked_at)| {
                Ok(ApiTokenInfo {
                    id,
                    name,
                    role: Role::parse(&role)?,
                    user_id,
                    created_at,
                    last_used_at,
                    revoked_at,
                })
            },
        )
        .collect()
}

/// Revokes a token by name; the change reaches every instance within a second.
pub async fn revoke_api_token(
    store: &Store,
    tenant_slug: &str,
    name: &str,
) -> Result<(), StoreError> {
    let tenant = store.tenant_by_slug(tenant_slug).await?;
    let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE tenant_id = $1 AND name = $2 AND revoked_at IS NULL")
        .bind(tenant.id().0)
        .bind(name)
        .bind(now_ms())
        .execute(store.platform())
        .await?
        .rows_affected();
    if revoked == 0 {
        return Err(StoreError::NotFound("api token"));
    }
    crate::policy::bump_policy_version(store, tenant.id()).await
}

/// Creates a personal token acting as the person with `email` (their role and
/// scope); returns the secret, shown once.
pub async fn create_personal_token(
    store: &Store,
    tenant_slug: &str,
    name: &str,
    email: &str,
) -> Result<String, StoreError> {
    let tenant = store.tenant_by_slug(tenant_slug).await?;
    let person = crate::accounts::login_by_email(&tenant, &email.trim().to_lowercase())
        .await?
        .filter(|p| p.status != "disabled")
        .ok_or(StoreError::NotFound("user"))?;
    let secret = create_api_token(store, tenant_slug, name, person.role).await?;
    sqlx::query("UPDATE api_tokens SET user_id = $1 WHERE token_hash = $2")
        .bind(person.user_id)
        .bind(hash_token(&secret))
        .execute(store.platform())
        .await?;
    Ok(secret)
}
