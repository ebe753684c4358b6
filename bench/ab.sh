#!/usr/bin/env bash
# make bench-ab BASE=<commit>: this tree's release build against the release
# build of an earlier commit, on the same machine in the same run, round for
# round, on the request paths a change of shape must leave as fast as they
# were. Both servers run side by side (each on its own data dir, idle while
# the other is loaded); the rounds alternate which goes first, so that a
# machine slowing down or speeding up during the run weighs on both alike.
# Writes the section "## This tree against an earlier commit (make bench-ab)"
# of docs/benchmarks.md; make bench keeps it.
#
# BASE is checked out in a git worktree under build/ab/ and built there
# (release preset, the daisy target only; kept for the next run).
# Environment: BASE (required), DURATION (s per wrk run, default 10), ROUNDS
# (default 5; the median round is reported), CONNECTIONS (default 64).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${BASE:?BASE=<commit> is required}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-5}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="$(nproc)"
OUT="$ROOT/docs/benchmarks.md"
SECTION="## This tree against an earlier commit (make bench-ab)"
ADMIN_TOKEN="bench-ab-admin-token-$(date +%s%N)"
WORK="$(mktemp -d /tmp/daisy-bench-ab.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the two binaries --------------------------------------------------------------
base_commit="$(git -C "$ROOT" rev-parse --short "$BASE^{commit}")"
head_commit="$(git -C "$ROOT" rev-parse --short HEAD)"
dirty=""
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]; then dirty=" with uncommitted changes"; fi
BASE_TREE="$ROOT/build/ab/$base_commit"
if [ ! -d "$BASE_TREE" ]; then
  git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach "$BASE_TREE" "$base_commit" >&2
fi
echo "bench-ab: building $base_commit in $BASE_TREE" >&2
(cd "$BASE_TREE" && cmake --preset release > /dev/null && cmake --build --preset release --target daisy >&2)
BIN_A="$BASE_TREE/build/release/daisy"
BIN_B="$ROOT/build/release/daisy"

start_server() {  # binary name -> "port app-token form-id"; pid appended to pids
  local port
  port="$(free_port)"
  "$1" serve --listen "127.0.0.1:$port" --grpc-listen 127.0.0.1:0 --data-dir "$WORK/$2-data" --admin-token "$ADMIN_TOKEN" \
    > "$WORK/$2.out" 2> "$WORK/$2.log" &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/healthz"
  local post=(curl -sf -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json')
  local app token form
  app="$("${post[@]}" "http://127.0.0.1:$port/v1/apps" --data-binary '{"name":"bench-ab"}' | json_field id)"
  token="$("${post[@]}" "http://127.0.0.1:$port/v1/apps/$app/token" | json_field token)"
  form="$("${post[@]}" "http://127.0.0.1:$port/v1/forms" --data-binary @"$ROOT/bench/form.json" | json_field id)"
  echo "$port $app $token $form"
}
read -r PORT_A APP_A TOKEN_A FORM_A <<< "$(start_server "$BIN_A" a)"
read -r PORT_B APP_B TOKEN_B FORM_B <<< "$(start_server "$BIN_B" b)"

# --- the rounds --------------------------------------------------------------------
SCENARIOS=(healthz get_app submit event event_batch)
declare -A LABEL=(
  [healthz]="GET /healthz"
  [get_app]="GET /v1/apps/{id} (admin token, SQLite read)"
  [submit]="POST /v1/forms/{id}/responses (10 questions, 2 rules, synchronous=FULL)"
  [event]="POST /v1/events, one event per request"
  [event_batch]="POST /v1/events, batches of 100 events (requests/s)"
)
one_round() {  # side scenario: appends "rate p50 p99" to $WORK/rounds-<scenario>-<side>
  local side="$1" scenario="$2" port app token form
  if [ "$side" = a ]; then port=$PORT_A app=$APP_A token=$TOKEN_A form=$FORM_A; else
    port=$PORT_B app=$APP_B token=$TOKEN_B form=$FORM_B; fi
  local url="http://127.0.0.1:$port" log="$WORK/wrk-$scenario-$side-$RANDOM.txt" figures
  case "$scenario" in
    healthz) figures="$(wrk_round "$log" "$url/healthz")" ;;
    get_app) figures="$(wrk_round "$log" "$url/v1/apps/$app" -H "Authorization: Bearer $ADMIN_TOKEN")" ;;
    submit) figures="$(DAISY_TOKEN="$token" DAISY_FORM="$form" wrk_round "$log" "$url" -s "$ROOT/bench/submit.lua")" ;;
    event) figures="$(DAISY_TOKEN="$token" wrk_round "$log" "$url" -s "$ROOT/bench/event.lua")" ;;
    event_batch) figures="$(DAISY_TOKEN="$token" wrk_round "$log" "$url" -s "$ROOT/bench/event_batch.lua")" ;;
  esac
  echo "$figures" >> "$WORK/rounds-$scenario-$side"
}
for round in $(seq 1 "$ROUNDS"); do
  echo "bench-ab: round $round/$ROUNDS" >&2
  for scenario in "${SCENARIOS[@]}"; do
    if (( round % 2 )); then one_round a "$scenario"; one_round b "$scenario"; else
      one_round b "$scenario"; one_round a "$scenario"; fi
  done
done

# --- the section -------------------------------------------------------------------
median_of() {  # file -> "rate p50 p99" of the median-rate round
  sort -n -k1,1 "$1" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}
rounds_of() {  # file -> "r1; r2; ..." rates
  awk '{printf "%s%.0f", (NR > 1 ? "; " : ""), $1}' "$1"
}
{
  echo "$SECTION"
  echo
  echo "Written by \`make bench-ab BASE=<commit>\` (bench/ab.sh); \`make bench\` keeps this section."
  echo "Two release builds side by side on this machine, in the same run: the base (a) and this tree (b);"
  echo "wrk with $THREADS threads and $CONNECTIONS connections for ${DURATION} s a round, $ROUNDS rounds, alternating"
  echo "which build goes first. Read b/a against the spread of the rounds: both are measured under the same noise."
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, a = $base_commit, b = $head_commit$dirty"
  echo
  echo "| scenario | a: req/s (p99) | b: req/s (p99) | b / a | spread of a's rounds | spread of b's rounds |"
  echo "|---|---|---|---|---|---|"
  for scenario in "${SCENARIOS[@]}"; do
    read -r ra _ pa <<< "$(median_of "$WORK/rounds-$scenario-a")"
    read -r rb _ pb <<< "$(median_of "$WORK/rounds-$scenario-b")"
    spread_a="$(sort -n "$WORK/rounds-$scenario-a" | awk -v m="$ra" '{r[NR]=$1} END {printf "%.0f%%", (r[NR]-r[1]) / m * 100}')"
    spread_b="$(sort -n "$WORK/rounds-$scenario-b" | awk -v m="$rb" '{r[NR]=$1} END {printf "%.0f%%", (r[NR]-r[1]) / m * 100}')"
    printf '| %s | %.0f (%s) | %.0f (%s) | %.2f | %s | %s |\n' "${LABEL[$scenario]}" "$ra" "$pa" "$rb" "$pb" \
      "$(awk -v a="$ra" -v b="$rb" 'BEGIN {print b / a}')" "$spread_a" "$spread_b"
  done
  echo
  echo "Rounds (req/s, in order):"
  echo
  for scenario in "${SCENARIOS[@]}"; do
    echo "- $scenario: a $(rounds_of "$WORK/rounds-$scenario-a"); b $(rounds_of "$WORK/rounds-$scenario-b")"
  done
} > "$WORK/section.md"

# Replaces the section in docs/benchmarks.md (or adds it before the soak section).
python3 - "$OUT" "$WORK/section.md" "$SECTION" <<'PY'
import sys
path, section_path, title = sys.argv[1:]
text = open(path, encoding="utf-8").read()
section = open(section_path, encoding="utf-8").read().rstrip("\n") + "\n"
parts = text.split("\n## ")
head, rest = parts[0], ["## " + p for p in parts[1:]]
rest = [p for p in rest if not p.startswith(title)]
soak = [i for i, p in enumerate(rest) if p.startswith("## Soak (make soak)")]
rest.insert(soak[0] if soak else len(rest), section)
open(path, "w", encoding="utf-8").write("\n".join([head.rstrip("\n") + "\n"] + [p.rstrip("\n") + "\n" for p in rest]))
PY
cat "$WORK/section.md"
