//! The platform's own people: platform admins who sign in on the operator host.
//! Their credentials, authenticator state, recovery codes and sessions live in the
//! platform schema, apart from every tenant's; every change to them is written to
//! the operator's audit chain in the same transaction.

use crate::StoreError;
use crate::accounts::SessionState;
use crate::audit::{self, AuditEntry};
use crate::clock::now_ms;
use crate::store::Store;
use crate::tokens::hash_token;

/// What sign-in needs to know about a platform admin.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Id.
    pub id: i64,
    /// Sign-in name.
    pub email: String,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// PHC string, once set.
    pub password_hash: Option<String>,
    /// The TOTP secret, sealed with the master key.
    pub totp_secret: Option<String>,
}

type OperatorRow = (i64, String, String, Option<String>, Option<String>);

const OPERATOR_COLUMNS: &str =
    "SELECT id, email, status, password_hash, totp_secret FROM platform_admins";

fn operator(row: OperatorRow) -> Operator {
    let (id, email, status, password_hash, totp_secret) = row;
    Operator {
        id,
        email,
        status,
        password_hash,
        totp_secret,
    }
}

/// The platform admin signing in with `email` (lower-cased by the caller).
pub async fn by_email(store: &Store, email: &str) -> Result<Option<Operator>, StoreError> {
    let row: Option<OperatorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OPERATOR_COLUMNS} WHERE email = $1"
    )))
    .bind(email)
    .fetch_optional(store.platform())
    .await?;
    Ok(row.map(operator))
}

/// The platform admin with `id`.
pub async fn by_id(store: &Store, id: i64) -> Result<Option<Operator>, StoreError> {
    let row: Option<OperatorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OPERATOR_COLUMNS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(store.platform())
    .await?;
    Ok(row.map(operator))
}

/// A valid, unused set-up link: for a named admin (`admin_id`, `email`), or for the
/// installation's very first admin, who chooses their address.
#[derive(Debug, Clone)]
pub struct SetupToken {
    /// The admin the link was made for; `None` for the first admin.
    pub admin_id: Option<i64>,
    /// Their address.
    pub email: Option<String>,
}

/// The set-up link `token`, if it is valid and unused.
pub async fn peek_setup_token(
    store: &Store,
    token: &str,
) -> Result<Option<SetupToken>, StoreError> {
    if token.len() > 128 {
        return Ok(None);
    }
    let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT t.admin_id, a.email FROM setup_tokens t LEFT JOIN platform_admins a ON a.id = t.admin_id \
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(store.platform())
    .await?;
    Ok(row.map(|(admin_id, email)| SetupToken { admin_id, email }))
}

/// Uses set-up link `token` to set a password: for the admin it names, or, for
/// the first-admin link, a new admin with `email` (refused once any admin exists).
/// Returns the admin's id; `None` when the link is used, expired or unknown.
pub async fn complete_setup(
    store: &Store,
    token: &str,
    email: &str,
    password_hash: &str,
    ip: &str,
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let used: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
         AND expires_at > $2 RETURNING admin_id",
    )
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(admin_id) = used else {
        tx.rollback().await?;
        return Ok(None);
    };
    let admin_id = match admin_id {
        Some(admin_id) => admin_id,
        None => {
            let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform_admins")
                .fetch_one(&mut *tx)
                .await?;
            if admins > 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            sqlx::query_scalar(
                "INSERT INTO platform_admins (email, status, created_at) VALUES ($1, 'invited', $2) RETURNING id",
            )
            .bind(email)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::from_db(e, "platform admin"))?
        }
    };
    sqlx::query(
        "UPDATE platform_admins SET password_hash = $2 WHERE id = $1 AND status <> 'disabled'",
    )
    .bind(admin_id)
    .bind(password_hash)
    .execute(&mut *tx)
    .await?;
    audit::append_platform_in(
        &mut tx,
        store.backend(),
        &AuditEntry {
            actor: format!("operator:{admin_id}"),
            action: "operator.setup.completed",
            target: format!("operator:{admin_id}"),
            details: serde_json::json!({ "ip": ip }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(admin_id))
}

/// Replaces a password hash by a stronger one of the same password (only if it
/// is still `old`, so a concurrent change wins).
pub async fn rehash_password(
    store: &Store,
    id: i64,
    old: &str,
    new: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE platform_admins SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
    )
    .bind(id)
    .bind(old)
    .bind(new)
    .execute(store.platform())
    .await?;
    Ok(())
}

/// Stores a confirmed authenticator (sealed secret, the step just used) and the
/// hashes of fresh recovery codes; the admin becomes active.
pub async fn enrol_totp(
    store: &Store,
    id: i64,
    sealed_secret: &str,
    step: i64,
    recovery_hashes: &[String],
) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    sqlx::query(
        "UPDATE platform_admins SET totp_secret = $2, totp_last_step = $3, status = 'active' \
         WHERE id = $1 AND status <> 'disabled'",
    )
    .bind(id)
    .bind(sealed_secret)
    .bind(step)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM operator_recovery_codes WHERE admin_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for hash in recovery_hashes {
        sqlx::query("INSERT INTO operator_recovery_codes (admin_id, code_hash) VALUES ($1, $2)")
            .bind(id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    audit::append_platform_in(
        &mut tx,
        store.backend(),
        &AuditEntry {
            actor: format!("operator:{id}"),
            action: "operator.totp.enrolled",
            target: format!("operator:{id}"),
            details: serde_json::json!({ "recovery_codes": recovery_hashes.len() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Accepts TOTP time step `step` unless it (or a later one) was accepted before:
/// one conditional update decides, so a code works once even under a race.
pub async fn accept_totp_step(store: &Store, id: i64, step: i64) -> Result<bool, StoreError> {
    let accepted = sqlx::query(
        "UPDATE platform_admins SET totp_last_step = $2 \
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(id)
    .bind(step)
    .execute(store.platform())
    .await?
    .rows_affected();
    Ok(accepted == 1)
}

/// Uses up a recovery code (by hash); `true` at most once per code.
pub async fn use_recovery_code(
    store: &Store,
    id: i64,
    code_hash: &str,
) -> Result<bool, StoreError> {
    let used = sqlx::query(
        "UPDATE operator_recovery_codes SET used_at = $3 \
         WHERE admin_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(id)
    .bind(code_hash)
    .bind(now_ms())
    .execute(store.platform())
    .await?
    .rows_affected();
    Ok(used == 1)
}

/// A stored operator session.
#[derive(Debug, Clone)]
pub struct OperatorSession {
    /// Hash of the session id.
    pub id_hash: String,
    /// Whose.
    pub admin_id: i64,
    /// How far sign-in got.
    pub state: SessionState,
    /// The token forms must echo.
    pub csrf_token: String,
    /// Last request, Unix milliseconds.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
}

/// Stores a new session, with `entry` on the operator's audit chain.
#[allow(clippy::too_many_arguments)]
pub async fn create_session(
    store: &Store,
    id_hash: &str,
    admin_id: i64,
    state: SessionState,
    csrf_token: &str,
    expires_at: i64,
    (ip, user_agent): (&str, &str),
    entry: AuditEntry,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    sqlx::query(
        "INSERT INTO operator_sessions (id_hash, admin_id, state, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
    )
    .bind(id_hash)
    .bind(admin_id)
    .bind(state.as_str())
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .bind(ip)
    .bind(user_agent)
    .execute(&mut *tx)
    .await?;
    audit::append_platform_in(&mut tx, store.backend(), &entry).await?;
    tx.commit().await?;
    Ok(())
}

/// A live session by the hash of its id: within its absolute and idle limits, its
/// admin not disabled. Touches `last_seen_at` at most once a minute.
pub async fn find_session(
    store: &Store,
    id_hash: &str,
    idle_ms: i64,
) -> Result<Option<OperatorSession>, StoreError> {
    let now = now_ms();
    let row: Option<(String, i64, String, String, i64, i64)> = sqlx::query_as(
        "SELECT s.id_hash, s.admin_id, s.state, s.csrf_token, s.last_seen_at, s.expires_at \
         FROM operator_sessions s JOIN platform_admins a ON a.id = s.admin_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND a.status <> 'disabled'",
    )
    .bind(id_hash)
    .bind(now)
    .bind(now - idle_ms)
    .fetch_optional(store.platform())
    .await?;
    let Some((id_hash, admin_id, state, csrf_token, last_seen_at, expires_at)) = row else {
        return Ok(None);
    };
    if now - last_seen_at > 60_000 {
        sqlx::query("UPDATE operator_sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(&id_hash)
            .bind(now)
            .execute(store.platform())
            .await?;
    }
    Ok(Some(OperatorSession {
        id_hash,
        admin_id,
        state: SessionState::parse(&state),
        csrf_token,
        last_seen_at,
        expires_at,
    }))
}

/// Gives a session a new id and CSRF token and moves it to `state`, with `entry`
/// on the audit chain; `false` when the session is gone.
pub async fn rotate_session(
    store: &Store,
    old_id_hash: &str,
    new_id_hash: &str,
    new_csrf: &str,
    state: SessionState,
    entry: AuditEntry,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let rotated = sqlx::query(
        "UPDATE operator_sessions SET id_hash = $2, csrf_token = $3, state = $4, last_seen_at = $5 \
         WHERE id_hash = $1",
    )
    .bind(old_id_hash)
    .bind(new_id_hash)
    .bind(new_csrf)
    .bind(state.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if rotated != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    if state == SessionState::Active {
        sqlx::query(
            "UPDATE platform_admins SET last_login_at = $2 WHERE id = (SELECT admin_id FROM operator_sessions WHERE id_hash = $1)",
        )
        .bind(new_id_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    audit::append_platform_in(&mut tx, store.backend(), &entry).await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends a session (sign-out), audited.
pub async fn end_session(
    store: &Store,
    id_hash: &str,
    entry: AuditEntry,
) -> Result<(), StoreError> {
    let mut tx = store.platform_tx().await?;
    sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *tx)
        .await?;
    audit::append_platform_in(&mut tx, store.backend(), &entry).await?;
    tx.commit().await?;
    Ok(())
}
