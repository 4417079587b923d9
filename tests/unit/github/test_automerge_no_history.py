"""The shipped auto-merge policy never merges on no evidence: a one-line Dependabot bump with passing CI,
no flakes and no track record at all (what an ephemeral runner with an empty ledger sees) scores 74.95,
which must read as below the threshold of 75, not round up to it."""

from pathlib import Path

from cicd.trust.policy import load_policy
from cicd.trust.score import ChangedFile, Evidence, PullRequestFacts, TrackRecord, decide

CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_no_track_record_never_reaches_the_shipped_threshold_by_rounding():
    policy = load_policy(CONFIG / "automerge.yml", CONFIG)
    pull = PullRequestFacts(
        number=7, node_id="PR_7", author="dependabot[bot]", state="OPEN", draft=False, head_oid="a" * 40,
        merge_state="BLOCKED", files=(ChangedFile("constraints.txt", 1, 1),), total_files=1,
        ci_state="SUCCESS", check_count=3,
    )
    fresh = decide(policy, Evidence(pull, policy.environment, ("pip",), 20, 0, TrackRecord(), TrackRecord()))
    assert policy.threshold == 75
    assert fresh.score == 74.9 and not fresh.merge
    assert fresh.blockers == ("score 74.9 is below the threshold 75",)
    # One good deploy of a similar change is evidence: it merges.
    good = decide(policy, Evidence(pull, policy.environment, ("pip",), 20, 0, TrackRecord(1, 0, 1),
                                   TrackRecord()))
    assert good.merge and good.score >= 75
