"""Deployments (history) and the current state: what is live, since when, deployed by whom.

The ledger gets deploy.start / deploy.finish (or rollback.*) and traffic.switch entries written in the
same transaction as the row they describe, so the history and the ledger cannot disagree.
"""

from __future__ import annotations

import json

from . import ledger, locks
from .db import BadRequest, Tx, iso

# paused: verification was Inconclusive and a person decides (the version stays live, unverified)
FINAL_STATUSES = ("succeeded", "failed", "rolled_back", "aborted", "interrupted", "paused")
KINDS = ("deploy", "rollback")


def _view(row) -> dict:
    finished = row["finished_at"]
    return {
        "id": row["id"],
        "kind": row["kind"],
        "version": row["version"],
        "previous_version": row["previous_version"],
        "artifact": row["artifact"],
        "digest": row["digest"],
        "strategy": row["strategy"],
        "actor": row["actor"],
        "run_id": row["run_id"],
        "reason": row["reason"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "finished_at": iso(finished),
        "duration_seconds": round(finished - row["started_at"], 3) if finished else None,
        "phases": json.loads(row["phases"] or "[]"),
        "error": row["error"],
        "verification": json.loads(row["verification"]) if row["verification"] else None,
    }


def _deployment(tx: Tx, deployment_id: int):
    row = tx.one("SELECT * FROM deployments WHERE id = ?", (deployment_id,))
    if row is None:
        raise BadRequest(f"no deployment with id {deployment_id}")
    return row


def start(
    tx: Tx,
    kind: str,
    version: str,
    actor: str,
    run_id=None,
    reason=None,
    previous_version=None,
    artifact=None,
    digest=None,
    strategy=None,
) -> int:
    if kind not in KINDS:
        raise BadRequest(f"unknown deployment kind {kind!r}; use one of {', '.join(KINDS)}")
    cursor = tx.execute(
        "INSERT INTO deployments (kind, version, previous_version, artifact, digest, strategy, actor, run_id,"
        " reason, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        (kind, version, previous_version, artifact, digest, strategy, actor, run_id, reason, tx.now),
    )
    ledger.append(
        tx,
        {
            "action": f"{kind}.start",
            "actor": actor,
            "run_id": run_id,
            "version": version,
            "digest": digest,
            "reason": reason,
            "outcome": "started",
            "details": {
                "deployment_id": cursor.lastrowid,
                "previous_version": previous_version,
                "strategy": strategy,
                "artifact": artifact,
            },
        },
    )
    return int(cursor.lastrowid or 0)


def finish(tx: Tx, deployment_id: int, status: str, phases=None, error=None, digest=None) -> dict:
    if status not in FINAL_STATUSES:
        raise BadRequest(f"unknown deployment status {status!r}; use one of {', '.join(FINAL_STATUSES)}")
    row = _deployment(tx, deployment_id)
    tx.execute(
        "UPDATE deployments SET status = ?, finished_at = ?, phases = ?, error = ?,"
        " digest = COALESCE(?, digest) WHERE id = ?",
        (status, tx.now, json.dumps(phases or []), error, digest, deployment_id),
    )
    _fill_from_release(tx, deployment_id, row["version"])
    done = _view(_deployment(tx, deployment_id))
    timings = {p.get("name", "?"): p.get("seconds") for p in done["phases"] if isinstance(p, dict)}
    ledger.append(
        tx,
        {
            "action": f"{row['kind']}.finish",
            "actor": row["actor"],
            "run_id": row["run_id"],
            "version": row["version"],
            "digest": done["digest"],
            "reason": error or row["reason"],
            "outcome": status,
            "details": {
                "deployment_id": deployment_id,
                "duration_seconds": done["duration_seconds"],
                "timings": timings,
            },
        },
    )
    return done


def verified(tx: Tx, deployment_id: int, phase: str, summary: str) -> dict:
    """The post-switch verification's verdict (Successful, Failed, Inconclusive, Error), stored the
    moment it is known so a kill afterwards cannot lose it."""
    row = _deployment(tx, deployment_id)
    outcome = {"phase": phase, "summary": summary}
    tx.execute("UPDATE deployments SET verification = ? WHERE id = ?", (json.dumps(outcome), deployment_id))
    ledger.append(
        tx,
        {
            "action": f"{row['kind']}.verification",
            "actor": row["actor"],
            "run_id": row["run_id"],
            "version": row["version"],
            "reason": summary,
            "outcome": phase,
            "details": {"deployment_id": deployment_id},
        },
    )
    return _view(_deployment(tx, deployment_id))


def _fill_from_release(tx: Tx, deployment_id: int, version: str) -> None:
    """A deployment that did not name its artifact or digest takes them from its release record, so
    the history alone says what was deployed (promotion to production looks them up there)."""
    tx.execute(
        "UPDATE deployments SET"
        " artifact = COALESCE(artifact, (SELECT artifact FROM releases WHERE version = ?)),"
        " digest = COALESCE(digest, (SELECT digest FROM releases WHERE version = ?)) WHERE id = ?",
        (version, version, deployment_id),
    )


def set_current(
    tx: Tx,
    version: str,
    deployed_by: str,
    color=None,
    digest=None,
    artifact=None,
    run_id=None,
    deployment_id=None,
    reason=None,
) -> dict:
    """Traffic now goes to `version`; the version live before becomes previous (unless it is the same
    version again, e.g. a re-run: then previous stays what it was)."""
    old = tx.one("SELECT * FROM current WHERE id = 1")
    if old is None:
        previous = None
    else:
        previous = old["previous_version"] if old["version"] == version else old["version"]
    tx.execute(
        "INSERT OR REPLACE INTO current (id, version, previous_version, color, digest, artifact, deployed_at,"
        " deployed_by, run_id, deployment_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (version, previous, color, digest, artifact, tx.now, deployed_by, run_id, deployment_id),
    )
    if deployment_id is not None:
        tx.execute(
            "UPDATE deployments SET digest = COALESCE(digest, ?), artifact = COALESCE(artifact, ?)"
            " WHERE id = ?",
            (digest, artifact, deployment_id),
        )
    tx.execute(
        "INSERT OR IGNORE INTO releases (version, artifact, digest, recorded_at) VALUES (?, ?, ?, ?)",
        (version, artifact, digest, tx.now),
    )
    tx.execute("UPDATE releases SET last_deployed_at = ? WHERE version = ?", (tx.now, version))
    ledger.append(
        tx,
        {
            "action": "traffic.switch",
            "actor": deployed_by,
            "run_id": run_id,
            "version": version,
            "digest": digest,
            "reason": reason,
            "outcome": "live",
            "details": {"color": color, "previous_version": previous, "deployment_id": deployment_id},
        },
    )
    return current(tx)


def current(tx: Tx) -> dict:
    row = tx.one("SELECT * FROM current WHERE id = 1")
    lock = locks.info(tx)
    state = {
        "environment": tx.environment,
        "current_version": None,
        "previous_version": None,
        "deployed_at": None,
        "deployed_by": None,
        "run_id": None,
        "live_color": None,
        "digest": None,
        "deployment_id": None,
        "locked": lock is not None and not lock["stale"],
        "lock": lock,
    }
    if row is not None:
        state.update(
            current_version=row["version"],
            previous_version=row["previous_version"],
            deployed_at=iso(row["deployed_at"]),
            deployed_by=row["deployed_by"],
            run_id=row["run_id"],
            live_color=row["color"],
            digest=row["digest"],
            deployment_id=row["deployment_id"],
        )
    return state


def history(tx: Tx, limit: int = 20, kind: str | None = None) -> list[dict]:
    """Newest first."""
    if kind:
        rows = tx.execute(
            "SELECT * FROM deployments WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, int(limit))
        )
    else:
        rows = tx.execute("SELECT * FROM deployments ORDER BY id DESC LIMIT ?", (int(limit),))
    return [_view(row) for row in rows]


def last_good(tx: Tx, exclude=()) -> str | None:
    """The newest version whose deployment succeeded, other than those in `exclude`."""
    excluded = set(exclude)
    rows = tx.execute("SELECT version FROM deployments WHERE status = 'succeeded' ORDER BY id DESC")
    return next((row["version"] for row in rows if row["version"] not in excluded), None)
