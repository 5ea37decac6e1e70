#!/usr/bin/env bash
# Installs what the custom-domain tests run against: Pebble (an ACME server) and
# pebble-challtestsrv (its mock DNS), from Debian. Idempotent; run before the tests,
# never from tests running in parallel (they would fight over the dpkg lock).
set -euo pipefail
if command -v pebble >/dev/null 2>&1 && command -v pebble-challtestsrv >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/acme/setup.sh: install Pebble 2.4 (pebble and pebble-challtestsrv) by hand" >&2
    exit 1
fi
echo "installing pebble (Debian package)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends pebble >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends pebble >/dev/null
}
