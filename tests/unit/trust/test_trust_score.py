"""The trust score as a pure function of the policy and the evidence, and the track records drawn from
the ledger and the deploy history."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cicd.state.records import AuditEntry, Deployment
from cicd.trust import history
from cicd.trust.policy import AutoMergePolicy, glob_match
from cicd.trust.score import (
    ChangedFile,
    CommitFacts,
    Evidence,
    PullRequestFacts,
    TrackRecord,
    decide,
    factors,
    weighted_score,
)

POLICY = AutoMergePolicy(
    environment="production", threshold=70, authors=["dependabot[bot]"],
    paths=["constraints.txt", ".github/workflows/*.yml", ".github/actions/**"],
    ecosystems={"pip": ["constraints.txt"], "github-actions": [".github/workflows/*.yml"]},
)
PULL = PullRequestFacts(
    number=7, node_id="PR_7", author="dependabot[bot]", state="OPEN", draft=False, head_oid="a" * 40,
    merge_state="BLOCKED", files=(ChangedFile("constraints.txt", 1, 1),), total_files=1, ci_state="SUCCESS",
    check_count=3,
)


NO_RECORD = TrackRecord()
BOT_EMAIL = "49699333+dependabot[bot]@users.noreply.github.com"
BY_BOT = CommitFacts("b" * 40, BOT_EMAIL, None, signed_by_github=True, signer_login=None)


def evidence(pull=PULL, *, runs=20, flaky=0, similar=NO_RECORD, author=NO_RECORD) -> Evidence:
    return Evidence(pull, "production", ("pip",), runs, flaky, similar, author)


def test_a_clean_small_change_with_a_good_record_merges_and_each_factor_says_why():
    decision = decide(POLICY, evidence(similar=TrackRecord(8, 0, 8), author=TrackRecord(8, 0, 8)))
    assert decision.merge and decision.verdict == "merge" and decision.blockers == ()
    by_name = {factor.name: factor for factor in decision.factors}
    assert by_name["ci"].value == 1.0 and by_name["ci"].reason == "CI passed on the head commit (3 checks)"
    assert by_name["similar"].value == pytest.approx(0.9)
    assert by_name["similar"].reason == (
        "8 earlier pip changes deployed to production, 0 failed (change failure rate 0%)"
    )
    # ci 30*1 + flakes 10*1 + similar 35*0.9 + author 15*0.9 + size 10*(1-2/400)
    assert decision.score == 94.9  # 94.95 (30 + 10 + 31.5 + 13.5 + 10 * (1 - 2 / 400)), rounded down


def test_no_history_is_neutral_and_a_failing_record_pulls_the_score_under_the_threshold():
    fresh = decide(POLICY, evidence())
    by_name = {factor.name: factor for factor in fresh.factors}
    assert by_name["similar"].value == by_name["author"].value == 0.5
    assert by_name["similar"].reason == "no earlier pip changes deployed to production"
    bad = decide(POLICY, evidence(similar=TrackRecord(4, 3, 4), author=TrackRecord(4, 3, 4)))
    assert bad.score < fresh.score
    assert not bad.merge and bad.blockers == (f"score {bad.score:g} is below the threshold 70",)


def test_flaky_ci_history_and_a_large_diff_lower_the_score_to_zero_at_their_limits():
    big = replace(PULL, files=(ChangedFile("constraints.txt", 300, 200),))
    found = {f.name: f for f in factors(POLICY, evidence(big, runs=10, flaky=2))}
    assert found["flakes"].value == 0.0  # 20 % of runs needed a re-run
    assert found["flakes"].reason == "2 of the last 10 ci.yml runs passed only on a re-run (20%)"
    assert found["size"].value == 0.0 and found["size"].reason.startswith("500 changed lines")
    some = {f.name: f for f in factors(POLICY, evidence(runs=10, flaky=1))}
    assert some["flakes"].value == pytest.approx(0.5)
    none = {f.name: f for f in factors(POLICY, evidence(runs=0))}
    assert none["flakes"].value == 0.5
    assert none["flakes"].reason == "no completed ci.yml runs to judge flakiness"


def test_failing_ci_blocks_whatever_the_score_and_running_ci_counts_half():
    lenient = POLICY.model_copy(update={"threshold": 0})
    failed = replace(PULL, ci_state="FAILURE", failing_checks=("unit tests", "lint"))
    decision = decide(lenient, evidence(failed))
    assert not decision.merge and decision.blockers == ("CI failed: unit tests, lint",)
    running = {f.name: f for f in factors(POLICY, evidence(replace(PULL, ci_state="PENDING")))}
    assert running["ci"].value == 0.5
    unreported = {f.name: f for f in factors(POLICY, evidence(replace(PULL, ci_state=None)))}
    assert unreported["ci"].value == 0.0 and unreported["ci"].reason == "no CI result on the head commit"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"author": "renovate[bot]"}, "author renovate[bot] is not in the policy's authors"),
        ({"author": "dependabot"}, "author dependabot is not in the policy's authors (dependabot[bot])"),
        ({"files": (ChangedFile("constraints.txt", 1, 1), ChangedFile("src/app.py", 1, 0))},
         "changes paths outside the policy: src/app.py"),
        ({"draft": True}, "the pull request is a draft"),
        ({"state": "MERGED"}, "the pull request is merged"),
        ({"total_files": 101}, "101 changed files: more than the 100 checked for paths"),
        # GitHub shows a rename by its new path only: the file it removed is never checked.
        ({"files": (ChangedFile("constraints.txt", 0, 0, "RENAMED"),)},
         "renames or copies files (the source path is not checked): constraints.txt"),
        ({"files": (ChangedFile(".github/actions/x/a.yml", 3, 0, "COPIED"),)}, "renames or copies files"),
        # Someone who can push to the bot's branch adds a commit: the bot's name does not cover it.
        ({"commits": (BY_BOT, CommitFacts("c" * 40, "mallory@example.com", "mallory", False, "mallory"))},
         "commits not made by dependabot[bot]: cccccccccccc"),
        # The bot's address written by hand into an unsigned (or someone else's signed) commit.
        ({"commits": (CommitFacts("d" * 40, BOT_EMAIL, None, False, None),)}, "commits not made by"),
        ({"commits": (CommitFacts("e" * 40, BOT_EMAIL, None, False, "mallory"),)}, "commits not made by"),
        ({"commits": (BY_BOT,), "total_commits": 101}, "101 commits: more than the 100 checked"),
    ],
)
def test_what_the_policy_does_not_cover_is_never_scored(change, reason):
    decision = decide(POLICY.model_copy(update={"threshold": 0}), evidence(replace(PULL, **change)))
    assert decision.verdict == "not-eligible" and decision.score is None and decision.factors == ()
    assert any(blocker.startswith(reason) for blocker in decision.blockers)


def test_commits_by_the_bot_through_github_are_its_own_and_a_persons_need_their_signature():
    assert BY_BOT.made_by("dependabot[bot]") and not BY_BOT.made_by("renovate[bot]")
    lookalike = CommitFacts("f" * 40, "1+dependabot[bot]@users.noreply.github.com.evil.io", None, True, None)
    assert not lookalike.made_by("dependabot[bot]")
    signed = CommitFacts("f" * 40, "alice@example.com", "alice", signed_by_github=False, signer_login="alice")
    assert signed.made_by("alice") and not replace(signed, signer_login=None).made_by("alice")
    assert decide(POLICY, evidence(replace(PULL, commits=(BY_BOT,), total_commits=1))).eligible


def test_weights_are_normalised_and_a_zero_weight_factor_does_not_count():
    heavy_ci = POLICY.model_copy(update={"weights": POLICY.weights.model_copy(
        update={"ci": 100, "flakes": 0, "similar": 0, "author": 0, "size": 0})})
    assert decide(heavy_ci, evidence()).score == 100.0
    assert weighted_score(()) == 0.0


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        (".github/workflows/*.yml", ".github/workflows/ci.yml", True),
        (".github/workflows/*.yml", ".github/workflows/sub/ci.yml", False),
        (".github/actions/**", ".github/actions/setup-cicd/action.yml", True),
        ("**/requirements*.txt", "requirements-dev.txt", True),
        ("**/requirements*.txt", "a/b/requirements.txt", True),
        ("constraints.txt", "constraints.txt.bak", False),
        ("Docker?ile", "Dockerfile", True),
    ],
)
def test_paths_match_like_git_globs(pattern, path, matches):
    assert glob_match(pattern, path) is matches


def deploy(number: int, version: str, status: str, kind: str = "deploy", previous: str | None = None):
    phases = [{"name": "switch", "status": "succeeded", "seconds": 1.0}]
    return Deployment(number, kind, version, status, "ci", f"2026-11-0{number}T10:00:00Z",
                      previous_version=previous, finished_at=f"2026-11-0{number}T10:01:00Z", phases=phases)


def decision_entry(seq: int, node_id: str, author: str, ecosystems: list[str], requested: bool = True):
    details = {"pr": seq, "node_id": node_id, "author": author, "ecosystems": ecosystems,
               "merge_requested": requested}
    return AuditEntry(seq, "2026-11-01T00:00:00Z", "production", history.ACTION, details=details)


def test_track_records_follow_merged_pull_requests_to_their_deploys_and_dora_failures():
    entries = [
        decision_entry(1, "PR_1", "dependabot[bot]", ["pip"]),
        decision_entry(2, "PR_2", "dependabot[bot]", ["github-actions"]),
        decision_entry(3, "PR_3", "dependabot[bot]", ["pip"]),  # merged, not deployed yet
        decision_entry(4, "PR_4", "dependabot[bot]", ["pip"], requested=False),  # refused: not a merge
        decision_entry(5, "PR_5", "renovate[bot]", ["pip"]),  # closed unmerged
        AuditEntry(6, "2026-11-01T00:00:00Z", "production", "deploy.finish"),
    ]
    merges = history.earlier_merges(entries)
    assert [merge.node_id for merge in merges] == ["PR_1", "PR_2", "PR_3", "PR_5"]
    merged_as = {"PR_1": "c1", "PR_2": "c2", "PR_3": "c3"}
    # 1.0.1 (PR_1) deploys fine; 1.0.2 (PR_2) deploys fine, then a rollback away from it fails it.
    deploys = [deploy(1, "1.0.1", "succeeded"), deploy(2, "1.0.2", "succeeded"),
               deploy(3, "1.0.1", "succeeded", kind="rollback", previous="1.0.2")]
    outcomes = history.change_outcomes(deploys, {"1.0.1": "c1", "1.0.2": "c2"})
    assert outcomes == {"c1": False, "c2": True}
    similar, by_author = history.track_records(merges, merged_as, outcomes, "dependabot[bot]", ("pip",))
    assert similar == TrackRecord(deployed=1, failed=0, merged=2)
    assert by_author == TrackRecord(deployed=2, failed=1, merged=3)
    assert history.failure_rate(deploys) == 0.5
    assert history.failure_rate([]) is None


def test_only_the_gates_latest_decision_says_whether_it_left_auto_merge_on():
    entries = [
        decision_entry(1, "PR_1", "dependabot[bot]", ["pip"]),
        decision_entry(2, "PR_1", "dependabot[bot]", ["pip"], requested=False),  # turned off since
        decision_entry(3, "PR_2", "dependabot[bot]", ["pip"], requested=False),
        decision_entry(4, "PR_2", "dependabot[bot]", ["pip"]),
    ]
    assert not history.gate_left_it_on(entries, "PR_1")
    assert history.gate_left_it_on(entries, "PR_2")
    assert not history.gate_left_it_on(entries, "PR_3")
