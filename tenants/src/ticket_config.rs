//! What an MSP configures about its tickets: statuses (each mapped to one of the six
//! classes, flagged "visible to customers" and "pauses SLA"), queues with their
//! support level, custom fields (text, number, date, select, checkbox) and ticket
//! types, and what the portal shows of each field. Every change is audited; the
//! readers here are used inside the ticket transactions, so a change applies to the
//! next request at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::store::{TenantDb, TenantTx};
use crate::tickets::STATUS_CLASSES;

/// What the portal does with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldVisibility {
    /// Shown, and customers may change it.
    Editable,
    /// Shown, not changeable by customers (standard fields only).
    ReadOnly,
    /// Neither shown to customers nor accepted from them.
    Hidden,
}

/// The standard fields whose portal visibility an MSP sets, with their default.
pub const STANDARD_FIELDS: [(&str, FieldVisibility); 6] = [
    ("subject", FieldVisibility::ReadOnly),
    ("priority", FieldVisibility::Editable),
    ("type", FieldVisibility::Editable),
    ("device", FieldVisibility::Editable),
    ("assignee", FieldVisibility::ReadOnly),
    ("watchers", FieldVisibility::Editable),
];

/// The tenant setting holding the standard fields' visibility.
const PORTAL_FIELDS_SETTING: &str = "portal_fields";

/// The portal's view of every field.
#[derive(Debug, Clone, Default)]
pub struct PortalFields {
    standard: BTreeMap<String, FieldVisibility>,
    custom: BTreeMap<String, FieldVisibility>,
}

impl PortalFields {
    /// A standard field's visibility (its default unless the MSP changed it).
    pub fn standard(&self, name: &str) -> FieldVisibility {
        self.standard.get(name).copied().unwrap_or_else(|| {
            STANDARD_FIELDS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(FieldVisibility::Hidden, |(_, v)| *v)
        })
    }

    /// A custom field's visibility; an unknown field is hidden.
    pub fn custom(&self, key: &str) -> FieldVisibility {
        self.custom
            .get(key)
            .copied()
            .unwrap_or(FieldVisibility::Hidden)
    }

    /// Every standard field with its visibility.
    pub fn standard_fields(&self) -> Vec<(String, FieldVisibility)> {
        STANDARD_FIELDS
            .iter()
            .map(|(name, _)| ((*name).to_owned(), self.standard(name)))
            .collect()
    }
}

/// Reads the portal's field visibility inside `tx`.
pub async fn portal_fields(tx: &mut TenantTx) -> Result<PortalFields, StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT value FROM tenant_settings WHERE key = $1")
            .bind(PORTAL_FIELDS_SETTING)
            .fetch_optional(tx.conn())
            .await?;
    let standard = stored
        .and_then(|v| serde_json::from_str::<BTreeMap<String, FieldVisibility>>(&v).ok())
        .unwrap_or_default();
    let custom_rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, portal FROM ticket_fields")
            .fetch_all(tx.conn())
            .await?;
    let custom = custom_rows
        .into_iter()
        .map(|(key, portal)| {
            let visibility = if portal == "editable" {
                FieldVisibility::Editable
            } else {
                FieldVisibility::Hidden
            };
            (key, visibility)
        })
        .collect();
    Ok(PortalFields { standard, custom })
}

/// The portal's field visibility.
pub async fn read_portal_fields(db: &TenantDb) -> Result<PortalFields, StoreError> {
    let mut tx = db.read().await?;
    let fields = portal_fields(&mut tx).await;
    tx.rollback().await?;
    fields
}

/// Sets what the portal does with a standard field, audited.
pub async fn set_standard_visibility(
    db: &TenantDb,
    name: &str,
    visibility: FieldVisibility,
    actor: &str,
) -> Result<(), StoreError> {
    if !STANDARD_FIELDS.iter().any(|(n, _)| *n == name) {
        return Err(StoreError::NotFound("field"));
    }
    let mut tx = db.begin().await?;
    let mut fields = portal_fields(&mut tx).await?;
    fields.standard.insert(name.to_owned(), visibility);
    let value = serde_json::to_string(&fields.standard).map_err(|e| StoreError::Invalid {
        field: "visibility",
        reason: e.to_string(),
    })?;
    crate::accounts::put_setting(&mut tx, PORTAL_FIELDS_SETTING, &value).await?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_field.visibility_changed",
        target: format!("field:{name}"),
        details: serde_json::json!({ "visibility": visibility }),
    })
    .await?;
    tx.commit().await
}

/// A key of a status, queue, field or type: a lowercase letter, then up to 39
/// lowercase letters, digits or `_`.
pub(crate) fn validate_key(key: &str, field: &'static str) -> Result<(), StoreError> {
    let mut chars = key.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field,
            reason:
                "must be a lowercase letter followed by up to 39 lowercase letters, digits or '_'"
                    .to_owned(),
        })
    }
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.contains(['\r', '\n']) {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "must be one line of 1 to 100 characters".to_owned(),
        });
    }
    Ok(())
}

/// A status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow, utoipa::ToSchema)]
pub struct Status {
    /// Its key (`new`, `open`, … or the MSP's own).
    pub key: String,
    /// One of the six classes.
    pub class: String,
    /// Customers see it as itself (otherwise as its class).
    #[sqlx(try_from = "i64")]
    pub visible_to_customers: BoolInt,
    /// Time in it does not count towards the SLA.
    #[sqlx(try_from = "i64")]
    pub pauses_sla: BoolInt,
    /// Built in (cannot be changed in class).
    #[sqlx(try_from = "i64")]
    pub builtin: BoolInt,
    /// Order in lists.
    pub position: i64,
}

/// A boolean stored as 0/1 on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct BoolInt(pub bool);

impl From<i64> for BoolInt {
    fn from(value: i64) -> Self {
        BoolInt(value != 0)
    }
}

/// Every status, in order.
pub async fn statuses(db: &TenantDb) -> Result<Vec<Status>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<Status> = sqlx::query_as(
        "SELECT key, class, visible_to_customers, pauses_sla, builtin, position FROM ticket_statuses \
         ORDER BY position, id",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows)
}

/// An MSP-defined status to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    /// Its key.
    pub key: String,
    /// One of the six classes.
    pub class: String,
    /// Customers see it as itself.
    #[serde(default = "yes")]
    pub visible_to_customers: bool,
    /// Time in it does not count towards the SLA.
    #[serde(default)]
    pub pauses_sla: bool,
}

fn yes() -> bool {
    true
}

/// Adds an MSP-defined status, audited.
pub async fn create_status(
    db: &TenantDb,
    new: NewStatus,
    actor: &str,
) -> Result<Status, StoreError> {
    validate_key(&new.key, "key")?;
    if !STATUS_CLASSES.contains(&new.class.as_str()) {
        return Err(StoreError::Invalid {
            field: "class",
            reason: "must be new, open, waiting, paused, resolved or closed".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(position), 0) + 10 AS BIGINT) FROM ticket_statuses",
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO ticket_statuses (key, class, visible_to_customers, pauses_sla, position, builtin) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(&new.key)
    .bind(&new.class)
    .bind(i64::from(new.visible_to_customers))
    .bind(i64::from(new.pauses_sla))
    .bind(position)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "status"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_status.created",
        target: format!("status:{}", new.key),
        details: serde_json::json!({
            "class": new.class,
            "visible_to_customers": new.visible_to_customers,
            "pauses_sla": new.pauses_sla,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Status {
        key: new.key,
        class: new.class,
        visible_to_customers: BoolInt(new.visible_to_customers),
        pauses_sla: BoolInt(new.pauses_sla),
        builtin: BoolInt(false),
        position,
    })
}

/// Changes a status's flags (any status, built-in ones included), audited. Tickets
/// already in it keep their history; the SLA derived from it uses the flag each
/// history entry recorded.
pub async fn update_status(
    db: &TenantDb,
    key: &str,
    visible_to_customers: Option<bool>,
    pauses_sla: Option<bool>,
    actor: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE ticket_statuses SET visible_to_customers = COALESCE($2, visible_to_customers), \
         pauses_sla = COALESCE($3, pauses_sla) WHERE key = $1",
    )
    .bind(key)
    .bind(visible_to_customers.map(i64::from))
    .bind(pauses_sla.map(i64::from))
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("status"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_status.changed",
        target: format!("status:{key}"),
        details: serde_json::json!({
            "visible_to_customers": visible_to_customers,
            "pauses_sla": pauses_sla,
        }),
    })
    .await?;
    tx.commit().await
}

/// A queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow, utoipa::ToSchema)]
pub struct Queue {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Support level (1: first level, 2: second level, 3).
    pub level: i64,
}

/// Every queue.
pub async fn queues(db: &TenantDb) -> Result<Vec<Queue>, StoreError> {
    let mut tx = db.read().await?;
    let rows = sqlx::query_as("SELECT key, name, level FROM ticket_queues ORDER BY level, key")
        .fetch_all(tx.conn())
        .await?;
    tx.rollback().await?;
    Ok(rows)
}

/// Adds a queue, audited.
pub async fn create_queue(db: &TenantDb, queue: Queue, actor: &str) -> Result<Queue, StoreError> {
    validate_key(&queue.key, "key")?;
    validate_name(&queue.name)?;
    if !(1..=3).contains(&queue.level) {
        return Err(StoreError::Invalid {
            field: "level",
            reason: "must be 1, 2 or 3".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO ticket_queues (key, name, level, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&queue.key)
        .bind(queue.name.trim())
        .bind(queue.level)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_db(e, "queue"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_queue.created",
        target: format!("queue:{}", queue.key),
        details: serde_json::json!({ "name": queue.name.trim(), "level": queue.level }),
    })
    .await?;
    tx.commit().await?;
    Ok(queue)
}

pub(crate) async fn queue_id(tx: &mut TenantTx, key: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM ticket_queues WHERE key = $1")
        .bind(key)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| StoreError::Invalid {
            field: "queue",
            reason: "is not a queue of this service desk".to_owned(),
        })
}

/// A custom field.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Its key (the name in a ticket's `fields`).
    pub key: String,
    /// Its label.
    pub label: String,
    /// `text`, `number`, `date`, `select` or `checkbox`.
    pub kind: String,
    /// The choices of a `select`.
    #[serde(default)]
    pub options: Vec<String>,
    /// Must be given when a ticket is created.
    #[serde(default)]
    pub required: bool,
    /// `editable` or `hidden` in the portal.
    #[serde(default = "editable")]
    pub portal: FieldVisibility,
}

fn editable() -> FieldVisibility {
    FieldVisibility::Editable
}

const FIELD_KINDS: [&str; 5] = ["text", "number", "date", "select", "checkbox"];

type FieldRow = (String, String, String, String, i64, String);

fn field(row: FieldRow) -> Field {
    let (key, label, kind, options, required, portal) = row;
    Field {
        key,
        label,
        kind,
        options: serde_json::from_str(&options).unwrap_or_default(),
        required: required != 0,
        portal: if portal == "editable" {
            FieldVisibility::Editable
        } else {
            FieldVisibility::Hidden
        },
    }
}

async fn fields_in(tx: &mut TenantTx) -> Result<Vec<Field>, StoreError> {
    let rows: Vec<FieldRow> = sqlx::query_as(
        "SELECT key, label, kind, options, required, portal FROM ticket_fields ORDER BY position, id",
    )
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(field).collect())
}

/// Every custom field, in order.
pub async fn fields(db: &TenantDb) -> Result<Vec<Field>, StoreError> {
    let mut tx = db.read().await?;
    let out = fields_in(&mut tx).await;
    tx.rollback().await?;
    out
}

/// Adds a custom field, audited.
pub async fn create_field(db: &TenantDb, new: Field, actor: &str) -> Result<Field, StoreError> {
    validate_key(&new.key, "key")?;
    validate_name(&new.label).map_err(|_| StoreError::Invalid {
        field: "label",
        reason: "must be one line of 1 to 100 characters".to_owned(),
    })?;
    if !FIELD_KINDS.contains(&new.kind.as_str()) {
        return Err(StoreError::Invalid {
            field: "kind",
            reason: "must be text, number, date, select or checkbox".to_owned(),
        });
    }
    if new.kind == "select"
        && (new.options.is_empty()
            || new.options.len() > 100
            || new
                .options
                .iter()
                .any(|o| o.trim().is_empty() || o.len() > 100))
    {
        return Err(StoreError::Invalid {
            field: "options",
            reason: "a select needs 1 to 100 options of 1 to 100 characters".to_owned(),
        });
    }
    if new.portal == FieldVisibility::ReadOnly {
        return Err(StoreError::Invalid {
            field: "portal",
            reason: "a custom field is editable or hidden in the portal".to_owned(),
        });
    }
    let portal = if new.portal == FieldVisibility::Editable {
        "editable"
    } else {
        "hidden"
    };
    let mut tx = db.begin().await?;
    let position: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(position), 0) + 10 AS BIGINT) FROM ticket_fields",
    )
    .fetch_one(tx.conn())
    .await?;
    sqlx::query(
        "INSERT INTO ticket_fields (key, label, kind, options, required, portal, position, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&new.key)
    .bind(new.label.trim())
    .bind(&new.kind)
    .bind(serde_json::Value::from(new.options.clone()).to_string())
    .bind(i64::from(new.required))
    .bind(portal)
    .bind(position)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "field"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_field.created",
        target: format!("field:{}", new.key),
        details: serde_json::json!({ "kind": new.kind, "portal": portal }),
    })
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// Sets a custom field's portal visibility (`editable` or `hidden`), audited.
pub async fn set_field_visibility(
    db: &TenantDb,
    key: &str,
    visibility: FieldVisibility,
    actor: &str,
) -> Result<(), StoreError> {
    let portal = match visibility {
        FieldVisibility::Editable => "editable",
        FieldVisibility::Hidden => "hidden",
        FieldVisibility::ReadOnly => {
            return Err(StoreError::Invalid {
                field: "visibility",
                reason: "a custom field is editable or hidden in the portal".to_owned(),
            });
        }
    };
    let mut tx = db.begin().await?;
    let changed = sqlx::query("UPDATE ticket_fields SET portal = $2 WHERE key = $1")
        .bind(key)
        .bind(portal)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("field"));
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_field.visibility_changed",
        target: format!("field:{key}"),
        details: serde_json::json!({ "visibility": portal }),
    })
    .await?;
    tx.commit().await
}

fn check_value(field: &Field, value: &serde_json::Value) -> Result<(), StoreError> {
    let invalid = |reason: String| StoreError::Invalid {
        field: "fields",
        reason: format!("{}: {reason}", field.key),
    };
    match field.kind.as_str() {
        "text" => match value.as_str() {
            Some(text) if text.len() <= 10_000 => Ok(()),
            _ => Err(invalid("must be text of at most 10,000 bytes".to_owned())),
        },
        "number" => match value.as_f64() {
            Some(n) if n.is_finite() => Ok(()),
            _ => Err(invalid("must be a number".to_owned())),
        },
        "date" => {
            let ok = value.as_str().is_some_and(crate::time_entries::is_date);
            if ok {
                Ok(())
            } else {
                Err(invalid("must be a date as YYYY-MM-DD".to_owned()))
            }
        }
        "select" => match value.as_str() {
            Some(choice) if field.options.iter().any(|o| o == choice) => Ok(()),
            _ => Err(invalid(format!(
                "must be one of {}",
                field.options.join(", ")
            ))),
        },
        "checkbox" => {
            if value.is_boolean() {
                Ok(())
            } else {
                Err(invalid("must be true or false".to_owned()))
            }
        }
        _ => Err(invalid("has an unknown kind".to_owned())),
    }
}

/// Checks custom field values against their definitions and merges them into
/// `existing` (`null` removes a value). Without `existing` (a new ticket), required
/// fields must be present.
pub(crate) async fn validate_fields(
    tx: &mut TenantTx,
    values: &BTreeMap<String, serde_json::Value>,
    existing: Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    let defined = fields_in(tx).await?;
    let creating = existing.is_none();
    let mut out = existing.unwrap_or_default();
    for (key, value) in values {
        let Some(field) = defined.iter().find(|f| &f.key == key) else {
            return Err(StoreError::Invalid {
                field: "fields",
                reason: format!("{key} is not a field of this service desk"),
            });
        };
        if value.is_null() {
            out.remove(key);
            continue;
        }
        check_value(field, value)?;
        out.insert(key.clone(), value.clone());
    }
    if creating
        && let Some(missing) = defined
            .iter()
            .find(|f| f.required && !out.contains_key(&f.key))
    {
        return Err(StoreError::Invalid {
            field: "fields",
            reason: format!("{} is required", missing.key),
        });
    }
    Ok(out)
}

/// A ticket type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketType {
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Tickets of this type wait for the organization's approvers.
    #[serde(default)]
    pub requires_approval: bool,
    /// How many approvers must agree (one of them, or N of M).
    #[serde(default = "one")]
    pub approvals_needed: i64,
}

fn one() -> i64 {
    1
}

/// Every ticket type.
pub async fn types(db: &TenantDb) -> Result<Vec<TicketType>, StoreError> {
    let mut tx = db.read().await?;
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT key, name, requires_approval, approvals_needed FROM ticket_types ORDER BY key",
    )
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows
        .into_iter()
        .map(|(key, name, requires, needed)| TicketType {
            key,
            name,
            requires_approval: requires != 0,
            approvals_needed: needed,
        })
        .collect())
}

/// Adds a ticket type, audited.
pub async fn create_type(
    db: &TenantDb,
    new: TicketType,
    actor: &str,
) -> Result<TicketType, StoreError> {
    validate_key(&new.key, "key")?;
    validate_name(&new.name)?;
    if !(1..=20).contains(&new.approvals_needed) {
        return Err(StoreError::Invalid {
            field: "approvals_needed",
            reason: "must be 1 to 20".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO ticket_types (key, name, requires_approval, approvals_needed, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&new.key)
    .bind(new.name.trim())
    .bind(i64::from(new.requires_approval))
    .bind(new.approvals_needed)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_db(e, "type"))?;
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket_type.created",
        target: format!("type:{}", new.key),
        details: serde_json::json!({
            "requires_approval": new.requires_approval,
            "approvals_needed": new.approvals_needed,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(new)
}

pub(crate) async fn require_type(tx: &mut TenantTx, key: &str) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM ticket_types WHERE key = $1")
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
    found.map(|_| ()).ok_or_else(|| StoreError::Invalid {
        field: "type",
        reason: "is not a ticket type of this service desk".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(validate_key("on_site_visit", "key").is_ok());
        assert!(validate_key("a", "key").is_ok());
        for bad in ["", "1abc", "Abc", "a-b", "a b", &"a".repeat(41)] {
            assert!(validate_key(bad, "key").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        let field = |kind: &str| Field {
            key: "f".to_owned(),
            label: "F".to_owned(),
            kind: kind.to_owned(),
            options: vec!["a".to_owned(), "b".to_owned()],
            required: false,
            portal: FieldVisibility::Editable,
        };
        use serde_json::json;
        assert!(check_value(&field("text"), &json!("hello")).is_ok());
        assert!(check_value(&field("text"), &json!(3)).is_err());
        assert!(check_value(&field("number"), &json!(3.5)).is_ok());
        assert!(check_value(&field("number"), &json!("3")).is_err());
        assert!(check_value(&field("date"), &json!("2026-12-01")).is_ok());
        assert!(check_value(&field("date"), &json!("2026-13-01")).is_err());
        assert!(check_value(&field("date"), &json!("1 Dec")).is_err());
        assert!(check_value(&field("select"), &json!("b")).is_ok());
        assert!(check_value(&field("select"), &json!("c")).is_err());
        assert!(check_value(&field("checkbox"), &json!(true)).is_ok());
        assert!(check_value(&field("checkbox"), &json!("yes")).is_err());
    }

    #[test]
    fn standard_fields_default_and_unknown_fields_are_hidden() {
        let portal = PortalFields::default();
        assert_eq!(portal.standard("priority"), FieldVisibility::Editable);
        assert_eq!(portal.standard("subject"), FieldVisibility::ReadOnly);
        assert_eq!(portal.standard("nonsense"), FieldVisibility::Hidden);
        assert_eq!(portal.custom("anything"), FieldVisibility::Hidden);
    }
}
