"""Retained releases: which versions the target keeps, which one was last known good, what to prune."""

from __future__ import annotations

from . import ledger
from .db import BadRequest, Tx, iso


def _last_known_good(tx: Tx) -> str | None:
    row = tx.one(
        "SELECT version FROM releases WHERE known_good_at IS NOT NULL ORDER BY known_good_at DESC LIMIT 1"
    )
    return row["version"] if row else None


def record(tx: Tx, version: str, artifact=None, digest=None, actor=None, run_id=None) -> bool:
    tx.execute(
        "INSERT OR IGNORE INTO releases (version, artifact, digest, recorded_at) VALUES (?, ?, ?, ?)",
        (version, artifact, digest, tx.now),
    )
    tx.execute(
        "UPDATE releases SET artifact = COALESCE(?, artifact), digest = COALESCE(?, digest)"
        " WHERE version = ?",
        (artifact, digest, version),
    )
    ledger.append(
        tx,
        {
            "action": "release.record",
            "actor": actor,
            "run_id": run_id,
            "version": version,
            "digest": digest,
            "outcome": "recorded",
            "details": {"artifact": artifact},
        },
    )
    return True


def mark_good(tx: Tx, version: str, actor=None, run_id=None) -> bool:
    tx.execute("INSERT OR IGNORE INTO releases (version, recorded_at) VALUES (?, ?)", (version, tx.now))
    tx.execute("UPDATE releases SET known_good_at = ? WHERE version = ?", (tx.now, version))
    ledger.append(
        tx,
        {
            "action": "release.known_good",
            "actor": actor,
            "run_id": run_id,
            "version": version,
            "outcome": "known_good",
        },
    )
    return True


def revoke_good(tx: Tx, version: str, actor=None, run_id=None, reason=None) -> bool:
    """A version rolled back from is no longer known good: never a default rollback target again."""
    was_good = tx.execute(
        "UPDATE releases SET known_good_at = NULL WHERE version = ? AND known_good_at IS NOT NULL", (version,)
    ).rowcount
    ledger.append(
        tx,
        {
            "action": "release.rolled_back_from",
            "actor": actor,
            "run_id": run_id,
            "version": version,
            "reason": reason,
            "outcome": "not_known_good",
            "details": {"was_known_good": bool(was_good)},
        },
    )
    return bool(was_good)


def listing(tx: Tx) -> list[dict]:
    """Newest (last deployed, else recorded) first."""
    good = _last_known_good(tx)
    state = tx.one("SELECT version, previous_version FROM current WHERE id = 1")
    live, previous = (state["version"], state["previous_version"]) if state else (None, None)
    rows = tx.execute(
        "SELECT * FROM releases ORDER BY COALESCE(last_deployed_at, recorded_at) DESC, recorded_at DESC"
    )
    return [
        {
            "version": row["version"],
            "artifact": row["artifact"],
            "digest": row["digest"],
            "recorded_at": iso(row["recorded_at"]),
            "last_deployed_at": iso(row["last_deployed_at"]),
            "known_good": row["known_good_at"] is not None,
            "last_known_good": row["version"] == good,
            "live": row["version"] == live,
            "previous": previous is not None and row["version"] == previous,
        }
        for row in rows
    ]


def prune_plan(tx: Tx, keep: int, protect=()) -> list[str]:
    """Versions to remove beyond the newest `keep`: never the live, previous or last known good
    version, nor any in `protect` (e.g. the warm color's)."""
    if int(keep) < 1:
        raise BadRequest("keep at least one release")
    return select_prunable(listing(tx), int(keep), protect)


def select_prunable(listed: list[dict], keep: int, protect=()) -> list[str]:
    """The pure rule behind prune_plan, over a newest-first listing."""
    guarded = {r["version"] for r in listed if r["live"] or r["previous"] or r["last_known_good"]}
    guarded.update(version for version in protect if version)
    return [r["version"] for r in listed[keep:] if r["version"] not in guarded]


def forget(tx: Tx, version: str, actor=None, run_id=None, reason=None) -> bool:
    if version in {r["version"] for r in listing(tx) if r["live"] or r["last_known_good"]}:
        raise BadRequest(f"release {version} is live or the last known good; it cannot be removed")
    removed = tx.execute("DELETE FROM releases WHERE version = ?", (version,)).rowcount
    if removed:
        ledger.append(
            tx,
            {
                "action": "release.prune",
                "actor": actor,
                "run_id": run_id,
                "version": version,
                "reason": reason,
                "outcome": "removed",
            },
        )
    return bool(removed)
