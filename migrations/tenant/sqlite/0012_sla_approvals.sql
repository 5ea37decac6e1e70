-- Tickets, part 3: SLA calendars and policies (per organization, its contract), the
-- SLA state derived from the status history and stored on the ticket so views such
-- as "SLA at risk" stay indexable; approvals by an organization's approvers, with
-- single-use links for the approval e-mail.
CREATE TABLE sla_calendars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT sla_calendars_key UNIQUE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- targets: {"critical": {"first_response_minutes": 30, "resolution_minutes": 240}, ...}
CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT sla_policies_key UNIQUE,
    name TEXT NOT NULL,
    calendar_id BIGINT REFERENCES sla_calendars (id),
    targets TEXT NOT NULL,
    warning_percent BIGINT NOT NULL DEFAULT 80 CHECK (warning_percent BETWEEN 1 AND 100),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE organizations ADD COLUMN sla_policy_id BIGINT REFERENCES sla_policies (id) ON DELETE SET NULL;

ALTER TABLE tickets ADD COLUMN sla_state TEXT;
ALTER TABLE tickets ADD COLUMN first_response_due_at BIGINT;
ALTER TABLE tickets ADD COLUMN resolution_due_at BIGINT;
ALTER TABLE tickets ADD COLUMN sla_breached_at BIGINT;
ALTER TABLE tickets ADD COLUMN approval_state TEXT;
CREATE INDEX tickets_sla_idx ON tickets (sla_state, updated_at, id);
CREATE INDEX tickets_approval_idx ON tickets (approval_state, updated_at, id);

-- Named approvers of an organization; with none, its main contacts approve.
CREATE TABLE organization_approvers (
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE ticket_approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL CONSTRAINT ticket_approvals_ticket UNIQUE REFERENCES tickets (id) ON DELETE CASCADE,
    needed BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);

CREATE TABLE ticket_approval_votes (
    approval_id BIGINT NOT NULL REFERENCES ticket_approvals (id) ON DELETE CASCADE,
    approver_id BIGINT NOT NULL REFERENCES users (id),
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason TEXT NOT NULL,
    via TEXT NOT NULL,
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (approval_id, approver_id)
);

CREATE TABLE approval_links (
    token_hash TEXT PRIMARY KEY,
    approval_id BIGINT NOT NULL REFERENCES ticket_approvals (id) ON DELETE CASCADE,
    approver_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
