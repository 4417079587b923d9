"""The service's own request counters in the Prometheus text format (GET /metrics), standard library
only: what a Prometheus server scrapes, and what PromQL verification of a deploy reads."""

from __future__ import annotations

import threading
from collections import Counter

ROUTES = ("/healthz", "/version", "/api/quote", "/api/orders", "/slow", "/metrics")


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def count(self, method: str, path: str, status: int) -> None:
        route = path.split("?", 1)[0]
        with self._lock:
            self._counts[(method, route if route in ROUTES else "other", int(status))] += 1

    def render(self, version: str) -> str:
        lines = [
            "# HELP sample_http_requests_total Requests answered, by method, route and status code.",
            "# TYPE sample_http_requests_total counter",
        ]
        with self._lock:
            counts = sorted(self._counts.items())
        for (method, route, status), value in counts:
            labels = f'method="{method}",route="{route}",code="{status}",version="{_escape(version)}"'
            lines.append(f"sample_http_requests_total{{{labels}}} {value}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


REQUESTS = RequestCounter()
