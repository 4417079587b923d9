"""Helpers shared by the state store tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cicd.state import LockOwner, StateStore


def owner(actor: str = "alice", run_id: str | None = "1001", pid: int | None = 4242) -> LockOwner:
    return LockOwner(actor=actor, host="runner-1", pid=pid, run_id=run_id)


def db_of(store: StateStore, tmp_path: Path) -> sqlite3.Connection:
    """A raw connection to the store's file, for tests that tamper with it behind the store's back."""
    path = tmp_path / "state" / f"{store.environment}.db"
    assert path.exists(), path
    return sqlite3.connect(path, isolation_level=None)
