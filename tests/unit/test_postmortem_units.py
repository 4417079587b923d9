"""Time to detect and time to restore, from the ledger entries of a plain deploy and of a promotion whose
canary was rolled back by an advance (the canary's weight is its first traffic move, not a switch)."""

from __future__ import annotations

from cicd.postmortem import detect_and_restore, render
from cicd.state.records import AuditEntry, Deployment


def entry(
    seq: int, at: str, action: str, outcome: str | None = None, version: str | None = None, **details: object
) -> AuditEntry:
    at = f"2026-11-30T06:07:{at}+00:00"
    return AuditEntry(seq, at, "production", action, version=version, outcome=outcome, details=dict(details))


def test_a_deploy_rolled_back_by_its_verification():
    entries = [
        entry(1, "40.000", "deploy.start"),
        entry(2, "41.000", "traffic.switch"),
        entry(3, "42.500", "deploy.verification"),
        entry(4, "43.000", "traffic.switch"),
    ]
    assert detect_and_restore(entries) == (1.5, 2.0)


def test_a_promotion_rolled_back_at_its_canary_step():
    entries = [
        entry(1, "47.000", "deploy.start", deployment_id=12),
        entry(2, "48.000", "promotion.start"),  # the canary took its weight
        entry(3, "48.100", "deploy.finish"),
        entry(4, "54.000", "promotion.rollback"),  # the advance that saw the breach
        entry(5, "54.500", "traffic.switch"),  # every request back on the stable version
        entry(6, "54.600", "rollback.finish", "succeeded", version="1.1.0"),
        entry(7, "54.700", "promotion.rolled-back"),
    ]
    assert detect_and_restore(entries) == (6.0, 6.5)
    # its history row says succeeded (the canary started); the title says how it ended
    deployment = Deployment(12, "deploy", "3.0.1", "succeeded", "dana", "2026-11-30T06:07:47+00:00")
    title = render(deployment, entries).splitlines()[0]
    assert title == "# Postmortem: deploy 3.0.1 (succeeded, then rolled back to 1.1.0)"
    assert "time to restore (switch to switch back): 6.500 s" in render(deployment, entries)
