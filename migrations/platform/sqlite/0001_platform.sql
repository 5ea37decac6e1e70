-- The platform schema: tenants, their host names, API tokens, operators and the
-- index of tenants with pending background work. Times are Unix milliseconds.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL CONSTRAINT tenants_status_check
        CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting')),
    schema_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE domains (
    host TEXT NOT NULL CONSTRAINT domains_host_key PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'verified', 'disabled')),
    verification_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    verified_at BIGINT
);
CREATE INDEX domains_tenant_idx ON domains (tenant_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL CONSTRAINT api_tokens_hash_key UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_tokens_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE platform_admins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL CONSTRAINT platform_admins_email_key UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    created_at BIGINT NOT NULL
);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    admin_id BIGINT REFERENCES platform_admins (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE work_index (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    due_at BIGINT NOT NULL,
    generation BIGINT NOT NULL DEFAULT 1,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX work_index_due_idx ON work_index (due_at);

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

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('routing_epoch', '0');
