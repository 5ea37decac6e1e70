-- The transactional outbox (domain events written with the change that caused
-- them), each subscriber's position in it, events parked after a failed
-- delivery, and the tenant's durable job queue.
CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE outbox_cursors (
    subscriber TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);

CREATE TABLE outbox_parked (
    subscriber TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    aggregate_key TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    PRIMARY KEY (subscriber, event_id)
);
CREATE INDEX outbox_parked_aggregate_idx ON outbox_parked (subscriber, aggregate_key);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT CONSTRAINT jobs_dedup_key UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);
