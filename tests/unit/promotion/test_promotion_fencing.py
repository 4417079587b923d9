"""A promotion moves traffic only while it holds the environment's lock (the fencing check)."""

from __future__ import annotations

import pytest
from test_promotion_machine import state

from cicd.promotion import advance
from cicd.state.client import LockLostError


class LostLock:
    def check(self) -> None:
        raise LockLostError("the lock of production was taken over", None)


class Untouchable:
    def __getattr__(self, name: str):
        raise AssertionError(f"the target was used ({name}) after the lock was lost")


def test_no_traffic_moves_once_the_lock_is_lost() -> None:
    with pytest.raises(LockLostError):
        advance._switch(Untouchable(), LostLock(), state(), 50)  # type: ignore[arg-type]
