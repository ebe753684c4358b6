#!/usr/bin/env bash
# make bench-grpc: the gRPC interface against the HTTP API, in the same run
# on the same server (docs/grpc.md). Writes the section
# "## gRPC (make bench-grpc)" of docs/benchmarks.md (replacing it, or
# appending it; make bench keeps it).
#
# - Events: CLIENTS (16) StreamEvents streams, 100 events per message, each
#   message sent once the previous one is acknowledged
#   (build/release/daisy_grpc_load); the reference is wrk posting the same
#   batches of 100 (bench/event_batch.lua) on as many connections. Goal: the
#   streams' rate >= 1.2x HTTP's.
# - Submissions: SUBMIT_CLIENTS (64) clients calling Submit in a loop; the
#   reference is wrk on bench/submit.lua with as many connections.
#
# Each pair runs back to back, in alternating order from round to round (the
# later round meets a larger database), after the event index has caught up.
#
# Environment: DURATION (s per round, default 10), ROUNDS (default 3; the
# median is reported), CLIENTS, SUBMIT_CLIENTS.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
LOAD="$ROOT/build/release/daisy_grpc_load"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CLIENTS="${CLIENTS:-16}"
SUBMIT_CLIENTS="${SUBMIT_CLIENTS:-64}"
THREADS="$(nproc)"
WORK="$(mktemp -d /tmp/daisy-bench-grpc.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"
HEADING="## gRPC (make bench-grpc)"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
pids=()
trap stop_all_and_clean EXIT
index_caught_up() {
  for _ in $(seq 1 1200); do
    pending="$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "daisy_event_index_pending" {print $2}')"
    if [ "$pending" = "0" ]; then return 0; fi
    sleep 0.1
  done
}

PORT="$(free_port)"
GRPC_PORT="$(free_port)"
export GRPC_PORT
start_daisy "$WORK/data" "$PORT"
APP_ID="$(admin_post "$PORT" /v1/apps '{"name":"grpc bench"}' | json_field id)"
APP_TOKEN="$(admin_post "$PORT" "/v1/apps/$APP_ID/token" '' | json_field token)"
FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"

# Each round prints "rate p50 p99"; measured adds the server's CPU time per
# unit of the rate (µs of user + system time per event or submission).
server_ticks() { awk '{print $14 + $15}' "/proc/$DAISY_PID/stat"; }
measured() {  # FILE FUNCTION [args]: appends "rate p50 p99 cpu_us" to $WORK/FILE
  local file="$1" t0 t1 line; shift
  t0="$(server_ticks)"
  line="$("$@")"
  t1="$(server_ticks)"
  echo "$line" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
    '{printf "%s %s %s %.1f\n", $1, $2, $3, t / hz * 1e6 / ($1 * d)}' >> "$WORK/$file"
}
http_batch() {
  DAISY_TOKEN="$APP_TOKEN" CONNECTIONS="$CLIENTS" wrk_round "$WORK/wrk.txt" "http://127.0.0.1:$PORT" \
    -s "$ROOT/bench/event_batch.lua" | awk '{printf "%.0f %s %s\n", $1 * 100, $2, $3}'
}
grpc_stream() {  # [messages ahead of their acks]
  "$LOAD" stream "127.0.0.1:$GRPC_PORT" "$APP_TOKEN" "$CLIENTS" 100 "$DURATION" "${1:-1}" |
    awk '{printf "%s %.2fms %.2fms\n", $2, $3, $4}'
}
http_submit() {
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$FORM_ID" CONNECTIONS="$SUBMIT_CLIENTS" wrk_round "$WORK/wrk.txt" \
    "http://127.0.0.1:$PORT" -s "$ROOT/bench/submit.lua"
}
grpc_submit() {
  "$LOAD" submit "127.0.0.1:$GRPC_PORT" "$APP_TOKEN" "$SUBMIT_CLIENTS" "$FORM_ID" "$DURATION" |
    awk '{printf "%s %.2fms %.2fms\n", $1, $3, $4}'
}
events_http() { index_caught_up; measured http-batch http_batch; }
events_grpc() { index_caught_up; measured grpc-stream grpc_stream 1; }

for round in $(seq 1 "$ROUNDS"); do
  echo "bench-grpc: round $round/$ROUNDS" >&2
  if [ $((round % 2)) -eq 1 ]; then
    events_http; events_grpc; measured http-submit http_submit; measured grpc-submit grpc_submit
  else
    events_grpc; events_http; measured grpc-submit grpc_submit; measured http-submit http_submit
  fi
  index_caught_up
  measured grpc-stream-ahead grpc_stream 4
done
events_stored="$(curl -sf "http://127.0.0.1:$PORT/v1/events?limit=1" -H "Authorization: Bearer $ADMIN_TOKEN" > /dev/null && echo ok)"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true

col() { awk -v c="$1" '{print $c}' "$2" | median_of; }
at_median() {  # file: the p50 and p99 of the round whose rate is the median
  local m; m="$(col 1 "$1")"
  awk -v m="$m" '$1 == m {print $2 ", p99 " $3; exit}' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
{
  echo "$HEADING"
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $THREADS cores, commit $(git -C "$ROOT" rev-parse --short HEAD);"
  echo "  bench/grpc.sh, release build, SQLite with synchronous=FULL. Rounds of $DURATION s, the median of $ROUNDS;"
  echo "  each pair back to back on the same server, in alternating order. The reference of each gRPC figure is"
  echo "  the HTTP API doing the same work in the same run (not nginx: the question is what the transport costs)."
  echo "  Load generators: wrk ($THREADS threads) and build/release/daisy_grpc_load (a thread per client), on the"
  echo "  same $THREADS cores as the server."
  echo
  echo "| load | HTTP (rate; p50, p99; server CPU per unit) | gRPC (rate; p50, p99; server CPU per unit) | gRPC / HTTP | goal |"
  echo "|---|---|---|---|---|"
  printf '| events in messages of 100, %s clients (events/s) | %.0f; %s; %s µs | %.0f; %s; %s µs | **%s** | >= 1.2 |\n' \
    "$CLIENTS" "$(col 1 "$WORK/http-batch")" "$(at_median "$WORK/http-batch")" "$(col 4 "$WORK/http-batch")" \
    "$(col 1 "$WORK/grpc-stream")" "$(at_median "$WORK/grpc-stream")" "$(col 4 "$WORK/grpc-stream")" \
    "$(ratio "$(col 1 "$WORK/grpc-stream")" "$(col 1 "$WORK/http-batch")")"
  printf '| the same, each stream 4 messages ahead of its acks (events/s) | | %.0f; %s; %s µs | %s | - |\n' \
    "$(col 1 "$WORK/grpc-stream-ahead")" "$(at_median "$WORK/grpc-stream-ahead")" "$(col 4 "$WORK/grpc-stream-ahead")" \
    "$(ratio "$(col 1 "$WORK/grpc-stream-ahead")" "$(col 1 "$WORK/http-batch")")"
  printf '| form submissions (10 questions, 2 rules), %s clients (per s) | %.0f; %s; %s µs | %.0f; %s; %s µs | **%s** | - |\n' \
    "$SUBMIT_CLIENTS" "$(col 1 "$WORK/http-submit")" "$(at_median "$WORK/http-submit")" "$(col 4 "$WORK/http-submit")" \
    "$(col 1 "$WORK/grpc-submit")" "$(at_median "$WORK/grpc-submit")" "$(col 4 "$WORK/grpc-submit")" \
    "$(ratio "$(col 1 "$WORK/grpc-submit")" "$(col 1 "$WORK/http-submit")")"
  echo
  echo "- HTTP: POST /v1/events with {\"events\": [...]} (bench/event_batch.lua), one request per connection at a"
  echo "  time; gRPC: one StreamEvents stream per client, the next message sent once the previous one's Ack"
  echo "  came (the ack follows the commit). The same events: 100 sessions per message, pageview data checked"
  echo "  against its schema, timestamps in the current second."
  echo "- Server CPU per unit: the server process's user and system time during the round over what it"
  echo "  acknowledged (the medians of the rounds), so the load generators' share of the cores is left out."
  echo "- Per round (rate p50 p99 µs): HTTP batches: $(joined_lines "$WORK/http-batch");"
  echo "  gRPC streams: $(joined_lines "$WORK/grpc-stream");"
  echo "  gRPC streams 4 ahead: $(joined_lines "$WORK/grpc-stream-ahead");"
  echo "  HTTP submit: $(joined_lines "$WORK/http-submit");"
  echo "  gRPC Submit: $(joined_lines "$WORK/grpc-submit")."
} > "$WORK/section.md"
[ "$events_stored" = ok ] || { echo "bench-grpc: the server did not answer at the end" >&2; exit 1; }

write_section "$OUT" "$WORK/section.md" "$HEADING"
cat "$WORK/section.md"
