"""The four DORA metrics of one environment, from its deploy history, with bands and the seeds' targets.

Definitions (what counts, and from when to when):
- A *change* is a deploy that reached traffic: it succeeded, or its `switch` phase succeeded before it
  failed or was rolled back. Deploys that failed before the switch never touched users.
- Deployment frequency: successful deploys per day over the window, or since the first recorded deploy
  when the history is younger than the window (at least one day: two deploys in an hour are not 48 a
  day).
- Lead time for changes: commit time (git) of the deployed version -> the end of its successful deploy;
  the median over the deploys whose commit could be found.
- Change failure rate: changes that were rolled back (automatically by verification, or later by a
  `cicd rollback` away from that version) or that failed after the switch, divided by changes.
- Time to restore: from the moment a failed change took traffic (the end of its switch phase, or the
  end of the deploy for a later manual rollback) until a good version served again (the end of the
  automatic rollback, or the next successful deploy or rollback); the median.

Bands follow the Accelerate State of DevOps 2021 report, closing its gaps upwards: lead time elite < 1 h,
high < 1 week, medium < 6 months; restore elite < 1 h, high < 1 day, medium < 1 week; frequency elite
on demand (>= 1 a day), high >= 1 a week, medium >= 1 a month; change failure rate elite <= 15 %,
high <= 30 % (the report puts high, medium and low all at 16-30 %; above that we say low).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cicd.reports.stats import human_seconds, median, parse_time
from cicd.state.records import Deployment

HOUR, DAY, WEEK = 3600.0, 86400.0, 7 * 86400.0


@dataclass(frozen=True)
class Target:
    text: str
    met: Callable[[float], bool]


# The four keys in the order every report shows them.
METRIC_TITLES = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore": "Time to restore",
}


# The seeds' targets (CD focus): several deploys a day, lead time under 1 hour, change failure rate under
# 5 %, time to restore under 5 minutes.
TARGETS = {
    "deployment_frequency": Target("more than 1 a day", lambda per_day: per_day > 1),
    "lead_time": Target("< 1 hour", lambda seconds: seconds < HOUR),
    "change_failure_rate": Target("< 5 %", lambda rate: rate < 0.05),
    "time_to_restore": Target("< 5 minutes", lambda seconds: seconds < 300),
}


def frequency_band(per_day: float) -> str:
    if per_day >= 1:
        return "elite"
    if per_day >= 1 / 7:
        return "high"
    return "medium" if per_day >= 1 / 30 else "low"


def lead_time_band(seconds: float) -> str:
    if seconds < HOUR:
        return "elite"
    if seconds < WEEK:
        return "high"
    return "medium" if seconds < 182 * DAY else "low"


def failure_rate_band(rate: float) -> str:
    if rate <= 0.15:
        return "elite"
    return "high" if rate <= 0.30 else "low"


def restore_band(seconds: float) -> str:
    if seconds < HOUR:
        return "elite"
    if seconds < DAY:
        return "high"
    return "medium" if seconds < WEEK else "low"


@dataclass(frozen=True)
class Change:
    """A deploy that reached traffic, and whether (and when) it failed and was restored."""

    deployment: Deployment
    live_at: datetime
    failed: bool
    restored_at: datetime | None = None


def switch_end(deployment: Deployment, started: datetime) -> datetime | None:
    """When the deploy's traffic switch completed: the phases run one after another from its start."""
    elapsed = 0.0
    for phase in deployment.phases:
        elapsed += float(phase.get("seconds") or 0)
        if phase.get("name") == "switch" and phase.get("status") == "succeeded":
            return started + timedelta(seconds=elapsed)
    return None


def changes(deployments: Sequence[Deployment]) -> list[Change]:
    """Changes, oldest first, from the history oldest first (deploys and rollbacks)."""
    found: list[Change] = []
    open_failures: list[int] = []  # indexes in `found` of failed changes not yet restored
    for item in deployments:
        started, finished = parse_time(item.started_at), parse_time(item.finished_at)
        if started is None or finished is None:
            continue  # still running or interrupted without an end: not a finished change
        good = item.status == "succeeded"
        if good and open_failures:
            for index in open_failures:
                found[index] = _restored(found[index], finished)
            open_failures.clear()
        if item.kind == "rollback":
            if good:
                _mark_rolled_away(found, item.previous_version, finished)
            continue
        live_at = switch_end(item, started) if not good else finished
        if live_at is None:
            continue
        failed = item.status in ("rolled_back", "failed")
        restored = finished if item.status == "rolled_back" else None
        found.append(Change(item, min(live_at, finished), failed, restored))
        if failed and restored is None:
            open_failures.append(len(found) - 1)
    return found


def _restored(change: Change, moment: datetime) -> Change:
    return Change(change.deployment, change.live_at, change.failed, moment)


def _mark_rolled_away(found: list[Change], version: str | None, moment: datetime) -> None:
    """A later rollback away from a version that deployed fine makes that deploy a failed change."""
    for index in range(len(found) - 1, -1, -1):
        change = found[index]
        if change.deployment.version == version:
            if not change.failed:
                found[index] = Change(change.deployment, change.live_at, True, moment)
            return


def _metric(name: str, value: float | None, band: str | None, shown: str, **extra: Any) -> dict[str, Any]:
    target = TARGETS[name]
    return {
        "value": value,
        "shown": shown,
        "band": band,
        "target": target.text,
        "meets_target": None if value is None else target.met(value),
        **extra,
    }


def compute(
    deployments: Sequence[Deployment],
    commit_times: Mapping[str, datetime],
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """The four metrics over [since, until] from the history (oldest first, any range)."""
    in_window = [d for d in deployments if (parse_time(d.started_at) or since) >= since]
    found = changes(in_window)
    first = parse_time(deployments[0].started_at) if deployments else None
    measured_from = max(since, first) if first else since
    days = max((until - measured_from).total_seconds() / DAY, 1.0)
    good = [c for c in found if not c.failed and c.deployment.kind == "deploy"]
    deploys = sum(1 for d in in_window if d.kind == "deploy" and d.status == "succeeded")
    per_day = deploys / days
    leads = [
        (c.live_at - commit_times[c.deployment.version]).total_seconds()
        for c in good
        if c.deployment.version in commit_times
    ]
    lead = median([max(0.0, s) for s in leads])
    failures = [c for c in found if c.failed]
    rate = len(failures) / len(found) if found else None
    restores = [(c.restored_at - c.live_at).total_seconds() for c in failures if c.restored_at]
    restore = median([max(0.0, s) for s in restores])
    return {
        "deployment_frequency": _metric(
            "deployment_frequency", round(per_day, 3), frequency_band(per_day),
            f"{per_day:.2f} a day", unit="deploys per day", deploys=deploys, days=round(days, 2),
        ),
        "lead_time": _metric(
            "lead_time", lead, None if lead is None else lead_time_band(lead), human_seconds(lead),
            unit="seconds (median)", samples=len(leads), without_commit=len(good) - len(leads),
        ),
        "change_failure_rate": _metric(
            "change_failure_rate", None if rate is None else round(rate, 4),
            None if rate is None else failure_rate_band(rate),
            "n/a" if rate is None else f"{rate * 100:.1f} %",
            unit="fraction of changes", failures=len(failures), changes=len(found),
        ),
        "time_to_restore": _metric(
            "time_to_restore", restore, None if restore is None else restore_band(restore),
            human_seconds(restore), unit="seconds (median)", samples=len(restores),
            unrestored=len(failures) - len(restores),
        ),
    }
