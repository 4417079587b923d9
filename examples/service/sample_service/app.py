"""HTTP service on the standard library: /healthz, /version, a small price-quote API, an order POST,
a slow endpoint for long requests and its request counters for Prometheus (/metrics).

Run: python -m sample_service.app --port 8080 --version 1.2.3
The version comes from --version, else $SERVICE_VERSION, else the VERSION file beside the package.

Fast on purpose: HTTP/1.1 keep-alive, Nagle off and each response (headers and body) sent in one write.
Separate header and body writes meet the peer's delayed ACK and cost about 40 ms per request.
SIGTERM drains: the listener closes, requests in flight finish (up to DRAIN_SECONDS), then the process
exits; idle keep-alive connections are closed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sample_service.features import FEATURES
from sample_service.metrics import REQUESTS
from sample_service.pricing import PricingError, quote

STARTED_AT = time.time()
MAX_SLOW_SECONDS = 30.0
MAX_BODY_BYTES = 64 * 1024
DRAIN_SECONDS = 30.0


class InFlight:
    """Counts requests being handled, so a SIGTERM can wait for them (and not for idle connections)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *_exc: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


def read_version(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("SERVICE_VERSION"):
        return os.environ["SERVICE_VERSION"]
    version_file = Path(__file__).resolve().parent.parent / "VERSION"
    return version_file.read_text().strip() if version_file.exists() else "0.0.0-dev"


class Handler(BaseHTTPRequestHandler):
    server_version = "sample-service"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    version = "0.0.0-dev"
    in_flight = InFlight()

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("SERVICE_ACCESS_LOG"):
            super().log_message(format, *args)

    def _send_json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.log_request(status)
        REQUESTS.count(self.command, self.path, status)
        head = (
            f"{self.protocol_version} {int(status)} {HTTPStatus(status).phrase}\r\n"
            f"Server: {self.server_version}\r\nDate: {self.date_time_string()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"X-Service-Version: {self.version}\r\n"
            + ("Connection: close\r\n" if self.close_connection else "")
            + "\r\n"
        )
        self.wfile.write(head.encode("latin-1") + (payload if self.command != "HEAD" else b""))

    def do_HEAD(self) -> None:
        self.do_GET()

    # Counted from the parsed request line to the response written; an idle keep-alive connection
    # waiting for its next request is not in flight.
    def do_POST(self) -> None:
        with self.in_flight:
            self._post()

    def do_GET(self) -> None:
        with self.in_flight:
            self._get()

    def _post(self) -> None:
        url = urlsplit(self.path)
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isdigit() else -1
        if url.path != "/api/orders":
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route for {url.path}"})
        elif not 0 < length <= MAX_BODY_BYTES:
            self.close_connection = True  # an unread body must not be parsed as the next request
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": f"body of 1 to {MAX_BODY_BYTES} bytes needed"})
        else:
            body = self.rfile.read(length)
            self._send_json(HTTPStatus.CREATED, {"accepted_bytes": len(body), "version": self.version})

    def _get(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            uptime = round(time.time() - STARTED_AT, 3)
            self._send_json(HTTPStatus.OK, {"status": "ok", "uptime_seconds": uptime})
        elif url.path == "/version":
            self._send_json(HTTPStatus.OK, {"version": self.version})
        elif url.path == "/api/quote":
            self._quote(parse_qs(url.query))
        elif url.path == "/slow":
            self._slow(parse_qs(url.query))
        elif url.path == "/metrics":
            self._metrics()
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no route for {url.path}"})

    def _quote(self, query: dict[str, list[str]]) -> None:
        try:
            result = quote(
                sku=query.get("sku", [""])[0],
                quantity=query.get("quantity", ["1"])[0],
            )
        except PricingError as err:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(err)})
            return
        # Behind the flag quote-v2 (config/flags/<env>.json): the quote explains its price.
        user = query.get("user", [None])[0] or self.headers.get("X-User-Id")
        if FEATURES.enabled("quote-v2", user):
            result = {**result, "engine": "v2", "breakdown": f"{result['quantity']} x {result['unit_price']}"
                      f" less {result['discount']}"}
        else:
            result = {**result, "engine": "v1"}
        self._send_json(HTTPStatus.OK, result)

    def _metrics(self) -> None:
        payload = REQUESTS.render(self.version).encode()
        REQUESTS.count(self.command, self.path, HTTPStatus.OK)
        self.log_request(HTTPStatus.OK)
        head = (
            f"{self.protocol_version} 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            f"Content-Length: {len(payload)}\r\nX-Service-Version: {self.version}\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + (payload if self.command != "HEAD" else b""))

    def _slow(self, query: dict[str, list[str]]) -> None:
        """A long request (default 3 s): what a deploy must let finish on the old version."""
        try:
            seconds = float(query.get("seconds", ["3"])[0])
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= MAX_SLOW_SECONDS:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": f"seconds must be 0 to {MAX_SLOW_SECONDS:g}"})
            return
        time.sleep(seconds)
        self._send_json(HTTPStatus.OK, {"slept_seconds": seconds, "version": self.version})


class Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connections under a burst (a proxy opening its pool,
    # a load test): the client then waits a second for its SYN to be sent again.
    request_queue_size = 128
    daemon_threads = True


def make_server(host: str, port: int, version: str) -> ThreadingHTTPServer:
    handler: type[Handler] = type("VersionedHandler", (Handler,), {"version": version})
    server = Server((host, port), handler)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--version", dest="service_version")
    args = parser.parse_args(argv)
    version = read_version(args.service_version)
    server = make_server(args.host, args.port, version)

    # SIGTERM drains: stop accepting, let in-flight requests finish, then exit 0.
    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"sample-service {version} listening on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        Handler.in_flight.wait_idle(DRAIN_SECONDS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
