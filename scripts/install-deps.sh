#!/usr/bin/env bash
# Installs every Debian package Daisy needs to build, test and benchmark.
# Idempotent: does nothing when all packages are already present.
# Usage: scripts/install-deps.sh   (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make git
  # libraries (Boost 1.81 explicitly: the unversioned boost packages are 1.74 and conflict)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsimdjson-dev libsqlite3-dev libpq-dev liblua5.4-dev libpugixml-dev
  libhiredis-dev libxlsxwriter-dev libvalijson-dev libfmt-dev libspdlog-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev zlib1g-dev libhowardhinnant-date-dev tzdata libre2-dev libgoogle-perftools-dev libgtest-dev libgmock-dev libbenchmark-dev
  libsystemd-dev  # sd_notify: readiness, stopping and the watchdog under systemd (Type=notify)
  clang-14 libclang-rt-14-dev llvm-14  # make fuzz, fuzz-smoke: clang, libFuzzer, llvm-symbolizer
  clang-format-14 clang-tidy-14  # make format (.clang-format); make test runs clang-tidy (.clang-tidy)
  # servers and tools used by tests and benchmarks
  sqlite3 wrk nginx-light redis-server postgresql curl procps
  # promtool (the prometheus package): tests/prometheus_rules.sh checks and unit-tests
  # deploy/prometheus/alerts.yml; its service is not started (policy-rc.d, below)
  prometheus
  # make deb (scripts/build-deb.sh: dpkg-shlibdeps, strip) and tests/deb_test.sh
  # (lintian, systemd-analyze verify)
  dpkg-dev binutils lintian systemd
  # the documentation's examples, run by make test (tests/docs/run_examples.py)
  python3 python3-redis python3-requests openssl xxd
  # XLSX exports are opened with a real reader in the e2e tests
  python3-openpyxl
  # the build turns docs/openapi.yaml into the JSON that /openapi.json serves
  python3-yaml
  # Node tools (package.json: the OpenAPI lint, the browser tests) and the browser
  # the console's tests drive headless, with fonts for its screenshots (npm: below)
  nodejs chromium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Debian's nodejs comes without npm (its own package); a nodejs that bundles npm
# (NodeSource's) conflicts with that package, so it is added only when missing.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

install_node_tools() {
  # The Node tools of the build (the OpenAPI lint), exactly as package-lock.json
  # pins them, with the machine's Node.js and npm.
  local root
  root="$(cd "$(dirname "$0")/.." && pwd)"
  if ! cmp -s "$root/package-lock.json" "$root/node_modules/.package-lock.json.installed" 2>/dev/null; then
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$root/package-lock.json" "$root/node_modules/.package-lock.json.installed"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_node_tools
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# policy-rc.d keeps the packaged services (nginx, redis, postgresql) from starting:
# tests and benchmarks start their own instances on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_node_tools
