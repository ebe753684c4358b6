#!/usr/bin/env bash
# Runs clang-tidy (the checks of .clang-tidy) over every source file of src/,
# with the flags of the given build's compile_commands.json; fails on any
# finding. Compiler warnings are the build's business (-Wall -Wextra
# -Werror with g++), so clang's own are switched off here.
# Usage: tests/tidy.sh <build dir> [jobs]
set -euo pipefail
build=${1:?usage: tests/tidy.sh <build dir> [jobs]}
jobs=${2:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# clang-tidy exits non-zero on a finding (WarningsAsErrors) and on anything
# that stops it (no compilation database, a file it cannot parse): either
# fails this script, with what it printed.
if ! git ls-files 'src/*.cpp' | xargs -P "$jobs" -n 4 clang-tidy-14 -p "$build" --quiet \
  --extra-arg=-Wno-everything >"$out" 2>&1; then
  grep -v "warnings generated\.$" "$out"
  echo "tidy: clang-tidy failed or found something (.clang-tidy)" >&2
  exit 1
fi
echo "tidy: $(git ls-files 'src/*.cpp' | wc -l) files clean"
