-- Custom domains: DNS check results and schedule, the grace period after their
-- records disappear, and per-domain certificate back-off (kept across restarts).
ALTER TABLE domains ADD COLUMN checked_at BIGINT;
ALTER TABLE domains ADD COLUMN check_result TEXT;
ALTER TABLE domains ADD COLUMN grace_until BIGINT;
ALTER TABLE domains ADD COLUMN cert_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN cert_next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE domains ADD COLUMN cert_last_error TEXT;

-- Certificates of verified custom domains (private keys sealed with the master key).
CREATE TABLE certificates (
    host TEXT PRIMARY KEY,
    chain_pem TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    issuer TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    issued_at BIGINT NOT NULL
);

-- The ACME account of this installation per directory (credentials sealed).
CREATE TABLE acme_accounts (
    directory TEXT PRIMARY KEY,
    credentials_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- HTTP-01 answers, shared so whichever instance the CA reaches can answer.
CREATE TABLE acme_challenges (
    token TEXT PRIMARY KEY,
    key_authorization TEXT NOT NULL,
    host TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Named leases: the holder alone does the work (the domain sweeper: DNS checks and
-- certificate orders, so exactly one instance orders at a time).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
