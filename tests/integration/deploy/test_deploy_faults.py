"""Faults with live traffic on real nginx: a deploy that loses its lock (forced away, or stopped past its
TTL and taken over) never acts again; kills right after a switch leave a state that rollback reads
right; a state database that is deleted, truncated, corrupted, read-only or on a full disk is reported
in one line and never costs a request."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest
from deploy_harness import last_line, live_version, wait_for_line

from load import Load

pytestmark = pytest.mark.integration
QUOTE = "/api/quote?sku=widget&quantity=2"



def _paused(project, version: str, phase: str, seconds: float = 60) -> subprocess.Popen:
    extra = {"CICD_TEST_PAUSE_AT": phase, "CICD_TEST_PAUSE_SECONDS": str(seconds)}
    proc = project.popen("deploy", "--env", "staging", "--version", version, extra_env=extra)
    wait_for_line(proc, f"paused before {phase}")
    return proc


def _ledger(project) -> list[dict]:
    shown = project.cicd("audit", "show", "--env", "staging", "--limit", "500", "--json")
    return [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]


def _history(project) -> list[dict]:
    return json.loads(project.cicd("history", "--env", "staging", "--json").stdout)


def _assert_loser_stopped(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode not in (0, None), out + err
    assert "no longer holds the lock" in out + err and "without touching anything more" in out, out + err
    return out + err


def test_lock_forced_away_during_verify_the_loser_never_acts_again(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    load = Load(project.url("staging", QUOTE), workers=3, seconds=60).start()
    loser = _paused(project, "2.0.0", "verify", seconds=4)  # 2.0.0 is live, 1.0.0 warm
    forced = project.cicd("unlock", "--env", "staging", "--force", "--reason", "stuck deploy")
    assert forced.returncode == 0, forced.stderr
    winner = project.deploy("staging", "3.0.0", "--wait")
    _assert_loser_stopped(loser)
    result = load.stop().summary()
    assert winner.returncode == 0, winner.stdout + winner.stderr
    assert live_version(project, "staging") == "3.0.0"
    assert result["failed"] == 0, result
    statuses = {row["version"]: row["status"] for row in _history(project)}
    assert statuses["2.0.0"] == "interrupted" and statuses["3.0.0"] == "succeeded"
    actions = [entry["action"] for entry in _ledger(project)]
    assert "lock.force_release" in actions
    state = project.status("staging")
    assert state["current_version"] == "3.0.0" and state["previous_version"] == "2.0.0"


def test_a_deploy_stopped_past_its_ttl_is_taken_over_and_never_switches(project):
    project.add_env("staging")  # lock_ttl_seconds 2
    project.must_deploy("staging", "1.0.0")
    load = Load(project.url("staging", QUOTE), workers=3, seconds=60).start()
    loser = _paused(project, "4.0.0", "switch", seconds=1)  # 4.0.0 healthy in green, traffic on blue
    os.kill(loser.pid, signal.SIGSTOP)
    time.sleep(3)  # past the TTL: the heartbeat thread is stopped too
    winner = project.deploy("staging", "5.0.0", "--wait")
    os.kill(loser.pid, signal.SIGCONT)
    _assert_loser_stopped(loser)
    result = load.stop().summary()
    assert winner.returncode == 0, winner.stdout + winner.stderr
    assert "stopped 4.0.0 left in green" in winner.stdout
    assert live_version(project, "staging") == "5.0.0"
    assert result["failed"] == 0, result
    assert set(result["versions"]) <= {"1.0.0", "5.0.0"}, result["versions"]  # 4.0.0 never served
    actions = [entry["action"] for entry in _ledger(project)]
    assert "lock.recover" in actions


def test_kills_right_after_switches_then_rollback_goes_to_the_version_live_before(project):
    project.add_env("staging")
    project.must_deploy("staging", "7.1.0")
    load = Load(project.url("staging", QUOTE), workers=3, seconds=120).start()
    first = _paused(project, "7.2.0", "warm")  # right after "✓ switch"
    first.kill()
    first.wait()
    rerun = project.deploy("staging", "7.2.0", "--wait")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    second = _paused(project, "7.3.0", "warm")
    second.kill()
    second.wait()
    assert project.status("staging")["current_version"] == "7.3.0"  # written with the switch itself
    rollback = project.cicd("rollback", "--env", "staging", "--wait")
    result = load.stop().summary()
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert "stopped 7.2.0" not in rollback.stdout
    assert live_version(project, "staging") == "7.2.0"
    assert result["failed"] == 0, result
    state = project.status("staging")
    assert state["current_version"] == "7.2.0" and state["previous_version"] == "7.3.0"
    switches = [e["version"] for e in _ledger(project) if e["action"] == "traffic.switch"]
    assert switches == ["7.1.0", "7.2.0", "7.3.0", "7.2.0"], switches
    assert not [row for row in _history(project) if row["status"] == "running"]


def test_sigterm_during_a_deploy_cleans_up_and_records_the_outcome(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    proc = _paused(project, "2.0.0", "smoke")  # 2.0.0 runs in green, never live
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err, out + err
    assert not (project.root / ".cicd" / "run" / "staging" / "green.pid").exists()  # cleaned up
    row = next(row for row in _history(project) if row["version"] == "2.0.0")
    assert row["status"] == "failed" and "SIGTERM" in row["error"], row
    state = project.status("staging")
    assert live_version(project, "staging") == "1.0.0" and state["locked"] is False


def _db(project):
    return project.root / ".cicd" / "state" / "staging.db"


def test_a_deleted_truncated_or_corrupted_database_is_reported_and_repaired_from_the_router(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    project.must_deploy("staging", "1.1.0")
    head = project.cicd("audit", "verify", "--env", "staging")
    assert head.returncode == 0, head.stderr
    full_hash = head.stdout.split("head ")[-1].strip()
    assert len(full_hash) == 64
    assert project.cicd("audit", "verify", "--env", "staging", "--anchor", full_hash).returncode == 0
    wrong = project.cicd("audit", "verify", "--env", "staging", "--anchor", "f" * 64)
    assert wrong.returncode == 1 and "no entry with hash" in last_line(wrong)

    for path in _db(project).parent.glob("staging.db*"):
        path.unlink()
    deleted = project.cicd("audit", "verify", "--env", "staging")
    assert deleted.returncode == 1, deleted.stdout
    assert "deleted, truncated or replaced" in last_line(deleted)
    assert live_version(project, "staging") == "1.1.0"  # nothing served changed

    load = Load(project.url("staging", QUOTE), workers=2, seconds=60).start()
    again = project.deploy("staging", "1.2.0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "state said nothing; the router serves 1.1.0" in again.stdout
    assert "deleted, truncated or replaced" in again.stdout  # said, and recorded as a gap
    assert project.cicd("audit", "verify", "--env", "staging").returncode == 0
    assert "ledger.gap" in [entry["action"] for entry in _ledger(project)]
    state = project.status("staging")
    assert state["current_version"] == "1.2.0" and state["previous_version"] == "1.1.0"

    db = _db(project)
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    for damage in ("truncate", "corrupt"):
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\0garbage" * 512)
        status = project.cicd("status", "--env", "staging")
        history = project.cicd("history", "--env", "staging")
        for result in (status, history):
            assert result.returncode != 70, result.stderr  # never an internal error
            assert "Traceback" not in result.stderr
        assert "staging.db" in last_line(history), history.stderr
        assert live_version(project, "staging") == "1.2.0"
        db.write_bytes(data)
    assert load.stop().summary()["failed"] == 0


@pytest.fixture
def small_mount(project):
    """A 512 KiB tmpfs over the state directory (needs mount rights: root, or skipped)."""
    state_dir = project.root / ".cicd" / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(state_dir)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield state_dir
    subprocess.run(["umount", "-l", str(state_dir)], check=False)


def test_a_full_disk_or_read_only_state_directory_stops_before_anything_changes(project, small_mount):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    load = Load(project.url("staging", QUOTE), workers=2, seconds=60).start()

    filler = small_mount / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k", "count=1000"], capture_output=True)
    full = project.deploy("staging", "1.1.0")
    assert full.returncode == 1, full.stdout + full.stderr
    assert "space" in last_line(full) and "staging.db" in last_line(full), full.stderr
    assert live_version(project, "staging") == "1.0.0"
    filler.unlink()

    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    read_only = project.deploy("staging", "1.1.0")
    assert read_only.returncode == 1, read_only.stdout + read_only.stderr
    assert "read-only" in last_line(read_only) or "readonly" in last_line(read_only), read_only.stderr
    assert project.cicd("status", "--env", "staging").returncode != 70
    assert live_version(project, "staging") == "1.0.0"
    subprocess.run(["mount", "-o", "remount,rw", str(small_mount)], check=True)

    recovered = project.deploy("staging", "1.1.0")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert live_version(project, "staging") == "1.1.0"
    assert load.stop().summary()["failed"] == 0
