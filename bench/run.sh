#!/usr/bin/env bash
# make bench: measures Daisy against the ceiling of this machine (nginx
# returning a constant on loopback) in the same run, and writes the table to
# docs/benchmarks.md. Every load is on 127.0.0.1, bounded in time, and stops
# by itself.
#
# Environment: DURATION (s per run, default 10), ROUNDS (default 3; the median
# of the rounds is reported), CONNECTIONS (default 64).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="$(nproc)"
WORK="$(mktemp -d /tmp/daisy-bench.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {  # url
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2
  exit 1
}

# --- start nginx (the ceiling) ----------------------------------------------
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
sed -e "s#@DIR@#$WORK/nginx#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@WORKERS@#$THREADS#g" \
  "$ROOT/bench/nginx.conf.in" > "$WORK/nginx/nginx.conf"
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
pids+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"

# --- start daisy ----------------------------------------------------------------
DAISY_PORT="$(free_port)"
"$DAISY" serve --listen "127.0.0.1:$DAISY_PORT" --data-dir "$WORK/daisy-data" \
  --admin-token "$ADMIN_TOKEN" > "$WORK/daisy.out" 2> "$WORK/daisy.log" &
pids+=($!)
wait_http "http://127.0.0.1:$DAISY_PORT/healthz"

# An app to read back in the authenticated scenario.
APP_ID="$(curl -sf -X POST "http://127.0.0.1:$DAISY_PORT/v1/apps" \
  -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

# --- measuring ----------------------------------------------------------------
# run_wrk NAME URL [wrk args...] -> appends "rate p50 p99" for one round
run_wrk() {
  local name="$1" url="$2"; shift 2
  local log="$WORK/wrk-$name-$RANDOM.txt"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" > "$log"
  local rate p50 p99 non2xx
  rate="$(awk '/^Requests\/sec:/ {print $2}' "$log")"
  p50="$(awk '$1=="50%" {print $2}' "$log")"
  p99="$(awk '$1=="99%" {print $2}' "$log")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$log")"
  if [ -n "$non2xx" ]; then
    echo "bench: $name had $non2xx non-2xx responses" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "$rate $p50 $p99"
}

median_row() {  # reads "rate p50 p99" lines; prints the line with the median rate
  sort -n -k1,1 | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}

declare -A RESULT CMD
scenario() {  # key url [wrk args...]
  local key="$1" url="$2"; shift 2
  CMD[$key]="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency $* $url"
  : > "$WORK/rounds-$key"
}

scenario nginx "http://127.0.0.1:$NGINX_PORT/healthz"
scenario healthz "http://127.0.0.1:$DAISY_PORT/healthz"
scenario get_app "http://127.0.0.1:$DAISY_PORT/v1/apps/$APP_ID" -H "'Authorization: Bearer <admin>'"

for round in $(seq 1 "$ROUNDS"); do
  echo "bench: round $round/$ROUNDS" >&2
  run_wrk nginx "http://127.0.0.1:$NGINX_PORT/healthz" >> "$WORK/rounds-nginx"
  run_wrk healthz "http://127.0.0.1:$DAISY_PORT/healthz" >> "$WORK/rounds-healthz"
  run_wrk get_app "http://127.0.0.1:$DAISY_PORT/v1/apps/$APP_ID" \
    -H "Authorization: Bearer $ADMIN_TOKEN" >> "$WORK/rounds-get_app"
done

for key in nginx healthz get_app; do
  RESULT[$key]="$(median_row < "$WORK/rounds-$key")"
done

nginx_rate="$(echo "${RESULT[nginx]}" | awk '{print $1}')"
row() {  # key label goal
  local key="$1" label="$2" goal="$3"
  read -r rate p50 p99 <<< "${RESULT[$key]}"
  local ratio
  ratio="$(awk -v a="$rate" -v b="$nginx_rate" 'BEGIN {printf "%.2f", a / b}')"
  printf '| %s | %.0f | %s | %s | %s | %s | `%s` |\n' "$label" "$rate" "$p50" "$p99" "$ratio" "$goal" "${CMD[$key]}"
}

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (bench/run.sh); do not edit by hand. Every figure is"
  echo "measured in the same run as its reference, nginx answering a constant body on"
  echo "loopback (the ceiling of this machine's HTTP), because these machines are shared"
  echo "and noisy: read the ratios, not the absolute rates."
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- Load: wrk with $THREADS threads and $CONNECTIONS keep-alive connections for ${DURATION} s, on the same machine as the server;"
  echo "  median of $ROUNDS rounds (rounds alternate between nginx and Daisy)."
  echo "- Daisy: release build, default settings ($THREADS I/O threads, SQLite with synchronous=FULL), access log on;"
  echo "  nginx: $THREADS workers, access log on (buffered)."
  echo
  echo "| scenario | req/s | p50 | p99 | ratio to nginx | goal | command |"
  echo "|---|---|---|---|---|---|---|"
  row nginx "nginx constant body (ceiling)" "-"
  row healthz "Daisy GET /healthz" ">= 0.80"
  row get_app "Daisy GET /v1/apps/{id} (admin token, SQLite read)" "-"
  echo
  echo "Per-round figures (req/s p50 p99):"
  echo
  for key in nginx healthz get_app; do
    echo "- $key: $(tr '\n' ';' < "$WORK/rounds-$key" | sed 's/;$//; s/;/; /g')"
  done
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
