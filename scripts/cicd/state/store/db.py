"""The SQLite file: schema, connection settings, transactions and the failures sent back to clients.

Every write runs in `BEGIN IMMEDIATE` on a WAL database with a busy timeout, so runners racing for
the lock are serialised by SQLite itself. Times are taken here, on the host of the file, so every
runner judges lock staleness by the same clock. Values reach SQL only as parameters.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from datetime import datetime, timezone
from urllib.parse import quote

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000
RUNBOOK = "docs/RUNBOOKS.md, State storage problems"
_NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)

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


# Columns added after a database was first created; added in place when missing (no data to move).
_ADDED_COLUMNS = (("deployments", "verification", "TEXT"),)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, column, kind in _ADDED_COLUMNS:
        if not any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})")):
            try:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as err:  # another runner added it a moment ago
                if "duplicate column" not in str(err):
                    raise


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


class Tx:
    """One transaction on one environment's database: the connection, the environment, and the one
    `now` every row written in it shares."""

    def __init__(self, db: sqlite3.Connection, environment: str, now: float, identity: dict | None = None):
        self.db = db
        self.environment = environment
        self.now = now
        self.identity = identity  # who asked (cicd.identity): stamped on every ledger entry written

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self.db.execute(sql, params).fetchone()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    # timezone.utc, not datetime.UTC: the remote side may run a python3 older than 3.11
    stamp = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")  # noqa: UP017
    return stamp.replace("+00:00", "Z")


def connect(db_path: str) -> sqlite3.Connection:
    os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
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
            _rollback(db)
            raise
    _add_missing_columns(db)
    return db


def connect_read_only(db_path: str) -> sqlite3.Connection:
    """For reads when the file or its directory cannot be written (a read-only mount): `status` and
    `history` still answer. Nothing is created or migrated. A WAL database needs its -shm file to be
    read that way; without a -wal file there is nothing beside the main file, so it is read as is."""
    if not os.path.isfile(db_path):
        raise sqlite3.OperationalError("unable to open database file")
    uri = f"file:{quote(os.path.abspath(db_path))}?mode=ro"
    wal = db_path + "-wal"
    if not os.path.exists(wal) or os.path.getsize(wal) == 0:
        uri += "&immutable=1"
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA user_version")  # fail here, not in the middle of the operation
    return db


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back what is still open. SQLite may already have rolled back by itself (a full disk); a
    second ROLLBACK would then replace the real error with "no transaction is active"."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _cannot_write(err: BaseException) -> bool:
    text = str(err).lower()
    return getattr(err, "errno", None) in _NOT_WRITABLE or "readonly" in text or "unable to open" in text


def failure_message(db_path: str, err: BaseException) -> str:
    """One line for a failure of the state file: what is wrong with which file, and how to recover."""
    text, folder = str(err), os.path.dirname(os.path.abspath(db_path))
    lowered = text.lower()
    if "malformed" in lowered or "not a database" in lowered:
        return (
            f"state database {db_path} is corrupt ({text}): move it aside with "
            f"`mv {db_path} {db_path}.corrupt` and re-run (see {RUNBOOK})"
        )
    if getattr(err, "errno", None) in _NO_SPACE or "disk is full" in lowered or "disk i/o" in lowered:
        return (
            f"no space to write the state database {db_path} ({text}): free space on its filesystem "
            f"(`df -h {folder}`) and re-run (see {RUNBOOK})"
        )
    if _cannot_write(err):
        return (
            f"state database {db_path} cannot be written ({text}): {folder} is read-only or not "
            f"writable by this user; make it writable (`ls -ld {folder}`) and re-run (see {RUNBOOK})"
        )
    return f"state database {db_path}: {text}"


def claim_environment(tx: Tx, *, claim: bool) -> None:
    """A database belongs to one environment; two environments sharing a path would share a lock."""
    row = tx.one("SELECT value FROM meta WHERE key = 'environment'")
    if row is None:
        if claim:
            tx.execute("INSERT INTO meta (key, value) VALUES ('environment', ?)", (tx.environment,))
    elif row["value"] != tx.environment:
        raise StoreFailure(
            f"this state database belongs to environment {row['value']!r}, not {tx.environment!r}; "
            "give each environment its own deploy.state_path"
        )


def run(db_path: str, environment: str, operation, writes: bool, args: dict, identity: dict | None = None):
    """Run operation(tx, **args) in one transaction: IMMEDIATE for writes, so the read that decides
    and the write that follows cannot interleave with another runner's."""
    try:
        db = connect(db_path)
    except (sqlite3.Error, OSError) as err:
        if writes or not _cannot_write(err):
            raise
        db = connect_read_only(db_path)
    try:
        db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
        try:
            tx = Tx(db, environment, time.time(), identity)
            claim_environment(tx, claim=writes)
            result = operation(tx, **args)
            db.execute("COMMIT")
            return result
        except BaseException:
            _rollback(db)
            raise
    finally:
        db.close()
