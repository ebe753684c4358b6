#!/usr/bin/env bash
# Checks deploy/prometheus/alerts.yml with promtool (Debian's prometheus
# package, installed by scripts/install-deps.sh): the rules must parse, and
# the unit tests in deploy/prometheus/alerts_test.yml (every alert firing and
# not firing on synthetic series) must pass.
# Usage: tests/prometheus_rules.sh [REPO_ROOT]   (default: this script's repo)
set -euo pipefail
root="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
if ! command -v promtool >/dev/null 2>&1; then
  echo "prometheus_rules: promtool not found (scripts/install-deps.sh installs the prometheus package)" >&2
  exit 1
fi
cd "$root"
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
