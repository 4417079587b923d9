"""The promotion's store (state/store/promotions.py): a transition is written with its ledger entry, and
refused when another runner moved the promotion first, through both transports."""

from __future__ import annotations

import pytest

from cicd.errors import StateError
from cicd.state import StateStore

STATE = {"version": "2.0.0", "stable_version": "1.0.0", "status": "canary", "weights": [5, 100]}


def test_a_transition_is_written_with_its_ledger_entry_and_refused_when_stale(any_store: StateStore) -> None:
    assert any_store.promotion() is None
    entry = {"action": "promotion.start", "version": "2.0.0", "outcome": "canary"}
    first = any_store.promotion_transition(STATE, 0, entry)
    assert first["revision"] == 1 and any_store.promotion() == first
    step = {**entry, "action": "promotion.step"}
    moved = any_store.promotion_transition({**first, "status": "stepping"}, 1, step)
    assert moved["revision"] == 2
    with pytest.raises(StateError, match="moved on meanwhile"):  # a second runner with the old revision
        any_store.promotion_transition({**first, "status": "x"}, 1, {**entry, "action": "promotion.x"})
    assert any_store.promotion()["status"] == "stepping"
    actions = [item.action for item in any_store.audit_entries()]
    assert actions[-2:] == ["promotion.start", "promotion.step"] and "promotion.x" not in actions
