#!/usr/bin/env bash
# make soak: an hour (SOAK_SECONDS) of moderate mixed load on the release build,
# then the section "## Soak (make soak)" of docs/benchmarks.md. Everything runs
# on 127.0.0.1, is bounded in time and stops by itself; the script exits
# non-zero when the run had errors, when daisy died or when its RSS grew.
#
# The load, at once, in back-to-back windows of 60 s (one row of figures each),
# after a warm-up window that is not recorded:
# - wrk, one thread each, paced by bench/soak/paced.lua (each connection waits
#   a fixed time between a reply and its next request), with the scripts of
#   make bench: form submissions (bench/submit.lua, a form of 10 questions and
#   2 rules with an async webhook integration to nginx on loopback), single
#   events (bench/event.lua), batches of 100 events (bench/event_batch.lua)
#   and Fever searches (bench/search.lua);
# - curl: an export of the form's responses each window (csv and ndjson in
#   turn), a pull of the provider asked for every SOAK_PULL_EVERY s, and every
#   10 s a search probe that must answer byte for byte as after the first pull;
# - a provider that flaps (bench/soak/feed_server.py): served, 500, hanging past
#   the provider's timeout, refusing connections, SOAK_FEED_PHASE s each; the
#   provider is also on Daisy's schedule every 5 s.
#
# Environment: SOAK_SECONDS (default 3600), SOAK_WARMUP (s, default 30),
# SOAK_FEED_PHASE (s, default 15), SOAK_PULL_EVERY (s, default 5),
# SOAK_RSS_LIMIT (largest end/middle RSS ratio, default 1.5), SOAK_KEEP=1
# (keep the work directory, with the daisy log), and the rates: for KIND in
# SUBMIT EVENT BATCH SEARCH, SOAK_KIND_CONNECTIONS and SOAK_KIND_DELAY_MS
# (defaults 2/10, 2/10, 1/100, 2/20).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
SOAK_SECONDS="${SOAK_SECONDS:-3600}"
SOAK_WARMUP="${SOAK_WARMUP:-30}"
SOAK_FEED_PHASE="${SOAK_FEED_PHASE:-15}"
SOAK_PULL_EVERY="${SOAK_PULL_EVERY:-5}"
SOAK_RSS_LIMIT="${SOAK_RSS_LIMIT:-1.5}"
WINDOW=60
FEED_PLANS=2000
FEED_ZONES=10
PROVIDER_TIMEOUT_MS=2000
HANG_S=5
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="soak-admin-token-$(date +%s%N)"

declare -A SCRIPT CONNS DELAY
KINDS=(submit event batch search)
SCRIPT[submit]=submit.lua;      CONNS[submit]="${SOAK_SUBMIT_CONNECTIONS:-2}"; DELAY[submit]="${SOAK_SUBMIT_DELAY_MS:-10}"
SCRIPT[event]=event.lua;        CONNS[event]="${SOAK_EVENT_CONNECTIONS:-2}";   DELAY[event]="${SOAK_EVENT_DELAY_MS:-10}"
SCRIPT[batch]=event_batch.lua;  CONNS[batch]="${SOAK_BATCH_CONNECTIONS:-1}";   DELAY[batch]="${SOAK_BATCH_DELAY_MS:-100}"
SCRIPT[search]=search.lua;      CONNS[search]="${SOAK_SEARCH_CONNECTIONS:-2}"; DELAY[search]="${SOAK_SEARCH_DELAY_MS:-20}"

if [ ! -x "$DAISY" ]; then
  echo "soak: $DAISY is missing: make build first" >&2
  exit 1
fi
if [ "$SOAK_SECONDS" -lt 60 ]; then
  echo "soak: SOAK_SECONDS must be at least 60" >&2
  exit 1
fi

WORK="$(mktemp -d /tmp/daisy-soak.XXXXXX)"
pids=()
stop_proc() {  # pid: the process and the children it has at that moment
  local kids
  kids="$(pgrep -P "$1" 2>/dev/null | tr '\n' ' ' || true)"
  kill "$1" 2>/dev/null || true
  for k in $kids; do kill "$k" 2>/dev/null || true; done
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local i
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do stop_proc "${pids[$i]}"; done
  if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# A watchdog, in case something hangs: the whole run is bounded.
( sleep $(( SOAK_WARMUP + SOAK_SECONDS + 900 )) & wait $!; echo "soak: over time, stopping" >&2; kill -TERM $$ ) &
pids+=($!)

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
admin() {  # method path [body]
  curl -sSf -m 30 -X "$1" "$BASE$2" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data-binary "$3"}
}

# --- the servers ------------------------------------------------------------------
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
sed -e "s#@DIR@#$WORK/nginx#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@WORKERS@#1#g" \
  "$ROOT/bench/nginx.conf.in" > "$WORK/nginx/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
pids+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
# --allow-private-targets: the webhook and the provider are on loopback.
"$DAISY" serve --listen "127.0.0.1:$PORT" --grpc-listen 127.0.0.1:0 --data-dir "$WORK/daisy-data" --admin-token "$ADMIN_TOKEN" \
  --allow-private-targets > "$WORK/daisy.out" 2> "$WORK/daisy.log" &
DAISY_PID=$!
pids+=("$DAISY_PID")
wait_http "$BASE/healthz"

APP_ID="$(admin POST /v1/apps '{"name":"soak"}' | json_field id)"
APP_TOKEN="$(admin POST "/v1/apps/$APP_ID/token" | json_field token)"
FORM_ID="$(admin POST /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"
admin POST /v1/integrations "{\"name\":\"soak-hook\",\"source\":{\"form_id\":\"$FORM_ID\"},\"type\":\"webhook\",\"config\":{\"url\":\"http://127.0.0.1:$NGINX_PORT/hook\"}}" > /dev/null

awk -v plans="$FEED_PLANS" -v zones="$FEED_ZONES" -f "$ROOT/bench/fever_feed.awk" > "$WORK/plans.xml"
FEED_PORT="$(free_port)"
python3 "$ROOT/bench/soak/feed_server.py" "$FEED_PORT" "$WORK/plans.xml" "$SOAK_FEED_PHASE" "$HANG_S" \
  "$WORK/feed.log" 2> "$WORK/feed.err" &
pids+=($!)
wait_http "http://127.0.0.1:$FEED_PORT/feeds/plans.xml"
PROVIDER_ID="$(admin POST /v1/providers "{\"name\":\"soak\",\"url\":\"http://127.0.0.1:$FEED_PORT/feeds/plans.xml\",\"format\":\"fever-xml\",\"interval_s\":5,\"timeout_ms\":$PROVIDER_TIMEOUT_MS}" | json_field id)"
first_pull="$(admin POST "/v1/providers/$PROVIDER_ID/sync")"
if [ "$(json_field error <<< "$first_pull")" != None ]; then
  echo "soak: the first pull failed: $first_pull" >&2
  exit 1
fi
SEARCH_PROBE="$BASE/search?starts_at=2024-05-01T00:00:00Z&ends_at=2024-05-03T00:00:00Z"
curl -sSf -m 10 "$SEARCH_PROBE" > "$WORK/search-reference"
if [ "$(wc -c < "$WORK/search-reference")" -lt 100 ]; then
  echo "soak: the probe search found nothing: $(cat "$WORK/search-reference")" >&2
  exit 1
fi

# --- the background loops ---------------------------------------------------------------
# Each writes one line per operation; report.py reads them.
pull_loop() {  # t0 t1 http_code curl_rc record
  set +e
  while [ ! -e "$WORK/stop" ]; do
    local t0 reply rc
    t0="$(date +%s.%N)"
    reply="$(curl -s -m 30 -X POST "$BASE/v1/providers/$PROVIDER_ID/sync" -H "Authorization: Bearer $ADMIN_TOKEN" \
      -w '\n%{http_code}')"
    rc=$?
    printf '%s %s %s %s %s\n' "$t0" "$(date +%s.%N)" "$(tail -n1 <<< "$reply")" "$rc" \
      "$(head -n -1 <<< "$reply" | tr -d '\n')" >> "$WORK/pulls"
    sleep "$SOAK_PULL_EVERY"
  done
}
probe_loop() {  # t what http_code curl_rc same(1/0)
  set +e
  while [ ! -e "$WORK/stop" ]; do
    local code rc same
    code="$(curl -s -m 10 -o "$WORK/probe" -w '%{http_code}' "$SEARCH_PROBE")"; rc=$?
    same=0; cmp -s "$WORK/probe" "$WORK/search-reference" && same=1
    echo "$(date +%s) search $code $rc $same" >> "$WORK/probes"
    code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$BASE/readyz")"; rc=$?
    echo "$(date +%s) readyz $code $rc 1" >> "$WORK/probes"
    sleep 10
  done
}
pull_loop &
PULL_PID=$!
pids+=("$PULL_PID")
probe_loop &
PROBE_PID=$!
pids+=("$PROBE_PID")

metric_201() {  # responses stored so far
  curl -s -m 10 "$BASE/metrics" |
    awk 'index($0, "daisy_http_requests_total{route=\"POST /v1/forms/{id}/responses\",status=\"201\"}") == 1 {n = $NF} END {print n + 0}'
}
export_once() {  # window format: one line to $WORK/exports
  set +e
  local before t0 line rc rows
  before="$(metric_201)"
  t0="$(date +%s.%N)"
  line="$(curl -s -m 300 -o "$WORK/export.$2" -w '%{http_code} %{size_download}' \
    "$BASE/v1/forms/$FORM_ID/responses/export?format=$2" -H "Authorization: Bearer $ADMIN_TOKEN")"
  rc=$?
  if [ "$2" = csv ]; then rows=$(( $(grep -c $'\r$' "$WORK/export.$2") - 1 )); else rows="$(wc -l < "$WORK/export.$2")"; fi
  echo "$1 $2 $t0 $(date +%s.%N) $line $rc $rows $before" >> "$WORK/exports"
  rm -f "$WORK/export.$2"
}

# --- the windows -----------------------------------------------------------------------
sample() {  # window: RSS and /metrics after it
  local rss hwm
  rss="$(awk '/^VmRSS/ {print $2}' "/proc/$DAISY_PID/status" 2>/dev/null || echo 0)"
  hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$DAISY_PID/status" 2>/dev/null || echo 0)"
  curl -s -m 10 "$BASE/metrics" > "$WORK/metrics-$1" || true
  echo "$1 $(date +%s) ${rss:-0} ${hwm:-0}" >> "$WORK/samples"
}
run_window() {  # index seconds
  local dir="$WORK/w$1" kind wrk_pids=() p
  mkdir -p "$dir"
  date +%s > "$dir/start"
  for kind in "${KINDS[@]}"; do
    SOAK_SCRIPT="$ROOT/bench/${SCRIPT[$kind]}" SOAK_DELAY_MS="${DELAY[$kind]}" \
      DAISY_TOKEN="$APP_TOKEN" DAISY_FORM="$FORM_ID" \
      wrk -t1 -c"${CONNS[$kind]}" -d"$2s" --timeout 2s -s "$ROOT/bench/soak/paced.lua" "$BASE" \
      > "$dir/$kind" 2>&1 &
    wrk_pids+=($!)
  done
  if [ "$1" -gt 0 ]; then
    ( sleep $(( $2 / 3 )); export_once "$1" "$( (( $1 % 2 )) && echo csv || echo ndjson )" ) &
    wrk_pids+=($!)
  fi
  pids+=("${wrk_pids[@]}")
  for p in "${wrk_pids[@]}"; do wait "$p" || true; done
  pids=("${pids[@]:0:${#pids[@]}-${#wrk_pids[@]}}")
  sample "$1"
}

START_EPOCH="$(date +%s)"
echo "soak: warm-up ${SOAK_WARMUP} s, then $SOAK_SECONDS s against $BASE (work: $WORK)" >&2
run_window 0 "$SOAK_WARMUP"
WINDOWS=$(( (SOAK_SECONDS + WINDOW - 1) / WINDOW ))
CRASHED=0
for i in $(seq 1 "$WINDOWS"); do
  left=$(( SOAK_SECONDS - (i - 1) * WINDOW ))
  run_window "$i" $(( left < WINDOW ? left : WINDOW ))
  echo "soak: minute $i/$WINDOWS done" >&2
  if ! kill -0 "$DAISY_PID" 2>/dev/null; then CRASHED=1; echo "soak: daisy died" >&2; break; fi
done

# --- the end: stop the loops, let the webhook jobs drain, stop daisy ----------------
touch "$WORK/stop"
stop_proc "$PROBE_PID"
stop_proc "$PULL_PID"
jobs_open() {
  curl -s -m 10 "$BASE/metrics" | awk '/^daisy_jobs\{status="(pending|running|failed)"\}/ {n += $2} END {print n + 0}'
}
DRAIN_S=0
if [ "$CRASHED" = 0 ]; then
  t0="$(date +%s)"
  for _ in $(seq 1 120); do [ "$(jobs_open)" = 0 ] && break; sleep 1; done
  DRAIN_S=$(( $(date +%s) - t0 ))
  sleep 1.5  # daisy_jobs is counted every second
  curl -s -m 10 "$BASE/metrics" > "$WORK/metrics-final" || true
  kill -TERM "$DAISY_PID"
fi
DAISY_EXIT=0
wait "$DAISY_PID" || DAISY_EXIT=$?
END_EPOCH="$(date +%s)"

# --- the report ---------------------------------------------------------------------
export WORK OUT SOAK_SECONDS SOAK_WARMUP SOAK_FEED_PHASE SOAK_PULL_EVERY SOAK_RSS_LIMIT WINDOWS CRASHED DAISY_EXIT \
  DRAIN_S START_EPOCH END_EPOCH PROVIDER_TIMEOUT_MS HANG_S FEED_PLANS FEED_ZONES
export SOAK_MIX="$(for k in "${KINDS[@]}"; do printf '%s:%s:%s:%s ' "$k" "${SCRIPT[$k]}" "${CONNS[$k]}" "${DELAY[$k]}"; done)"
export SOAK_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (with uncommitted changes to src/)')"
python3 "$ROOT/bench/soak/report.py"
