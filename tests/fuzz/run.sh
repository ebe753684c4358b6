#!/usr/bin/env bash
# Runs the libFuzzer targets built in build/fuzz (docs/fuzzing.md).
#
#   run.sh smoke <build-dir> <name> <seconds>   one target on its seed corpus (ctest)
#   run.sh fuzz  <build-dir> <seconds> [name...] each target in turn, on a copy of its
#                                                corpus in <build-dir>/work/<name>; a summary
#
# libFuzzer writes the inputs it finds to the first corpus directory it is
# given: a scratch directory under <build-dir>, never tests/fuzz/corpus. Crash
# reproducers go to <build-dir>/artifacts/<name>-crash-<sha1> (or leak-,
# timeout-, oom-). Exit status: non-zero when any target failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Symbolized stacks in sanitizer reports (llvm-14 carries the symbolizer).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
all_targets=(http json_event fever_xml json_feed iso8601 form rules)

dict_of() {
  case "$1" in
    http) echo http ;;
    json_event | json_feed | form) echo json ;;
    fever_xml) echo xml ;;
    iso8601) echo iso8601 ;;
    rules) echo lua ;;
    *) echo "run.sh: unknown target $1" >&2; exit 2 ;;
  esac
}

# run_target <build-dir> <name> <seconds> <work-dir> [seed-dir...]
run_target() {
  local build="$1" name="$2" seconds="$3" work="$4"
  shift 4
  mkdir -p "$work" "$build/artifacts"
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$build/${name}_fuzz" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
      -dict="$here/dict/$(dict_of "$name").dict" -artifact_prefix="$build/artifacts/$name-" \
      -print_final_stats=1 "$work" "$@"
}

mode="${1:-}"
case "$mode" in
  smoke)
    [ $# -eq 4 ] || { echo "usage: run.sh smoke <build-dir> <name> <seconds>" >&2; exit 2; }
    build="$2" name="$3" seconds="$4"
    rm -rf "$build/smoke/$name"
    # A fixed seed: the same mutations in every run of make test, so the gate
    # does not depend on luck (make fuzz explores with a fresh seed each time).
    run_target "$build" "$name" "$seconds" "$build/smoke/$name" "$here/corpus/$name" -seed=1
    ;;
  fuzz)
    [ $# -ge 3 ] || { echo "usage: run.sh fuzz <build-dir> <seconds> [name...]" >&2; exit 2; }
    build="$2" seconds="$3"
    shift 3
    targets=("$@")
    [ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
    mkdir -p "$build/logs"
    failed=0
    summary=()
    for name in "${targets[@]}"; do
      work="$build/work/$name"
      mkdir -p "$work"
      cp -n "$here/corpus/$name"/* "$work"/ 2>/dev/null || true
      log="$build/logs/$name.log"
      echo "fuzz: $name for ${seconds}s (log: $log)"
      start=$(date +%s)
      run_target "$build" "$name" "$seconds" "$work" >"$log" 2>&1
      rc=$?
      took=$(($(date +%s) - start))
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
      cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
      corpus=$(find "$work" -type f | wc -l)
      if [ $rc -eq 0 ]; then
        status=ok
      else
        status="FAILED (exit $rc)"
        failed=1
      fi
      summary+=("$(printf '%-11s %-16s %6ss %10s runs  cov %-6s corpus %s' "$name" "$status" "$took" \
        "${runs:-?}" "${cov:-?}" "$corpus")")
      if [ $rc -ne 0 ]; then
        grep -E '^==[0-9]+==ERROR|^SUMMARY|FUZZ_CHECK failed|runtime error|ALARM|Test unit written' "$log" \
          | head -8 | sed 's/^/    /'
        summary+=("$(grep -o 'Test unit written to .*' "$log" | head -1 | sed 's/^/            /')")
      fi
    done
    echo
    echo "fuzz summary (${seconds}s per target; new inputs in $build/work, crashes in $build/artifacts):"
    printf '  %s\n' "${summary[@]}"
    exit $failed
    ;;
  *)
    echo "usage: run.sh smoke <build-dir> <name> <seconds> | run.sh fuzz <build-dir> <seconds> [name...]" >&2
    exit 2
    ;;
esac
