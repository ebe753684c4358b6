#!/usr/bin/env python3
"""A webhook receiver to try Daisy's webhooks on one machine.

    WEBHOOK_SECRET=whsec_... python3 docs/examples/webhook_receiver.py PORT

Listens on 127.0.0.1:PORT, answers 200 to every POST, and prints one JSON
line per request: its webhook-id, the event type, and whether the signature
verified with WEBHOOK_SECRET ("verified", "failed", or "unchecked" when the
variable is not set). Daisy refuses loopback targets unless it runs with
--allow-private-targets. Standard library only.
"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import base64, hashlib, hmac, time

def verify(secret: str, headers: dict, body: bytes) -> bool:
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{ts}.".encode() + body            # the raw body, byte for byte
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(f"v1,{expected}", s) for s in headers["webhook-signature"].split())


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        secret = os.environ.get("WEBHOOK_SECRET")
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            signature = ("verified" if verify(secret, headers, body) else "failed") if secret else "unchecked"
        except (KeyError, ValueError):
            signature = "failed"
        try:
            event_type = json.loads(body).get("type")
        except ValueError:
            event_type = None
        print(json.dumps({"webhook-id": headers.get("webhook-id"), "type": event_type,
                          "signature": signature}), flush=True)
        reply = json.dumps({"received": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):  # one JSON line per request is all we print
        pass


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: webhook_receiver.py PORT")
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
