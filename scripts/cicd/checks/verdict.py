"""Judging one moment of a post-switch verification. Pure: figures in, a phase and one line out.

Phases follow Argo Rollouts' analysis: Successful, Failed (the application breached a threshold),
Inconclusive (too little data to judge; a human decides), Error (the metrics source is broken, counted
apart from application failures). The orchestrator switches back on Failed, and on Error like Argo
does; Inconclusive is reported and left to its policy.

Thresholds (config/environments/*.yml `deploy.verification`):
- error rate above `max_error_rate`, and above the old color's own rate (switching back to a version
  that fails as often would not help);
- p95 latency above `max_latency_ratio` x the old color's p95, where a baseline p95 below
  `latency_floor_ms` (25 ms) counts as the floor: on a busy 2-core host a 1-2 ms service's p95
  jumps to 10-20 ms for seconds at a time, which no user feels; a real regression clears it;
- `max_probe_failures` active probes failing in a row;
- `consecutive_error_limit` unreadable access-log reads in a row (Error).
Rates are judged only over at least `min_samples` requests, latencies over at least 20, both for the
last interval (fast detection when a version breaks later) and for the whole window so far; a threshold
fails the version when it is breached at `breach_intervals` checks in a row (Flagger's threshold,
Argo's failureLimit), so a single noisy interval does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from cicd.checks.metrics import WindowStats

if TYPE_CHECKING:
    from cicd.config.deploy import Verification


# Below 20 samples a p95 is the maximum: one slow request would decide. (Also why a window's
# cumulative figures, which keep every outlier, cannot fail a version on latency early on.)
LATENCY_MIN_SAMPLES = 20


class Phase(StrEnum):
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


@dataclass(frozen=True)
class Baseline:
    """The old color's figures, measured before the switch."""

    stats: WindowStats
    source: str  # where the figures came from, for reports
    duration_s: float = 0.0

    def latency_reference_ms(self, settings: Verification) -> float | None:
        """The p95 that latency is compared with (floored), or None when the baseline is too thin."""
        if self.stats.requests < settings.min_samples or self.stats.p95_ms is None:
            return None
        return max(self.stats.p95_ms, settings.latency_floor_ms)


@dataclass(frozen=True)
class Counters:
    """What verification has seen in a row so far."""

    probe_failures_in_a_row: int = 0
    last_probe_problem: str = ""
    log_errors_in_a_row: int = 0
    last_log_error: str = ""
    breaches_in_a_row: int = 0  # intervals in a row that ended with a threshold breached


def _error_limit(settings: Verification, baseline: Baseline | None) -> float:
    if baseline is not None and baseline.stats.requests >= settings.min_samples:
        return max(settings.max_error_rate, baseline.stats.error_rate)
    return settings.max_error_rate


def _error_breach(stats: WindowStats, span_s: float, settings: Verification, limit: float) -> str | None:
    if stats.requests < settings.min_samples or stats.error_rate <= limit:
        return None
    whose = "the old color's " if limit > settings.max_error_rate else ""
    return (
        f"error rate {stats.error_rate:.1%} > {whose}{limit:.1%} "
        f"over {stats.requests} requests in {span_s:.1f} s"
    ).replace("%", " %")


def _reference_text(reference_ms: float, settings: Verification) -> str:
    floored = reference_ms == settings.latency_floor_ms
    return ("floor " if floored else "") + f"{reference_ms:.1f} ms"


def _latency_breach(
    stats: WindowStats, span_s: float, settings: Verification, reference_ms: float | None
) -> str | None:
    if reference_ms is None or stats.p95_ms is None:
        return None
    if stats.requests < max(settings.min_samples, LATENCY_MIN_SAMPLES):
        return None
    limit = settings.max_latency_ratio * reference_ms
    if stats.p95_ms <= limit:
        return None
    return (
        f"p95 latency {stats.p95_ms:.1f} ms > {settings.max_latency_ratio:g}x baseline "
        f"{_reference_text(reference_ms, settings)} over {stats.requests} requests in {span_s:.1f} s"
    )


def threshold_breach(
    *,
    interval: WindowStats,
    interval_s: float,
    cumulative: WindowStats,
    elapsed_s: float,
    settings: Verification,
    baseline: Baseline | None,
) -> str | None:
    """The first breached threshold in the last interval or the window so far, or None."""
    error_limit = _error_limit(settings, baseline)
    reference = baseline.latency_reference_ms(settings) if baseline else None
    for stats, span in ((interval, interval_s), (cumulative, elapsed_s)):
        breach = _error_breach(stats, span, settings, error_limit) or _latency_breach(
            stats, span, settings, reference
        )
        if breach:
            return breach
    return None


def judge_moment(
    *, breach: str | None, counters: Counters, settings: Verification, cumulative: WindowStats
) -> tuple[Phase, str]:
    """Error or Failed with the reason once a limit is reached; else Running. A threshold fails the
    version when breached `breach_intervals` intervals in a row, so one noisy interval (the switch
    itself, a cold cache) does not roll back a good version."""
    if counters.log_errors_in_a_row >= settings.consecutive_error_limit:
        return Phase.ERROR, (
            f"metrics source broken: {counters.last_log_error} "
            f"({counters.log_errors_in_a_row} reads in a row)"
        )
    if counters.probe_failures_in_a_row >= settings.max_probe_failures:
        return Phase.FAILED, (
            f"health probe failed {counters.probe_failures_in_a_row} times in a row "
            f"(last: {counters.last_probe_problem})"
        )
    if breach is not None and counters.breaches_in_a_row >= settings.breach_intervals:
        return Phase.FAILED, breach
    return Phase.RUNNING, breach or cumulative.describe()


def judge_end(
    *,
    cumulative: WindowStats,
    elapsed_s: float,
    settings: Verification,
    baseline: Baseline | None,
    log_reads_ok: int,
    counters: Counters,
) -> tuple[Phase, str]:
    """The verdict when the window ends without a breach."""
    if log_reads_ok == 0 and counters.log_errors_in_a_row:
        return Phase.ERROR, f"metrics source broken for the whole window: {counters.last_log_error}"
    if cumulative.requests < settings.min_samples:
        return Phase.INCONCLUSIVE, (
            f"only {cumulative.requests} request(s) in {elapsed_s:.1f} s, "
            f"need {settings.min_samples} to judge"
        )
    latency = f", p95 {cumulative.p95_ms:.1f} ms" if cumulative.p95_ms is not None else ""
    reference = baseline.latency_reference_ms(settings) if baseline else None
    compared = (
        f" (baseline {_reference_text(reference, settings)})" if reference is not None else " (no baseline)"
    )
    return Phase.SUCCESSFUL, (
        f"error rate {cumulative.error_rate:.1%}{latency}{compared} over {cumulative.requests} requests "
        f"in {elapsed_s:.1f} s"
    ).replace("%", " %")
