#!/usr/bin/env bash
# Runs Portico's whole test suite on both backends: every unit, black-box and CLI
# test against the embedded SQLite default and against PostgreSQL, plus doc tests.
# Starts PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) if they are stopped,
# Dovecot for the mail tests (tests/mail/setup.sh), Chromium and Playwright for the
# browser tests (tests/browser/setup.sh),
# builds the plugin components (plugins/build.sh, adding the wasm32-wasip2 target if
# missing) and installs cargo-nextest if it is missing. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_postgres() {
    if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return; fi
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q && return; sleep 0.2; done
    echo "PostgreSQL did not start" >&2; exit 1
}

ensure_redis() {
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
    echo "starting Redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 0.2; done
    echo "Redis did not start" >&2; exit 1
}

ensure_postgres
ensure_redis
# The OpenID Connect provider the SSO tests sign in against (node oidc-provider).
tests/oidc/setup.sh
# Pebble and its mock DNS for the custom-domain tests (Debian packages).
tests/acme/setup.sh
# moto's S3-compatible server for the attachment-storage test (PyPI).
tests/s3/setup.sh
# Debian's Chromium, playwright-core and axe-core for the browser tests.
tests/browser/setup.sh
# Dovecot (IMAP with IDLE, LMTP delivery) and swaks for the e-mail tests (Debian).
tests/mail/setup.sh >/dev/null
# The plugin components the host, API and CLI tests load: the SDK's examples built
# from source for wasm32-wasip2 by a separate cargo invocation (own target dir).
plugins/build.sh
if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

cargo nextest run --workspace --no-fail-fast "$@"
cargo test --workspace --doc
