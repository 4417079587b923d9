"""A small upstream for the checks' integration tests: a real HTTP server whose faults are chosen on
the command line (a share of 500s, extra latency, a health status), run as its own process.

    python upstream_server.py --port 0 --error-share 0.3 --delay-ms 50 --health-status 200

It prints `listening on PORT` once it accepts connections. Errors are spread evenly (0.3 = 3 of every
10 API requests), so the tests are deterministic.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Faults:
    def __init__(self, error_share: float, delay_ms: float, health_status: int):
        self.error_share, self.delay_s, self.health_status = error_share, delay_ms / 1000, health_status
        self._count = 0
        self._lock = threading.Lock()

    def next_fails(self) -> bool:
        with self._lock:
            self._count += 1
            n = self._count
        return int(n * self.error_share) > int((n - 1) * self.error_share)


def handler_for(faults: Faults, port_holder: list[int]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reply(self, status: int, body: str) -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Upstream-Port", str(port_holder[0]))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def do_GET(self) -> None:
            if faults.delay_s:
                time.sleep(faults.delay_s)
            if self.path.startswith("/healthz"):
                self._reply(faults.health_status, f"health {faults.health_status}\n")
            elif self.path.startswith("/missing"):
                self._reply(404, "no such thing\n")
            elif faults.next_fails():
                self._reply(500, "internal error\n")
            else:
                self._reply(200, f"ok from {port_holder[0]}\n")

        do_HEAD = do_GET
        do_POST = do_GET

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--error-share", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--health-status", type=int, default=200)
    args = parser.parse_args()
    port_holder = [0]
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port),
        handler_for(Faults(args.error_share, args.delay_ms, args.health_status), port_holder),
    )
    server.daemon_threads = True
    port_holder[0] = server.server_address[1]
    print(f"listening on {port_holder[0]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
