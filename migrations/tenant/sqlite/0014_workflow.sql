-- Tickets, part 5: the MSP's workflow. Who may move a ticket from which status class
-- to which status, per role (a role with a row in ticket_workflow_roles follows its
-- rules; one without keeps the built-in defaults), and the technicians of each queue
-- (an escalation to a queue's level notifies them).
CREATE TABLE ticket_workflow_roles (
    role TEXT PRIMARY KEY CHECK (role IN ('technician', 'main_contact', 'contact')),
    updated_at BIGINT NOT NULL
);

CREATE TABLE ticket_transition_rules (
    role TEXT NOT NULL REFERENCES ticket_workflow_roles (role) ON DELETE CASCADE,
    from_class TEXT NOT NULL CHECK (from_class IN ('*', 'new', 'open', 'waiting', 'paused', 'resolved', 'closed')),
    to_status TEXT NOT NULL,
    PRIMARY KEY (role, from_class, to_status)
);

CREATE TABLE ticket_queue_members (
    queue_id BIGINT NOT NULL REFERENCES ticket_queues (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, user_id)
);
CREATE INDEX ticket_queue_members_user_idx ON ticket_queue_members (user_id);
