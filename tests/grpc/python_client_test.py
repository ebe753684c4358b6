#!/usr/bin/env python3
"""Daisy's gRPC interface (proto/daisy/v1/daisy.proto) from an outside client.

    python3 tests/grpc/python_client_test.py --binary build/asan/daisy [unittest options]

Generates the Python stubs at test time into a temporary directory with
protoc and grpc_python_plugin (Debian's protobuf-compiler-grpc), imports
them, starts `daisy serve` with a throwaway --data-dir, an --admin-token,
--allow-private-targets (a webhook reaches a receiver on 127.0.0.1), the HTTP
API on a free port (read from its log) and the gRPC interface on another
(--grpc-listen), and calls every RPC with python3-grpcio, checking what it
stored through the HTTP API. Every RPC has a deadline; waits are bounded
polls. Exits non-zero when a test fails (the server's log tail is printed
then).

Needs python3-grpcio and python3-protobuf (Debian's). When the `python3`
that runs this lacks them (a pyenv interpreter, say) and /usr/bin/python3
has them, the script runs itself again with /usr/bin/python3.
"""

import os
import sys

try:
    import grpc
    from google.protobuf import json_format
except ImportError:
    _SYSTEM = "/usr/bin/python3"
    if (os.path.exists(_SYSTEM) and not os.environ.get("DAISY_GRPC_TEST_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(_SYSTEM)):
        os.environ["DAISY_GRPC_TEST_REEXEC"] = "1"
        os.execv(_SYSTEM, [_SYSTEM, os.path.abspath(__file__)] + sys.argv[1:])
    raise

import argparse
import http.server as http_server
import importlib
import json
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

from google.protobuf import struct_pb2
from google.protobuf import timestamp_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))           # tests/grpc/ -> the repository
PROTO_DIR = os.path.join(ROOT, "proto")
GRPC_PROTO_DIR = "/usr/share/grpc-proto"                 # Debian's grpc-proto
PROTOC = "/usr/bin/protoc"
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"

ADMIN_TOKEN = "dsy_admin_grpc_python_client_test_0123456789"
RPC_TIMEOUT = 15.0       # seconds, every unary RPC
STREAM_TIMEOUT = 30.0    # seconds, every streaming RPC
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

BINARY = None   # set by main()
SERVER = None   # the running DaisyServer
STUBS = None    # the generated modules, by short name
GEN_DIR = None  # where they were generated


# --------------------------------------------------------------------------
# Stubs


def generate_stubs():
    """Runs protoc on daisy.proto, google/rpc/*.proto, health.proto and reflection.proto; imports them.

    The health and reflection protos are copied under `grpcext/` first: generated
    as `grpc/health/v1/...` their Python package would be `grpc`, which is grpcio
    itself. The proto packages (grpc.health.v1, grpc.reflection.v1alpha), and so
    the service names on the wire, stay as they are.
    """
    global GEN_DIR
    GEN_DIR = tempfile.mkdtemp(prefix="daisy-grpc-stubs-")
    ext = os.path.join(GEN_DIR, "protos")
    out = os.path.join(GEN_DIR, "py")
    os.makedirs(out)
    copies = {
        "grpcext/health/v1/health.proto": "grpc/health/v1/health.proto",
        "grpcext/reflection/v1alpha/reflection.proto": "grpc/reflection/v1alpha/reflection.proto",
    }
    for target, source in copies.items():
        os.makedirs(os.path.dirname(os.path.join(ext, target)), exist_ok=True)
        shutil.copyfile(os.path.join(GRPC_PROTO_DIR, source), os.path.join(ext, target))
    inputs = ["daisy/v1/daisy.proto", "google/rpc/status.proto", "google/rpc/error_details.proto"]
    inputs += sorted(copies)
    command = [PROTOC, "-I", PROTO_DIR, "-I", ext, "--python_out=" + out, "--grpc_python_out=" + out,
               "--plugin=protoc-gen-grpc_python=" + GRPC_PYTHON_PLUGIN] + inputs
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        raise RuntimeError("protoc failed (%d): %s\n%s" % (run.returncode, " ".join(command), run.stdout))
    sys.path.insert(0, out)
    importlib.invalidate_caches()
    names = {
        "daisy": "daisy.v1.daisy_pb2", "daisy_grpc": "daisy.v1.daisy_pb2_grpc",
        "status": "google.rpc.status_pb2", "errors": "google.rpc.error_details_pb2",
        "health": "grpcext.health.v1.health_pb2", "health_grpc": "grpcext.health.v1.health_pb2_grpc",
        "reflection": "grpcext.reflection.v1alpha.reflection_pb2",
        "reflection_grpc": "grpcext.reflection.v1alpha.reflection_pb2_grpc",
    }
    return {short: importlib.import_module(module) for short, module in names.items()}


# --------------------------------------------------------------------------
# Helpers


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


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bearer(token):
    return (("authorization", "Bearer " + token),)


def struct(value):
    s = struct_pb2.Struct()
    s.update(value)
    return s


def to_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def now_timestamp():
    t = timestamp_pb2.Timestamp()
    t.GetCurrentTime()
    return t


class DaisyServer:
    """A daisy process on 127.0.0.1 with its own data dir, HTTP and gRPC."""

    MARKER = "msg=listening address="

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="daisy-grpc-python-")
        self.log_path = os.path.join(self.dir, "daisy.log")
        self.log = open(self.log_path, "w")
        self.grpc_address = "127.0.0.1:%d" % free_port()
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--grpc-listen", self.grpc_address,
             "--data-dir", os.path.join(self.dir, "data"), "--admin-token", ADMIN_TOKEN,
             "--allow-private-targets"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.channel = None
        try:
            address = wait_until(self._address, timeout=60, what="daisy to log its address")
            self.url = "http://" + address
            wait_until(self._healthy, timeout=60, what="GET /healthz")
            self.channel = grpc.insecure_channel(self.grpc_address)
            try:
                grpc.channel_ready_future(self.channel).result(timeout=60)
            except grpc.FutureTimeoutError:
                raise AssertionError("no gRPC connection to %s within 60 s" % self.grpc_address)
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
        if self.proc.poll() is not None:
            raise AssertionError("daisy exited with %s:\n%s" % (self.proc.returncode, self.tail()))
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def tail(self, n=6000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def stop(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if not self.log.closed:
            self.log.close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:2000]))
        self.status = status
        self.body = body


def http(method, path, body=None, token=ADMIN_TOKEN, query=None):
    """One call to the HTTP API; answers the decoded JSON (None when empty). Raises HttpError for >= 400."""
    url = SERVER.url + path
    if query:
        url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=RPC_TIMEOUT) as reply:
            raw = reply.read()
    except urllib.error.HTTPError as e:
        raise HttpError(e.code, e.read().decode(errors="replace"))
    return json.loads(raw) if raw else None


def new_app(name="grpc test app"):
    """An app (as POST /v1/apps answers it: id, token, publishable_key, ...)."""
    app = http("POST", "/v1/apps", {"name": name})
    assert isinstance(app.get("token"), str) and app["token"], app
    return app


def new_form(title="gRPC survey"):
    return http("POST", "/v1/forms", {"title": title, "questions": [
        {"key": "name", "type": "text", "required": True},
        {"key": "age", "type": "number", "min": 0},
        {"key": "count", "type": "integer", "min": 0},
    ]})


def stored_events(session_id, token=ADMIN_TOKEN):
    """Every event of the session over GET /v1/events, page after page."""
    events, after = [], None
    for _ in range(100):
        page = http("GET", "/v1/events", token=token,
                    query={"session_id": session_id, "limit": 1000, "after": after})
        events += page["items"]
        after = page.get("next_cursor")
        if not after or not page["items"]:
            return events
    raise AssertionError("GET /v1/events did not end after 100 pages")


def daisy_stub():
    return STUBS["daisy_grpc"].DaisyStub(SERVER.channel)


def event(session_id, event_id=None, **fields):
    pb = STUBS["daisy"]
    e = pb.Event(session_id=session_id, category=fields.get("category", "grpc test"),
                 name=fields.get("name", "tick"), timestamp=now_timestamp())
    if event_id:
        e.id = event_id
    e.data.SetInParent()   # data is required (an object, possibly empty)
    e.data.update(fields.get("data", {}))
    return e


def batch(events):
    return STUBS["daisy"].EventBatch(events=events)


class Receiver:
    """An HTTP server on 127.0.0.1 that records each request and answers 200 {}."""

    def __init__(self):
        self.requests = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http_server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.cond:
                    receiver.requests.append((self.command, self.path, body))
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_PUT = do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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


class RequestQueue:
    """The request side of a client stream: messages put here are sent in order; `close` ends it."""

    _END = object()

    def __init__(self):
        self.q = queue.Queue()

    def __iter__(self):
        while True:
            item = self.q.get()
            if item is self._END:
                return
            yield item

    def put(self, message):
        self.q.put(message)

    def close(self):
        self.q.put(self._END)


class GrpcTestCase(unittest.TestCase):

    def assertRpcError(self, code, call, *args, **kwargs):
        """Runs the call; asserts it fails with `code`; answers the grpc.RpcError."""
        with self.assertRaises(grpc.RpcError) as caught:
            call(*args, **kwargs)
        error = caught.exception
        self.assertEqual(error.code(), code, "expected %s, got %s: %s" % (code, error.code(), error.details()))
        return error

    def status_details(self, error):
        """The google.rpc.Status in the error's grpc-status-details-bin trailer (asserted present)."""
        trailers = dict(error.trailing_metadata() or ())
        raw = trailers.get("grpc-status-details-bin")
        self.assertIsNotNone(raw, "no grpc-status-details-bin in the trailers: %r" % (trailers,))
        status = STUBS["status"].Status.FromString(raw)
        self.assertEqual(status.code, error.code().value[0], "the Status' code is not the call's")
        return status

    def violations(self, error):
        """The field violations of the BadRequest detail of an INVALID_ARGUMENT error (asserted present)."""
        self.assertEqual(error.code(), grpc.StatusCode.INVALID_ARGUMENT)
        status = self.status_details(error)
        found = [d for d in status.details if d.type_url == BAD_REQUEST_TYPE]
        self.assertTrue(found, "no %s among the details: %s" % (BAD_REQUEST_TYPE, [d.type_url for d in status.details]))
        bad = STUBS["errors"].BadRequest()
        self.assertTrue(found[0].Unpack(bad), "the BadRequest detail does not unpack")
        self.assertTrue(bad.field_violations, "the BadRequest has no field violations")
        return [(v.field, v.description) for v in bad.field_violations]


# --------------------------------------------------------------------------
# 1. Submit


class SubmitTest(GrpcTestCase):

    def test_submit_replay_conflict_validation_and_not_found(self):
        pb = STUBS["daisy"]
        stub = daisy_stub()
        app = new_app()
        form = new_form()
        answers = {"name": "Ada", "age": 36.5, "count": 3}
        key = "grpc-" + str(uuid.uuid4())
        request = pb.SubmitRequest(form_id=form["id"], answers=struct(answers), idempotency_key=key,
                                   metadata=struct({"device": "tablet-17"}))
        first = stub.Submit(request, metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        response = to_dict(first.response)
        self.assertFalse(first.replayed)
        self.assertTrue(response.get("id"), response)
        self.assertEqual(response.get("form_id"), form["id"])
        self.assertEqual(response.get("answers"), answers)
        self.assertEqual(response.get("metadata"), {"device": "tablet-17"})
        self.assertEqual(list(first.actions), [])

        # The same key and request: the stored response again.
        again = stub.Submit(request, metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        self.assertTrue(again.replayed)
        self.assertEqual(to_dict(again.response).get("id"), response["id"])

        # The same key with other answers.
        other = pb.SubmitRequest(form_id=form["id"], answers=struct({"name": "Eve", "age": 40}),
                                 idempotency_key=key, metadata=struct({"device": "tablet-17"}))
        self.assertRpcError(grpc.StatusCode.ALREADY_EXISTS, stub.Submit, other,
                            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)

        # A missing required answer (and a broken min): each question named.
        error = self.assertRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, stub.Submit,
            pb.SubmitRequest(form_id=form["id"], answers=struct({"age": -1})),
            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        fields = [f for f, _ in self.violations(error)]
        self.assertTrue(any(f == "name" or f.endswith(".name") for f in fields), fields)
        self.assertTrue(any(f == "age" or f.endswith(".age") for f in fields), fields)

        # An unknown form.
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, stub.Submit,
                            pb.SubmitRequest(form_id=str(uuid.uuid4()), answers=struct({"name": "Ada"})),
                            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)

        # No token, an unknown token.
        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, stub.Submit,
                            pb.SubmitRequest(form_id=form["id"], answers=struct({"name": "Ada"})),
                            timeout=RPC_TIMEOUT)
        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, stub.Submit,
                            pb.SubmitRequest(form_id=form["id"], answers=struct({"name": "Ada"})),
                            metadata=bearer("dsy_not_a_token_0123456789abcdef"), timeout=RPC_TIMEOUT)

        # Stored once, as submitted (over HTTP).
        stored = http("GET", "/v1/forms/%s/responses/%s" % (form["id"], response["id"]))
        self.assertEqual(stored["id"], response["id"])
        self.assertEqual(stored["answers"], answers)
        self.assertEqual(stored.get("app_id"), app["id"])
        listed = http("GET", "/v1/forms/%s/responses" % form["id"], query={"limit": 100})
        self.assertEqual([r["id"] for r in listed["items"]], [response["id"]])


# --------------------------------------------------------------------------
# 2. SendEvents


class SendEventsTest(GrpcTestCase):

    def test_batch_with_a_rejected_event_and_an_all_invalid_batch(self):
        stub = daisy_stub()
        app = new_app()
        session = str(uuid.uuid4())
        reply = stub.SendEvents(batch([
            event(session, data={"n": 1}),
            event(session, data={"n": 2}),
            event("not-a-uuid", data={"n": 3}),
        ]), metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        self.assertEqual(reply.accepted, 2)
        self.assertEqual(len(reply.ids), 2)
        self.assertEqual(len(reply.rejected), 1, reply)
        self.assertEqual(reply.rejected[0].index, 2)
        fields = [e.field for e in reply.rejected[0].errors]
        self.assertTrue(any("session_id" in f for f in fields), fields)

        stored = stored_events(session)
        self.assertEqual(sorted(e["id"] for e in stored), sorted(reply.ids))
        self.assertEqual(sorted(e["data"]["n"] for e in stored), [1, 2])
        self.assertTrue(all(e.get("app_id") == app["id"] for e in stored), stored)

        # Nothing accepted: INVALID_ARGUMENT naming the field.
        error = self.assertRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, stub.SendEvents,
            batch([event("not-a-uuid-either"), event("nor-this")]),
            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        fields = [f for f, _ in self.violations(error)]
        self.assertTrue(any("session_id" in f for f in fields), fields)
        self.assertEqual(len(stored_events(session)), 2)

    def test_rights(self):
        pb = STUBS["daisy"]
        stub = daisy_stub()
        app = new_app()
        one = batch([event(str(uuid.uuid4()))])
        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, stub.SendEvents, one, timeout=RPC_TIMEOUT)
        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, stub.SendEvents, one,
                            metadata=bearer("dsy_unknown_token_0123456789abcdef"), timeout=RPC_TIMEOUT)
        self.assertRpcError(grpc.StatusCode.PERMISSION_DENIED, stub.SendEvents, one,
                            metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
        # A publishable key is for pages: refused here.
        key = app.get("publishable_key")
        if key:
            with self.assertRaises(grpc.RpcError) as caught:
                stub.SendEvents(one, metadata=bearer(key), timeout=RPC_TIMEOUT)
            self.assertIn(caught.exception.code(),
                          (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED))
        # The admin token on StreamEvents.
        requests = RequestQueue()
        requests.put(one)
        requests.close()
        call = stub.StreamEvents(iter(requests), metadata=bearer(ADMIN_TOKEN), timeout=STREAM_TIMEOUT)
        with self.assertRaises(grpc.RpcError) as caught:
            list(call)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        # An app token on the admin's RPCs.
        self.assertRpcError(grpc.StatusCode.PERMISSION_DENIED, stub.ListJobs, pb.ListJobsRequest(),
                            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        self.assertRpcError(grpc.StatusCode.PERMISSION_DENIED, stub.GetJob, pb.GetJobRequest(id=str(uuid.uuid4())),
                            metadata=bearer(app["token"]), timeout=RPC_TIMEOUT)
        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, stub.ListJobs, pb.ListJobsRequest(),
                            timeout=RPC_TIMEOUT)
        # Nothing was stored by the refused calls.
        self.assertEqual(stored_events(one.events[0].session_id), [])


# --------------------------------------------------------------------------
# 3. StreamEvents


class StreamEventsTest(GrpcTestCase):

    def messages(self, session, count, size=10):
        """`count` batches of `size` events, each with a client id: [(EventBatch, [ids])]."""
        out = []
        for m in range(count):
            ids = [str(uuid.uuid4()) for _ in range(size)]
            out.append((batch([event(session, i, data={"m": m, "i": k}) for k, i in enumerate(ids)]), ids))
        return out

    def read_ack(self, call, sequence, ids):
        ack = next(call)
        self.assertEqual(ack.sequence, sequence, ack)
        self.assertEqual(ack.accepted, len(ids), ack)
        self.assertEqual(list(ack.rejected), [], ack)
        self.assertEqual(list(ack.ids), ids, "ack %d" % sequence)
        return ack

    def test_five_batches_five_acks(self):
        app = new_app()
        session = str(uuid.uuid4())
        messages = self.messages(session, 5)
        requests = RequestQueue()
        call = daisy_stub().StreamEvents(iter(requests), metadata=bearer(app["token"]), timeout=STREAM_TIMEOUT)
        try:
            for message, _ in messages:
                requests.put(message)
            for sequence, (_, ids) in enumerate(messages, start=1):
                self.read_ack(call, sequence, ids)
            requests.close()
            self.assertEqual(list(call), [], "acks beyond the messages sent")
            self.assertEqual(call.code(), grpc.StatusCode.OK)
        finally:
            requests.close()
            call.cancel()
        stored = stored_events(session)
        self.assertEqual(sorted(e["id"] for e in stored), sorted(i for _, ids in messages for i in ids))

    def test_resend_after_a_cut_stores_each_event_once(self):
        app = new_app()
        session = str(uuid.uuid4())
        messages = self.messages(session, 5)
        stub = daisy_stub()

        # The first stream: 3 messages acknowledged, then the call is cut.
        requests = RequestQueue()
        call = stub.StreamEvents(iter(requests), metadata=bearer(app["token"]), timeout=STREAM_TIMEOUT)
        try:
            for sequence, (message, ids) in enumerate(messages[:3], start=1):
                requests.put(message)
                self.read_ack(call, sequence, ids)
        finally:
            call.cancel()
            requests.close()
        self.assertEqual(len(stored_events(session)), 30)

        # A new stream: the 3 again (same event ids), then 2 new ones.
        requests = RequestQueue()
        call = stub.StreamEvents(iter(requests), metadata=bearer(app["token"]), timeout=STREAM_TIMEOUT)
        try:
            for message, _ in messages:
                requests.put(message)
            for sequence, (_, ids) in enumerate(messages, start=1):
                ack = next(call)
                self.assertEqual(ack.sequence, sequence, ack)
                self.assertEqual(list(ack.rejected), [], ack)
                self.assertEqual(sorted(ack.ids), sorted(ids), "ack %d" % sequence)
            requests.close()
            self.assertEqual(list(call), [])
            self.assertEqual(call.code(), grpc.StatusCode.OK)
        finally:
            requests.close()
            call.cancel()

        stored = stored_events(session)
        counts = {}
        for e in stored:
            counts[e["id"]] = counts.get(e["id"], 0) + 1
        sent = [i for _, ids in messages for i in ids]
        self.assertEqual(sorted(counts), sorted(sent))
        self.assertEqual({k: v for k, v in counts.items() if v != 1}, {}, "events stored more than once")
        self.assertEqual(len(stored), 50)

    def test_rejected_events_are_acked_and_an_invalid_message_ends_the_stream(self):
        app = new_app()
        session = str(uuid.uuid4())
        good = self.messages(session, 1)[0]
        requests = RequestQueue()
        call = daisy_stub().StreamEvents(iter(requests), metadata=bearer(app["token"]), timeout=STREAM_TIMEOUT)
        try:
            requests.put(good[0])
            self.read_ack(call, 1, good[1])
            # A message whose events are all refused: acknowledged, each refusal listed
            # (rejected events are kept for monitoring; the stream goes on).
            requests.put(batch([event(session, data={"ok": True}), event("not-a-uuid")]))
            ack = next(call)
            self.assertEqual((ack.sequence, ack.accepted, len(ack.ids)), (2, 1, 1), ack)
            self.assertEqual([r.index for r in ack.rejected], [1], ack)
            self.assertTrue(any("session_id" in e.field for e in ack.rejected[0].errors), ack)
            accepted = good[1] + list(ack.ids)
            # A message that cannot be stored at all (no events: a batch holds 1 or more)
            # ends the stream with its error.
            requests.put(batch([]))
            with self.assertRaises(grpc.RpcError) as caught:
                next(call)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            fields = [f for f, _ in self.violations(caught.exception)]
            self.assertTrue(any("events" in f for f in fields), fields)
        finally:
            requests.close()
            call.cancel()
        # What was acknowledged before it is stored.
        self.assertEqual(sorted(e["id"] for e in stored_events(session)), sorted(accepted))


# --------------------------------------------------------------------------
# 4. Jobs


class JobsTest(GrpcTestCase):

    def test_get_and_list_jobs(self):
        pb = STUBS["daisy"]
        stub = daisy_stub()
        receiver = Receiver()
        self.addCleanup(receiver.close)
        form = new_form("jobs")
        hook = http("POST", "/v1/integrations", {
            "name": "grpc jobs test", "source": {"form_id": form["id"]}, "type": "webhook",
            "config": {"url": receiver.url + "/hooks/daisy"}})
        replies = [stub.Submit(pb.SubmitRequest(form_id=form["id"], answers=struct({"name": n})),
                               metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT) for n in ("Ada", "Bob")]
        job_ids = []
        for reply in replies:
            self.assertEqual(len(reply.actions), 1, reply)
            action = reply.actions[0]
            self.assertEqual(action.integration_id, hook["id"])
            self.assertEqual(action.mode, "async")
            self.assertTrue(action.job_id)
            job_ids.append(action.job_id)
        receiver.wait_for(2)

        def succeeded(job_id):
            job = stub.GetJob(pb.GetJobRequest(id=job_id), metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
            return job if job.status == "succeeded" else None

        job = wait_until(lambda: succeeded(job_ids[0]), what="the first job to succeed")
        self.assertEqual(job.id, job_ids[0])
        self.assertEqual(job.integration_id, hook["id"])
        self.assertEqual(job.source_id, to_dict(replies[0].response)["id"])
        # The trigger, as GET /v1/jobs/{id} names it (response.created, response.updated, event.created).
        self.assertEqual(job.type, "response.created")
        self.assertGreaterEqual(job.attempts, 1)
        self.assertTrue(job.created_at)
        self.assertEqual(len(job.attempts_log), job.attempts, job)
        last = job.attempts_log[-1]
        self.assertEqual(last.number, job.attempts)
        self.assertEqual(last.outcome, "succeeded")
        self.assertEqual(last.http_status, 200)
        self.assertTrue(last.started_at)
        # As GET /v1/jobs/{id} shows it.
        over_http = http("GET", "/v1/jobs/" + job.id)
        self.assertEqual(over_http["status"], job.status)
        self.assertEqual(over_http["type"], job.type)
        self.assertEqual(over_http["attempts"], job.attempts)
        self.assertEqual(len(over_http["attempts_log"]), len(job.attempts_log))
        wait_until(lambda: succeeded(job_ids[1]), what="the second job to succeed")

        self.assertRpcError(grpc.StatusCode.NOT_FOUND, stub.GetJob, pb.GetJobRequest(id=str(uuid.uuid4())),
                            metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)

        # Both, oldest first; then one at a time.
        page = stub.ListJobs(pb.ListJobsRequest(integration_id=hook["id"]),
                             metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
        self.assertEqual([j.id for j in page.items], job_ids)
        self.assertEqual(page.next_cursor, "")
        self.assertTrue(all(j.status == "succeeded" for j in page.items), page)
        first = stub.ListJobs(pb.ListJobsRequest(integration_id=hook["id"], limit=1),
                              metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
        self.assertEqual([j.id for j in first.items], job_ids[:1])
        self.assertTrue(first.next_cursor)
        second = stub.ListJobs(pb.ListJobsRequest(integration_id=hook["id"], limit=1, after=first.next_cursor),
                               metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
        self.assertEqual([j.id for j in second.items], job_ids[1:])
        if second.next_cursor:
            third = stub.ListJobs(pb.ListJobsRequest(integration_id=hook["id"], limit=1, after=second.next_cursor),
                                  metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
            self.assertEqual(list(third.items), [])
        # A status filter.
        none = stub.ListJobs(pb.ListJobsRequest(integration_id=hook["id"], status="dead"),
                             metadata=bearer(ADMIN_TOKEN), timeout=RPC_TIMEOUT)
        self.assertEqual(list(none.items), [])


# --------------------------------------------------------------------------
# 5. Health and reflection


class HealthAndReflectionTest(GrpcTestCase):

    def test_health_check_serving(self):
        health = STUBS["health"]
        stub = STUBS["health_grpc"].HealthStub(SERVER.channel)
        serving = health.HealthCheckResponse.SERVING

        def check():
            return stub.Check(health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT).status == serving

        # SERVING once ready: the server has answered HTTP already; allow it a few seconds.
        wait_until(check, timeout=20, interval=0.2, what="Health.Check to answer SERVING")
        self.assertEqual(stub.Check(health.HealthCheckRequest(service=""), timeout=RPC_TIMEOUT).status, serving)

    def test_reflection_lists_the_services(self):
        reflection = STUBS["reflection"]
        stub = STUBS["reflection_grpc"].ServerReflectionStub(SERVER.channel)
        replies = list(stub.ServerReflectionInfo(
            iter([reflection.ServerReflectionRequest(host="", list_services="")]), timeout=RPC_TIMEOUT))
        self.assertEqual(len(replies), 1, replies)
        self.assertTrue(replies[0].HasField("list_services_response"), replies[0])
        names = {s.name for s in replies[0].list_services_response.service}
        self.assertIn("daisy.v1.Daisy", names)
        self.assertIn("grpc.health.v1.Health", names)
        # And the file that defines Daisy, with its methods.
        replies = list(stub.ServerReflectionInfo(
            iter([reflection.ServerReflectionRequest(file_containing_symbol="daisy.v1.Daisy")]),
            timeout=RPC_TIMEOUT))
        self.assertTrue(replies[0].HasField("file_descriptor_response"), replies[0])
        from google.protobuf import descriptor_pb2
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in replies[0].file_descriptor_response.file_descriptor_proto]
        daisy = [f for f in files if f.package == "daisy.v1"]
        self.assertTrue(daisy, [f.name for f in files])
        methods = {m.name for f in daisy for s in f.service if s.name == "Daisy" for m in s.method}
        self.assertEqual(methods, {"Submit", "SendEvents", "StreamEvents", "Watch", "GetJob", "ListJobs"})


# --------------------------------------------------------------------------
# 6. Watch


class WatchTest(GrpcTestCase):

    def test_watch_sees_an_event_sent_over_http(self):
        pb = STUBS["daisy"]
        app = new_app()
        session = str(uuid.uuid4())
        # Types as GET /v1/stream's ?types= (proto: WatchRequest.types); only this app's.
        call = daisy_stub().Watch(pb.WatchRequest(types=["event.created"], app_id=app["id"]),
                                  metadata=bearer(ADMIN_TOKEN), timeout=STREAM_TIMEOUT)
        # The watch may not be registered yet when the first event is committed:
        # send one every 0.3 s until the watch shows one.
        stop = threading.Event()
        sent = []

        def send():
            while not stop.is_set() and len(sent) < 100:
                reply = http("POST", "/v1/events", token=app["token"], body={
                    "session_id": session, "category": "grpc test", "name": "watched",
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": {"n": len(sent)}})
                sent.append(reply["id"])
                stop.wait(0.3)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        change = None
        try:
            for c in call:
                self.assertNotEqual(c.type, "", c)
                data = to_dict(c.data)
                # Only this app's new events were asked for (a gap may say the watch missed some).
                self.assertIn(c.type, ("event.created", "gap"), c)
                if c.type == "event.created":
                    self.assertEqual(data.get("app_id"), app["id"], c)
                    self.assertEqual(data.get("session_id"), session, c)
                    change = c
                    break
        finally:
            stop.set()
            call.cancel()
            sender.join(timeout=RPC_TIMEOUT)
        self.assertIsNotNone(change, "the watch ended without the event")
        data = to_dict(change.data)
        self.assertEqual(data["category"], "grpc test")
        self.assertEqual(data["name"], "watched")
        self.assertIn(data["id"], sent)
        self.assertTrue(change.cursor)
        self.assertEqual(call.code(), grpc.StatusCode.CANCELLED)

        # Resumed after its cursor: the events that followed it, in order, none twice.
        last = http("POST", "/v1/events", token=app["token"], body={
            "session_id": session, "category": "grpc test", "name": "watched",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": {"n": -1}})["id"]
        expected = sent[sent.index(data["id"]) + 1:] + [last]
        call = daisy_stub().Watch(pb.WatchRequest(types=["event.created"], app_id=app["id"], after=change.cursor),
                                  metadata=bearer(ADMIN_TOKEN), timeout=STREAM_TIMEOUT)
        seen = []
        try:
            for c in call:
                self.assertEqual(c.type, "event.created", c)
                seen.append(to_dict(c.data)["id"])
                if seen[-1] == last or len(seen) >= len(expected):
                    break
        finally:
            call.cancel()
        self.assertEqual(seen, expected)

    def test_watch_refusals(self):
        pb = STUBS["daisy"]
        app = new_app()
        stub = daisy_stub()

        def first(request, metadata):
            call = stub.Watch(request, metadata=metadata, timeout=RPC_TIMEOUT)
            try:
                return next(call)
            finally:
                call.cancel()

        self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, first, pb.WatchRequest(types=["event.created"]), ())
        # An app token sees its own responses and events only.
        self.assertRpcError(grpc.StatusCode.PERMISSION_DENIED, first, pb.WatchRequest(types=["job.updated"]),
                            bearer(app["token"]))
        error = self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, first,
                                    pb.WatchRequest(types=["event.created", "no.such.type"]), bearer(ADMIN_TOKEN))
        fields = [f for f, _ in self.violations(error)]
        self.assertTrue(any("types" in f for f in fields), fields)


# --------------------------------------------------------------------------


def setUpModule():
    global SERVER
    SERVER = DaisyServer(BINARY)


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


def main():
    global BINARY, STUBS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="the daisy binary (built with gRPC)")
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    if not os.access(BINARY, os.X_OK):
        parser.error("%s is not an executable" % BINARY)
    STUBS = generate_stubs()
    try:
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        result = program.result
        ok = result.wasSuccessful() and result.testsRun > 0
        if not ok and SERVER is not None:
            print("---- the server's log (tail)\n" + SERVER.tail(), file=sys.stderr)
    finally:
        if SERVER is not None:
            SERVER.stop()
            SERVER.remove()
        shutil.rmtree(GEN_DIR, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
