-- Tickets, part 2: queues with support levels, tags, watchers, links and merges,
-- the status history the SLA is derived from, the thread's e-mail ids and full-text
-- index, attachments (bytes stored outside the database), time entries, custom
-- fields and ticket types.
CREATE TABLE ticket_queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT ticket_queues_key UNIQUE,
    name TEXT NOT NULL,
    level BIGINT NOT NULL DEFAULT 1 CHECK (level IN (1, 2, 3)),
    created_at BIGINT NOT NULL
);

ALTER TABLE tickets ADD COLUMN queue_id BIGINT REFERENCES ticket_queues (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN level BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN merged_into BIGINT REFERENCES tickets (id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN first_response_at BIGINT;
ALTER TABLE tickets ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, status_class, updated_at, id);
CREATE INDEX tickets_queue_idx ON tickets (queue_id, status_class, updated_at, id);

CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_tag_idx ON ticket_tags (tag, ticket_id);

-- People copied on a ticket: a known person, or only an address.
CREATE TABLE ticket_watchers (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, email)
);

-- kind: 'related' (both ways), 'follow_up' (ticket_id follows other_id), 'merged'
-- (ticket_id was merged into other_id).
CREATE TABLE ticket_links (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    other_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('related', 'follow_up', 'merged')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, other_id, kind)
);
CREATE INDEX ticket_links_other_idx ON ticket_links (other_id);

-- Every status a ticket has been in, from when: the SLA clocks are derived from it.
CREATE TABLE ticket_status_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES ticket_statuses (id),
    class TEXT NOT NULL,
    pauses_sla BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX ticket_status_history_ticket_idx ON ticket_status_history (ticket_id, id);
INSERT INTO ticket_status_history (ticket_id, status_id, class, pauses_sla, at, actor)
    SELECT t.id, t.status_id, t.status_class, s.pauses_sla, t.updated_at, 'migration'
    FROM tickets t JOIN ticket_statuses s ON s.id = t.status_id;

ALTER TABLE ticket_messages ADD COLUMN email_message_id TEXT;
ALTER TABLE ticket_messages ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
CREATE INDEX ticket_messages_email_idx ON ticket_messages (email_message_id);

-- The thread's full-text index: one row per message (the first also holds the
-- subject), rowid = ticket_messages.id. The text is stemmed before it is stored
-- (Snowball, in the message's language) since FTS5 itself stems only English.
CREATE VIRTUAL TABLE ticket_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE ticket_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES ticket_messages (id) ON DELETE CASCADE,
    storage_key TEXT NOT NULL CONSTRAINT ticket_attachments_key UNIQUE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (ticket_id, id);

CREATE TABLE ticket_time_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    technician_id BIGINT NOT NULL REFERENCES users (id),
    minutes BIGINT NOT NULL CHECK (minutes > 0 AND minutes <= 1440),
    billable BIGINT NOT NULL,
    note TEXT NOT NULL,
    work_date TEXT NOT NULL,
    invoiced_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ticket_time_entries_ticket_idx ON ticket_time_entries (ticket_id, id);
CREATE INDEX ticket_time_entries_date_idx ON ticket_time_entries (work_date);

-- Custom fields; portal: 'editable' or 'hidden' (what customers may see and change).
CREATE TABLE ticket_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT ticket_fields_key UNIQUE,
    label TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'select', 'checkbox')),
    options TEXT NOT NULL DEFAULT '[]',
    required BIGINT NOT NULL DEFAULT 0,
    portal TEXT NOT NULL DEFAULT 'editable' CHECK (portal IN ('editable', 'hidden')),
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Ticket types; those needing approval name who approves and how many must agree.
CREATE TABLE ticket_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL CONSTRAINT ticket_types_key UNIQUE,
    name TEXT NOT NULL,
    requires_approval BIGINT NOT NULL DEFAULT 0,
    approvals_needed BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
