"""Real nginx in front of real upstream processes, all on loopback, all state under tmp_path.

- `upstream(...)` starts upstream_server.py (chosen faults) and returns its port.
- `router(port)` starts a private nginx (prefix in tmp_path, `daemon off`, the checks' log format)
  proxying to that port; `router.switch(port)` rewrites its config and reloads it gracefully.
- `Load` sends steady traffic through nginx from background threads.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cicd.checks.accesslog import log_format_directive

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url_host: str, port: int, path: str, timeout: float = 2.0) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection(url_host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def upstream() -> Iterator:
    started: list[subprocess.Popen] = []

    def start(*, error_share: float = 0.0, delay_ms: float = 0.0, health_status: int = 200) -> int:
        argv = [
            sys.executable,
            str(HERE / "upstream_server.py"),
            "--error-share",
            str(error_share),
            "--delay-ms",
            str(delay_ms),
            "--health-status",
            str(health_status),
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("listening on "), f"upstream did not start: {line!r}"
        return int(line.split()[-1])

    yield start
    for proc in started:
        stop_process(proc)


NGINX_CONF = """daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    {log_format}
    upstream live {{
{servers}
    }}
    proxy_next_upstream error timeout http_502;
    proxy_connect_timeout 1s;
    server {{
        listen 127.0.0.1:{listen};
        access_log {prefix}/logs/access.log cicd_access;
        location / {{ proxy_pass http://live; }}
    }}
}}
"""


class Router:
    """A private nginx: its own prefix, its own port, started and stopped by the test."""

    def __init__(self, prefix: Path, ports: list[int]):
        self.prefix, self.port = prefix, free_port()
        (prefix / "logs").mkdir(parents=True)
        (prefix / "temp").mkdir()
        self.conf = prefix / "nginx.conf"
        self.access_log = prefix / "logs" / "access.log"
        self._write(ports)
        self.proc = subprocess.Popen(
            ["nginx", "-p", f"{prefix}/", "-c", str(self.conf)], stderr=subprocess.PIPE
        )
        self._wait_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _write(self, ports: list[int]) -> None:
        servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in ports)
        self.conf.write_text(
            NGINX_CONF.format(
                prefix=self.prefix, listen=self.port, servers=servers, log_format=log_format_directive()
            )
        )

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                f"nginx exited: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.02)
        raise AssertionError("nginx did not listen within 10 s")

    def signal(self, name: str) -> None:
        subprocess.run(
            ["nginx", "-p", f"{self.prefix}/", "-c", str(self.conf), "-s", name],
            check=True,
            capture_output=True,
        )

    def switch(self, port: int) -> None:
        """Point all traffic at `port` and wait until new connections reach it."""
        self._write([port])
        self.signal("reload")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if get("127.0.0.1", self.port, "/healthz")[1].get("x-upstream-port") == str(port):
                    return
            time.sleep(0.02)
        raise AssertionError(f"nginx did not switch to {port}")

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGQUIT)


@pytest.fixture
def router(tmp_path: Path) -> Iterator:
    routers: list[Router] = []

    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh)")

    def start(*ports: int) -> Router:
        routers.append(Router(tmp_path / f"nginx{len(routers)}", list(ports)))
        return routers[-1]

    yield start
    for item in routers:
        item.stop()


class Load:
    """Steady traffic through nginx (new connection per request), like users hitting the service."""

    def __init__(self, port: int, *, threads: int = 4, pause_s: float = 0.01, path: str = "/api/quote"):
        self.port, self.path, self.pause_s = port, path, pause_s
        self.statuses: list[int | None] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = get("127.0.0.1", self.port, self.path, timeout=5)[0]
            except OSError:
                status = None
            self.statuses.append(status)
            time.sleep(self.pause_s)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.fixture
def sample_service_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "examples" / "service")}
