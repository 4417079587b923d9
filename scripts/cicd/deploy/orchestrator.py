"""The DeploymentOrchestrator: deploy, rollback and inspect one environment.

    lock -> converge leftovers -> plan (strategy) -> run the plan (runner.py) -> record -> unlock

What is live is always read from the target (the nginx config on every host and the runtime's slot
records), never assumed from local state. Before planning, every run converges what an interrupted run
may have left: nginx is started and made to serve its config file, a split left by a killed canary goes
back to the stable color, hosts that disagree follow the primary, and expired warm slots are stopped.
Re-running a deploy whose version is already live and healthy does nothing and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from cicd.deploy import anchor, gates
from cicd.deploy.logrotate import rotate_access_logs
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.deploy.runner import Runner, RunState, describe
from cicd.deploy.runtimes.artifact import Artifact
from cicd.deploy.runtimes.base import Color, Release, other_color
from cicd.deploy.steps import MarkKnownGood, Step, Verify
from cicd.deploy.strategies import STRATEGIES, build_plan
from cicd.deploy.target import Target
from cicd.errors import DeploymentError, UsageError, VerificationPaused
from cicd.inputs import check_version, clean_reason
from cicd.state.client import LockLostError


@dataclass(frozen=True)
class DeployRequest:
    version: str
    actor: str
    artifact: str | None = None
    strategy: str | None = None
    reason: str | None = None
    wait: bool = False
    rebuild: bool = False  # replace a prepared version whose content differs


@dataclass
class Live:
    """What the target serves now, read from it."""

    traffic: Traffic | None
    color: Color | None
    version: str | None
    warm_color: Color | None = None
    warm_version: str | None = None
    warm_until: float | None = None


@dataclass
class Outcome:
    status: str  # succeeded | noop | failed | rolled_back
    kind: str  # deploy | rollback
    version: str
    previous_version: str | None
    live_color: Color | None
    live_version: str | None
    seconds: float
    message: str
    figures: dict[str, float] = field(default_factory=dict)


def inspect(target: Target) -> Live:
    """Read-only: the primary host's traffic and the versions in its slots."""
    host = target.primary
    traffic = target.router.read(host)
    if traffic is None or traffic.weight(traffic.live_color) == 0:
        return Live(traffic, None, None)
    live_color = traffic.live_color
    live_status = target.runtime.status(host, target.slot(live_color))
    idle_status = target.runtime.status(host, target.slot(other_color(live_color)))
    warm = target.read_warm(host) or {}
    # Warm means: kept up on purpose (a warm record), not merely running (a leftover never is).
    is_warm = idle_status.running and not traffic.split and warm.get("color") == idle_status.color
    warm_color = idle_status.color if is_warm else None
    return Live(
        traffic, live_color, live_status.version, warm_color,
        idle_status.version if warm_color else None, warm.get("until") if warm_color else None,
    )  # fmt: skip


def converge(target: Target, out: Reporter, record: Record) -> None:
    """Undo what an interrupted run may have left, so planning starts from one healthy live color."""
    anchor.reconcile(target, record, out)
    primary_traffic = None
    for host in target.hosts:
        traffic = target.router.converge(host)
        primary_traffic = primary_traffic or traffic
        if traffic is None or primary_traffic is None:
            continue
        stable = primary_traffic.live_color
        if traffic.split or traffic.live_color != stable:
            # Both colors passed their gates before any traffic moved; the primary's color wins.
            target.router.apply(host, Traffic.all_to(stable), target.slots())
            was = traffic.describe()
            out.phase("warn", "converge", f"{host.name}: traffic was {was}; now all to {stable}")
    _repair_state(target, out, record)
    for host in target.hosts:
        warm = target.read_warm(host)
        traffic = target.router.read(host)
        if warm is None and traffic is not None and traffic.weight(traffic.live_color) > 0:
            idle = target.slot(other_color(traffic.live_color))
            status = target.runtime.status(host, idle)
            if status.running and status.version in record.protected():
                # the previous live version, left without its warm record by a run killed right
                # after the switch: it gets its warm window, then goes
                target.write_warm(host, idle.color, status.version, target.settings.warm_seconds)
                continue
            if status.running:  # a version that never went live (killed before its switch): never warm
                target.runtime.stop(host, idle)
                out.phase("info", "converge", f"{host.name}: stopped {status.version} left in {idle.color}")
                continue
        if warm and warm.get("until", 0) < time.time():
            target.runtime.stop(host, target.slot(warm["color"]))
            target.clear_warm(host)
            out.phase("info", "warm", f"{warm['color']} ({warm.get('version')}) warm window over: stopped")


def _repair_state(target: Target, out: Reporter, record: Record) -> None:
    """The router is the truth: a run killed between its switch and its record left the state behind."""
    live = inspect(target)
    recorded = record.current_version()
    if live.version and live.version != recorded:
        record.switched(live.version, live.color, reason="repaired from the router's live color")
        was = recorded or "nothing"
        out.phase("warn", "converge", f"state said {was}; the router serves {live.version}: state repaired")


def healthy(target: Target, color: Color) -> bool:
    for host in target.hosts:
        result = gates.probe_health(host, target.slot(color), target.settings)
        if not result:
            return False
    return True


def print_plan(out: Reporter, plan: list[Step]) -> None:
    for number, step in enumerate(plan, 1):
        out.line(f"  {number:>2}. [{step.phase}] {step.describe()}")


def finish_run(record: Record, outcome: Outcome, out: Reporter) -> Outcome:
    record.finish(
        outcome.status,
        outcome.message,
        live_version=outcome.live_version,
        live_color=outcome.live_color,
        figures=outcome.figures,
    )
    mark = "ok" if outcome.status in ("succeeded", "noop") else "fail"
    out.phase(mark, outcome.kind, outcome.message, outcome.seconds)
    return outcome


def deploy(
    target: Target, record: Record, request: DeployRequest, out: Reporter, *, dry_run: bool
) -> Outcome:
    check_version(request.version)
    request = replace(request, reason=clean_reason(request.reason))
    strategy = request.strategy or target.settings.strategy
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    # What would ship is checked here, before the lock, any hook or the dry run's plan.
    artifact = target.runtime.check_artifact(Release(request.version, request.artifact))
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
        reason=request.reason or f"deploy {request.version}",
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


def run_plan(
    target: Target,
    record: Record,
    out: Reporter,
    plan: list[Step],
    kind: str,
    version: str,
    live: Live,
    started: float,
    *,
    rebuild: bool = False,
) -> Outcome:
    run = RunState(version, live.color, live.version, rebuild=rebuild)
    runner = Runner(target, record, out, run)
    try:
        runner.execute(plan)
    except BaseException as err:  # every failure, expected or a bug, cleans up and is recorded
        if isinstance(err, LockLostError):  # the new holder owns the environment now: hands off
            out.phase("fail", kind, f"{err}; stopped without touching anything more")
            raise
        try:
            _clean_up(target, run, out)
        except Exception as cleanup_err:  # never hide the reason the run failed
            out.phase("warn", "cleanup", f"could not clean up after the failure: {describe(cleanup_err)}")
        status = "rolled_back" if run.rolled_back else "failed"
        if isinstance(err, VerificationPaused):  # live and unverified until a person decides
            status = "paused"
        failed = Outcome(status, kind, version, live.version, None, None, 0.0, "", run.figures)
        record_failure(target, record, out, err, failed, started, live)
        raise
    now = inspect(target)
    message = f"{version} live on {now.color}" + (f" (was {live.version})" if live.version else "")
    return finish_run(
        record,
        Outcome(
            "succeeded",
            kind,
            version,
            live.version,
            now.color,
            now.version,
            time.monotonic() - started,
            message,
            run.figures,
        ),
        out,
    )


def record_failure(
    target: Target, record: Record, out: Reporter, err: BaseException, failed: Outcome, started: float,
    before: Live,
) -> None:
    """Finish the record of a failed run with what is live now; a failure to record is shown, never
    raised over the run's own error."""
    try:
        now = inspect(target)
    except Exception:  # the router unreadable too: record what was live before, not nothing
        now = before
    failed = replace(
        failed, live_color=now.color, live_version=now.version, seconds=time.monotonic() - started,
        message=describe(err),
    )  # fmt: skip
    try:
        finish_run(record, failed, out)
    except Exception as finish_err:
        out.phase("warn", "record", f"could not record the outcome: {describe(finish_err)}")


def _restore_warm(target: Target, warm: dict, out: Reporter) -> None:
    """The warm previous version this run displaced starts again, with what is left of its window."""
    slot = target.slot(warm["color"])
    for host in target.hosts:
        target.runtime.start(host, slot, Release(warm["version"]))
        result = gates.wait_healthy(host, slot, target.settings)
        if result.ok:
            target.write_warm(host, slot.color, warm["version"], max(0.0, warm["until"] - time.time()))
        message = f"{warm['version']} warm in {slot.color} again: {result.summary}"
        out.phase("ok" if result.ok else "fail", "restore", message)


def _clean_up(target: Target, run: RunState, out: Reporter) -> None:
    """A failed run leaves no new slot behind unless traffic is on it (then it is the live one), and
    a live version that recreate stopped before the failure is started again."""
    live = inspect(target)
    for color in list(run.started_colors):
        if color != live.color:
            for host in target.hosts:
                target.runtime.stop(host, target.slot(color))
    if run.replaced_warm and not run.switched:
        _restore_warm(target, run.replaced_warm, out)
    if run.stopped_live and not run.switched and run.previous_color and run.previous_version:
        slot = target.slot(run.previous_color)
        for host in target.hosts:
            target.runtime.start(host, slot, Release(run.previous_version))
            result = gates.wait_healthy(host, slot, target.settings)
            mark = "ok" if result.ok else "fail"
            message = f"{run.previous_version} started again in {slot.color}: {result.summary}"
            out.phase(mark, "restore", message)
