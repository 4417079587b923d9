"""Failure paths of the lifecycle against a recording Host (tests/support/recording_host.py): a bug
(not a CicdError) after the switch is shown, recorded as failed with what is live, and cleaned up; a
run that lost its lock touches nothing more and records nothing; state follows each switch."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from cicd.deploy.interrupts import Terminated
from cicd.deploy.orchestrator import DeployRequest, deploy, inspect
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.target import Target
from cicd.errors import DeploymentError
from cicd.state.client import LockLostError

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # tests.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.support.recording_host import RecordingHost, make_target  # noqa: E402


class Remembering(Record):
    """What the state store would be told: switches, phases, known-good versions, the finish."""

    def __init__(self) -> None:
        self.good: list[str] = []
        self.phases: list[tuple[str, str, str]] = []
        self.switches: list[tuple[str | None, str | None]] = []
        self.finished: list[tuple[str, str, str | None]] = []

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        self.phases.append((name, status, detail))

    def switched(self, version: str | None, color: str | None, reason: str | None = None) -> None:
        self.switches.append((version, color))

    def current_version(self) -> str | None:
        return self.switches[-1][0] if self.switches else None

    def mark_known_good(self, version: str) -> None:
        self.good.append(version)

    def known_good_versions(self) -> list[str]:
        return list(self.good)

    def finish(self, status, detail, *, live_version, live_color, figures) -> None:
        self.finished.append((status, detail, live_version))


class BuggyAfterSwitch(Remembering):
    def warm(self, color: str, version: str | None, until: float) -> None:
        raise RuntimeError("a bug in the warm record")


class LosesLockAfterSwitch(Remembering):
    """The lock is forced away right after this run's switch to `version`."""

    def __init__(self, host: RecordingHost, version: str) -> None:
        super().__init__()
        self.host, self.version = host, version
        self.commands_at_loss: int | None = None

    def check(self) -> None:
        if (self.version, "green") in self.switches:
            if self.commands_at_loss is None:
                self.commands_at_loss = len(self.host.commands)
            raise LockLostError("this run no longer holds the lock on prod", None)



class LosesLockDuringHealthGate(Remembering):
    """A stop signal ends a health gate that outlasted the lock: another run holds it now."""

    def __init__(self, host: RecordingHost) -> None:
        super().__init__()
        self.host = host
        self.commands_at_loss: int | None = None

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        super().phase(name, status, seconds, detail)
        if name == "health" and self.commands_at_loss is None:
            self.commands_at_loss = len(self.host.commands)
            raise Terminated(15)

    def check(self) -> None:
        if self.commands_at_loss is not None:
            raise LockLostError("this run no longer holds the lock on prod", None)


class StoreGoneDuringHealthGate(Remembering):
    """The health gate fails, and asking the fencing token afterwards fails too (the store is gone)."""

    failed = False

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        super().phase(name, status, seconds, detail)
        if name == "health" and not self.failed:
            self.failed = True
            raise DeploymentError("the gate broke")

    def check(self) -> None:
        if self.failed:
            raise RuntimeError("the state store is gone")


def ship(target: Target, record: Record, version: str, out: io.StringIO | None = None) -> None:
    deploy(target, record, DeployRequest(version, "tester"), Reporter(out or io.StringIO()), dry_run=False)


def test_each_switch_writes_current_at_once():
    host = RecordingHost()
    target, record = make_target(host), Remembering()
    ship(target, record, "1.0.0")
    ship(target, record, "1.1.0")
    assert record.switches == [("1.0.0", "blue"), ("1.1.0", "green")]


def test_a_bug_after_the_switch_is_recorded_with_what_is_live():
    host = RecordingHost()
    target = make_target(host)
    ship(target, Remembering(), "1.0.0")
    record, out = BuggyAfterSwitch(), io.StringIO()
    record.good = ["1.0.0"]

    with pytest.raises(RuntimeError, match="a bug"):
        ship(target, record, "1.1.0", out)

    assert ("warm", "failed", "internal error: RuntimeError: a bug in the warm record") in record.phases
    assert record.finished == [("failed", "internal error: RuntimeError: a bug in the warm record", "1.1.0")]
    assert "✗ warm" in out.getvalue()
    assert inspect(target).version == "1.1.0"  # traffic stays on the version that passed its gates


def test_a_run_that_lost_its_lock_touches_nothing_more_and_records_nothing():
    host = RecordingHost()
    target = make_target(host)
    ship(target, Remembering(), "1.0.0")
    record, out = LosesLockAfterSwitch(host, "1.1.0"), io.StringIO()
    record.switches = [("1.0.0", "blue")]
    record.good = ["1.0.0"]

    with pytest.raises(LockLostError):
        ship(target, record, "1.1.0", out)

    assert record.commands_at_loss is not None
    assert len(host.commands) == record.commands_at_loss  # no stop, no switch back, no cleanup
    assert record.finished == []
    assert "stopped without touching anything more" in out.getvalue()


def test_a_failure_after_the_lock_was_lost_cleans_up_nothing():
    """The slot the failed run started may be the new holder's by now: it is neither stopped nor
    followed by a restart of the warm color, and the original signal still ends the command."""
    host = RecordingHost()
    target = make_target(host)
    ship(target, Remembering(), "1.0.0")
    record, out = LosesLockDuringHealthGate(host), io.StringIO()
    record.switches = [("1.0.0", "blue")]

    with pytest.raises(Terminated):
        ship(target, record, "1.1.0", out)

    assert record.commands_at_loss is not None
    assert len(host.commands) == record.commands_at_loss  # no stop of green, no restore
    assert target.runtime.status(host, target.slot("green")).version == "1.1.0"
    assert record.finished == []
    assert "stopped without touching anything more" in out.getvalue()


def test_a_fencing_check_that_fails_after_a_failure_neither_hides_it_nor_skips_the_clean_up():
    host = RecordingHost()
    target = make_target(host)
    ship(target, Remembering(), "1.0.0")
    record = StoreGoneDuringHealthGate()
    record.switches = [("1.0.0", "blue")]

    with pytest.raises(DeploymentError, match="the gate broke"):
        ship(target, record, "1.1.0")

    assert not target.runtime.status(host, target.slot("green")).running  # the new slot was cleaned up
    assert inspect(target).version == "1.0.0"
