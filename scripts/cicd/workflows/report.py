"""The CI report: job outcomes, test results of every shard, coverage against codecov.yml's targets.

Rendered once as Markdown for the job summary and the sticky pull-request comment; failed tests
become file/line annotations. The report fails (exit 1) when a job failed, a test failed or coverage
is below target, so the one `report` check can be the one branch protection requires.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from cicd.errors import CicdError


@dataclass(frozen=True)
class Failure:
    test: str
    message: str
    file: str | None
    line: int | None


@dataclass
class TestTotals:
    tests: int = 0
    failures: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failed: list[Failure] = field(default_factory=list)


def read_junit(paths: list[Path]) -> TestTotals:
    totals = TestTotals()
    for path in paths:
        try:
            root = ET.parse(path).getroot()  # noqa: S314 - our own test runner's output
        except (OSError, ET.ParseError) as err:
            raise CicdError(f"cannot read test results {path}: {err}") from err
        for case in root.iter("testcase"):
            totals.tests += 1
            totals.seconds += float(case.get("time") or 0)
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if case.find("skipped") is not None:
                totals.skipped += 1
            elif problem is not None:
                totals.failures += 1
                totals.failed.append(_failure(case, problem))
    return totals


def _failure(case: ET.Element, problem: ET.Element) -> Failure:
    name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
    message = (problem.get("message") or "failed").splitlines()[0][:300]
    file, line = case.get("file"), case.get("line")
    # pytest's xunit1 family records file and 0-based line of the test; the traceback names the
    # failing line itself (`path.py:42: AssertionError`), which is the better place for the annotation.
    where = re.findall(r"^([\w./-]+\.py):(\d+): ", problem.text or "", re.MULTILINE)
    line_no: int | None
    if where:
        file, line_no = where[-1][0], int(where[-1][1])
    else:
        line_no = int(line) + 1 if line is not None else None
    return Failure(name, message, file, line_no)


NO_COVERAGE_FIX = (
    "no coverage data files (.coverage.*) reached the report; run the tests as "
    "`coverage run --data-file=<results>/.coverage.<shard> -m pytest` and upload the results folder "
    "with include-hidden-files: true"
)


def coverage_target(codecov_file: Path) -> float | None:
    """coverage.status.project.default.target of codecov.yml, as a percentage (None if unset/auto)."""
    from ruamel.yaml import YAML

    if not codecov_file.exists():
        return None
    data = YAML(typ="safe").load(codecov_file.read_text(encoding="utf-8")) or {}
    try:
        target = data["coverage"]["status"]["project"]["default"]["target"]
    except (KeyError, TypeError):
        return None
    if target == "auto":
        return None
    return float(str(target).rstrip("%"))


def coverage_percent(results_dir: Path) -> float | None:
    """Combine the shards' coverage data files and return the total percentage (None without data)."""
    data_files = sorted(str(p) for p in results_dir.glob(".coverage.*"))
    if not data_files:
        return None
    try:
        import coverage
    except ImportError as err:
        raise CicdError("coverage is not installed (pip install coverage)") from err
    cov = coverage.Coverage(data_file=str(results_dir / ".coverage"))
    cov.combine(data_files, keep=True)
    cov.save()
    try:
        with open(results_dir / "coverage.txt", "w", encoding="utf-8") as out:
            return round(cov.report(file=out, ignore_errors=True), 2)
    except coverage.exceptions.NoDataError:
        return None


def job_outcomes(needs_json: str) -> dict[str, str]:
    """`toJSON(needs)` of the report job: {job: result}."""
    if not needs_json.strip():
        return {}
    try:
        needs = json.loads(needs_json)
    except json.JSONDecodeError as err:
        raise CicdError(f"--needs-json is not JSON: {err}") from err
    return {name: str(value.get("result", "unknown")) for name, value in needs.items()}


ICONS = {"success": "✅", "failure": "❌", "cancelled": "⏹️", "skipped": "⏭️"}


def render(jobs: dict[str, str], tests: TestTotals, cov: float | None, target: float | None) -> str:
    ok = is_green(jobs, tests, cov, target)
    lines = [f"## CI report {'✅ passed' if ok else '❌ failed'}", "", "| job | result |", "|---|---|"]
    lines += [f"| {name} | {ICONS.get(result, '❔')} {result} |" for name, result in jobs.items()]
    passed = tests.tests - tests.failures - tests.skipped
    lines += [
        "",
        f"**Tests:** {passed} passed, {tests.failures} failed, {tests.skipped} skipped "
        f"({tests.seconds:.1f} s over all shards)",
    ]
    if cov is not None:
        verdict = "" if target is None else (" ✅" if cov >= target else f" ❌ (target {target:g}%)")
        lines.append(f"**Coverage:** {cov:.1f}%{verdict}")
    elif target is not None:
        lines.append(f"**Coverage:** ❌ not measured (target {target:g}%): {NO_COVERAGE_FIX}")
    if tests.failed:
        lines += ["", "| failed test | where | message |", "|---|---|---|"]
        for fail in tests.failed[:50]:
            where = f"`{fail.file}:{fail.line}`" if fail.file else ""
            message = fail.message.replace("|", "\\|")
            lines.append(f"| `{fail.test}` | {where} | {message} |")
    return "\n".join(lines) + "\n"


def is_green(jobs: dict[str, str], tests: TestTotals, cov: float | None, target: float | None) -> bool:
    jobs_ok = all(result in ("success", "skipped") for result in jobs.values())
    # A target with nothing measured fails: a misconfigured coverage run must not pass as "no target".
    cov_ok = target is None or (cov is not None and cov >= target)
    return jobs_ok and tests.failures == 0 and cov_ok
