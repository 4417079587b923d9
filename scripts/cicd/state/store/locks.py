"""The environment lock: one row holding owner, reason, acquired and heartbeat times and a TTL.

Each acquisition gets a new generation, carried in its token: the fencing token. A write made on
behalf of a holder (`fence` in the request) runs only while that token is still the lock's, checked in
the write's own transaction, so a run whose lock was forced away or taken over cannot record anything.

A lock whose heartbeat is older than its TTL is stale: the next acquire takes it over, marks the dead
holder's unfinished deployments "interrupted" and records the recovery in the ledger. A manual hold
(`cicd lock`) has no TTL and never goes stale. Deploy locks are not audited one by one (the deploy
entries cover them); manual holds, releases by their owner, forced releases and takeovers are.
"""

from __future__ import annotations

import uuid

from . import ledger
from .db import LockHeld, LockLost, NotOwner, Tx, iso


def _row(tx: Tx):
    return tx.one("SELECT * FROM lock WHERE id = 1")


def view(tx: Tx, row, with_token: bool = False) -> dict:
    ttl = row["ttl_seconds"]
    shown = {
        "actor": row["actor"],
        "host": row["host"],
        "pid": row["pid"],
        "run_id": row["run_id"],
        "reason": row["reason"],
        "purpose": row["purpose"],
        "ttl_seconds": ttl,
        "acquired_at": iso(row["acquired_at"]),
        "heartbeat_at": iso(row["heartbeat_at"]),
        "held_seconds": round(tx.now - row["acquired_at"], 3),
        "heartbeat_age_seconds": round(tx.now - row["heartbeat_at"], 3),
        "stale": ttl is not None and tx.now - row["heartbeat_at"] > ttl,
    }
    if with_token:
        shown["token"] = row["token"]
    return shown


def acquire(tx: Tx, owner: dict, reason: str, ttl_seconds: float | None, purpose: str = "deploy") -> dict:
    row = _row(tx)
    recovered = None
    if row is not None:
        recovered = view(tx, row)
        if not recovered["stale"]:
            raise LockHeld("environment is locked", holder=recovered)
        _record_takeover(tx, owner, recovered)
    token = f"{_next_generation(tx)}.{uuid.uuid4().hex}"
    tx.execute(
        "INSERT OR REPLACE INTO lock (id, token, actor, host, pid, run_id, reason, purpose, acquired_at,"
        " heartbeat_at, ttl_seconds) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            token,
            owner["actor"],
            owner.get("host"),
            owner.get("pid"),
            owner.get("run_id"),
            reason,
            purpose,
            tx.now,
            tx.now,
            ttl_seconds,
        ),
    )
    if purpose != "deploy":
        ledger.append(
            tx,
            {
                "action": "lock.hold",
                "actor": owner["actor"],
                "run_id": owner.get("run_id"),
                "reason": reason,
                "outcome": "held",
                "details": {"ttl_seconds": ttl_seconds},
            },
        )
    acquired = view(tx, _row(tx), with_token=True)
    acquired["recovered_from"] = recovered
    return acquired


def _next_generation(tx: Tx) -> int:
    row = tx.one("SELECT value FROM meta WHERE key = 'lock_generation'")
    generation = int(row["value"]) + 1 if row else 1
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock_generation', ?)", (str(generation),))
    return generation


def check_fence(tx: Tx, token: str) -> None:
    """Refuse a write on behalf of a lock holder whose lock is gone (forced, taken over, expired)."""
    row = _row(tx)
    if row is None or row["token"] != token:
        holder = view(tx, row) if row else None
        raise LockLost("the lock is no longer held by this run (its fencing token is stale)", holder=holder)


def _record_takeover(tx: Tx, owner: dict, stale: dict) -> None:
    interrupted = interrupt_running(tx)
    ledger.append(
        tx,
        {
            "action": "lock.recover",
            "actor": owner.get("actor"),
            "run_id": owner.get("run_id"),
            "reason": f"stale lock of {stale['actor']} taken over (heartbeat "
            f"{stale['heartbeat_age_seconds']:.0f}s old, ttl {stale['ttl_seconds']:g}s)",
            "outcome": "recovered",
            "details": {"previous_holder": stale, "interrupted_deployments": interrupted},
        },
    )


def interrupt_running(tx: Tx) -> list[int]:
    """A recovered or forced lock means its deploy stopped: its unfinished deployments never finish."""
    ids = [row["id"] for row in tx.execute("SELECT id FROM deployments WHERE status = 'running'")]
    tx.execute(
        "UPDATE deployments SET status = 'interrupted', finished_at = ?, error = COALESCE(error, ?)"
        " WHERE status = 'running'",
        (tx.now, "the deploying process stopped without finishing (its lock was recovered or forced)"),
    )
    return ids


def heartbeat(tx: Tx, token: str) -> dict:
    if not tx.execute("UPDATE lock SET heartbeat_at = ? WHERE token = ?", (tx.now, token)).rowcount:
        row = _row(tx)
        raise LockLost("the lock is no longer held by this run", holder=view(tx, row) if row else None)
    return view(tx, _row(tx))


def release(tx: Tx, token: str) -> bool:
    row = _row(tx)
    if row is None or row["token"] != token:
        return False
    tx.execute("DELETE FROM lock WHERE token = ?", (token,))
    if row["purpose"] != "deploy":
        ledger.append(
            tx,
            {
                "action": "lock.release",
                "actor": row["actor"],
                "run_id": row["run_id"],
                "reason": row["reason"],
                "outcome": "released",
            },
        )
    return True


def release_owned(tx: Tx, actor: str, run_id: str | None = None, reason: str | None = None) -> dict | None:
    """`cicd unlock` without --force: only the actor who holds the lock may release it."""
    row = _row(tx)
    if row is None:
        return None
    if row["actor"] != actor:
        raise NotOwner("the lock belongs to someone else", holder=view(tx, row))
    tx.execute("DELETE FROM lock WHERE id = 1")
    ledger.append(
        tx,
        {
            "action": "lock.release",
            "actor": actor,
            "run_id": run_id,
            "reason": reason or row["reason"],
            "outcome": "released",
            "details": {"holder": view(tx, row)},
        },
    )
    return view(tx, row)


def force_release(tx: Tx, actor: str, reason: str, run_id: str | None = None) -> dict | None:
    row = _row(tx)
    if row is None:
        return None
    tx.execute("DELETE FROM lock WHERE id = 1")
    interrupted = interrupt_running(tx) if row["purpose"] == "deploy" else []
    ledger.append(
        tx,
        {
            "action": "lock.force_release",
            "actor": actor,
            "run_id": run_id,
            "reason": reason,
            "outcome": "released",
            "details": {"previous_holder": view(tx, row), "interrupted_deployments": interrupted},
        },
    )
    return view(tx, row)


def steal(tx: Tx, actor: str, reason: str, holder: dict, proof: str, run_id: str | None = None) -> dict:
    """`cicd rollback --steal-stale-lock`: release the lock of a holder the caller proved dead (its pid
    gone on its host), only if that same holder still has it; a new holder is never stolen from."""
    row = _row(tx)
    if row is None:
        return {}
    current = view(tx, row)
    same = all(current.get(key) == holder.get(key) for key in ("actor", "host", "pid", "acquired_at"))
    if not same:
        raise LockHeld("the lock changed hands meanwhile", holder=current)
    tx.execute("DELETE FROM lock WHERE id = 1")
    interrupted = interrupt_running(tx)
    ledger.append(
        tx,
        {
            "action": "lock.steal",
            "actor": actor,
            "run_id": run_id,
            "reason": reason,
            "outcome": "stolen",
            "details": {"previous_holder": current, "proof": proof, "interrupted_deployments": interrupted},
        },
    )
    return current


def info(tx: Tx) -> dict | None:
    row = _row(tx)
    return view(tx, row) if row else None
