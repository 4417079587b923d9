"""A tiny HTTP probe on the standard library: one connection per probe, explicit timeouts, latency.

Probes never raise for a failed request: refused connections, timeouts and resets come back as a
ProbeResult with `error` set, so gates can count them and say what happened. Kept on http.client so
the hot path of the gates imports nothing heavy.

`Prober` is the shape every probe function has; the gates take one, so a deploy to a remote host can
probe from that host (checks/remote.py runs curl there) instead of from the deploying machine.
It lives with the hosts (LocalHost.probe is this function) so a health probe, the first thing an
instant rollback does, imports none of the checks; cicd.checks.http re-exports it for the gates.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

BODY_EXCERPT_BYTES = 512
# Sent by every probe, so probe requests can be told apart in access logs.
USER_AGENT = "cicd-checks/1"


@dataclass(frozen=True)
class ProbeResult:
    """What one request got: a status (None when no response arrived) or an error, and the latency."""

    url: str
    status: int | None
    latency_ms: float
    error: str | None = None
    body_excerpt: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    def describe(self) -> str:
        if self.status is None:
            return f"{self.url}: {self.error} after {self.latency_ms:.0f} ms"
        return f"{self.url}: HTTP {self.status} in {self.latency_ms:.0f} ms"


Prober = Callable[..., ProbeResult]
"""probe(url, *, method="GET", host_header=None, timeout=2.0) -> ProbeResult"""


def join_url(base_url: str, path: str) -> str:
    """`http://h:1` + `/healthz?x=1` -> `http://h:1/healthz?x=1`; a base path is kept as a prefix."""
    if not path.startswith("/"):
        path = "/" + path
    return urljoin(base_url.rstrip("/") + "/", path.lstrip("/"))


def _describe_error(err: BaseException, timeout: float) -> str:
    if isinstance(err, TimeoutError | socket.timeout):
        return f"timed out after {timeout:g} s"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, ConnectionResetError):
        return "connection reset"
    if isinstance(err, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(err, socket.gaierror):
        return f"cannot resolve host ({err.strerror})"
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]


def probe(
    url: str,
    *,
    method: str = "GET",
    host_header: str | None = None,
    timeout: float = 2.0,
    body_limit: int = BODY_EXCERPT_BYTES,
) -> ProbeResult:
    """One request on a fresh connection; latency is from connect to the end of the body excerpt."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ProbeResult(url, None, 0.0, error=f"not an http(s) URL: {url!r}")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = connection_class(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": USER_AGENT, "Connection": "close"}
    if host_header:
        headers["Host"] = host_header
    started = time.perf_counter()
    try:
        conn.request(method, target, headers=headers)
        response = conn.getresponse()
        body = response.read(body_limit) if method != "HEAD" else b""
        latency_ms = (time.perf_counter() - started) * 1000
        return ProbeResult(url, response.status, latency_ms, body_excerpt=body.decode(errors="replace"))
    except (OSError, http.client.HTTPException) as err:
        latency_ms = (time.perf_counter() - started) * 1000
        return ProbeResult(url, None, latency_ms, error=_describe_error(err, timeout))
    finally:
        conn.close()
