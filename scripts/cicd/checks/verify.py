"""Post-switch verification: watch the live color's real traffic and active probes for a window, and
stop at the first breached threshold (checks/verdict.py has the rules).

Every `interval_seconds`: one active probe to the live listener (so a quiet service still has data:
Flagger's "no values found"), then the new lines of nginx's access log for the watched upstream
addresses. Probes go through the live listener, so they land in the log too; without a log, probe
results are the samples. A window that ends with fewer than `min_samples` requests is topped up with
active probes until it has them (for at most another window, at least 5 s), and only then judged:
Inconclusive means too little data even then.

Blocking: `verify(...)` returns a VerificationResult, calling `on_interval(report)` after each interval
(progress output). Step by step: `run = VerificationRun(...); run.start(); run.tick() ...; run.finish()`
(canary steps, fleets). Nothing here raises for a bad version; the result says what happened.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from cicd.checks.accesslog import LOG_FORMAT_NAME, parse_lines
from cicd.checks.http import Prober, ProbeResult, join_url, probe
from cicd.checks.logsource import LogSource, LogUnavailableError
from cicd.checks.metrics import (
    RunningStats,
    Sample,
    WindowStats,
    sample_from_probe,
    samples_from_records,
    window_stats,
)
from cicd.checks.results import IntervalReport, VerificationResult
from cicd.checks.verdict import Baseline, Counters, Phase, judge_end, judge_moment, threshold_breach

if TYPE_CHECKING:
    from cicd.config.deploy import HealthCheck, Verification

# Between the top-up probes: fast enough to reach min_samples in about a second, slow enough that the
# access log has the previous probe's line before the next read.
TOP_UP_PAUSE_SECONDS = 0.05


def top_up_limit(settings: Verification) -> float:
    """How long the active-probe top-up may extend a window: another window, at least 5 s."""
    return max(5.0, settings.window_seconds)


def probe_target(settings: Verification, health: HealthCheck) -> tuple[str, int | None]:
    """The path probes use and the status that counts as healthy (None: any non-5xx answer)."""
    if settings.probe_path:
        return settings.probe_path, None
    return health.path, health.expected_status


def probe_problem(result: ProbeResult, expected_status: int | None) -> str | None:
    if result.status is None:
        return result.error or "no response"
    if expected_status is not None and result.status != expected_status:
        return f"HTTP {result.status}, expected {expected_status}"
    if expected_status is None and result.status >= 500:
        return f"HTTP {result.status}"
    return None


class VerificationRun:
    """One verification window, driven tick by tick."""

    def __init__(
        self,
        base_url: str,
        settings: Verification,
        health: HealthCheck,
        *,
        log: LogSource | None,
        upstreams: Collection[str] | None,
        baseline: Baseline | None,
        host_header: str | None = None,
        skip_existing: bool = True,
        prober: Prober = probe,
        concurrent_upstreams: Collection[str] | None = None,
    ):
        self.settings, self.log, self.baseline = settings, log, baseline
        # Kayenta's idea for canaries: the stable color, read from the same log lines over the same
        # window, is a baseline that shares the machine's load and the hour's traffic mix.
        self.concurrent = None if concurrent_upstreams is None else frozenset(concurrent_upstreams)
        self.concurrent_totals = RunningStats()
        self.upstreams = None if upstreams is None else frozenset(upstreams)
        path, self.expected_status = probe_target(settings, health)
        self.probe_url = join_url(base_url, path)
        self.host_header = host_header or health.host_header
        self.skip_existing, self.prober = skip_existing, prober
        self.totals = RunningStats()
        self.counters = Counters()
        self.history: list[IntervalReport] = []
        self.log_errors = self.log_reads_ok = self.skipped_lines = self.query_errors_in_a_row = 0
        self.started_at = self._t0 = self._last_tick = 0.0
        self.verdict: tuple[Phase, str, float] | None = None

    def start(self) -> None:
        self.started_at, self._t0 = time.time(), time.monotonic()
        self._last_tick = self._t0
        if self.log is not None and self.skip_existing:
            # when missing, the first tick reports it; a log created later is read from its start
            with contextlib.suppress(LogUnavailableError):
                self.log.seek_end()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._t0

    @property
    def done(self) -> bool:
        return self.verdict is not None

    def _probe(self) -> tuple[ProbeResult, list[Sample]]:
        timeout = min(2.0, max(0.5, self.settings.interval_seconds))
        result = self.prober(self.probe_url, host_header=self.host_header, timeout=timeout)
        problem = probe_problem(result, self.expected_status)
        failures = self.counters.probe_failures_in_a_row + 1 if problem else 0
        self.counters = replace(
            self.counters,
            probe_failures_in_a_row=failures,
            last_probe_problem=problem or self.counters.last_probe_problem,
        )
        counted_in_log = self.log is not None
        return result, [] if counted_in_log else [sample_from_probe(result)]

    def _log_error(self, message: str) -> tuple[list[Sample], str]:
        self.log_errors += 1
        self.counters = replace(
            self.counters, log_errors_in_a_row=self.counters.log_errors_in_a_row + 1, last_log_error=message
        )
        return [], message

    def _read_log(self) -> tuple[list[Sample], str | None]:
        if self.log is None:
            return [], None
        try:
            lines = self.log.read_new()
        except LogUnavailableError as err:
            return self._log_error(err.message)
        records, skipped = parse_lines(lines)
        self.skipped_lines += skipped
        if skipped and not records:  # lines arrive but none in our format: the router logs another one
            return self._log_error(
                f"{self.log.description} has {skipped} line(s) not in the {LOG_FORMAT_NAME} format "
                f"(render cicd.checks.accesslog.LOG_FORMAT into the access_log)"
            )
        self.log_reads_ok += 1
        self.counters = replace(self.counters, log_errors_in_a_row=0)
        if self.concurrent is not None:
            self.concurrent_totals.add(samples_from_records(records, self.concurrent))
        return samples_from_records(records, self.upstreams), None

    def _query_breach(self) -> str | None:
        """PromQL thresholds (settings.prometheus), judged like the access log's; Prometheus not
        answering counts as an unreadable metrics source."""
        if self.settings.prometheus is None:
            return None
        from cicd.metrics.promql import QueryUnavailableError, first_breach

        try:
            found = first_breach(self.settings.prometheus)
        except QueryUnavailableError as err:
            # Its own streak: a readable access log in the same tick must not reset it.
            self.query_errors_in_a_row += 1
            self.log_errors += 1
            streak = max(self.counters.log_errors_in_a_row, self.query_errors_in_a_row)
            self.counters = replace(self.counters, log_errors_in_a_row=streak, last_log_error=err.message)
            return None
        self.query_errors_in_a_row = 0
        return found

    def current_baseline(self) -> Baseline | None:
        """The concurrent baseline once it has enough requests, else the one measured before."""
        if self.concurrent is not None and self.concurrent_totals.requests >= self.settings.min_samples:
            return Baseline(self.concurrent_totals.stats(), "stable color, same window")
        return self.baseline

    def tick(self) -> IntervalReport:
        """Probe, read the log, judge. Sets the verdict on a breach."""
        probe_result, probe_samples = self._probe()
        log_samples, log_error = self._read_log()
        now = time.monotonic()
        interval_s, self._last_tick = now - self._last_tick, now
        new = probe_samples + log_samples
        self.totals.add(new)
        interval, cumulative = window_stats(new), self.totals.stats()
        breach = threshold_breach(
            interval=interval,
            interval_s=interval_s,
            cumulative=cumulative,
            elapsed_s=now - self._t0,
            settings=self.settings,
            baseline=self.current_baseline(),
        )
        breach = breach or self._query_breach()
        streak = self.counters.breaches_in_a_row + 1 if breach else 0
        self.counters = replace(self.counters, breaches_in_a_row=streak)
        phase, reason = judge_moment(
            breach=breach, counters=self.counters, settings=self.settings, cumulative=cumulative
        )
        if phase is not Phase.RUNNING:
            self.verdict = (phase, reason, time.time())
        report = IntervalReport(
            len(self.history) + 1,
            round(now - self._t0, 3),
            phase,
            reason,
            interval,
            cumulative,
            probe_result,
            log_error,
        )
        self.history.append(report)
        return report

    def top_up(self, limit_s: float) -> None:
        """Too little traffic by the end of the window: active probes through the live listener until
        the window holds min_samples requests (or `limit_s` more seconds pass), so the verdict is
        judged on data rather than Inconclusive for a quiet hour. Probes can still breach."""
        deadline = self.elapsed_s + max(0.0, limit_s)
        while not self.done and self.totals.requests < self.settings.min_samples:
            if self.elapsed_s >= deadline:
                return
            self.tick()
            time.sleep(TOP_UP_PAUSE_SECONDS)

    def finish(self) -> VerificationResult:
        """The result: the breach if one happened, else the end-of-window verdict."""
        cumulative = self.totals.stats()
        detected_at = None
        if self.verdict is not None:
            phase, reason, detected_at = self.verdict
        else:
            phase, reason = judge_end(
                cumulative=cumulative,
                elapsed_s=self.elapsed_s,
                settings=self.settings,
                baseline=self.current_baseline(),
                log_reads_ok=self.log_reads_ok,
                counters=self.counters,
            )
        return VerificationResult(
            phase,
            reason,
            self.started_at,
            round(self.elapsed_s, 3),
            cumulative,
            self.current_baseline(),
            len(self.history),
            detected_at,
            self.log_errors,
            self.skipped_lines,
            tuple(self.history),
        )


def verify(
    base_url: str,
    settings: Verification,
    health: HealthCheck,
    *,
    log: LogSource | None,
    upstreams: Collection[str] | None,
    baseline: Baseline | None,
    host_header: str | None = None,
    on_interval: Callable[[IntervalReport], None] | None = None,
    skip_existing: bool = True,
    prober: Prober = probe,
    concurrent_upstreams: Collection[str] | None = None,
) -> VerificationResult:
    """Watch the live color for `settings.window_seconds`; return at the first breach.

    base_url: the live listener (e.g. http://127.0.0.1:18080), probed at the probe path.
    log: the environment's access log (None: judge on probes alone).
    upstreams: the new color's upstream addresses ("127.0.0.1:18092"); None counts every line.
    baseline: from measure_baseline() on the old color before the switch (None: no latency check).
    skip_existing: False to also count lines written since measure_baseline() left the same source
    positioned, i.e. the switch itself.
    concurrent_upstreams: for a canary, the stable color's addresses; its lines in the same window
    become the baseline once they number min_samples (Kayenta's concurrent baseline).
    """
    run = VerificationRun(
        base_url,
        settings,
        health,
        log=log,
        upstreams=upstreams,
        baseline=baseline,
        host_header=host_header,
        skip_existing=skip_existing,
        prober=prober,
        concurrent_upstreams=concurrent_upstreams,
    )
    run.start()
    if settings.window_seconds <= 0:
        return _skipped(run)
    ticks = 0
    while not run.done:
        ticks += 1
        due = min(ticks * settings.interval_seconds, settings.window_seconds)
        time.sleep(max(0.0, due - run.elapsed_s))
        report = run.tick()
        if on_interval is not None:
            on_interval(report)
        if due >= settings.window_seconds:
            break
    run.top_up(top_up_limit(settings))
    return run.finish()


def _skipped(run: VerificationRun) -> VerificationResult:
    return VerificationResult(
        Phase.SUCCESSFUL,
        "verification skipped (window_seconds is 0)",
        run.started_at,
        0.0,
        WindowStats(),
        run.baseline,
        0,
    )
