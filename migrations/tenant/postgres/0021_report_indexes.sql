-- The service report counts tickets resolved in a period, per organization or in
-- all, and ratings given in a period: index ranges instead of reading every
-- ticket of the organization (measured at 1,000,000 tickets, BENCHMARKS.md).
CREATE INDEX tickets_org_resolved_idx ON tickets (organization_id, resolved_at);
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at);
CREATE INDEX ticket_ratings_updated_idx ON ticket_ratings (updated_at);
