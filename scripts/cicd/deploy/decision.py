"""What a run does with a verification verdict, and whether the version becomes known good.

Only a Successful verification makes a release known good: the version a cold rollback and the pruning
protection treat as safe. Failed and Error switch back to the warm color (a Failed one first turns off
the flag `verification.disable_flag` names, if any, and keeps the release when that heals it:
flags/guard.py). Inconclusive (too little data
even after the active-probe top-up) follows the environment's `verification.on_inconclusive`:

- keep: the version stays live, unverified, and is never marked known good;
- rollback: treated as a failure, traffic goes back to the warm color;
- pause (the default on production): the run stops with exit 5, the new version live and the old one
  warm, and prints the two commands a person chooses between: `cicd accept` or `cicd rollback`.
  A pause needs all traffic on the new color; a split (a canary step) is aborted instead.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cicd.errors import HealthCheckError, VerificationPaused

if TYPE_CHECKING:
    from cicd.deploy.gates import GateResult
    from cicd.deploy.runner import Runner

SUCCESSFUL = "Successful"
INCONCLUSIVE = "Inconclusive"


def _back_to(runner: Runner) -> str:
    run = runner.run
    if run.rolled_back:
        return f"rolled back to {run.previous_version} ({run.previous_color})"
    return f"no earlier version to switch back to: {run.version} stays live, not known good"


def decide(runner: Runner, color: str, result: GateResult) -> str:
    """The verify step's message; raises when the run must stop (breach, rollback, pause)."""
    if not result.ok:
        from cicd.flags.guard import disable_instead  # verification.disable_flag: a flag may be the fault

        if (kept := disable_instead(runner, color, result)) is not None:
            return kept
        runner.switch_back(color)  # type: ignore[arg-type]
        raise HealthCheckError(f"verification failed: {result.summary}; {_back_to(runner)}")
    if result.phase != INCONCLUSIVE:
        return result.summary
    policy = runner.target.on_inconclusive
    if policy == "keep":
        return f"{result.summary}; {runner.run.version} stays live unverified (never marked known good)"
    traffic = runner.target.router.read(runner.target.primary)
    if policy == "pause" and traffic is not None and not traffic.split:
        raise _pause(runner, result)
    runner.switch_back(color)  # type: ignore[arg-type]
    raise HealthCheckError(f"verification inconclusive: {result.summary}; {_back_to(runner)}")


def _pause(runner: Runner, result: GateResult) -> VerificationPaused:
    env, version, previous = runner.target.environment, runner.run.version, runner.run.previous_version
    runner.out.line(f"  verification Inconclusive on {env}: a person decides (on_inconclusive: pause)")
    runner.out.line(f"    keep {version}:  cicd accept --env {env} --version {version} --reason TEXT")
    if previous:
        warm = runner.target.read_warm(runner.target.primary) or {}
        until = warm.get("until")
        instant = (
            f" (instant until {datetime.fromtimestamp(until, UTC):%H:%M:%S} UTC)"
            if until and until > time.time()
            else ""
        )
        runner.out.line(
            f"    back to {previous}: cicd rollback --env {env} --to {previous} --reason TEXT{instant}"
        )
    return VerificationPaused(
        f"verification Inconclusive ({result.summary}); {version} is live unverified"
        + (f", {previous} stays warm" if previous else "")
        + "; decide with `cicd accept` or `cicd rollback` (printed above)"
    )


def mark_known_good(runner: Runner, version: str) -> str:
    """The known_good step: only after a Successful verification in this run."""
    verification = runner.run.verification
    if verification is None and version in runner.record.known_good_versions():
        return f"{version} stays known good (verified before; this run did not verify it)"
    if verification is None:
        return f"{version} not marked known good: nothing verified it under live traffic in this run"
    if verification.phase != SUCCESSFUL:
        return f"{version} not marked known good: verification was {verification.phase}"
    runner.record.mark_known_good(version)
    return f"{version} is the last known good release"


def accept(target: Any, record: Any, version: str, *, reason: str, out: Any) -> None:
    """`cicd accept`: a person checked the live, unverified version (after a pause) and keeps it. It
    becomes known good; the ledger records who and why (release.accept)."""
    from cicd.deploy.live import inspect
    from cicd.errors import DeploymentError

    ttl = target.settings.lock_ttl_seconds
    with record.lock(owner=f"accept {version}", reason=f"accept {version}", ttl=ttl, wait=False):
        live = inspect(target)
        if live.version != version:
            raise DeploymentError(
                f"{version} is not live in {target.environment} (live: {live.version or 'nothing'}); "
                "accept decides only about the live version"
            )
        record.accepted(version, reason)
    out.phase("ok", "accept", f"{version} accepted as known good on {target.environment}: {reason}")
