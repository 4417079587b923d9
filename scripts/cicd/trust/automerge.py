"""Trust-gated auto-merge of one pull request, top to bottom: read it, check the policy covers it, gather
the evidence, score it, hand it to GitHub's auto-merge when the score reaches the threshold, append the
decision and every input to the ledger, and say why in the pull request's sticky comment.

The ledger entry is written whatever happens, GitHub's refusal included: the next decision reads the
earlier ones (cicd.trust.history), and a person asking "why did this merge?" finds the inputs there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient
from cicd.github.comments import upsert_sticky_comment
from cicd.reports.sources import ALL_ROWS, github_commit_shas
from cicd.state import StateStore
from cicd.trust import github_record, history, queries
from cicd.trust.policy import AutoMergePolicy
from cicd.trust.score import Decision, Evidence, PullRequestFacts, decide, eligibility, not_eligible

COMMENT_KEY = "automerge"


@dataclass(frozen=True)
class Outcome:
    pull: PullRequestFacts
    decision: Decision
    result: str  # what was done on GitHub ("auto-merge enabled", "not merged", ...) or GitHub's refusal
    comment: str  # the sticky comment's text (also the job summary)
    ledger_seq: int | None = None  # None: a person's pull request, outside the gate (nothing recorded)
    comment_url: str | None = None


def gather(
    client: GitHubClient, state: StateStore, policy: AutoMergePolicy, pull: PullRequestFacts
) -> tuple[Evidence, dict[str, Any]]:
    """The evidence to score, and what it was drawn from (for the ledger)."""
    ecosystems = tuple(policy.ecosystems_of(pull.paths))
    runs, flaky = queries.ci_history(client, policy.ci_workflow)
    merges = [m for m in history.earlier_merges(state.audit_entries(history.LEDGER_LOOKBACK))
              if m.node_id != pull.node_id]
    merged_as = queries.merge_commits(client, [merge.node_id for merge in merges]) if merges else {}
    deploys = list(reversed(state.history(ALL_ROWS)))
    shas, shas_source = github_commit_shas(policy.environment)
    outcomes = history.change_outcomes(deploys, shas)
    # GitHub's own records, for a runner whose ledger is empty (a fresh one) or out of reach: united with
    # the ledger's, a failure either one saw counts.
    on_github, on_github_as = github_record.merged_pulls(client, policy.authors, policy.ecosystems_of)
    known = {merge.node_id for merge in merges}
    merges += [m for m in on_github if m.node_id not in known and m.node_id != pull.node_id]
    merged_as = {**on_github_as, **merged_as}
    github_outcomes = github_record.deploy_outcomes(client, policy.environment)
    for sha, failed in github_outcomes.items():
        outcomes[sha] = outcomes.get(sha, False) or failed
    similar, by_author = history.track_records(merges, merged_as, outcomes, pull.author, ecosystems)
    rate = history.failure_rate(deploys)
    evidence = Evidence(pull, policy.environment, ecosystems, runs, flaky, similar, by_author)
    sources = {"earlier_merges": len(merges), "earlier_merges_on_github": len(on_github),
               "github_deploy_outcomes": len(github_outcomes), "environment_change_failure_rate": rate,
               "deploy_commits": shas_source}
    return evidence, sources


def run_automerge(
    client: GitHubClient, state: StateStore, policy: AutoMergePolicy, number: int, *, dry_run: bool = False
) -> Outcome:
    pull = queries.fetch_pull(client, number)
    reasons = eligibility(policy, pull)
    if pull.author not in policy.authors and not pull.by_bot:
        # A person's pull request: the gate neither merges nor comments on it, and the ledger stays quiet.
        decision = not_eligible(policy, reasons)
        return Outcome(pull, decision, "not merged", f"{summary(decision)}: {reasons[0]}")
    evidence, sources = (None, {}) if reasons else gather(client, state, policy, pull)
    decision = not_eligible(policy, reasons) if evidence is None else decide(policy, evidence)
    result, failure = "not merged", None
    try:
        result = act_on(client, state, policy, pull, decision, dry_run) or result
    except GitHubError as err:
        result, failure = f"GitHub refused: {err}", err
    entry = state.append_audit(ledger_entry(pull, decision, evidence, sources, result, failure is None))
    body = comment_body(pull, decision, result, policy.environment, entry.seq)
    comment = upsert_sticky_comment(client, number, COMMENT_KEY, body)
    if failure is not None:
        raise failure
    return Outcome(pull, decision, result, body, entry.seq, comment.url)


def act_on(
    client: GitHubClient, state: StateStore, policy: AutoMergePolicy, pull: PullRequestFacts,
    decision: Decision, dry_run: bool,
) -> str | None:
    """Turn GitHub's auto-merge on for a merge; off when an earlier decision of this gate turned it on
    and the evidence no longer allows it (a push, a failed deploy of a similar change). None: nothing
    to do."""
    if dry_run:
        return "dry run: nothing changed on GitHub"
    if decision.merge:
        return queries.enable_auto_merge(client, pull, policy.merge_method)
    if pull.auto_merge_enabled:
        if history.gate_left_it_on(state.audit_entries(history.LEDGER_LOOKBACK), pull.node_id):
            return queries.disable_auto_merge(client, pull)
        return "not merged; the auto-merge someone else turned on stays on"
    return None


def ledger_entry(
    pull: PullRequestFacts, decision: Decision, evidence: Evidence | None, sources: dict[str, Any],
    result: str, ok: bool,
) -> dict[str, Any]:
    merge_requested = decision.merge and ok and not result.startswith(("dry run", "not merged"))
    details: dict[str, Any] = {
        "pr": pull.number, "node_id": pull.node_id, "author": pull.author, "head_oid": pull.head_oid,
        "paths": pull.paths, "diff_lines": pull.diff_lines, "ci_state": pull.ci_state,
        "failing_checks": list(pull.failing_checks), "merge_requested": merge_requested, "result": result,
        **decision.as_dict(), **sources,
    }
    if evidence is not None:
        details.update(ecosystems=list(evidence.ecosystems), ci_runs=evidence.ci_runs,
                       flaky_runs=evidence.flaky_runs, similar_record=vars(evidence.similar),
                       author_record=vars(evidence.author))
    return {
        "action": history.ACTION, "outcome": decision.verdict if ok else "error",
        "reason": f"pull request #{pull.number}: {summary(decision)}", "details": details,
    }


def summary(decision: Decision) -> str:
    if not decision.eligible:
        return "not covered by the auto-merge policy"
    comparison = ">=" if decision.score is not None and decision.score >= decision.threshold else "<"
    verdict = "merge" if decision.merge else "no merge"
    return f"trust score {decision.score:g} {comparison} threshold {decision.threshold:g}: {verdict}"


def comment_body(pull: PullRequestFacts, decision: Decision, result: str, environment: str, seq: int) -> str:
    """The sticky comment: the verdict first, then each factor with its weight and reason."""
    lines = [f"### Trust-gated auto-merge: {summary(decision)}", "", f"**Result:** {result}", ""]
    if decision.blockers:
        lines += ["**Why not:**", *[f"- {reason}" for reason in decision.blockers], ""]
    if decision.factors:
        lines += ["| factor | weight | value | why |", "| --- | ---: | ---: | --- |"]
        lines += [f"| {f.name} | {f.weight:g} | {f.value:.2f} | {f.reason} |" for f in decision.factors]
        lines.append("")
    lines.append(f"Head `{pull.head_oid[:12]}`; decision and inputs recorded in the {environment} ledger "
                 f"(entry {seq}, `cicd audit --env {environment}`).")
    return "\n".join(lines)
