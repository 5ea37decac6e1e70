-- Plugin platform: trusted publisher keys and the catalogue of published,
-- signature-checked packages (the bundle is kept as received, base64).
CREATE TABLE plugin_publishers (
    name TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    added_at BIGINT NOT NULL
);

CREATE TABLE plugin_packages (
    plugin_id TEXT NOT NULL,
    version TEXT NOT NULL,
    publisher TEXT NOT NULL,
    name TEXT NOT NULL,
    world TEXT NOT NULL,
    manifest TEXT NOT NULL,
    wasm_sha256 TEXT NOT NULL,
    bundle TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, version)
);
