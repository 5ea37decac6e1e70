//! Canned responses: answers the MSP's team inserts into a reply, with
//! placeholders (`{requester}`, `{number}`, `{subject}`, `{me}`) filled in for the
//! ticket at hand. Shared by the tenant's staff; every change is audited.

use serde::Serialize;

use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::error::StoreError;
use crate::store::TenantDb;

/// The longest body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;

/// A canned response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CannedResponse {
    /// Id.
    pub id: i64,
    /// What it is called in the list (unique).
    pub title: String,
    /// Its text, placeholders included.
    pub body: String,
    /// Last changed, Unix milliseconds.
    pub updated_at: i64,
}

/// Every canned response, by title.
pub async fn list(db: &TenantDb) -> Result<Vec<CannedResponse>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, title, body, updated_at FROM canned_responses ORDER BY title, id",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, body, updated_at)| CannedResponse {
            id,
            title,
            body,
            updated_at,
        })
        .collect())
}

/// One canned response.
pub async fn get(db: &TenantDb, id: i64) -> Result<CannedResponse, StoreError> {
    list(db)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(StoreError::NotFound("canned response"))
}

fn check(title: &str, body: &str) -> Result<(), StoreError> {
    if title.is_empty() || title.chars().count() > 100 || title.chars().any(char::is_control) {
        return Err(StoreError::Invalid {
            field: "title",
            reason: "must be one line of 1 to 100 characters".to_owned(),
        });
    }
    if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
        return Err(StoreError::Invalid {
            field: "body",
            reason: format!("must be 1 to {MAX_BODY_CHARS} characters"),
        });
    }
    Ok(())
}

/// Adds a canned response by `author`, audited as `actor`.
pub async fn create(
    db: &TenantDb,
    title: &str,
    body: &str,
    author: i64,
    actor: &str,
) -> Result<CannedResponse, StoreError> {
    let title = title.trim();
    check(title, body)?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO canned_responses (title, body, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(title)
    .bind(body)
    .bind(author)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "canned response title"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "canned_response.created",
        target: format!("canned_response:{id}"),
        details: serde_json::json!({ "title": title }),
    })
    .await?;
    tx.commit().await?;
    Ok(CannedResponse {
        id,
        title: title.to_owned(),
        body: body.to_owned(),
        updated_at: now,
    })
}

/// Changes a canned response's title and text, audited.
pub async fn update(
    db: &TenantDb,
    id: i64,
    title: &str,
    body: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let title = title.trim();
    check(title, body)?;
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE canned_responses SET title = $2, body = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(body)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "canned response title"))?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("canned response"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "canned_response.changed",
        target: format!("canned_response:{id}"),
        details: serde_json::json!({ "title": title }),
    })
    .await?;
    tx.commit().await
}

/// Removes a canned response, audited.
pub async fn delete(db: &TenantDb, id: i64, actor: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let removed = sqlx::query("DELETE FROM canned_responses WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(StoreError::NotFound("canned response"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "canned_response.deleted",
        target: format!("canned_response:{id}"),
        details: serde_json::json!({}),
    })
    .await?;
    tx.commit().await
}

/// What the placeholders of a body stand for on one ticket.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'a> {
    /// `{requester}`: the requester's name (or address).
    pub requester: &'a str,
    /// `{number}`: the ticket's number.
    pub number: i64,
    /// `{subject}`: its subject.
    pub subject: &'a str,
    /// `{me}`: the technician using it.
    pub me: &'a str,
}

/// The body with its placeholders filled in, in one pass (a value that itself
/// reads like a placeholder is left as it is); unknown `{…}` stay as typed.
pub fn fill(body: &str, values: Placeholders<'_>) -> String {
    let number = values.number.to_string();
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find('}').map(|e| e + 1);
        let token = end.map(|e| &after[..e]);
        let value = match token {
            Some("{requester}") => Some(values.requester),
            Some("{number}") => Some(number.as_str()),
            Some("{subject}") => Some(values.subject),
            Some("{me}") => Some(values.me),
            _ => None,
        };
        match (value, end) {
            (Some(value), Some(end)) => {
                out.push_str(value);
                rest = &after[end..];
            }
            _ => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_unknown_ones_kept() {
        let values = Placeholders {
            requester: "Carla {me}",
            number: 1042,
            subject: "Printer",
            me: "Tess",
        };
        assert_eq!(
            fill(
                "Hello {requester}, about #{number} ({subject}): {unknown} {me} {",
                values
            ),
            "Hello Carla {me}, about #1042 (Printer): {unknown} Tess {"
        );
        assert_eq!(fill("", values), "");
        assert_eq!(fill("{{number}}", values), "{1042}");
        assert_eq!(fill("é{number}ü", values), "é1042ü");
    }
}
