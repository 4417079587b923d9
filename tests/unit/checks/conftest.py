"""A real HTTP server in a thread for the probe tests: /ok, /slow (sleeps), /status/<n>, /echo-host."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the probe gave up first
                self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.5)
            self._reply(200, b"late")
        elif self.path.startswith("/status/"):
            self._reply(int(self.path.rsplit("/", 1)[1]), b"status body")
        elif self.path == "/echo-host":
            self._reply(200, f"host={self.headers['Host']} ua={self.headers['User-Agent']}".encode())
        elif self.path == "/big":
            self._reply(200, b"x" * 10_000)
        else:
            self._reply(200, b"ok")

    do_HEAD = do_GET
    do_POST = do_GET


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
