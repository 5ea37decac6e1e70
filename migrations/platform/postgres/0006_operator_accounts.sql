-- Platform admins sign in on the operator host with a password and an authenticator
-- app (mandatory for them), with single-use recovery codes and server-side sessions
-- of their own, apart from every tenant's.
ALTER TABLE platform_admins ADD COLUMN password_hash TEXT;
ALTER TABLE platform_admins ADD COLUMN totp_secret TEXT;
ALTER TABLE platform_admins ADD COLUMN totp_last_step BIGINT;
ALTER TABLE platform_admins ADD COLUMN last_login_at BIGINT;

CREATE TABLE operator_recovery_codes (
    admin_id BIGINT NOT NULL REFERENCES platform_admins (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (admin_id, code_hash)
);

CREATE TABLE operator_sessions (
    id_hash TEXT PRIMARY KEY,
    admin_id BIGINT NOT NULL REFERENCES platform_admins (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX operator_sessions_admin ON operator_sessions (admin_id);
