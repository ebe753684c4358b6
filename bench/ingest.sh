#!/usr/bin/env bash
# make bench-ingest: durable ingestion against the machine's HTTP ceiling
# (issue 25), in one run. Writes the section
# "## Durable ingestion (make bench-ingest)" of docs/benchmarks.md (replacing
# it, or appending it; make bench keeps it).
#
# The reference is nginx answering a constant body with its access log off
# (the cheapest reply this machine's HTTP can give), loaded with the same wrk
# script as Daisy, so both sides pay the same load-generator cost:
# - single events: bench/event.lua, one event per POST;
# - form submissions: bench/submit.lua, a form of 10 questions and 2 rules;
# - batches of 100 events: bench/event_batch.lua for SUSTAIN s (60), then the
#   time until the event index has written every entry (goal: 5 s).
# Each Daisy round is paired with an nginx round back to back, in alternating
# order. Every figure has the server's CPU time per unit beside it (user +
# system time of the process over what it acknowledged).
#
# With perf installed (linux-perf), one more round of each Daisy load is
# profiled and its top entries (thread, library, symbol) are written too.
#
# Environment: DURATION (s per round, default 10), ROUNDS (default 3; the
# median is reported), CONNECTIONS (64), SUSTAIN (60), PROFILE (1; 0 skips it).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DAISY="$ROOT/build/release/daisy"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
SUSTAIN="${SUSTAIN:-60}"
PROFILE="${PROFILE:-1}"
THREADS="$(nproc)"
WORK="$(mktemp -d /tmp/daisy-bench-ingest.XXXXXX)"
OUT="$ROOT/docs/benchmarks.md"
ADMIN_TOKEN="bench-admin-token-$(date +%s%N)"
HEADING="## Durable ingestion (make bench-ingest)"

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
pids=()
trap stop_all_and_clean EXIT
index_pending() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '$1 == "daisy_event_index_pending" {print $2}'; }
# Seconds until the event index has no entry left in memory (at most 10 min).
index_catch_up() {
  local t0; t0="$(now)"
  for _ in $(seq 1 6000); do
    [ "$(index_pending)" = "0" ] && break
    sleep 0.1
  done
  since "$t0"
}

# --- the servers --------------------------------------------------------------
NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
sed -e "s#@DIR@#$WORK/nginx#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@WORKERS@#$THREADS#g" \
  -e 's#^\( *\)access_log .*#\1access_log off;#' \
  "$ROOT/bench/nginx.conf.in" > "$WORK/nginx/nginx.conf"
grep -q 'access_log off;' "$WORK/nginx/nginx.conf" || { echo "bench-ingest: nginx's access log is not off" >&2; exit 1; }
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
pids+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/"
NGINX="http://127.0.0.1:$NGINX_PORT"

PORT="$(free_port)"
start_daisy "$WORK/data" "$PORT"
DAISY_URL="http://127.0.0.1:$PORT"
APP_ID="$(admin_post "$PORT" /v1/apps '{"name":"ingest bench"}' | json_field id)"
export DAISY_TOKEN
DAISY_TOKEN="$(admin_post "$PORT" "/v1/apps/$APP_ID/token" '' | json_field token)"
export DAISY_FORM
DAISY_FORM="$(admin_post "$PORT" /v1/forms "$(cat "$ROOT/bench/form.json")" | json_field id)"

# --- rounds ---------------------------------------------------------------------
# CPU ticks of a process and of its children (nginx's workers are children of
# its master).
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
nginx_ticks() {
  local n=0 p
  for p in $(pgrep -f "nginx: worker process" || true); do
    [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "${pids[0]}" ] && n=$((n + $(ticks_of "$p")))
  done
  echo "$n"
}
# round FILE TICKS_FN URL SCRIPT [DURATION] [PER_REQUEST]: one wrk round;
# appends "rate p50 p99 cpu_us" to $WORK/FILE (rate in requests/s times
# PER_REQUEST, cpu_us per unit of that rate).
round() {
  local file="$1" ticks="$2" url="$3" script="$4" duration="${5:-$DURATION}" per="${6:-1}" t0 t1 line
  t0="$($ticks)"
  line="$(DURATION="$duration" wrk_round "$WORK/wrk-$file.txt" "$url" -s "$ROOT/bench/$script")"
  t1="$($ticks)"
  echo "$line" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v d="$duration" -v per="$per" \
    '{printf "%.0f %s %s %.1f\n", $1 * per, $2, $3, t / hz * 1e6 / ($1 * per * d)}' >> "$WORK/$file"
}
daisy_ticks() { ticks_of "$DAISY_PID"; }
# daisy_round FILE SCRIPT: a Daisy round, and what bounds it appended to
# $WORK/FILE-bounds: "WAL syncs per s, their mean in ms, the share of the
# round the sync thread spent in them, the machine's CPU busy (%)". A sync
# thread busy most of the round means the disk bounds the rate; the CPU
# near 100% busy means the cores do.
daisy_round() {
  local s0 s1 m0 m1
  s0="$(wal_syncs "$PORT")"; m0="$(machine_ticks)"
  round "$1" daisy_ticks "$DAISY_URL" "$2"
  s1="$(wal_syncs "$PORT")"; m1="$(machine_ticks)"
  awk -v s0="$s0" -v s1="$s1" -v m0="$m0" -v m1="$m1" -v d="$DURATION" 'BEGIN {
    split(s0, a, " "); split(s1, b, " "); split(m0, c, " "); split(m1, e, " ")
    n = b[1] - a[1]; t = b[3] - a[3]
    printf "%.0f %.3fms %.2f %.0f%%\n", n / d, n ? t / n * 1000 : 0, t / d, 100 * (e[1] - c[1]) / (e[2] - c[2])
  }' >> "$WORK/$1-bounds"
}

for r in $(seq 1 "$ROUNDS"); do
  echo "bench-ingest: round $r/$ROUNDS" >&2
  if [ $((r % 2)) -eq 1 ]; then
    round nginx-event nginx_ticks "$NGINX" event.lua; daisy_round event event.lua
    round nginx-submit nginx_ticks "$NGINX" submit.lua; daisy_round submit submit.lua
  else
    daisy_round event event.lua; round nginx-event nginx_ticks "$NGINX" event.lua
    daisy_round submit submit.lua; round nginx-submit nginx_ticks "$NGINX" submit.lua
  fi
done
echo "bench-ingest: batches of 100 for $SUSTAIN s" >&2
index_catch_up > /dev/null
round batch daisy_ticks "$DAISY_URL" event_batch.lua "$SUSTAIN" 100
PENDING_END="$(index_pending)"
CATCH_UP_S="$(index_catch_up)"

# --- profiles -----------------------------------------------------------------------
# The top entries of a perf profile of one more round of each load: the share
# of each thread, then of each (thread, library, symbol).
profile() {  # NAME SCRIPT
  perf record -F 499 -p "$DAISY_PID" -o "$WORK/perf-$1.data" -- sleep "$DURATION" > /dev/null 2>&1 &
  local perf_pid=$!
  DURATION="$DURATION" wrk_round "$WORK/wrk-profile.txt" "$DAISY_URL" -s "$ROOT/bench/$2" > /dev/null
  wait "$perf_pid" || true
  {
    perf report -i "$WORK/perf-$1.data" --no-children --sort comm --stdio -g none 2>/dev/null |
      awk '/%/ && $1 + 0 >= 1 {printf "%s %s; ", $2, $1}' | sed 's/; $//'
    echo
    perf report -i "$WORK/perf-$1.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null |
      awk '/%/ && ++n <= 15 {sub(/^ +/, ""); print}' |
      awk '{pct = $1; comm = $2; dso = $3; $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); sub(/( -)+ *$/, ""); sym = substr($0, 1, 90);
            gsub(/\|/, "\\|", sym); printf "| %s | %s | %s | `%s` |\n", pct, comm, dso, sym}'
  } > "$WORK/profile-$1"
}
PROFILED=0
if [ "$PROFILE" = 1 ] && command -v perf > /dev/null && perf record -o "$WORK/probe.data" -- true > /dev/null 2>&1; then
  echo "bench-ingest: profiles" >&2
  profile event event.lua
  profile submit submit.lua
  index_catch_up > /dev/null
  profile batch event_batch.lua
  PROFILED=1
fi
events_ok="$(curl -sf "$DAISY_URL/v1/events?limit=1" -H "Authorization: Bearer $ADMIN_TOKEN" > /dev/null && echo ok)"
kill -TERM "$DAISY_PID"; wait "$DAISY_PID" 2>/dev/null || true
[ "$events_ok" = ok ] || { echo "bench-ingest: the server did not answer at the end" >&2; exit 1; }

# --- the section --------------------------------------------------------------------
col() { awk -v c="$1" '{print $c}' "$WORK/$2" | median_of; }
at_median() {  # file: "p50, p99" of the round whose rate is the median
  local m; m="$(col 1 "$1")"
  awk -v m="$m" '$1 == m {print $2 ", p99 " $3; exit}' "$WORK/$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rounds_of() { joined_lines "$WORK/$1"; }
{
  echo "$HEADING"
  echo
  echo "- Run: $(date -u +%Y-%m-%dT%H:%M:%SZ), $THREADS cores, commit $(git -C "$ROOT" describe --always --dirty);"
  echo "  bench/ingest.sh, release build, SQLite with synchronous=FULL (every acknowledgement follows an"
  echo "  fdatasync that covers it), Daisy's access log on. Reference: nginx ($THREADS workers) answering a"
  echo "  constant body with its access log off, loaded with the same wrk script ($THREADS threads,"
  echo "  $CONNECTIONS connections) in the same run; rounds of $DURATION s, the median of $ROUNDS, each Daisy round"
  echo "  back to back with an nginx round, in alternating order. CPU per unit: the process's user and system"
  echo "  time over what it answered (nginx: its workers), so wrk's share of the cores is left out."
  echo
  echo "| figure | nginx (rate; p50, p99; CPU per request) | Daisy (rate; p50, p99; CPU per unit) | Daisy / nginx | goal |"
  echo "|---|---|---|---|---|"
  printf '| one event per POST | %s/s; %s; %s µs | %s/s; %s; %s µs | **%s** | >= 0.5, p99 < 10 ms |\n' \
    "$(col 1 nginx-event)" "$(at_median nginx-event)" "$(col 4 nginx-event)" \
    "$(col 1 event)" "$(at_median event)" "$(col 4 event)" "$(ratio "$(col 1 event)" "$(col 1 nginx-event)")"
  printf '| form submission, 10 questions and 2 rules | %s/s; %s; %s µs | %s/s; %s; %s µs | **%s** | >= 0.4, p99 < 20 ms |\n' \
    "$(col 1 nginx-submit)" "$(at_median nginx-submit)" "$(col 4 nginx-submit)" \
    "$(col 1 submit)" "$(at_median submit)" "$(col 4 submit)" "$(ratio "$(col 1 submit)" "$(col 1 nginx-submit)")"
  printf '| events in batches of 100, for %s s (events/s) | | %s/s; %s; %s µs per event | | >= 500,000/s |\n' \
    "$SUSTAIN" "$(col 1 batch)" "$(at_median batch)" "$(col 4 batch)"
  echo
  echo "- After the $SUSTAIN s of batches, $PENDING_END events' index entries were still in memory; the index"
  echo "  had written them all $CATCH_UP_S s later (goal: within 5 s)."
  echo "- Per round (rate p50 p99 µs): nginx events: $(rounds_of nginx-event); Daisy events: $(rounds_of event);"
  echo "  nginx submissions: $(rounds_of nginx-submit); Daisy submissions: $(rounds_of submit)."
  echo "- What bounds Daisy's rounds (per round: WAL syncs per s, their mean, the share of the round the sync"
  echo "  thread spent in them, the machine's CPU busy): events: $(rounds_of event-bounds);"
  echo "  submissions: $(rounds_of submit-bounds)."
  if [ "$PROFILED" = 1 ]; then
    for load in event submit batch; do
      echo
      echo "Profile of one more $DURATION s round ($load; perf record -F 499, the server process). Threads: $(sed -n 1p "$WORK/profile-$load")"
      echo
      echo "| share | thread | library | symbol |"
      echo "|---|---|---|---|"
      sed -n '2,$p' "$WORK/profile-$load"
    done
  else
    echo "- No profile: perf is not installed, or not allowed here (PROFILE=$PROFILE)."
  fi
} > "$WORK/section.md"

# The figures of the run this one replaces, so the section shows before and after.
previous="$(python3 - "$OUT" "$HEADING" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read() if os.path.exists(sys.argv[1]) else ""
start = text.find(sys.argv[2])
if start == -1:
    sys.exit(0)
end = text.find("\n## ", start + 1)
section = text[start:end if end != -1 else len(text)]
run = re.search(r"- Run: (\S+), .*?commit (\w+)", section)
rows = [r for r in section.splitlines() if r.startswith("| ") and "**" in r or r.startswith("| events in batches")]
figures = []
for r in rows:
    cells = [c.strip() for c in r.strip("|").split("|")]
    daisy = cells[2].split(";")
    figures.append(f"{cells[0]}: {daisy[0]}, p99 {daisy[1].split('p99')[-1].strip()}" + (f" ({cells[3]} of nginx)" if cells[3] else ""))
if run and figures:
    print(f"- Before (the run this one replaced: {run.group(1)}, commit {run.group(2)}): " + "; ".join(figures) + ".")
PY
)"
if [ -n "$previous" ]; then echo "$previous" >> "$WORK/section.md"; fi
write_section "$OUT" "$WORK/section.md" "$HEADING"
cat "$WORK/section.md"
