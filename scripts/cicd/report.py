"""Markdown reports for step summaries and pull-request comments.

Pure functions from data to text: the job table of a pipeline result (BuildResult) with timings, test
totals from JUnit XML files (one per shard), coverage against its target, and for deploys the versions
live before and after with the verification figures. GitHub renders the Mermaid block of a summary.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cicd.errors import CicdError

ICONS = {
    "success": "✅",
    "failed": "❌",
    "failure": "❌",
    "timed_out": "⏱️",
    "skipped": "⏭️",
    "running": "⏳",
    "pending": "⏳",
    "rolled_back": "↩️",
    "cancelled": "🚫",
}


def icon(status: str | None) -> str:
    return ICONS.get(str(status), "•")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def job_table(result: Mapping[str, Any]) -> str:
    steps = list(result.get("steps") or [])
    lines = ["| Job | Result | Exit | Duration |", "|---|---|---|---:|"]
    for step in steps:
        exit_code = step.get("exit_code")
        name = cell(step.get("name"))
        if step.get("logs_url"):
            name = f"[{name}]({step['logs_url']})"
        lines.append(
            f"| {name} | {icon(step.get('status'))} {cell(step.get('status'))} | "
            f"{'-' if exit_code is None else exit_code} | {duration(step.get('duration_seconds'))} |"
        )
    serial = sum(float(step.get("duration_seconds") or 0) for step in steps)
    wall = result.get("duration_seconds")
    lines.append(
        f"\n{len(steps)} jobs; wall clock {duration(wall)}, jobs one after another {duration(serial)}."
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class JUnitTotals:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failed_cases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    def __add__(self, other: JUnitTotals) -> JUnitTotals:
        return JUnitTotals(
            self.tests + other.tests,
            self.failures + other.failures,
            self.errors + other.errors,
            self.skipped + other.skipped,
            self.seconds + other.seconds,
            self.failed_cases + other.failed_cases,
        )


def read_junit(path: str | Path) -> JUnitTotals:
    """Totals of one JUnit XML report (pytest --junitxml), root <testsuites> or <testsuite>."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - a report our own test run wrote
    except (OSError, ET.ParseError) as err:
        raise CicdError(f"cannot read the test report {path}: {err}") from err
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = JUnitTotals()
    for suite in suites:
        failed = tuple(
            f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
            for case in suite.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None
        )
        totals += JUnitTotals(
            int(suite.get("tests", 0)),
            int(suite.get("failures", 0)),
            int(suite.get("errors", 0)),
            int(suite.get("skipped", 0)),
            float(suite.get("time", 0) or 0),
            failed,
        )
    return totals


def tests_section(totals: JUnitTotals, *, max_failed: int = 20) -> str:
    headline = (
        f"{icon('failed' if totals.failures or totals.errors else 'success')} **Tests:** "
        f"{totals.passed} passed, {totals.failures} failed, {totals.errors} errors, "
        f"{totals.skipped} skipped in {duration(totals.seconds)}"
    )
    shown = [f"- `{name}`" for name in totals.failed_cases[:max_failed]]
    if len(totals.failed_cases) > max_failed:
        shown.append(f"- … and {len(totals.failed_cases) - max_failed} more")
    return "\n".join([headline, *shown])


def read_coverage(path: str | Path) -> float:
    """Total line coverage in percent from `coverage json` output."""
    try:
        return float(json.loads(Path(path).read_text(encoding="utf-8"))["totals"]["percent_covered"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CicdError(f"cannot read the coverage report {path}: {err}") from err


def coverage_section(percent: float, target: float | None = None) -> str:
    if target is None:
        return f"📊 **Coverage:** {percent:.1f}%"
    ok = percent + 1e-9 >= target
    return f"{icon('success' if ok else 'failed')} **Coverage:** {percent:.1f}% (target {target:.1f}%)"


def ci_report(
    *,
    title: str = "CI",
    result: Mapping[str, Any] | None = None,
    tests: JUnitTotals | None = None,
    coverage: float | None = None,
    coverage_target: float | None = None,
    mermaid: str | None = None,
    run_url: str | None = None,
) -> str:
    """The whole CI report: headline, test totals, coverage, job table, pipeline graph."""
    status = str(result.get("status")) if result else None
    parts = [f"### {icon(status) + ' ' if status else ''}{title}" + (f": {status}" if status else "")]
    if tests is not None:
        parts.append(tests_section(tests))
    if coverage is not None:
        parts.append(coverage_section(coverage, coverage_target))
    if result:
        parts.append(job_table(result))
    if mermaid:
        parts.append(
            f"<details><summary>Pipeline graph</summary>\n\n```mermaid\n{mermaid.strip()}\n```\n</details>"
        )
    if run_url:
        parts.append(f"[Run log]({run_url})")
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class LiveVersion:
    version: str
    digest: str | None = None
    color: str | None = None  # blue or green, for blue-green deploys


@dataclass(frozen=True)
class DeployOutcome:
    environment: str
    status: str  # success, failed, rolled_back
    before: LiveVersion | None
    after: LiveVersion | None
    strategy: str | None = None
    url: str | None = None
    verification: Mapping[str, Any] = field(default_factory=dict)  # figure name -> value
    reason: str | None = None


def _version_cell(live: LiveVersion | None) -> str:
    if live is None:
        return "none"
    text = f"`{live.version}`"
    if live.digest:
        text += f" (`{live.digest[:19]}`)"
    if live.color:
        text += f" on {live.color}"
    return text


def deploy_report(outcome: DeployOutcome) -> str:
    """What was live before and after, and the figures the verification window measured."""
    where = f"[{outcome.environment}]({outcome.url})" if outcome.url else outcome.environment
    lines = [
        f"### {icon(outcome.status)} Deploy to {where}: {outcome.status}",
        "",
        "| | Version |",
        "|---|---|",
        f"| Before | {_version_cell(outcome.before)} |",
        f"| After | {_version_cell(outcome.after)} |",
    ]
    if outcome.strategy:
        lines.append(f"| Strategy | {cell(outcome.strategy)} |")
    if outcome.reason:
        lines += ["", f"**Reason:** {cell(outcome.reason)}"]
    if outcome.verification:
        lines += ["", "| Verification | Value |", "|---|---:|"]
        lines += [f"| {cell(name)} | {_figure(value)} |" for name, value in outcome.verification.items()]
    return "\n".join(lines) + "\n"


def _figure(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return cell(value)


def merge_totals(paths: Iterable[str | Path]) -> JUnitTotals:
    totals = JUnitTotals()
    for path in paths:
        totals += read_junit(path)
    return totals


# Elements that JUnit writers (Surefire, pytest-rerunfailures) add to a case that failed and then passed.
FLAKY_ELEMENTS = ("flakyFailure", "flakyError", "rerunFailure", "rerunError")


def flaky_cases(path: str | Path) -> list[str]:
    """Cases of one JUnit XML report that failed at first and passed on a rerun."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 - a report our own test run wrote
    except (OSError, ET.ParseError) as err:
        raise CicdError(f"cannot read the test report {path}: {err}") from err
    return [
        f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        for case in root.iter("testcase")
        if any(case.find(tag) is not None for tag in FLAKY_ELEMENTS)
    ]


def read_coverage_xml(path: str | Path) -> float:
    """Total line coverage in percent from a Cobertura coverage.xml (`coverage xml`, pytest-cov)."""
    try:
        rate = ET.parse(path).getroot().get("line-rate")  # noqa: S314 - written by our own test run
        return float(rate or "") * 100
    except (OSError, ET.ParseError, ValueError) as err:
        raise CicdError(f"cannot read the coverage report {path}: {err}") from err
