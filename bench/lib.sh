# Helpers the bench scripts share (bench/run.sh, soak.sh, ab.sh); sourced.

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
