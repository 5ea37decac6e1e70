//! Customer organizations of a tenant, their e-mail domains, and the lookup that
//! turns an unknown sender at a known domain into a contact of that organization.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::ids::{EmailAddress, Role};
use crate::people::{self, NewUser, User};
use crate::policy::Scope;
use crate::store::TenantDb;

/// A customer organization.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organization {
    /// Id, unique in the tenant.
    pub id: i64,
    /// Name, unique in the tenant.
    pub name: String,
    /// Its e-mail domains (lower case).
    pub domains: Vec<String>,
    /// Licensed modules (JSON list of module ids).
    pub licensed_modules: serde_json::Value,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
}

fn parse_domain(input: &str) -> Result<String, StoreError> {
    let domain = input.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(StoreError::Invalid {
            field: "domains",
            reason: format!("`{}` is not a domain name", input.trim()),
        })
    }
}

/// Creates an organization with its e-mail domains (each domain belongs to one
/// organization only), audited as `actor`.
pub async fn create_organization(
    db: &TenantDb,
    name: &str,
    domains: &[String],
    actor: &str,
) -> Result<Organization, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "must be 1 to 200 printable characters".to_owned(),
        });
    }
    let domains: Vec<String> = domains
        .iter()
        .map(|d| parse_domain(d))
        .collect::<Result<_, _>>()?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, licensed_modules, created_at, updated_at) VALUES ($1, '[]', $2, $2) RETURNING id",
    )
    .bind(name)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "organization name"))?;
    for domain in &domains {
        sqlx::query("INSERT INTO organization_domains (domain, organization_id) VALUES ($1, $2)")
            .bind(domain)
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::from_db(e, "organization domain"))?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "organization.created",
        target: format!("organization:{id}"),
        details: serde_json::json!({ "name": name, "domains": domains }),
    })
    .await?;
    tx.commit().await?;
    Ok(Organization {
        id,
        name: name.to_owned(),
        domains,
        licensed_modules: serde_json::json!([]),
        created_at: now,
    })
}

/// Replaces an organization's e-mail domains (each belongs to one organization
/// only: another's is a conflict), audited as `actor`.
pub async fn set_domains(
    db: &TenantDb,
    organization_id: i64,
    domains: &[String],
    actor: &str,
) -> Result<Vec<String>, StoreError> {
    let mut domains: Vec<String> = domains
        .iter()
        .map(|d| parse_domain(d))
        .collect::<Result<_, _>>()?;
    domains.sort();
    domains.dedup();
    let mut tx = db.begin().await?;
    let changed = sqlx::query("UPDATE organizations SET updated_at = $2 WHERE id = $1")
        .bind(organization_id)
        .bind(now_ms())
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("organization"));
    }
    sqlx::query("DELETE FROM organization_domains WHERE organization_id = $1")
        .bind(organization_id)
        .execute(tx.conn())
        .await?;
    for domain in &domains {
        sqlx::query("INSERT INTO organization_domains (domain, organization_id) VALUES ($1, $2)")
            .bind(domain)
            .bind(organization_id)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::from_db(e, "organization domain"))?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "organization.domains_set",
        target: format!("organization:{organization_id}"),
        details: serde_json::json!({ "domains": domains }),
    })
    .await?;
    tx.commit().await?;
    Ok(domains)
}

/// The organizations within `scope`, by name.
pub async fn list_organizations(
    db: &TenantDb,
    scope: Scope,
) -> Result<Vec<Organization>, StoreError> {
    let only = match scope {
        Scope::All => None,
        Scope::Organization(Some(id)) => Some(id),
        Scope::Organization(None) | Scope::Own(_) => return Ok(Vec::new()),
    };
    let mut tx = db.read().await?;
    let rows: Vec<(i64, String, String, i64)> =
        match only {
            None => sqlx::query_as(
                "SELECT id, name, licensed_modules, created_at FROM organizations ORDER BY name",
            )
            .fetch_all(tx.conn())
            .await?,
            Some(id) => sqlx::query_as(
                "SELECT id, name, licensed_modules, created_at FROM organizations WHERE id = $1",
            )
            .bind(id)
            .fetch_all(tx.conn())
            .await?,
        };
    let domains: Vec<(String, i64)> =
        sqlx::query_as("SELECT domain, organization_id FROM organization_domains ORDER BY domain")
            .fetch_all(tx.conn())
            .await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, modules, created_at)| Organization {
            id,
            name,
            domains: domains
                .iter()
                .filter(|(_, org)| *org == id)
                .map(|(d, _)| d.clone())
                .collect(),
            licensed_modules: serde_json::from_str(&modules).unwrap_or(serde_json::json!([])),
            created_at,
        })
        .collect())
}

/// The contact for an e-mail address: the existing person with that address, or —
/// when the address's domain belongs to an organization — a new contact of that
/// organization (not invited; the e-mail and agent channels decide what to send).
/// `None` for an unknown person at an unknown domain.
pub async fn contact_for_email(
    db: &TenantDb,
    email: &EmailAddress,
) -> Result<Option<User>, StoreError> {
    let existing: Option<i64> = {
        let mut tx = db.read().await?;
        let id = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(tx.conn())
            .await?;
        tx.rollback().await?;
        id
    };
    if let Some(id) = existing {
        return people::get_user(db, id, Scope::All).await.map(Some);
    }
    let domain = email.as_str().rsplit('@').next().unwrap_or("");
    let organization: Option<i64> = {
        let mut tx = db.read().await?;
        let id = sqlx::query_scalar(
            "SELECT organization_id FROM organization_domains WHERE domain = $1",
        )
        .bind(domain)
        .fetch_optional(tx.conn())
        .await?;
        tx.rollback().await?;
        id
    };
    let Some(organization_id) = organization else {
        return Ok(None);
    };
    let created = people::create_user(
        db,
        NewUser {
            email: email.clone(),
            display_name: String::new(),
            role: Role::Contact,
            invite: false,
            organization_id: Some(organization_id),
        },
    )
    .await;
    match created {
        Ok(user) => Ok(Some(user)),
        // Created meanwhile by a concurrent message from the same sender.
        Err(StoreError::Conflict(_)) => {
            let mut tx = db.read().await?;
            let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email.as_str())
                .fetch_one(tx.conn())
                .await?;
            tx.rollback().await?;
            people::get_user(db, id, Scope::All).await.map(Some)
        }
        Err(error) => Err(error),
    }
}

/// A colleague's account requested by a customer's responsible person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountRequest {
    /// Id.
    pub id: i64,
    /// The organization the account is for.
    pub organization_id: i64,
    /// The main contact who asked.
    pub requested_by: i64,
    /// The colleague's address.
    pub email: String,
    /// The colleague's name.
    pub display_name: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When it was asked, Unix milliseconds.
    pub created_at: i64,
}

type RequestRow = (i64, i64, i64, String, String, String, Option<String>, i64);

fn request(
    (id, organization_id, requested_by, email, display_name, status, reason, created_at): RequestRow,
) -> AccountRequest {
    AccountRequest {
        id,
        organization_id,
        requested_by,
        email,
        display_name,
        status,
        reason,
        created_at,
    }
}

const REQUEST_COLUMNS: &str = "SELECT id, organization_id, requested_by, email, display_name, status, reason, created_at FROM account_requests";

/// Records a request of `requested_by` (a main contact of `organization_id`).
pub async fn request_account(
    db: &TenantDb,
    organization_id: i64,
    requested_by: i64,
    email: &EmailAddress,
    display_name: &str,
) -> Result<AccountRequest, StoreError> {
    let display_name = display_name.trim();
    if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "display_name",
            reason: "must be at most 200 printable characters".to_owned(),
        });
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO account_requests (organization_id, requested_by, email, display_name, status, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id",
    )
    .bind(organization_id)
    .bind(requested_by)
    .bind(email.as_str())
    .bind(display_name)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    tx.audit(AuditEntry {
        actor: format!("user:{requested_by}"),
        action: "user.account_requested",
        target: format!("account_request:{id}"),
        details: serde_json::json!({ "email": email.as_str(), "organization_id": organization_id }),
    })
    .await?;
    tx.commit().await?;
    Ok(AccountRequest {
        id,
        organization_id,
        requested_by,
        email: email.as_str().to_owned(),
        display_name: display_name.to_owned(),
        status: "pending".to_owned(),
        reason: None,
        created_at: now,
    })
}

/// The requests within `scope` (organization scope: that organization's), newest first.
pub async fn list_account_requests(
    db: &TenantDb,
    scope: Scope,
) -> Result<Vec<AccountRequest>, StoreError> {
    let only = match scope {
        Scope::All => None,
        Scope::Organization(Some(id)) => Some(id),
        Scope::Organization(None) | Scope::Own(_) => return Ok(Vec::new()),
    };
    let mut tx = db.read().await?;
    let rows: Vec<RequestRow> = match only {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{REQUEST_COLUMNS} ORDER BY id DESC"
            )))
            .fetch_all(tx.conn())
            .await?
        }
        Some(id) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{REQUEST_COLUMNS} WHERE organization_id = $1 ORDER BY id DESC"
            )))
            .bind(id)
            .fetch_all(tx.conn())
            .await?
        }
    };
    tx.rollback().await?;
    Ok(rows.into_iter().map(request).collect())
}

/// Approves (creating the contact, invited) or rejects a pending request, audited
/// as `actor`; a decided request cannot be decided again.
pub async fn decide_account_request(
    db: &TenantDb,
    id: i64,
    approve: bool,
    reason: Option<&str>,
    actor: &str,
) -> Result<AccountRequest, StoreError> {
    let mut tx = db.begin().await?;
    let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REQUEST_COLUMNS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(found) = row.map(request) else {
        tx.rollback().await?;
        return Err(StoreError::NotFound("account request"));
    };
    if found.status != "pending" {
        tx.rollback().await?;
        return Err(StoreError::Conflict("decision"));
    }
    let status = if approve { "approved" } else { "rejected" };
    sqlx::query("UPDATE account_requests SET status = $2, decided_by = $3, decided_at = $4, reason = $5 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(actor)
        .bind(now_ms())
        .bind(reason)
        .execute(tx.conn())
        .await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: if approve {
            "user.account_request.approved"
        } else {
            "user.account_request.rejected"
        },
        target: format!("account_request:{id}"),
        details: serde_json::json!({ "email": found.email, "reason": reason }),
    })
    .await?;
    tx.commit().await?;
    if approve {
        people::create_user(
            db,
            NewUser {
                email: EmailAddress::parse(&found.email)?,
                display_name: found.display_name.clone(),
                role: Role::Contact,
                invite: true,
                organization_id: Some(found.organization_id),
            },
        )
        .await?;
    }
    Ok(AccountRequest {
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
        ..found
    })
}
