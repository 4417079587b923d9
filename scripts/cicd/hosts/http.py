"""Small HTTP reads made from where the target is, through the Host's own probe (directly on this
machine, with curl on a remote one: its loopback listeners are not reachable from here)."""

from __future__ import annotations

from cicd.hosts.base import Host


def fetch(host: Host, url: str, *, timeout: float = 2.0) -> str | None:
    """The body (its first 512 bytes) of a 2xx answer, else None."""
    result = host.probe(url, timeout=timeout)
    ok = result.status is not None and 200 <= result.status < 300
    return result.body_excerpt if ok else None
