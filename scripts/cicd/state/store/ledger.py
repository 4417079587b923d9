"""The append-only audit ledger: canonical JSON entries chained by hash.

Each entry's body is canonical JSON (sorted keys, no spaces) of {seq, time, environment, actor, run_id,
action, version, digest, reason, outcome, details}; hash = sha256(prev_hash + body), the first
prev_hash being 64 zeros. The head (last seq and hash) is kept in `meta` in the same transaction, so
deleting entries from the end is detected as well as editing, deleting, inserting or reordering.
A chain without a secret key cannot stop someone who rewrites the whole file and its head, nor tell a
deleted file from a new one: deploys keep the head beside the router config on every host (MACed with
a key when one is set, cicd/deploy/anchor.py), and `audit verify --anchor HASH` checks an external copy.
"""

from __future__ import annotations

import hashlib
import json

from .db import BadRequest, Tx, iso

GENESIS_HASH = "0" * 64
FIELDS = ("actor", "run_id", "action", "version", "digest", "reason", "outcome")


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical_body: str) -> str:
    return hashlib.sha256((prev_hash + canonical_body).encode("utf-8")).hexdigest()


def _head(tx: Tx) -> tuple[int, str]:
    seq = tx.one("SELECT value FROM meta WHERE key = 'ledger_head_seq'")
    digest = tx.one("SELECT value FROM meta WHERE key = 'ledger_head_hash'")
    if seq is None or digest is None:
        return 0, GENESIS_HASH
    return int(seq["value"]), digest["value"]


def append(tx: Tx, entry: dict) -> dict:
    """Append one entry inside the caller's transaction; returns it with seq, prev_hash and hash."""
    if not entry.get("action"):
        raise BadRequest("a ledger entry needs an action")
    seq, prev_hash = _head(tx)
    seq += 1
    body = {name: entry.get(name) for name in FIELDS}
    body.update(seq=seq, time=iso(tx.now), environment=tx.environment, details=entry.get("details") or {})
    if tx.identity:  # github-actions or local: how far the actor can be trusted (older entries: none)
        body["identity"] = tx.identity
    text = canonical(body)
    digest = chain_hash(prev_hash, text)
    tx.execute(
        "INSERT INTO ledger (seq, body, prev_hash, hash) VALUES (?, ?, ?, ?)", (seq, text, prev_hash, digest)
    )
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_head_seq', ?)", (str(seq),))
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_head_hash', ?)", (digest,))
    return {**body, "prev_hash": prev_hash, "hash": digest}


def verify(tx: Tx) -> dict:
    """Walk the chain from the genesis hash; report the first entry that does not fit and why."""
    expected_prev, count = GENESIS_HASH, 0
    for row in tx.execute("SELECT seq, body, prev_hash, hash FROM ledger ORDER BY seq"):
        problem = _entry_problem(row, count + 1, expected_prev)
        if problem:
            return _report(False, count, row["seq"], problem)
        expected_prev, count = row["hash"], count + 1
    head_seq, head_hash = _head(tx)
    if head_seq > count:
        reason = f"the ledger ends at seq {count} but its head records seq {head_seq}: "
        reason += "entries were deleted from the end"
        return _report(False, count, count + 1, reason)
    if head_seq < count:
        reason = (
            f"the ledger continues past its head (seq {head_seq}): entries were added behind the store's back"
        )
        return _report(False, head_seq, head_seq + 1, reason)
    if head_hash != expected_prev:
        return _report(False, count - 1, count, "the last entry's hash differs from the recorded head")
    return _report(True, count, None, None, head_hash=expected_prev if count else None)


def _entry_problem(row, expected_seq: int, expected_prev: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"expected seq {expected_seq} next but found seq {row['seq']}: an entry is missing"
    if row["prev_hash"] != expected_prev:
        return (
            "its prev_hash does not match the previous entry's hash: an entry was removed, inserted or edited"
        )
    try:
        body = json.loads(row["body"])
    except ValueError:
        return "its body is not valid JSON: it was edited"
    carried = body.get("seq") if isinstance(body, dict) else "?"
    if carried != row["seq"]:
        return f"its body carries seq {carried}: entries were reordered"
    if chain_hash(row["prev_hash"], row["body"]) != row["hash"]:
        return "its hash does not match its content: it was edited"
    return None


def _report(
    ok: bool, count: int, bad_seq: int | None, reason: str | None, head_hash: str | None = None
) -> dict:
    return {"ok": ok, "entries": count, "first_bad_seq": bad_seq, "reason": reason, "head_hash": head_hash}


def head(tx: Tx) -> dict:
    seq, digest = _head(tx)
    return {"seq": seq, "hash": digest}


def hash_at(tx: Tx, seq: int) -> str | None:
    row = tx.one("SELECT hash FROM ledger WHERE seq = ?", (int(seq),))
    return row["hash"] if row else None


def seq_of(tx: Tx, digest: str) -> int | None:
    row = tx.one("SELECT seq FROM ledger WHERE hash = ?", (str(digest),))
    return row["seq"] if row else None


def entries(tx: Tx, limit: int = 50) -> list[dict]:
    """The newest `limit` entries, oldest first."""
    rows = tx.execute("SELECT body, hash FROM ledger ORDER BY seq DESC LIMIT ?", (int(limit),)).fetchall()
    shown = []
    for row in reversed(rows):
        try:
            body = json.loads(row["body"])
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"action": "(unreadable entry)"}
        shown.append({**body, "hash": row["hash"]})
    return shown
