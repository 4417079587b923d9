"""The environment lock: atomic acquire, holder named in the error, TTL staleness, heartbeat, release."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import pytest
from state_helpers import owner

from cicd.errors import ConcurrencyError
from cicd.state import LockHeldError, LockLostError, LockOwner, StateStore, open_state


def test_second_acquire_fails_naming_holder_and_how_to_release(any_store: StateStore) -> None:
    any_store.acquire_lock(owner("alice", run_id="1001"), 30, "deploy 1.2.0")

    with pytest.raises(ConcurrencyError) as caught:
        any_store.acquire_lock(owner("bob", run_id="2002"), 30, "deploy 1.3.0")

    message = str(caught.value)
    for expected in (
        "staging is locked by alice",
        "runner-1",
        "pid 4242",
        "run 1001",
        "deploy 1.2.0",
        "since 20",
        "--wait",
        "cicd unlock --env staging --force --reason",
    ):
        assert expected in message
    assert "\n" not in message
    assert caught.value.holder.actor == "alice"


def test_a_holder_gone_from_this_machine_gets_a_definite_hint(any_store: StateStore) -> None:
    """The person at 3 a.m. is told the holder is dead when /proc says so, not asked to go and check."""
    dead = subprocess.Popen(["true"])  # a pid that no longer runs (reaped below)
    dead.wait()
    here = LockOwner(actor="ci-bot", host=socket.gethostname(), pid=dead.pid, run_id=None)
    any_store.acquire_lock(here, 30, "deploy 2.2.0")
    with pytest.raises(ConcurrencyError) as caught:
        any_store.acquire_lock(owner("bob"), 30, "rollback")
    message = str(caught.value)
    assert f"its process {dead.pid} is gone from this machine" in message, message
    assert "cicd rollback --env staging --steal-stale-lock --reason TEXT" in message
    assert "if its process is gone" not in message


def test_release_frees_the_lock_and_a_second_release_reports_false(any_store: StateStore) -> None:
    lock = any_store.acquire_lock(owner(), 30, "deploy")
    assert any_store.lock_info().actor == "alice"
    assert any_store.release(lock) is True
    assert any_store.lock_info() is None
    assert any_store.release(lock) is False
    assert any_store.acquire_lock(owner("bob"), 30, "next").info.actor == "bob"


def test_stale_lock_is_taken_over_and_the_takeover_is_audited(store: StateStore) -> None:
    old = store.acquire_lock(owner("alice"), 0.2, "deploy 1")
    deployment = store.start_deployment("1.0.0", actor="alice")
    time.sleep(0.3)

    assert store.lock_info().stale
    assert store.current().locked is False
    new = store.acquire_lock(owner("bob", run_id="2002"), 30, "deploy 2")

    assert new.recovered_from.actor == "alice"
    assert store.release(old) is False  # the dead holder cannot free the new holder's lock
    assert store.lock_info().actor == "bob"
    assert store.history()[0].id == deployment and store.history()[0].status == "interrupted"
    recover = [e for e in store.audit_entries() if e.action == "lock.recover"]
    assert recover and recover[0].actor == "bob" and "stale lock of alice" in recover[0].reason
    assert recover[0].details["interrupted_deployments"] == [deployment]


def test_heartbeat_keeps_a_lock_past_its_ttl(store: StateStore) -> None:
    lock = store.acquire_lock(owner(), 1.0, "long deploy")
    for _ in range(7):  # 2.1 s in all, more than twice the TTL
        time.sleep(0.3)
        store.heartbeat(lock)
    with pytest.raises(LockHeldError):
        store.acquire_lock(owner("bob"), 30, "impatient")


def test_heartbeat_after_a_forced_release_raises_lock_lost(store: StateStore) -> None:
    lock = store.acquire_lock(owner(), 30, "deploy")
    store.force_unlock("incident: stuck deploy", actor="oncall")
    store.acquire_lock(owner("bob"), 30, "bob's deploy")

    with pytest.raises(LockLostError, match=r"no longer holds the lock on staging.*bob"):
        store.heartbeat(lock)


def test_locked_block_heartbeats_releases_and_notices_a_lost_lock(store: StateStore) -> None:
    with store.locked(owner(), ttl_seconds=1.0, reason="deploy") as held:
        time.sleep(1.5)
        assert held.beats >= 2
        assert not store.lock_info().stale
        held.check()
        store.force_unlock("taken away", actor="oncall")
        deadline = time.monotonic() + 5
        while held.lost is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LockLostError):
            held.check()
    assert store.lock_info() is None


def test_locked_block_releases_on_error(store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.locked(owner(), ttl_seconds=5, reason="deploy"):
        raise RuntimeError("boom")
    assert store.lock_info() is None


def test_wait_polls_until_the_holder_releases(store: StateStore) -> None:
    lock = store.acquire_lock(owner("alice"), 30, "short deploy")
    threading.Timer(0.4, store.release, args=(lock,)).start()
    started = time.monotonic()

    mine = store.acquire_lock(owner("bob"), 30, "waits", wait_seconds=5, poll_seconds=0.05)

    assert mine.info.actor == "bob"
    assert 0.3 < time.monotonic() - started < 3


def test_wait_gives_up_after_its_timeout(store: StateStore) -> None:
    store.acquire_lock(owner("alice"), 30, "long deploy")
    started = time.monotonic()
    with pytest.raises(LockHeldError, match=r"waited 0.5s"):
        store.acquire_lock(owner("bob"), 30, "waits", wait_seconds=0.5, poll_seconds=0.05)
    assert time.monotonic() - started < 2


def test_manual_hold_never_goes_stale_and_only_its_actor_may_unlock(store: StateStore) -> None:
    store.acquire_lock(owner("alice", pid=None), None, "incident 42 freeze", purpose="manual")
    time.sleep(0.05)
    assert store.lock_info().stale is False

    with pytest.raises(LockHeldError, match="only alice may unlock it"):
        store.unlock_own(actor="bob")
    with pytest.raises(LockHeldError, match=r"incident 42 freeze \(a manual hold\)"):
        store.acquire_lock(owner("bob"), 30, "deploy")

    released = store.unlock_own(actor="alice", reason="incident over")
    assert released.reason == "incident 42 freeze"
    actions = [(e.action, e.actor) for e in store.audit_entries()]
    assert actions == [("lock.hold", "alice"), ("lock.release", "alice")]


def test_force_unlock_is_audited_with_the_previous_holder(store: StateStore) -> None:
    store.acquire_lock(owner("alice"), 30, "deploy 1.2.0")
    released = store.force_unlock("runner died", actor="oncall")

    assert released.actor == "alice"
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.reason) == ("lock.force_release", "oncall", "runner died")
    assert entry.details["previous_holder"]["reason"] == "deploy 1.2.0"
    assert store.force_unlock("again", actor="oncall") is None


def test_environments_have_independent_locks(tmp_path) -> None:
    staging = open_state("staging", str(tmp_path / "{environment}.db"))
    production = open_state("production", str(tmp_path / "{environment}.db"))
    staging.acquire_lock(owner("alice"), 30, "staging deploy")
    assert production.acquire_lock(owner("bob"), 30, "production deploy").info.actor == "bob"


def test_two_environments_on_one_path_are_refused(tmp_path) -> None:
    path = str(tmp_path / "shared.db")
    open_state("staging", path).acquire_lock(owner(), 30, "deploy")
    with pytest.raises(Exception, match="belongs to environment 'staging', not 'production'"):
        open_state("production", path).lock_info()
