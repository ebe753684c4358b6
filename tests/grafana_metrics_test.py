#!/usr/bin/env python3
"""Every metric the dashboard and the alerts use exists in Daisy's GET /metrics.

    python3 tests/grafana_metrics_test.py --binary build/asan/daisy

Starts `daisy serve` on a free port (port 0, reading the address it logs) with
a throwaway --data-dir and --admin-token, waits for GET /readyz, makes a few
requests (so that the series labelled by route and status appear), then reads
GET /metrics (public, no token). It takes the PromQL of every `expr` in
deploy/grafana/daisy.json (and the queries of its template variables) and of
every `expr` in deploy/prometheus/alerts.yml, picks out the metric names (the
identifiers that start with daisy_ or process_, outside label matchers,
strings, ranges and by/without/on/ignoring/group_left/group_right lists), and
checks each one has samples in /metrics. A histogram's family name counts as
present when its _bucket series is. `up` (made by Prometheus) is exempt.

Exits 0 when every name is present; otherwise 1, listing the missing names
and where each is used. Standard library only. The server is stopped at the
end, also on failure.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ADMIN_TOKEN = "dsy_admin_grafana_metrics_test_0123456789"
LISTENING = "msg=listening address="
EXEMPT = {"up"}  # made by Prometheus, not by Daisy

# ------------------------------------------------------------------ PromQL

_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# An identifier not glued to a word character, a colon, a $ (a Grafana
# variable such as $__rate_interval) or a dot (a number such as 1.5e3).
_IDENTIFIER = re.compile(r"(?<![\w:$.])[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr):
    """The metric names an expression reads: daisy_* and process_* identifiers."""
    text = _STRING.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _LABEL_LIST.sub(r"\1 ", text)
    names = set()
    for name in _IDENTIFIER.findall(text):
        if name in EXEMPT:
            continue
        if name.startswith("daisy_") or name.startswith("process_"):
            names.add(name)
    return names


# --------------------------------------------------------------- the sources

def dashboard_queries(path):
    """(where, expr) of every `expr` in the dashboard, and of its template variables' queries."""
    with open(path) as f:
        dashboard = json.load(f)
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            title = node.get("title")
            here = "%s panel %r" % (os.path.basename(path), title) if isinstance(title, str) and "targets" in node else where
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    found.append((here, value))
                else:
                    walk(value, here)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dashboard.get("panels", []), os.path.basename(path))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        where = "%s variable $%s" % (os.path.basename(path), variable.get("name"))
        for text in (query, variable.get("definition")):
            if isinstance(text, str) and text:
                found.append((where, text))
    return found


def _unquote(scalar):
    scalar = scalar.strip()
    if scalar.startswith('"') and scalar.endswith('"') and len(scalar) >= 2:
        return json.loads(scalar)  # YAML's double-quoted escapes are JSON's for PromQL
    if scalar.startswith("'") and scalar.endswith("'") and len(scalar) >= 2:
        return scalar[1:-1].replace("''", "'")
    return scalar


def rule_queries(path):
    """(where, expr) of every rule in a Prometheus rule file.

    A small reader for the YAML of rule files (the standard library has no
    YAML): `expr:` as a plain or quoted scalar, or a `|` / `>` block, the
    rule named by the `alert:` or `record:` before it.
    """
    with open(path) as f:
        lines = f.read().split("\n")
    found = []
    rule = "?"
    key = re.compile(r"^(\s*(?:-\s+)?)(alert|record|expr):\s*(.*?)\s*$")
    i = 0
    while i < len(lines):
        m = key.match(lines[i])
        i += 1
        if not m or lines[i - 1].lstrip().startswith("#"):
            continue
        column, name, rest = len(m.group(1)), m.group(2), m.group(3)
        if name in ("alert", "record"):
            rule = "%s %s %s" % (os.path.basename(path), name, _unquote(rest))
            continue
        body = []
        block = rest[:1] in ("|", ">")
        if not block and rest:
            body.append(rest)
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > column):
            body.append(lines[i].strip())
            i += 1
        text = "\n".join(body).strip() if block else _unquote(" ".join(part for part in body if part))
        found.append((rule, text))
    return found


# ------------------------------------------------------------------ /metrics

def exposed_samples(text):
    """Names of the samples in a Prometheus text exposition, and the names its # TYPE lines declare."""
    samples, declared = set(), set()
    for line in text.split("\n"):
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 3:
                declared.add(parts[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if m:
            samples.add(m.group(0))
    return samples, declared


def present(name, samples):
    return name in samples or name + "_bucket" in samples


# -------------------------------------------------------------------- daisy

class DaisyServer:
    """A daisy process on 127.0.0.1 with its own data dir."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="daisy-grafana-metrics-")
        self.log_path = os.path.join(self.dir, "daisy.log")
        self.log = open(self.log_path, "w")
        self.url = None
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
             "--data-dir", os.path.join(self.dir, "data"), "--admin-token", ADMIN_TOKEN],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            address = self._wait(self._address, 60, "daisy to log its address")
            self.url = "http://" + address
            self._wait(lambda: self.status("GET", "/readyz") == 200, 60, "GET /readyz to answer 200")
        except BaseException:
            self.stop()
            print("--- the end of daisy's log ---\n" + self.tail() + "\n---", file=sys.stderr)
            self.remove()
            raise

    def _wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise RuntimeError("gave up waiting for %s after %.0f s" % (what, timeout))
            time.sleep(0.05)

    def _address(self):
        if self.proc.poll() is not None:
            raise RuntimeError("daisy exited with status %s" % self.proc.returncode)
        with open(self.log_path, errors="replace") as f:
            text = f.read()
        at = text.find(LISTENING)
        if at < 0 or "\n" not in text[at:]:
            return None
        return text[at + len(LISTENING):].split("\n", 1)[0].split(" ", 1)[0]

    def request(self, method, path, body=None, token=None):
        """(status, body text) of one request; never raises for an HTTP error status."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except OSError:
            return None, ""

    def status(self, method, path, **kwargs):
        return self.request(method, path, **kwargs)[0]

    def tail(self, n=4000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def exercise(server):
    """A few requests of several routes and statuses, and a write (a store commit)."""
    calls = [
        ("GET", "/healthz", None, None),
        ("GET", "/readyz", None, None),
        ("GET", "/v1/apps", None, ADMIN_TOKEN),
        ("GET", "/v1/apps", None, None),                  # 401
        ("GET", "/no/such/route", None, None),            # 404, route "unmatched"
        ("POST", "/v1/apps", {"name": "grafana metrics test"}, ADMIN_TOKEN),
        ("GET", "/v1/forms", None, ADMIN_TOKEN),
        ("GET", "/v1/jobs", None, ADMIN_TOKEN),
    ]
    for method, path, body, token in calls:
        status = server.status(method, path, body=body, token=token)
        if status is None:
            raise RuntimeError("%s %s: no answer" % (method, path))


def main():
    default = os.environ.get("DAISY_BINARY") or os.path.join(ROOT, "build", "asan", "daisy")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default, help="the daisy binary (default: %(default)s)")
    parser.add_argument("--root", default=ROOT, help="the repository (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="seconds to wait for every metric to appear (default: %(default)s)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    dashboard = os.path.join(args.root, "deploy", "grafana", "daisy.json")
    alerts = os.path.join(args.root, "deploy", "prometheus", "alerts.yml")
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
        x for x in (os.environ.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
    if not os.access(binary, os.X_OK):
        print("no executable daisy binary at %s (--binary)" % binary, file=sys.stderr)
        return 2

    queries = dashboard_queries(dashboard) + rule_queries(alerts)
    used = {}  # metric name -> the places that use it
    for where, expr in queries:
        for name in metric_names(expr):
            used.setdefault(name, [])
            if where not in used[name]:
                used[name].append(where)
    if not queries or not used:
        print("FAIL: no query found in %s and %s" % (dashboard, alerts))
        return 1
    print("%d queries use %d metric names" % (len(queries), len(used)))

    server = None
    try:
        server = DaisyServer(binary)
        exercise(server)
        # Some series appear a moment after the start (daisy_jobs once the
        # queue was counted): read /metrics until all are there, or give up.
        deadline = time.monotonic() + args.timeout
        while True:
            status, text = server.request("GET", "/metrics")
            if status != 200:
                raise RuntimeError("GET /metrics answered %s" % status)
            samples, declared = exposed_samples(text)
            missing = sorted(name for name in used if not present(name, samples))
            if not missing or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    except BaseException:
        if server is not None:
            server.stop()
            print("--- the end of daisy's log ---\n" + server.tail() + "\n---", file=sys.stderr)
            server.remove()
        raise
    server.stop()
    server.remove()

    for name in sorted(used):
        print("  %-45s %s" % (name, "ok" if name not in missing else "MISSING"))
    if missing:
        print("FAIL: %d of %d metric names used by the dashboard or the alerts are not in GET /metrics:"
              % (len(missing), len(used)))
        for name in missing:
            note = " (declared by # TYPE, but no sample)" if name in declared else ""
            print("  %s%s, used in: %s" % (name, note, "; ".join(used[name])))
        return 1
    print("OK: all %d metric names are in GET /metrics" % len(used))
    return 0


if __name__ == "__main__":
    sys.exit(main())
