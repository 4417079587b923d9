"""Rollback drills: practise the 3 a.m. path on purpose, and measure it.

    deploy VERSION (the live one by default) -> roll back to the previous known-good release through
    `cicd rollback`'s own path -> roll forward to VERSION again

Each leg uses the public deploy API (deploy/orchestrator.deploy, deploy/rollback.rollback), so a drill
takes the environment's lock, converges, verifies and records exactly like the real thing. After each
leg the drill reads the target: the expected version must be live and its color healthy on every host.
The time to restore is the wall time of the rollback call, from the decision to the old version serving.

A drill never starts while someone holds the environment's lock, and never runs against a production
environment unless asked with --production and a reason. Its outcome (passed or failed, which leg, the
time to restore) is one `drill` entry in the environment's ledger: the drill history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cicd.deploy.orchestrator import DeployRequest, Outcome, deploy, healthy, inspect
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.rollback import default_target, rollback
from cicd.deploy.target import Target
from cicd.errors import CicdError, ConcurrencyError, DeploymentError, UsageError
from cicd.state.records import AuditEntry


@dataclass
class DrillResult:
    environment: str
    forward: str
    back: str | None = None
    restore_ms: float | None = None
    legs: list[dict] = field(default_factory=list)
    failed_leg: str | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.failed_leg is None

    def ledger_entry(self, reason: str | None) -> dict:
        return {
            "action": "drill",
            "version": self.forward,
            "reason": reason,
            "outcome": "passed" if self.passed else "failed",
            "details": {
                "rolled_back_to": self.back,
                "restore_ms": None if self.restore_ms is None else round(self.restore_ms, 1),
                "legs": self.legs,
                "failed_leg": self.failed_leg,
                "error": self.error,
            },
        }


def check_allowed(environment_type: str, name: str, *, production: bool, reason: str | None) -> None:
    if environment_type != "production":
        return
    if not production or not (reason or "").strip():
        raise UsageError(
            f"{name} is a production environment: a drill there takes real traffic back and forth",
            hint="drill staging, or pass --production --reason TEXT to drill production on purpose",
        )


def check_unlocked(record: Record, environment: str) -> None:
    holder = record.lock_holder()
    if holder is not None:
        raise ConcurrencyError(
            f"{environment} is locked by {holder.describe()}: a drill never runs beside a deploy",
            hint="wait for it to finish, then drill",
        )


def _expect_live(target: Target, version: str, leg: str) -> str:
    """The color serving `version`; DeploymentError when another version is live or it is unhealthy."""
    live = inspect(target)
    if live.version != version or live.color is None:
        raise DeploymentError(f"after the {leg}, {live.version or 'nothing'} is live instead of {version}")
    if not healthy(target, live.color):
        raise DeploymentError(f"after the {leg}, {version} on {live.color} fails its health check")
    return live.color


def _leg(result: DrillResult, name: str, outcome: Outcome, target: Target, version: str, ms: float) -> None:
    color = _expect_live(target, version, name)
    result.legs.append({"leg": name, "version": version, "status": outcome.status, "color": color,
                        "ms": round(ms, 1)})  # fmt: skip


def run_drill(
    target: Target, record: Record, *, version: str | None, artifact: str | None, actor: str,
    reason: str | None, out: Reporter,
) -> DrillResult:  # fmt: skip
    """Deploy, roll back, roll forward; the result says which leg failed, if one did (never raises for
    a failed leg, so the outcome always reaches the ledger)."""
    check_unlocked(record, target.environment)
    forward = version or inspect(target).version
    if forward is None:
        raise UsageError(f"nothing is live in {target.environment}: give the version to drill with --version")
    result = DrillResult(target.environment, forward)
    why = f"drill: {reason}" if reason else "drill"
    # without an artifact a retained version is drilled as it was released, not as the source is today
    retained = artifact is None and all(forward in target.runtime.releases(host) for host in target.hosts)
    request = DeployRequest(forward, actor, artifact, reason=why, retained=retained)
    leg = "deploy"
    try:
        started = time.monotonic()
        outcome = deploy(target, record, request, out, dry_run=False)
        _leg(result, leg, outcome, target, forward, (time.monotonic() - started) * 1000)
        leg = "rollback"
        result.back = default_target(inspect(target), record)[0]
        if result.back is None:
            raise DeploymentError(f"no known-good release other than {forward} to roll back to")
        started = time.monotonic()
        outcome = rollback(target, record, to=result.back, reason=why, actor=actor, out=out)
        result.restore_ms = (time.monotonic() - started) * 1000
        _leg(result, leg, outcome, target, result.back, result.restore_ms)
        leg = "roll forward"
        started = time.monotonic()
        outcome = deploy(target, record, request, out, dry_run=False)
        _leg(result, leg, outcome, target, forward, (time.monotonic() - started) * 1000)
    except CicdError as err:
        result.failed_leg, result.error = leg, str(err)
    return result


DEFAULT_MAX_AGE_DAYS = 7.0


def last_passed(entries: list[AuditEntry]) -> AuditEntry | None:
    """The newest passed drill among ledger entries (oldest first)."""
    return next((e for e in reversed(entries) if e.action == "drill" and e.outcome == "passed"), None)


def staleness(last: AuditEntry | None, max_age_days: float, now: datetime | None = None) -> str | None:
    """Why the drills are overdue, or None when the last passed drill is recent enough."""
    if last is None:
        return "no drill has passed yet"
    age = (now or datetime.now(UTC)) - datetime.fromisoformat(last.time)
    days = age.total_seconds() / 86400
    if days > max_age_days:
        return f"the last passed drill ({last.time}) is {days:.1f} days old, more than {max_age_days:g}"
    return None


def overdue(store: Any, environment: str, max_age_days: float, window: int = 5000) -> str | None:
    """The warning `cicd status` prints when the drills of `environment` are overdue, else None."""
    late = staleness(last_passed(store.audit_entries(window)), max_age_days)
    if late is None:
        return None
    return f"rollback drills are overdue in {environment}: {late} (run: cicd drill --env {environment})"
