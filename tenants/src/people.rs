//! People of a tenant (staff and customer contacts) and their invitations. The
//! identity issue builds sign-in, passwords and second factors on these rows.

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::ids::{EmailAddress, Role};
use crate::outbox::NewEvent;
use crate::policy::Scope;
use crate::store::TenantDb;
use crate::tokens;

/// A person to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name, unique in the tenant.
    pub email: EmailAddress,
    /// Name shown to others.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
    /// Whether the `user.created` event asks subscribers to send the invitation e-mail.
    pub invite: bool,
    /// The customer organization of a contact or main contact.
    pub organization_id: Option<i64>,
}

/// A person of the tenant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Id, unique in the tenant.
    pub id: i64,
    /// Sign-in name.
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// `invited`, `active` or `disabled`.
    pub status: String,
    /// Preferred language tag.
    pub locale: String,
    /// The customer organization, for contacts.
    pub organization_id: Option<i64>,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}

impl User {
    /// The name shown to others: the display name, else the address.
    pub fn shown_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.email
        } else {
            &self.display_name
        }
    }
}

type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);

fn user(
    (id, email, display_name, role, status, locale, created_at, organization_id): UserRow,
) -> Result<User, StoreError> {
    Ok(User {
        id,
        email,
        display_name,
        role: Role::parse(&role)?,
        status,
        locale,
        created_at,
        organization_id,
    })
}

const USER_COLUMNS: &str =
    "SELECT id, email, display_name, role, status, locale, created_at, organization_id FROM users";

/// Creates a person in the `invited` state and records a `user.created` event
/// with it (the invitation e-mail is sent by the event's subscriber, which issues
/// the single-use link, so no usable token is ever stored in clear).
pub async fn create_user(db: &TenantDb, new: NewUser) -> Result<User, StoreError> {
    let display_name = new.display_name.trim().to_owned();
    if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "display_name",
            reason: "must be at most 200 printable characters".to_owned(),
        });
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (email, display_name, role, status, created_at, updated_at, organization_id) \
         VALUES ($1, $2, $3, 'invited', $4, $4, $5) \
         RETURNING id, email, display_name, role, status, locale, created_at, organization_id",
    )
    .bind(new.email.as_str())
    .bind(&display_name)
    .bind(new.role.as_str())
    .bind(now)
    .bind(new.organization_id)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "user e-mail"))?;
    let created = user(row)?;
    tx.emit(NewEvent {
        aggregate_type: "user",
        aggregate_id: created.id.to_string(),
        event_type: "user.created",
        payload: serde_json::json!({
            "user_id": created.id,
            "email": created.email,
            "role": created.role,
            "invite": new.invite,
        }),
    })
    .await?;
    tx.commit().await?;
    // A new person is a new role assignment.
    crate::policy::bump_policy_version(db.store(), db.id()).await?;
    Ok(created)
}

/// Issues a single-use invitation for a person, valid 72 hours, and returns the
/// token (stored only as a hash). Earlier invitations of the person stay valid
/// until used or expired.
pub async fn issue_invitation(db: &TenantDb, user_id: i64) -> Result<String, StoreError> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
    let role = role.ok_or(StoreError::NotFound("user"))?;
    let token = tokens::random_token(32);
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, role, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tokens::hash_token(&token))
    .bind(user_id)
    .bind(role)
    .bind(now + tokens::SETUP_TOKEN_LIFETIME_MS)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The people of the tenant within `scope`, by id.
pub async fn list_users(db: &TenantDb, scope: Scope) -> Result<Vec<User>, StoreError> {
    let (filter, value) = match scope {
        Scope::All => ("", None),
        Scope::Organization(Some(organization)) => {
            (" WHERE organization_id = $1", Some(organization))
        }
        Scope::Own(Some(user_id)) => (" WHERE id = $1", Some(user_id)),
        Scope::Organization(None) | Scope::Own(None) => return Ok(Vec::new()),
    };
    let mut tx = db.read().await?;
    let query = format!("{USER_COLUMNS}{filter} ORDER BY id");
    let mut statement = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(query));
    if let Some(value) = value {
        statement = statement.bind(value);
    }
    let rows = statement.fetch_all(tx.conn()).await?;
    tx.rollback().await?;
    rows.into_iter().map(user).collect()
}

/// One person by id, if within `scope` (otherwise not found, exactly like an id
/// that does not exist).
pub async fn get_user(db: &TenantDb, id: i64, scope: Scope) -> Result<User, StoreError> {
    let (filter, value) = match scope {
        Scope::All => ("", None),
        Scope::Organization(Some(organization)) => {
            (" AND organization_id = $2", Some(organization))
        }
        Scope::Own(Some(user_id)) => (" AND id = $2", Some(user_id)),
        Scope::Organization(None) | Scope::Own(None) => return Err(StoreError::NotFound("user")),
    };
    let mut tx = db.read().await?;
    let query = format!("{USER_COLUMNS} WHERE id = $1{filter}");
    let mut statement = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(query)).bind(id);
    if let Some(value) = value {
        statement = statement.bind(value);
    }
    let row = statement.fetch_optional(tx.conn()).await?;
    tx.rollback().await?;
    user(row.ok_or(StoreError::NotFound("user"))?)
}

/// While the tenant has no MSP admin, issues a fresh single-use invitation for its
/// first one (earlier unused ones stop working).
pub async fn first_admin_invitation(db: &TenantDb) -> Result<Option<String>, StoreError> {
    let mut tx = db.begin().await?;
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'msp_admin'")
        .fetch_one(tx.conn())
        .await?;
    if admins > 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let now = now_ms();
    sqlx::query("DELETE FROM invitations WHERE user_id IS NULL AND used_at IS NULL")
        .execute(tx.conn())
        .await?;
    let token = tokens::random_token(32);
    sqlx::query(
        "INSERT INTO invitations (token_hash, user_id, role, expires_at, created_at) VALUES ($1, NULL, 'msp_admin', $2, $3)",
    )
    .bind(tokens::hash_token(&token))
    .bind(now + tokens::SETUP_TOKEN_LIFETIME_MS)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Asks for a (new) invitation e-mail to a person who has not signed in yet; the
/// mail subscriber issues the link. Audited as `actor`.
pub async fn request_invitation(
    db: &TenantDb,
    user_id: i64,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await?;
    match status.as_deref() {
        None => return Err(StoreError::NotFound("user")),
        Some("invited") => {}
        Some(_) => {
            return Err(StoreError::Invalid {
                field: "user",
                reason: "has already accepted an invitation".to_owned(),
            });
        }
    }
    tx.emit(NewEvent {
        aggregate_type: "user",
        aggregate_id: user_id.to_string(),
        event_type: "user.invitation_requested",
        payload: serde_json::json!({ "user_id": user_id, "invite": true }),
    })
    .await?;
    tx.audit(crate::audit::AuditEntry {
        actor: actor.to_owned(),
        action: "user.invitation_requested",
        target: format!("user:{user_id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// Sets the language a person reads the portal and their e-mail in (a tag of a
/// language Portico speaks; the caller checks it).
pub async fn set_locale(db: &TenantDb, user_id: i64, locale: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE users SET locale = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(locale)
        .bind(crate::clock::now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound("user"));
    }
    tx.commit().await
}

/// Sets the time zone a person reads times in: an IANA name the caller checked, or
/// empty for the tenant's default.
pub async fn set_time_zone(db: &TenantDb, user_id: i64, zone: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE users SET time_zone = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(zone)
        .bind(crate::clock::now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(StoreError::NotFound("user"));
    }
    tx.commit().await
}

/// Gives a person another role, audited as `actor`: contacts and main contacts
/// keep (and need) their organization, staff have none; the tenant's last active
/// MSP admin keeps the role. Casbin sees the change at once (the policy version
/// moves), and the person's sessions are ended by the caller.
pub async fn set_role(
    db: &TenantDb,
    user_id: i64,
    role: Role,
    organization_id: Option<i64>,
    actor: &str,
) -> Result<User, StoreError> {
    let staff = matches!(role, Role::MspAdmin | Role::Technician);
    let organization_id = if staff { None } else { organization_id };
    if !staff && organization_id.is_none() {
        return Err(StoreError::Invalid {
            field: "organization",
            reason: "a contact or main contact belongs to an organization".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let current: Option<(String, String)> =
        sqlx::query_as("SELECT role, status FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((current_role, status)) = current else {
        return Err(StoreError::NotFound("user"));
    };
    if current_role == "msp_admin" && role != Role::MspAdmin && status != "disabled" {
        let admins: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE role = 'msp_admin' AND status <> 'disabled'",
        )
        .fetch_one(tx.conn())
        .await?;
        if admins <= 1 {
            return Err(StoreError::Invalid {
                field: "role",
                reason: "the last administrator keeps the role".to_owned(),
            });
        }
    }
    if let Some(organization) = organization_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1")
            .bind(organization)
            .fetch_optional(tx.conn())
            .await?;
        if exists.is_none() {
            return Err(StoreError::Invalid {
                field: "organization",
                reason: "is not an organization of this service desk".to_owned(),
            });
        }
    }
    sqlx::query("UPDATE users SET role = $2, organization_id = $3, updated_at = $4 WHERE id = $1")
        .bind(user_id)
        .bind(role.as_str())
        .bind(organization_id)
        .bind(crate::clock::now_ms())
        .execute(tx.conn())
        .await?;
    tx.audit(crate::audit::AuditEntry {
        actor: actor.to_owned(),
        action: "user.role_changed",
        target: format!("user:{user_id}"),
        details: serde_json::json!({
            "from": current_role,
            "to": role.as_str(),
            "organization_id": organization_id,
        }),
    })
    .await?;
    let row: UserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!("{USER_COLUMNS} WHERE id = $1")))
        .bind(user_id)
        .fetch_one(tx.conn())
        .await?;
    tx.commit().await?;
    crate::policy::bump_policy_version(db.store(), db.id()).await?;
    user(row)
}
