-- Accounts a customer's responsible person requests for named colleagues, for the
-- MSP to approve or reject.
CREATE TABLE account_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    requested_by BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by TEXT,
    decided_at BIGINT,
    reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX account_requests_org_idx ON account_requests (organization_id, status);
