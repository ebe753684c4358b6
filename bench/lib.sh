# Helpers the bench scripts share (bench/run.sh, soak.sh, ab.sh, backup.sh,
# retention.sh, grpc.sh); sourced. start_daisy uses the caller's DAISY, ADMIN_TOKEN,
# WORK and pids.

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }  # seconds since a now()

# An EXIT trap: kills the processes in pids, removes WORK.
stop_all_and_clean() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {  # url
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null -m 2 "$1"; then return 0; fi
    sleep 0.1
  done
  echo "$(basename "$0"): $1 did not come up" >&2
  exit 1
}

# joined_lines FILE: the file's lines on one line, separated by "; " (a
# scenario's rounds, as the reports list them).
joined_lines() { tr '\n' ';' < "$1" | sed 's/;$//; s/;/; /g'; }

# wal_syncs PORT: "count slow seconds" of the server's WAL syncs so far, slow
# meaning over 5 ms (daisy_store_sync_seconds).
wal_syncs() {
  curl -sf "http://127.0.0.1:$1/metrics" | awk '
    $1 ~ /^daisy_store_sync_seconds_bucket\{le="0.005"\}/ {fast = $2}
    $1 == "daisy_store_sync_seconds_count" {n = $2}
    $1 == "daisy_store_sync_seconds_sum" {t = $2}
    END {print n + 0, n - fast, t + 0}'
}

# machine_ticks: "busy total" CPU ticks of the whole machine (every core) so
# far; idle and iowait are not busy.
machine_ticks() {
  awk '$1 == "cpu" {total = 0; for (i = 2; i <= 9; i++) total += $i; print total - $5 - $6, total}' /proc/stat
}

# The median of the numbers on stdin, one per line (run.sh has its own
# median, of a key's rounds).
median_of() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# admin_post PORT PATH BODY: a POST with the caller's ADMIN_TOKEN; prints the reply.
admin_post() {
  curl -sf -X POST "http://127.0.0.1:$1$2" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$3"
}

json_field() {  # field: reads JSON on stdin
  python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# wrk_round LOG URL [wrk args...]: one wrk run with THREADS threads,
# CONNECTIONS connections for DURATION s; prints "rate p50 p99". Fails on any
# reply that is not 2xx or 3xx.
wrk_round() {
  local log="$1" url="$2"; shift 2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" > "$log"
  local non2xx
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$log")"
  if [ -n "$non2xx" ]; then
    echo "$(basename "$0"): $url had $non2xx non-2xx responses" >&2
    cat "$log" >&2
    exit 1
  fi
  awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} END {print r, p50, p99}' "$log"
}

# seed_sessions DB N: N sessions, numbered 1..N, straight into the database.
seed_sessions() {
  sqlite3 "$1" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1)
INSERT INTO sessions (seq, session_id) SELECT i + 1, printf('%08x-0000-4000-8000-%012x', i, i) FROM n;
SQL
}

# seed_events DB APP FROM COUNT SESSIONS RECEIVED_NS: events FROM..FROM+COUNT-1
# of app APP, spread over SESSIONS sessions (seeded first) and a millisecond
# apart from 2026-01-01 in event time and from RECEIVED_NS in reception time,
# with their entries in the four index tables, in one transaction: the rows
# the server writes, without going through it.
seed_events() {
  sqlite3 "$1" <<SQL
PRAGMA cache_size=-2000000;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $3 UNION ALL SELECT i + 1 FROM n WHERE i < $3 + $4 - 1)
INSERT INTO events (id, app_id, session_id, session_seq, category, name, ts, data, received_at)
SELECT printf('01900000-0000-7000-8000-%012d', i), '$2',
       printf('%08x-0000-4000-8000-%012x', i % $5, i % $5), i % $5 + 1,
       'page interaction', CASE i % 4 WHEN 0 THEN 'cta click' ELSE 'pageview' END,
       1767225600000000000 + i * 1000000,
       '{"host":"example.org","path":"/pricing","element":"buy"}',
       $6 + i * 1000000
FROM n;
INSERT INTO event_idx_session SELECT session_seq, ts, seq FROM events WHERE seq > $3 ORDER BY 1, 2, 3;
INSERT INTO event_idx_time SELECT ts, seq, name FROM events WHERE seq > $3 ORDER BY 1, 2;
INSERT INTO event_idx_category SELECT category, ts, seq, name FROM events WHERE seq > $3 ORDER BY 1, 2, 3;
INSERT INTO event_idx_app SELECT app_id, ts, seq FROM events WHERE seq > $3 ORDER BY 1, 2, 3;
UPDATE event_index_state SET indexed_through = (SELECT max(seq) FROM events);
COMMIT;
SQL
}

# write_section OUT SECTION_FILE HEADING: puts the section in place of the
# one under HEADING in OUT (docs/benchmarks.md), or at its end.
write_section() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
out, section, heading = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
text = open(out).read()
if heading in text:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    text = text[:start] + section + (text[end + 1:] if end != -1 else "")
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
PY
}

# start_daisy DATA_DIR PORT [serve options...]: starts the server (pid in
# DAISY_PID, added to pids) and waits until /readyz answers: up to 10 min, as
# a start on a large database checks and recovers it first. Its gRPC port is
# $GRPC_PORT when set, else any free one.
start_daisy() {
  "$DAISY" serve --listen "127.0.0.1:$2" --grpc-listen "127.0.0.1:${GRPC_PORT:-0}" --data-dir "$1" \
    --admin-token "$ADMIN_TOKEN" "${@:3}" \
    > "$WORK/daisy-$2.out" 2> "$WORK/daisy-$2.log" &
  DAISY_PID=$!
  pids+=("$DAISY_PID")
  for _ in $(seq 1 6000); do
    if curl -sf -o /dev/null -m 2 "http://127.0.0.1:$2/readyz"; then return 0; fi
    if ! kill -0 "$DAISY_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$(basename "$0"): daisy did not start on $1:" >&2
  tail -20 "$WORK/daisy-$2.log" >&2
  exit 1
}
