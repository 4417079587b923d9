"""`cicd deploy` of one environment: check the artifact, lock, converge, plan, run, finish.

    check artifact -> lock -> converge leftovers (live.py) -> plan (strategies/)
                   -> run_plan (execution.py, the Runner) -> finish_run -> unlock

The deploy API every caller shares: `inspect`, `converge` and `healthy` read and repair what is live
(live.py); a strategy's `build_plan` says what to do; `run_plan` runs it and `finish_run` records the
outcome (execution.py). `cicd rollback` (rollback.py) goes through the same three.
Re-running a deploy whose version is already live and healthy does nothing and says so; a version
live but never verified (its run was killed) is verified now.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from cicd.deploy.execution import Outcome, finish_run, record_failure, run_plan
from cicd.deploy.live import Live, converge, healthy, inspect
from cicd.deploy.logrotate import rotate_access_logs
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.runtimes.artifact import Artifact
from cicd.deploy.runtimes.base import Release
from cicd.deploy.steps import MarkKnownGood, PrepareRelease, Step, Verify
from cicd.deploy.strategies import STRATEGIES, build_plan
from cicd.deploy.target import Target
from cicd.errors import DeploymentError, UsageError
from cicd.inputs import check_version, clean_reason

# The deploy API, importable from here as well as from live.py and execution.py.
__all__ = [
    "DeployRequest", "Live", "Outcome", "converge", "deploy", "finish_run", "healthy", "inspect",
    "print_plan", "record_failure", "run_plan",
]  # fmt: skip


@dataclass(frozen=True)
class DeployRequest:
    version: str
    actor: str
    artifact: str | None = None
    strategy: str | None = None
    reason: str | None = None
    wait: bool = False
    rebuild: bool = False  # replace a prepared version whose content differs
    # run the version as retained on the hosts (a drill's legs): its released content, no artifact read
    retained: bool = False


def print_plan(out: Reporter, plan: list[Step]) -> None:
    for number, step in enumerate(plan, 1):
        out.line(f"  {number:>2}. [{step.phase}] {step.describe()}")


def deploy(
    target: Target, record: Record, request: DeployRequest, out: Reporter, *, dry_run: bool
) -> Outcome:
    check_version(request.version)
    request = replace(request, reason=clean_reason(request.reason))
    strategy = request.strategy or target.settings.strategy
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    # What would ship is checked here, before the lock, any hook or the dry run's plan.
    release = Release(request.version, request.artifact)
    artifact = None if request.retained else target.runtime.check_artifact(release)
    started = time.monotonic()
    if dry_run:
        _changed_content(target, request, artifact)
        live = inspect(target)
        plan = build_plan(
            target.settings,
            strategy=strategy,
            version=request.version,
            artifact=request.artifact,
            live=live.color,
        )
        out.line(
            f"dry run: deploy {request.version} to {target.environment} ({strategy}); "
            f"live now: {live.version or 'nothing'} on {live.color or '-'}; nothing will be changed"
        )
        if artifact is not None:
            what = f"{len(artifact.files)} file(s)" if artifact.files else "a tarball"
            out.line(f"  artifact {artifact.source}: {what}, {artifact.digest}")
        out.line(f"  lock {target.environment} (ttl {target.settings.lock_ttl_seconds:g}s, heartbeat)")
        print_plan(out, plan)
        out.line(f"  unlock {target.environment}")
        return Outcome(
            "noop", "deploy", request.version, live.version, live.color, live.version, 0.0, "dry run"
        )
    owner = f"{request.actor} deploy {request.version}"
    with record.lock(
        owner=owner,
        # what the run does, then why: a locked-out person at 3 a.m. reads both in the lock error
        reason=f"deploy {request.version}" + (f": {request.reason}" if request.reason else ""),
        ttl=target.settings.lock_ttl_seconds,
        wait=request.wait,
    ):
        converge(target, out, record)
        rotate_access_logs(target, out)
        live = inspect(target)
        out.line(
            f"deploy {request.version} to {target.environment} ({strategy}): live now "
            f"{live.version or 'nothing'}{f' on {live.color}' if live.color else ''}"
        )
        changed = _changed_content(target, request, artifact)
        if live.version == request.version and not changed and live.color and healthy(target, live.color):
            if live.version not in record.known_good_versions() and not dry_run:
                return _verify_interrupted(target, record, out, request, live, started)
            seconds = time.monotonic() - started
            message = f"{request.version} is already live on {live.color} and healthy; nothing to do"
            return finish_run(
                record,
                Outcome(
                    "noop",
                    "deploy",
                    request.version,
                    live.version,
                    live.color,
                    live.version,
                    seconds,
                    message,
                ),
                out,
            )
        plan = build_plan(
            target.settings,
            strategy=strategy,
            version=request.version,
            artifact=request.artifact,
            live=live.color,
        )
        if request.retained:
            retained = PrepareRelease(request.version, None, retained=True)
            plan = [retained if isinstance(step, PrepareRelease) else step for step in plan]
        record.begin(
            kind="deploy",
            version=request.version,
            strategy=strategy,
            actor=request.actor,
            reason=request.reason,
            previous_version=live.version,
        )
        rebuild = request.rebuild
        return run_plan(target, record, out, plan, "deploy", request.version, live, started, rebuild=rebuild)


def _changed_content(target: Target, request: DeployRequest, artifact: Artifact | None) -> bool:
    """Whether this artifact differs from what the version already contains on the target (its
    prepared release); refused unless --rebuild."""
    if artifact is None:
        return False
    recorded = target.runtime.prepared_digest(target.primary, request.version)
    if artifact is None or recorded in (None, artifact.digest):
        return False
    if not request.rebuild:
        raise DeploymentError(
            f"version {request.version} was released as {recorded}, but this artifact is {artifact.digest}: "
            "give the new content a new version, or pass --rebuild to replace it"
        )
    return True


def _verify_interrupted(
    target: Target, record: Record, out: Reporter, request: DeployRequest, live: Live, started: float
) -> Outcome:
    """The version is live but the run that switched to it died before its verification: finish that
    run's work (verify, then known good) instead of calling it done; the warm color is the way back."""
    assert live.color is not None
    out.line(f"{live.version} is live but was never verified (its deploy was interrupted): verifying it now")
    window = target.settings.verification.window_seconds
    plan: list[Step] = [Verify(live.color, window), MarkKnownGood(request.version)]
    record.begin(
        kind="deploy", version=request.version, strategy="verify", actor=request.actor,
        reason=request.reason, previous_version=live.warm_version,
    )  # fmt: skip
    before = replace(live, color=live.warm_color, version=live.warm_version)
    return run_plan(target, record, out, plan, "deploy", request.version, before, started)
