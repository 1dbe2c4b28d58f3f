#!/usr/bin/env bash
# Installs the client tools the end-to-end tests drive — Python `tuspy` and npm
# `tus-js-client` for uploads, Python `openapi-spec-validator` for the OpenAPI document —
# written by others, so they test our protocols and not our reading of them, into
# target/test-clients, out of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/target/test-clients"
mkdir -p "$dir"
if ! "$dir/venv/bin/python" -c 'import tusclient, openapi_spec_validator' 2>/dev/null; then
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet --disable-pip-version-check 'tuspy==1.1.0' 'openapi-spec-validator==0.7.2'
fi
if [ ! -f "$dir/node/node_modules/tus-js-client/package.json" ]; then
    mkdir -p "$dir/node"
    (cd "$dir/node" && npm install --silent --no-audit --no-fund --no-save 'tus-js-client@4.3.1')
fi
