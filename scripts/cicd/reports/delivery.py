"""The DORA report of one environment: records in, metrics with their sources out (`cicd report dora`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cicd.errors import UsageError
from cicd.reports import commits, dora
from cicd.reports.dora import METRIC_TITLES
from cicd.reports.sources import EnvironmentRecords, github_commit_shas, load_environment

SINCE = re.compile(r"^(\d+)([hdw])$")
UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime) -> datetime:
    """`30d`, `12h`, `2w`, or an ISO date/time."""
    match = SINCE.match(text.strip())
    if match:
        return now - timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r}: expected a duration like 30d, 12h or 2w, or a date like 2026-11-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dora_report(
    records: EnvironmentRecords,
    since: datetime,
    until: datetime,
    repo: Path,
    github: tuple[dict[str, str], str] = ({}, "not used"),
) -> dict[str, Any]:
    index = commits.read_index(repo)
    shas, github_note = github
    versions = [d.version for d in records.deployments if d.kind == "deploy"]
    commit_times = index.commit_times(versions, shas)
    metrics = dora.compute(records.deployments, commit_times, since, until)
    return {
        "environment": records.name,
        "since": since.isoformat(timespec="seconds"),
        "until": until.isoformat(timespec="seconds"),
        "sources": {
            "deployments": f"deploy history at {records.where}" if records.where else "none",
            "commit_times": index.problem or f"git repository {index.where}",
            "github_deployments": github_note,
        },
        **metrics,
    }


def dora_for(
    config_dir: Path, environment: str, since_text: str, repo: Path, *, use_github: bool = True
) -> dict[str, Any]:
    """What `cicd report dora` prints: read the environment's records, then compute."""
    from cicd.errors import StateError

    now = datetime.now(UTC)
    since = parse_since(since_text, now)
    records = load_environment(config_dir, environment)
    if records.problem:
        raise StateError(f"cannot read the history of {environment}: {records.problem}")
    github = github_commit_shas(environment) if use_github else ({}, "not used (--no-github)")
    return dora_report(records, since, now, repo, github)


def render_text(report: dict[str, Any]) -> str:
    lines = [f"DORA metrics of {report['environment']} since {report['since']}", ""]
    for key, title in METRIC_TITLES.items():
        metric = report[key]
        met = {True: "meets", False: "misses", None: "no data for"}[metric["meets_target"]]
        band = metric["band"] or "-"
        lines.append(
            f"  {title:<24} {metric['shown']:>12}  band {band:<7} {met} target {metric['target']}"
        )
    lines.append("")
    lines += [f"  source: {name.replace('_', ' ')}: {text}" for name, text in report["sources"].items()]
    lead = report["lead_time"]
    if lead["without_commit"]:
        lines.append(f"  note: {lead['without_commit']} successful deploys name no commit git knows")
    return "\n".join(lines)


def step_summary(config_dir: Path, environment: str, repo: Path = Path(".")) -> str:
    """The four numbers for a deploy's job summary. Never fails the deploy it follows: a history that
    cannot be read gives one line saying so."""
    from cicd.errors import CicdError
    from cicd.reports import markdown

    try:
        return markdown.dora(dora_for(config_dir, environment, "30d", repo))
    except CicdError as err:
        return f"DORA metrics of {environment} unavailable: {err}\n"
