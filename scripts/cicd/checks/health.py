"""The health gate: poll a new version until it answers its health path, or say why it never did.

Like Kamal's gate (GET /up every 1 s, up to 30 s), plus what its users asked for: the gate stops at
once when the process or container already died (`is_alive`), and the result says what every attempt
got (how many were refused, timed out, or answered with which status), so "failed to become healthy"
comes with a diagnosis. The orchestrator adds the slot's last log lines.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cicd.checks.http import Prober, ProbeResult, join_url, probe

if TYPE_CHECKING:
    from cicd.config.deploy import HealthCheck

KEEP_ATTEMPTS = 10  # the last few attempts are kept whole; the rest only counted by outcome
MAX_ATTEMPT_TIMEOUT = 5.0  # seconds one request may take (Kamal's 5 s)


@dataclass(frozen=True)
class GateResult:
    ok: bool
    url: str
    reason: str  # one line, for the terminal and the ledger
    attempt_count: int
    elapsed_s: float
    outcomes: dict[str, int] = field(default_factory=dict)  # "connection refused": 12, "HTTP 503": 3
    last_attempts: tuple[ProbeResult, ...] = ()
    died: bool = False  # the process or container stopped before it became healthy

    @property
    def last_error(self) -> str | None:
        if not self.last_attempts:
            return None
        last = self.last_attempts[-1]
        return last.error or f"HTTP {last.status}"


def _outcome(result: ProbeResult) -> str:
    return f"HTTP {result.status}" if result.status is not None else (result.error or "no response")


def _summary(outcomes: Counter[str]) -> str:
    return ", ".join(f"{count}x {what}" for what, count in outcomes.most_common(3))


def wait_healthy(
    base_url: str,
    settings: HealthCheck,
    *,
    host_header: str | None = None,
    is_alive: Callable[[], bool] | None = None,
    prober: Prober = probe,
) -> GateResult:
    """Poll `settings.path` every `interval_seconds` until it answers `expected_status`, the
    `timeout_seconds` pass, or `is_alive()` says the version is gone. Never raises for an unhealthy
    target; the caller turns a failed GateResult into a HealthCheckError with the slot's logs."""
    url = join_url(base_url, settings.path)
    host_header = host_header or settings.host_header
    started = time.monotonic()
    deadline = started + settings.timeout_seconds
    outcomes: Counter[str] = Counter()
    attempts: deque[ProbeResult] = deque(maxlen=KEEP_ATTEMPTS)
    count = 0

    def finish(ok: bool, reason: str, *, died: bool = False) -> GateResult:
        return GateResult(
            ok, url, reason, count, round(time.monotonic() - started, 3),
            dict(outcomes), tuple(attempts), died,
        )  # fmt: skip

    if is_alive is not None and not is_alive():
        return finish(
            False, f"{url}: the new version is not running (it exited before the first check)", died=True
        )
    while True:
        remaining = max(0.05, deadline - time.monotonic())
        result = prober(url, host_header=host_header, timeout=min(MAX_ATTEMPT_TIMEOUT, remaining))
        attempts.append(result)
        count += 1
        outcomes[_outcome(result)] += 1
        elapsed = time.monotonic() - started
        if result.status == settings.expected_status:
            return finish(
                True,
                f"healthy after {count} attempt(s) in {elapsed:.1f} s "
                f"({settings.path} answered {result.status} in {result.latency_ms:.0f} ms)",
            )
        if is_alive is not None and not is_alive():
            return finish(
                False,
                f"the new version stopped running {elapsed:.1f} s after start, before "
                f"{settings.path} answered {settings.expected_status} "
                f"({count} attempt(s): {_summary(outcomes)})",
                died=True,
            )
        if time.monotonic() >= deadline:
            return finish(
                False,
                f"{url} did not answer {settings.expected_status} within "
                f"{settings.timeout_seconds:g} s ({count} attempt(s): "
                f"{_summary(outcomes)}; last: {_outcome(result)})",
            )
        time.sleep(min(settings.interval_seconds, max(0.0, deadline - time.monotonic())))
