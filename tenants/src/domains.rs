//! Custom domains after they are added (`registry::add_domain`): DNS check results
//! and the state machine they drive (pending → verified → grace → disabled), the
//! certificates of verified domains with their per-domain back-off, the ACME
//! account, and the HTTP-01 answers every instance can serve. Every change that
//! alters what is served (a domain verified or disabled, a certificate stored)
//! moves the routing epoch, so all instances reload within a second.

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::TenantId;
use crate::registry::{DomainState, bump_routing_epoch};
use crate::store::Store;

/// A certificate's public facts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateInfo {
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Valid from, Unix milliseconds.
    pub not_before: i64,
    /// Valid until.
    pub not_after: i64,
    /// When it was stored.
    pub issued_at: i64,
}

/// A custom domain as its MSP admin sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DomainRecord {
    /// The host name.
    pub host: String,
    /// Its tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// Verification state.
    pub state: DomainState,
    /// The value the TXT record must hold.
    pub verification_token: String,
    /// Added, Unix milliseconds.
    pub created_at: i64,
    /// First verified.
    pub verified_at: Option<i64>,
    /// Last DNS check.
    pub checked_at: Option<i64>,
    /// What the last check found.
    pub check_result: Option<serde_json::Value>,
    /// While set, the records are gone and the domain is disabled at this time.
    pub grace_until: Option<i64>,
    /// Failed certificate orders in a row.
    pub certificate_failures: i64,
    /// No new order before this time.
    pub certificate_next_attempt_at: i64,
    /// The last order's error, in words.
    pub certificate_error: Option<String>,
    /// The current certificate, if any.
    pub certificate: Option<CertificateInfo>,
}

type DomainRow = (
    String,
    i64,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

const DOMAIN_COLUMNS: &str = "SELECT d.host, d.tenant_id, d.state, d.verification_token, d.created_at, \
     d.verified_at, d.checked_at, d.check_result, d.grace_until, d.cert_failures, d.cert_next_attempt_at, \
     d.cert_last_error, c.issuer, c.not_before, c.not_after, c.issued_at \
     FROM domains d LEFT JOIN certificates c ON c.host = d.host";

fn parse_state(value: &str) -> DomainState {
    match value {
        "verified" => DomainState::Verified,
        "disabled" => DomainState::Disabled,
        _ => DomainState::Pending,
    }
}

fn domain_record(row: DomainRow) -> DomainRecord {
    let (
        host,
        tenant_id,
        state,
        verification_token,
        created_at,
        verified_at,
        checked_at,
        check_result,
        grace_until,
        certificate_failures,
        certificate_next_attempt_at,
        certificate_error,
        issuer,
        not_before,
        not_after,
        issued_at,
    ) = row;
    let certificate = match (issuer, not_before, not_after, issued_at) {
        (Some(issuer), Some(not_before), Some(not_after), Some(issued_at)) => {
            Some(CertificateInfo {
                issuer,
                not_before,
                not_after,
                issued_at,
            })
        }
        _ => None,
    };
    DomainRecord {
        host,
        tenant_id: TenantId(tenant_id),
        state: parse_state(&state),
        verification_token,
        created_at,
        verified_at,
        checked_at,
        check_result: check_result.and_then(|text| serde_json::from_str(&text).ok()),
        grace_until,
        certificate_failures,
        certificate_next_attempt_at,
        certificate_error,
        certificate,
    }
}

/// A tenant's custom domains, by host name.
pub async fn list_for_tenant(
    store: &Store,
    tenant: TenantId,
) -> Result<Vec<DomainRecord>, StoreError> {
    let rows: Vec<DomainRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DOMAIN_COLUMNS} WHERE d.tenant_id = $1 ORDER BY d.host"
    )))
    .bind(tenant.0)
    .fetch_all(store.platform())
    .await?;
    Ok(rows.into_iter().map(domain_record).collect())
}

/// One domain, whichever tenant holds it.
pub async fn get(store: &Store, host: &str) -> Result<Option<DomainRecord>, StoreError> {
    let row: Option<DomainRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{DOMAIN_COLUMNS} WHERE d.host = $1"
    )))
    .bind(host)
    .fetch_optional(store.platform())
    .await?;
    Ok(row.map(domain_record))
}

/// Removes a tenant's domain and its certificate; `false` if the tenant has no
/// such domain. Routing and TLS follow at once.
pub async fn remove(store: &Store, tenant: TenantId, host: &str) -> Result<bool, StoreError> {
    let mut tx = store.platform_tx().await?;
    let removed = sqlx::query("DELETE FROM domains WHERE host = $1 AND tenant_id = $2")
        .bind(host)
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM certificates WHERE host = $1")
        .bind(host)
        .execute(&mut *tx)
        .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    Ok(true)
}

/// What a DNS check did to a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckTransition {
    /// Not yet (or no longer) verified, and still not.
    StillPending,
    /// Verified just now: served from now on, a certificate is due.
    Verified,
    /// Verified, and the records still hold.
    StillVerified,
    /// The records are gone: the grace period started now.
    GraceStarted,
    /// Still in the grace period.
    InGrace,
    /// The records came back during the grace period.
    Recovered,
    /// The grace period ran out: no longer served or renewed.
    Disabled,
    /// The domain is gone.
    Unknown,
}

/// Records a DNS check of `host` (`holds`: both records as expected; `result`: what
/// was found) and moves its state: pending or disabled → verified when they hold;
/// verified → grace (`grace_ms` long) when they do not, then → disabled.
pub async fn record_check(
    store: &Store,
    host: &str,
    holds: bool,
    result: &serde_json::Value,
    grace_ms: i64,
) -> Result<CheckTransition, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT state, grace_until FROM domains WHERE host = $1")
            .bind(host)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((state, grace_until)) = row else {
        tx.rollback().await?;
        return Ok(CheckTransition::Unknown);
    };
    let state = parse_state(&state);
    let (transition, new_state, new_grace) = match (state, holds, grace_until) {
        (DomainState::Verified, true, None) => (CheckTransition::StillVerified, state, None),
        (DomainState::Verified, true, Some(_)) => (CheckTransition::Recovered, state, None),
        (DomainState::Verified, false, None) => {
            (CheckTransition::GraceStarted, state, Some(now + grace_ms))
        }
        (DomainState::Verified, false, Some(until)) if until > now => {
            (CheckTransition::InGrace, state, Some(until))
        }
        (DomainState::Verified, false, Some(_)) => {
            (CheckTransition::Disabled, DomainState::Disabled, None)
        }
        (_, true, _) => (CheckTransition::Verified, DomainState::Verified, None),
        (_, false, _) => (CheckTransition::StillPending, state, None),
    };
    sqlx::query(
        "UPDATE domains SET state = $2, grace_until = $3, checked_at = $4, check_result = $5, \
         verified_at = CASE WHEN $6 = 1 THEN $4 ELSE verified_at END WHERE host = $1",
    )
    .bind(host)
    .bind(new_state.as_str())
    .bind(new_grace)
    .bind(now)
    .bind(result.to_string())
    .bind(i64::from(transition == CheckTransition::Verified))
    .execute(&mut *tx)
    .await?;
    if new_state != state {
        if new_state == DomainState::Disabled {
            sqlx::query("DELETE FROM certificates WHERE host = $1")
                .bind(host)
                .execute(&mut *tx)
                .await?;
        }
        bump_routing_epoch(&mut tx, store.backend()).await?;
    }
    tx.commit().await?;
    if new_state != state {
        store.routing_notify().notify_one();
    }
    Ok(transition)
}

/// Hosts a certificate should be ordered for now: verified, not disabled, whose
/// back-off has passed, with no certificate or one in the last third of its life.
pub async fn due_for_certificate(store: &Store, limit: i64) -> Result<Vec<String>, StoreError> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "SELECT d.host FROM domains d LEFT JOIN certificates c ON c.host = d.host \
         WHERE d.state = 'verified' AND d.cert_next_attempt_at <= $1 \
         AND (c.host IS NULL OR c.not_after - $1 < (c.not_after - c.not_before) / 3) \
         ORDER BY d.cert_next_attempt_at, d.host LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(store.platform())
    .await?)
}

/// The earliest time a certificate will be due (a renewal or a back-off ending),
/// if any verified domain exists.
pub async fn next_certificate_due(store: &Store) -> Result<Option<i64>, StoreError> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(CASE WHEN c.host IS NULL THEN d.cert_next_attempt_at \
         WHEN d.cert_next_attempt_at > c.not_after - (c.not_after - c.not_before) / 3 THEN d.cert_next_attempt_at \
         ELSE c.not_after - (c.not_after - c.not_before) / 3 END) \
         FROM domains d LEFT JOIN certificates c ON c.host = d.host WHERE d.state = 'verified'",
    )
    .fetch_one(store.platform())
    .await?;
    Ok(due)
}

/// A certificate to store.
#[derive(Debug, Clone)]
pub struct NewCertificate<'a> {
    /// Leaf first, then the chain, PEM.
    pub chain_pem: &'a str,
    /// The private key (PKCS#8 PEM) sealed with the master key.
    pub key_sealed: &'a str,
    /// The issuer's distinguished name.
    pub issuer: &'a str,
    /// Valid from, Unix milliseconds.
    pub not_before: i64,
    /// Valid until.
    pub not_after: i64,
}

/// Stores (or replaces) the certificate of a still verified `host` and clears its
/// back-off; every instance serves it within a second. `false` if the domain is no
/// longer verified (the certificate is dropped).
pub async fn store_certificate(
    store: &Store,
    host: &str,
    certificate: NewCertificate<'_>,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let verified = sqlx::query(
        "UPDATE domains SET cert_failures = 0, cert_next_attempt_at = 0, cert_last_error = NULL \
         WHERE host = $1 AND state = 'verified'",
    )
    .bind(host)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if verified == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO certificates (host, chain_pem, key_sealed, issuer, not_before, not_after, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (host) DO UPDATE SET chain_pem = excluded.chain_pem, \
         key_sealed = excluded.key_sealed, issuer = excluded.issuer, not_before = excluded.not_before, \
         not_after = excluded.not_after, issued_at = excluded.issued_at",
    )
    .bind(host)
    .bind(certificate.chain_pem)
    .bind(certificate.key_sealed)
    .bind(certificate.issuer)
    .bind(certificate.not_before)
    .bind(certificate.not_after)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    bump_routing_epoch(&mut tx, store.backend()).await?;
    tx.commit().await?;
    store.routing_notify().notify_one();
    Ok(true)
}

/// Records a failed order: the next waits `backoff_ms(failures)` longer.
pub async fn record_certificate_failure(
    store: &Store,
    host: &str,
    error: &str,
    backoff: impl Fn(i64) -> i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    let failures: Option<i64> =
        sqlx::query_scalar("SELECT cert_failures FROM domains WHERE host = $1")
            .bind(host)
            .fetch_optional(store.platform())
            .await?;
    let failures = failures.unwrap_or(0) + 1;
    sqlx::query(
        "UPDATE domains SET cert_failures = $2, cert_next_attempt_at = $3, cert_last_error = $4 WHERE host = $1",
    )
    .bind(host)
    .bind(failures)
    .bind(now + backoff(failures))
    .bind(error.chars().take(1000).collect::<String>())
    .execute(store.platform())
    .await?;
    Ok(())
}

/// A stored certificate of a served domain.
#[derive(Debug, Clone)]
pub struct StoredCertificate {
    /// Its host.
    pub host: String,
    /// Leaf first, PEM.
    pub chain_pem: String,
    /// The sealed private key.
    pub key_sealed: String,
    /// Valid until, Unix milliseconds.
    pub not_after: i64,
    /// When it was stored: a new certificate for the host has a later time.
    pub issued_at: i64,
}

/// Which certificates are served, as (host, issued_at): cheap to compare with what
/// an instance has loaded before reading and parsing any of them.
pub async fn served_certificate_versions(store: &Store) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT c.host, c.issued_at FROM certificates c JOIN domains d ON d.host = c.host \
         WHERE d.state = 'verified' ORDER BY c.host",
    )
    .fetch_all(store.platform())
    .await?)
}

/// Every certificate of a verified domain (what the TLS listener serves).
pub async fn served_certificates(store: &Store) -> Result<Vec<StoredCertificate>, StoreError> {
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT c.host, c.chain_pem, c.key_sealed, c.not_after, c.issued_at FROM certificates c \
         JOIN domains d ON d.host = c.host WHERE d.state = 'verified'",
    )
    .fetch_all(store.platform())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(host, chain_pem, key_sealed, not_after, issued_at)| StoredCertificate {
                host,
                chain_pem,
                key_sealed,
                not_after,
                issued_at,
            },
        )
        .collect())
}

/// The stored ACME account for `directory` (sealed credentials), if any.
pub async fn acme_account(store: &Store, directory: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT credentials_sealed FROM acme_accounts WHERE directory = $1")
            .bind(directory)
            .fetch_optional(store.platform())
            .await?,
    )
}

/// Stores the ACME account for `directory` unless one exists; returns the one that
/// is stored (so concurrent instances agree on a single account).
pub async fn save_acme_account(
    store: &Store,
    directory: &str,
    credentials_sealed: &str,
) -> Result<String, StoreError> {
    sqlx::query(
        "INSERT INTO acme_accounts (directory, credentials_sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (directory) DO NOTHING",
    )
    .bind(directory)
    .bind(credentials_sealed)
    .bind(now_ms())
    .execute(store.platform())
    .await?;
    acme_account(store, directory)
        .await?
        .ok_or(StoreError::NotFound("acme account"))
}

/// Publishes an HTTP-01 answer until `expires_at`.
pub async fn put_challenge(
    store: &Store,
    token: &str,
    key_authorization: &str,
    host: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO acme_challenges (token, key_authorization, host, expires_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (token) DO UPDATE SET key_authorization = excluded.key_authorization, \
         host = excluded.host, expires_at = excluded.expires_at",
    )
    .bind(token)
    .bind(key_authorization)
    .bind(host)
    .bind(expires_at)
    .execute(store.platform())
    .await?;
    Ok(())
}

/// The answer to HTTP-01 challenge `token` for `host`, if published and current.
pub async fn challenge_answer(
    store: &Store,
    token: &str,
    host: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT key_authorization FROM acme_challenges WHERE token = $1 AND host = $2 AND expires_at > $3",
    )
    .bind(token)
    .bind(host)
    .bind(now_ms())
    .fetch_optional(store.platform())
    .await?)
}

/// Withdraws an answer (and any that expired).
pub async fn delete_challenge(store: &Store, token: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM acme_challenges WHERE token = $1 OR expires_at < $2")
        .bind(token)
        .bind(now_ms())
        .execute(store.platform())
        .await?;
    Ok(())
}

/// Domains whose DNS check is due: pending ones and those in their grace period
/// every `pending_every_ms`, the others (verified, disabled) every
/// `verified_every_ms`, and each in grace once more when its grace period ends.
pub async fn due_for_check(
    store: &Store,
    pending_every_ms: i64,
    verified_every_ms: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "SELECT host FROM domains WHERE checked_at IS NULL \
         OR (state = 'pending' AND checked_at < $1) \
         OR (grace_until IS NOT NULL AND checked_at < $1) \
         OR (state <> 'pending' AND checked_at < $2) \
         OR (grace_until IS NOT NULL AND grace_until <= $3 AND checked_at < grace_until) \
         ORDER BY COALESCE(checked_at, 0), host LIMIT $4",
    )
    .bind(now - pending_every_ms)
    .bind(now - verified_every_ms)
    .bind(now)
    .bind(limit)
    .fetch_all(store.platform())
    .await?)
}

/// Takes or renews lease `name` for `owner` until `until` (Unix ms); `true` when
/// `owner` holds it now. A lease held by another owner is taken only once expired.
pub async fn try_lease(
    store: &Store,
    name: &str,
    owner: &str,
    until: i64,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
         WHERE leases.owner = excluded.owner OR leases.expires_at < $4",
    )
    .bind(name)
    .bind(owner)
    .bind(until)
    .bind(now_ms())
    .execute(store.platform())
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Gives lease `name` up, if `owner` holds it.
pub async fn release_lease(store: &Store, name: &str, owner: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
        .bind(name)
        .bind(owner)
        .execute(store.platform())
        .await?;
    Ok(())
}

/// Removes domains added more than `older_than_ms` ago and never verified, so a
/// host name nobody proves control of cannot be held back from its real owner.
/// Returns the removed host names.
pub async fn expire_pending(store: &Store, older_than_ms: i64) -> Result<Vec<String>, StoreError> {
    let hosts: Vec<String> = sqlx::query_scalar(
        "DELETE FROM domains WHERE state = 'pending' AND verified_at IS NULL AND created_at < $1 RETURNING host",
    )
    .bind(now_ms() - older_than_ms)
    .fetch_all(store.platform())
    .await?;
    Ok(hosts)
}
