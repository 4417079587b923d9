"""What a verification reports: one IntervalReport per interval (progress output) and the final
VerificationResult (verdict, one-line reason, time of detection, figures for history and reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cicd.checks.http import ProbeResult
from cicd.checks.metrics import WindowStats
from cicd.checks.verdict import Baseline, Phase


@dataclass(frozen=True)
class IntervalReport:
    index: int  # 1-based
    elapsed_s: float
    phase: Phase  # Running, or the verdict when this interval decided it
    reason: str
    interval: WindowStats
    cumulative: WindowStats
    probe: ProbeResult | None = None
    log_error: str | None = None

    def describe(self) -> str:
        """One progress line: `[2.5 s] 52 requests, 0.0% errors, p95 4.1 ms (total 260 ...)`."""
        text = f"[{self.elapsed_s:.1f} s] {self.interval.describe()} (total: {self.cumulative.describe()})"
        if self.log_error:
            text += f"; {self.log_error}"
        if self.phase is not Phase.RUNNING:
            text += f" -> {self.phase.value}: {self.reason}"
        return text


@dataclass(frozen=True)
class VerificationResult:
    phase: Phase
    reason: str  # one line, e.g. "error rate 34.0 % > 5.0 % over 52 requests in 3.5 s"
    started_at: float  # epoch seconds
    elapsed_s: float
    cumulative: WindowStats
    baseline: Baseline | None
    intervals: int
    detected_at: float | None = None  # epoch seconds when Failed/Error was decided
    log_errors: int = 0
    skipped_lines: int = 0  # log lines not in our format
    history: tuple[IntervalReport, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.phase is Phase.SUCCESSFUL

    @property
    def breached(self) -> bool:
        """Failed or Error: the orchestrator switches traffic back."""
        return self.phase in (Phase.FAILED, Phase.ERROR)

    @property
    def detect_after_s(self) -> float | None:
        return None if self.detected_at is None else round(self.detected_at - self.started_at, 3)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "reason": self.reason,
            "elapsed_s": round(self.elapsed_s, 3),
            "detect_after_s": self.detect_after_s,
            "intervals": self.intervals,
            "log_errors": self.log_errors,
            "live": self.cumulative.as_dict(),
            "baseline": None
            if self.baseline is None
            else {"source": self.baseline.source, **self.baseline.stats.as_dict()},
        }
