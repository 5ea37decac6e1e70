-- Plugins installed in this tenant: the version in use (and the one before it,
-- for rollback), the administrator's grant, the configuration, and the
-- organizations it is enabled for (NULL: all).
CREATE TABLE plugin_installs (
    plugin_id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    previous_version TEXT,
    enabled BIGINT NOT NULL DEFAULT 1,
    grant_json TEXT NOT NULL,
    config_json TEXT NOT NULL,
    organizations_json TEXT,
    installed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each plugin's key-value store (values base64), within a quota.
CREATE TABLE plugin_kv (
    plugin_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    size BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, key)
);

-- Secrets the administrator set for a plugin, sealed with the platform key; the
-- host substitutes them into egress headers, the plugin never reads them.
CREATE TABLE plugin_secrets (
    plugin_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed TEXT NOT NULL,
    PRIMARY KEY (plugin_id, name)
);

-- Which plugin has handled which outbox event: when a fail-closed plugin makes
-- the outbox retry an event, the plugins that already handled it are not run
-- again. Pruned after 30 days.
CREATE TABLE plugin_event_runs (
    plugin_id TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, event_id)
);
CREATE INDEX plugin_event_runs_at ON plugin_event_runs (at);
