#!/usr/bin/env bash
# Installs the test OpenID Connect provider's dependencies (oidc-provider, pinned in
# package.json / package-lock.json) into tests/oidc/node_modules. Idempotent: does nothing
# when node_modules already matches the lock file; safe to run repeatedly.
# Needs Node.js >= 20.12 (Node 22 LTS is what oidc-provider asks for; 20 works with a warning).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "tests/oidc/setup.sh: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=12)?0:1)'; then
    echo "tests/oidc/setup.sh: Node.js >= 20.12 needed, found $(node -v)" >&2
    exit 1
fi

# Up to date when the installed tree was written after the lock file and has the pinned version.
up_to_date() {
    [[ -f package-lock.json && -f node_modules/.package-lock.json ]] || return 1
    [[ node_modules/.package-lock.json -nt package-lock.json ]] || return 1
    node -e '
        const fs = require("fs");
        const want = require("./package.json").dependencies["oidc-provider"];
        const have = JSON.parse(fs.readFileSync("node_modules/oidc-provider/package.json", "utf8")).version;
        process.exit(want === have ? 0 : 1);
    ' 2>/dev/null
}

if up_to_date; then
    exit 0
fi
if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
