#!/usr/bin/env python3
"""A provider that flaps, for bench/soak.sh. On 127.0.0.1:PORT it cycles
through four phases of PHASE_S seconds each, from its start:

  up       200 with the feed file (no ETag: every pull reads and parses it)
  error    500
  hang     reads the request, answers nothing for HANG_S seconds (past the
           provider's timeout), then closes
  refused  the listening socket is closed: connections are refused

Each request is logged to LOG as "<epoch> <phase> <path>"; the start time is
written to LOG first ("<epoch> start -"), so phases can be told from times.
Usage: feed_server.py PORT FEED_FILE PHASE_S HANG_S LOG
"""
import http.server
import sys
import threading
import time

PORT, FEED, PHASE_S, HANG_S, LOG = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                    float(sys.argv[4]), sys.argv[5])
PHASES = ["up", "error", "hang", "refused"]
BODY = open(FEED, "rb").read()
T0 = time.time()
log_lock = threading.Lock()
log = open(LOG, "a", buffering=1)
log.write(f"{T0:.3f} start -\n")


def phase(t):
    return PHASES[int((t - T0) // PHASE_S) % len(PHASES)]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        now = time.time()
        p = phase(now)
        with log_lock:
            log.write(f"{now:.3f} {p} {self.path}\n")
        try:
            if p == "hang":
                time.sleep(HANG_S)
                self.close_connection = True
                return
            if p == "error":
                body = b"provider trouble\n"
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
            else:  # up, or a connection accepted just before the socket closed
                body = BODY
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = None
while True:
    now = time.time()
    k = int((now - T0) // PHASE_S)
    if PHASES[k % len(PHASES)] == "refused":
        if server is not None:
            server.shutdown()
            server.server_close()
            server = None
    elif server is None:
        server = Server(("127.0.0.1", PORT), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    time.sleep(max(0.01, T0 + (k + 1) * PHASE_S - time.time()))
