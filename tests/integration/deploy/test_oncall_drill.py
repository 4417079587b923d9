"""The 3 a.m. drill, end to end on real nginx and real processes, driven only through the CLI as the
runbook tells a person to: a bad version (wrong prices, HTTP 200) is live; confirm it with a real
request; roll back; read status; a later deploy is killed and leaves its lock behind; recover with one
command (steal the dead holder's lock, cold rollback once the warm window is over); status at the end.
After every step, status must never offer a bad or unverified version as the safe rollback target."""

from __future__ import annotations

import json
import os
import pwd
import socket
import time
from pathlib import Path

import pytest
from deploy_harness import get, live_version, wait_for_line

pytestmark = pytest.mark.integration

WRONG_PRICES = "self._send_json(200, {'sku': 'widget', 'quantity': 2, 'total': '0.02'})\nreturn"
WARM_SECONDS = 10
# $USER and $LOGNAME lie: the records must name the account the process runs as.
LIAR = {"USER": "dana", "LOGNAME": "dana"}


def _status(project) -> tuple[int, dict]:
    result = project.cicd("status", "--env", "production", "--json", extra_env=LIAR)
    assert result.returncode in (0, 3, 4), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def _assert_safe_target(state: dict, bad: set[str]) -> None:
    """Status offers only a known-good version other than the live one, and never a bad one."""
    target = state["rollback_target"]
    if target is not None:
        assert target["version"] not in bad, state
        assert target["version"] != state["current_version"], state
    if state["warm_version"] in bad:
        assert state["warm_role"] != "rollback target", state


def _assert_documented(state: dict) -> None:
    """Every field status prints is explained in the runbook's "What status says"."""
    runbook = (Path(__file__).resolve().parents[3] / "docs" / "RUNBOOKS.md").read_text()
    documented = runbook[runbook.index("## What status says") :].split("\n## ", 1)[0]
    fields = set(state) | set(state["lock"] or {}) | {key for row in state["hosts"] for key in row}
    missing = sorted(key for key in fields if f"`{key}`" not in documented)
    assert not missing, f"status fields not in docs/RUNBOOKS.md: {missing}"


def _quote_total(project) -> str:
    status, body = get(project.url("production", "/api/quote?sku=widget&quantity=2"))
    assert status == 200, body
    return json.loads(body)["total"]



def test_oncall_drill_bad_version_rollback_killed_deploy_stale_lock_cold_rollback(project):
    env = project.add_env("production", warm_seconds=WARM_SECONDS, lock_ttl_seconds=60)
    env["type"] = "production"
    project.write_env(env)
    for version in ("1.0.0", "2.0.0"):
        project.must_deploy("production", version)
    good_total = _quote_total(project)
    wrong = project.artifact("wrong-prices", patch=WRONG_PRICES)
    project.must_deploy("production", "2.1.0", "--artifact", str(wrong))

    # 1. status says healthy: "up" is not "correct"; a real request shows the damage
    code, state = _status(project)
    assert code == 0 and state["health"] == "healthy" and state["current_version"] == "2.1.0"
    assert _quote_total(project) != good_total

    # 2. one command restores service; a reason with `;` is fine in a rollback
    rollback = project.cicd(
        "rollback", "--env", "production", "--reason", "wrong prices; ticket 42", extra_env=LIAR
    )
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert "warm" in rollback.stdout and live_version(project, "production") == "2.0.0"
    assert _quote_total(project) == good_total

    # 3. status after the rollback: 2.1.0 is warm but "rolled back from", never the target
    code, state = _status(project)
    assert code == 0 and state["current_version"] == "2.0.0" and state["known_good"]
    assert state["warm_version"] == "2.1.0" and state["warm_role"] == "rolled back from"
    assert state["previous_version"] == "2.1.0" and state["deployed_how"] == "rollback, succeeded"
    assert state["verification"]["phase"] == "Successful"
    _assert_safe_target(state, {"2.1.0"})
    text = project.cicd("status", "--env", "production").stdout
    assert "instant rollback" not in text and "--to 2.1.0" in text

    # 4. a deploy of 2.2.0 is killed after its switch, before verification: its lock stays behind
    proc = project.popen(
        "deploy", "--env", "production", "--version", "2.2.0",
        extra_env={"CICD_TEST_PAUSE_AT": "verify", "CICD_TEST_PAUSE_SECONDS": "120"},
    )  # fmt: skip
    wait_for_line(proc, "paused before verify")
    warm_started = time.monotonic()
    proc.kill()
    proc.wait()
    code, state = _status(project)
    assert state["current_version"] == "2.2.0" and not state["known_good"]
    assert state["verification"] is None  # never verified
    assert state["deployed_how"] == "deploy, running" and state["previous_version"] == "2.0.0"
    lock = state["lock"]
    assert state["locked"] and lock["pid"] == proc.pid and lock["host"] == socket.gethostname()
    assert lock["process_alive"] is False and lock["expires_at"] and lock["heartbeat_age_seconds"] >= 0
    assert state["rollback_target"] == {
        "version": "2.0.0", "how": "warm", "command": "cicd rollback --env production",
    }  # fmt: skip
    _assert_safe_target(state, {"2.1.0", "2.2.0"})
    _assert_documented(state)
    text = project.cicd("status", "--env", "production").stdout
    assert f"pid {proc.pid}" in text and "process GONE" in text and "--steal-stale-lock" in text
    # a plain rollback is refused in one line that says what the dead run was doing and the one command
    refused = project.cicd("rollback", "--env", "production", "--reason", "page 7")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "reason: deploy 2.2.0" in refused.stderr and f"its process {proc.pid} is gone" in refused.stderr
    assert "--steal-stale-lock" in refused.stderr and live_version(project, "production") == "2.2.0"

    # 5. the warm window runs out while nobody looks: the recovery is a cold rollback, still one command
    time.sleep(max(0.0, warm_started + WARM_SECONDS + 0.5 - time.monotonic()))
    code, state = _status(project)
    assert state["warm_version"] is None and state["rollback_target"]["how"] == "cold"
    _assert_safe_target(state, {"2.1.0", "2.2.0"})
    started = time.monotonic()
    recover = project.cicd(
        "rollback", "--env", "production", "--steal-stale-lock", "--reason", "deploy runner killed",
        extra_env=LIAR, timeout=90,
    )  # fmt: skip
    assert recover.returncode == 0, recover.stdout + recover.stderr
    assert time.monotonic() - started < 60
    assert "stole the lock" in recover.stdout and " health " in recover.stdout
    assert "2.0.0 stays known good" in recover.stdout  # never "not marked known good" on the way back
    assert live_version(project, "production") == "2.0.0" and _quote_total(project) == good_total

    # 6. the end state tells the truth, and the records name the account, not $USER
    code, state = _status(project)
    assert code == 0 and state["locked"] is False and state["current_version"] == "2.0.0"
    assert state["warm_version"] == "2.2.0" and state["warm_role"] != "rollback target"
    assert state["previous_version"] == "2.2.0"  # what was live before, though its deploy was killed
    _assert_safe_target(state, {"2.1.0", "2.2.0"})
    account = f"{pwd.getpwuid(os.geteuid()).pw_name}@{socket.gethostname()}"
    assert state["deployed_by"] == account
    ledger = project.cicd("audit", "show", "--env", "production", "--json", "--limit", "500").stdout
    entries = [json.loads(line) for line in ledger.splitlines()]
    steal = next(e for e in entries if e["action"] == "lock.steal")
    assert steal["actor"] == account and steal["identity"]["kind"] == "local"
    assert steal["details"]["previous_holder"]["pid"] == proc.pid
    assert all(e["actor"] != "dana" and not str(e["actor"]).startswith("dana@") for e in entries)
    history = json.loads(project.cicd("history", "--env", "production", "--json").stdout)
    assert [d["status"] for d in history if d["version"] == "2.2.0"] == ["interrupted"]

    # 7. the router dies: status says down and exits non-zero
    nginx_pid = project.root / ".cicd" / "nginx" / "production" / "nginx.pid"
    os.kill(int(nginx_pid.read_text().strip()), 15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        code, state = _status(project)
        if code:
            break
        time.sleep(0.2)
    assert (code, state["health"]) == (4, "down"), state
    assert not any(row["router_healthy"] for row in state["hosts"])
