"""The deployment state of one environment in one SQLite file: lock, history, current, releases, ledger.

Stdlib only and self-contained on purpose. For a local target the client calls `handle()` in process;
for a remote target it sends this package's sources (MODULES) with the request to `python3 - DB_PATH`
on the target's primary host, which loads them and calls `serve()`. Both paths run exactly this code.

    request  {"op": "lock_acquire", "environment": "staging", "args": {...}}
    answer   {"ok": true, "result": ...}
             {"ok": false, "error": {"kind": "locked", "message": "...", "holder": {...}}}

Modules: db (schema, transactions, failures), ledger (hash chain), locks, history (deployments and
current state), releases, leases (short named locks beside the environment lock). Every operation
is `func(tx, **args)` run in one transaction by db.run.
"""

from __future__ import annotations

import json
import sqlite3
import sys

from . import history, leases, ledger, locks, promotions, releases
from .db import BadRequest, StoreFailure, failure_message, run

# Sibling modules in dependency order: the remote loader executes them in this order, then this one.
MODULES = ("db", "ledger", "locks", "history", "releases", "leases", "promotions")
ANSWER_MARK = "CICD-STATE "

WRITES = {
    "lock_acquire": locks.acquire,
    "lock_heartbeat": locks.heartbeat,
    "lock_release": locks.release,
    "lock_release_owned": locks.release_owned,
    "lock_force_release": locks.force_release,
    "lock_steal": locks.steal,
    "lease_acquire": leases.acquire,
    "lease_release": leases.release,
    "deployment_start": history.start,
    "deployment_finish": history.finish,
    "deployment_verified": history.verified,
    "set_current": history.set_current,
    "release_record": releases.record,
    "release_mark_good": releases.mark_good,
    "release_revoke_good": releases.revoke_good,
    "release_forget": releases.forget,
    "audit_append": ledger.append,
    "promotion_transition": promotions.transition,
}
READS = {
    "lock_info": locks.info,
    "current": history.current,
    "history": history.history,
    "last_good": history.last_good,
    "releases": releases.listing,
    "prune_plan": releases.prune_plan,
    "audit_entries": ledger.entries,
    "audit_verify": ledger.verify,
    "audit_head": ledger.head,
    "audit_hash_at": ledger.hash_at,
    "audit_seq_of": ledger.seq_of,
    "promotion": promotions.load,
}


def handle(db_path: str, request: dict) -> dict:
    """Run one request against the database at db_path; expected failures become error answers."""
    try:
        op, environment, args = request["op"], request["environment"], request.get("args") or {}
        operation = WRITES.get(op) or READS.get(op)
        if operation is None or not isinstance(args, dict) or not environment:
            raise BadRequest(f"unknown operation {op!r}")
        fence = args.pop("fence", None)
        if fence is not None:
            operation = _fenced(operation, fence)
        who = request.get("identity") if isinstance(request.get("identity"), dict) else None
        return {"ok": True, "result": run(db_path, environment, operation, op in WRITES, args, who)}
    except StoreFailure as err:
        return {"ok": False, "error": {"kind": err.kind, "message": str(err), **err.extra}}
    except (KeyError, TypeError) as err:
        return {"ok": False, "error": {"kind": "bad_request", "message": f"malformed request: {err}"}}
    except (sqlite3.Error, OSError) as err:
        return {"ok": False, "error": {"kind": "state", "message": failure_message(db_path, err)}}


def _fenced(operation, token: str):
    """The operation, refused in its own transaction unless `token` still holds the lock."""

    def fenced(tx, **args):
        locks.check_fence(tx, token)
        return operation(tx, **args)

    return fenced


def serve(argv: list, request_text: str) -> int:
    """Remote entry: answer one request as a marked JSON line on stdout."""
    if len(argv) != 1:
        answer = {"ok": False, "error": {"kind": "bad_request", "message": "usage: python3 - DB_PATH"}}
    else:
        try:
            answer = handle(argv[0], json.loads(request_text))
        except ValueError as err:
            answer = {"ok": False, "error": {"kind": "bad_request", "message": f"request is not JSON: {err}"}}
    sys.stdout.write(ANSWER_MARK + json.dumps(answer) + "\n")
    return 0
