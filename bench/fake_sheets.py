#!/usr/bin/env python3
"""A lenient local stand-in for Google's token endpoint and Sheets API v4, for
make bench only: it answers the calls Daisy's sheets action makes (token,
values.get, values:append, values.update, batchUpdate), keeps the row count,
and counts requests by kind (GET /counts). It checks nothing: the strict fake
the tests use is tests/e2e/fake_google.cpp.

Usage: fake_sheets.py PORT
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {"token": 0, "append": 0, "update": 0, "get": 0, "batchUpdate": 0, "rows": 0}
last_row = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/counts":
            with lock:
                return self.reply(dict(counts))
        with lock:
            counts["get"] += 1
        self.reply({"range": "'Responses'!A1:Z1", "majorDimension": "ROWS"})

    def do_PUT(self):
        self.body()
        with lock:
            counts["update"] += 1
        self.reply({"updatedRange": "'Responses'!A1"})

    def do_POST(self):
        global last_row
        raw = self.body()
        if self.path == "/token":
            with lock:
                counts["token"] += 1
            return self.reply({"access_token": "bench", "expires_in": 3599, "token_type": "Bearer"})
        if self.path.endswith(":batchUpdate"):
            with lock:
                counts["batchUpdate"] += 1
            return self.reply({"replies": [{}]})
        rows = len(json.loads(raw)["values"])
        with lock:
            counts["append"] += 1
            counts["rows"] += rows
            first = max(last_row, 1) + 1
            last_row = first + rows - 1
        self.reply({"updates": {"updatedRange": f"'Responses'!A{first}:Z{last_row}", "updatedRows": rows}})


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
