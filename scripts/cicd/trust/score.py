"""The trust score of a pull request, from facts already gathered: pure, no effects.

Eligibility comes first and is not weighed: an author outside the policy, a commit its author did not
make (someone who can push to the bot's branch adds one), a changed file outside its paths or a file
renamed or copied (GitHub shows only the new path: the old one could be anywhere), a draft or closed
pull request, failing CI. Then five factors, each a value from 0 to 1:

- ci: the head commit's check rollup (success 1, still running 0.5: GitHub's auto-merge then waits for
  the required checks anyway, nothing reported 0);
- flakes: the share of the CI workflow's recent runs that passed only on a re-run; 0 at 20 % or more;
- similar: earlier merged changes of the same ecosystem that reached the environment, and how many of
  them failed there (the DORA change failure rate of that slice);
- author: the same for every earlier change of this author;
- size: additions plus deletions, 0 at the policy's max_diff_lines.

A track record of n deployed changes with f failures scores (n - f + 1) / (n + 2): no history at all is
0.5 (neither trusted nor distrusted), and each good deploy moves it towards 1 without ever reaching it.
The score is the weighted mean times 100; the pull request is merged at or above the threshold.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

from cicd.trust.policy import AutoMergePolicy

FLAKY_AT_ZERO = 0.2  # a CI that needs a re-run this often says nothing about the change
MAX_FILES_SEEN = 100  # files read per pull request; past it, paths cannot all be checked
MAX_COMMITS_SEEN = 100  # commits read per pull request; past it, authorship cannot all be checked
MOVES = ("RENAMED", "COPIED")  # change types whose source path GitHub's GraphQL does not show
FAILED_CI = ("FAILURE", "ERROR")


@dataclass(frozen=True)
class ChangedFile:
    path: str
    additions: int
    deletions: int
    change_type: str = "MODIFIED"  # GitHub's PatchStatus: ADDED, DELETED, MODIFIED, RENAMED, COPIED, ...


@dataclass(frozen=True)
class CommitFacts:
    """Who made one commit of the pull request, as GitHub verified it."""

    oid: str
    author_email: str | None
    author_login: str | None  # the GitHub user the author email belongs to (None for a bot)
    signed_by_github: bool  # a valid signature made with GitHub's own key (a bot's commits carry one)
    signer_login: str | None  # whose valid signature it carries otherwise

    def made_by(self, login: str) -> bool:
        """A bot's commit is made through GitHub (its noreply address, GitHub's signature); a person's
        carries that person's own valid signature."""
        if login.endswith("[bot]"):
            noreply = re.fullmatch(r"\d+\+" + re.escape(login) + r"@users\.noreply\.github\.com",
                                   self.author_email or "")
            return noreply is not None and self.signed_by_github
        return self.author_login == login and self.signer_login == login


@dataclass(frozen=True)
class PullRequestFacts:
    number: int
    node_id: str
    author: str  # a bot's login as GitHub shows it in the REST API: dependabot[bot]
    state: str  # OPEN, CLOSED, MERGED
    draft: bool
    head_oid: str
    merge_state: str  # GitHub's mergeStateStatus
    files: tuple[ChangedFile, ...]
    total_files: int
    ci_state: str | None  # the head commit's statusCheckRollup state; None: no checks reported
    failing_checks: tuple[str, ...] = ()
    check_count: int = 0
    auto_merge_enabled: bool = False  # GitHub's auto-merge is on already (an earlier decision)
    commits: tuple[CommitFacts, ...] = ()
    total_commits: int = 0

    @property
    def paths(self) -> list[str]:
        return [changed.path for changed in self.files]

    @property
    def by_bot(self) -> bool:
        return self.author.endswith("[bot]")

    @property
    def diff_lines(self) -> int:
        return sum(changed.additions + changed.deletions for changed in self.files)


@dataclass(frozen=True)
class TrackRecord:
    """Earlier changes that reached the environment, and how many of them failed there."""

    deployed: int = 0
    failed: int = 0
    merged: int = 0  # merged by this gate, deployed or not yet

    @property
    def value(self) -> float:
        return (self.deployed - self.failed + 1) / (self.deployed + 2)


@dataclass(frozen=True)
class Evidence:
    pull: PullRequestFacts
    environment: str
    ecosystems: tuple[str, ...]
    ci_runs: int  # completed runs of the CI workflow looked at
    flaky_runs: int  # of those, runs that passed only on a re-run
    similar: TrackRecord
    author: TrackRecord


@dataclass(frozen=True)
class Factor:
    name: str
    value: float
    weight: float
    reason: str


@dataclass(frozen=True)
class Decision:
    merge: bool
    eligible: bool
    score: float | None
    threshold: float
    blockers: tuple[str, ...] = ()
    factors: tuple[Factor, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        if not self.eligible:
            return "not-eligible"
        return "merge" if self.merge else "refuse"

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def eligibility(policy: AutoMergePolicy, pull: PullRequestFacts) -> list[str]:
    """Why the policy does not cover this pull request at all (empty: it does)."""
    reasons = []
    if pull.author not in policy.authors:
        reasons.append(f"author {pull.author} is not in the policy's authors ({', '.join(policy.authors)})")
    if pull.total_files > MAX_FILES_SEEN:
        reasons.append(f"{pull.total_files} changed files: more than the {MAX_FILES_SEEN} checked for paths")
    outside = [path for path in pull.paths if not policy.allows_path(path)]
    if outside:
        reasons.append(f"changes paths outside the policy: {_listed(outside)}")
    moved = [f.path for f in pull.files if f.change_type in MOVES]
    if moved:
        reasons.append(f"renames or copies files (the source path is not checked): {_listed(moved)}")
    reasons += authorship(pull)
    if pull.state != "OPEN":
        reasons.append(f"the pull request is {pull.state.lower()}")
    elif pull.draft:
        reasons.append("the pull request is a draft")
    return reasons


def authorship(pull: PullRequestFacts) -> list[str]:
    """A pull request is its author's only when every commit on it is: a push by anyone else to the
    bot's branch must not ride on the bot's name."""
    if pull.total_commits > MAX_COMMITS_SEEN:
        return [f"{pull.total_commits} commits: more than the {MAX_COMMITS_SEEN} checked for authorship"]
    foreign = [commit.oid[:12] for commit in pull.commits if not commit.made_by(pull.author)]
    if foreign:
        return [f"commits not made by {pull.author}: {_listed(foreign)}"]
    return []


def _listed(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def ci_factor(pull: PullRequestFacts, weight: float) -> Factor:
    if pull.ci_state == "SUCCESS":
        return Factor("ci", 1.0, weight, f"CI passed on the head commit ({pull.check_count} checks)")
    if pull.ci_state in ("PENDING", "EXPECTED"):
        return Factor("ci", 0.5, weight, "CI still running (GitHub merges only once required checks pass)")
    if pull.ci_state in FAILED_CI:
        failed = ", ".join(pull.failing_checks) or pull.ci_state.lower()
        return Factor("ci", 0.0, weight, f"CI failed: {failed}")
    return Factor("ci", 0.0, weight, "no CI result on the head commit")


def flake_factor(evidence: Evidence, workflow: str, weight: float) -> Factor:
    if evidence.ci_runs == 0:
        return Factor("flakes", 0.5, weight, f"no completed {workflow} runs to judge flakiness")
    rate = evidence.flaky_runs / evidence.ci_runs
    value = max(0.0, 1.0 - rate / FLAKY_AT_ZERO)
    return Factor("flakes", value, weight, f"{evidence.flaky_runs} of the last {evidence.ci_runs} {workflow} "
                  f"runs passed only on a re-run ({rate:.0%})")


def record_reason(record: TrackRecord, what: str, environment: str) -> str:
    if record.deployed == 0:
        pending = f" ({record.merged} merged, none deployed yet)" if record.merged else ""
        return f"no earlier {what} deployed to {environment}{pending}"
    rate = record.failed / record.deployed
    return (f"{record.deployed} earlier {what} deployed to {environment}, {record.failed} failed "
            f"(change failure rate {rate:.0%})")


def size_factor(pull: PullRequestFacts, max_lines: int, weight: float) -> Factor:
    lines = pull.diff_lines
    value = max(0.0, 1.0 - lines / max_lines)
    reason = f"{lines} changed lines in {pull.total_files} files (0 at {max_lines})"
    return Factor("size", value, weight, reason)


def factors(policy: AutoMergePolicy, evidence: Evidence) -> tuple[Factor, ...]:
    weights, pull = policy.weights, evidence.pull
    kinds = "/".join(evidence.ecosystems) or "unclassified"
    return (
        ci_factor(pull, weights.ci),
        flake_factor(evidence, policy.ci_workflow, weights.flakes),
        Factor("similar", evidence.similar.value, weights.similar,
               record_reason(evidence.similar, f"{kinds} changes", evidence.environment)),
        Factor("author", evidence.author.value, weights.author,
               record_reason(evidence.author, f"changes by {pull.author}", evidence.environment)),
        size_factor(pull, policy.max_diff_lines, weights.size),
    )


def weighted_score(found: tuple[Factor, ...]) -> float:
    """The weighted mean times 100, to one decimal, rounded down: rounding to nearest turned a 74.95 (no
    track record at all, a two-line change) into a 75 that met the shipped threshold."""
    total = sum(factor.weight for factor in found)
    if not total:
        return 0.0
    exact = 100 * sum(factor.value * factor.weight for factor in found) / total
    return math.floor(exact * 10 + 1e-9) / 10  # the epsilon: 74.999999... from float sums is 75


def decide(policy: AutoMergePolicy, evidence: Evidence) -> Decision:
    """Merge when eligible, CI has not failed and the score reaches the threshold."""
    blockers = eligibility(policy, evidence.pull)
    if blockers:
        return not_eligible(policy, blockers)
    found = factors(policy, evidence)
    score = weighted_score(found)
    if evidence.pull.ci_state in FAILED_CI:
        blockers = [found[0].reason]
    elif score < policy.threshold:
        blockers = [f"score {score:g} is below the threshold {policy.threshold:g}"]
    return Decision(not blockers, True, score, policy.threshold, tuple(blockers), found)


def not_eligible(policy: AutoMergePolicy, reasons: list[str]) -> Decision:
    return Decision(False, False, None, policy.threshold, tuple(reasons))
