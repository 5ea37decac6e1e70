-- Rate-limit counters shared by every instance (used when PostgreSQL serves
-- several instances and no Redis is configured). Fixed windows per key.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
