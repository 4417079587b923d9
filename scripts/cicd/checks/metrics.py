"""From access-log records and probe results to samples, and from samples to window figures. Pure.

A sample is one request as seen by the color being judged: did it fail (5xx, or no response from the
upstream: refused, reset, timed out) and how long the upstream took. 4xx are the client's mistakes and
count as successes. When a request tried several upstream servers, each attempt at a watched server is
its own sample, so a new color that refuses connections is caught even when nginx's retry on the other
color hid the failure from the user.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cicd.checks.accesslog import AccessRecord
from cicd.checks.http import ProbeResult

CLIENT_CLOSED = 499  # nginx's code for "the client went away first": not the upstream's fault


class Sample(NamedTuple):
    failed: bool
    latency_ms: float | None
    source: str = "log"  # "log" or "probe"


def samples_from_records(records: Iterable[AccessRecord], upstreams: Collection[str] | None) -> list[Sample]:
    """Samples for the watched upstream addresses (host:port, or an upstream group name); None = all."""
    samples: list[Sample] = []
    for record in records:
        if upstreams is None:
            last = record.attempts[-1] if record.attempts else None
            seconds = last.response_time if last and last.response_time is not None else record.request_time
            samples.append(Sample(record.status >= 500, seconds * 1000))
            continue
        for attempt in record.attempts:
            if attempt.address not in upstreams:
                continue
            no_answer = attempt.status is None
            client_left = no_answer and record.status == CLIENT_CLOSED
            seconds = attempt.response_time if attempt.response_time is not None else record.request_time
            samples.append(Sample(attempt.failed and not client_left, seconds * 1000))
    return samples


def sample_from_probe(result: ProbeResult) -> Sample:
    failed = result.status is None or result.status >= 500
    return Sample(failed, result.latency_ms, source="probe")


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence (p95 of 20 values is the 19th)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class WindowStats:
    """Figures of one window of samples; latencies in milliseconds, None without samples."""

    requests: int = 0
    errors: int = 0
    probes: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        if not self.requests:
            return "no requests"
        latency = f", p95 {self.p95_ms:.1f} ms" if self.p95_ms is not None else ""
        return f"{self.requests} requests, {self.error_rate:.1%} errors{latency}"

    def as_dict(self) -> dict[str, float | int | None]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "requests": self.requests,
            "errors": self.errors,
            "probes": self.probes,
            "error_rate": round(self.error_rate, 4),
            "p50_ms": rounded(self.p50_ms),
            "p95_ms": rounded(self.p95_ms),
            "p99_ms": rounded(self.p99_ms),
        }


def window_stats(samples: Iterable[Sample]) -> WindowStats:
    samples = list(samples)
    latencies = sorted(s.latency_ms for s in samples if s.latency_ms is not None)
    return WindowStats(
        requests=len(samples),
        errors=sum(1 for s in samples if s.failed),
        probes=sum(1 for s in samples if s.source == "probe"),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
    )


class RunningStats:
    """Cumulative figures over a long window without keeping samples: counts, plus the latencies kept
    sorted (each add is one merge of two sorted runs, linear, not a full sort)."""

    def __init__(self) -> None:
        self.requests = self.errors = self.probes = 0
        self._latencies: list[float] = []

    def add(self, samples: Iterable[Sample]) -> None:
        fresh = []
        for sample in samples:
            self.requests += 1
            self.errors += sample.failed
            self.probes += sample.source == "probe"
            if sample.latency_ms is not None:
                fresh.append(sample.latency_ms)
        if fresh:
            self._latencies.extend(sorted(fresh))
            self._latencies.sort()  # timsort merges the two sorted runs

    def stats(self) -> WindowStats:
        latencies = self._latencies
        return WindowStats(
            requests=self.requests,
            errors=self.errors,
            probes=self.probes,
            p50_ms=percentile(latencies, 0.50),
            p95_ms=percentile(latencies, 0.95),
            p99_ms=percentile(latencies, 0.99),
        )
