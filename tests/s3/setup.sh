#!/usr/bin/env bash
# The S3-compatible server the attachment-storage test stores files in: moto's
# server mode, from PyPI. Idempotent.
set -euo pipefail
if ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install --quiet "moto[server]>=5,<6"
fi
