"""Track records from what is already recorded: the gate's own earlier decisions in the environment's
ledger, GitHub's answer on which of those pull requests were merged (and as which commit), the GitHub
Deployments API's version -> commit of that environment, and the DORA definition of a change and of a
failed one (cicd.reports.dora.changes) over its deploy history.

A merged pull request counts as deployed once a deploy of its merge commit reached traffic; it failed
when that change failed (rolled back, automatically or later, or failed after the switch). The same
facts from GitHub's own records, for a runner without the ledger, are in cicd.trust.github_record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cicd.reports.dora import changes
from cicd.state.records import AuditEntry, Deployment
from cicd.trust.score import TrackRecord

ACTION = "automerge.decide"  # the ledger action of every decision the gate makes
LEDGER_LOOKBACK = 5000  # newest ledger entries searched for earlier decisions


@dataclass(frozen=True)
class EarlierMerge:
    node_id: str
    number: int
    author: str
    ecosystems: tuple[str, ...]


def earlier_merges(entries: Iterable[AuditEntry]) -> list[EarlierMerge]:
    """Pull requests the gate handed to GitHub's merge, oldest first, each once."""
    found: dict[str, EarlierMerge] = {}
    for entry in entries:
        details = entry.details or {}
        if entry.action != ACTION or not details.get("merge_requested") or not details.get("node_id"):
            continue
        found[details["node_id"]] = EarlierMerge(
            details["node_id"], int(details.get("pr") or 0), str(details.get("author") or ""),
            tuple(details.get("ecosystems") or ()),
        )
    return list(found.values())


def gate_left_it_on(entries: Iterable[AuditEntry], node_id: str) -> bool:
    """Whether the gate's latest decision on this pull request turned GitHub's auto-merge on (a later
    one that turned it off, or a maintainer turning it on again after that, leaves it to them)."""
    latest = None
    for entry in entries:
        if entry.action == ACTION and (entry.details or {}).get("node_id") == node_id:
            latest = entry
    return bool(latest and latest.details.get("merge_requested"))


def change_outcomes(history: list[Deployment], version_shas: Mapping[str, str]) -> dict[str, bool]:
    """commit -> whether its change failed, for every deploy (oldest first) that reached traffic."""
    outcomes: dict[str, bool] = {}
    for change in changes(history):
        sha = version_shas.get(change.deployment.version)
        if sha:
            outcomes[sha] = outcomes.get(sha, False) or change.failed
    return outcomes


def record_of(
    merges: Iterable[EarlierMerge], merged_as: Mapping[str, str], outcomes: Mapping[str, bool],
    include: Callable[[EarlierMerge], bool],
) -> TrackRecord:
    merged = [merge for merge in merges if include(merge) and merge.node_id in merged_as]
    deployed = [merged_as[merge.node_id] for merge in merged if merged_as[merge.node_id] in outcomes]
    return TrackRecord(deployed=len(deployed), failed=sum(1 for sha in deployed if outcomes[sha]),
                       merged=len(merged))


def track_records(
    merges: list[EarlierMerge], merged_as: Mapping[str, str], outcomes: Mapping[str, bool],
    author: str, ecosystems: tuple[str, ...],
) -> tuple[TrackRecord, TrackRecord]:
    """(similar changes: sharing an ecosystem, changes by the same author)."""
    similar = record_of(merges, merged_as, outcomes, lambda m: bool(set(m.ecosystems) & set(ecosystems)))
    by_author = record_of(merges, merged_as, outcomes, lambda m: m.author == author)
    return similar, by_author


def failure_rate(history: list[Deployment]) -> float | None:
    """The environment's change failure rate over its whole history (DORA's definition)."""
    found = changes(history)
    return sum(1 for change in found if change.failed) / len(found) if found else None
