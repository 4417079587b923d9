"""Deployments per environment: what is live, history, outcomes, durations per phase, rollbacks, MTTR."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from cicd.reports import dora
from cicd.reports.sources import EnvironmentRecords
from cicd.reports.stats import median, percentile

RECENT_DEPLOYS = 20  # shown as timelines
PHASE_WINDOW = 500  # newest deploys whose phases make the per-phase durations: how deploys run now


def live(records: EnvironmentRecords) -> dict[str, Any] | None:
    current = records.current
    if current is None or current.current_version is None:
        return None
    return {
        "version": current.current_version,
        "digest": current.digest,
        "color": current.live_color,
        "since": current.deployed_at,
        "deployed_by": current.deployed_by,
        "previous_version": current.previous_version,
    }


def timeline(item: Any) -> dict[str, Any]:
    """One deploy with its phases laid end to end (they run one after another)."""
    offset, phases = 0.0, []
    for phase in item.phases:
        seconds = float(phase.get("seconds") or 0)
        phases.append(
            {"name": phase.get("name"), "status": phase.get("status"), "start": round(offset, 3),
             "seconds": seconds}
        )
        offset += seconds
    return {
        "id": item.id,
        "kind": item.kind,
        "version": item.version,
        "status": item.status,
        "started_at": item.started_at,
        "duration_seconds": item.duration_seconds,
        "strategy": item.strategy,
        "actor": item.actor,
        "error": item.error,
        "phases": phases,
    }


def phase_durations(deployments: Sequence[Any]) -> dict[str, dict[str, float | None]]:
    values: dict[str, list[float]] = defaultdict(list)
    for item in deployments:
        for phase in item.phases:
            if isinstance(phase.get("seconds"), int | float):
                values[str(phase.get("name"))].append(float(phase["seconds"]))
    return {
        name: {"median_seconds": median(seconds), "p95_seconds": percentile(seconds, 0.95)}
        for name, seconds in values.items()
    }


def environment(records: EnvironmentRecords) -> dict[str, Any]:
    if records.problem:
        return {"name": records.name, "problem": records.problem}
    items = records.deployments
    failures = [change for change in dora.changes(items) if change.failed]
    restores = [(c.restored_at - c.live_at).total_seconds() for c in failures if c.restored_at]
    durations = [d.duration_seconds for d in items if d.duration_seconds is not None]
    return {
        "name": records.name,
        "source": records.where,
        "live": live(records),
        "deploys": sum(1 for d in items if d.kind == "deploy"),
        "rollbacks": sum(1 for d in items if d.kind == "rollback" or d.status == "rolled_back"),
        "outcomes": dict(Counter(d.status for d in items)),
        "duration": {"median_seconds": median(durations), "p95_seconds": percentile(durations, 0.95)},
        "phases": phase_durations(items[-PHASE_WINDOW:]),
        "mttr_seconds": median([max(0.0, s) for s in restores]),
        "recent": [timeline(item) for item in reversed(items[-RECENT_DEPLOYS:])],
    }


def deployment(all_records: Sequence[EnvironmentRecords]) -> dict[str, Any]:
    return {"environments": [environment(records) for records in all_records]}
