"""Smoke tests: a few real requests against the idle color, through the router's private preview
listener, before any user traffic reaches it. Every check runs; the report lists every failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicd.checks.http import Prober, ProbeResult, join_url, probe

if TYPE_CHECKING:
    from cicd.config.deploy import SmokeCheck

SMOKE_BODY_BYTES = 256 * 1024  # enough of a body for `contains`
SMOKE_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmokeResult:
    name: str
    url: str
    ok: bool
    status: int | None
    latency_ms: float
    problem: str | None = None  # one line, None when ok


@dataclass(frozen=True)
class SmokeReport:
    results: tuple[SmokeResult, ...]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> tuple[SmokeResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    @property
    def reason(self) -> str:
        """One line: 'all 3 smoke checks passed' or every failure, '; '-separated."""
        if self.ok:
            return f"all {len(self.results)} smoke check(s) passed"
        failed = "; ".join(f"{result.name}: {result.problem}" for result in self.failures)
        return f"{len(self.failures)} of {len(self.results)} smoke check(s) failed: {failed}"


def judge(check: SmokeCheck, result: ProbeResult) -> str | None:
    """What is wrong with the answer to one check, or None."""
    if result.status is None:
        return f"{check.method} {check.path}: {result.error}"
    if result.status != check.expected_status:
        excerpt = " ".join(result.body_excerpt.split())[:120]
        return f"{check.method} {check.path} answered {result.status}, expected {check.expected_status}" + (
            f" (body: {excerpt})" if excerpt else ""
        )
    if check.contains is not None and check.contains not in result.body_excerpt:
        return f"{check.method} {check.path}: body does not contain {check.contains!r}"
    return None


def run_smoke(
    base_url: str,
    checks: Sequence[SmokeCheck],
    host_header: str | None = None,
    *,
    timeout: float = SMOKE_TIMEOUT,
    prober: Prober = probe,
) -> SmokeReport:
    """Run every check against base_url (the preview route to the idle color); never stops early."""
    results = []
    for check in checks:
        url = join_url(base_url, check.path)
        answer = prober(
            url, method=check.method, host_header=host_header, timeout=timeout, body_limit=SMOKE_BODY_BYTES
        )
        problem = judge(check, answer)
        results.append(
            SmokeResult(check.name, url, problem is None, answer.status, answer.latency_ms, problem)
        )
    return SmokeReport(tuple(results))
