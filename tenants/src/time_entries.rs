//! Time entries on tickets: who worked how long on which day, billable or not, with
//! a note. An entry is locked once marked invoiced: it can then be neither changed
//! nor removed, and marking it again is refused.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::store::TenantDb;
use crate::tickets::{self, Reader};

/// A time entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TimeEntry {
    /// Its id.
    pub id: i64,
    /// The ticket's number.
    pub ticket: i64,
    /// Who worked.
    pub technician_id: i64,
    /// Minutes worked (1 to 1440).
    pub minutes: i64,
    /// Billed to the customer.
    pub billable: bool,
    /// What was done.
    pub note: String,
    /// The day, `YYYY-MM-DD`.
    pub work_date: String,
    /// When it was marked invoiced (then it is locked).
    pub invoiced_at: Option<i64>,
    /// Created.
    pub created_at: i64,
}

/// A time entry to record or the values to change.
#[derive(Debug, Clone)]
pub struct NewTimeEntry {
    /// Who worked.
    pub technician_id: i64,
    /// Minutes worked (1 to 1440).
    pub minutes: i64,
    /// Billed to the customer.
    pub billable: bool,
    /// What was done (up to 10,000 bytes).
    pub note: String,
    /// The day, `YYYY-MM-DD`.
    pub work_date: String,
}

/// Whether `date` is a real calendar date written `YYYY-MM-DD`.
pub fn is_date(date: &str) -> bool {
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        date[0..4].parse::<i32>(),
        date[5..7].parse::<u32>(),
        date[8..10].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

impl NewTimeEntry {
    fn validate(&self) -> Result<(), StoreError> {
        if !(1..=1440).contains(&self.minutes) {
            return Err(StoreError::Invalid {
                field: "minutes",
                reason: "must be 1 to 1440".to_owned(),
            });
        }
        if self.note.len() > 10_000 {
            return Err(StoreError::Invalid {
                field: "note",
                reason: "must be at most 10,000 bytes".to_owned(),
            });
        }
        if !is_date(&self.work_date) {
            return Err(StoreError::Invalid {
                field: "work_date",
                reason: "must be a date as YYYY-MM-DD".to_owned(),
            });
        }
        Ok(())
    }
}

type EntryRow = (i64, i64, i64, i64, i64, String, String, Option<i64>, i64);

fn entry(row: EntryRow) -> TimeEntry {
    let (id, ticket, technician_id, minutes, billable, note, work_date, invoiced_at, created_at) =
        row;
    TimeEntry {
        id,
        ticket,
        technician_id,
        minutes,
        billable: billable != 0,
        note,
        work_date,
        invoiced_at,
        created_at,
    }
}

const ENTRY_COLUMNS: &str = "SELECT e.id, t.number, e.technician_id, e.minutes, e.billable, e.note, e.work_date, \
     e.invoiced_at, e.created_at FROM ticket_time_entries e JOIN tickets t ON t.id = e.ticket_id";

/// Records time on ticket `number` (within `reader`'s scope; staff only).
pub async fn add(
    db: &TenantDb,
    number: i64,
    new: NewTimeEntry,
    actor: &str,
    reader: Reader,
) -> Result<TimeEntry, StoreError> {
    new.validate()?;
    if !reader.staff {
        return Err(StoreError::NotFound("ticket"));
    }
    let mut tx = db.begin().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    tickets::ensure_workable(&ticket)?;
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(new.technician_id)
        .fetch_optional(tx.conn())
        .await?;
    if !matches!(role.as_deref(), Some("technician" | "msp_admin")) {
        return Err(StoreError::Invalid {
            field: "technician_id",
            reason: "must be a technician or MSP admin".to_owned(),
        });
    }
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_time_entries (ticket_id, technician_id, minutes, billable, note, work_date, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(ticket.id)
    .bind(new.technician_id)
    .bind(new.minutes)
    .bind(i64::from(new.billable))
    .bind(&new.note)
    .bind(&new.work_date)
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.time_added",
        payload: serde_json::json!({
            "number": number,
            "entry": id,
            "minutes": new.minutes,
            "billable": new.billable,
            "technician_id": new.technician_id,
            "actor": actor,
        }),
    })
    .await?;
    tx.commit().await?;
    get(db, number, id, reader).await
}

/// One entry of ticket `number`.
pub async fn get(
    db: &TenantDb,
    number: i64,
    id: i64,
    reader: Reader,
) -> Result<TimeEntry, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let row: Option<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ENTRY_COLUMNS} WHERE e.ticket_id = $1 AND e.id = $2"
    )))
    .bind(ticket.id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    row.map(entry).ok_or(StoreError::NotFound("time entry"))
}

/// The entries of ticket `number`, oldest first.
pub async fn list(
    db: &TenantDb,
    number: i64,
    reader: Reader,
) -> Result<Vec<TimeEntry>, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ENTRY_COLUMNS} WHERE e.ticket_id = $1 ORDER BY e.work_date, e.id"
    )))
    .bind(ticket.id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(rows.into_iter().map(entry).collect())
}

fn locked() -> StoreError {
    StoreError::Refused {
        code: "time_entry_invoiced",
        reason: "this time entry was invoiced and is locked".to_owned(),
    }
}

/// Changes an entry that is not invoiced yet, audited.
pub async fn update(
    db: &TenantDb,
    number: i64,
    id: i64,
    change: NewTimeEntry,
    actor: &str,
    reader: Reader,
) -> Result<TimeEntry, StoreError> {
    change.validate()?;
    let current = get(db, number, id, reader).await?;
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE ticket_time_entries SET minutes = $2, billable = $3, note = $4, work_date = $5, \
         technician_id = $6, updated_at = $7 WHERE id = $1 AND invoiced_at IS NULL",
    )
    .bind(current.id)
    .bind(change.minutes)
    .bind(i64::from(change.billable))
    .bind(&change.note)
    .bind(&change.work_date)
    .bind(change.technician_id)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(locked());
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "time_entry.changed",
        target: format!("ticket:{number}/time:{id}"),
        details: serde_json::json!({
            "minutes": [current.minutes, change.minutes],
            "billable": [current.billable, change.billable],
        }),
    })
    .await?;
    tx.commit().await?;
    get(db, number, id, reader).await
}

/// Removes an entry that is not invoiced yet, audited.
pub async fn remove(
    db: &TenantDb,
    number: i64,
    id: i64,
    actor: &str,
    reader: Reader,
) -> Result<(), StoreError> {
    let current = get(db, number, id, reader).await?;
    let mut tx = db.begin().await?;
    let removed =
        sqlx::query("DELETE FROM ticket_time_entries WHERE id = $1 AND invoiced_at IS NULL")
            .bind(current.id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(locked());
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "time_entry.removed",
        target: format!("ticket:{number}/time:{id}"),
        details: serde_json::json!({ "minutes": current.minutes, "billable": current.billable }),
    })
    .await?;
    tx.commit().await
}

/// Marks an entry invoiced, which locks it; audited.
pub async fn mark_invoiced(
    db: &TenantDb,
    number: i64,
    id: i64,
    actor: &str,
    reader: Reader,
) -> Result<TimeEntry, StoreError> {
    let current = get(db, number, id, reader).await?;
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE ticket_time_entries SET invoiced_at = $2, updated_at = $2 WHERE id = $1 AND invoiced_at IS NULL",
    )
    .bind(current.id)
    .bind(now_ms())
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(locked());
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "time_entry.invoiced",
        target: format!("ticket:{number}/time:{id}"),
        details: serde_json::json!({ "minutes": current.minutes }),
    })
    .await?;
    tx.commit().await?;
    get(db, number, id, reader).await
}

#[cfg(test)]
mod tests {
    use super::is_date;

    #[test]
    fn dates_are_real_calendar_dates() {
        for good in ["2026-12-01", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-1-01",
            "26-12-01",
            "2026/12/01",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
