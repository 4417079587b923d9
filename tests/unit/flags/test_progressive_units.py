"""The pure parts of rollouts and postmortems, and the docs' command table against the parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cicd.cli import build_parser
from cicd.drill import last_passed, staleness
from cicd.errors import UsageError
from cicd.flags.rollout import parse_steps
from cicd.postmortem import choose, detect_and_restore, entries_of
from cicd.state.records import AuditEntry, Deployment

REPO = Path(__file__).resolve().parents[3]


def entry(seq: int, at: str, action: str, **details) -> AuditEntry:
    return AuditEntry(seq, f"2026-11-30T02:00:{at}Z", "staging", action, details=details)


def test_rollout_steps_rise_from_1_to_100():
    assert parse_steps("5,25,50,100") == [5, 25, 50, 100]
    for bad in ("", "0,50", "50,25", "5,5", "5,101", "five"):
        with pytest.raises(UsageError, match="rising percentages"):
            parse_steps(bad)


def test_postmortem_picks_the_rolled_back_deployment_and_its_entries():
    good = Deployment(3, "deploy", "3.0.0", "succeeded", "a", "t")
    bad = Deployment(2, "deploy", "2.0.0", "rolled_back", "a", "t")
    assert choose([good, bad], None, "staging") is bad
    assert choose([good, bad], 3, "staging") is good
    with pytest.raises(UsageError, match="no rolled-back deployment"):
        choose([good], None, "staging")
    # a manual rollback from 3.0.0: the postmortem is of the deploy it undid (its ledger entries run on
    # through the rollback's switch back, which is the time to restore)
    manual = Deployment(4, "rollback", "1.0.0", "succeeded", "a", "t", previous_version="3.0.0")
    assert choose([manual, good, bad], None, "staging") is good
    assert choose([manual], None, "staging") is manual  # the deploy is older than the history read
    ledger = [
        entry(1, "00.000", "deploy.start", deployment_id=2),
        entry(2, "01.000", "traffic.switch", deployment_id=2),
        entry(3, "01.600", "deploy.verification", deployment_id=2),
        entry(4, "02.000", "traffic.switch", deployment_id=2),
        entry(5, "03.000", "deploy.start", deployment_id=3),
    ]
    mine = entries_of(bad, ledger)
    assert [e.seq for e in mine] == [1, 2, 3, 4]
    assert detect_and_restore(mine) == pytest.approx((0.6, 1.0))  # no figures: from the ledger's times
    figures = entry(6, "02.100", "deploy.figures", detect_after_s=0.5)
    assert detect_and_restore([*mine, figures])[0] == 0.5  # the deploy's own measurement wins
    assert detect_and_restore(mine[:3]) == (pytest.approx(0.6), None)  # never switched back


def test_the_documented_flag_commands_are_the_parsers():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    actions = set(verbs["flags"]._subparsers._group_actions[0].choices)
    section = (REPO / "docs" / "DEPLOYMENT.md").read_text().split("## Feature flags")[1].split("\n## ")[0]
    pairs = re.findall(r"`cicd flags (\w+)[^`]*`(?: / `(\w+))?", section)
    documented = {word for pair in pairs for word in pair}
    assert actions == documented - {""}


def test_drills_are_overdue_after_the_maximum_age_of_the_last_passed_one():
    passed = AuditEntry(1, "2026-11-20T00:00:00.000Z", "staging", "drill", outcome="passed")
    failed = AuditEntry(2, "2026-11-29T00:00:00.000Z", "staging", "drill", outcome="failed")
    assert last_passed([passed, failed]) is passed
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert staleness(passed, 14, now) is None
    assert staleness(passed, 7, now) == (
        "the last passed drill (2026-11-20T00:00:00.000Z) is 10.0 days old, more than 7"
    )
    assert staleness(last_passed([failed]), 7, now) == "no drill has passed yet"
