#!/usr/bin/env bash
# make test: lints docs/openapi.yaml with Redocly's recommended rules
# (@redocly/cli, pinned in package-lock.json, installed by
# scripts/install-deps.sh). Errors fail; warnings are listed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$root/node_modules/.bin/redocly" lint "$root/docs/openapi.yaml" --format=summary
