-- An API token may act as a person of its tenant (their role and scope) instead of
-- as a service account with a role of its own.
ALTER TABLE api_tokens ADD COLUMN user_id BIGINT;
