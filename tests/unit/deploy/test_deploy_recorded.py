"""The orchestrator, runner and rollback against a recording Host (tests/support/recording_host.py):
the real process runtime and HAProxy router, a modelled machine; the tests read what was asked of it."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from cicd.deploy.orchestrator import DeployRequest, deploy, inspect
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.rollback import rollback
from cicd.deploy.runner import Runner, RunState
from cicd.deploy.target import Target
from cicd.errors import HealthCheckError

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # tests.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.support.recording_host import RecordingHost, make_target  # noqa: E402


class Known(Record):
    """Remembers known-good versions and phases, as the state store would."""

    def __init__(self) -> None:
        self.good: list[str] = []
        self.phases: list[tuple[str, str, str]] = []

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        self.phases.append((name, status, detail))

    def mark_known_good(self, version: str) -> None:
        self.good.append(version)

    def known_good_versions(self) -> list[str]:
        return list(self.good)



@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


def drains(host: RecordingHost, color: str) -> list[int]:
    """Indexes of the router's drain loops for `color` (python3 -c DRAIN_SCRIPT socket timeout servers)."""
    loops = enumerate(host.commands)
    return [i for i, argv in loops if argv[0] == "python3" and argv[-1] == f"preview/{color}"]


def ship(target: Target, record: Record, version: str) -> str:
    out = io.StringIO()
    deploy(target, record, DeployRequest(version, "tester"), Reporter(out), dry_run=False)
    return out.getvalue()


def test_a_switch_sets_weights_then_drains_the_color_it_left(host):
    target, record = make_target(host), Known()
    ship(target, record, "1.0.0")
    host.in_flight["blue"] = [2, 1]  # two long requests still on blue when the switch happens
    host.commands.clear()

    output = ship(target, record, "1.1.0")

    gain = host.commands_with("set weight live/green 100")[0]
    drain = drains(host, "blue")
    assert host.weights[("live", "green")] == 100 and host.weights[("live", "blue")] == 0
    assert drain and drain[0] > gain and host.in_flight["blue"] == []  # weights first, then drained
    assert not host.commands_with("-USR1") and not host.commands_with("cicd-haproxy")  # no restart, no reload
    assert not [argv for argv in host.commands if argv[0] == "haproxy"]  # no `haproxy -c`: weights only
    assert ("drain", "succeeded") in [(name, status) for name, status, _ in record.phases]
    assert "blue drained in" in output and inspect(target).warm_version == "1.0.0"


def test_a_switch_back_drains_the_failed_color_before_stopping_it(host):
    target, record = make_target(host), Known()
    for version in ("1.0.0", "1.1.0"):
        ship(target, record, version)
    green_pid = int(host.files[target.runtime._run_file(host, target.slot("green"), "pid")])
    host.in_flight["green"] = [1, 1, 1]
    host.commands.clear()

    run = RunState("1.1.0", "blue", "1.0.0")
    Runner(target, record, Reporter(io.StringIO()), run).switch_back("green")

    back = host.commands_with("set weight live/blue 100")[0]
    drain = drains(host, "green")[0]
    stop = host.commands_with("kill", "-TERM", f"-{green_pid}")[0]
    assert back < drain < stop and host.in_flight["green"] == []  # switch, drain to the end, then stop
    assert run.figures["drain_in_flight"] == 0 and run.rolled_back
    assert green_pid not in host.alive


def test_a_failed_deploy_starts_the_displaced_warm_version_again(host):
    target, record = make_target(host), Known()
    for version in ("1.0.0", "1.1.0"):
        ship(target, record, version)
    host.broken_versions.add("2.0.0")

    with pytest.raises(HealthCheckError, match="health gate"):
        ship(target, record, "2.0.0")

    live = inspect(target)
    assert (live.version, live.warm_color, live.warm_version) == ("1.1.0", "blue", "1.0.0")
    assert host.weights[("live", "green")] == 100  # traffic never moved


def test_a_warm_rollback_is_one_switch_and_no_start(host):
    target, record = make_target(host), Known()
    for version in ("1.0.0", "1.1.0"):
        ship(target, record, version)
    host.commands.clear()

    out = Reporter(io.StringIO())
    outcome = rollback(target, record, to="1.0.0", reason="bad numbers", actor="tester", out=out)

    assert outcome.status == "succeeded" and (outcome.live_color, outcome.live_version) == ("blue", "1.0.0")
    assert not host.commands_with("cicd-start")  # nothing restarted: the warm color just takes traffic
    assert host.weights[("live", "blue")] == 100 and host.weights[("live", "green")] == 0
    assert inspect(target).warm_version == "1.1.0"  # the version rolled away from stays warm in turn
