"""HTTP service on the standard library: /healthz, /version and a small price-quote API.

Run: python -m sample_service.app --port 8080 --version 1.2.3
The version comes from --version, else $SERVICE_VERSION, else the VERSION file beside the package.
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

from sample_service.pricing import PricingError, quote

STARTED_AT = time.time()


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
    version = "0.0.0-dev"

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("SERVICE_ACCESS_LOG"):
            super().log_message(format, *args)

    def _send_json(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Service-Version", self.version)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            uptime = round(time.time() - STARTED_AT, 3)
            self._send_json(HTTPStatus.OK, {"status": "ok", "uptime_seconds": uptime})
        elif url.path == "/version":
            self._send_json(HTTPStatus.OK, {"version": self.version})
        elif url.path == "/api/quote":
            self._quote(parse_qs(url.query))
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
        self._send_json(HTTPStatus.OK, result)


def make_server(host: str, port: int, version: str) -> ThreadingHTTPServer:
    handler: type[Handler] = type("VersionedHandler", (Handler,), {"version": version})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
