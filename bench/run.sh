#!/usr/bin/env bash
# make bench: measures Daisy against references run on the same machine in the
# same run, and writes docs/benchmarks.md. Every load targets 127.0.0.1, is
# bounded in time, and stops by itself.
#
# References: nginx returning a constant body (the ceiling of this machine's
# HTTP) for request rates; the sqlite3 command-line tool writing the same rows
# as CSV for the export.
#
# Environment: DURATION (s per wrk run, default 10), ROUNDS (default 3; the
# median round is reported), CONNECTIONS (default 64), EXPORT_ROWS (default
# 1000000), EVENT_ROWS (events seeded for the session query, default 10000000),
# EVENT_SESSIONS (sessions they belong to, default 1000000), FEED_PLANS and
# FEED_ZONES (the provider feed pulled and searched, default 10000 x 100),
# STREAMS and STREAMS_ACTIVE (live streams open beside a submit round, and
# how many of them get every response; default 1000 and 10),
# BENCH_BASELINE (a commit whose docs/benchmarks.md the report is compared
# with, side by side; default the report this run replaces).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
STREAM_PROBE="$ROOT/build/release/daisy_stream_probe"
DURATION="${DURATION:-10}"
STREAMS="${STREAMS:-1000}"              # live streams open in the submit_streams rounds
STREAMS_ACTIVE="${STREAMS_ACTIVE:-10}"  # of which these get every response
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
EXPORT_ROWS="${EXPORT_ROWS:-1000000}"
EVENT_ROWS="${EVENT_ROWS:-10000000}"
EVENT_SESSIONS="${EVENT_SESSIONS:-1000000}"
FEED_PLANS="${FEED_PLANS:-10000}"
FEED_ZONES="${FEED_ZONES:-100}"
THREADS="$(nproc)"
WORK="$(mktemp -d /tmp/daisy-bench.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${PG_DIR:-}" ]; then "$ROOT/tests/postgres_server.sh" destroy "$PG_DIR" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

stop_daisy() {  # pid
  kill -TERM "$1"
  wait "$1" 2>/dev/null || true
}


admin_patch() {  # port path body
  curl -sf -X PATCH "http://127.0.0.1:$1$2" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$3" > /dev/null
}

# --- the servers --------------------------------------------------------------
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
sed -e "s#@DIR@#$WORK/nginx#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@WORKERS@#$THREADS#g" \
  "$ROOT/bench/nginx.conf.in" > "$WORK/nginx/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
pids+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"

PORT="$(free_port)"
# --allow-private-targets: the webhooks of the actions scenario go to nginx on loopback.
start_daisy "$WORK/daisy-data" "$PORT" --allow-private-targets
BASE="http://127.0.0.1:$PORT"
APP_ID="$(admin_post "$PORT" /v1/apps '{"name":"bench"}' | json_field id)"
APP_TOKEN="$(admin_post "$PORT" "/v1/apps/$APP_ID/token" '' | json_field token)"
FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
MAIN_PID="$DAISY_PID"
# The same form again, with two async webhook integrations (to nginx): every
# submission makes two jobs, delivered while the submissions go on.
ACTIONS_FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
for hook in a b; do
  admin_post "$PORT" /v1/integrations "{\"name\":\"bench-$hook\",\"source\":{\"form_id\":\"$ACTIONS_FORM_ID\"},\"type\":\"webhook\",\"config\":{\"url\":\"http://127.0.0.1:$NGINX_PORT/hook-$hook\"}}" > /dev/null
done
# The same form with a sync script integration (the slang lookup on a table
# of 10,000 places), and another with the same script async.
SCRIPT_FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
ASYNC_SCRIPT_FORM_ID="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
for mode in sync async; do
  form="$SCRIPT_FORM_ID"; [ "$mode" = async ] && form="$ASYNC_SCRIPT_FORM_ID"
  # The definition (600 KB) goes through a file: one argument may not pass 128 KiB.
  /usr/bin/python3 "$ROOT/bench/slang_script.py" "$form" "$mode" > "$WORK/slang-$mode.json"
  admin_post "$PORT" /v1/integrations "@$WORK/slang-$mode.json" > /dev/null
done
# The script must answer, or the round would measure failures.
curl -sf -X POST "$BASE/v1/forms/$SCRIPT_FORM_ID/responses" -H "Authorization: Bearer $APP_TOKEN" \
  -H 'Content-Type: application/json' -d '{"answers":{"name":"Ada Lovelace","age":36,"region":"north"}}' |
  grep -q '"output":{"slang":"the countess of the north"}' || { echo "bench: the sync script did not answer" >&2; exit 1; }
: > "$WORK/rounds-scripts"
# jobs_metric NAME: a job series of the main server's /metrics
jobs_metric() { curl -s "$BASE/metrics" | awk -v s="$1" '$1 == s {print $2}'; }
jobs_open() {
  curl -s "$BASE/metrics" | awk '/^daisy_jobs\{status="(pending|running|failed)"\}/ {n += $2} END {print n + 0}'
}
SUCCEEDED='daisy_job_attempts_total{outcome="succeeded"}'
: > "$WORK/rounds-deliveries"
: > "$WORK/rounds-stream-probe"
# The event scenarios get a server and database of their own, so the millions
# of events they write do not weigh on the form figures (and the reverse).
EV_PORT="$(free_port)"
start_daisy "$WORK/events-data" "$EV_PORT"
EV_PID="$DAISY_PID"
EV_BASE="http://127.0.0.1:$EV_PORT"
EV_APP_ID="$(admin_post "$EV_PORT" /v1/apps '{"name":"bench-events"}' | json_field id)"
EV_APP_TOKEN="$(admin_post "$EV_PORT" "/v1/apps/$EV_APP_ID/token" '' | json_field token)"
# The same app's publishable key, as a page sends it (issue 22): from an allowed
# origin, with a rate limit high enough never to refuse the load.
EV_ORIGIN="https://www.bench.example"
EV_APP_KEY="$(curl -sf -X PATCH "$EV_BASE/v1/apps/$EV_APP_ID" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' \
  --data-binary "{\"allowed_origins\":[\"$EV_ORIGIN\"],\"rate_limit\":{\"events_per_second\":1000000,\"burst\":10000000}}" |
  json_field publishable_key)"

# --- request rates --------------------------------------------------------------
# run_wrk KEY URL [wrk args...]: one round, appends "rate p50 p99" to rounds-KEY
run_wrk() {
  local key="$1"; shift
  local figures
  figures="$(wrk_round "$WORK/wrk-$key-$RANDOM.txt" "$@")"
  echo "$figures" >> "$WORK/rounds-$key"
}

declare -A CMD LABEL GOAL
KEYS=(nginx healthz get_app submit submit_actions submit_script submit_streams nginx_post event event_batch
  event_key event_new_ids event_repeat_ids)
CMD[nginx]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:<nginx>/healthz"
CMD[healthz]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:<daisy>/healthz"
CMD[get_app]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -H 'Authorization: Bearer <admin>' http://127.0.0.1:<daisy>/v1/apps/<id>"
CMD[submit]="DAISY_TOKEN=<app token> DAISY_FORM=<id> wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/submit.lua http://127.0.0.1:<daisy>"
CMD[nginx_post]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/event.lua http://127.0.0.1:<nginx>"
CMD[event]="DAISY_TOKEN=<app token> wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/event.lua http://127.0.0.1:<daisy>"
CMD[event_batch]="DAISY_TOKEN=<app token> wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/event_batch.lua http://127.0.0.1:<daisy>"
LABEL[nginx]="nginx constant body (ceiling)"
LABEL[nginx_post]="nginx POST of one event, body discarded, constant 202 (POST ceiling)"
LABEL[event]="Daisy POST /v1/events, one event per request (schema-checked, synchronous=FULL)"
LABEL[event_batch]="Daisy POST /v1/events, batches of 100 events"
CMD[event_key]="DAISY_TOKEN=<publishable key> DAISY_ORIGIN=$EV_ORIGIN wrk ... -s bench/event.lua http://127.0.0.1:<daisy>"
CMD[event_new_ids]="DAISY_TOKEN=<app token> DAISY_EVENT_IDS=new wrk ... -s bench/event.lua http://127.0.0.1:<daisy>"
CMD[event_repeat_ids]="DAISY_TOKEN=<app token> DAISY_EVENT_IDS=repeat wrk ... -s bench/event.lua http://127.0.0.1:<daisy>"
LABEL[event_key]="the same with the publishable key from an allowed origin (CORS headers, token bucket)"
LABEL[event_new_ids]="the same with a client id on each event, never sent before"
LABEL[event_repeat_ids]="the same with client ids already stored (each acknowledged, not stored again)"
GOAL[event_key]=">= 0.95 of the token's rate"
GOAL[event_new_ids]="-"
GOAL[event_repeat_ids]=">= 0.95 of new ids' rate"
GOAL[nginx_post]="-"
GOAL[event]="ratio to nginx POST >= 0.70, p99 < 10 ms"
GOAL[event_batch]=">= 500,000 events/s"
LABEL[healthz]="Daisy GET /healthz"
LABEL[get_app]="Daisy GET /v1/apps/{id} (admin token, SQLite read)"
LABEL[submit]="Daisy POST /v1/forms/{id}/responses (10 questions, 2 rules, app token, synchronous=FULL)"
GOAL[nginx]="-"
GOAL[healthz]="ratio >= 0.80"
GOAL[get_app]="-"
GOAL[submit]="ratio >= 0.30, p99 < 20 ms"
LABEL[submit_actions]="the same on a form with two async webhook integrations (two jobs per response; deliveries give way while the round lasts)"
GOAL[submit_actions]="rate >= 0.85 of the row above"
CMD[submit_actions]="the same wrk command, DAISY_FORM=<form with two integrations>"
LABEL[submit_script]="the same on a form with one sync script integration (Lua slang lookup in a 10,000-entry ctx.data table; its output in each reply)"
GOAL[submit_script]="rate >= 0.80 of the submit row"
CMD[submit_script]="the same wrk command, DAISY_FORM=<form with a sync script integration>"
LABEL[submit_streams]="the same as the submit row while $STREAMS live streams are open (GET /v1/stream: $((STREAMS - STREAMS_ACTIVE)) on another form, $STREAMS_ACTIVE receiving every response)"
GOAL[submit_streams]="rate >= 0.80 of the submit row"
CMD[submit_streams]="the submit command, beside build/release/daisy_stream_probe <port> <admin> $((DURATION + 3)) types=response.created\&form_id=<other> $((STREAMS - STREAMS_ACTIVE)) types=response.created\&form_id=<id> $STREAMS_ACTIVE"
LABEL[search]="Daisy GET /search (public, from memory), provider up"
LABEL[search_down]="the same, provider down (connection refused)"
LABEL[search_hang]="the same, provider hanging"
LABEL[search_latency]="the same as the first, 8 connections (below saturation)"
for key in search search_down search_hang; do
  GOAL[$key]="ratio >= 0.70, p99 < 5 ms"
  CMD[$key]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/search.lua http://127.0.0.1:<daisy>"
done
GOAL[search_latency]="-"
CMD[search_latency]="wrk -t$THREADS -c8 -d${DURATION}s --latency -s bench/search.lua http://127.0.0.1:<daisy>"

for round in $(seq 1 "$ROUNDS"); do
  echo "bench: round $round/$ROUNDS" >&2
  run_wrk nginx "http://127.0.0.1:$NGINX_PORT/healthz"
  run_wrk healthz "$BASE/healthz"
  run_wrk get_app "$BASE/v1/apps/$APP_ID" -H "Authorization: Bearer $ADMIN_TOKEN"
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$FORM_ID" run_wrk submit "$BASE" -s "$ROOT/bench/submit.lua"
  # Right after the row it is compared with, before the webhook and script
  # jobs' rounds (their drains leave the database busier for a while).
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$SCRIPT_FORM_ID" run_wrk submit_script "$BASE" -s "$ROOT/bench/submit.lua"
  # The same submissions while live streams are open: most watch another
  # form (no submissions there this round), a few get every response.
  "$STREAM_PROBE" "$PORT" "$ADMIN_TOKEN" "$((DURATION + 3))" "types=response.created&form_id=$SCRIPT_FORM_ID" \
    "$((STREAMS - STREAMS_ACTIVE))" "types=response.created&form_id=$FORM_ID" "$STREAMS_ACTIVE" \
    >> "$WORK/rounds-stream-probe" &
  probe_pid=$!
  sleep 2  # every stream open before the round starts
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$FORM_ID" run_wrk submit_streams "$BASE" -s "$ROOT/bench/submit.lua"
  wait "$probe_pid"
  delivered0="$(jobs_metric "$SUCCEEDED")"
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$ACTIONS_FORM_ID" run_wrk submit_actions "$BASE" -s "$ROOT/bench/submit.lua"
  # The jobs left when the round ended are delivered before the next
  # scenario starts: the rate of that drain is the delivery figure.
  drain_t0="$(date +%s.%N)"
  delivered1="$(jobs_metric "$SUCCEEDED")"
  backlog="$(jobs_open)"
  for _ in $(seq 1 1200); do [ "$(jobs_open)" = "0" ] && break; sleep 0.1; done
  delivered2="$(jobs_metric "$SUCCEEDED")"
  awk -v a="$delivered0" -v b="$delivered1" -v c="$delivered2" -v t0="$drain_t0" -v t1="$(date +%s.%N)" \
    -v d="$DURATION" -v q="$backlog" \
    'BEGIN {printf "%.0f %.0f %d %.1f\n", (b - a) / d, (t1 - t0 > 0.5 ? (c - b) / (t1 - t0) : 0), q, t1 - t0}' \
    >> "$WORK/rounds-deliveries"
  # Async scripts: a round of submissions making one script job each, then the
  # rate at which the runner drains what is left.
  done0="$(jobs_metric "$SUCCEEDED")"
  DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$ASYNC_SCRIPT_FORM_ID" wrk_round "$WORK/wrk-async-script-$RANDOM.txt" \
    "$BASE" -s "$ROOT/bench/submit.lua" > /dev/null
  script_t0="$(date +%s.%N)"
  done1="$(jobs_metric "$SUCCEEDED")"
  script_backlog="$(jobs_open)"
  for _ in $(seq 1 1200); do [ "$(jobs_open)" = "0" ] && break; sleep 0.1; done
  done2="$(jobs_metric "$SUCCEEDED")"
  awk -v a="$done0" -v b="$done1" -v c="$done2" -v t0="$script_t0" -v t1="$(date +%s.%N)" -v d="$DURATION" \
    -v q="$script_backlog" \
    'BEGIN {printf "%.0f %.0f %d %.1f\n", (b - a) / d, (t1 - t0 > 0.5 ? (c - b) / (t1 - t0) : 0), q, t1 - t0}' \
    >> "$WORK/rounds-scripts"
  run_wrk nginx_post "http://127.0.0.1:$NGINX_PORT" -s "$ROOT/bench/event.lua"
  # Each pair compared is run back to back, before the batch round (whose
  # million events' index entries are written behind it and would weigh on
  # whichever round follows).
  # The token and the key take turns going first (the later round of a pair
  # meets a larger table and more index entries to write).
  if [ $((round % 2)) -eq 1 ]; then
    DAISY_TOKEN="$EV_APP_TOKEN" run_wrk event "$EV_BASE" -s "$ROOT/bench/event.lua"
    DAISY_TOKEN="$EV_APP_KEY" DAISY_ORIGIN="$EV_ORIGIN" run_wrk event_key "$EV_BASE" -s "$ROOT/bench/event.lua"
  else
    DAISY_TOKEN="$EV_APP_KEY" DAISY_ORIGIN="$EV_ORIGIN" run_wrk event_key "$EV_BASE" -s "$ROOT/bench/event.lua"
    DAISY_TOKEN="$EV_APP_TOKEN" run_wrk event "$EV_BASE" -s "$ROOT/bench/event.lua"
  fi
  DAISY_TOKEN="$EV_APP_TOKEN" DAISY_EVENT_IDS=new run_wrk event_new_ids "$EV_BASE" -s "$ROOT/bench/event.lua"
  DAISY_TOKEN="$EV_APP_TOKEN" DAISY_EVENT_IDS=repeat run_wrk event_repeat_ids "$EV_BASE" -s "$ROOT/bench/event.lua"
  DAISY_TOKEN="$EV_APP_TOKEN" run_wrk event_batch "$EV_BASE" -s "$ROOT/bench/event_batch.lua"
done
EVENTS_202="$(curl -s "$EV_BASE/metrics" |
  awk 'index($0, "daisy_http_requests_total{route=\"POST /v1/events\",status=\"202\"}") == 1 {print $NF}')"
# The event index writes entries in bulk behind the commits (bounded by
# backpressure): how far behind it was when the last batch round ended, and
# how long it took to catch up.
ev_pending() { curl -s "$EV_BASE/metrics" | awk '$1 == "daisy_event_index_pending" {print $2}'; }
EV_PENDING_END="$(ev_pending)"
catch_t0="$(date +%s.%N)"
for _ in $(seq 1 600); do [ "$(ev_pending)" = "0" ] && break; sleep 0.1; done
EV_CATCH_UP_S="$(awk -v a="$catch_t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')"
SUBMITTED="$(curl -s "$BASE/metrics" | awk -F'[{} ]' '/^daisy_http_requests_total/ && /POST \/v1\/forms\/\{id\}\/responses/ && /status="201"/ {print $NF}')"
stop_daisy "$EV_PID"
EVENTS_STORED="$(sqlite3 "$WORK/events-data/daisy.db" 'SELECT count(*) FROM events')"
rm -rf "$WORK/events-data"
stop_daisy "$MAIN_PID"

median() {  # key -> "rate p50 p99" of the median-rate round
  sort -n -k1,1 "$WORK/rounds-$1" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}
nginx_rate="$(median nginx | awk '{print $1}')"
nginx_post_rate="$(median nginx_post | awk '{print $1}')"

# --- PostgreSQL beside SQLite: one node, then two ------------------------------------
# A PostgreSQL 15 from Debian's package in $WORK (fsync on: a 201/202 is in its
# WAL, as SQLite's is synced), one database; the same loads as the SQLite rows
# above, on one Daisy node, then on two nodes sharing the database (two wrk at
# once, half the connections each; the rates are summed).
# Its own directory: $WORK is private to this user, and the server may run as postgres.
PG_DIR="$(mktemp -d /tmp/daisy-bench-pg.XXXXXX)"
PG_URI="$("$ROOT/tests/postgres_server.sh" start "$PG_DIR" | tail -1)"
psql -q "${PG_URI}postgres" -c 'CREATE DATABASE bench'
PG_DB="${PG_URI}bench"
PG_A_PORT="$(free_port)"
start_daisy "$WORK/pg-node-a" "$PG_A_PORT" --db "$PG_DB"
PG_A_PID="$DAISY_PID"
PG_A="http://127.0.0.1:$PG_A_PORT"
PG_APP_ID="$(admin_post "$PG_A_PORT" /v1/apps '{"name":"bench-pg"}' | json_field id)"
PG_APP_TOKEN="$(admin_post "$PG_A_PORT" "/v1/apps/$PG_APP_ID/token" '' | json_field token)"
PG_FORM_ID="$(admin_post "$PG_A_PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"

# run_wrk_pair KEY URL_A URL_B [wrk args...]: one round against two nodes at
# once; appends "summed-rate p50a/p50b p99a/p99b" to rounds-KEY
run_wrk_pair() {
  local key="$1" a="$2" b="$3"; shift 3
  local la="$WORK/wrk-$key-a-$RANDOM.txt" lb="$WORK/wrk-$key-b-$RANDOM.txt"
  local threads=$(( THREADS > 1 ? THREADS / 2 : 1 )) half=$(( CONNECTIONS / 2 ))
  wrk -t"$threads" -c"$half" -d"${DURATION}s" --latency "$@" "$a" > "$la" &
  local first=$!
  wrk -t"$threads" -c"$half" -d"${DURATION}s" --latency "$@" "$b" > "$lb"
  wait "$first"
  for log in "$la" "$lb"; do
    if grep -q "Non-2xx or 3xx responses:" "$log"; then
      echo "bench: $key had non-2xx responses" >&2
      cat "$log" >&2
      exit 1
    fi
  done
  paste <(awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} END {print r, p50, p99}' "$la") \
        <(awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} END {print r, p50, p99}' "$lb") |
    awk '{printf "%.2f %s/%s %s/%s\n", $1 + $4, $2, $5, $3, $6}' >> "$WORK/rounds-$key"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "bench: PostgreSQL, one node, round $round/$ROUNDS" >&2
  DAISY_TOKEN="$PG_APP_TOKEN" DAISY_FORM="$PG_FORM_ID" run_wrk pg_submit "$PG_A" -s "$ROOT/bench/submit.lua"
  DAISY_TOKEN="$PG_APP_TOKEN" run_wrk pg_event "$PG_A" -s "$ROOT/bench/event.lua"
  DAISY_TOKEN="$PG_APP_TOKEN" run_wrk pg_event_batch "$PG_A" -s "$ROOT/bench/event_batch.lua"
done
PG_B_PORT="$(free_port)"
start_daisy "$WORK/pg-node-b" "$PG_B_PORT" --db "$PG_DB"
PG_B_PID="$DAISY_PID"
PG_B="http://127.0.0.1:$PG_B_PORT"
# The app token was issued through node a: b learns it within a poll.
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PG_APP_TOKEN" "$PG_B/v1/events?limit=1")" != 401 ] && break
  sleep 0.1
done
for round in $(seq 1 "$ROUNDS"); do
  echo "bench: PostgreSQL, two nodes, round $round/$ROUNDS" >&2
  DAISY_TOKEN="$PG_APP_TOKEN" DAISY_FORM="$PG_FORM_ID" run_wrk_pair pg2_submit "$PG_A" "$PG_B" -s "$ROOT/bench/submit.lua"
  DAISY_TOKEN="$PG_APP_TOKEN" run_wrk_pair pg2_event "$PG_A" "$PG_B" -s "$ROOT/bench/event.lua"
  DAISY_TOKEN="$PG_APP_TOKEN" run_wrk_pair pg2_event_batch "$PG_A" "$PG_B" -s "$ROOT/bench/event_batch.lua"
done
PG_EVENTS_STORED="$(psql -qtA "$PG_DB" -c 'SELECT count(*) FROM events')"
PG_RESPONSES_STORED="$(psql -qtA "$PG_DB" -c 'SELECT count(*) FROM responses')"
stop_daisy "$PG_A_PID"
stop_daisy "$PG_B_PID"
"$ROOT/tests/postgres_server.sh" destroy "$PG_DIR"
PG_DIR=""

# --- one session among many stored events ------------------------------------------
SESSION_PORT="$(free_port)"
SESSION_DIR="$WORK/session-data"
start_daisy "$SESSION_DIR" "$SESSION_PORT"
SESSION_APP="$(admin_post "$SESSION_PORT" /v1/apps '{"name":"seed"}' | json_field id)"
stop_daisy "$DAISY_PID"
# Seeded straight into the database (the same rows and index tables the
# server writes): EVENT_ROWS events, EVENT_SESSIONS sessions, interleaved in
# time the way concurrent visitors are.
seed_t0="$(date +%s.%N)"
seed_sessions "$SESSION_DIR/daisy.db" "$EVENT_SESSIONS"
seed_events "$SESSION_DIR/daisy.db" "$SESSION_APP" 0 "$EVENT_ROWS" "$EVENT_SESSIONS" 1767225600000000000
seed_exact="$(awk -v a="$seed_t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.3f", b - a}')"
seed_s="$(awk -v s="$seed_exact" 'BEGIN {printf "%.0f", s}')"
sync  # write the seeded file back now, not while the rounds are measured
# This machine reclaims cold file pages on its own (seen: a 3 GB file read
# from disk again minutes after it was written), so the file is read into the
# page cache first: the figure is the query's, not the disk's.
cat "$SESSION_DIR/daisy.db" > /dev/null
start_daisy "$SESSION_DIR" "$SESSION_PORT"
# Warm-up, not recorded: the first seconds after a start fill the readers' page caches.
DAISY_TOKEN="$ADMIN_TOKEN" DAISY_SESSIONS="$EVENT_SESSIONS" wrk -t"$THREADS" -c"$CONNECTIONS" -d5s \
  -s "$ROOT/bench/session.lua" "http://127.0.0.1:$SESSION_PORT" > /dev/null
: > "$WORK/rounds-session"
: > "$WORK/rounds-session_latency"
SESSION_LATENCY_CONNECTIONS=8
for round in $(seq 1 "$ROUNDS"); do
  DAISY_TOKEN="$ADMIN_TOKEN" DAISY_SESSIONS="$EVENT_SESSIONS" \
    run_wrk session "http://127.0.0.1:$SESSION_PORT" -s "$ROOT/bench/session.lua"
  # The same query below saturation: its p99 is the query's, not the queue's.
  CONNECTIONS="$SESSION_LATENCY_CONNECTIONS" DAISY_TOKEN="$ADMIN_TOKEN" DAISY_SESSIONS="$EVENT_SESSIONS" \
    run_wrk session_latency "http://127.0.0.1:$SESSION_PORT" -s "$ROOT/bench/session.lua"
done
# Collection beside heavy reads: single events sent to this server (its 10M
# events) alone, then while 4 clients run the heaviest event queries in a
# loop (bench/heavy_read.lua), then alone once more right after the queries
# stopped. The queries run on the readers at nice 10. Every round alone runs
# before the first round beside the queries, so that no round of the
# reference runs while the WAL they let grow is being checkpointed; the round
# after them is a figure of its own.
SESSION_APP_TOKEN="$(admin_post "$SESSION_PORT" "/v1/apps/$SESSION_APP/token" '' | json_field token)"
: > "$WORK/rounds-ingest_alone"
: > "$WORK/rounds-ingest_heavy"
: > "$WORK/rounds-ingest_after"
: > "$WORK/heavy-rates"
# ingest_round KEY: one round of single events; appends "syncs slow" of the round to syncs-KEY.
ingest_round() {
  local before after
  before="$(wal_syncs "$SESSION_PORT")"
  DAISY_TOKEN="$SESSION_APP_TOKEN" run_wrk "$1" "http://127.0.0.1:$SESSION_PORT" -s "$ROOT/bench/event.lua"
  after="$(wal_syncs "$SESSION_PORT")"
  awk -v b="$before" -v a="$after" 'BEGIN {split(b, x, " "); split(a, y, " "); print y[1] - x[1], y[2] - x[2]}' \
    >> "$WORK/syncs-$1"
}
for round in $(seq 1 "$ROUNDS"); do
  ingest_round ingest_alone
done
for round in $(seq 1 "$ROUNDS"); do
  DAISY_TOKEN="$ADMIN_TOKEN" DAISY_SESSIONS="$EVENT_SESSIONS" wrk -t1 -c4 -d"$((DURATION + 2))s" --timeout 5s \
    -s "$ROOT/bench/heavy_read.lua" "http://127.0.0.1:$SESSION_PORT" > "$WORK/heavy-$round.txt" &
  heavy_pid=$!
  sleep 1  # the queries are under way before the ingestion starts
  ingest_round ingest_heavy
  wait "$heavy_pid"
  awk '/^Requests\/sec:/ {print $2}' "$WORK/heavy-$round.txt" >> "$WORK/heavy-rates"
done
ingest_round ingest_after
HEAVY_REFUSED="$(curl -s "http://127.0.0.1:$SESSION_PORT/metrics" |
  awk '$1 ~ /^daisy_reader_refused_total/ {n += $2} END {print n + 0}')"
stop_daisy "$DAISY_PID"
rm -rf "$SESSION_DIR"

# --- provider feeds: one big pull, then searches whatever the provider does ------
mkdir -p "$WORK/nginx/feeds"
chmod 755 "$WORK" "$WORK/nginx" "$WORK/nginx/feeds"  # nginx's workers may run as another user
awk -v plans="$FEED_PLANS" -v zones="$FEED_ZONES" -f "$ROOT/bench/fever_feed.awk" > "$WORK/nginx/feeds/plans.xml"
feed_mb="$(awk -v b="$(stat -c %s "$WORK/nginx/feeds/plans.xml")" 'BEGIN {printf "%.0f", b / 1048576}')"
FEED_URL="http://127.0.0.1:$NGINX_PORT/feeds/plans.xml"
t0="$(date +%s.%N)"
curl -sf -o /dev/null "$FEED_URL"  # the reference: only fetching the same feed
t1="$(date +%s.%N)"
feed_fetch_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
FEED_PORT="$(free_port)"
start_daisy "$WORK/feed-data" "$FEED_PORT" --allow-private-targets
FEED_BASE="http://127.0.0.1:$FEED_PORT"
# Disabled, so that only the timed pull below pulls it.
PROVIDER_ID="$(admin_post "$FEED_PORT" /v1/providers \
  "{\"name\":\"bench\",\"url\":\"$FEED_URL\",\"format\":\"fever-xml\",\"timeout_ms\":60000,\"enabled\":false}" |
  json_field id)"
t0="$(date +%s.%N)"
admin_post "$FEED_PORT" "/v1/providers/$PROVIDER_ID/sync" '' > "$WORK/sync.json"
t1="$(date +%s.%N)"
pull_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
pull_rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$DAISY_PID/status")"
pull_seen="$(json_field seen < "$WORK/sync.json")"
if [ "$pull_seen" != "$FEED_PLANS" ]; then
  echo "bench: the pull stored $pull_seen plans, not $FEED_PLANS: $(cat "$WORK/sync.json")" >&2
  exit 1
fi
SEARCH_PROBE="$FEED_BASE/search?starts_at=2024-05-01T00:00:00Z&ends_at=2024-05-02T00:00:00Z"
curl -sf "$SEARCH_PROBE" > "$WORK/search-before.json"
# keep_pulling: asks for a pull every 0.2 s in the background (while the
# provider is down or hanging); the pid is in PULLER_PID.
keep_pulling() {
  while :; do
    curl -s -o /dev/null -X POST "$FEED_BASE/v1/providers/$PROVIDER_ID/sync" -H "Authorization: Bearer $ADMIN_TOKEN"
    sleep 0.2
  done &
  PULLER_PID=$!
}
same_search() {  # the search must answer exactly as before the provider's trouble
  curl -sf "$SEARCH_PROBE" | cmp -s - "$WORK/search-before.json" || {
    echo "bench: /search changed while the provider was $1" >&2
    exit 1
  }
}
CLOSED_PORT="$(free_port)"  # nothing listens there: the provider is down
for round in $(seq 1 "$ROUNDS"); do
  admin_patch "$FEED_PORT" "/v1/providers/$PROVIDER_ID" "{\"url\":\"$FEED_URL\",\"timeout_ms\":60000}"
  run_wrk search "$FEED_BASE" -s "$ROOT/bench/search.lua"
  # The same below saturation: its p99 is the search's, not the queue's.
  CONNECTIONS=8 run_wrk search_latency "$FEED_BASE" -s "$ROOT/bench/search.lua"
  admin_patch "$FEED_PORT" "/v1/providers/$PROVIDER_ID" \
    "{\"url\":\"http://127.0.0.1:$CLOSED_PORT/feeds/plans.xml\",\"timeout_ms\":2000}"
  keep_pulling
  run_wrk search_down "$FEED_BASE" -s "$ROOT/bench/search.lua"
  kill "$PULLER_PID"; wait "$PULLER_PID" 2>/dev/null || true
  same_search down
  admin_patch "$FEED_PORT" "/v1/providers/$PROVIDER_ID" \
    "{\"url\":\"http://127.0.0.1:$NGINX_PORT/feeds-slow/plans.xml\",\"timeout_ms\":3000}"
  keep_pulling
  run_wrk search_hang "$FEED_BASE" -s "$ROOT/bench/search.lua"
  kill "$PULLER_PID"; wait "$PULLER_PID" 2>/dev/null || true
  same_search hanging
done
FEED_FAILED_PULLS="$(curl -sf "$FEED_BASE/v1/providers/$PROVIDER_ID/syncs?limit=1000" -H "Authorization: Bearer $ADMIN_TOKEN" |
  python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["items"] if s["error"]))')"
stop_daisy "$DAISY_PID"
rm -rf "$WORK/feed-data" "$WORK/nginx/feeds"

# --- export of many responses -----------------------------------------------------
EXPORT_PORT="$(free_port)"
EXPORT_DIR="$WORK/export-data"
start_daisy "$EXPORT_DIR" "$EXPORT_PORT"
EXPORT_FORM="$(admin_post "$EXPORT_PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
stop_daisy "$DAISY_PID"
# Seeded straight into the database: submitting a million responses over HTTP
# would measure submission again, not the export.
ANSWERS='{"name":"Ada, \"the\" first\nof her name","age":36,"income":5200.5,"savings":800,"employed":true,"region":"north","channels":["sms","email"],"born":"1815-12-10","email":"ada@example.org","phone":"+442071234567"}'
sqlite3 "$EXPORT_DIR/daisy.db" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EXPORT_ROWS)
INSERT INTO responses (id, form_id, form_version, status, answers, metadata, checks, submitted_at,
                       received_at, updated_at, revision)
SELECT printf('01900000-0000-7000-8000-%012d', i), '$EXPORT_FORM', 1, 'accepted', '$ANSWERS', '{}', '[]',
       '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1
FROM n;
SQL
start_daisy "$EXPORT_DIR" "$EXPORT_PORT"
t0="$(date +%s.%N)"
curl -sf "http://127.0.0.1:$EXPORT_PORT/v1/forms/$EXPORT_FORM/responses/export?format=csv" \
  -H "Authorization: Bearer $ADMIN_TOKEN" -o "$WORK/export.csv"
t1="$(date +%s.%N)"
export_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
export_rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$DAISY_PID/status")"
export_lines="$(grep -c $'\r$' "$WORK/export.csv")"  # rows end with CRLF; answers may hold LF
stop_daisy "$DAISY_PID"
rm -f "$WORK/export.csv"
# The same rows as an Excel workbook, from a fresh start (its own peak RSS);
# the rows are counted in the sheet's XML inside the zip.
start_daisy "$EXPORT_DIR" "$EXPORT_PORT"
t0="$(date +%s.%N)"
curl -sf "http://127.0.0.1:$EXPORT_PORT/v1/forms/$EXPORT_FORM/responses/export?format=xlsx" \
  -H "Authorization: Bearer $ADMIN_TOKEN" -o "$WORK/export.xlsx"
t1="$(date +%s.%N)"
xlsx_rss_kb="$(awk '/VmHWM/ {print $2}' "/proc/$DAISY_PID/status")"
xlsx_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
xlsx_mb="$(awk -v b="$(stat -c %s "$WORK/export.xlsx")" 'BEGIN {printf "%.0f", b / 1048576}')"
xlsx_rows="$(/usr/bin/python3 - "$WORK/export.xlsx" <<'PY'
import sys, zipfile
rows, tail = 0, b""
with zipfile.ZipFile(sys.argv[1]).open("xl/worksheets/sheet1.xml") as sheet:
    while block := sheet.read(1 << 20):
        rows += (tail + block).count(b"<row ") - tail.count(b"<row ")
        tail = block[-8:]
print(rows)
PY
)"
stop_daisy "$DAISY_PID"
rm -f "$WORK/export.xlsx"
t2="$(date +%s.%N)"
sqlite3 -csv "$EXPORT_DIR/daisy.db" \
  "SELECT id, submitted_at, status, answers FROM responses WHERE form_id = '$EXPORT_FORM' ORDER BY seq" > /dev/null
t3="$(date +%s.%N)"
sqlite_s="$(awk -v a="$t2" -v b="$t3" 'BEGIN {printf "%.2f", b - a}')"

# --- Google Sheets: requests per 10,000 responses ---------------------------------
# A local stand-in for Google (bench/fake_sheets.py) counts the requests; the
# responses are submitted over one keep-alive connection, then the rows are
# awaited.
SHEETS_RESPONSES="${SHEETS_RESPONSES:-10000}"
SHEETS_FAKE_PORT="$(free_port)"
python3 "$ROOT/bench/fake_sheets.py" "$SHEETS_FAKE_PORT" &
pids+=("$!")
wait_http "http://127.0.0.1:$SHEETS_FAKE_PORT/counts"
SHEETS_PORT="$(free_port)"
start_daisy "$WORK/sheets-data" "$SHEETS_PORT" --allow-private-targets
SHEETS_FORM="$(admin_post "$SHEETS_PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/sheets-key.pem" 2> /dev/null
SHEETS_BODY="$(python3 - "$WORK/sheets-key.pem" "$SHEETS_FORM" "$SHEETS_FAKE_PORT" <<'PY'
import json, sys
key = {"type": "service_account", "client_email": "bench@bench.iam.gserviceaccount.com", "private_key_id": "k1",
       "private_key": open(sys.argv[1]).read(), "token_uri": f"http://127.0.0.1:{sys.argv[3]}/token"}
print(json.dumps({"name": "bench-sheet", "source": {"form_id": sys.argv[2]}, "type": "sheets",
                  "config": {"spreadsheet_id": "bench", "service_account": key,
                             "api_base": f"http://127.0.0.1:{sys.argv[3]}"}}))
PY
)"
admin_post "$SHEETS_PORT" /v1/integrations "$SHEETS_BODY" > /dev/null
t0="$(date +%s.%N)"
python3 - "$SHEETS_PORT" "$SHEETS_FORM" "$ADMIN_TOKEN" "$SHEETS_RESPONSES" "$ANSWERS" <<'PY'
import http.client, sys
port, form, token, n, answers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
body = '{"answers":' + answers + '}'
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for i in range(n):
    conn.request("POST", f"/v1/forms/{form}/responses", body, headers)
    r = conn.getresponse()
    r.read()
    if r.status != 201:
        sys.exit(f"submission {i}: HTTP {r.status}")
PY
t1="$(date +%s.%N)"
for _ in $(seq 600); do
  written="$(curl -s "http://127.0.0.1:$SHEETS_PORT/metrics" | awk '$1 == "daisy_sheets_rows_written_total" {print $2}')"
  [ "${written:-0}" -ge "$SHEETS_RESPONSES" ] && break
  sleep 0.5
done
t2="$(date +%s.%N)"
SHEETS_COUNTS="$(curl -sf "http://127.0.0.1:$SHEETS_FAKE_PORT/counts")"
sheets_count() { printf '%s' "$SHEETS_COUNTS" | json_field "$1"; }
sheets_requests=$(($(sheets_count append) + $(sheets_count update) + $(sheets_count get) + $(sheets_count batchUpdate)))
sheets_submit_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
sheets_rows_s="$(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')"
stop_daisy "$DAISY_PID"
rm -rf "$WORK/sheets-data"

# --- job listings over a million waiting jobs --------------------------------------
# Seeded straight into the database: 1M pending jobs due in 2100 (the runner
# leaves them), filed in `jobs`; then the same million again waiting in the
# outbox (as a burst of submissions leaves them), whose first listing files
# only what its page needs.
JOBS_PORT="$(free_port)"
JOBS_DIR="$WORK/jobs-data"
JOB_ROWS="${JOB_ROWS:-1000000}"
start_daisy "$JOBS_DIR" "$JOBS_PORT"
stop_daisy "$DAISY_PID"
sqlite3 "$JOBS_DIR/daisy.db" <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $JOB_ROWS)
INSERT INTO jobs (id, integration_id, source_id, type, payload, status, attempts, due_ms, created_at, updated_at)
SELECT printf('01900000-0000-7000-9000-%012d', i), 'int-' || (i % 10), printf('src-%d', i), 'event.created',
       '{"n":1}', 'pending', 0, 4102444800000, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
FROM n;
SQL
start_daisy "$JOBS_DIR" "$JOBS_PORT"
JOBS_BASE="http://127.0.0.1:$JOBS_PORT"
DEEP_JOB="$(printf '01900000-0000-7000-9000-%012d' $((JOB_ROWS * 9 / 10)))"
declare -A JOBS_QUERY=([jobs_first]="/v1/jobs?limit=50" [jobs_deep]="/v1/jobs?limit=50&after=$DEEP_JOB"
  [jobs_integration]="/v1/jobs?limit=50&integration_id=int-7" [jobs_rare]="/v1/jobs?limit=50&status=dead")
JOBS_KEYS=(jobs_first jobs_deep jobs_integration jobs_rare)
for key in "${JOBS_KEYS[@]}"; do
  : > "$WORK/rounds-$key"
  CONNECTIONS=4 run_wrk "$key" "$JOBS_BASE${JOBS_QUERY[$key]}" -H "Authorization: Bearer $ADMIN_TOKEN"
done
stop_daisy "$DAISY_PID"
sqlite3 "$JOBS_DIR/daisy.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $JOB_ROWS)
INSERT INTO job_outbox (job_count, type, source_id, jobs, created_at, revision, payload)
SELECT 1, 'event.created', printf('src-o-%d', i),
       printf('01900000-0000-7000-a000-%012d int-%d 4102444800000', i, i % 10) || char(10),
       '2026-01-01T00:00:00.000Z', 0, '{"n":1}'
FROM n;
SQL
start_daisy "$JOBS_DIR" "$JOBS_PORT"
# The filed million first: the listing must reach the outbox's, so it pages from the last filed job.
LAST_FILED="$(printf '01900000-0000-7000-9000-%012d' "$JOB_ROWS")"
outbox_first_ms="$(curl -s -o "$WORK/jobs-outbox.json" -w '%{time_total}' -H "Authorization: Bearer $ADMIN_TOKEN" \
  "$JOBS_BASE/v1/jobs?limit=50&after=$LAST_FILED" | awk '{printf "%.1f", $1 * 1000}')"
outbox_listed="$(grep -o '"id":"01900000-0000-7000-a000' "$WORK/jobs-outbox.json" | wc -l)"
stop_daisy "$DAISY_PID"
rm -rf "$JOBS_DIR" "$WORK/jobs-outbox.json"

# --- the report -------------------------------------------------------------------
row() {  # key [reference rate]
  local key="$1" reference="${2:-$nginx_rate}" rate p50 p99 ratio
  read -r rate p50 p99 <<< "$(median "$key")"
  ratio="$(awk -v a="$rate" -v b="$reference" 'BEGIN {printf "%.2f", a / b}')"
  printf '| %s | %.0f | %s | %s | %s | %s | `%s` |\n' "${LABEL[$key]}" "$rate" "$p50" "$p99" "$ratio" "${GOAL[$key]}" "${CMD[$key]}"
}

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (bench/run.sh); do not edit by hand. Every figure is"
  echo "measured in the same run as its reference, because these machines are shared and"
  echo "noisy: read the ratios, not the absolute rates."
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- Load: wrk with $THREADS threads and $CONNECTIONS keep-alive connections for ${DURATION} s on the same machine"
  echo "  as the server (so the load generator shares the 2 cores); median of $ROUNDS rounds, rounds alternate"
  echo "  between nginx and Daisy."
  echo "- Daisy: release build, default settings ($THREADS I/O threads, SQLite synchronous=FULL: every 201 is"
  echo "  durable against power loss), access log on. nginx: $THREADS workers, access log on (buffered)."
  echo
  echo "## Request rates (reference: nginx returning a constant body)"
  echo
  echo "| scenario | req/s | p50 | p99 | ratio to nginx | goal | command |"
  echo "|---|---|---|---|---|---|---|"
  for key in nginx healthz get_app submit submit_actions submit_script submit_streams; do row "$key"; done
  echo
  echo "Responses stored by the submission rounds: ${SUBMITTED:-unknown}."
  echo
  echo "## Actions (webhook jobs, delivered to nginx on loopback)"
  echo
  submit_rate="$(median submit | awk '{print $1}')"
  actions_rate="$(median submit_actions | awk '{print $1}')"
  printf -- '- Submitting with two async webhook integrations attached: **%.2f** of the submit rate without them\n' \
    "$(awk -v a="$actions_rate" -v b="$submit_rate" 'BEGIN {print a / b}')"
  printf -- '  (%.0f against %.0f req/s, median rounds; goal >= 0.85). Each response makes two jobs in its own transaction\n' \
    "$actions_rate" "$submit_rate"
  echo "  (one outbox row naming them and the response revision they send). The deliveries run in the same process: while"
  echo "  the request path writes over 20,000 times a second the runner claims once a second (128 jobs), and the backlog"
  echo "  drains after the round (below)."
  drain="$(sort -n -k2,2 "$WORK/rounds-deliveries" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')"
  read -r during drain_rate backlog drain_s <<< "$drain"
  printf -- '- Webhook deliveries: **%.0f deliveries/s** sustained while the jobs left at the end of a round drain\n' "$drain_rate"
  printf -- '  (%s jobs in %s s, median round; goal >= 5,000/s), %.2f of the nginx ceiling above; %.0f/s during the\n' \
    "$backlog" "$drain_s" "$(awk -v a="$drain_rate" -v b="$nginx_rate" 'BEGIN {print a / b}')" "$during"
  echo "  submission round itself, beside the submissions. Each delivery is a signed POST with its attempt recorded."
  echo "- Per round (delivered/s during the round, delivered/s draining, jobs left, drain seconds): $(joined_lines "$WORK/rounds-deliveries")"
  echo
  echo "## Script actions (Lua, on the script runner threads)"
  echo
  script_rate="$(median submit_script | awk '{print $1}')"
  printf -- '- Submitting with one sync script integration (the slang lookup of docs/integrations.md on a 10,000-entry\n'
  printf -- '  table; its output in every reply): **%.2f** of the submit rate without it (%.0f against %.0f req/s, median\n' \
    "$(awk -v a="$script_rate" -v b="$submit_rate" 'BEGIN {print a / b}')" "$script_rate" "$submit_rate"
  echo "  rounds; goal >= 0.8)."
  drain="$(sort -n -k2,2 "$WORK/rounds-scripts" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')"
  read -r during drain_rate backlog drain_s <<< "$drain"
  printf -- '- Async script jobs (the same script, one job per response): **%.0f runs/s** while the jobs left at the end\n' \
    "$drain_rate"
  printf -- '  of a round drain (%s jobs in %s s, median round); %.0f/s during the submission round itself.\n' \
    "$backlog" "$drain_s" "$during"
  echo "- Per round (done/s during the round, done/s draining, jobs left, drain seconds): $(joined_lines "$WORK/rounds-scripts")"
  echo
  echo "## Live streams"
  echo
  streams_rate="$(median submit_streams | awk '{print $1}')"
  printf -- '- Submitting while %s streams are open: **%.2f** of the submit rate without them (%.0f against %.0f req/s,\n' \
    "$STREAMS" "$(awk -v a="$streams_rate" -v b="$submit_rate" 'BEGIN {print a / b}')" "$streams_rate" "$submit_rate"
  printf -- '  median rounds; goal >= 0.8). %s of the streams filter on another form (a console watching it), %s\n' \
    "$((STREAMS - STREAMS_ACTIVE))" "$STREAMS_ACTIVE"
  echo "  on the form submitted to, so each response goes out on those while the others cost nothing per message."
  probe="$(sort -t= -k7,7n "$WORK/rounds-stream-probe" | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')"
  p50="$(echo "$probe" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')"
  p99="$(echo "$probe" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')"
  printf -- '- From commit to a stream (read by the probe less the response'"'"'s received_at, ms resolution): p50 **%s ms**,\n' "$p50"
  printf -- '  p99 **%s ms** (median round by p99; goal p99 < 50 ms).\n' "$p99"
  echo "- Per round (probe): $(joined_lines "$WORK/rounds-stream-probe")"
  echo
  echo "## Events (reference: nginx reading the same POST and answering a constant 202)"
  echo
  echo "| scenario | req/s | p50 | p99 | ratio to nginx POST | goal | command |"
  echo "|---|---|---|---|---|---|---|"
  for key in nginx_post event event_batch event_key event_new_ids event_repeat_ids; do
    row "$key" "$nginx_post_rate"
  done
  echo
  event_rate="$(median event | awk '{print $1}')"
  new_ids_rate="$(median event_new_ids | awk '{print $1}')"
  printf -- '- Publishable key from a page'"'"'s origin (issue 22): **%.2f** of the app token'"'"'s rate (goal >= 0.95).\n' \
    "$(awk -v a="$(median event_key | awk '{print $1}')" -v b="$event_rate" 'BEGIN {print a / b}')"
  printf -- '- Events whose client id is already stored: **%.2f** of the rate of events with new ids (goal >= 0.95).\n' \
    "$(awk -v a="$(median event_repeat_ids | awk '{print $1}')" -v b="$new_ids_rate" 'BEGIN {print a / b}')"
  echo "  The 16,384 repeated ids are stored by the first pass of the first repeat round; after that each is a repeat."
  batch_rate="$(median event_batch | awk '{print $1}')"
  printf -- '- Batches of 100: **%.0f events/s** accepted and committed (median round x 100; goal >= 500,000).\n' \
    "$(awk -v r="$batch_rate" 'BEGIN {print r * 100}')"
  printf -- '- Storage reference: the sqlite3 tool inserts %s rows into the same tables and indexes (one transaction,\n' "$EVENT_ROWS"
  printf -- '  no HTTP, no JSON, no checks, no fsync per commit) at **%.0f rows/s** on this machine (the seeding below);\n' \
    "$(awk -v n="$EVENT_ROWS" -v s="$seed_exact" 'BEGIN {print n / s}')"
  printf -- '  the batch figure is %.2f of it.\n' \
    "$(awk -v r="$batch_rate" -v n="$EVENT_ROWS" -v s="$seed_exact" 'BEGIN {print r * 100 / (n / s)}')"
  echo "- Events stored by all event rounds: ${EVENTS_STORED:-unknown} (202 replies to POST /v1/events: ${EVENTS_202:-unknown};"
  echo "  a batch reply counts once). Every event carries data checked against the pageview schema."
  echo "- Timestamps follow the clock (the current second, fractions spread over it); sessions recur (6,400"
  echo "  live sessions in the batch rounds, 4,096 in the single-event rounds)."
  echo "- The figures are sustained: the index entries of new events wait in memory and are written in bulk"
  echo "  behind the commits, and writes wait when more than 262,144 events' entries are unwritten. When the last"
  echo "  batch round ended, ${EV_PENDING_END:-unknown} events' entries were in memory; they were all written ${EV_CATCH_UP_S:-?} s later."
  echo
  echo "## PostgreSQL beside SQLite (the same loads, in the same run)"
  echo
  echo "A PostgreSQL 15 (Debian's package, default settings but shared_buffers=256MB, fsync on) on the same 2 cores;"
  echo "every 201/202 follows a commit in its WAL. Two nodes: two Daisy processes on the one database, each loaded"
  echo "by its own wrk with half the connections, rates summed (p50 and p99 shown per node)."
  echo
  echo "| scenario | SQLite, 1 node | PostgreSQL, 1 node | PostgreSQL, 2 nodes | PG 1 node / SQLite | PG 2 nodes / PG 1 node |"
  echo "|---|---|---|---|---|---|"
  pg_row() {  # label sqlite-key pg-key pg2-key [multiplier]
    local m="${5:-1}" r1 a1 b1 r2 a2 b2 r3 a3 b3
    read -r r1 a1 b1 <<< "$(median "$2")"
    read -r r2 a2 b2 <<< "$(median "$3")"
    read -r r3 a3 b3 <<< "$(median "$4")"
    printf '| %s | %.0f/s (p99 %s) | %.0f/s (p99 %s) | %.0f/s (p99 %s) | %.2f | %.2f |\n' "$1" \
      "$(awk -v r="$r1" -v m="$m" 'BEGIN {print r * m}')" "$b1" "$(awk -v r="$r2" -v m="$m" 'BEGIN {print r * m}')" "$b2" \
      "$(awk -v r="$r3" -v m="$m" 'BEGIN {print r * m}')" "$b3" \
      "$(awk -v a="$r2" -v b="$r1" 'BEGIN {print a / b}')" "$(awk -v a="$r3" -v b="$r2" 'BEGIN {print a / b}')"
  }
  pg_row "form submissions (POST /v1/forms/{id}/responses)" submit pg_submit pg2_submit
  pg_row "single events (POST /v1/events, one per request)" event pg_event pg2_event
  pg_row "events in batches of 100 (events/s)" event_batch pg_event_batch pg2_event_batch 100
  echo
  echo "- Stored on PostgreSQL by these rounds: ${PG_RESPONSES_STORED:-unknown} responses, ${PG_EVENTS_STORED:-unknown} events."
  echo "- The SQLite column is the rows above (the events ran on a server of their own there)."
  echo "- Per round: $(for k in pg_submit pg_event pg_event_batch pg2_submit pg2_event pg2_event_batch; do printf '%s: %s. ' "$k" "$(joined_lines "$WORK/rounds-$k")"; done)"
  echo
  echo "## One session among $EVENT_ROWS stored events"
  echo
  echo "| scenario | req/s | p50 | p99 | goal | command |"
  echo "|---|---|---|---|---|---|"
  read -r srate sp50 sp99 <<< "$(median session)"
  printf '| GET /v1/sessions/{id} (admin), random session of %s, 10 events each, %s connections (saturated) | %.0f | %s | %s | p99 < 5 ms | `DAISY_TOKEN=<admin> DAISY_SESSIONS=%s wrk -t%s -c%s -d%ss --latency -s bench/session.lua http://127.0.0.1:<daisy>` |\n' \
    "$EVENT_SESSIONS" "$CONNECTIONS" "$srate" "$sp50" "$sp99" "$EVENT_SESSIONS" "$THREADS" "$CONNECTIONS" "$DURATION"
  read -r srate sp50 sp99 <<< "$(median session_latency)"
  printf '| the same, %s connections (below saturation) | %.0f | %s | %s | p99 < 5 ms | `... wrk -t%s -c%s ...` |\n' \
    "$SESSION_LATENCY_CONNECTIONS" "$srate" "$sp50" "$sp99" "$THREADS" "$SESSION_LATENCY_CONNECTIONS"
  echo
  echo "Each session reply holds all 10 of its events. The database file is read into the page cache and a 5 s"
  echo "warm-up (not recorded) precedes the rounds. At 64 connections the server is saturated and p99 is mostly"
  echo "time spent queued behind the 31 other connections of an I/O thread; the 8-connection row is the query's latency."
  echo "The events are seeded straight into SQLite (in ${seed_s} s) through the server's own schema and indexes;"
  echo "sessions are interleaved in time, so one session's events lie far apart in the table."
  echo
  echo "### Collection beside heavy reads"
  echo
  echo "| scenario | events/s | p50 | p99 | ratio to alone | goal |"
  echo "|---|---|---|---|---|---|"
  read -r irate ip50 ip99 <<< "$(median ingest_alone)"
  printf '| POST /v1/events, one per request, %s connections, into these %s events | %.0f | %s | %s | 1.00 | - |\n' \
    "$CONNECTIONS" "$EVENT_ROWS" "$irate" "$ip50" "$ip99"
  read -r hrate hp50 hp99 <<< "$(median ingest_heavy)"
  printf '| the same while 4 clients run the heaviest event queries in a loop | %.0f | %s | %s | %.2f | >= 0.50, p99 < 10 ms |\n' \
    "$hrate" "$hp50" "$hp99" "$(awk -v a="$hrate" -v b="$irate" 'BEGIN {print a / b}')"
  read -r arate ap50 ap99 <<< "$(median ingest_after)"
  printf '| the same, alone again, in the %s s right after the queries stopped | %.0f | %s | %s | %.2f | - |\n' \
    "$DURATION" "$arate" "$ap50" "$ap99" "$(awk -v a="$arate" -v b="$irate" 'BEGIN {print a / b}')"
  echo
  echo "- The queries (\`DAISY_TOKEN=<admin> DAISY_SESSIONS=$EVENT_SESSIONS wrk -t1 -c4 --timeout 5s -s bench/heavy_read.lua\`),"
  echo "  in turn: a name that matches none of the events (it reads until its 2 s budget, then 422 query-too-costly), a whole category,"
  echo "  a one-hour window (3.6M events) and one session, 1000 events a page. They completed"
  echo "  $(tr '\n' ' ' < "$WORK/heavy-rates")queries/s in the rounds; the readers refused ${HEAVY_REFUSED:-unknown} (503 readers-busy)."
  echo "- Ingestion: the \`event\` command above, against this server. Per round (req/s p50 p99): alone"
  echo "  $(joined_lines "$WORK/rounds-ingest_alone"); beside the queries"
  echo "  $(joined_lines "$WORK/rounds-ingest_heavy"); right after them"
  echo "  $(joined_lines "$WORK/rounds-ingest_after")."
  echo "- Every round alone ran before the first round beside the queries, so the reference holds no round run"
  echo "  just after them (a WAL that grew while they held their snapshots is checkpointed then); one more round"
  echo "  followed the last of them, on its own row."
  echo "- WAL syncs (each acknowledgement waits for one) per round, all and over 5 ms: alone"
  echo "  $(joined_lines "$WORK/syncs-ingest_alone"); beside the queries"
  echo "  $(joined_lines "$WORK/syncs-ingest_heavy"); right after them"
  echo "  $(joined_lines "$WORK/syncs-ingest_after")."
  echo
  echo "## Job listings over $JOB_ROWS waiting jobs"
  echo
  echo "| listing | req/s | p50 | p99 | goal |"
  echo "|---|---|---|---|---|"
  for key in "${JOBS_KEYS[@]}"; do
    read -r jrate jp50 jp99 <<< "$(median "$key")"
    printf '| GET %s | %.0f | %s | %s | milliseconds |\n' "${JOBS_QUERY[$key]/$DEEP_JOB/<job 90% in>}" "$jrate" "$jp50" "$jp99"
  done
  echo
  echo "- $JOB_ROWS pending jobs (10 integrations) seeded in \`jobs\`; 4 connections, one ${DURATION} s round each."
  printf -- '- With another %s jobs waiting in the outbox (not filed yet), the first page after the filed ones took %s ms\n' "$JOB_ROWS" "$outbox_first_ms"
  echo "  (one request; it filed only what its page needed and listed $outbox_listed of them)."
  echo
  echo "Per-round figures (req/s p50 p99):"
  echo
  for key in "${KEYS[@]}" session session_latency search search_latency search_down search_hang; do
    echo "- $key: $(joined_lines "$WORK/rounds-$key")"
  done
  echo
  echo "## Provider feeds"
  echo
  echo "| scenario | req/s | p50 | p99 | ratio to nginx | goal | command |"
  echo "|---|---|---|---|---|---|---|"
  for key in search search_down search_hang search_latency; do row "$key"; done
  echo
  printf -- '- Each search asks for a random 6-hour window of 2024 over %s stored plans of %s zones (about 7 plans\n' "$FEED_PLANS" "$FEED_ZONES"
  echo "  per reply); the ratio is to the nginx constant-body rounds above. At 64 connections the 2 cores are"
  echo "  saturated (wrk shares them) and p99 is mostly time spent queued: compare the p99 of nginx's and"
  echo "  /healthz's own rounds above; the 8-connection row is the search's latency."
  echo "- Down: the provider's URL points at a closed port; hanging: nginx trickles the feed at 1 byte/s (timeout"
  echo "  3 s). In both, a pull is asked for every 0.2 s during the round (${FEED_FAILED_PULLS:-unknown} failed pulls were"
  echo "  recorded in all), and after each round a probe search answers byte for byte as before the trouble."
  echo
  echo "| scenario | feed | time | peak RSS of daisy | reference: fetching the feed only | goal |"
  echo "|---|---|---|---|---|---|"
  printf '| POST /v1/providers/{id}/sync: fetch, parse, store %s new plans | %s plans x %s zones, %s MB of XML | %s s | %s MB | %s s | < 10 s, < 500 MB |\n' \
    "$FEED_PLANS" "$FEED_PLANS" "$FEED_ZONES" "$feed_mb" "$pull_s" "$((pull_rss_kb / 1024))" "$feed_fetch_s"
  echo
  echo "The feed (bench/fever_feed.awk) is served by nginx from a file; peak RSS is the server's VmHWM after a"
  echo "fresh start and the one pull."
  echo
  echo "## Export (reference: the sqlite3 tool writing the same rows as CSV)"
  echo
  echo "| scenario | rows | time | peak RSS of daisy | reference time | ratio | goal |"
  echo "|---|---|---|---|---|---|---|"
  printf '| GET /v1/forms/{id}/responses/export?format=csv | %s | %s s | %s MB | %s s | %s | < 10 s, < 100 MB |\n' \
    "$((export_lines - 1))" "$export_s" "$((export_rss_kb / 1024))" "$sqlite_s" \
    "$(awk -v a="$export_s" -v b="$sqlite_s" 'BEGIN {printf "%.2f", a / b}')"
  printf '| GET /v1/forms/{id}/responses/export?format=xlsx (%s MB workbook) | %s | %s s | %s MB | %s s | %s | < 30 s, < 200 MB |\n' \
    "$xlsx_mb" "$((xlsx_rows - 1))" "$xlsx_s" "$((xlsx_rss_kb / 1024))" "$sqlite_s" \
    "$(awk -v a="$xlsx_s" -v b="$sqlite_s" 'BEGIN {printf "%.2f", a / b}')"
  echo
  echo "The export rows are seeded straight into SQLite (10 answers each, with a comma, quotes and a newline"
  echo "in one answer); peak RSS is the server's VmHWM after a fresh start and the one export."
  echo
  echo "## Google Sheets (requests per responses; a local stand-in for Google, bench/fake_sheets.py)"
  echo
  echo "| scenario | responses | rows written | requests to Google | of which appends | rows per append | submitting took | until every row was written | goal |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '| sheets integration, defaults (batch_max_rows 500, batch_max_ms 1000, 60 requests a minute) | %s | %s | %s | %s | %s | %s s | %s s | about 20 requests |\n' \
    "$SHEETS_RESPONSES" "$(sheets_count rows)" "$sheets_requests" "$(sheets_count append)" \
    "$(awk -v r="$(sheets_count rows)" -v a="$(sheets_count append)" 'BEGIN {printf "%.0f", a ? r / a : 0}')" \
    "$sheets_submit_s" "$sheets_rows_s"
  echo
  echo "Requests to Google: appends, header reads and writes, batchUpdates; token requests are not counted (one"
  echo "an hour). The responses go over one keep-alive connection, one after another."
} > "$OUT.tmp"
# The previous report, side by side with this one (bench/compare.py).
if [ -n "${BENCH_BASELINE:-}" ]; then
  git -C "$ROOT" show "$BENCH_BASELINE:docs/benchmarks.md" > "$WORK/baseline.md"
elif [ -f "$OUT" ]; then
  cp "$OUT" "$WORK/baseline.md"
fi
if [ -s "$WORK/baseline.md" ]; then
  { echo; python3 "$ROOT/bench/compare.py" "$WORK/baseline.md" "$OUT.tmp"; } >> "$WORK/compared.md"
  cat "$WORK/compared.md" >> "$OUT.tmp"
fi
# The sections written by make bench-ab (bench/ab.sh), make bench-backup
# (bench/backup.sh), make bench-retention (bench/retention.sh), make
# bench-grpc (bench/grpc.sh), make bench-ingest (bench/ingest.sh) and make soak
# (bench/soak.sh) are kept as they were.
if [ -f "$OUT" ]; then
  awk '/^## / {keep = ($0 == "## This tree against an earlier commit (make bench-ab)" || $0 == "## Soak (make soak)" ||
    $0 == "## Backup and restore (make bench-backup)" || $0 == "## Retention (make bench-retention)" ||
    $0 == "## gRPC (make bench-grpc)" || $0 == "## Durable ingestion (make bench-ingest)")} keep' \
    "$OUT" > "$WORK/kept-sections"
  if [ -s "$WORK/kept-sections" ]; then { echo; cat "$WORK/kept-sections"; } >> "$OUT.tmp"; fi
fi
mv "$OUT.tmp" "$OUT"
cat "$OUT"
