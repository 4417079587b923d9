"""The deployment state of one environment in one SQLite file: lock, history, current, releases, ledger.

Stdlib only and self-contained on purpose: for a remote target the client sends this file's source to
`python3 - DB_PATH` on the target's primary host (with the request appended as a string literal), and
for a local target it calls `handle()` in process, so both paths run exactly this code. It is longer
than the house's usual module for the same reason: the remote side receives this one file only.

    request  {"op": "lock_acquire", "environment": "staging", "args": {...}}
    answer   {"ok": true, "result": ...}
             {"ok": false, "error": {"kind": "locked", "message": "...", "holder": {...}}}

Every write runs in a `BEGIN IMMEDIATE` transaction on a WAL database with a busy timeout, so runners
racing for the lock are serialised by SQLite itself. Times are taken here, on the host of the file, so
every runner judges lock staleness by the same clock. Ledger entries are canonical JSON (sorted keys),
chained by hash = sha256(prev_hash + canonical); the head (last seq and hash) is kept in `meta` so a
truncated tail is detected too. Values reach SQL only as parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
ANSWER_MARK = "CICD-STATE "
BUSY_TIMEOUT_MS = 15_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lock (
        id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, actor TEXT NOT NULL,
        host TEXT, pid INTEGER, run_id TEXT, reason TEXT NOT NULL, purpose TEXT NOT NULL,
        acquired_at REAL NOT NULL, heartbeat_at REAL NOT NULL, ttl_seconds REAL)""",
    """CREATE TABLE IF NOT EXISTS deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, version TEXT NOT NULL,
        previous_version TEXT, artifact TEXT, digest TEXT, strategy TEXT, actor TEXT NOT NULL,
        run_id TEXT, reason TEXT, status TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL,
        phases TEXT NOT NULL DEFAULT '[]', error TEXT)""",
    """CREATE TABLE IF NOT EXISTS current (
        id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL, previous_version TEXT,
        color TEXT, digest TEXT, artifact TEXT, deployed_at REAL NOT NULL, deployed_by TEXT NOT NULL,
        run_id TEXT, deployment_id INTEGER)""",
    """CREATE TABLE IF NOT EXISTS releases (
        version TEXT PRIMARY KEY, artifact TEXT, digest TEXT, recorded_at REAL NOT NULL,
        last_deployed_at REAL, known_good_at REAL)""",
    """CREATE TABLE IF NOT EXISTS ledger (
        seq INTEGER PRIMARY KEY, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
)

LEDGER_FIELDS = ("actor", "run_id", "action", "version", "digest", "reason", "outcome")
FINAL_STATUSES = ("succeeded", "failed", "rolled_back", "aborted", "interrupted")


class StoreFailure(Exception):
    """An expected failure, sent back as {"kind", "message", ...extra}."""

    kind = "state"

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra


class LockHeld(StoreFailure):
    kind = "locked"


class LockLost(StoreFailure):
    kind = "lock_lost"


class NotOwner(StoreFailure):
    kind = "not_owner"


class BadRequest(StoreFailure):
    kind = "bad_request"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    # timezone.utc, not datetime.UTC: the remote side may run a python3 older than 3.11
    stamp = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")  # noqa: UP017
    return stamp.replace("+00:00", "Z")


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical_body: str) -> str:
    return hashlib.sha256((prev_hash + canonical_body).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- connection and transactions


def connect(db_path: str) -> sqlite3.Connection:
    parent = os.path.dirname(os.path.abspath(db_path))
    os.makedirs(parent, exist_ok=True)
    db = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return db


def _claim_environment(db: sqlite3.Connection, environment: str, *, claim: bool) -> None:
    """A database belongs to one environment; two environments sharing a path would share a lock."""
    row = db.execute("SELECT value FROM meta WHERE key = 'environment'").fetchone()
    if row is None:
        if claim:
            db.execute("INSERT INTO meta (key, value) VALUES ('environment', ?)", (environment,))
    elif row["value"] != environment:
        raise StoreFailure(
            f"this state database belongs to environment {row['value']!r}, not {environment!r}; "
            "give each environment its own deploy.state_path"
        )


# ---------------------------------------------------------------- ledger


def _head(db: sqlite3.Connection) -> tuple[int, str]:
    seq = db.execute("SELECT value FROM meta WHERE key = 'ledger_head_seq'").fetchone()
    digest = db.execute("SELECT value FROM meta WHERE key = 'ledger_head_hash'").fetchone()
    if seq is None or digest is None:
        return 0, GENESIS_HASH
    return int(seq["value"]), digest["value"]


def ledger_append(db: sqlite3.Connection, env: str, now: float, entry: dict) -> dict:
    """Append one entry inside the caller's transaction; returns the stored body with seq and hash."""
    if not entry.get("action"):
        raise BadRequest("a ledger entry needs an action")
    seq, prev_hash = _head(db)
    body = {name: entry.get(name) for name in LEDGER_FIELDS}
    body.update(seq=seq + 1, time=iso(now), environment=env, details=entry.get("details") or {})
    text = canonical(body)
    digest = chain_hash(prev_hash, text)
    db.execute(
        "INSERT INTO ledger (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)",
        (seq + 1, text, prev_hash, digest),
    )
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_head_seq', ?)", (str(seq + 1),))
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_head_hash', ?)", (digest,))
    return {**body, "prev_hash": prev_hash, "hash": digest}


def ledger_verify(db: sqlite3.Connection) -> dict:
    """Walk the chain from the genesis hash; report the first entry that does not fit and why."""
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    for row in db.execute("SELECT seq, body, prev_hash, hash FROM ledger ORDER BY seq"):
        problem = _entry_problem(row, expected_seq, expected_prev)
        if problem:
            return _report(False, count, row["seq"], problem)
        expected_prev, expected_seq, count = row["hash"], expected_seq + 1, count + 1
    head_seq, head_hash = _head(db)
    if head_seq != count:
        return _report(
            False,
            count,
            count + 1 if head_seq > count else head_seq + 1,
            f"the ledger ends at seq {count} but its head records seq {head_seq}: "
            + ("entries were deleted from the end" if head_seq > count else "entries were added"),
        )
    if head_hash != expected_prev:
        return _report(False, count, count, "the last entry's hash differs from the recorded head")
    return _report(True, count, None, None, head_hash=expected_prev)


def _entry_problem(row: sqlite3.Row, expected_seq: int, expected_prev: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"expected seq {expected_seq} next but found seq {row['seq']}: an entry is missing"
    if row["prev_hash"] != expected_prev:
        return "its prev_hash does not match the previous entry's hash: an entry was removed or inserted"
    try:
        body = json.loads(row["body"])
    except ValueError:
        return "its body is not valid JSON: it was edited"
    if not isinstance(body, dict) or body.get("seq") != row["seq"]:
        carried = body.get("seq") if isinstance(body, dict) else "?"
        return f"its body carries seq {carried}: entries were reordered"
    if canonical(body) != row["body"] or chain_hash(row["prev_hash"], row["body"]) != row["hash"]:
        return "its hash does not match its content: it was edited"
    return None


def _report(ok: bool, count: int, bad_seq: int | None, reason: str | None, head_hash: str | None = None):
    return {"ok": ok, "entries": count, "first_bad_seq": bad_seq, "reason": reason, "head_hash": head_hash}


def ledger_entries(db: sqlite3.Connection, limit: int) -> list[dict]:
    rows = db.execute("SELECT body, hash FROM ledger ORDER BY seq DESC LIMIT ?", (int(limit),)).fetchall()
    entries = []
    for row in reversed(rows):
        try:
            body = json.loads(row["body"])
        except ValueError:
            body = {"action": "(unreadable entry)"}
        entries.append({**body, "hash": row["hash"]})
    return entries


# ---------------------------------------------------------------- lock


def _lock_row(db: sqlite3.Connection) -> sqlite3.Row | None:
    return db.execute("SELECT * FROM lock WHERE id = 1").fetchone()


def _lock_view(row: sqlite3.Row, now: float, with_token: bool = False) -> dict:
    ttl = row["ttl_seconds"]
    view = {
        "actor": row["actor"],
        "host": row["host"],
        "pid": row["pid"],
        "run_id": row["run_id"],
        "reason": row["reason"],
        "purpose": row["purpose"],
        "ttl_seconds": ttl,
        "acquired_at": iso(row["acquired_at"]),
        "heartbeat_at": iso(row["heartbeat_at"]),
        "held_seconds": round(now - row["acquired_at"], 3),
        "heartbeat_age_seconds": round(now - row["heartbeat_at"], 3),
        "stale": ttl is not None and now - row["heartbeat_at"] > ttl,
    }
    if with_token:
        view["token"] = row["token"]
    return view


def lock_acquire(db, env, now, owner: dict, reason: str, ttl_seconds: float | None, purpose: str = "deploy"):
    row = _lock_row(db)
    recovered = None
    if row is not None:
        view = _lock_view(row, now)
        if not view["stale"]:
            raise LockHeld("environment is locked", holder=view)
        recovered = view
        interrupted = _interrupt_running(db, now)
        ledger_append(
            db,
            env,
            now,
            {
                "action": "lock.recover",
                "actor": owner.get("actor"),
                "run_id": owner.get("run_id"),
                "reason": f"stale lock of {view['actor']} taken over (heartbeat "
                f"{view['heartbeat_age_seconds']:.0f}s old, ttl {view['ttl_seconds']:g}s)",
                "outcome": "recovered",
                "details": {"previous_holder": view, "interrupted_deployments": interrupted},
            },
        )
    token = uuid.uuid4().hex
    db.execute(
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
            now,
            now,
            ttl_seconds,
        ),
    )
    if purpose != "deploy":  # deploy locks are covered by the deploy entries; manual holds are not
        ledger_append(
            db,
            env,
            now,
            {
                "action": "lock.hold",
                "actor": owner["actor"],
                "run_id": owner.get("run_id"),
                "reason": reason,
                "outcome": "held",
                "details": {"ttl_seconds": ttl_seconds},
            },
        )
    result = _lock_view(_lock_row(db), now, with_token=True)
    result["recovered_from"] = recovered
    return result


def _interrupt_running(db: sqlite3.Connection, now: float) -> list[int]:
    """A recovered lock means its holder died: its unfinished deployments will never finish."""
    ids = [row["id"] for row in db.execute("SELECT id FROM deployments WHERE status = 'running'")]
    db.execute(
        "UPDATE deployments SET status = 'interrupted', finished_at = ?, error = COALESCE(error, ?)"
        " WHERE status = 'running'",
        (now, "the deploying process stopped without finishing"),
    )
    return ids


def lock_heartbeat(db, env, now, token: str):
    updated = db.execute("UPDATE lock SET heartbeat_at = ? WHERE token = ?", (now, token)).rowcount
    if not updated:
        row = _lock_row(db)
        raise LockLost("the lock is no longer held by this run", holder=_lock_view(row, now) if row else None)
    return _lock_view(_lock_row(db), now)


def lock_release(db, env, now, token: str) -> bool:
    row = _lock_row(db)
    if row is None or row["token"] != token:
        return False
    db.execute("DELETE FROM lock WHERE token = ?", (token,))
    if row["purpose"] != "deploy":
        ledger_append(
            db,
            env,
            now,
            {
                "action": "lock.release",
                "actor": row["actor"],
                "run_id": row["run_id"],
                "reason": row["reason"],
                "outcome": "released",
            },
        )
    return True


def lock_release_owned(db, env, now, actor: str, run_id: str | None, reason: str | None):
    """`cicd unlock` without --force: only the actor who holds the lock may release it."""
    row = _lock_row(db)
    if row is None:
        return None
    if row["actor"] != actor:
        raise NotOwner("the lock belongs to someone else", holder=_lock_view(row, now))
    db.execute("DELETE FROM lock WHERE id = 1")
    ledger_append(
        db,
        env,
        now,
        {
            "action": "lock.release",
            "actor": actor,
            "run_id": run_id,
            "reason": reason or row["reason"],
            "outcome": "released",
            "details": {"holder": _lock_view(row, now)},
        },
    )
    return _lock_view(row, now)


def lock_force_release(db, env, now, actor: str, run_id: str | None, reason: str):
    row = _lock_row(db)
    if row is None:
        return None
    db.execute("DELETE FROM lock WHERE id = 1")
    if row["purpose"] == "deploy":
        _interrupt_running(db, now)
    ledger_append(
        db,
        env,
        now,
        {
            "action": "lock.force_release",
            "actor": actor,
            "run_id": run_id,
            "reason": reason,
            "outcome": "released",
            "details": {"previous_holder": _lock_view(row, now)},
        },
    )
    return _lock_view(row, now)


def lock_info(db, env, now):
    row = _lock_row(db)
    return _lock_view(row, now) if row else None


# ---------------------------------------------------------------- deployments and current state


def _deployment_view(row: sqlite3.Row) -> dict:
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
    }


def deployment_start(
    db,
    env,
    now,
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
    cursor = db.execute(
        "INSERT INTO deployments (kind, version, previous_version, artifact, digest, strategy, actor, run_id,"
        " reason, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
        (kind, version, previous_version, artifact, digest, strategy, actor, run_id, reason, now),
    )
    ledger_append(
        db,
        env,
        now,
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
    return cursor.lastrowid


def deployment_finish(db, env, now, deployment_id: int, status: str, phases=None, error=None, digest=None):
    if status not in FINAL_STATUSES:
        raise BadRequest(f"unknown deployment status {status!r}; use one of {', '.join(FINAL_STATUSES)}")
    row = db.execute("SELECT * FROM deployments WHERE id = ?", (deployment_id,)).fetchone()
    if row is None:
        raise BadRequest(f"no deployment with id {deployment_id}")
    db.execute(
        "UPDATE deployments SET status = ?, finished_at = ?, phases = ?, error = ?,"
        " digest = COALESCE(?, digest) WHERE id = ?",
        (status, now, json.dumps(phases or []), error, digest, deployment_id),
    )
    done = _deployment_view(db.execute("SELECT * FROM deployments WHERE id = ?", (deployment_id,)).fetchone())
    timings = {p.get("name", "?"): p.get("seconds") for p in done["phases"] if isinstance(p, dict)}
    ledger_append(
        db,
        env,
        now,
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


def set_current(
    db,
    env,
    now,
    version: str,
    deployed_by: str,
    color=None,
    digest=None,
    artifact=None,
    run_id=None,
    deployment_id=None,
    reason=None,
):
    old = db.execute("SELECT * FROM current WHERE id = 1").fetchone()
    previous = (
        old["previous_version"]
        if old is not None and old["version"] == version
        else (old["version"] if old is not None else None)
    )
    db.execute(
        "INSERT OR REPLACE INTO current (id, version, previous_version, color, digest, artifact, deployed_at,"
        " deployed_by, run_id, deployment_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (version, previous, color, digest, artifact, now, deployed_by, run_id, deployment_id),
    )
    db.execute(
        "INSERT OR IGNORE INTO releases (version, artifact, digest, recorded_at) VALUES (?, ?, ?, ?)",
        (version, artifact, digest, now),
    )
    db.execute("UPDATE releases SET last_deployed_at = ? WHERE version = ?", (now, version))
    ledger_append(
        db,
        env,
        now,
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
    return current(db, env, now)


def current(db, env, now):
    row = db.execute("SELECT * FROM current WHERE id = 1").fetchone()
    lock = lock_info(db, env, now)
    state = {
        "environment": env,
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


def history(db, env, now, limit: int = 20, kind: str | None = None):
    query, params = "SELECT * FROM deployments", []
    if kind:
        query, params = query + " WHERE kind = ?", [kind]
    rows = db.execute(query + " ORDER BY id DESC LIMIT ?", [*params, int(limit)]).fetchall()
    return [_deployment_view(row) for row in rows]


# ---------------------------------------------------------------- releases


def _last_known_good(db: sqlite3.Connection) -> str | None:
    row = db.execute(
        "SELECT version FROM releases WHERE known_good_at IS NOT NULL ORDER BY known_good_at DESC LIMIT 1"
    ).fetchone()
    return row["version"] if row else None


def release_record(db, env, now, version: str, artifact=None, digest=None, actor=None, run_id=None):
    db.execute(
        "INSERT OR IGNORE INTO releases (version, artifact, digest, recorded_at) VALUES (?, ?, ?, ?)",
        (version, artifact, digest, now),
    )
    db.execute(
        "UPDATE releases SET artifact = COALESCE(?, artifact), digest = COALESCE(?, digest)"
        " WHERE version = ?",
        (artifact, digest, version),
    )
    ledger_append(
        db,
        env,
        now,
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


def release_mark_good(db, env, now, version: str, actor=None, run_id=None):
    db.execute("INSERT OR IGNORE INTO releases (version, recorded_at) VALUES (?, ?)", (version, now))
    db.execute("UPDATE releases SET known_good_at = ? WHERE version = ?", (now, version))
    ledger_append(
        db,
        env,
        now,
        {
            "action": "release.known_good",
            "actor": actor,
            "run_id": run_id,
            "version": version,
            "outcome": "known_good",
        },
    )
    return True


def releases(db, env, now):
    good = _last_known_good(db)
    state = db.execute("SELECT version, previous_version FROM current WHERE id = 1").fetchone()
    rows = db.execute(
        "SELECT * FROM releases ORDER BY COALESCE(last_deployed_at, recorded_at) DESC, recorded_at DESC"
    ).fetchall()
    return [
        {
            "version": row["version"],
            "artifact": row["artifact"],
            "digest": row["digest"],
            "recorded_at": iso(row["recorded_at"]),
            "last_deployed_at": iso(row["last_deployed_at"]),
            "known_good": row["known_good_at"] is not None,
            "last_known_good": row["version"] == good,
            "live": state is not None and row["version"] == state["version"],
            "previous": state is not None and row["version"] == state["previous_version"],
        }
        for row in rows
    ]


def prune_plan(db, env, now, keep: int, protect=()):
    """Versions to remove: beyond the newest `keep`, never the live, previous, last known good or
    protected (e.g. warm) ones."""
    if int(keep) < 1:
        raise BadRequest("keep at least one release")
    listed = releases(db, env, now)
    guarded = {r["version"] for r in listed if r["live"] or r["previous"] or r["last_known_good"]}
    guarded.update(v for v in protect if v)
    return [r["version"] for r in listed[int(keep) :] if r["version"] not in guarded]


def release_forget(db, env, now, version: str, actor=None, run_id=None, reason=None):
    if version in {r["version"] for r in releases(db, env, now) if r["live"] or r["last_known_good"]}:
        raise BadRequest(f"release {version} is live or the last known good; it cannot be removed")
    removed = db.execute("DELETE FROM releases WHERE version = ?", (version,)).rowcount
    if removed:
        ledger_append(
            db,
            env,
            now,
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


def last_good(db, env, now, exclude=()):
    """The newest successfully finished version not in `exclude` (the cold-rollback default)."""
    excluded = set(exclude)
    rows = db.execute("SELECT version FROM deployments WHERE status = 'succeeded' ORDER BY id DESC")
    return next((row["version"] for row in rows if row["version"] not in excluded), None)


# ---------------------------------------------------------------- audit


def audit_append(db, env, now, entry: dict):
    return ledger_append(db, env, now, entry)


def audit_entries(db, env, now, limit: int = 50):
    return ledger_entries(db, limit)


def audit_verify(db, env, now):
    return ledger_verify(db)


# ---------------------------------------------------------------- dispatch

WRITES = {
    "lock_acquire": lock_acquire,
    "lock_heartbeat": lock_heartbeat,
    "lock_release": lock_release,
    "lock_release_owned": lock_release_owned,
    "lock_force_release": lock_force_release,
    "deployment_start": deployment_start,
    "deployment_finish": deployment_finish,
    "set_current": set_current,
    "release_record": release_record,
    "release_mark_good": release_mark_good,
    "release_forget": release_forget,
    "audit_append": audit_append,
}
READS = {
    "lock_info": lock_info,
    "current": current,
    "history": history,
    "releases": releases,
    "prune_plan": prune_plan,
    "last_good": last_good,
    "audit_entries": audit_entries,
    "audit_verify": audit_verify,
}


def handle(db_path: str, request: dict) -> dict:
    """Run one request against the database at db_path; never raises for expected failures."""
    try:
        op, env, args = request["op"], request["environment"], request.get("args") or {}
        func = WRITES.get(op) or READS.get(op)
        if func is None or not isinstance(args, dict):
            raise BadRequest(f"unknown operation {op!r}")
        return {"ok": True, "result": _run(db_path, func, op in WRITES, env, args)}
    except StoreFailure as err:
        return {"ok": False, "error": {"kind": err.kind, "message": str(err), **err.extra}}
    except (KeyError, TypeError) as err:
        return {"ok": False, "error": {"kind": "bad_request", "message": f"malformed request: {err}"}}
    except (sqlite3.Error, OSError) as err:
        return {"ok": False, "error": {"kind": "state", "message": f"state database {db_path}: {err}"}}


def _run(db_path: str, func, writes: bool, env: str, args: dict):
    db = connect(db_path)
    try:
        db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
        try:
            _claim_environment(db, env, claim=writes)
            result = func(db, env, time.time(), **args)
            db.execute("COMMIT")
            return result
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.close()


def serve(argv: list, request_text: str) -> int:
    """Remote entry: `python3 - DB_PATH` with the request appended to this source by the client."""
    if len(argv) != 1:
        answer = {"ok": False, "error": {"kind": "bad_request", "message": "usage: store.py DB_PATH"}}
    else:
        try:
            answer = handle(argv[0], json.loads(request_text))
        except ValueError as err:
            answer = {"ok": False, "error": {"kind": "bad_request", "message": f"request is not JSON: {err}"}}
    sys.stdout.write(ANSWER_MARK + json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__" and sys.argv[0] != "-":
    raise SystemExit(serve(sys.argv[1:], sys.stdin.read()))
