"""The hash-chained ledger: each kind of tampering, done to the SQLite file directly, is found and
reported with the first bad seq."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_helpers import db_of

from cicd.state import StateStore
from cicd.state.store.ledger import canonical, chain_hash


@pytest.fixture
def ledger(store: StateStore) -> StateStore:
    for number in range(1, 6):
        store.append_audit(
            {
                "action": "deploy.finish",
                "version": f"1.{number}.0",
                "outcome": "succeeded",
                "reason": f"release {number}",
                "details": {"seconds": number * 1.5},
            }
        )
    assert store.verify_audit().ok
    return store


def test_intact_ledger_verifies_with_its_head(ledger: StateStore) -> None:
    report = ledger.verify_audit()
    assert (report.ok, report.entries, report.first_bad_seq) == (True, 5, None)
    assert report.head_hash == ledger.audit_entries()[-1].hash


def test_entries_are_canonical_json_chained_by_sha256(ledger: StateStore, tmp_path) -> None:
    rows = (
        db_of(ledger, tmp_path)
        .execute("SELECT seq, body, prev_hash, hash FROM ledger ORDER BY seq")
        .fetchall()
    )
    previous = "0" * 64
    for seq, body, prev_hash, digest in rows:
        decoded = json.loads(body)
        assert body == canonical(decoded) and decoded["seq"] == seq
        assert {
            "time",
            "actor",
            "run_id",
            "action",
            "environment",
            "version",
            "reason",
            "outcome",
        } <= decoded.keys()
        assert prev_hash == previous and digest == chain_hash(prev_hash, body)
        previous = digest


def test_edited_entry_is_detected(ledger: StateStore, tmp_path) -> None:
    db_of(ledger, tmp_path).execute(
        "UPDATE ledger SET body = replace(body, '\"1.3.0\"', '\"6.6.6\"') WHERE seq = 3"
    )
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq, report.entries) == (False, 3, 2)
    assert "edited" in report.reason


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(ledger: StateStore, tmp_path) -> None:
    db = db_of(ledger, tmp_path)
    body, prev_hash = db.execute("SELECT body, prev_hash FROM ledger WHERE seq = 2").fetchone()
    forged = body.replace("release 2", "nothing to see")
    db.execute("UPDATE ledger SET body = ?, hash = ? WHERE seq = 2", (forged, chain_hash(prev_hash, forged)))
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "prev_hash" in report.reason


def test_deleted_entry_is_detected(ledger: StateStore, tmp_path) -> None:
    db_of(ledger, tmp_path).execute("DELETE FROM ledger WHERE seq = 2")
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "missing" in report.reason


def test_deleted_last_entry_is_detected_by_the_head(ledger: StateStore, tmp_path) -> None:
    db_of(ledger, tmp_path).execute("DELETE FROM ledger WHERE seq = 5")
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert "deleted from the end" in report.reason


def test_inserted_entry_is_detected(ledger: StateStore, tmp_path) -> None:
    db = db_of(ledger, tmp_path)
    for seq in (5, 4, 3):  # make room at seq 3, highest first so the primary key never collides
        db.execute("UPDATE ledger SET seq = seq + 1 WHERE seq = ?", (seq,))
    prev_hash = db.execute("SELECT hash FROM ledger WHERE seq = 2").fetchone()[0]
    fake = canonical({"seq": 3, "action": "deploy.finish", "version": "evil", "outcome": "succeeded"})
    db.execute(
        "INSERT INTO ledger (seq, body, prev_hash, hash) VALUES (3, ?, ?, ?)",
        (fake, prev_hash, chain_hash(prev_hash, fake)),
    )
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 4)


def test_reordered_entries_are_detected(ledger: StateStore, tmp_path) -> None:
    db = db_of(ledger, tmp_path)
    rows = {
        seq: (body, prev, digest)
        for seq, body, prev, digest in db.execute(
            "SELECT seq, body, prev_hash, hash FROM ledger WHERE seq IN (2, 4)"
        )
    }
    db.execute("UPDATE ledger SET body = ?, prev_hash = ?, hash = ? WHERE seq = 2", rows[4])
    db.execute("UPDATE ledger SET body = ?, prev_hash = ?, hash = ? WHERE seq = 4", rows[2])
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_appended_forgery_without_the_head_is_detected(ledger: StateStore, tmp_path) -> None:
    db = db_of(ledger, tmp_path)
    prev_hash = db.execute("SELECT hash FROM ledger WHERE seq = 5").fetchone()[0]
    fake = canonical({"seq": 6, "action": "lock.force_release", "actor": "mallory"})
    db.execute(
        "INSERT INTO ledger (seq, body, prev_hash, hash) VALUES (6, ?, ?, ?)",
        (fake, prev_hash, chain_hash(prev_hash, fake)),
    )
    report = ledger.verify_audit()
    assert (report.ok, report.first_bad_seq) == (False, 6)
    assert "entries were added" in report.reason


def test_appending_continues_the_chain_after_verification(ledger: StateStore) -> None:
    entry = ledger.append_audit({"action": "note", "reason": "after"})
    assert entry.seq == 6 and ledger.verify_audit().entries == 6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 5), position=st.integers(0, 10_000), char=st.characters(codec="utf-8"))
def test_any_one_character_edit_is_detected(ledger: StateStore, tmp_path, seq, position, char) -> None:
    db = db_of(ledger, tmp_path)
    body = db.execute("SELECT body FROM ledger WHERE seq = ?", (seq,)).fetchone()[0]
    index = position % len(body)
    if body[index] == char:
        return
    db.execute("UPDATE ledger SET body = ? WHERE seq = ?", (body[:index] + char + body[index + 1 :], seq))
    try:
        report = ledger.verify_audit()
        assert not report.ok and report.first_bad_seq == seq
    finally:
        db.execute("UPDATE ledger SET body = ? WHERE seq = ?", (body, seq))
