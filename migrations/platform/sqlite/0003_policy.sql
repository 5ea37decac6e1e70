-- Casbin policy rules defined once for every tenant (role permissions), and a
-- per-tenant version that moves whenever a tenant's role assignments change, so
-- every instance rebuilds just that tenant's enforcer.
CREATE TABLE casbin_rule (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ptype TEXT NOT NULL,
    v0 TEXT NOT NULL DEFAULT '',
    v1 TEXT NOT NULL DEFAULT '',
    v2 TEXT NOT NULL DEFAULT '',
    v3 TEXT NOT NULL DEFAULT '',
    v4 TEXT NOT NULL DEFAULT '',
    v5 TEXT NOT NULL DEFAULT '',
    CONSTRAINT casbin_rule_key UNIQUE (ptype, v0, v1, v2, v3, v4, v5)
);
ALTER TABLE tenants ADD COLUMN policy_version BIGINT NOT NULL DEFAULT 0;
