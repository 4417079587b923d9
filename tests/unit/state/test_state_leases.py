"""Leases (state/store/leases.py): a second holder waits or is refused naming the first, the deploy lock
is independent of them, and a lease left by a killed holder expires after its TTL."""

from __future__ import annotations

import time

import pytest
from state_helpers import owner

from cicd.state import LockHeldError, StateStore


def lease(store: StateStore, who: str, reason: str, *, ttl: float = 30, wait: float = 0, name: str = "flags"):
    return store.leased(name, owner(who), reason, ttl_seconds=ttl, wait_seconds=wait)


def test_a_lease_refuses_a_second_holder_until_released_and_ignores_the_deploy_lock(
    any_store: StateStore,
) -> None:
    any_store.acquire_lock(owner("deployer"), 30, "deploy 1.2.0")  # a deploy under way does not matter
    with lease(any_store, "alice", "flag.set quote-v2"):
        with pytest.raises(LockHeldError) as caught, lease(any_store, "bob", "flag.disable quote-v2"):
            pass
        message = str(caught.value)
        assert "flags lease is held by alice" in message and "flag.set quote-v2" in message
        with lease(any_store, "bob", "another name", name="other"):
            pass  # leases are per name
    with lease(any_store, "bob", "flag.disable quote-v2") as took:
        assert took == {}


def test_an_expired_lease_is_taken_over_and_its_late_release_changes_nothing(any_store: StateStore) -> None:
    held = lease(any_store, "killed", "flag.set quote-v2", ttl=0.2)
    held.__enter__()  # never left: its process was killed mid-change
    time.sleep(0.3)
    with lease(any_store, "bob", "flag.disable quote-v2", wait=2) as took:
        assert took["actor"] == "killed"
        held.__exit__(None, None, None)  # the killed holder's release no longer owns it
        with pytest.raises(LockHeldError), lease(any_store, "carol", "third"):
            pass
