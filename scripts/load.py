#!/usr/bin/env python3
"""A small, bounded HTTP load client: N workers GET one URL until a duration or a request count runs out.

    python3 scripts/load.py http://127.0.0.1:18080/api/quote?sku=widget --seconds 10 --workers 4

Every request is counted: a failure is anything but a 2xx-4xx answer (5xx, refused, reset, timeout).
Prints one JSON object: requests, failed, error breakdown, p50/p99 latency, and which versions answered
(the X-Service-Version header of the sample service). Loopback targets only; bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Hit:
    at: float  # monotonic seconds
    latency_ms: float
    status: int | None
    version: str | None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500


@dataclass
class LoadResult:
    hits: list[Hit] = field(default_factory=list)

    def summary(self, start: float | None = None, end: float | None = None) -> dict:
        hits = [h for h in self.hits if (start is None or h.at >= start) and (end is None or h.at <= end)]
        latencies = sorted(h.latency_ms for h in hits if not h.failed)
        errors = Counter(h.error or f"HTTP {h.status}" for h in hits if h.failed)
        return {
            "requests": len(hits),
            "failed": sum(h.failed for h in hits),
            "errors": dict(errors),
            "p50_ms": _percentile(latencies, 0.50),
            "p99_ms": _percentile(latencies, 0.99),
            "versions": dict(Counter(h.version or "-" for h in hits if not h.failed)),
        }


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, round(fraction * len(values)) - 1))], 2)


def one_request(url: str, timeout: float = 5.0) -> Hit:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        conn.request("GET", target, headers={"Connection": "close", "User-Agent": "cicd-load/1"})
        response = conn.getresponse()
        response.read()
        return Hit(
            started,
            (time.monotonic() - started) * 1000,
            response.status,
            response.getheader("X-Service-Version"),
        )
    except (OSError, http.client.HTTPException) as err:
        return Hit(started, (time.monotonic() - started) * 1000, None, None, type(err).__name__)
    finally:
        conn.close()


class Load:
    """Background load: start(), then stop() returns the LoadResult."""

    def __init__(
        self,
        url: str,
        *,
        workers: int = 4,
        seconds: float = 30.0,
        max_requests: int = 200_000,
        pause: float = 0.0,
    ):
        self.url, self.workers, self.seconds, self.max_requests, self.pause = (
            url,
            workers,
            seconds,
            max_requests,
            pause,
        )
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _worker(self, deadline: float) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            hit = one_request(self.url)
            with self._lock:
                if len(self.result.hits) >= self.max_requests:
                    return
                self.result.hits.append(hit)
            if self.pause:
                time.sleep(self.pause)

    def start(self) -> Load:
        deadline = time.monotonic() + self.seconds
        self._threads = [
            threading.Thread(target=self._worker, args=(deadline,), daemon=True) for _ in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        return self.result

    def wait(self) -> LoadResult:
        for thread in self._threads:
            thread.join()
        return self.result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds each worker waits between requests")
    parser.add_argument("--until-file", help="stop early once this file exists (the demo's signal)")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        parser.error("load goes to loopback targets only")
    load = Load(
        args.url, workers=args.workers, seconds=args.seconds, max_requests=args.max_requests, pause=args.pause
    ).start()
    if args.until_file:
        import os

        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and not os.path.exists(args.until_file):
            time.sleep(0.05)
        result = load.stop()
    else:
        result = load.wait()
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
