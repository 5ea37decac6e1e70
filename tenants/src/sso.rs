//! Storage of single sign-on: identity providers per tenant (the MSP's own for its
//! staff, one per customer organization), home-realm discovery by e-mail domain,
//! and the external identities linked to people.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::store::TenantDb;

/// A configured identity provider (the client secret stays sealed).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdentityProvider {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// The customer organization it signs in, or `None` for the MSP's staff.
    pub organization_id: Option<i64>,
    /// Issuer URL.
    pub issuer: String,
    /// OAuth client id.
    pub client_id: String,
    /// The client secret, sealed with the master key.
    #[serde(skip)]
    pub sealed_client_secret: String,
    /// E-mail domains it serves (staff providers; customer providers serve their
    /// organization's domains).
    pub domains: Vec<String>,
    /// Whether a first sign-in may link to an existing account with the same
    /// verified e-mail address.
    pub link_by_email: bool,
}

/// A provider to add.
#[derive(Debug, Clone)]
pub struct NewIdentityProvider {
    /// Display name.
    pub name: String,
    /// Customer organization, or `None` for staff.
    pub organization_id: Option<i64>,
    /// Issuer URL (validated by the caller).
    pub issuer: String,
    /// OAuth client id.
    pub client_id: String,
    /// Client secret sealed by the caller.
    pub sealed_client_secret: String,
    /// E-mail domains (lower case) for staff providers.
    pub domains: Vec<String>,
    /// Link by verified e-mail.
    pub link_by_email: bool,
}

type ProviderRow = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    i64,
);

fn provider(
    (id, name, organization_id, issuer, client_id, secret, domains, link): ProviderRow,
) -> IdentityProvider {
    IdentityProvider {
        id,
        name,
        organization_id,
        issuer,
        client_id,
        sealed_client_secret: secret,
        domains: serde_json::from_str(&domains).unwrap_or_default(),
        link_by_email: link != 0,
    }
}

const COLUMNS: &str = "SELECT id, name, organization_id, issuer, client_id, client_secret, domains, link_by_email FROM identity_providers";

/// Adds a provider, audited as `actor`.
pub async fn add_provider(
    db: &TenantDb,
    new: NewIdentityProvider,
    actor: &str,
) -> Result<IdentityProvider, StoreError> {
    let mut tx = db.begin().await?;
    let domains = serde_json::to_string(&new.domains).unwrap_or_else(|_| "[]".to_owned());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO identity_providers (name, organization_id, issuer, client_id, client_secret, domains, link_by_email, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&new.name)
    .bind(new.organization_id)
    .bind(&new.issuer)
    .bind(&new.client_id)
    .bind(&new.sealed_client_secret)
    .bind(&domains)
    .bind(i64::from(new.link_by_email))
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "identity provider"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "sso.provider.added",
        target: format!("identity_provider:{id}"),
        details: serde_json::json!({
            "issuer": new.issuer, "organization_id": new.organization_id,
            "domains": new.domains, "link_by_email": new.link_by_email,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(IdentityProvider {
        id,
        name: new.name,
        organization_id: new.organization_id,
        issuer: new.issuer,
        client_id: new.client_id,
        sealed_client_secret: new.sealed_client_secret,
        domains: new.domains,
        link_by_email: new.link_by_email,
    })
}

/// Every provider of the tenant.
pub async fn list_providers(db: &TenantDb) -> Result<Vec<IdentityProvider>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<ProviderRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY id")))
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(provider).collect())
}

/// One provider by id.
pub async fn get_provider(db: &TenantDb, id: i64) -> Result<IdentityProvider, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<ProviderRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    tx.rollback().await?;
    row.map(provider)
        .ok_or(StoreError::NotFound("identity provider"))
}

/// Home-realm discovery: the provider for an e-mail domain — the provider of the
/// organization owning the domain, else a staff provider listing it.
pub async fn provider_for_domain(
    db: &TenantDb,
    domain: &str,
) -> Result<Option<IdentityProvider>, StoreError> {
    let domain = domain.to_ascii_lowercase();
    let mut tx = db.read().await?;
    let organization: Option<i64> =
        sqlx::query_scalar("SELECT organization_id FROM organization_domains WHERE domain = $1")
            .bind(&domain)
            .fetch_optional(tx.conn())
            .await?;
    let rows: Vec<ProviderRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY id")))
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    let providers: Vec<IdentityProvider> = rows.into_iter().map(provider).collect();
    if let Some(organization) = organization
        && let Some(found) = providers
            .iter()
            .find(|p| p.organization_id == Some(organization))
    {
        return Ok(Some(found.clone()));
    }
    Ok(providers
        .into_iter()
        .find(|p| p.organization_id.is_none() && p.domains.contains(&domain)))
}

/// The person linked to an external identity.
pub async fn linked_user(
    db: &TenantDb,
    issuer: &str,
    subject: &str,
) -> Result<Option<i64>, StoreError> {
    let mut tx = db.read().await?;
    let user: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM external_identities WHERE issuer = $1 AND subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(user)
}

/// Links an external identity to a person, audited.
pub async fn link(
    db: &TenantDb,
    issuer: &str,
    subject: &str,
    user_id: i64,
    how: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_db(e, "external identity"))?;
    // An SSO person's second factor is the provider's business.
    sqlx::query("UPDATE users SET status = CASE WHEN status = 'invited' THEN 'active' ELSE status END WHERE id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: format!("user:{user_id}"),
        action: "sso.identity.linked",
        target: format!("user:{user_id}"),
        details: serde_json::json!({ "issuer": issuer, "subject": subject, "how": how }),
    })
    .await?;
    tx.commit().await
}
