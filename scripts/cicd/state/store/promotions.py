"""The hands-off promotion of one environment (cicd/promotion): its state as one JSON document in `meta`.

A transition names the revision it moves from and carries its ledger entry: the new state and the
entry are written in the same transaction, so the state and the audit never disagree, and of two
runners that try the same transition (a scheduled run and a person, a killed runner's successor) one
wins and the other is told the promotion moved on.
"""

from __future__ import annotations

import json

from . import ledger
from .db import StoreFailure, Tx

KEY = "promotion"


class PromotionMoved(StoreFailure):
    kind = "promotion_moved"


def load(tx: Tx) -> dict | None:
    row = tx.one("SELECT value FROM meta WHERE key = ?", (KEY,))
    if row is None:
        return None
    try:
        state = json.loads(row["value"])
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def transition(tx: Tx, state: dict, expected_revision: int, entry: dict) -> dict:
    """Replace the state if it is still at `expected_revision` (0: none yet); append `entry`."""
    current = load(tx)
    revision = int(current.get("revision", 0)) if current else 0
    if revision != int(expected_revision):
        raise PromotionMoved(
            f"the promotion moved on meanwhile (revision {revision}, expected {expected_revision}); "
            "read it again with `cicd promotion status`"
        )
    state = {**state, "revision": revision + 1, "updated_at": tx.now}
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (KEY, json.dumps(state)))
    ledger.append(tx, entry)
    return state
