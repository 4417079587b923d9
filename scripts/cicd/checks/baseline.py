"""The baseline: the old color's error rate and latency, measured just before the switch.

First from history: the access log's recent lines for the old color's upstream (the last
`lookback_seconds`), which costs nothing when the service has traffic. When that gives fewer than
20 requests (a p95 needs them; or `min_samples` if higher), a short burst of probes through the live
listener fills the gap (a fraction of a second on a healthy service; never longer than the
verification's own top-up, however large `min_samples` is). The log source is left
positioned at its end, so verify(..., skip_existing=False) on the same source also sees the requests
served during the switch.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from cicd.checks.accesslog import parse_lines
from cicd.checks.http import Prober, ProbeResult, join_url, probe
from cicd.checks.logsource import LogSource, LogUnavailableError
from cicd.checks.metrics import Sample, sample_from_probe, samples_from_records, window_stats
from cicd.checks.verdict import LATENCY_MIN_SAMPLES, Baseline
from cicd.checks.verify import probe_target, top_up_limit

if TYPE_CHECKING:
    from cicd.config.deploy import HealthCheck, Verification

RECENT_BYTES = 2 * 1024 * 1024
PROBE_PAUSE_S = 0.01  # between baseline probes: gentle on the live service
LOG_SETTLE_S = 0.05  # nginx writes the log line as the response completes; give it a moment


def _history(log: LogSource, upstreams: Collection[str] | None, lookback_seconds: float) -> list[Sample]:
    records, _ = parse_lines(log.read_recent(RECENT_BYTES))
    since = time.time() - lookback_seconds
    return samples_from_records([r for r in records if r.time >= since], upstreams)


def measure_baseline(
    base_url: str,
    settings: Verification,
    health: HealthCheck,
    *,
    log: LogSource | None,
    upstreams: Collection[str] | None,
    host_header: str | None = None,
    lookback_seconds: float = 60.0,
    prober: Prober = probe,
    probe_limit_s: float | None = None,
) -> Baseline:
    """Figures of the color that is live now (call before the switch). Never raises: a broken log
    falls back to probes, and the source says so."""
    started = time.monotonic()
    upstreams = None if upstreams is None else frozenset(upstreams)
    samples: list[Sample] = []
    notes: list[str] = []
    log_ok = log is not None
    if log is not None:
        try:
            samples = _history(log, upstreams, lookback_seconds)
            log.seek_end()
            notes.append(f"access log, last {lookback_seconds:g} s")
        except LogUnavailableError as err:
            log_ok = False
            notes.append(f"access log unreadable: {err.message}")
    missing = max(settings.min_samples, LATENCY_MIN_SAMPLES) - len(samples)  # a p95 needs 20
    if missing > 0:
        path, _ = probe_target(settings, health)
        url = join_url(base_url, path)
        probe_results = []
        # The burst runs before the switch, so it is bounded in time as the verification's top-up is.
        deadline = time.monotonic() + (top_up_limit(settings) if probe_limit_s is None else probe_limit_s)
        for _ in range(missing):
            if time.monotonic() >= deadline:
                break
            probe_results.append(prober(url, host_header=host_header or health.host_header, timeout=2.0))
            time.sleep(PROBE_PAUSE_S)
        # Unanswered probes say nothing about the old color (nothing live yet, e.g. a first deploy);
        # counting them as errors would excuse any error rate of the new one.
        answered = [result for result in probe_results if result.answered]
        samples += _probe_samples(log if log_ok else None, upstreams, answered)
        unanswered = len(probe_results) - len(answered)
        notes.append(f"{len(probe_results)} probe(s)" + (f", {unanswered} unanswered" if unanswered else ""))
    source = " + ".join(notes) if notes else "none"
    return Baseline(window_stats(samples), source, round(time.monotonic() - started, 3))


def _probe_samples(
    log: LogSource | None, upstreams: frozenset[str] | None, results: list[ProbeResult]
) -> list[Sample]:
    """The probes as the log saw them (server-side latency, comparable with verification), else as
    the prober measured them."""
    if not results:
        return []
    if log is not None:
        time.sleep(LOG_SETTLE_S)
        try:
            records, _ = parse_lines(log.read_new())
            from_log = samples_from_records(records, upstreams)
            if from_log:
                return from_log
        except LogUnavailableError:
            pass
    return [sample_from_probe(result) for result in results]
