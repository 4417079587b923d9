"""Test quality from the job artifacts and logs: tests and failures (JUnit XML), coverage (Cobertura
coverage.xml or `coverage json`), lint findings, and flaky tests.

A flaky test is one that failed and then passed on a retry: a JUnit case carrying a rerun/flaky element,
or a test named on a `FAILED` line in the log of a job that succeeded on a later attempt (the log keeps
every attempt; the job passing means the test passed the second time). A flaky job passed on retry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cicd import report
from cicd.errors import CicdError

FAILED_LINE = re.compile(r"^(?:\[\w[\w-]*\] )?FAILED (\S+)", re.MULTILINE)
LINT_FOUND = re.compile(r"^Found (\d+) errors?\b", re.MULTILINE)
LINT_CLEAN = re.compile(r"^(All checks passed!|Success: no issues found)", re.MULTILINE)
FLAKY_SCAN_RUNS = 200  # newest runs whose logs are read for flaky tests


def _kind(path: Path) -> str | None:
    """What an XML artifact is, from its root element."""
    try:
        for _event, element in ET.iterparse(path, events=("start",)):  # noqa: S314 - our own artifact
            return {"testsuites": "junit", "testsuite": "junit", "coverage": "coverage"}.get(element.tag)
    except (OSError, ET.ParseError):
        return None
    return None


def artifact_reports(run: dict[str, Any], base: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {"junit": [], "coverage": [], "coverage_json": []}
    for name in run.get("artifacts") or []:
        path = base / str(name)
        if path.suffix == ".xml" and (kind := _kind(path)):
            found[kind].append(path)
        elif path.name in ("coverage.json", "coverage-final.json"):
            found["coverage_json"].append(path)
    return found


def _tests(paths: Sequence[Path]) -> dict[str, Any] | None:
    if not paths:
        return None
    totals = report.merge_totals(paths)
    return {
        "total": totals.tests,
        "passed": totals.passed,
        "failed": totals.failures,
        "errors": totals.errors,
        "skipped": totals.skipped,
        "seconds": round(totals.seconds, 3),
        "failed_cases": list(totals.failed_cases[:50]),
        "sources": [str(path) for path in paths],
    }


def _coverage(found: dict[str, list[Path]]) -> dict[str, Any] | None:
    for path in found["coverage"]:
        return {"percent": round(report.read_coverage_xml(path), 2), "source": str(path)}
    for path in found["coverage_json"]:
        return {"percent": round(report.read_coverage(path), 2), "source": str(path)}
    return None


def _log(step: dict[str, Any], base: Path) -> str:
    path = Path(str(step.get("logs_url") or ""))
    try:
        return (path if path.is_absolute() else base / path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def lint_findings(run: dict[str, Any], base: Path) -> dict[str, int]:
    """Findings per job whose log ends with a linter's count (ruff, mypy, flake8 --count style)."""
    counts = {}
    for step in run.get("steps") or []:
        if isinstance(step, dict) and step.get("status") != "skipped":
            text = _log(step, base)
            found = LINT_FOUND.findall(text)
            if found:
                counts[str(step.get("name"))] = int(found[-1])
            elif LINT_CLEAN.search(text):
                counts[str(step.get("name"))] = 0
    return counts


def flaky(runs: Sequence[dict[str, Any]], base: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tests: Counter[str] = Counter()
    jobs: Counter[str] = Counter()
    for run in runs[-FLAKY_SCAN_RUNS:]:
        for step in run.get("steps") or []:
            if isinstance(step, dict) and step.get("status") == "success" and (step.get("attempts") or 1) > 1:
                jobs[str(step.get("name"))] += 1
                tests.update(set(FAILED_LINE.findall(_log(step, base))))
        for path in artifact_reports(run, base)["junit"]:
            try:
                tests.update(set(report.flaky_cases(path)))
            except CicdError:
                continue
    return (
        [{"test": name, "runs": count} for name, count in tests.most_common()],
        [{"job": name, "runs_passed_on_retry": count} for name, count in jobs.most_common()],
    )


def quality(runs: Sequence[dict[str, Any]], base: Path) -> dict[str, Any]:
    """From the newest run with test reports (artifacts are overwritten by each run) and all runs' logs."""
    latest = next((run for run in reversed(runs) if any(artifact_reports(run, base).values())), None)
    found = artifact_reports(latest, base) if latest else {"junit": [], "coverage": [], "coverage_json": []}
    flaky_tests, flaky_jobs = flaky(runs, base)
    problems = []
    try:
        tests, coverage = _tests(found["junit"]), _coverage(found)
    except CicdError as err:
        tests, coverage = None, None
        problems.append(str(err))
    scanned = min(len(runs), FLAKY_SCAN_RUNS)
    return {
        "run": latest.get("pipeline_id") if latest else None,
        "tests": tests,
        "coverage": coverage,
        "lint": lint_findings(runs[-1], base) if runs else {},
        "flaky_tests": flaky_tests,
        "flaky_jobs": flaky_jobs,
        "flaky_rate": round(len(flaky_tests) / tests["total"], 4) if tests and tests["total"] else None,
        "runs_scanned": scanned,
        "problems": problems,
    }
