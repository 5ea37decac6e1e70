-- Lists of one organization, requester or assignee across every status (the
-- portal's "All" tab, a main contact's view, a technician's "mine"), newest change
-- first, walk an index in order instead of sorting the scope's tickets.
CREATE INDEX tickets_org_updated_idx ON tickets (organization_id, updated_at, id);
CREATE INDEX tickets_requester_updated_idx ON tickets (requester_id, updated_at, id);
CREATE INDEX tickets_assignee_updated_idx ON tickets (assignee_id, updated_at, id);
