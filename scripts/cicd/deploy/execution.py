"""Running a plan and finishing its record: the core every deploy and rollback goes through.

    plan (strategies/) -> run_plan (the Runner executes it; a failure cleans up and is recorded)
                       -> finish_run (the ledger's outcome, the last line printed)

A run that fails before its switch leaves no new slot behind, starts again the warm color it
displaced and the live color recreate stopped; a run that lost its lock touches nothing more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cicd.deploy import gates
from cicd.deploy.live import Live, inspect
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter, describe
from cicd.deploy.runtimes.base import Color, Release
from cicd.deploy.target import Target
from cicd.errors import VerificationPaused
from cicd.state.client import LockLostError

if TYPE_CHECKING:
    from cicd.deploy.runner import RunState
    from cicd.deploy.steps import Step


@dataclass
class Outcome:
    """How a deploy or rollback ended: printed last, returned to the CLI, finished in the ledger."""

    status: str  # succeeded | noop | failed | rolled_back
    kind: str  # deploy | rollback
    version: str
    previous_version: str | None
    live_color: Color | None
    live_version: str | None
    seconds: float
    message: str
    figures: dict[str, float] = field(default_factory=dict)


def finish_run(record: Record, outcome: Outcome, out: Reporter) -> Outcome:
    """The run's outcome into the ledger, then its last line."""
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
    """Run `plan` from what was `live`; the outcome finished in the record, or the failure recorded and
    raised after the clean-up."""
    # the runner and its steps load here: a warm rollback, which runs no plan, never pays for them
    from cicd.deploy.runner import Runner, RunState

    run = RunState(version, live.color, live.version, rebuild=rebuild)
    runner = Runner(target, record, out, run)
    try:
        runner.execute(plan)
    except BaseException as err:  # every failure, expected or a bug, cleans up and is recorded
        lost = err if isinstance(err, LockLostError) else _lock_lost(record)
        if lost is not None:  # the new holder owns the environment now (its slots too): hands off
            out.phase("fail", kind, f"{lost}; stopped without touching anything more")
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


def _lock_lost(record: Record) -> LockLostError | None:
    """Whether the lock was lost while the failed step ran (a gate, a hook or a stop signal can outlast
    it): the clean-up stops and starts slots, so it asks the fencing token first."""
    try:
        record.check()
    except LockLostError as err:
        return err
    except Exception:  # the store unreadable: the fenced writes still refuse; never hide the run's error
        return None
    return None


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
