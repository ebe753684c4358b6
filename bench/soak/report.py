#!/usr/bin/env python3
"""Reads what bench/soak.sh collected in $WORK, writes the section
"## Soak (make soak)" of $OUT (replacing it, or appending it), prints it, and
exits 1 when the run had errors, a crash or RSS growth beyond the limit."""
import datetime
import glob
import math
import os
import re
import subprocess
import sys
from collections import Counter, OrderedDict

E = os.environ
WORK, OUT = E["WORK"], E["OUT"]
WINDOWS = int(E["WINDOWS"])
SECONDS = int(E["SOAK_SECONDS"])
PHASE_S = float(E["SOAK_FEED_PHASE"])
RSS_LIMIT = float(E["SOAK_RSS_LIMIT"])
HEADING = "## Soak (make soak)"
PHASES = ["up", "error", "hang", "refused"]
PHASE_NAME = {"up": "served", "error": "500", "hang": "hanging", "refused": "refused"}


def lines(name):
    path = os.path.join(WORK, name)
    return open(path, encoding="utf-8", errors="replace").read().splitlines() if os.path.exists(path) else []


def metrics(name):
    """{(name, frozenset(labels)): value} of a /metrics snapshot."""
    out = {}
    for line in lines(name):
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def msum(snapshot, name, **want):
    return sum(v for (n, labels), v in snapshot.items()
               if n == name and all((k, w) in labels for k, w in want.items()))


# --- wrk windows -----------------------------------------------------------------
KINDS = [k.split(":") for k in E["SOAK_MIX"].split()]  # kind script connections delay
errors = OrderedDict()


def add(kind, n):
    errors[kind] = errors.get(kind, 0) + n


rows = []  # per window
totals = Counter()
for i in range(0, WINDOWS + 1):  # 0: the warm-up, counted for errors only
    if not os.path.isdir(os.path.join(WORK, f"w{i}")):
        break
    row = {"i": i}
    for kind, *_ in KINDS:
        text = "\n".join(lines(f"w{i}/{kind}"))
        m = re.search(r"^soak (.*)$", text, re.M)
        if not m:
            add(f"wrk of {kind} gave no figures", 1)
            row[kind] = None
            continue
        f = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        row[kind] = f
        if i > 0:
            totals[kind] += f["requests"]
        add(f"{kind}: replies other than 2xx/3xx (wrk)", f["status"])
        add(f"{kind}: socket errors (wrk connect/read/write)", f["connect"] + f["read"] + f["write"])
        add(f"{kind}: timeouts > 2 s (wrk)", f["timeout"])
    if i > 0:
        rows.append(row)

# --- samples and metrics ---------------------------------------------------------------
samples = {int(a[0]): (int(a[2]), int(a[3])) for a in (l.split() for l in lines("samples"))}
final = metrics("metrics-final") or metrics(f"metrics-{len(rows)}")


def jobs_open(snapshot):
    return sum(msum(snapshot, "daisy_jobs", status=s) for s in ("pending", "running", "failed"))


# --- exports ----------------------------------------------------------------------------
exports = {}
for l in lines("exports"):
    w, fmt, t0, t1, code, size, rc, nrows, before = l.split()
    exports[int(w)] = (fmt, float(t1) - float(t0), int(nrows), int(before), code, int(rc), int(size))
    if rc != "0" or code != "200":
        add("exports that failed (curl error or not 200)", 1)
    elif int(nrows) < int(before):
        add("exports missing responses stored before they started", 1)
if len(exports) < len(rows):
    add("exports that did not run", len(rows) - len(exports))

# --- the provider --------------------------------------------------------------------------
feed = [l.split() for l in lines("feed.log")]
T0 = float(feed[0][0]) if feed else 0.0


def phase_at(t):
    return PHASES[int((t - T0) // PHASE_S) % 4]


def phase_of(a, b, margin=0.5):
    """The phase the whole interval [a, b] lies in (with a margin), else None."""
    p = phase_at(a - margin)
    return p if phase_at(b + margin) == p and int((a - margin - T0) // PHASE_S) == int((b + margin - T0) // PHASE_S) else None


feed_seen = Counter(f[1] for f in feed[1:])
pulls = Counter()
pull_errors = Counter()
for l in lines("pulls"):
    t0, t1, code, rc, record = (l.split(" ", 4) + [""])[:5]
    if rc != "0" or code != "200":
        add("pull requests that failed (curl error or not 200)", 1)
        continue
    try:
        import json
        r = json.loads(record)
        started = datetime.datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")).timestamp()
        ended = started + r["duration_ms"] / 1000
    except (ValueError, KeyError, TypeError):
        add("pull replies that were not a sync record", 1)
        continue
    p = phase_of(started, ended)
    ok = r["error"] is None
    pulls[(p, ok)] += 1
    if not ok:
        pull_errors[re.sub(r"\d+", "N", r["error"])[:80]] += 1
    if p == "up" and not ok:
        add("pulls that failed while the provider served the feed", 1)

# --- probes --------------------------------------------------------------------------------
probes = Counter()
for l in lines("probes"):
    _, what, code, rc, same = l.split()
    probes[what] += 1
    if rc != "0" or code != "200":
        add(f"{what} probes that failed (curl error or not 200)", 1)
    elif same != "1":
        add("search probes whose reply changed", 1)

# --- what daisy counted --------------------------------------------------------------------
seen_by_clients = sum(v for k, v in errors.items() if "other than 2xx" in k or "not 200" in k)
server_4xx5xx = sum(v for (n, labels), v in final.items()
                    if n == "daisy_http_requests_total" and int(dict(labels).get("status", "0")) >= 400)
add("replies >= 400 counted by daisy (/metrics), not seen above", max(0, server_4xx5xx - seen_by_clients))
add("connections daisy timed out", msum(final, "daisy_http_connections_timed_out_total"))
add("events rejected", msum(final, "daisy_event_rejections_total"))
attempts = Counter()
for (n, labels), v in final.items():
    if n == "daisy_job_attempts_total":
        attempts[dict(labels).get("outcome", "?")] += v
add("webhook attempts that did not succeed", sum(v for k, v in attempts.items() if k != "succeeded"))
add("webhook jobs not delivered at the end", jobs_open(final) + msum(final, "daisy_jobs", status="dead"))
crashed = E["CRASHED"] == "1"
add("daisy died during the run", 1 if crashed else 0)
add("daisy's exit on SIGTERM not 0", 0 if crashed or E["DAISY_EXIT"] == "0" else 1)
total_errors = int(sum(errors.values()))

# --- the log ---------------------------------------------------------------------------
levels = Counter()
messages = Counter()
for path in (os.path.join(WORK, "daisy.log"), os.path.join(WORK, "daisy.out")):
    if not os.path.exists(path):
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"\blevel=(\w+)", line)
            if not m or m.group(1) in ("info", "debug", "trace"):
                continue
            levels[m.group(1)] += 1
            msg = re.search(r'\bmsg=("(?:[^"\\]|\\.)*"|\S+)', line)
            messages[(m.group(1), re.sub(r"\d+", "N", msg.group(1) if msg else line.strip())[:90])] += 1

# --- RSS ------------------------------------------------------------------------------
last = rows[-1]["i"] if rows else 0
mid = math.ceil(last / 2)
rss = {k: samples.get(k, (0, 0))[0] / 1024 for k in (0, mid, last)}
peak = max((v[1] for v in samples.values()), default=0) / 1024
ratio = rss[last] / rss[mid] if rss[mid] else float("inf")
rss_ok = ratio <= RSS_LIMIT
passed = total_errors == 0 and rss_ok and not crashed and len(rows) == WINDOWS

# --- the section --------------------------------------------------------------------------
def mb(x):
    return f"{x:.0f} MB"


def cell(f, mult=1):
    if f is None:
        return "-"
    return f"{f['requests'] * mult / f['seconds']:.0f} / {f['p99_ms']:.2f} ms"


cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
mix = {k: (s, c, d) for k, s, c, d in KINDS}
started = datetime.datetime.fromtimestamp(int(E["START_EPOCH"]), datetime.timezone.utc)
events_202 = msum(final, "daisy_http_requests_total", route="POST /v1/events", status="202")
responses_201 = msum(final, "daisy_http_requests_total", route="POST /v1/forms/{id}/responses", status="201")
feed_mb = os.path.getsize(os.path.join(WORK, "plans.xml")) / 1048576 if os.path.exists(os.path.join(WORK, "plans.xml")) else 0
out = []
w = out.append
w(HEADING)
w("")
w("Written by `make soak` (bench/soak.sh; `make bench` keeps this section). `make soak` runs the release")
w("build for `SOAK_SECONDS` (default 3600) under a moderate mixed load on 127.0.0.1, after a warm-up that is")
w("not recorded, in back-to-back windows of 60 s (one row below each), and fails on any error, on a crash, or")
w(f"when daisy's RSS at the end is more than {RSS_LIMIT}x its RSS in the middle.")
w("")
w(f"- Run: {started:%Y-%m-%dT%H:%M:%SZ}, {SECONDS} s (+{E['SOAK_WARMUP']} s warm-up), commit {E['SOAK_COMMIT']},"
  f" {os.cpu_count()} cores ({cpu}) shared with the load generators; daisy with default settings"
  " and `--allow-private-targets`.")
w("- Load, all at once (wrk, one thread each; each connection waits the given pause between a reply and its"
  " next request):")
w(f"  form submissions (bench/submit.lua; {mix['submit'][1]} connections, {mix['submit'][2]} ms) to a form of"
  " 10 questions and 2 rules with an async webhook integration to nginx on loopback;"
  f" single events (bench/event.lua; {mix['event'][1]}, {mix['event'][2]} ms);"
  f" batches of 100 events (bench/event_batch.lua; {mix['batch'][1]}, {mix['batch'][2]} ms);"
  f" Fever searches (bench/search.lua; {mix['search'][1]}, {mix['search'][2]} ms).")
w("  With curl: an export of all the form's responses each minute (csv and ndjson in turn), a pull asked"
  f" for every {E['SOAK_PULL_EVERY']} s, and every 10 s a search probe that must answer byte for byte as"
  " after the first pull, and `/readyz`.")
w(f"- The provider (fever-xml, {E['FEED_PLANS']} plans x {E['FEED_ZONES']} zones, {feed_mb:.1f} MB;"
  f" `interval_s` 5, `timeout_ms` {E['PROVIDER_TIMEOUT_MS']}) flaps: served, 500, hanging"
  f" {E['HANG_S']} s, refusing connections, {PHASE_S:.0f} s each in turn"
  " (bench/soak/feed_server.py). It was asked "
  + ", ".join(f"{feed_seen[p]} times while {PHASE_NAME[p]}" for p in PHASES[:3]) + ".")
pull_line = "; ".join(
    f"{PHASE_NAME[p] if p else 'across a phase change'}: {pulls[(p, True)]} ok, {pulls[(p, False)]} failed"
    for p in PHASES + [None] if pulls[(p, True)] + pulls[(p, False)])
w(f"  Pulls asked for, by the provider's phase during the pull: {pull_line}.")
if pull_errors:
    w("  Their errors: " + "; ".join(f"{n} x `{e}`" for e, n in pull_errors.most_common(6)) + ".")
w(f"- Stored: {responses_201:.0f} responses, {events_202:.0f} event requests accepted"
  f" ({totals['event']:.0f} single, {totals['batch']:.0f} batches of 100);"
  f" {totals['search']:.0f} searches; webhook attempts: "
  + (", ".join(f"{v:.0f} {k}" for k, v in sorted(attempts.items()) if v) or "none")
  + f"; the backlog had drained {E['DRAIN_S']} s after the load stopped;"
  f" {probes['search']} search probes and {probes['readyz']} `/readyz`.")
w(f"- **Errors: {total_errors}**" + (" (" + "; ".join(f"{k}: {v:.0f}" for k, v in errors.items() if v) + ")"
                                    if total_errors else "")
  + ". Counted: replies other than 2xx/3xx, socket errors and timeouts (2 s) seen by wrk; failed exports,"
  " exports missing responses stored before they started, failed pull requests, pulls that failed while the"
  " feed was served, probes that failed or whose search reply changed (curl); replies >= 400 in daisy's"
  " /metrics not seen by the clients, connections it timed out, rejected events, webhook attempts that did not"
  " succeed, jobs not delivered at the end; a crash, an exit status other than 0 on SIGTERM.")
w(f"- RSS of daisy: {mb(rss[0])} after the warm-up, {mb(rss[mid])} after minute {mid},"
  f" {mb(rss[last])} after minute {last}: end/middle **{ratio:.2f}** (limit {RSS_LIMIT}),"
  f" end/start {rss[last] / rss[0] if rss[0] else 0:.2f}; peak (VmHWM) {mb(peak)}.")
w(f"- Daisy's log: **{levels['error'] + levels['critical']} lines at level error or critical**,"
  f" {levels['warning']} at warning"
  + (": " + "; ".join(f"{n} x {lvl} {msg}" for (lvl, msg), n in messages.most_common(8)) if messages else "")
  + ". Stopped with SIGTERM: "
  + ("died during the run." if crashed else f"exit status {E['DAISY_EXIT']}."))
w(f"- Result: **{'pass' if passed else 'FAIL'}**.")
w("")
w("| minute | submissions/s, p99 | single events/s, p99 | events/s in batches, p99 of a batch |"
  " searches/s, p99 | export (rows, s) | RSS | jobs open |")
w("|---|---|---|---|---|---|---|---|")
for row in rows:
    i = row["i"]
    ex = exports.get(i)
    export_cell = f"{ex[0]} {ex[2]}, {ex[1]:.2f} s" if ex else "-"
    w(f"| {i} | {cell(row['submit'])} | {cell(row['event'])} | {cell(row['batch'], 100)} | {cell(row['search'])}"
      f" | {export_cell} | {mb(samples.get(i, (0, 0))[0] / 1024)} | {jobs_open(metrics(f'metrics-{i}')):.0f} |")
section = "\n".join(out) + "\n"

# --- into docs/benchmarks.md --------------------------------------------------------------------
old = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else "# Benchmarks\n"
parts = old.splitlines(keepends=True)
start = next((n for n, l in enumerate(parts) if l.rstrip("\n") == HEADING), None)
if start is None:
    new = old.rstrip("\n") + "\n\n" + section
else:
    end = next((n for n in range(start + 1, len(parts)) if parts[n].startswith("## ")), len(parts))
    rest = "".join(parts[end:])
    new = "".join(parts[:start]) + section + ("\n" + rest if rest else "")
with open(OUT + ".tmp", "w", encoding="utf-8") as f:
    f.write(new)
os.replace(OUT + ".tmp", OUT)
print(section)
if not passed:
    why = []
    if total_errors:
        why.append(f"{total_errors} errors")
    if not rss_ok:
        why.append(f"RSS end/middle {ratio:.2f} > {RSS_LIMIT}")
    if crashed:
        why.append("daisy died")
    if len(rows) != WINDOWS:
        why.append(f"{len(rows)} of {WINDOWS} windows ran")
    print("soak: FAIL: " + ", ".join(why), file=sys.stderr)
    sys.exit(1)
print("soak: pass", file=sys.stderr)
