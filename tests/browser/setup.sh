#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium (apt-get, when
# /usr/bin/chromium is missing) and, pinned in package.json / package-lock.json,
# playwright-core, axe-core and otpauth into tests/browser/node_modules.
# Idempotent: does nothing when both are already there; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"

if [[ ! -x /usr/bin/chromium ]]; then
    echo "installing Chromium (Debian package)" >&2
    if [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/browser/setup.sh: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
# Up to date when the installed tree was written after the lock file.
if [[ -f node_modules/.package-lock.json && node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
