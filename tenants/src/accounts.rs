//! Credentials, second factors, invitations and server-side sessions of a tenant's
//! people. Hashing and cryptography happen in the caller; this module stores only
//! hashes and sealed values.

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::Role;
use crate::store::{TenantDb, TenantTx};
use crate::tokens::hash_token;

/// What sign-in needs to know about a person.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    /// Id.
    pub user_id: i64,
    /// Sign-in name.
    pub email: String,
    /// Role.
    pub role: Role,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// PHC string, when a password is set.
    pub password_hash: Option<String>,
    /// `totp`, `sms` or none yet.
    pub second_factor: Option<String>,
    /// The TOTP secret, sealed with the master key.
    pub totp_secret: Option<String>,
    /// Preferred language.
    pub locale: String,
    /// Time zone (IANA name), empty for the tenant's default.
    pub time_zone: String,
}

type LoginRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

fn login_record(row: LoginRow) -> Result<LoginRecord, StoreError> {
    let (
        user_id,
        email,
        role,
        status,
        password_hash,
        second_factor,
        totp_secret,
        locale,
        time_zone,
    ) = row;
    Ok(LoginRecord {
        user_id,
        email,
        role: Role::parse(&role)?,
        status,
        password_hash,
        second_factor,
        totp_secret,
        locale,
        time_zone,
    })
}

const LOGIN_COLUMNS: &str = "SELECT id, email, role, status, password_hash, second_factor, totp_secret, locale, time_zone FROM users";

/// The person signing in with `email` (lower-cased by the caller), if any.
pub async fn login_by_email(db: &TenantDb, email: &str) -> Result<Option<LoginRecord>, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<LoginRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{LOGIN_COLUMNS} WHERE email = $1"
    )))
    .bind(email)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(login_record).transpose()
}

/// The person with `user_id`, if any.
pub async fn login_by_id(db: &TenantDb, user_id: i64) -> Result<Option<LoginRecord>, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<LoginRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{LOGIN_COLUMNS} WHERE id = $1"
    )))
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(login_record).transpose()
}

/// A valid, unused invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The invited person, or `None` for the first MSP admin (who gives their address).
    pub user_id: Option<i64>,
    /// Their e-mail, when known.
    pub email: Option<String>,
    /// The role it grants.
    pub role: Role,
}

/// Looks an invitation up without using it (for the form behind the link).
pub async fn peek_invitation(db: &TenantDb, token: &str) -> Result<Option<Invitation>, StoreError> {
    let mut tx = db.read().await?;
    let row: Option<(Option<i64>, String, Option<String>)> = sqlx::query_as(
        "SELECT i.user_id, i.role, u.email FROM invitations i LEFT JOIN users u ON u.id = i.user_id \
         WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(|(user_id, role, email)| {
        Ok(Invitation {
            user_id,
            email,
            role: Role::parse(&role)?,
        })
    })
    .transpose()
}

/// Uses an invitation inside `tx`: exactly one caller wins a race for the same link.
pub async fn consume_invitation(
    tx: &mut TenantTx,
    token: &str,
) -> Result<Option<Invitation>, StoreError> {
    let now = now_ms();
    let row: Option<(Option<i64>, String)> = sqlx::query_as(
        "UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING user_id, role",
    )
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|(user_id, role)| {
        Ok(Invitation {
            user_id,
            email: None,
            role: Role::parse(&role)?,
        })
    })
    .transpose()
}

/// Sets a password and activates the person.
pub async fn set_password(
    tx: &mut TenantTx,
    user_id: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $2, status = CASE WHEN status = 'invited' THEN 'active' ELSE status END, \
         updated_at = $3 WHERE id = $1 AND status <> 'disabled'",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

/// Replaces a stored hash after a successful sign-in with weaker parameters.
pub async fn rehash_password(
    db: &TenantDb,
    user_id: i64,
    old_hash: &str,
    new_hash: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
        .bind(user_id)
        .bind(old_hash)
        .bind(new_hash)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Records the enrolled authenticator (secret sealed by the caller) and recovery codes.
pub async fn enrol_totp(
    tx: &mut TenantTx,
    user_id: i64,
    sealed_secret: &str,
    accepted_step: i64,
    recovery_code_hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET second_factor = 'totp', totp_secret = $2, totp_last_step = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(user_id)
    .bind(sealed_secret)
    .bind(accepted_step)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    for code_hash in recovery_code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(code_hash)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Accepts a TOTP time step for a person at most once, atomically: a second
/// request with the same (or an older) step loses.
pub async fn accept_totp_step(db: &TenantDb, user_id: i64, step: i64) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let accepted = sqlx::query(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(accepted)
}

/// Uses a recovery code (hashed by the caller) at most once.
pub async fn use_recovery_code(
    db: &TenantDb,
    user_id: i64,
    code_hash: &str,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(used)
}

/// Records a successful sign-in.
pub async fn note_login(tx: &mut TenantTx, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET last_login_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Password accepted; the second factor is still due.
    SecondFactor,
    /// Signed in without a second factor yet: must enrol one before anything else.
    Enrolment,
    /// Fully signed in.
    Active,
}

impl SessionState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::SecondFactor => "second_factor",
            SessionState::Enrolment => "enrolment",
            SessionState::Active => "active",
        }
    }

    /// From the stored name (anything unknown is the least advanced state).
    pub fn parse(value: &str) -> SessionState {
        match value {
            "active" => SessionState::Active,
            "enrolment" => SessionState::Enrolment,
            _ => SessionState::SecondFactor,
        }
    }
}

/// A stored session (looked up by the hash of its id).
#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    /// Hash of the session id (the id itself is only in the cookie).
    pub id_hash: String,
    /// Whose.
    pub user_id: i64,
    /// How far sign-in got.
    pub state: SessionState,
    /// The token forms must echo.
    #[serde(skip)]
    pub csrf_token: String,
    /// Created, Unix milliseconds.
    pub created_at: i64,
    /// Last request.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// Last SMS step-up.
    pub step_up_at: Option<i64>,
    /// Client address at creation.
    pub ip: String,
    /// Client software at creation.
    pub user_agent: String,
}

type SessionRow = (
    String,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    String,
);

fn session_record(row: SessionRow) -> SessionRecord {
    let (
        id_hash,
        user_id,
        state,
        csrf_token,
        created_at,
        last_seen_at,
        expires_at,
        step_up_at,
        ip,
        user_agent,
    ) = row;
    SessionRecord {
        id_hash,
        user_id,
        state: SessionState::parse(&state),
        csrf_token,
        created_at,
        last_seen_at,
        expires_at,
        step_up_at,
        ip,
        user_agent,
    }
}

const SESSION_COLUMNS: &str = "SELECT id_hash, user_id, state, csrf_token, created_at, last_seen_at, expires_at, \
     step_up_at, ip, user_agent FROM sessions";

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Hash of the new id.
    pub id_hash: &'a str,
    /// Whose.
    pub user_id: i64,
    /// How far sign-in got.
    pub state: SessionState,
    /// Its CSRF token.
    pub csrf_token: &'a str,
    /// Absolute end, Unix milliseconds.
    pub expires_at: i64,
    /// Client address.
    pub ip: &'a str,
    /// Client software (truncated by the caller).
    pub user_agent: &'a str,
}

/// Stores a session in `tx`.
pub async fn create_session(tx: &mut TenantTx, new: NewSession<'_>) -> Result<(), StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, state, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)",
    )
    .bind(new.id_hash)
    .bind(new.user_id)
    .bind(new.state.as_str())
    .bind(new.csrf_token)
    .bind(now)
    .bind(new.expires_at)
    .bind(new.ip)
    .bind(new.user_agent)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A live session by the hash of its id: not past its absolute end, not idle for
/// longer than `idle_ms`, its person not disabled. Touches `last_seen_at` (at most
/// once a minute, so reads do not all become writes).
pub async fn find_session(
    db: &TenantDb,
    id_hash: &str,
    idle_ms: i64,
) -> Result<Option<SessionRecord>, StoreError> {
    let now = now_ms();
    let mut tx = db.read().await?;
    let row: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SESSION_COLUMNS} WHERE id_hash = $1 AND expires_at > $2 AND last_seen_at > $3 \
         AND user_id IN (SELECT id FROM users WHERE status <> 'disabled')"
    )))
    .bind(id_hash)
    .bind(now)
    .bind(now - idle_ms)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    let Some(session) = row.map(session_record) else {
        return Ok(None);
    };
    if now - session.last_seen_at > 60_000 {
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
    }
    Ok(Some(session))
}

/// Replaces a session's id (and CSRF token) and moves it to `state`: done at every
/// sign-in step so a planted id never becomes a signed-in one.
pub async fn rotate_session(
    tx: &mut TenantTx,
    old_id_hash: &str,
    new_id_hash: &str,
    new_csrf: &str,
    state: SessionState,
    step_up: bool,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let rotated = sqlx::query(
        "UPDATE sessions SET id_hash = $2, csrf_token = $3, state = $4, last_seen_at = $5, \
         step_up_at = CASE WHEN $6 = 1 THEN $5 ELSE step_up_at END WHERE id_hash = $1",
    )
    .bind(old_id_hash)
    .bind(new_id_hash)
    .bind(new_csrf)
    .bind(state.as_str())
    .bind(now)
    .bind(i64::from(step_up))
    .execute(tx.conn())
    .await?
    .rows_affected();
    Ok(rotated == 1)
}

/// Ends one session of a person (only their own).
pub async fn end_session(db: &TenantDb, user_id: i64, id_hash: &str) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let ended = sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND user_id = $2")
        .bind(id_hash)
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(ended == 1)
}

/// Ends every session of a person; returns how many.
pub async fn end_all_sessions(tx: &mut TenantTx, user_id: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected())
}

/// A person's live sessions, newest first.
pub async fn list_sessions(db: &TenantDb, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SESSION_COLUMNS} WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC"
    )))
    .bind(user_id)
    .bind(now_ms())
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(session_record).collect())
}

/// Creates the first MSP admin from an address-less invitation.
pub async fn create_admin_from_invitation(
    tx: &mut TenantTx,
    email: &str,
    role: Role,
) -> Result<i64, StoreError> {
    let now = now_ms();
    sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, status, created_at, updated_at) \
         VALUES ($1, '', $2, 'invited', $3, $3) RETURNING id",
    )
    .bind(email)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "user e-mail"))
}

/// What an administrative action did to a person.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct AccountChange {
    /// Sessions ended by it.
    pub sessions_ended: u64,
}

async fn admin_change(
    db: &TenantDb,
    user_id: i64,
    statement: Option<&'static str>,
    audit: crate::audit::AuditEntry,
) -> Result<AccountChange, StoreError> {
    let mut tx = db.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_none() {
        tx.rollback().await?;
        return Err(StoreError::NotFound("user"));
    }
    if let Some(statement) = statement {
        sqlx::query(statement)
            .bind(user_id)
            .bind(now_ms())
            .execute(tx.conn())
            .await?;
    }
    let sessions_ended = end_all_sessions(&mut tx, user_id).await?;
    tx.audit(crate::audit::AuditEntry {
        details: serde_json::json!({ "sessions_ended": sessions_ended, "details": audit.details }),
        ..audit
    })
    .await?;
    tx.commit().await?;
    Ok(AccountChange { sessions_ended })
}

/// Disables a person: they cannot sign in, and every session of theirs ends.
pub async fn disable_user(
    db: &TenantDb,
    user_id: i64,
    actor: &str,
) -> Result<AccountChange, StoreError> {
    let change = admin_change(
        db,
        user_id,
        Some("UPDATE users SET status = 'disabled', updated_at = $2 WHERE id = $1"),
        crate::audit::AuditEntry {
            actor: actor.to_owned(),
            action: "user.disabled",
            target: format!("user:{user_id}"),
            details: serde_json::json!({}),
        },
    )
    .await?;
    crate::policy::bump_policy_version(db.store(), db.id()).await?;
    Ok(change)
}

/// Removes a person's second factor (authenticator, recovery codes, phone): they
/// enrol again at their next sign-in. Their sessions end.
pub async fn reset_second_factor(
    db: &TenantDb,
    user_id: i64,
    actor: &str,
) -> Result<AccountChange, StoreError> {
    let change = admin_change(
        db,
        user_id,
        Some(
            "UPDATE users SET second_factor = NULL, totp_secret = NULL, totp_last_step = NULL, \
             phone = NULL, phone_verified_at = NULL, updated_at = $2 WHERE id = $1",
        ),
        crate::audit::AuditEntry {
            actor: actor.to_owned(),
            action: "auth.second_factor.reset",
            target: format!("user:{user_id}"),
            details: serde_json::json!({}),
        },
    )
    .await?;
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(change)
}

/// Ends every session of a person.
pub async fn revoke_sessions(
    db: &TenantDb,
    user_id: i64,
    actor: &str,
) -> Result<AccountChange, StoreError> {
    admin_change(
        db,
        user_id,
        None,
        crate::audit::AuditEntry {
            actor: actor.to_owned(),
            action: "auth.sessions.revoked",
            target: format!("user:{user_id}"),
            details: serde_json::json!({}),
        },
    )
    .await
}

/// Stores a new one-time code (hashed by the caller) for `purpose`, replacing any
/// earlier unused one of the same person and purpose.
pub async fn store_sms_code(
    db: &TenantDb,
    user_id: i64,
    purpose: &str,
    phone: &str,
    code_hash: &str,
    lifetime_ms: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sms_codes WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO sms_codes (user_id, purpose, phone, code_hash, expires_at, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(phone)
    .bind(code_hash)
    .bind(now + lifetime_ms)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// The outcome of checking a one-time code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code: it is used up; the phone it was sent to.
    Accepted {
        /// The number the code went to.
        phone: String,
    },
    /// Wrong code; attempts remain.
    Wrong,
    /// No usable code: none sent, expired, used, or too many wrong attempts.
    Unusable,
}

/// Checks a code (its hash) against the person's current one for `purpose`,
/// counting the attempt; at most `max_attempts` tries, then the code is dead.
pub async fn check_sms_code(
    db: &TenantDb,
    user_id: i64,
    purpose: &str,
    code_hash: &str,
    max_attempts: i64,
) -> Result<CodeCheck, StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let current: Option<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, phone, code_hash, attempts FROM sms_codes WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 ORDER BY id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, phone, stored, attempts)) = current else {
        tx.rollback().await?;
        return Ok(CodeCheck::Unusable);
    };
    if attempts >= max_attempts {
        tx.rollback().await?;
        return Ok(CodeCheck::Unusable);
    }
    let matches = stored.len() == code_hash.len()
        && stored
            .bytes()
            .zip(code_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    let outcome = if matches {
        sqlx::query("UPDATE sms_codes SET used_at = $2, attempts = attempts + 1 WHERE id = $1 AND used_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(tx.conn())
            .await?;
        CodeCheck::Accepted { phone }
    } else {
        sqlx::query("UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
        CodeCheck::Wrong
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The person's verified phone number, if any.
pub async fn verified_phone(db: &TenantDb, user_id: i64) -> Result<Option<String>, StoreError> {
    let mut tx = db.read().await?;
    let phone: Option<Option<String>> = sqlx::query_scalar(
        "SELECT phone FROM users WHERE id = $1 AND phone_verified_at IS NOT NULL",
    )
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(phone.flatten())
}

/// Saves a phone number as verified on the person (first step-up).
pub async fn save_verified_phone(
    tx: &mut TenantTx,
    user_id: i64,
    phone: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET phone = $2, phone_verified_at = $3, updated_at = $3 WHERE id = $1",
    )
    .bind(user_id)
    .bind(phone)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Removes a person's phone number (the MSP's way to reset SMS step-up): the next
/// sensitive action asks for a number again.
pub async fn remove_phone(db: &TenantDb, user_id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE users SET phone = NULL, phone_verified_at = NULL, updated_at = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if updated == 0 {
        tx.rollback().await?;
        return Err(StoreError::NotFound("user"));
    }
    tx.audit(crate::audit::AuditEntry {
        actor: actor.to_owned(),
        action: "auth.phone.removed",
        target: format!("user:{user_id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// Uses up a fresh step-up of a session: true at most once per step-up, and only
/// within `max_age_ms` of it.
pub async fn consume_step_up(
    db: &TenantDb,
    id_hash: &str,
    max_age_ms: i64,
) -> Result<bool, StoreError> {
    let mut tx = db.begin().await?;
    let used =
        sqlx::query("UPDATE sessions SET step_up_at = NULL WHERE id_hash = $1 AND step_up_at > $2")
            .bind(id_hash)
            .bind(now_ms() - max_age_ms)
            .execute(tx.conn())
            .await?
            .rows_affected()
            == 1;
    tx.commit().await?;
    Ok(used)
}

/// Reset links live one hour.
pub const RESET_LIFETIME_MS: i64 = 3600 * 1000;

/// Issues a single-use password-reset link for a person; returns the token.
pub async fn issue_password_reset(db: &TenantDb, user_id: i64) -> Result<String, StoreError> {
    let token = crate::tokens::random_token(32);
    let now = now_ms();
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(now + RESET_LIFETIME_MS)
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(token)
}

/// The person a valid, unused reset link belongs to.
pub async fn peek_password_reset(db: &TenantDb, token: &str) -> Result<Option<i64>, StoreError> {
    let mut tx = db.read().await?;
    let user: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(user)
}

/// Uses a reset link inside `tx`: one caller wins; returns the person.
pub async fn consume_password_reset(
    tx: &mut TenantTx,
    token: &str,
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING user_id",
    )
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?)
}

/// A tenant setting (JSON), if set.
pub async fn tenant_setting(
    db: &TenantDb,
    key: &str,
) -> Result<Option<serde_json::Value>, StoreError> {
    let mut tx = db.read().await?;
    let value: Option<String> =
        sqlx::query_scalar("SELECT value FROM tenant_settings WHERE key = $1")
            .bind(key)
            .fetch_optional(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
}

/// Stores tenant setting `key` as `value` (its JSON text) inside `tx`, unaudited:
/// the callers audit what the change means.
pub(crate) async fn put_setting(
    tx: &mut TenantTx,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tenant_settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Sets a tenant setting, audited as `actor`.
pub async fn set_tenant_setting(
    db: &TenantDb,
    key: &str,
    value: &serde_json::Value,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    put_setting(&mut tx, key, &value.to_string()).await?;
    tx.audit(crate::audit::AuditEntry {
        actor: actor.to_owned(),
        action: "setting.changed",
        target: format!("setting:{key}"),
        details: serde_json::json!({ "value": value }),
    })
    .await?;
    tx.commit().await
}

/// Records the kind of second factor a person enrolled (`totp` or `sms`).
pub async fn set_second_factor(
    tx: &mut TenantTx,
    user_id: i64,
    kind: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET second_factor = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(kind)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    Ok(())
}
