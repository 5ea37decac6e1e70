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
    let row: Option<(i64, i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, tenant_id, name, role, last_used_at FROM api_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash_token(secret))
    .fetch_optional(store.platform())
    .await?;
    let Some((token_id, tenant_id, name, role, last_used_at)) = row else {
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
