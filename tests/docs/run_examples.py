#!/usr/bin/env python3
"""Runs the examples of README.md and docs/*.md as pasted, and checks what they promise.

    tests/docs/run_examples.py --binary build/asan/daisy [--source .] [--only README.md] [-v]

Registered with ctest as e2e.docs.Examples (tests/CMakeLists.txt). Standard library only.

What it does, per document (README.md first, then docs/*.md in alphabetical order):

- Every fenced block is listed. ```sh blocks run in order in ONE bash process per
  document (set -euo pipefail; variables carry from block to block), with the
  source directory as working directory. ```python blocks are compiled, then run
  at their place in that sequence (with the first of python3 and /usr/bin/python3
  that has the modules they import). ```nginx blocks are checked with `nginx -t`
  inside an http {} block. Other blocks (json, text, no language) are not commands
  and are only listed.
- A failing command (set -e) ends the document's run: the report shows the block,
  the command's output and what went wrong. The examples must leave no file in the
  checkout (its top level and docs/ are compared before and after).
- A document whose examples talk to Daisy (it mentions localhost:8080 or the
  TOKEN placeholder) gets a fresh server: `daisy serve --allow-private-targets
  --data-dir <fresh temporary dir> --listen 127.0.0.1:0`, whose admin token is read
  from its first-start banner and whose port from its log. The server must stop
  cleanly at the end (exit 0: under ASan, no leak).

The only rewrites made to the examples' text (everything else runs verbatim):

1. `localhost:8080` becomes localhost:<the server's port>.
2. A line `TOKEN=dsy_admin_...` (the placeholder, as printed on first start)
   gets the server's real admin token.
3. A line `<NAME>_PORT=<number>` (the port an example picks for a helper it
   starts: a feed, a webhook receiver) gets a free port instead.
4. `127.0.0.1:6379` and `port=6379` (Redis' default port) become the port of a
   redis-server the runner starts for the document (when it mentions 6379).
5. `localhost:9090` (the gRPC interface's default) becomes localhost:<the
   server's gRPC port>.

The environment is prepared, not rewritten: `daisy` is the binary under test (a
directory holding a `daisy` symlink comes first on PATH); TMPDIR is a directory of
the run, removed with it (so that what `mktemp` makes goes too); DAISY_* variables are
cleared, and DAISY_DB is set, for a document that uses "$DAISY_DB", to a fresh
database on a throwaway PostgreSQL (the ctest `postgres` fixture named by
DAISY_TEST_POSTGRES_DIR, or one started here with tests/postgres_server.sh).

Markers, an HTML comment on the line just before a block:
  <!-- example: skip because <reason> -->   the block is not run (the reason is printed;
                                            a skip without a reason fails the test)
  <!-- example: background -->             runs in the background (a program that serves
                                            until stopped); stopped at the end of the document
  <!-- example: same as <path> -->          the block's text must also appear, verbatim, in
                                            <path> (relative to the source directory)

Promises: a comment line `# -> ...` right after a command (continued on the following
comment lines whose text is indented by two spaces or more) says what that command
prints:
- an optional leading HTTP status (`201`): the status of the last curl run so far;
- then, when it starts with { or [, a JSON pattern matched against the command's
  output: `"..."` matches any value, a string holding `...` matches any text there
  (`"whsec_..."`), `{...}` is any object, and a `...` element in an array allows
  elements besides those listed (without it the array has exactly as many);
  objects need only the keys listed; numbers compare as numbers;
- otherwise the exact text of the output (`...` matches any text; the continuation
  lines are its next lines; white space at the ends of lines does not count).
Besides, every curl must answer below 400, unless its command promises that status.
A promise holds nothing else: prose about it goes on a plain comment line above the
command.
"""
import argparse
import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

ANY = "\u0000any"
MORE = "\u0000more"
SEP = "\x1e"
DOC_TIMEOUT_S = 300
SHELL_LANGS = {"sh", "bash", "shell"}


# ---------------------------------------------------------------- markdown

class Block:
    def __init__(self, doc, line, lang, lines, markers):
        self.doc = doc              # path relative to the source dir
        self.line = line            # 1-based line of the opening fence
        self.lang = lang
        self.lines = lines          # the block's lines, without newlines
        self.markers = markers      # the texts after "example:" of the markers above it
        self.status = None          # what the report says of it
        self.promises = 0
        self.failed = False

    @property
    def where(self):
        return f"{self.doc}:{self.line}"

    def text(self):
        return "\n".join(self.lines) + "\n"


MARKER = re.compile(r"^\s*<!--\s*example:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")


def parse_markdown(path, rel):
    blocks = []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        markers = []
        j = i - 1
        while j >= 0 and MARKER.match(lines[j]):
            markers.insert(0, MARKER.match(lines[j]).group(1))
            j -= 1
        body = []
        k = i + 1
        while k < len(lines) and not lines[k].startswith(fence[:3]):
            body.append(lines[k])
            k += 1
        if k == len(lines):
            raise SystemExit(f"{rel}:{i + 1}: unterminated code block")
        blocks.append(Block(rel, i + 1, lang, body, markers))
        i = k + 1
    return blocks


# ---------------------------------------------------------------- promises

def to_pattern(text):
    """The promise's JSON with its elisions made explicit, parsed."""
    out, stack, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            s = text[i:j + 1]
            out.append(json.dumps(ANY) if s == '"..."' else s)
            i = j + 1
        elif text.startswith("...", i):
            before = "".join(out).rstrip()
            if before.endswith(":"):
                out.append(json.dumps(ANY))
            elif stack and stack[-1] == "[":
                out.append(json.dumps(MORE))
            elif stack and stack[-1] == "{":
                out.append(json.dumps(MORE) + ": 0")
            else:
                raise ValueError("'...' outside an object or array")
            i += 3
        else:
            if c in "{[":
                stack.append(c)
            elif c in "}]" and stack:
                stack.pop()
            out.append(c)
            i += 1
    return json.loads("".join(out))


def glob_match(pattern, value):
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, value, re.S) is not None


def show(v):
    s = json.dumps(v, ensure_ascii=False)
    s = s.replace(json.dumps(MORE) + ": 0", "...").replace(json.dumps(MORE), "...").replace(json.dumps(ANY), '"..."')
    return s if len(s) <= 300 else s[:300] + "..."


def closeness(p, v):
    """How much of pattern p value v matches (to point at the nearest miss)."""
    if isinstance(p, dict) and isinstance(v, dict):
        return sum(1 for k, pv in p.items() if k in v and match(pv, v[k]) is None)
    return 0


def match(p, v, path="$"):
    """None when value v matches pattern p, else why not."""
    if p == ANY:
        return None
    if isinstance(p, str):
        if isinstance(v, str) and (glob_match(p, v) if "..." in p else v == p):
            return None
        return f"{path}: expected {show(p)}, got {show(v)}"
    if p is None or isinstance(p, bool):
        return None if v is p else f"{path}: expected {show(p)}, got {show(v)}"
    if isinstance(p, (int, float)):
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == p:
            return None
        return f"{path}: expected {show(p)}, got {show(v)}"
    if isinstance(p, dict):
        if not isinstance(v, dict):
            return f"{path}: expected an object, got {show(v)}"
        for k, pv in p.items():
            if k == MORE:
                continue
            if k not in v:
                return f"{path}: no member {show(k)} in {show(v)}"
            why = match(pv, v[k], f"{path}.{k}")
            if why:
                return why
        return None
    if isinstance(p, list):
        if not isinstance(v, list):
            return f"{path}: expected an array, got {show(v)}"
        more = MORE in p
        elems = [e for e in p if e != MORE]
        if not more and len(v) != len(elems):
            return f"{path}: expected {len(elems)} elements, got {len(v)}: {show(v)}"
        fits = [[j for j, x in enumerate(v) if match(e, x) is None] for e in elems]
        for i, f in enumerate(fits):
            if not f:
                if not v:
                    return f"{path}: no element matches {show(elems[i])} (the array is empty)"
                j = max(range(len(v)), key=lambda j: closeness(elems[i], v[j]))
                return f"{path}: no element matches {show(elems[i])}; the nearest: {match(elems[i], v[j], f'{path}[{j}]')}"

        def assign(i, used):
            if i == len(fits):
                return True
            return any(assign(i + 1, used | {j}) for j in fits[i] if j not in used)

        return None if assign(0, frozenset()) else f"{path}: the elements of {show(p)} do not match distinct elements of {show(v)}"
    return f"{path}: cannot compare {show(p)}"


class Promise:
    def __init__(self, block, line, text):
        self.block, self.line, self.text = block, line, text
        m = re.match(r"(\d{3})(?:\s+|$)(.*)$", text, re.S)
        self.status = int(m.group(1)) if m else None
        rest = (m.group(2) if m else text).strip()
        self.kind, self.pattern = None, None
        if rest.startswith(("{", "[")):
            self.kind = "json"
            try:
                self.pattern = to_pattern(rest)
            except ValueError as e:
                raise DocError(block, line, f"the promise is neither a JSON pattern nor text: {e}\n  {text}")
        elif rest:
            self.kind, self.pattern = "text", rest

    def check(self, output, status):
        """None when kept, else why not."""
        if self.status is not None and status != self.status:
            return f"expected HTTP status {self.status}, the last curl answered {status}"
        if self.kind == "json":
            try:
                value = json.loads(output)
            except ValueError:
                return "expected JSON output, got text that does not parse as one JSON value"
            return match(self.pattern, value)
        if self.kind == "text":
            lines = "\n".join(line.rstrip() for line in output.strip().split("\n"))  # CSV's CRLF too
            if not glob_match(self.pattern, lines):
                return f"expected the output {self.pattern!r}"
        return None


class DocError(Exception):
    def __init__(self, block, line, message):
        super().__init__(f"{block.doc}:{line}: {message}")


# ---------------------------------------------------------------- statements

class Statement:
    def __init__(self, sid, block, first, last, text):
        self.sid, self.block, self.first, self.last, self.text = sid, block, first, last, text
        self.promise = None
        self.background = False
        self.log = None             # where a background block's output goes


def bash_complete(text):
    last = [l for l in text.rstrip("\n").split("\n") if l.strip()][-1].rstrip()
    if last.endswith(("\\", "|", "&&", "||")):
        return False
    return subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True).returncode == 0


PROMISE = re.compile(r"^\s*#\s*->\s?(.*)$")
CONTINUATION = re.compile(r"^\s*#\s{2,}(\S.*)$")


def split_statements(block, next_sid):
    """The block's top-level commands (comments and blank lines between them left out),
    each with the promise that follows it."""
    stmts, lines, i = [], block.lines, 0
    while i < len(lines):
        line = lines[i]
        lineno = block.line + 1 + i
        if not line.strip():
            i += 1
            continue
        m = PROMISE.match(line)
        if m:
            if not stmts or stmts[-1].last != i - 1:
                raise DocError(block, lineno, "a promise (# -> ...) must come right after the command it is about")
            text = m.group(1)
            i += 1
            while i < len(lines) and CONTINUATION.match(lines[i]):
                text += "\n" + CONTINUATION.match(lines[i]).group(1)
                i += 1
            stmts[-1].promise = Promise(block, lineno, text)
            continue
        if line.lstrip().startswith("#"):
            i += 1
            continue
        j = i
        while True:
            chunk = "\n".join(lines[i:j + 1]) + "\n"
            if bash_complete(chunk):
                break
            j += 1
            if j == len(lines):
                raise DocError(block, lineno, "this command does not end within its block")
        stmts.append(Statement(next_sid + len(stmts), block, i, j, chunk))
        i = j + 1
    return stmts


# ---------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_group(proc, grace=5.0):
    """Ends a process started with start_new_session, and everything it left behind."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            # Children of the group may outlive the leader: one more signal to the group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        except subprocess.TimeoutExpired:
            continue


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAISY_")}
    env.update(extra or {})
    return env


def python_for(source):
    """The first interpreter that imports every module the block imports."""
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
    candidates = []
    for c in (shutil.which("python3"), "/usr/bin/python3"):
        if c and c not in candidates and os.access(c, os.X_OK):
            candidates.append(c)
    def imports(c, names):
        probe = "import " + ", ".join(sorted(names)) if names else "pass"
        return subprocess.run([c, "-c", probe], capture_output=True).returncode == 0

    # A module no interpreter has is one the example makes (stubs protoc
    # generated into a directory it puts on sys.path): not a requirement.
    modules = {m for m in modules if any(imports(c, {m}) for c in candidates)}
    for c in candidates:
        if imports(c, modules):
            return c, None
    return None, (f"no python3 imports {', '.join(sorted(modules))} "
                  "(scripts/install-deps.sh installs python3-redis and python3-requests)")


class Server:
    """A fresh daisy serve for one document."""

    def __init__(self, binary, tmp):
        self.dir = tempfile.mkdtemp(prefix="server-", dir=tmp)
        self.out = open(os.path.join(self.dir, "stdout"), "wb")
        self.err = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--allow-private-targets", "--data-dir", os.path.join(self.dir, "data"),
             "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"],
            stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL, env=clean_env(),
            start_new_session=True)
        self.token = self.port = self.grpc_port = None
        deadline = time.time() + 90
        while time.time() < deadline:
            out = self.read("stdout")
            err = self.read("stderr")
            t = re.search(r"Daisy admin token.*?\n\s*\n\s*(dsy_admin_\S+)", out, re.S)
            p = re.search(r"msg=listening address=[\d.]+:(\d+)", err)
            g = re.search(r'msg="grpc listening" address=[\d.]+:(\d+)', err)
            if t and p and g:
                self.token, self.port, self.grpc_port = t.group(1), int(p.group(1)), int(g.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not start (no admin token and port):\n" + self.tail())

    def read(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tail(self, n=40):
        return "\n".join((self.read("stdout") + self.read("stderr")).split("\n")[-n:])

    def stop(self):
        """None when it stopped cleanly (exit 0), else why not."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
                return "the server did not stop within 60 s of SIGTERM"
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        code = self.proc.returncode
        self.out.close()
        self.err.close()
        return None if code == 0 else f"the server exited with {code}:\n{self.tail()}"


class Redis:
    def __init__(self, tmp):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        kill_group(self.proc)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        kill_group(self.proc)


class Postgres:
    """A fresh database: on the ctest fixture's server when DAISY_TEST_POSTGRES_DIR names
    one, else on a throwaway server started here."""

    def __init__(self, source, tmp):
        self.own_dir = None
        fixture = os.environ.get("DAISY_TEST_POSTGRES_DIR")
        self.script = script = os.path.join(source, "tests", "postgres_server.sh")
        if fixture:
            base = open(os.path.join(fixture, "uri")).read().strip()
        else:
            # Under root the server runs as the postgres user: its dir must be reachable.
            parent = tempfile.mkdtemp(prefix="daisy-docs-pg-")
            os.chmod(parent, 0o755)
            self.own_dir = os.path.join(parent, "pg")
            r = subprocess.run([script, "start", self.own_dir, "fast"], capture_output=True, text=True)
            if r.returncode != 0:
                shutil.rmtree(parent, ignore_errors=True)
                raise RuntimeError("could not start a throwaway PostgreSQL:\n" + r.stdout + r.stderr)
            base = r.stdout.strip().split("\n")[-1]
        self.base = base.rstrip("/") + "/"
        self.name = "docs_" + uuid.uuid4().hex[:12]
        r = subprocess.run(["createdb", "--maintenance-db=" + self.base + "postgres", self.name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.stop()
            raise RuntimeError("createdb failed: " + r.stderr)
        self.uri = self.base + self.name

    def stop(self):
        if self.own_dir:
            subprocess.run([self.script, "destroy", self.own_dir], capture_output=True)
            shutil.rmtree(os.path.dirname(self.own_dir), ignore_errors=True)
        else:
            subprocess.run(["dropdb", "--if-exists", "--force", "--maintenance-db=" + self.base + "postgres",
                            self.name], capture_output=True)


# ---------------------------------------------------------------- one document

PRELUDE = r"""
set -euo pipefail
__docs_begin() { printf '\036begin %s\036' "$1"; printf '\036begin %s\036' "$1" >&2; }
__docs_end() { printf '\036end %s\036' "$1"; printf '\036end %s\036' "$1" >&2; }
# The status of every request, written after curl's own output on stderr (stdout is untouched).
curl() { command curl --write-out $'%{stderr}\x1estatus %{http_code}\x1e' "$@"; }
"""


class Runner:
    def __init__(self, args):
        self.args = args
        self.source = os.path.abspath(args.source)
        self.binary = os.path.abspath(args.binary)
        self.failures = []
        self.tmp = tempfile.mkdtemp(prefix="daisy-docs-")
        self.bindir = os.path.join(self.tmp, "bin")
        os.mkdir(self.bindir)
        os.symlink(self.binary, os.path.join(self.bindir, "daisy"))

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")
        print(f"\nFAIL {where}: {message}\n", flush=True)

    def documents(self):
        docs = ["README.md"]
        docs += sorted("docs/" + f for f in os.listdir(os.path.join(self.source, "docs")) if f.endswith(".md"))
        if self.args.only:
            docs = [d for d in docs if d in self.args.only]
        return docs

    def run(self):
        start = time.time()
        try:
            for doc in self.documents():
                self.run_document(doc)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"\n{len(self.failures)} failure(s); {time.time() - start:.1f} s")
        for f in self.failures:
            print("  " + f.split("\n")[0])
        return 1 if self.failures else 0

    # Rewrites 1-5 (see the top of this file).
    def rewrite(self, text, ctx):
        text = text.replace("localhost:8080", f"localhost:{ctx['port']}") if ctx.get("port") else text
        if ctx.get("grpc_port"):
            text = text.replace("localhost:9090", f"localhost:{ctx['grpc_port']}")
        if ctx.get("token"):
            text = re.sub(r"^(\s*)TOKEN=dsy_admin_\.\.\.", lambda m: m.group(1) + "TOKEN=" + ctx["token"],
                          text, flags=re.M)

        def port(m):
            key = m.group(2) + "=" + m.group(3)
            ctx["ports"].setdefault(key, free_port())
            return f"{m.group(1)}{m.group(2)}={ctx['ports'][key]}"

        text = re.sub(r"^(\s*)([A-Z][A-Z0-9_]*_PORT)=(\d+)\b", port, text, flags=re.M)
        if ctx.get("redis"):
            text = text.replace("127.0.0.1:6379", f"127.0.0.1:{ctx['redis']}")
            text = re.sub(r"\bport=6379\b", f"port={ctx['redis']}", text)
        return text

    def run_document(self, doc):
        path = os.path.join(self.source, doc)
        content = open(path, encoding="utf-8").read()
        try:
            blocks = parse_markdown(path, doc)
        except SystemExit as e:
            self.fail(doc, str(e))
            return
        print(f"== {doc}: {len(blocks)} block(s)", flush=True)
        runnable = []
        for b in blocks:
            self.classify(b)
            if b.status == "run":
                runnable.append(b)
        if runnable:
            before = self.snapshot()
            self.execute(doc, content, runnable)
            left = sorted(self.snapshot() - before)
            if left:
                self.fail(doc, "the examples left files in the checkout: " + ", ".join(left))
        for b in blocks:
            print(f"  {b.where:<28} {b.lang or '(none)':<7} {b.status}"
                  + (f"; {b.promises} promise(s) checked" if b.promises else ""), flush=True)

    def snapshot(self):
        """The checkout's top-level entries and everything under docs/ (where examples run)."""
        found = set(os.listdir(self.source))
        for root, dirs, files in os.walk(os.path.join(self.source, "docs")):
            found.update(os.path.relpath(os.path.join(root, f), self.source) for f in dirs + files)
        return found

    def classify(self, b):
        skip = [m for m in b.markers if m.startswith("skip")]
        unknown = [m for m in b.markers if not re.match(r"(skip\b|background$|same as \S+$)", m)]
        if unknown:  # a misspelt skip must not run what it was meant to keep from running
            b.failed = True
            b.status = "NOT RUN: unknown marker"
            self.fail(b.where, f"unknown marker <!-- example: {unknown[0]} --> (skip because ..., "
                               "background, same as <path>)")
            return
        if skip:
            reason = re.match(r"skip because\s+(\S.*)$", skip[0])
            if not reason:
                b.status = "NOT RUN: skipped without a reason (write <!-- example: skip because ... -->)"
                self.fail(b.where, "a block is skipped without a reason")
            else:
                b.status = "skipped because " + reason.group(1)
            return
        for m in b.markers:
            if m.startswith("same as "):
                target = os.path.join(self.source, m[len("same as "):])
                if not os.path.exists(target) or b.text() not in open(target, encoding="utf-8").read():
                    b.failed = True
                    self.fail(b.where, f"the block is not, verbatim, in {m[len('same as '):]}")
        if b.lang in SHELL_LANGS or b.lang == "python":
            b.status = "run"
        elif b.lang == "nginx":
            b.status = self.check_nginx(b)
        else:
            b.status = "not a command block (" + (b.lang or "no language") + "): listed only"

    def check_nginx(self, b):
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
        if not nginx:
            return "not checked: nginx is not installed"
        d = tempfile.mkdtemp(prefix="nginx-", dir=self.tmp)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"pid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n{b.text()}}}\n")
        r = subprocess.run([nginx, "-t", "-q", "-p", d, "-c", conf, "-e", "stderr"], capture_output=True, text=True)
        if r.returncode != 0:
            b.failed = True
            self.fail(b.where, "nginx -t refuses the block (inside http {}):\n" + r.stderr)
            return "FAILED nginx -t"
        return "checked with nginx -t (inside http {})"

    def execute(self, doc, content, blocks):
        ctx = {"ports": {}}
        env_extra = {"PATH": self.bindir + os.pathsep + os.environ.get("PATH", "")}
        server = redis = pg = None
        try:
            if "localhost:8080" in content or "TOKEN=dsy_admin_..." in content:
                server = Server(self.binary, self.tmp)
                ctx["port"], ctx["token"], ctx["grpc_port"] = server.port, server.token, server.grpc_port
            if re.search(r"127\.0\.0\.1:6379|port=6379", content):
                redis = Redis(self.tmp)
                ctx["redis"] = redis.port
            if "$DAISY_DB" in content:
                pg = Postgres(self.source, self.tmp)
                env_extra["DAISY_DB"] = pg.uri
        except (RuntimeError, OSError) as e:
            for b in blocks:
                b.status = "NOT RUN: the environment could not be prepared"
            self.fail(doc, str(e))
            for x in (server, redis, pg):
                if x:
                    x.stop()
            return
        failures_before = len(self.failures)
        try:
            self.run_script(doc, blocks, ctx, env_extra)
        finally:
            kill_group(ctx.get("bash"))  # and whatever the examples left running
            if server and len(self.failures) > failures_before:
                print("The server's log, its last lines:\n" + textwrap.indent(server.tail(40), "    "))
            if server:
                why = server.stop()
                if why:
                    self.fail(doc, why)
            if redis:
                redis.stop()
            if pg:
                pg.stop()

    def run_script(self, doc, blocks, ctx, env_extra):
        workdir = tempfile.mkdtemp(prefix="doc-", dir=self.tmp)
        script = [PRELUDE]
        stmts = []
        for b in blocks:
            text = self.rewrite(b.text(), ctx)
            rb = Block(b.doc, b.line, b.lang, text.rstrip("\n").split("\n"), b.markers)
            script.append(f"\n# ---- {b.where}\n")
            if b.lang == "python":
                try:
                    compile(text, b.where, "exec")
                except SyntaxError as e:
                    b.status = "FAILED: does not compile"
                    self.fail(b.where, f"the python block does not compile: {e}")
                    continue
                python, why = python_for(text)
                if not python:
                    b.status = "FAILED: " + why
                    self.fail(b.where, why)
                    continue
                file = os.path.join(workdir, f"block-{b.line}.py")
                with open(file, "w") as f:
                    f.write(text)
                s = Statement(len(stmts), b, 0, len(b.lines) - 1, "")
                if "background" in b.markers:
                    s.background = True
                    s.log = file + ".log"
                    s.text = f"{python} {file} > {s.log} 2>&1 &\n"
                else:
                    s.text = f"{python} {file}\n"
                stmts.append(s)
                script.append(f"__docs_begin {s.sid}\n{s.text}__docs_end {s.sid}\n")
                continue
            try:
                parts = split_statements(rb, len(stmts))
            except DocError as e:
                b.status = "FAILED: cannot be read"
                self.fail(b.where, str(e).split(": ", 1)[1])
                continue
            if "background" in b.markers:
                s = Statement(len(stmts), b, 0, len(b.lines) - 1, "")
                s.background = True
                s.log = os.path.join(workdir, f"block-{b.line}.log")
                s.text = f"(\n{text}) > {s.log} 2>&1 &\n"
                parts = [s]
            for s in parts:
                s.block = b
                script.append(f"__docs_begin {s.sid}\n{s.text}__docs_end {s.sid}\n")
            stmts.extend(parts)
        unreadable = [b for b in blocks if b.status != "run"]
        if unreadable:  # the blocks after it would fail for want of what it sets: run none
            for b in blocks:
                if b.status == "run":
                    b.status = f"NOT RUN: the block at {unreadable[0].where} cannot be run"
            return
        script_path = os.path.join(workdir, "script.sh")
        with open(script_path, "w") as f:
            f.write("".join(script))
        out_path, err_path = os.path.join(workdir, "stdout"), os.path.join(workdir, "stderr")
        env = clean_env(dict(env_extra, TMPDIR=workdir))  # what mktemp makes goes with the run
        started = time.time()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            bash = ctx["bash"] = subprocess.Popen(["bash", script_path], cwd=self.source, stdout=out, stderr=err,
                                                  stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            try:
                code = bash.wait(timeout=self.args.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                kill_group(bash)
                code, timed_out = None, True
        elapsed = time.time() - started
        self.check(doc, blocks, stmts, open(out_path, "rb").read().decode("utf-8", "replace"),
                   open(err_path, "rb").read().decode("utf-8", "replace"), code, timed_out)
        if self.args.verbose:
            print(f"  ({doc}: the examples ran in {elapsed:.1f} s)")

    @staticmethod
    def regions(stream):
        """Statement id -> (its output, whether it ended)."""
        found = {}
        for m in re.finditer(SEP + r"begin (\d+)" + SEP + "(.*?)(?=" + SEP + r"(?:begin|end) \d+" + SEP + "|$)",
                             stream, re.S):
            sid = int(m.group(1))
            found[sid] = [m.group(2), False]
        for m in re.finditer(SEP + r"end (\d+)" + SEP, stream):
            if int(m.group(1)) in found:
                found[int(m.group(1))][1] = True
        return found

    def check(self, doc, blocks, stmts, out, err, code, timed_out):
        outs, errs = self.regions(out), self.regions(err)
        failures_before = len(self.failures)
        last_status = None
        broke = False
        for s in stmts:
            b = s.block
            if s.sid not in outs:
                if b.status == "run":
                    b.status = "NOT RUN: an earlier command failed"
                continue
            output, ended = outs[s.sid]
            error = errs.get(s.sid, ["", False])[0]
            statuses = [int(x) for x in re.findall(SEP + r"status (\d+)" + SEP, error)]
            error_text = re.sub(SEP + r"status \d+" + SEP, "", error)
            if statuses:
                last_status = statuses[-1]
            if not ended:
                broke = True
                why = f"timed out after {self.args.timeout:.0f} s" if timed_out else f"failed (bash exited with {code})"
                self.report(s, output, error_text, statuses, f"this command {why}")
                continue
            promised = s.promise.status if s.promise else None
            bad = [x for x in statuses if x >= 400 or x == 0]
            if bad and not (promised is not None and all(x == promised for x in bad)):
                self.report(s, output, error_text, statuses,
                            f"a request answered {bad[0]} and the text promises no such status")
            if s.promise:
                b.promises += 1
                why = s.promise.check(output, last_status)
                if why:
                    self.report(s, output, error_text, statuses, why, s.promise)
        for b in blocks:
            if b.status == "run":
                b.status = "FAILED" if b.failed else "ran"
        if not broke and (timed_out or code != 0):
            self.fail(doc, f"the examples' shell exited with {code}; its stderr:\n{err[-3000:]}")
        if len(self.failures) > failures_before:
            for s in stmts:
                if s.log and os.path.exists(s.log):
                    print(f"The log of the background block at {s.block.where}:\n"
                          + textwrap.indent(open(s.log, errors="replace").read()[-3000:] or "(empty)", "    "))

    def report(self, s, output, error, statuses, why, promise=None):
        b = s.block
        b.failed = True
        first = b.line + 1 + s.first
        numbered = "\n".join(f"  {b.line + 1 + i:4} | {l}" for i, l in enumerate(b.lines))
        msg = [why, f"in the block at {b.where} (the command at line {first}):", numbered,
               "the command printed:", textwrap.indent(output.rstrip() or "(nothing)", "    ")]
        if error.strip():
            msg += ["on stderr:", textwrap.indent(error.rstrip()[-3000:], "    ")]
        if statuses:
            msg.append("HTTP statuses of its requests: " + ", ".join(map(str, statuses)))
        if promise:
            msg += [f"promised (line {promise.line}):", textwrap.indent(promise.text, "    ")]
        self.fail(f"{b.doc}:{first}", "\n".join(msg))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True, help="the daisy binary under test")
    p.add_argument("--source", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                   help="the source directory (README.md, docs/)")
    p.add_argument("--only", nargs="*", help="these documents only (README.md, docs/integrations.md, ...)")
    p.add_argument("--timeout", type=float, default=DOC_TIMEOUT_S, help="seconds per document")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    # A SIGTERM (ctest's timeout, say) unwinds like an error: every server and temporary dir goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(Runner(args).run())


if __name__ == "__main__":
    main()
