//! Satisfaction and service quality: the requester rates a resolved ticket (1 to 5,
//! with a comment; a low rating is an event the team is told of), and the reports per
//! organization and period — tickets opened and closed, first-response and
//! resolution times, SLA compliance, ratings, time spent billable and not — that the
//! MSP and an organization's main contacts read, as JSON or CSV.

use serde::Serialize;

use crate::StoreError;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::policy::Scope;
use crate::store::TenantDb;
use crate::tickets::{self, Reader};

/// Ratings at or below this are low: the team is told.
pub const LOW_RATING: i64 = 2;

/// A ticket's rating.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Rating {
    /// 1 (bad) to 5 (excellent).
    pub rating: i64,
    /// What the requester wrote.
    pub comment: String,
    /// Who rated.
    pub rater_id: i64,
    /// When (last changed).
    pub updated_at: i64,
}

/// Records (or changes) the rating of ticket `number` by `rater_id`, who must be its
/// requester; only a resolved or closed ticket is rated. A low rating emits
/// `ticket.rated_low` beside `ticket.rated`.
pub async fn rate(
    db: &TenantDb,
    number: i64,
    rater_id: i64,
    rating: i64,
    comment: &str,
    reader: Reader,
) -> Result<Rating, StoreError> {
    if !(1..=5).contains(&rating) {
        return Err(StoreError::Invalid {
            field: "rating",
            reason: "must be 1 to 5".to_owned(),
        });
    }
    if comment.len() > 5_000 {
        return Err(StoreError::Invalid {
            field: "comment",
            reason: "must be at most 5,000 bytes".to_owned(),
        });
    }
    let mut tx = db.begin().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    if ticket.requester_id != rater_id {
        return Err(StoreError::Refused {
            code: "only_the_requester_rates",
            reason: "only the person who asked rates the answer".to_owned(),
        });
    }
    if !matches!(ticket.status_class.as_str(), "resolved" | "closed") {
        return Err(StoreError::Refused {
            code: "ticket_not_resolved",
            reason: "a ticket is rated once it is resolved".to_owned(),
        });
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO ticket_ratings (ticket_id, rater_id, rating, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (ticket_id) DO UPDATE SET rating = excluded.rating, \
         comment = excluded.comment, updated_at = excluded.updated_at",
    )
    .bind(ticket.id)
    .bind(rater_id)
    .bind(rating)
    .bind(comment.trim())
    .bind(now)
    .execute(tx.conn())
    .await?;
    let payload = serde_json::json!({
        "number": number,
        "rating": rating,
        "comment": comment.trim(),
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
    });
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.rated",
        payload: payload.clone(),
    })
    .await?;
    if rating <= LOW_RATING {
        tx.emit(NewEvent {
            aggregate_type: "ticket",
            aggregate_id: number.to_string(),
            event_type: "ticket.rated_low",
            payload,
        })
        .await?;
    }
    tx.commit().await?;
    Ok(Rating {
        rating,
        comment: comment.trim().to_owned(),
        rater_id,
        updated_at: now,
    })
}

/// The rating of ticket `number`, if any.
pub async fn rating(
    db: &TenantDb,
    number: i64,
    reader: Reader,
) -> Result<Option<Rating>, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT rating, comment, rater_id, updated_at FROM ticket_ratings WHERE ticket_id = $1",
    )
    .bind(ticket.id)
    .fetch_optional(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(row.map(|(rating, comment, rater_id, updated_at)| Rating {
        rating,
        comment,
        rater_id,
        updated_at,
    }))
}

/// A service-quality report for one organization (or all) over `[from, to)`.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ServiceReport {
    /// The organization, or none for every ticket in the reader's scope.
    pub organization_id: Option<i64>,
    /// Start, Unix milliseconds (inclusive).
    pub from: i64,
    /// End, Unix milliseconds (exclusive).
    pub to: i64,
    /// Tickets opened in the period.
    pub opened: i64,
    /// Tickets closed in the period.
    pub closed: i64,
    /// Tickets resolved in the period (their last resolution).
    pub resolved: i64,
    /// Mean minutes from opening to the first public staff answer, of tickets
    /// opened in the period that have one.
    pub mean_first_response_minutes: Option<f64>,
    /// Mean minutes from opening to resolution, of tickets resolved in the period.
    pub mean_resolution_minutes: Option<f64>,
    /// Tickets resolved in the period under an SLA policy.
    pub sla_tickets: i64,
    /// Of those, how many never missed a target.
    pub sla_met: i64,
    /// `sla_met / sla_tickets` in percent.
    pub sla_compliance_percent: Option<f64>,
    /// Ratings given in the period.
    pub ratings: i64,
    /// Their mean.
    pub mean_rating: Option<f64>,
    /// How many low ratings (at or below [`LOW_RATING`]).
    pub low_ratings: i64,
    /// Minutes of work dated in the period, billable.
    pub billable_minutes: i64,
    /// Minutes of work dated in the period, not billable.
    pub non_billable_minutes: i64,
}

/// The first millisecond (UTC) of a `YYYY-MM-DD` day.
pub fn day_start_ms(date: &str) -> Option<i64> {
    if !crate::time_entries::is_date(date) {
        return None;
    }
    let y: i64 = date[0..4].parse().ok()?;
    let m: i64 = date[5..7].parse().ok()?;
    let d: i64 = date[8..10].parse().ok()?;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

/// The UTC day (`YYYY-MM-DD`) of a time in Unix milliseconds.
pub fn day_of(ms: i64) -> String {
    // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// The report for `organization` (or every ticket of the scope) over `[from, to)`,
/// within `scope`: a main contact's report is always their organization's.
pub async fn service_report(
    db: &TenantDb,
    scope: Scope,
    organization: Option<i64>,
    from: i64,
    to: i64,
) -> Result<ServiceReport, StoreError> {
    if to <= from {
        return Err(StoreError::Invalid {
            field: "to",
            reason: "must be after from".to_owned(),
        });
    }
    let organization = match scope {
        Scope::All => organization,
        Scope::Organization(Some(own)) => match organization {
            Some(asked) if asked != own => return Err(StoreError::NotFound("organization")),
            _ => Some(own),
        },
        Scope::Organization(None) | Scope::Own(_) => {
            return Err(StoreError::NotFound("organization"));
        }
    };
    let (filter, bind_org) = match organization {
        Some(_) => (" AND t.organization_id = $3", true),
        None => ("", false),
    };
    let mut tx = db.read().await?;
    macro_rules! scalar {
        ($ty:ty, $sql:expr) => {{
            let mut query =
                sqlx::query_scalar::<_, $ty>(sqlx::AssertSqlSafe(format!($sql, filter = filter)))
                    .bind(from)
                    .bind(to);
            if bind_org {
                query = query.bind(organization);
            }
            query.fetch_one(tx.conn()).await?
        }};
    }
    let opened: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM tickets t WHERE t.created_at >= $1 AND t.created_at < $2{filter}"
    );
    let closed: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM tickets t WHERE t.closed_at >= $1 AND t.closed_at < $2{filter}"
    );
    let resolved: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM tickets t WHERE t.resolved_at >= $1 AND t.resolved_at < $2{filter}"
    );
    let first_response: Option<f64> = scalar!(
        Option<f64>,
        "SELECT CAST(AVG(t.first_response_at - t.created_at) AS DOUBLE PRECISION) / 60000.0 FROM tickets t \
         WHERE t.created_at >= $1 AND t.created_at < $2 AND t.first_response_at IS NOT NULL{filter}"
    );
    let resolution: Option<f64> = scalar!(
        Option<f64>,
        "SELECT CAST(AVG(t.resolved_at - t.created_at) AS DOUBLE PRECISION) / 60000.0 FROM tickets t \
         WHERE t.resolved_at >= $1 AND t.resolved_at < $2{filter}"
    );
    let sla_tickets: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM tickets t WHERE t.resolved_at >= $1 AND t.resolved_at < $2 \
         AND t.sla_state IS NOT NULL{filter}"
    );
    let sla_met: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM tickets t WHERE t.resolved_at >= $1 AND t.resolved_at < $2 \
         AND t.sla_state IS NOT NULL AND t.sla_breached_at IS NULL{filter}"
    );
    // Ratings and time entries are read from their own date ranges first (CROSS
    // JOIN keeps SQLite's planner from walking every ticket of the organization).
    let ratings: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM ticket_ratings r CROSS JOIN tickets t \
         WHERE t.id = r.ticket_id AND r.updated_at >= $1 AND r.updated_at < $2{filter}"
    );
    let mean_rating: Option<f64> = scalar!(
        Option<f64>,
        "SELECT CAST(AVG(r.rating) AS DOUBLE PRECISION) FROM ticket_ratings r CROSS JOIN tickets t \
         WHERE t.id = r.ticket_id AND r.updated_at >= $1 AND r.updated_at < $2{filter}"
    );
    let low_ratings: i64 = scalar!(
        i64,
        "SELECT COUNT(*) FROM ticket_ratings r CROSS JOIN tickets t \
         WHERE t.id = r.ticket_id AND r.updated_at >= $1 AND r.updated_at < $2 AND r.rating <= 2{filter}"
    );
    // Time entries are dated by day: the days of [from, to).
    let (first_day, last_day) = (day_of(from), day_of(to - 1));
    let mut minutes = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN e.billable = 0 THEN e.minutes ELSE 0 END), 0) AS BIGINT) \
         FROM ticket_time_entries e CROSS JOIN tickets t \
         WHERE t.id = e.ticket_id AND e.work_date >= $1 AND e.work_date <= $2{filter}"
    )))
    .bind(first_day)
    .bind(last_day);
    if bind_org {
        minutes = minutes.bind(organization);
    }
    let (billable_minutes, non_billable_minutes) = minutes.fetch_one(tx.conn()).await?;
    tx.rollback().await?;
    Ok(ServiceReport {
        organization_id: organization,
        from,
        to,
        opened,
        closed,
        resolved,
        mean_first_response_minutes: first_response,
        mean_resolution_minutes: resolution,
        sla_tickets,
        sla_met,
        sla_compliance_percent: (sla_tickets > 0)
            .then(|| sla_met as f64 * 100.0 / sla_tickets as f64),
        ratings,
        mean_rating,
        low_ratings,
        billable_minutes,
        non_billable_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::{day_of, day_start_ms};

    #[test]
    fn days_round_trip() {
        for date in [
            "1970-01-01",
            "2000-02-29",
            "2024-02-29",
            "2026-12-31",
            "1999-03-01",
        ] {
            let ms = day_start_ms(date).expect("a date");
            assert_eq!(day_of(ms), date);
            assert_eq!(day_of(ms - 1), day_of(ms - 86_400_000));
        }
        assert_eq!(day_start_ms("2026-12-01"), Some(1_796_083_200_000));
        assert_eq!(day_start_ms("2026-02-30"), None);
    }

    #[test]
    fn civil_dates_are_right_across_leap_years() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_798_675_200_000), "2026-12-31");
        assert_eq!(day_of(1_798_761_599_999), "2026-12-31");
        assert_eq!(day_of(1_709_164_800_000), "2024-02-29");
        assert_eq!(day_of(-1), "1969-12-31");
    }
}
