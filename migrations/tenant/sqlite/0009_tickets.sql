-- Tickets, part 1: statuses (six classes, MSP-defined ones mapped to a class), the
-- ticket itself with its per-tenant number, the thread, per-scope status counters
-- kept in the ticket's own transaction (sharded, so concurrent writers do not queue
-- on one row), and idempotency keys for API creation.
CREATE TABLE ticket_statuses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT ticket_statuses_key UNIQUE,
    class TEXT NOT NULL CHECK (class IN ('new', 'open', 'waiting', 'paused', 'resolved', 'closed')),
    visible_to_customers BIGINT NOT NULL DEFAULT 1,
    pauses_sla BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL,
    builtin BIGINT NOT NULL DEFAULT 0
);
INSERT INTO ticket_statuses (key, class, visible_to_customers, pauses_sla, position, builtin) VALUES
    ('new', 'new', 1, 0, 10, 1),
    ('open', 'open', 1, 0, 20, 1),
    ('waiting', 'waiting', 1, 1, 30, 1),
    ('paused', 'paused', 1, 1, 40, 1),
    ('resolved', 'resolved', 1, 0, 50, 1),
    ('closed', 'closed', 1, 0, 60, 1);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number BIGINT NOT NULL CONSTRAINT tickets_number UNIQUE,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status_id BIGINT NOT NULL REFERENCES ticket_statuses (id),
    status_class TEXT NOT NULL,
    priority TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    type_key TEXT,
    requester_id BIGINT NOT NULL REFERENCES users (id),
    organization_id BIGINT REFERENCES organizations (id) ON DELETE SET NULL,
    device_id BIGINT,
    assignee_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    source TEXT NOT NULL CHECK (source IN ('portal', 'email', 'agent', 'assistant', 'api')),
    language TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT,
    closed_at BIGINT
);
CREATE INDEX tickets_status_idx ON tickets (status_class, updated_at, id);
CREATE INDEX tickets_org_idx ON tickets (organization_id, status_class, updated_at, id);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, status_class, updated_at, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);

CREATE TABLE ticket_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    internal BIGINT NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);

-- Counts per scope ('all' with id 0, 'organization', 'requester'), status class and
-- shard: a list page sums at most 6 x 8 rows, whatever the number of tickets.
CREATE TABLE ticket_counts (
    scope TEXT NOT NULL,
    scope_id BIGINT NOT NULL,
    status_class TEXT NOT NULL,
    shard BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id, status_class, shard)
);

CREATE TABLE ticket_idempotency (
    caller TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    request_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (caller, idempotency_key)
);

-- Ticket numbers shown to people start at 1000 (SQLite has one writer at a time).
CREATE TABLE ticket_numbers (id BIGINT PRIMARY KEY, next BIGINT NOT NULL);
INSERT INTO ticket_numbers (id, next) VALUES (1, 1000);
