"""The lock and the ledger under real concurrent processes sharing one SQLite file."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cicd.state import LockHeldError, LockOwner, open_state

WORKER = Path(__file__).with_name("state_worker.py")


def spawn(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen, prefix: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.strip()
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"worker never printed {prefix!r}: {proc.stderr.read()}")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "staging.db")


def test_exactly_one_of_eight_racing_processes_gets_the_lock(db: str) -> None:
    open_state("staging", db).lock_info()  # create the file first, so the race is for the lock alone
    start_at = time.time() + 2.0
    procs = [spawn("race", db, "staging", start_at) for _ in range(8)]
    results = [(proc.wait(timeout=30), proc.stdout.read(), proc.stderr.read()) for proc in procs]

    winners = [out for code, out, _ in results if code == 0]
    losers = [out for code, out, _ in results if code == 3]
    assert len(winners) == 1, results
    assert len(losers) == 7, results
    winner_pid = winners[0].split()[1]
    assert all(f"staging is locked by racer-{winner_pid}" in out and "reason: race" in out for out in losers)


def test_a_sigkilled_holder_lock_is_recovered_after_its_ttl(db: str) -> None:
    holder = spawn("hold", db, "staging", 1.0, "inf")
    pid = int(wait_for_line(holder, "held").split()[1])
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    killed_at = time.monotonic()
    store = open_state("staging", db)

    with pytest.raises(LockHeldError, match="locked by holder"):
        store.acquire_lock(LockOwner.current("next"), 30, "next deploy")
    lock = store.acquire_lock(LockOwner.current("next"), 30, "next deploy", wait_seconds=10, poll_seconds=0.1)

    assert 0.5 < time.monotonic() - killed_at < 5
    assert lock.recovered_from is not None and lock.recovered_from.pid == pid
    assert store.history()[0].status == "interrupted"
    assert [e.action for e in store.audit_entries()][-1] == "lock.recover"
    assert store.verify_audit().ok


def test_heartbeats_keep_a_long_holder_lock_well_past_its_ttl(db: str) -> None:
    holder = spawn("hold", db, "staging", 1.2, 4.0)  # holds for more than three TTLs
    wait_for_line(holder, "held")
    store = open_state("staging", db)
    refused = 0
    while holder.poll() is None:
        try:
            lock = store.acquire_lock(LockOwner.current("contender"), 30, "contender")
        except LockHeldError:
            refused += 1
            time.sleep(0.2)
            continue
        assert holder.wait(timeout=10) == 0, "took the lock while its holder was still heartbeating"
        break
    else:
        lock = store.acquire_lock(LockOwner.current("contender"), 30, "after")
    assert holder.wait(timeout=10) == 0 and "released" in holder.stdout.read()
    assert refused >= 3
    assert lock.recovered_from is None  # released cleanly by its holder, never recovered as stale


def test_concurrent_appends_keep_one_unbroken_chain(db: str) -> None:
    procs = [spawn("append", db, "staging", 25) for _ in range(6)]
    assert [proc.wait(timeout=60) for proc in procs] == [0] * 6, [p.stderr.read() for p in procs]

    report = open_state("staging", db).verify_audit()
    assert (report.ok, report.entries) == (True, 150)


def test_a_writer_killed_mid_transaction_leaves_nothing_half_written(db: str) -> None:
    store = open_state("staging", db)
    store.append_audit({"action": "note", "reason": "before"})
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO ledger (seq, body, prev_hash, hash) VALUES (2, '{}', 'x', 'y')")
            db.execute("DELETE FROM meta")
            print("in", flush=True)
            time.sleep(60)
        """), db],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout.readline().strip() == "in"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)

    started = time.monotonic()
    store.append_audit({"action": "note", "reason": "after"})
    assert time.monotonic() - started < 5  # the dead writer's database lock went with it
    report = store.verify_audit()
    assert (report.ok, report.entries) == (True, 2)
