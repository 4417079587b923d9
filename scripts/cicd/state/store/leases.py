"""Leases: short named locks beside the environment lock, for changes that must not interleave with
each other yet must not wait for a deploy (a flag change: the kill switch works during a deploy).

A lease has no heartbeat: its holder keeps it for one short read-change-write (seconds) and releases
it. One left behind by a killed process expires after its TTL, and the next acquire takes it over.
The table is created by the first acquire, so databases made before leases existed need no migration.
"""

from __future__ import annotations

import uuid

from .db import StoreFailure, Tx, iso

_TABLE = """CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, token TEXT NOT NULL, actor TEXT NOT NULL, host TEXT, pid INTEGER,
    reason TEXT NOT NULL, acquired_at REAL NOT NULL, ttl_seconds REAL NOT NULL)"""


class LeaseHeld(StoreFailure):
    kind = "lease_held"


def _view(tx: Tx, row) -> dict:
    return {
        "name": row["name"],
        "actor": row["actor"],
        "host": row["host"],
        "pid": row["pid"],
        "reason": row["reason"],
        "acquired_at": iso(row["acquired_at"]),
        "held_seconds": round(tx.now - row["acquired_at"], 3),
        "ttl_seconds": row["ttl_seconds"],
    }


def acquire(tx: Tx, name: str, owner: dict, reason: str, ttl_seconds: float) -> dict:
    """Take lease `name`, or raise LeaseHeld naming its holder; an expired lease is taken over."""
    tx.execute(_TABLE)
    row = tx.one("SELECT * FROM leases WHERE name = ?", (name,))
    expired = None
    if row is not None:
        if tx.now - row["acquired_at"] <= row["ttl_seconds"]:
            held = _view(tx, row)
            raise LeaseHeld(
                f"the {name} lease is held by {held['actor']} (pid {held['pid']} on {held['host']}, "
                f"{held['held_seconds']:.1f}s, expires after {held['ttl_seconds']:g}s): {held['reason']}"
            )
        expired = _view(tx, row)
    token = uuid.uuid4().hex
    tx.execute(
        "INSERT OR REPLACE INTO leases (name, token, actor, host, pid, reason, acquired_at, ttl_seconds)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (name, token, owner["actor"], owner.get("host"), owner.get("pid"), reason, tx.now, ttl_seconds),
    )
    return {"token": token, "expired": expired}


def release(tx: Tx, name: str, token: str) -> bool:
    """Release lease `name` if `token` still holds it (False: it expired and was taken over)."""
    tx.execute(_TABLE)
    return bool(tx.execute("DELETE FROM leases WHERE name = ? AND token = ?", (name, token)).rowcount)
