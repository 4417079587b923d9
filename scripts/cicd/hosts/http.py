"""Small HTTP probes made from where the target is: directly for local hosts, with curl on the host
for remote ones (their loopback listeners are not reachable from the deploying machine)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from cicd.errors import HostError
from cicd.hosts.base import Host
from cicd.hosts.local import LocalHost


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    headers: dict[str, str]


def _direct(url: str, timeout: float, headers: dict[str, str]) -> Response:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return Response(resp.status, body, {k.lower(): v for k, v in resp.getheaders()})
    finally:
        conn.close()


def _via_curl(host: Host, url: str, timeout: float, headers: dict[str, str]) -> Response | None:
    argv = ["curl", "-sS", "--max-time", f"{timeout:g}", "-o", "-", "-w", "\n%{http_code}", url]
    for name, value in headers.items():
        argv[1:1] = ["-H", f"{name}: {value}"]
    result = host.run(argv, check=False, timeout=timeout + 5)
    body, _, code = result.stdout.rpartition("\n")
    if not result.ok or not code.isdigit() or code == "000":
        return None
    return Response(int(code), body, {})


def request(
    host: Host, url: str, *, timeout: float = 2.0, headers: dict[str, str] | None = None
) -> Response | None:
    """GET url as seen from the host; None when nothing answers (refused, timeout, reset)."""
    headers = headers or {}
    if isinstance(host, LocalHost):
        try:
            return _direct(url, timeout, headers)
        except (OSError, http.client.HTTPException):
            return None
    try:
        return _via_curl(host, url, timeout, headers)
    except HostError:
        return None


def fetch(host: Host, url: str, *, timeout: float = 2.0) -> str | None:
    """The body of a 2xx answer, else None."""
    response = request(host, url, timeout=timeout)
    return response.body if response is not None and 200 <= response.status < 300 else None
