"""The card's top-level files hold only keys their tools document, so a typo fails here, not silently
in a service we cannot see. Each checker is shown to catch a typo on a copy of the real file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]

# SonarScanner analysis parameters (docs.sonarsource.com, "Analysis parameters" and the Python page).
SONAR_KEYS = {
    "sonar.projectKey", "sonar.projectName", "sonar.projectVersion", "sonar.organization", "sonar.host.url",
    "sonar.sourceEncoding", "sonar.sources", "sonar.tests", "sonar.exclusions", "sonar.inclusions",
    "sonar.test.exclusions", "sonar.test.inclusions", "sonar.coverage.exclusions", "sonar.cpd.exclusions",
    "sonar.python.version", "sonar.python.coverage.reportPaths", "sonar.python.xunit.reportPath",
    "sonar.python.xunit.skipDetails", "sonar.python.bandit.reportPaths", "sonar.python.ruff.reportPaths",
    "sonar.python.mypy.reportPaths", "sonar.projectBaseDir", "sonar.working.directory",
}  # fmt: skip
# The .snyk policy file (docs.snyk.io, "The .snyk file").
SNYK_TOP = {"version", "ignore", "patch", "exclude", "language-settings"}
SNYK_RULE = {"reason", "expires", "created", "reasonType", "ignoredBy", "disregardIfFixable", "source"}
# codecov.yml (docs.codecov.com, "Codecov YAML reference").
CODECOV_TOP = {
    "codecov", "coverage", "comment", "ignore", "flags", "flag_management", "component_management",
    "fixes", "parsers", "github_checks", "profiling", "slack_app", "cli", "bundle_analysis", "ai_pr_review",
}  # fmt: skip
CODECOV_COMPONENT = {"component_id", "name", "paths", "flag_regexes", "statuses"}
CODECOV_FLAG = {"name", "paths", "carryforward", "carryforward_mode", "statuses", "after_n_builds"}


def sonar_problems(text: str) -> list[str]:
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            problems.append(f"line {number}: not key=value")
        elif key.strip() not in SONAR_KEYS:
            problems.append(f"line {number}: unknown key {key.strip()!r}")
        elif key.strip().endswith(("reportPaths", "reportPath")) and not value.strip():
            problems.append(f"line {number}: {key.strip()} is empty")
    return problems


def snyk_problems(policy: dict, today: dt.date) -> list[str]:
    problems = [f"unknown key {key!r}" for key in policy if key not in SNYK_TOP]
    if not re.match(r"^v1\.\d+\.\d+$", str(policy.get("version", ""))):
        problems.append("version must be v1.x.y")
    for vuln, rules in (policy.get("ignore") or {}).items():
        for rule in rules:
            for path, settings in rule.items():
                problems += [f"{vuln} {path}: unknown key {k!r}" for k in settings if k not in SNYK_RULE]
                expires = settings.get("expires")
                if not isinstance(expires, dt.datetime | dt.date) or _date(expires) <= today:
                    problems.append(f"{vuln} {path}: needs a future 'expires'")
                if not settings.get("reason"):
                    problems.append(f"{vuln} {path}: needs a reason")
    return problems


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def codecov_problems(config: dict) -> list[str]:
    problems = [f"unknown key {key!r}" for key in config if key not in CODECOV_TOP]
    for flag in config.get("flag_management", {}).get("individual_flags", []):
        problems += [f"flag {flag.get('name')}: unknown key {k!r}" for k in flag if k not in CODECOV_FLAG]
    for comp in config.get("component_management", {}).get("individual_components", []):
        problems += [f"component {comp.get('component_id')}: unknown key {k!r}" for k in comp
                     if k not in CODECOV_COMPONENT]
    return problems


def uploaded_flags() -> set[str]:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = [s for job in ci["jobs"].values() for s in job.get("steps", [])]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("codecov/codecov-action@")]
    assert len(uploads) == 1
    return set(uploads[0]["with"]["flags"].split(","))


def test_sonar_project_properties_uses_documented_keys_and_our_report_paths() -> None:
    text = (REPO / "sonar-project.properties").read_text()
    assert sonar_problems(text) == []
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert values["sonar.python.coverage.reportPaths"] == "coverage.xml"
    assert values["sonar.python.xunit.reportPath"] == "test-results/junit-*.xml"
    for key in ("sonar.sources", "sonar.tests"):
        assert all((REPO / path.strip()).is_dir() for path in values[key].split(","))
    line = 1 + next(i for i, x in enumerate(text.splitlines()) if x.startswith("sonar.sources="))
    typo = text.replace("sonar.sources=", "sonar.source=")
    assert sonar_problems(typo) == [f"line {line}: unknown key 'sonar.source'"]


def test_snyk_policy_is_valid_and_ignores_expire() -> None:
    policy = yaml.safe_load((REPO / ".snyk").read_text())
    today = dt.date.today()
    assert snyk_problems(policy, today) == []
    typo = {**policy, "ignores": {}}
    assert snyk_problems(typo, today) == ["unknown key 'ignores'"]
    stale = {**policy, "ignore": {"SNYK-PYTHON-X-1": [{"*": {"reason": "r", "expire": "2027-01-01"}}]}}
    assert snyk_problems(stale, today) == [
        "SNYK-PYTHON-X-1 *: unknown key 'expire'", "SNYK-PYTHON-X-1 *: needs a future 'expires'"
    ]


def test_codecov_yml_keys_and_the_uploaded_flag_are_named_by_its_component() -> None:
    config = yaml.safe_load((REPO / "codecov.yml").read_text())
    assert codecov_problems(config) == []
    flags = {f["name"] for f in config["flag_management"]["individual_flags"]}
    regexes = [r for c in config["component_management"]["individual_components"] for r in c["flag_regexes"]]
    for flag in uploaded_flags():
        assert flag in flags and any(re.search(r, flag) for r in regexes), flag
    assert codecov_problems({**config, "coverge": {}}) == ["unknown key 'coverge'"]


@pytest.mark.parametrize("name", ["sonar-project.properties", ".snyk", "codecov.yml"])
def test_the_card_files_are_tracked(name: str) -> None:
    assert (REPO / name).is_file()
