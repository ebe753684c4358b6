#!/usr/bin/env bash
# make bench-retention: what a retention pass deleting RETENTION_EVENTS (10
# million) expired events costs the collection going on meanwhile. Writes the
# section "## Retention (make bench-retention)" of docs/benchmarks.md
# (replacing it, or appending it; make bench keeps it).
#
# The database: RETENTION_EVENTS events received 60 days ago, seeded with the
# sqlite3 tool into the tables and indexes the server writes (as make bench
# seeds its 10M events). The reference, measured in the same run on the same
# database: single events and form submissions sent by wrk with retention off.
# Then the server restarts with --event-retention-days 30, and the same rounds
# run while its pass deletes the old events.
#
# Environment: RETENTION_EVENTS, DURATION (s per round, default 10), ROUNDS
# (default 3; the median is reported), CONNECTIONS (default 64),
# EVENT_SESSIONS (default 1000000), PASS_WAIT (s to wait for the pass to end
# after the rounds, default 1800).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
RETENTION_EVENTS="${RETENTION_EVENTS:-10000000}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
EVENT_SESSIONS="${EVENT_SESSIONS:-1000000}"
PASS_WAIT="${PASS_WAIT:-1800}"
THREADS="$(nproc)"
WORK="$(mktemp -d /tmp/daisy-bench-retention.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"
HEADING="## Retention (make bench-retention)"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
pids=()
trap stop_all_and_clean EXIT
deleted_events() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "daisy_retention_deleted_total{kind=\"events\"}" {print $2}'
}

# --- the database -----------------------------------------------------------------
DATA="$WORK/data"
PORT="$(free_port)"
start_daisy "$DATA" "$PORT"
APP_ID="$(admin_post "$PORT" /v1/apps '{"name":"retention bench"}' | json_field id)"
APP_TOKEN="$(admin_post "$PORT" "/v1/apps/$APP_ID/token" '' | json_field token)"
FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true

seed_t0="$(now)"
received_ns="$((($(date +%s) - 60 * 86400) * 1000000000))"
seed_sessions "$DATA/daisy.db" "$EVENT_SESSIONS"
seed_events "$DATA/daisy.db" "$APP_ID" 0 "$RETENTION_EVENTS" "$EVENT_SESSIONS" "$received_ns"
seed_s="$(since "$seed_t0")"
db_before="$(stat -c %s "$DATA/daisy.db")"
sync
cat "$DATA/daisy.db" > /dev/null  # in the page cache for both halves alike

# rounds NAME: ROUNDS rounds of single events, then of submissions; each
# round's "rate p50 p99" in $WORK/NAME-event and $WORK/NAME-submit.
rounds() {
  : > "$WORK/$1-event"
  : > "$WORK/$1-submit"
  for round in $(seq 1 "$ROUNDS"); do
    DAISY_TOKEN="$APP_TOKEN" wrk_round "$WORK/wrk.txt" "http://127.0.0.1:$PORT" -s "$ROOT/bench/event.lua" \
      >> "$WORK/$1-event"
    DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$FORM_ID" wrk_round "$WORK/wrk.txt" "http://127.0.0.1:$PORT" \
      -s "$ROOT/bench/submit.lua" >> "$WORK/$1-submit"
  done
}

# --- retention off, then on ----------------------------------------------------------------
start_daisy "$DATA" "$PORT"
rounds off
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true

start_daisy "$DATA" "$PORT" --event-retention-days 30 --retention-interval 86400
pass_t0="$(now)"
for _ in $(seq 1 600); do
  if [ "$(deleted_events)" != 0 ]; then break; fi
  sleep 0.1
done
before_rounds="$(deleted_events)"
rounds_t0="$(now)"
rounds on
rounds_s="$(since "$rounds_t0")"
after_rounds="$(deleted_events)"
if [ "$after_rounds" -ge "$RETENTION_EVENTS" ]; then
  echo "bench-retention: the pass ended during the rounds; the rounds did not all run beside it" >&2
  exit 1
fi
# The rest of the pass, without load.
for _ in $(seq 1 "$PASS_WAIT"); do
  if [ "$(deleted_events)" -ge "$RETENTION_EVENTS" ]; then break; fi
  sleep 1
done
pass_s="$(since "$pass_t0")"
deleted_total="$(deleted_events)"
db_after="$(stat -c %s "$DATA/daisy.db")"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true
free_pages="$(sqlite3 "$DATA/daisy.db" 'PRAGMA freelist_count')"
page_size="$(sqlite3 "$DATA/daisy.db" 'PRAGMA page_size')"
left="$(sqlite3 "$DATA/daisy.db" "SELECT count(*) FROM events WHERE received_at <= $received_ns + $RETENTION_EVENTS * 1000000")"

# --- the report ------------------------------------------------------------------------------
col() { awk -v c="$1" '{print $c}' "$2" | median_of; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
gib() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1024 / 1024 / 1024}'; }
{
  echo "$HEADING"
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $THREADS cores, commit $(git -C "$ROOT" rev-parse --short HEAD);"
  echo "  bench/retention.sh, release build. The database: $RETENTION_EVENTS events received 60 days ago, with"
  echo "  their four indexes ($(gib "$db_before") GiB, seeded by the sqlite3 tool in $seed_s s). Rounds of $DURATION s,"
  echo "  $CONNECTIONS connections, the median of $ROUNDS; the reference is the same rounds on the same database with"
  echo "  retention off, then the server restarts with \`--event-retention-days 30\` and they run again while its"
  echo "  pass deletes the old events."
  echo
  echo "| load | retention off (req/s, p99) | while the pass deletes (req/s, p99) | ratio | goal |"
  echo "|---|---|---|---|---|"
  for kind in event submit; do
    label="single events (POST /v1/events)"
    [ "$kind" = submit ] && label="form submissions (10 questions, 2 rules)"
    off="$(col 1 "$WORK/off-$kind")"; on="$(col 1 "$WORK/on-$kind")"
    printf '| %s | %.0f, %s | %.0f, %s | **%s** | >= 0.8 |\n' "$label" "$off" "$(col 3 "$WORK/off-$kind")" \
      "$on" "$(col 3 "$WORK/on-$kind")" "$(ratio "$on" "$off")"
  done
  echo
  printf -- '- The pass deleted %s events during the %s s of rounds (%.0f events/s beside the load) and %s in all\n' \
    "$((after_rounds - before_rounds))" "$rounds_s" \
    "$(awk -v d="$((after_rounds - before_rounds))" -v s="$rounds_s" 'BEGIN {print d / s}')" "$deleted_total"
  printf '  in %s s (%.0f events/s over the whole pass); %s of the old events were left.\n' "$pass_s" \
    "$(awk -v d="$deleted_total" -v s="$pass_s" 'BEGIN {print d / s}')" "$left"
  echo "- The file: $(gib "$db_before") GiB before, $(gib "$db_after") GiB after, with $(gib "$((free_pages * page_size))" ) GiB"
  echo "  of free pages that new rows reuse (docs/operations.md, Reclaiming space)."
} > "$WORK/section.md"

write_section "$OUT" "$WORK/section.md" "$HEADING"
cat "$WORK/section.md"
