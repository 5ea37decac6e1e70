//! Approvals: a ticket whose type requires it waits for its organization's approvers
//! (the people the MSP named for the organization, or else its main contacts) — one
//! of them, or N of M. Until then it is "awaiting approval" and technicians cannot
//! work it. Approvers decide in the portal or through a signed, single-use,
//! expiring link from the approval e-mail (the link opens a confirmation page; the
//! decision is a POST). A rejection closes the ticket with the reason, which the
//! requester is told. Every decision is audited with the ticket's change.

use serde::Serialize;

use crate::StoreError;
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::outbox::NewEvent;
use crate::store::{TenantDb, TenantTx};
use crate::tickets::{self, Reader, Ticket};
use crate::tokens::hash_token;

/// How long an approval link stays valid.
pub const LINK_TTL_MS: i64 = 7 * 86_400_000;

/// Refusal code while a ticket waits for approval.
pub const AWAITING_APPROVAL: &str = "awaiting_approval";

/// The people who approve tickets of `organization_id`: named approvers, or else
/// its active main contacts.
pub(crate) async fn approvers_in(
    tx: &mut TenantTx,
    organization_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let named: Vec<i64> = sqlx::query_scalar(
        "SELECT a.user_id FROM organization_approvers a JOIN users u ON u.id = a.user_id \
         WHERE a.organization_id = $1 AND u.status <> 'disabled' ORDER BY a.user_id",
    )
    .bind(organization_id)
    .fetch_all(tx.conn())
    .await?;
    if !named.is_empty() {
        return Ok(named);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM users WHERE organization_id = $1 AND role = 'main_contact' AND status = 'active' ORDER BY id",
    )
    .bind(organization_id)
    .fetch_all(tx.conn())
    .await?)
}

/// An organization's approvers.
pub async fn approvers(db: &TenantDb, organization_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.read().await?;
    let out = approvers_in(&mut tx, organization_id).await;
    tx.rollback().await?;
    out
}

/// Names an organization's approvers (empty: its main contacts approve), audited.
/// Each must be a person of that organization.
pub async fn set_approvers(
    db: &TenantDb,
    organization_id: i64,
    user_ids: &[i64],
    actor: &str,
) -> Result<Vec<i64>, StoreError> {
    let mut tx = db.begin().await?;
    for user in user_ids {
        let of: Option<Option<i64>> =
            sqlx::query_scalar("SELECT organization_id FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(tx.conn())
                .await?;
        if of != Some(Some(organization_id)) {
            return Err(StoreError::Invalid {
                field: "approvers",
                reason: format!("person {user} is not of this organization"),
            });
        }
    }
    sqlx::query("DELETE FROM organization_approvers WHERE organization_id = $1")
        .bind(organization_id)
        .execute(tx.conn())
        .await?;
    for user in user_ids {
        sqlx::query(
            "INSERT INTO organization_approvers (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(organization_id)
        .bind(user)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "organization.approvers_set",
        target: format!("organization:{organization_id}"),
        details: serde_json::json!({ "approvers": user_ids }),
    })
    .await?;
    let out = approvers_in(&mut tx, organization_id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Opens the approval of a new ticket inside its creation transaction when its
/// type requires one. Returns whether the ticket now awaits approval.
pub(crate) async fn open_for_new_ticket(
    tx: &mut TenantTx,
    ticket_id: i64,
    number: i64,
    type_key: Option<&str>,
    organization_id: Option<i64>,
) -> Result<bool, StoreError> {
    let Some(type_key) = type_key else {
        return Ok(false);
    };
    let rule: Option<(i64, i64)> = sqlx::query_as(
        "SELECT requires_approval, approvals_needed FROM ticket_types WHERE key = $1",
    )
    .bind(type_key)
    .fetch_optional(tx.conn())
    .await?;
    let Some((1, needed)) = rule else {
        return Ok(false);
    };
    let approvers = match organization_id {
        Some(organization) => approvers_in(tx, organization).await?,
        None => Vec::new(),
    };
    // Never ask for more agreements than there are approvers (N of M, N <= M);
    // with none at all the ticket waits until the MSP names some.
    let needed = needed.min(approvers.len().max(1) as i64);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO ticket_approvals (ticket_id, needed, state, created_at) VALUES ($1, $2, 'pending', $3)",
    )
    .bind(ticket_id)
    .bind(needed)
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE tickets SET approval_state = 'pending' WHERE id = $1")
        .bind(ticket_id)
        .execute(tx.conn())
        .await?;
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: number.to_string(),
        event_type: "ticket.approval_requested",
        payload: serde_json::json!({
            "number": number,
            "type": type_key,
            "approvers": approvers,
            "needed": needed,
        }),
    })
    .await?;
    Ok(true)
}

/// A decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Agree.
    Approve,
    /// Refuse (with a reason).
    Reject,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// One approver's vote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Vote {
    /// Who.
    pub approver_id: i64,
    /// What.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// `portal` or `link`.
    pub via: String,
    /// When.
    pub decided_at: i64,
}

/// A ticket's approval.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Approval {
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// How many agreements are needed.
    pub needed: i64,
    /// Who may decide.
    pub approvers: Vec<i64>,
    /// The votes so far.
    pub votes: Vec<Vote>,
}

async fn approval_row(
    tx: &mut TenantTx,
    ticket_id: i64,
) -> Result<Option<(i64, i64, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, needed, state FROM ticket_approvals WHERE ticket_id = $1")
            .bind(ticket_id)
            .fetch_optional(tx.conn())
            .await?,
    )
}

/// The approval of ticket `number`, if it has one, as `reader` may see it.
pub async fn approval(db: &TenantDb, number: i64, reader: Reader) -> Result<Approval, StoreError> {
    let mut tx = db.read().await?;
    let ticket = tickets::get_in(&mut tx, number, reader).await?;
    let Some((id, needed, state)) = approval_row(&mut tx, ticket.id).await? else {
        return Err(StoreError::NotFound("approval"));
    };
    let approvers = match ticket.organization_id {
        Some(organization) => approvers_in(&mut tx, organization).await?,
        None => Vec::new(),
    };
    let votes: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT approver_id, decision, reason, via, decided_at FROM ticket_approval_votes \
         WHERE approval_id = $1 ORDER BY decided_at, approver_id",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    tx.rollback().await?;
    Ok(Approval {
        state,
        needed,
        approvers,
        votes: votes
            .into_iter()
            .map(|(approver_id, decision, reason, via, decided_at)| Vote {
                approver_id,
                decision,
                reason,
                via,
                decided_at,
            })
            .collect(),
    })
}

/// Records `approver_id`'s decision on ticket `number` (portal: the approver's own
/// request, so no scope beyond being an approver of the ticket's organization).
pub async fn decide(
    db: &TenantDb,
    number: i64,
    approver_id: i64,
    decision: Decision,
    reason: &str,
    actor: &str,
) -> Result<Ticket, StoreError> {
    let mut tx = db.begin().await?;
    let ticket = tickets::get_in(&mut tx, number, Reader::SYSTEM).await?;
    decide_in(
        &mut tx,
        &ticket,
        approver_id,
        decision,
        reason,
        "portal",
        actor,
    )
    .await?;
    tx.commit().await?;
    tickets::get_ticket(db, number, Reader::SYSTEM).await
}

async fn decide_in(
    tx: &mut TenantTx,
    ticket: &Ticket,
    approver_id: i64,
    decision: Decision,
    reason: &str,
    via: &str,
    actor: &str,
) -> Result<(), StoreError> {
    let reason = reason.trim();
    if reason.len() > 2_000 {
        return Err(StoreError::Invalid {
            field: "reason",
            reason: "must be at most 2,000 bytes".to_owned(),
        });
    }
    if decision == Decision::Reject && reason.is_empty() {
        return Err(StoreError::Invalid {
            field: "reason",
            reason: "a rejection needs a reason for the requester".to_owned(),
        });
    }
    let Some((approval_id, needed, state)) = approval_row(tx, ticket.id).await? else {
        return Err(StoreError::NotFound("approval"));
    };
    if state != "pending" {
        return Err(StoreError::Refused {
            code: "approval_decided",
            reason: format!("this approval was already {state}"),
        });
    }
    let approvers = match ticket.organization_id {
        Some(organization) => approvers_in(tx, organization).await?,
        None => Vec::new(),
    };
    if !approvers.contains(&approver_id) {
        // Exactly like a ticket that does not exist for this person.
        return Err(StoreError::NotFound("ticket"));
    }
    let now = now_ms();
    let voted = sqlx::query(
        "INSERT INTO ticket_approval_votes (approval_id, approver_id, decision, reason, via, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (approval_id, approver_id) DO NOTHING",
    )
    .bind(approval_id)
    .bind(approver_id)
    .bind(decision.as_str())
    .bind(reason)
    .bind(via)
    .bind(now)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if voted == 0 {
        return Err(StoreError::Refused {
            code: "approval_already_given",
            reason: "you have already decided on this ticket".to_owned(),
        });
    }
    tx.audit(AuditEntry {
        actor: actor.to_owned(),
        action: "ticket.approval_decided",
        target: format!("ticket:{}", ticket.number),
        details: serde_json::json!({
            "approver_id": approver_id,
            "decision": decision.as_str(),
            "reason": reason,
            "via": via,
        }),
    })
    .await?;
    let approvals: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ticket_approval_votes WHERE approval_id = $1 AND decision = 'approve'",
    )
    .bind(approval_id)
    .fetch_one(tx.conn())
    .await?;
    let outcome = match decision {
        Decision::Reject => Some("rejected"),
        Decision::Approve if approvals >= needed => Some("approved"),
        Decision::Approve => None,
    };
    let Some(outcome) = outcome else {
        return Ok(());
    };
    sqlx::query("UPDATE ticket_approvals SET state = $2, decided_at = $3 WHERE id = $1")
        .bind(approval_id)
        .bind(outcome)
        .bind(now)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE tickets SET approval_state = $2, updated_at = $3 WHERE id = $1")
        .bind(ticket.id)
        .bind(outcome)
        .bind(now)
        .execute(tx.conn())
        .await?;
    if outcome == "rejected" {
        // The requester reads the reason in the thread, and the ticket closes.
        let text = format!("The request was not approved: {reason}");
        let message_id: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_messages (ticket_id, author_id, internal, body, source, created_at, language) \
             VALUES ($1, $2, 0, $3, 'system', $4, $5) RETURNING id",
        )
        .bind(ticket.id)
        .bind(approver_id)
        .bind(&text)
        .bind(now)
        .bind(&ticket.language)
        .fetch_one(tx.conn())
        .await?;
        tickets::index_message(tx, message_id, None, &text, &ticket.language).await?;
        let closed = tickets::status_by_key(tx, "closed")
            .await?
            .ok_or(StoreError::NotFound("status"))?;
        let mut current = ticket.clone();
        current.approval_state = Some(outcome.to_owned());
        tickets::move_status(tx, &current, &closed, actor).await?;
    }
    tx.emit(NewEvent {
        aggregate_type: "ticket",
        aggregate_id: ticket.number.to_string(),
        event_type: if outcome == "approved" {
            "ticket.approved"
        } else {
            "ticket.approval_rejected"
        },
        payload: serde_json::json!({
            "number": ticket.number,
            "requester_id": ticket.requester_id,
            "approver_id": approver_id,
            "reason": reason,
        }),
    })
    .await?;
    Ok(())
}

/// Issues a single-use approval link token for `approver_id` on ticket `number`
/// (the raw token goes into the e-mail; only its hash is kept).
pub async fn issue_link(
    db: &TenantDb,
    number: i64,
    approver_id: i64,
) -> Result<String, StoreError> {
    let mut tx = db.begin().await?;
    let ticket = tickets::get_in(&mut tx, number, Reader::SYSTEM).await?;
    let Some((approval_id, _, state)) = approval_row(&mut tx, ticket.id).await? else {
        return Err(StoreError::NotFound("approval"));
    };
    if state != "pending" {
        return Err(StoreError::Refused {
            code: "approval_decided",
            reason: format!("this approval was already {state}"),
        });
    }
    let token = crate::tokens::random_token(32);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO approval_links (token_hash, approval_id, approver_id, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(approval_id)
    .bind(approver_id)
    .bind(now + LINK_TTL_MS)
    .bind(now)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// What an approval link is about.
#[derive(Debug, Clone, Serialize)]
pub struct LinkInfo {
    /// The ticket.
    pub ticket: Ticket,
    /// Who decides through it.
    pub approver_id: i64,
}

fn link_refused() -> StoreError {
    StoreError::Refused {
        code: "approval_link_invalid",
        reason: "this approval link has expired or was already used".to_owned(),
    }
}

/// The ticket an unused, unexpired link is about (the confirmation page shows it).
pub async fn link_info(db: &TenantDb, token: &str) -> Result<LinkInfo, StoreError> {
    let mut tx = db.read().await?;
    // A link of an approval already decided (by others) is as gone as a used one.
    let found: Option<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT t.number, l.approver_id, l.expires_at, l.used_at FROM approval_links l \
         JOIN ticket_approvals a ON a.id = l.approval_id JOIN tickets t ON t.id = a.ticket_id \
         WHERE l.token_hash = $1 AND a.state = 'pending'",
    )
    .bind(hash_token(token))
    .fetch_optional(tx.conn())
    .await?;
    let Some((number, approver_id, expires_at, None)) = found else {
        return Err(link_refused());
    };
    if expires_at <= now_ms() {
        return Err(link_refused());
    }
    let ticket = tickets::get_in(&mut tx, number, Reader::SYSTEM).await?;
    tx.rollback().await?;
    Ok(LinkInfo {
        ticket,
        approver_id,
    })
}

/// Decides through a link: the link is consumed in the same transaction as the
/// decision, so it works once; an expired or used link is refused.
pub async fn decide_by_link(
    db: &TenantDb,
    token: &str,
    decision: Decision,
    reason: &str,
) -> Result<Ticket, StoreError> {
    let mut tx = db.begin().await?;
    let now = now_ms();
    let used: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE approval_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
         RETURNING approval_id, approver_id",
    )
    .bind(hash_token(token))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some((approval_id, approver_id)) = used else {
        return Err(link_refused());
    };
    let number: i64 = sqlx::query_scalar(
        "SELECT t.number FROM ticket_approvals a JOIN tickets t ON t.id = a.ticket_id WHERE a.id = $1",
    )
    .bind(approval_id)
    .fetch_one(tx.conn())
    .await?;
    let ticket = tickets::get_in(&mut tx, number, Reader::SYSTEM).await?;
    decide_in(
        &mut tx,
        &ticket,
        approver_id,
        decision,
        reason,
        "link",
        &format!("user:{approver_id}"),
    )
    .await?;
    tx.commit().await?;
    tickets::get_ticket(db, number, Reader::SYSTEM).await
}
