#!/usr/bin/env python3
"""Tests of daisy_client against the real daisy binary.

    python3 clients/python/test_daisy_client.py --binary build/asan/daisy [unittest options]

Starts `daisy serve` on a free port (port 0, reading the address it logs) with
a throwaway --data-dir, an --admin-token and --allow-private-targets (so that
a webhook may reach the receiver these tests run on 127.0.0.1). Exits
non-zero when a test fails; the last line is `N passed, M failed`.
Waits are bounded polls, never timing thresholds.
"""

import argparse
import csv
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import daisy_client  # noqa: E402
from daisy_client import (  # noqa: E402
    ROUTES, Conflict, Daisy, DaisyError, Forbidden, NotFound, RateLimited, Route, ServerError,
    Unauthorized, ValidationFailed, verify_webhook)

ADMIN_TOKEN = "dsy_admin_python_client_tests_0123456789"
BINARY = None      # set by main()
SERVER = None      # the running DaisyServer


def wait_until(predicate, timeout=30.0, interval=0.05, what="the condition"):
    """Polls `predicate` until it answers a truthy value (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("gave up waiting for %s after %.0f s" % (what, timeout))
        time.sleep(interval)


class DaisyServer:
    """A daisy process on 127.0.0.1 with its own data dir."""

    MARKER = "msg=listening address="

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="daisy-python-client-")
        self.log_path = os.path.join(self.dir, "daisy.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0",
             "--data-dir", os.path.join(self.dir, "data"), "--admin-token", ADMIN_TOKEN, "--allow-private-targets"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            address = wait_until(self._address, timeout=60, what="daisy to log its address")
            self.url = "http://" + address
            wait_until(self._healthy, timeout=60, what="GET /healthz")
        except BaseException:
            self.stop()
            print(self.tail(), file=sys.stderr)
            self.remove()
            raise

    def _address(self):
        if self.proc.poll() is not None:
            raise AssertionError("daisy exited with %s:\n%s" % (self.proc.returncode, self.tail()))
        with open(self.log_path, errors="replace") as f:
            text = f.read()
        at = text.find(self.MARKER)
        if at < 0 or "\n" not in text[at:]:
            return None
        return text[at + len(self.MARKER):].split("\n", 1)[0].split(" ", 1)[0]

    def _healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def tail(self, n=4000):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-n:]

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


class Receiver:
    """An HTTP server on 127.0.0.1 that records each request and answers a scripted status."""

    def __init__(self, statuses=None, reply_headers=None):
        self.requests = []   # (method, path, headers, body)
        self.statuses = list(statuses or [])
        self.reply_headers = reply_headers or {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.cond:
                    receiver.requests.append((self.command, self.path, self.headers, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.cond.notify_all()
                payload = b"{}" if status < 300 else json.dumps(
                    {"type": "urn:daisy:problem:test", "title": "Test", "status": status,
                     "detail": "scripted"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if status < 300 else "application/problem+json")
                for k, v in receiver.reply_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=30.0):
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError("the receiver got %d requests, not %d, within %.0f s"
                                     % (len(self.requests), count, timeout))
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def setUpModule():
    global SERVER
    SERVER = DaisyServer(BINARY)


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


def admin():
    return Daisy(SERVER.url, token=ADMIN_TOKEN)


def new_app(name="test app", need_key=True):
    """Creates an app; answers (app, secret-token client, publishable-key client).

    Fails when the server gives the app no publishable key (unless not `need_key`:
    then the third client is None).
    """
    app = admin().create_app(name)
    key = app.get("publishable_key")
    if not isinstance(key, str) or not key.startswith("dpk_"):
        if need_key:
            raise AssertionError("POST /v1/apps gave no publishable_key (dpk_...): %r" % app)
        return app, Daisy(SERVER.url, token=app["token"]), None
    return app, Daisy(SERVER.url, token=app["token"]), Daisy(SERVER.url, key=key)


def new_form(title="Survey"):
    return admin().create_form(title, [
        {"key": "name", "type": "text", "required": True},
        {"key": "age", "type": "integer", "min": 0},
    ])


# --------------------------------------------------------------------------
# Capture


class CaptureTest(unittest.TestCase):

    def test_track_with_publishable_key_reads_back_with_secret_token(self):
        app, secret, public = new_app()
        session = str(uuid.uuid4())
        reply = public.track("page interaction", "pageview", {"host": "example.org", "path": "/pricing"},
                             session_id=session, timestamp="2021-01-02T03:04:05.678901Z")
        event_id = reply["id"]
        uuid.UUID(event_id)
        self.assertEqual(reply["actions"], [])
        batch = public.track_batch([
            {"category": "page interaction", "name": "cta click",
             "data": {"host": "example.org", "path": "/pricing", "element": "buy"},
             "session_id": session, "timestamp": "2021-01-02T03:04:06Z"}])
        self.assertEqual(batch["accepted"], 1)
        events = list(secret.iter_events(session_id=session))
        self.assertEqual([e["id"] for e in events], [event_id, batch["ids"][0]])
        first = events[0]
        self.assertEqual(first["session_id"], session)
        self.assertEqual(first["category"], "page interaction")
        self.assertEqual(first["name"], "pageview")
        self.assertEqual(first["data"], {"host": "example.org", "path": "/pricing"})
        self.assertEqual(first["timestamp"], "2021-01-02T03:04:05.678901Z")
        self.assertEqual(first["app_id"], app["id"])
        self.assertEqual(events[1]["data"]["element"], "buy")

    def test_same_client_id_is_stored_once_alone_and_in_a_batch(self):
        _, secret, public = new_app()
        session = str(uuid.uuid4())
        a, b, c = (str(uuid.uuid4()) for _ in range(3))
        self.assertEqual(public.track("t", "e", {"n": 1}, session_id=session, id=a)["id"], a)
        # The same id again, in upper case: acknowledged with the same (lower-case) id.
        self.assertEqual(public.track("t", "e", {"n": 1}, session_id=session, id=a.upper())["id"], a)
        reply = public.track_batch([
            {"category": "t", "name": "e", "data": {"n": 1}, "session_id": session, "id": a},
            {"category": "t", "name": "e", "data": {"n": 2}, "session_id": session, "id": b},
            {"category": "t", "name": "e", "data": {"n": 2}, "session_id": session, "id": b},
        ])
        self.assertEqual(reply["rejected"], [])
        self.assertEqual(set(reply["ids"]), {a, b})
        # A batch sent twice (a retried batch) stores nothing new.
        again = [{"category": "t", "name": "e", "data": {"n": 3}, "session_id": session, "id": c}]
        public.track_batch(again)
        public.track_batch(again)
        ids = [e["id"] for e in secret.iter_events(session_id=session)]
        self.assertEqual(sorted(ids), sorted([a, b, c]))

    def test_publishable_key_is_forbidden_to_read(self):
        app, _, public = new_app()
        form = new_form()
        admin().update_app(app["id"], forms=[form["id"]])
        public.track("t", "e", {})
        response = public.submit(form["id"], {"name": "Ada"})
        for call in (lambda: public.correct_response(form["id"], response["id"], {"name": "Eve"}),
                     lambda: public.get_response(form["id"], response["id"]),lambda: list(public.iter_events()),
                     lambda: public.session(public.session_id),
                     lambda: public.get_form(form["id"]),
                     lambda: list(public.iter_responses(form["id"])),
                     lambda: public.export_responses(form["id"]),
                     lambda: public.get_app(app["id"]),
                     lambda: list(public.iter_jobs())):
            with self.assertRaises(Forbidden) as caught:
                call()
            self.assertEqual(caught.exception.status, 403)
            self.assertTrue(caught.exception.type.endswith("forbidden"), caught.exception.type)

    def test_submit_with_idempotency_key_stores_one_response(self):
        app, _, public = new_app()
        form = new_form()
        # A publishable key may submit only to the app's forms.
        with self.assertRaises(Forbidden):
            public.submit(form["id"], {"name": "Ada"})
        self.assertEqual(admin().update_app(app["id"], forms=[form["id"]])["forms"], [form["id"]])
        key = str(uuid.uuid4())
        first = public.submit(form["id"], {"name": "Ada", "age": 36}, idempotency_key=key)
        second = public.submit(form["id"], {"name": "Ada", "age": 36}, idempotency_key=key)
        self.assertEqual(first["id"], second["id"])
        self.assertEqual(first["app_id"], app["id"])
        stored = list(admin().iter_responses(form["id"]))
        self.assertEqual([r["id"] for r in stored], [first["id"]])
        # Without a key each call is its own response.
        public.submit(form["id"], {"name": "Bob"})
        self.assertEqual(len(list(admin().iter_responses(form["id"]))), 2)

    def test_rate_limit_is_rate_limited_with_retry_after(self):
        app, secret, public = new_app()
        limits = {"events_per_second": 1, "burst": 5}
        self.assertEqual(admin().update_app(app["id"], rate_limit=limits)["rate_limit"], limits)
        once = Daisy(SERVER.url, key=app["publishable_key"], retries=0, session_id=public.session_id)
        accepted = []
        caught = None
        for _ in range(10):   # each batch takes the whole burst: one soon finds the bucket empty
            try:
                accepted += once.track_batch([{"category": "t", "name": "e"} for _ in range(5)])["ids"]
            except RateLimited as e:
                caught = e
                break
        self.assertIsNotNone(caught, "no batch was refused 429")
        self.assertEqual((caught.status, caught.type), (429, "urn:daisy:problem:rate-limited"))
        self.assertGreater(caught.retry_after, 0)
        # The retrying client waits as Retry-After says and sends the same ids again.
        accepted += public.track_batch([{"category": "t", "name": "e"} for _ in range(5)])["ids"]
        stored = [e["id"] for e in secret.iter_events(session_id=public.session_id)]
        self.assertEqual(sorted(stored), sorted(accepted))


# --------------------------------------------------------------------------
# The admin API


class AdminTest(unittest.TestCase):

    def test_apps(self):
        d = admin()
        app, _, public = new_app("apps test")
        got = d.get_app(app["id"])
        self.assertEqual(got["name"], "apps test")
        self.assertEqual(got["publishable_key"], app["publishable_key"])
        self.assertNotIn("token", got)
        self.assertIn(app["id"], [a["id"] for a in d.iter_apps(limit=1)])
        patched = d.update_app(app["id"], unknown_event_types="reject",
                               allowed_origins=["https://www.example.com"])
        self.assertEqual(patched["unknown_event_types"], "reject")
        self.assertEqual(patched["allowed_origins"], ["https://www.example.com"])
        rotated = d.rotate_app_token(app["id"])
        self.assertNotEqual(rotated["token"], app["token"])
        with self.assertRaises(Unauthorized):
            list(Daisy(SERVER.url, token=app["token"]).iter_events())
        list(Daisy(SERVER.url, token=rotated["token"]).iter_events())
        new_key = d.rotate_publishable_key(app["id"])["publishable_key"]
        self.assertTrue(new_key.startswith("dpk_"))
        self.assertNotEqual(new_key, app["publishable_key"])
        with self.assertRaises(Unauthorized):
            public.track("t", "e", {})
        d.delete_app(app["id"])
        with self.assertRaises(NotFound):
            d.get_app(app["id"])

    def test_forms(self):
        d = admin()
        form = new_form("Forms test")
        self.assertEqual(form["version"], 1)
        self.assertEqual(d.get_form(form["id"])["title"], "Forms test")
        self.assertIn(form["id"], [f["id"] for f in d.iter_forms(limit=2)])
        changed = d.update_form(form["id"], title="Renamed", description="d")
        self.assertEqual((changed["title"], changed["description"]), ("Renamed", "d"))
        archived = d.archive_form(form["id"])
        self.assertEqual(archived["status"], "archived")
        with self.assertRaises(Conflict):
            d.submit(form["id"], {"name": "late"})

    def test_iter_responses_pages_without_repeat_or_skip(self):
        d = admin()
        form = new_form()
        submitted = [d.submit(form["id"], {"name": "p%d" % i, "age": i})["id"] for i in range(7)]
        page = d.list_responses(form["id"], limit=3)
        self.assertEqual(len(page["items"]), 3)
        self.assertIsNotNone(page["next_cursor"])
        self.assertEqual([r["id"] for r in d.iter_responses(form["id"], limit=3)], submitted)
        self.assertEqual([r["id"] for r in d.iter_responses(form["id"], limit=7)], submitted)
        one = d.get_response(form["id"], submitted[2])
        self.assertEqual(one["answers"], {"name": "p2", "age": 2})
        corrected = d.correct_response(form["id"], submitted[2], {"name": "p2", "age": 20})
        self.assertEqual((corrected["revision"], corrected["answers"]["age"]), (2, 20))
        self.assertEqual(len(d.response_revisions(form["id"], submitted[2])["items"]), 2)

    def test_export_csv_has_the_submitted_rows(self):
        d = admin()
        form = new_form()
        ids = [d.submit(form["id"], {"name": n, "age": a})["id"] for n, a in (("Ada", 36), ("Bob", 41))]
        data = d.export_responses(form["id"], format="csv")
        self.assertIsInstance(data, bytes)
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        self.assertEqual([r["response_id"] for r in rows], ids)
        self.assertEqual([(r["name"], r["age"]) for r in rows], [("Ada", "36"), ("Bob", "41")])
        ndjson = [json.loads(line) for line in d.export_responses(form["id"], format="ndjson").splitlines()]
        self.assertEqual([r["id"] for r in ndjson], ids)
        self.assertTrue(d.export_responses(form["id"], format="xlsx").startswith(b"PK"))

    def test_iter_events_and_session_page(self):
        _, secret, _ = new_app(need_key=False)
        session = str(uuid.uuid4())
        reply = secret.track_batch([
            {"category": "paging", "name": "step", "data": {"i": i}, "session_id": session,
             "timestamp": "2021-01-01T00:00:%02dZ" % i} for i in range(25)])
        self.assertEqual(reply["accepted"], 25)
        page = secret.list_events(session_id=session, limit=10)
        self.assertEqual(len(page["items"]), 10)
        self.assertIsNotNone(page["next_cursor"])
        events = list(secret.iter_events(session_id=session, limit=10))
        self.assertEqual([e["id"] for e in events], reply["ids"])
        self.assertEqual([e["data"]["i"] for e in events], list(range(25)))
        filtered = list(admin().iter_events(category="paging", name="step", session_id=session,
                                            since="2021-01-01T00:00:10Z", until="2021-01-01T00:00:20Z", limit=4))
        self.assertEqual([e["data"]["i"] for e in filtered], list(range(10, 20)))
        whole = secret.session(session, limit=10)
        self.assertEqual(whole["count"], 25)
        self.assertEqual([e["id"] for e in whole["events"]], reply["ids"])

    def test_event_types(self):
        d = admin()
        schema = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}
        d.put_event_type("shop items", "add to cart", schema)
        self.assertEqual(d.get_event_type("shop items", "add to cart")["schema"], schema)
        names = [(t["category"], t["name"]) for t in d.iter_event_types(limit=2)]
        self.assertIn(("shop items", "add to cart"), names)
        _, secret, _ = new_app(need_key=False)
        with self.assertRaises(ValidationFailed) as caught:
            secret.track("shop items", "add to cart", {"sku": 5})
        self.assertIn("data.sku", caught.exception.fields)
        good, bad = {"category": "shop items", "name": "add to cart", "data": {"sku": "a-1"}}, \
            {"category": "shop items", "name": "add to cart", "data": {}}
        mixed = secret.track_batch([good, bad])
        self.assertEqual((mixed["accepted"], [r["index"] for r in mixed["rejected"]]), (1, [1]))
        with self.assertRaises(ValidationFailed) as caught:
            secret.track_batch([bad, bad])
        self.assertEqual(caught.exception.problem["accepted"], 0)
        self.assertEqual([r["index"] for r in caught.exception.problem["rejected"]], [0, 1])
        d.delete_event_type("shop items", "add to cart")
        with self.assertRaises(NotFound):
            d.get_event_type("shop items", "add to cart")

    def test_integrations_and_jobs(self):
        d = admin()
        app, _, _ = new_app(need_key=False)
        created = d.create_integration("dead end", {"app_id": app["id"]}, "webhook",
                                       {"url": "http://127.0.0.1:9/hook"}, enabled=False,
                                       retry={"schedule_s": [0]})
        self.assertTrue(created["secret"].startswith("whsec_"))
        self.assertEqual(created["on"], ["event.created"])
        self.assertIn(created["id"], [i["id"] for i in d.iter_integrations(limit=1)])
        self.assertEqual(d.get_integration(created["id"])["enabled"], False)
        self.assertEqual(d.update_integration(created["id"], name="renamed")["name"], "renamed")
        with self.assertRaises(Conflict):  # a disabled integration cannot be replayed
            d.replay_integration(created["id"], "2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z")
        rotated = d.rotate_integration_secret(created["id"])
        self.assertNotEqual(rotated["secret"], created["secret"])
        page = d.list_jobs(limit=5)
        self.assertIn("items", page)
        self.assertIn("next_cursor", page)
        self.assertEqual(list(d.iter_jobs(integration_id=created["id"])), [])
        d.delete_integration(created["id"])
        with self.assertRaises(NotFound):
            d.get_integration(created["id"])
        self.assertNotIn(created["id"], [i["id"] for i in d.iter_integrations()])
        with self.assertRaises(NotFound):
            d.get_job(str(uuid.uuid4()))


# --------------------------------------------------------------------------
# Errors


class ErrorsTest(unittest.TestCase):

    def test_not_found(self):
        with self.assertRaises(NotFound) as caught:
            admin().get_form(str(uuid.uuid4()))
        e = caught.exception
        self.assertEqual(e.status, 404)
        self.assertEqual(e.type, "urn:daisy:problem:not-found")
        self.assertEqual(e.title, "Not Found")
        self.assertTrue(e.detail)
        self.assertIsInstance(e, DaisyError)

    def test_validation_failed_names_the_field(self):
        form = new_form()
        with self.assertRaises(ValidationFailed) as caught:
            admin().submit(form["id"], {"name": "Ada", "age": "thirty"})
        e = caught.exception
        self.assertEqual(e.status, 422)
        self.assertEqual(e.fields, ["age"])
        self.assertTrue(e.errors[0]["message"])

    def test_unauthorized(self):
        for bad in (Daisy(SERVER.url, token="dsy_app_" + "x" * 43), Daisy(SERVER.url)):
            with self.assertRaises(Unauthorized) as caught:
                list(bad.iter_events())
            self.assertEqual(caught.exception.status, 401)
        with self.assertRaises(Unauthorized):
            Daisy(SERVER.url, key="dpk_not_a_key").track("t", "e", {})


# --------------------------------------------------------------------------
# Retries (against a scripted local server)


class RetryTest(unittest.TestCase):

    def client(self, statuses, retries=3, headers=None):
        self.receiver = Receiver(statuses, headers)
        self.addCleanup(self.receiver.close)
        return Daisy(self.receiver.url, token="dsy_app_x", retries=retries, backoff=0.01)

    def test_idempotent_requests_are_retried_with_the_same_ids(self):
        d = self.client([503, 429])
        d.track("t", "e", {"a": 1})
        bodies = [json.loads(r[3]) for r in self.receiver.requests]
        self.assertEqual(len(bodies), 3)
        self.assertEqual(len({b["id"] for b in bodies}), 1)
        d = self.client([503])
        d.submit(str(uuid.uuid4()), {"x": 1})
        keys = [r[2]["Idempotency-Key"] for r in self.receiver.requests]
        self.assertEqual(len(keys), 2)
        self.assertEqual(keys[0], keys[1])
        d = self.client([503, 503])
        d.list_jobs()
        self.assertEqual(len(self.receiver.requests), 3)

    def test_other_requests_are_not_retried(self):
        d = self.client([503])
        with self.assertRaises(ServerError) as caught:
            d.create_app("x")
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(len(self.receiver.requests), 1)
        d = self.client([500, 500])
        with self.assertRaises(ServerError):
            d.list_apps()
        self.assertEqual(len(self.receiver.requests), 1)
        d = self.client([429, 429, 429], retries=2, headers={"Retry-After": "0"})
        with self.assertRaises(RateLimited) as caught:
            d.track("t", "e")
        self.assertEqual(caught.exception.retry_after, 0.0)
        self.assertEqual(len(self.receiver.requests), 3)
        # No reply at all: retried, then ConnectionFailed.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        with self.assertRaises(daisy_client.ConnectionFailed) as caught:
            Daisy("127.0.0.1:%d" % closed_port, token="t", retries=1, backoff=0.01).list_jobs()
        self.assertIsNone(caught.exception.status)
        # A large batch goes gzipped.
        d = self.client([])
        d.track_batch([{"category": "t", "name": "e", "data": {"pad": "x" * 100}} for _ in range(50)])
        self.assertEqual(self.receiver.requests[0][2]["Content-Encoding"], "gzip")


# --------------------------------------------------------------------------
# Webhooks


class WebhookTest(unittest.TestCase):

    def test_vector_of_the_docs(self):
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        body = b'{"test": 2432232314}'
        headers = {"Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "Webhook-Timestamp": "1614265330",
                   "Webhook-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
        self.assertTrue(verify_webhook(secret, headers, body, now=1614265330))
        self.assertTrue(verify_webhook(secret, headers, body.decode(), now=1614265330 + 300))
        rotated = dict(headers, **{"Webhook-Signature": "v1,bm90IGl0 v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="})
        self.assertTrue(verify_webhook(secret, rotated, body, now=1614265330))
        self.assertFalse(verify_webhook(secret, headers, body, now=1614265330 + 301))
        self.assertFalse(verify_webhook(secret, headers, body, now=1614265330 - 301))
        self.assertFalse(verify_webhook(secret, headers, body + b" ", now=1614265330))
        self.assertFalse(verify_webhook(secret, dict(headers, **{"Webhook-Id": "msg_other"}), body, now=1614265330))
        self.assertFalse(verify_webhook("whsec_" + "A" * 32, headers, body, now=1614265330))
        self.assertFalse(verify_webhook(secret, {}, body, now=1614265330))
        self.assertFalse(verify_webhook(secret, dict(headers, **{"Webhook-Timestamp": "soon"}), body))

    def test_a_delivered_webhook_verifies(self):
        d = admin()
        receiver = Receiver()
        self.addCleanup(receiver.close)
        form = new_form()
        hook = d.create_integration("python client test", {"form_id": form["id"]}, "webhook",
                                    {"url": receiver.url + "/hooks/daisy"})
        secret = hook["secret"]
        response = d.submit(form["id"], {"name": "Ada", "age": 36})
        self.assertEqual(len(response["actions"]), 1)
        job_id = response["actions"][0]["job_id"]
        method, path, headers, body = receiver.wait_for(1)[0]
        self.assertEqual((method, path), ("POST", "/hooks/daisy"))
        self.assertEqual(headers["webhook-id"], job_id)
        self.assertEqual(json.loads(body)["data"]["id"], response["id"])
        self.assertTrue(verify_webhook(secret, headers, body))
        self.assertFalse(verify_webhook(secret, headers, body.replace(b"Ada", b"Eve")))
        self.assertFalse(verify_webhook(secret, headers, body + b"\n"))
        self.assertFalse(verify_webhook(secret, headers, body, now=int(headers["webhook-timestamp"]) + 301))
        self.assertFalse(verify_webhook(d.rotate_integration_secret(hook["id"])["secret"], headers, body))
        # The job, as the jobs API shows it.
        job = wait_until(lambda: (lambda j: j if j["status"] == "succeeded" else None)(d.get_job(job_id)),
                         what="the job to succeed")
        self.assertEqual(job["source_id"], response["id"])
        self.assertEqual([j["id"] for j in d.iter_jobs(integration_id=hook["id"], limit=1)], [job_id])
        with self.assertRaises(Conflict):
            d.retry_job(job_id)
        with self.assertRaises(Conflict):
            d.cancel_job(job_id)


# --------------------------------------------------------------------------
# The client against the API reference


def _resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _has_field(spec, schema, parts):
    """True when the (dotted, `name[]`) field path exists in the schema, through $ref, allOf/oneOf/anyOf."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return False
    if not parts:
        return True
    for combiner in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(combiner, []):
            if _has_field(spec, sub, parts):
                return True
    head, rest = parts[0], parts[1:]
    is_array = head.endswith("[]")
    name = head[:-2] if is_array else head
    prop = (schema.get("properties") or {}).get(name)
    if prop is None:
        return False
    if is_array:
        prop = _resolve(spec, prop)
        return isinstance(prop, dict) and "items" in prop and _has_field(spec, prop["items"], rest)
    return _has_field(spec, prop, rest)


def check_route(spec, name, route):
    """The problems of one client route against the OpenAPI document (an empty list when none)."""
    problems = []
    path_item = spec.get("paths", {}).get(route.path)
    if path_item is None:
        return ["%s: no path %s" % (name, route.path)]
    operation = path_item.get(route.method.lower())
    if operation is None:
        return ["%s: %s has no %s" % (name, route.path, route.method)]
    params = [_resolve(spec, p) for p in path_item.get("parameters", []) + operation.get("parameters", [])]
    query = {p["name"] for p in params if p.get("in") == "query"}
    headers = {p["name"].lower() for p in params if p.get("in") == "header"}
    in_path = {p["name"] for p in params if p.get("in") == "path"}
    for q in route.query:
        if q not in query:
            problems.append("%s: %s %s has no query parameter %s" % (name, route.method, route.path, q))
    for h in route.headers:
        if h.lower() not in headers:
            problems.append("%s: %s %s has no header %s" % (name, route.method, route.path, h))
    for segment in route.path.split("/"):
        if segment.startswith("{") and segment[1:-1] not in in_path:
            problems.append("%s: %s %s does not describe path parameter %s" % (name, route.method, route.path, segment))
    if route.body:
        body = _resolve(spec, operation.get("requestBody") or {})
        schema = (body.get("content") or {}).get("application/json", {}).get("schema")
        if schema is None:
            problems.append("%s: %s %s takes no JSON body" % (name, route.method, route.path))
        else:
            for field in route.body:
                if not _has_field(spec, schema, field.split(".")):
                    problems.append("%s: the body of %s %s has no field %s" % (name, route.method, route.path, field))
    return problems


class OpenApiTest(unittest.TestCase):

    def test_every_route_and_field_the_client_uses_is_in_the_served_spec(self):
        with urllib.request.urlopen(SERVER.url + "/openapi.json", timeout=30) as r:
            spec = json.loads(r.read())
        # The checker itself finds a missing route, method, parameter and field.
        self.assertTrue(check_route(spec, "x", Route("GET", "/v1/no-such-route")))
        self.assertTrue(check_route(spec, "x", Route("PUT", "/v1/apps")))
        self.assertTrue(check_route(spec, "x", Route("GET", "/v1/events", query=("colour",))))
        self.assertTrue(check_route(spec, "x", Route("POST", "/v1/events", body=("events[].colour",))))
        self.assertTrue(check_route(spec, "x", Route("POST", "/v1/apps", body=("colour",))))
        self.assertEqual(check_route(spec, "x", Route("POST", "/v1/events", body=("session_id", "events[].data"))), [])
        problems = [p for name, route in sorted(ROUTES.items()) for p in check_route(spec, name, route)]
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_the_client_sends_only_what_its_table_lists(self):
        d = Daisy("http://127.0.0.1:9", token="t", retries=0)
        with self.assertRaises(TypeError):
            d.update_app("a", colour="red")
        with self.assertRaises(TypeError):
            d.update_integration("i", source={"app_id": "a"})
        with self.assertRaises(TypeError):
            d.track_batch([{"category": "c", "name": "n", "colour": "red"}])
        with self.assertRaises(TypeError):
            d._call("list_jobs", query={"colour": "red"})


# --------------------------------------------------------------------------


class CountingResult(unittest.TextTestResult):
    """Counts the tests that passed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    global BINARY
    default = os.environ.get("DAISY_BINARY") or os.path.join(HERE, "..", "..", "build", "asan", "daisy")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default, help="the daisy binary (default: %(default)s)")
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    # Everything here is on 127.0.0.1: keep any configured proxy out of it.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
        x for x in (os.environ.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
    if not os.access(BINARY, os.X_OK):
        print("no executable daisy binary at %s (--binary)" % BINARY, file=sys.stderr)
        return 2
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False,
                            testRunner=unittest.TextTestRunner(resultclass=CountingResult, verbosity=2))
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses) + len(result.skipped)
    if SERVER is not None:
        if failed:
            print("--- the end of daisy's log ---\n" + SERVER.tail() + "\n---")
        SERVER.remove()
    print("%d passed, %d failed" % (result.passed, failed))
    return 0 if failed == 0 and result.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
