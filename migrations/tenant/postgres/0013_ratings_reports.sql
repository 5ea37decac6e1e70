-- Tickets, part 4: the requester's rating of a resolved ticket, and indexes for the
-- service-quality reports per organization and period.
CREATE TABLE ticket_ratings (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    rater_id BIGINT NOT NULL REFERENCES users (id),
    rating BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ticket_ratings_created_idx ON ticket_ratings (created_at);
CREATE INDEX tickets_org_created_idx ON tickets (organization_id, created_at);
CREATE INDEX tickets_org_closed_idx ON tickets (organization_id, closed_at);
CREATE INDEX tickets_created_idx ON tickets (created_at);
CREATE INDEX tickets_closed_idx ON tickets (closed_at);
