"""The rules an on-call engineer relies on, one by one: only a Successful verification makes a release
known good; Inconclusive follows on_inconclusive; a quiet window is topped up with active probes;
rollback targets are known good and never the version rolled back from; status renders that truth; the
lock holder's liveness is read from /proc; the identity comes from the process, not from $USER."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from cicd import identity
from cicd.checks.http import ProbeResult
from cicd.checks.verdict import Phase
from cicd.checks.verify import verify
from cicd.config.deploy import HealthCheck, Verification
from cicd.deploy import decision
from cicd.deploy.gates import GateResult
from cicd.deploy.lockholder import holder_alive, parse_boot_time, parse_start_ticks
from cicd.deploy.orchestrator import Live
from cicd.deploy.rollback import default_target
from cicd.deploy.runner import RunState
from cicd.deploy.status import _warm_role, render_status
from cicd.errors import HealthCheckError, VerificationPaused


# --- decision: what a verdict does --------------------------------------------------------------
@dataclass
class Traffic:
    split: bool = False


@dataclass
class Recorded:
    """The runner's surface decision.py uses, recording what it was asked to do."""

    policy: str
    split: bool = False
    previous: str | None = "1.0.0"
    switched_back: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run = RunState("2.0.0", "blue" if self.previous else None, self.previous)
        self.target = SimpleNamespace(
            environment="production",
            on_inconclusive=self.policy,
            primary="host",
            router=SimpleNamespace(read=lambda host: Traffic(self.split)),
            read_warm=lambda host: {"until": 4102444800.0},
            settings=SimpleNamespace(verification=SimpleNamespace(disable_flag=None)),
        )
        self.out = SimpleNamespace(line=self.lines.append)
        self.known_good: list[str] = []
        self.record = SimpleNamespace(
            mark_known_good=self.marked.append, known_good_versions=lambda: self.known_good
        )

    def switch_back(self, color: str) -> None:
        self.switched_back.append(color)
        self.run.rolled_back = self.previous is not None


def verdict(phase: str, ok: bool = True) -> GateResult:
    return GateResult(ok, f"{phase}: only 4 request(s) in 1.5 s, need 10 to judge", phase=phase)


def test_successful_passes_and_only_successful_marks_known_good() -> None:
    runner: Any = Recorded("pause")
    assert decision.decide(runner, "green", verdict("Successful")).startswith("Successful")
    assert "not marked known good: nothing verified" in decision.mark_known_good(runner, "2.0.0")
    runner.known_good = ["2.0.0"]  # a cold rollback to a known-good release runs no verification
    assert decision.mark_known_good(runner, "2.0.0").startswith("2.0.0 stays known good")
    runner.known_good = []
    runner.run.verification = verdict("Inconclusive")
    assert "verification was Inconclusive" in decision.mark_known_good(runner, "2.0.0")
    runner.run.verification = verdict("Successful")
    assert decision.mark_known_good(runner, "2.0.0") == "2.0.0 is the last known good release"
    assert runner.marked == ["2.0.0"]


def test_failed_switches_back_and_says_where_to() -> None:
    runner: Any = Recorded("keep")
    with pytest.raises(HealthCheckError, match=r"verification failed: .*rolled back to 1\.0\.0 \(blue\)"):
        decision.decide(runner, "green", verdict("Failed", ok=False))
    assert runner.switched_back == ["green"]


def test_inconclusive_keep_stays_live_unverified() -> None:
    runner: Any = Recorded("keep")
    message = decision.decide(runner, "green", verdict("Inconclusive"))
    assert "2.0.0 stays live unverified (never marked known good)" in message
    assert runner.switched_back == []


def test_inconclusive_rollback_switches_back() -> None:
    runner: Any = Recorded("rollback")
    with pytest.raises(HealthCheckError, match=r"verification inconclusive: .*rolled back to 1\.0\.0"):
        decision.decide(runner, "green", verdict("Inconclusive"))
    assert runner.switched_back == ["green"]


def test_inconclusive_pause_leaves_both_colors_up_and_prints_the_two_commands() -> None:
    runner: Any = Recorded("pause")
    with pytest.raises(VerificationPaused) as raised:
        decision.decide(runner, "green", verdict("Inconclusive"))
    assert raised.value.exit_code == 5 and runner.switched_back == []
    printed = "\n".join(runner.lines)
    assert "cicd accept --env production --version 2.0.0 --reason TEXT" in printed
    assert "cicd rollback --env production --to 1.0.0 --reason TEXT (instant until" in printed


def test_pause_during_a_canary_split_aborts_instead() -> None:
    runner: Any = Recorded("pause", split=True)
    with pytest.raises(HealthCheckError, match="verification inconclusive"):
        decision.decide(runner, "green", verdict("Inconclusive"))
    assert runner.switched_back == ["green"]


def test_a_first_deploy_with_nothing_to_go_back_to_says_so() -> None:
    runner: Any = Recorded("rollback", previous=None)
    with pytest.raises(HealthCheckError, match=r"no earlier version to switch back to: 2\.0\.0 stays live"):
        decision.decide(runner, "blue", verdict("Inconclusive"))


# --- verification: a quiet window is topped up with active probes ---------------------------------
def _prober(status: int | None):
    calls: list[str] = []

    def probe(url: str, **_: Any) -> ProbeResult:
        calls.append(url)
        return ProbeResult(url, status, 1.0, None if status else "connection refused")

    return probe, calls


def test_too_little_traffic_is_topped_up_with_probes_until_min_samples() -> None:
    prober, calls = _prober(200)
    settings = Verification(window_seconds=0.2, interval_seconds=0.1, min_samples=10)
    result = verify("http://127.0.0.1:1", settings, HealthCheck(), log=None, upstreams=None,
                    baseline=None, prober=prober)  # fmt: skip
    assert result.phase is Phase.SUCCESSFUL and result.cumulative.requests >= 10 and len(calls) >= 10


def test_top_up_probes_can_still_fail_the_version() -> None:
    prober, _ = _prober(None)
    settings = Verification(window_seconds=0.1, interval_seconds=0.1, min_samples=10, max_probe_failures=3)
    result = verify("http://127.0.0.1:1", settings, HealthCheck(), log=None, upstreams=None,
                    baseline=None, prober=prober)  # fmt: skip
    assert result.phase is Phase.FAILED and "health probe failed 3 times" in result.reason


# --- rollback targets and status ------------------------------------------------------------------
class Releases:
    def __init__(self, good: list[str]):
        self.good = good

    def known_good_versions(self) -> list[str]:
        return self.good


def live(version: str, warm: str | None) -> Live:
    return Live(None, "green", version, "blue" if warm else None, warm, 1.0 if warm else None)


def test_rollback_target_is_known_good_and_never_the_version_rolled_back_from() -> None:
    record: Any = Releases(["2.0.0", "1.0.0"])
    assert default_target(live("2.1.0", "2.0.0"), record) == ("2.0.0", "warm")
    # after the rollback 2.1.0 is warm but no longer known good: the default goes further back, cold
    assert default_target(live("2.0.0", "2.1.0"), record) == ("1.0.0", "cold")
    assert default_target(live("1.0.0", None), Releases(["1.0.0"])) == (None, "")  # type: ignore[arg-type]


def row(kind: str, version: str, previous: str | None, status: str = "succeeded") -> Any:
    return SimpleNamespace(kind=kind, version=version, previous_version=previous, status=status)


def test_warm_role_after_a_rollback_is_rolled_back_from() -> None:
    rows = [row("rollback", "2.0.0", "2.1.0"), row("deploy", "2.1.0", "2.0.0")]
    assert _warm_role(live("2.0.0", "2.1.0"), ["2.0.0"], rows) == "rolled back from"
    assert _warm_role(live("2.1.0", "2.0.0"), ["2.0.0"], rows[1:]) == "rollback target"
    killed = [row("deploy", "2.2.0", "2.1.0", "interrupted")]
    assert _warm_role(live("2.2.0", "2.1.0"), ["2.0.0"], killed) == "not known good"


def _state(**overrides: Any) -> dict[str, Any]:
    state = {
        "environment": "production", "health": "healthy", "exit_code": 0, "current_version": "2.0.0",
        "live_color": "green", "traffic": "all traffic to green", "url": None, "known_good": True,
        "record_in_sync": True, "previous_version": "2.1.0", "deployed_at": "2026-11-30T03:00:00.000Z",
        "deployed_by": "root@vm", "deployed_how": "rollback, succeeded",
        "verification": {"phase": "Successful", "summary": "Successful: error rate 0.0 %"},
        "warm_color": "blue", "warm_version": "2.1.0", "warm_until": "2026-11-30T03:15:00+00:00",
        "warm_role": "rolled back from", "rollback_target": None, "last_known_good": "2.0.0",
        "locked": False, "lock": None, "lock_holder": None, "hosts": [],
    }  # fmt: skip
    return {**state, **overrides}


def test_status_text_after_a_rollback_offers_no_instant_rollback_to_the_bad_version() -> None:
    text = render_status(_state())
    assert "instant rollback" not in text
    assert "rolled back from, never a default rollback target" in text
    assert "cicd rollback --env production --to 2.1.0" in text
    assert "verified  Successful, known good (error rate 0.0 %)" in text
    assert "no known-good release to go back to" in text


def test_status_text_names_the_lock_holder_and_how_to_recover() -> None:
    lock = {
        "actor": "ci-bot", "host": "runner-7", "pid": 4242, "run_id": "99", "purpose": "deploy",
        "reason": "deploy 2.2.0", "acquired_at": "2026-11-30T03:00:00.000Z", "heartbeat_age_seconds": 8.0,
        "ttl_seconds": 60.0, "expires_at": "2026-11-30T03:01:00+00:00", "stale": False,
        "process_alive": None,
    }  # fmt: skip
    text = render_status(_state(locked=True, lock=lock))
    assert "pid 4242, on runner-7, run 99" in text and "heartbeat 8s ago" in text
    assert "expires 2026-11-30T03:01:00+00:00" in text and "cannot tell from here" in text
    assert "ps -p 4242` on runner-7" in text
    text = render_status(_state(locked=True, lock={**lock, "process_alive": False}))
    assert "process GONE" in text and "--steal-stale-lock --reason TEXT" in text


# --- the lock holder's liveness -------------------------------------------------------------------
def _lock(pid: int | None, acquired: float, host: str | None = None) -> Any:
    stamp = datetime.fromtimestamp(acquired, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return SimpleNamespace(pid=pid, host=host or socket.gethostname(), acquired_at=stamp)


def test_holder_alive_reads_proc_and_sees_a_reused_pid() -> None:
    import time

    assert holder_alive(_lock(os.getpid(), time.time())) is True
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert holder_alive(_lock(dead.pid, time.time())) is False
    # our pid, but the lock is older than this process: someone else's pid, now reused
    assert holder_alive(_lock(os.getpid(), time.time() - 10 * 86400)) is False
    assert holder_alive(_lock(os.getpid(), time.time(), host="another-machine")) is None
    assert holder_alive(_lock(None, time.time())) is None


def test_proc_parsers_on_recorded_text() -> None:
    stat = "4242 (python3 -m (x)) S 1 4242 4242 0 -1 4194560 " + " ".join(["0"] * 12) + " 987654 0"
    assert parse_start_ticks(stat) == 987654
    assert parse_boot_time("cpu  1 2 3\nbtime 1764460000\nprocesses 9\n") == 1764460000.0


# --- identity ---------------------------------------------------------------------------------------
def test_local_identity_is_the_process_account_not_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("USER", "dana")
    monkeypatch.setenv("LOGNAME", "dana")
    me = identity.current()
    assert me.kind == "local" and me.name == f"{pwd.getpwuid(os.geteuid()).pw_name}@{socket.gethostname()}"
    assert me.describe().endswith("(local account)")


def test_actions_identity_is_the_github_actor_run_and_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    monkeypatch.setenv("GITHUB_WORKFLOW", "Rollback")
    me = identity.current()
    assert (me.kind, me.name, me.run_id, me.workflow) == ("github-actions", "octocat", "42.2", "Rollback")
    assert me.describe() == "octocat (GitHub Actions run 42.2, workflow Rollback)"
    monkeypatch.delenv("GITHUB_ACTIONS")  # GITHUB_ACTOR alone (a laptop) is not GitHub's word
    assert identity.current().kind == "local"


def test_the_deploy_record_does_not_import_the_cli() -> None:
    import ast
    from pathlib import Path

    import cicd.deploy.record as record

    tree = ast.parse(Path(record.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name and name.startswith("cicd.cli") for name in imported)


# --- --steal-stale-lock: only a provably dead holder --------------------------------------------------
class LockRecord:
    def __init__(self, lock: Any):
        self.lock = lock
        self.stolen: list[tuple[Any, str, str]] = []

    def lock_holder(self) -> Any:
        return self.lock

    def steal_lock(self, holder: Any, *, reason: str, proof: str) -> None:
        self.stolen.append((holder, reason, proof))


def _held(pid: int | None, *, host: str | None = None, ttl: float | None = 60.0, stale: bool = False) -> Any:
    import time

    lock = _lock(pid, time.time() - 1, host)
    facts = {"actor": "ci-bot", "ttl_seconds": ttl, "stale": stale, "heartbeat_age_seconds": 3.0}
    return SimpleNamespace(**vars(lock), **facts, describe=lambda: f"ci-bot (pid {pid})")


def test_steal_takes_only_the_lock_of_a_dead_holder() -> None:
    from cicd.deploy.lockholder import steal_if_dead
    from cicd.errors import ConcurrencyError

    assert steal_if_dead(LockRecord(None), "production", "r") == "production was not locked"
    stale = LockRecord(_held(4242, host="runner-7", stale=True))
    assert "past its TTL" in steal_if_dead(stale, "production", "r") and stale.stolen == []

    dead = subprocess.Popen(["true"])
    dead.wait()
    record = LockRecord(_held(dead.pid))
    assert "stole the lock" in steal_if_dead(record, "production", "runner killed")
    proof = f"pid {dead.pid} is not running on {socket.gethostname()}"
    assert record.stolen[0][1:] == ("runner killed", proof)

    for lock, why in (
        (_held(os.getpid()), "is still running"),
        (_held(4242, host="runner-7"), "cannot check pid 4242"),
        (_held(None, ttl=None), "manual hold"),
    ):
        record = LockRecord(lock)
        with pytest.raises(ConcurrencyError, match=why):
            steal_if_dead(record, "production", "r")
        assert record.stolen == []
