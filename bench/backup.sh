#!/usr/bin/env bash
# make bench-backup: how long `daisy backup` takes on a large SQLite database
# and what it costs the collection going on meanwhile; how long a restore
# takes. Writes the section "## Backup and restore (make bench-backup)" of
# docs/benchmarks.md (replacing it, or appending it; make bench keeps it).
#
# The database: BACKUP_GB (default 10) GiB of events, seeded with the sqlite3
# tool into the tables and indexes the server writes (as make bench seeds its
# 10M events), in slices of 5M events until the file is that large.
# References, measured in the same run on the same disk: `cp` of the same
# file followed by `sync` (a backup cannot be faster than copying the bytes),
# and single events sent by wrk for the same time without a backup running.
#
# Environment: BACKUP_GB, CONNECTIONS (default 64), EVENT_SESSIONS (default
# 1000000).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
BACKUP_GB="${BACKUP_GB:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
EVENT_SESSIONS="${EVENT_SESSIONS:-1000000}"
THREADS="$(nproc)"
SLICE=5000000
WORK="$(mktemp -d /tmp/daisy-bench-backup.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"
HEADING="## Backup and restore (make bench-backup)"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
pids=()
trap stop_all_and_clean EXIT

# --- the database -----------------------------------------------------------------
DATA="$WORK/data"
PORT="$(free_port)"
start_daisy "$DATA" "$PORT"
APP_ID="$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/apps" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"backup bench"}' | json_field id)"
APP_TOKEN="$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/apps/$APP_ID/token" \
  -H "Authorization: Bearer $ADMIN_TOKEN" | json_field token)"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true

seed_t0="$(now)"
seed_sessions "$DATA/daisy.db" "$EVENT_SESSIONS"
events=0
target_bytes=$((BACKUP_GB * 1024 * 1024 * 1024))
while [ "$(stat -c %s "$DATA/daisy.db")" -lt "$target_bytes" ]; do
  seed_events "$DATA/daisy.db" "$APP_ID" "$events" "$SLICE" "$EVENT_SESSIONS" 1767225600000000000
  events=$((events + SLICE))
done
seed_s="$(since "$seed_t0")"
db_bytes="$(stat -c %s "$DATA/daisy.db")"
db_gb="$(awk -v b="$db_bytes" 'BEGIN {printf "%.2f", b / 1024 / 1024 / 1024}')"
sync

# --- the copies ----------------------------------------------------------------------
t0="$(now)"
start_daisy "$DATA" "$PORT"
first_start_s="$(since "$t0")"
t0="$(now)"
cp "$DATA/daisy.db" "$WORK/reference-copy.db" && sync
cp_s="$(since "$t0")"
rm -f "$WORK/reference-copy.db"; sync

t0="$(now)"
"$DAISY" backup --data-dir "$DATA" --to "$WORK/idle.db" 2> "$WORK/backup-idle.log" > /dev/null
backup_idle_s="$(since "$t0")"
rm -f "$WORK/idle.db"; sync

# Collection alone, then the same load while a backup runs, each for the time
# the idle backup took (at least 5 s).
load_s="$(awk -v s="$backup_idle_s" 'BEGIN {printf "%d", s < 5 ? 5 : s + 0.5}')"
DURATION="$load_s" DAISY_TOKEN="$APP_TOKEN" wrk_round "$WORK/alone.txt" "http://127.0.0.1:$PORT" \
  -s "$ROOT/bench/event.lua" > "$WORK/alone"
DURATION="$load_s" DAISY_TOKEN="$APP_TOKEN" wrk_round "$WORK/during.txt" "http://127.0.0.1:$PORT" \
  -s "$ROOT/bench/event.lua" > "$WORK/during" &
wrk_pid=$!
sleep 0.5
t0="$(now)"
"$DAISY" backup --data-dir "$DATA" --to "$WORK/loaded.db" 2> "$WORK/backup-loaded.log" > /dev/null
backup_loaded_s="$(since "$t0")"
wait "$wrk_pid"
read -r rate_alone p50_alone p99_alone < "$WORK/alone"
read -r rate_during p50_during p99_during < "$WORK/during"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true

# --- the restore -------------------------------------------------------------------------
# The backup as daisy.db of an empty data dir, then a server started on it,
# until it answers /readyz.
RESTORED="$WORK/restored"
mkdir -p "$RESTORED"
t0="$(now)"
cp "$WORK/loaded.db" "$RESTORED/daisy.db"
copy_in_s="$(since "$t0")"
start_daisy "$RESTORED" "$PORT"
restore_s="$(since "$t0")"
restored_events="$(curl -sf "http://127.0.0.1:$PORT/v1/events?app_id=$APP_ID&limit=1" \
  -H "Authorization: Bearer $ADMIN_TOKEN" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true
if [ "$restored_events" != 1 ]; then
  echo "bench-backup: the restored server found no event" >&2
  exit 1
fi

# --- the report ------------------------------------------------------------------------------
mbps() { awk -v b="$db_bytes" -v s="$1" 'BEGIN {printf "%.0f", b / 1024 / 1024 / s}'; }
{
  echo "$HEADING"
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $THREADS cores, commit $(git -C "$ROOT" rev-parse --short HEAD);"
  echo "  bench/backup.sh, release build. The database: $db_gb GiB ($events events with their four indexes,"
  echo "  seeded by the sqlite3 tool in $seed_s s), on the same disk as the copies. A server's start on it until"
  echo "  /readyz answers: $first_start_s s."
  echo
  echo "| step | seconds | MB/s | ratio to cp + sync |"
  echo "|---|---|---|---|"
  echo "| reference: cp of the database file, then sync | $cp_s | $(mbps "$cp_s") | 1.00 |"
  printf '| daisy backup, server idle | %s | %s | %.2f |\n' "$backup_idle_s" "$(mbps "$backup_idle_s")" \
    "$(awk -v a="$cp_s" -v b="$backup_idle_s" 'BEGIN {print a / b}')"
  printf '| daisy backup while %d connections send single events | %s | %s | %.2f |\n' "$CONNECTIONS" \
    "$backup_loaded_s" "$(mbps "$backup_loaded_s")" "$(awk -v a="$cp_s" -v b="$backup_loaded_s" 'BEGIN {print a / b}')"
  echo "| restore: the backup copied in as daisy.db of an empty data dir | $copy_in_s | $(mbps "$copy_in_s") | - |"
  echo "| restore: that copy, then daisy serve started on it until /readyz answers 200 | $restore_s | - | - |"
  echo
  printf -- '- Collection during the backup: **%.2f** of its rate without one (%.0f against %.0f events/s over %s s;\n' \
    "$(awk -v a="$rate_during" -v b="$rate_alone" 'BEGIN {print a / b}')" "$rate_during" "$rate_alone" "$load_s"
  echo "  p99 $p99_during against $p99_alone). The copy reads the file while the server writes: both share the disk"
  echo "  and the 2 cores."
} > "$WORK/section.md"

write_section "$OUT" "$WORK/section.md" "$HEADING"
cat "$WORK/section.md"
