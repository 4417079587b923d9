"""The reports as Markdown (step summaries, PR comments, files in a repository)."""

from __future__ import annotations

from typing import Any

from cicd.report import cell
from cicd.reports.dora import METRIC_TITLES
from cicd.reports.stats import human_seconds


def _rows(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(cell("-" if value is None else value) for value in row) + " |")
    return lines


def dora(report: dict[str, Any]) -> str:
    lines = [f"### DORA metrics: {report['environment']} (since {report['since']})", ""]
    rows = []
    for key, title in METRIC_TITLES.items():
        metric = report[key]
        met = {True: "✅ meets", False: "❌ misses", None: "no data for"}[metric["meets_target"]]
        rows.append([title, metric["shown"], metric["band"], f"{met} {metric['target']}"])
    lines += _rows(["Metric", "Value", "Band", "Target"], rows)
    lines += ["", *(f"- {name.replace('_', ' ')}: {text}" for name, text in report["sources"].items())]
    return "\n".join(lines) + "\n"


def performance(perf: dict[str, Any]) -> str:
    pipeline = perf["pipeline"]
    lines = [
        f"### Pipeline performance ({perf['runs']} runs)",
        "",
        f"Median {human_seconds(pipeline['median_seconds'])}, p95 {human_seconds(pipeline['p95_seconds'])}, "
        f"success rate {_percent(pipeline['success_rate'])}, trend {pipeline['trend'] or '-'}.",
        "",
    ]
    rows = [
        [name, job["stage"], human_seconds(job["median_seconds"]), human_seconds(job["p95_seconds"]),
         job["trend"], job["retries"], job["failures"]]
        for name, job in perf["jobs"].items()
    ]
    lines += _rows(["Job", "Stage", "Median", "p95", "Trend", "Retries", "Failures"], rows)
    if perf.get("critical_path"):
        path = perf["critical_path"]
        chain = " → ".join(f"{j['stage']}/{j['job']}" for j in path["jobs"])
        lines += ["", f"Critical path ({human_seconds(path['seconds'])}): {chain}"]
    if perf.get("queue"):
        lines.append(f"Queue time (beyond the critical path): median "
                     f"{human_seconds(perf['queue']['median_seconds'])}")
    return "\n".join(lines) + "\n"


def quality(data: dict[str, Any]) -> str:
    lines = ["### Quality", ""]
    tests = data["tests"]
    if tests:
        lines.append(f"Tests: {tests['passed']} passed, {tests['failed']} failed, {tests['errors']} errors, "
                     f"{tests['skipped']} skipped.")
    if data["coverage"]:
        lines.append(f"Coverage: {data['coverage']['percent']:.1f} %.")
    lines += [f"Lint `{job}`: {count} findings." for job, count in data["lint"].items()]
    if data["flaky_tests"]:
        lines += ["", *_rows(["Flaky test", "Runs"], [[t["test"], t["runs"]] for t in data["flaky_tests"]])]
    if data["flaky_jobs"]:
        rows = [[j["job"], j["runs_passed_on_retry"]] for j in data["flaky_jobs"]]
        lines += ["", *_rows(["Job passed on retry", "Runs"], rows)]
    if len(lines) == 2:
        lines.append("No test report, coverage report or linter count in the runs' artifacts and logs.")
    return "\n".join(lines) + "\n"


def deployment(data: dict[str, Any]) -> str:
    lines = ["### Deployments", ""]
    if not data["environments"]:
        lines.append("No environment files (config/environments/*.yml).")
    for env in data["environments"]:
        if env.get("problem"):
            lines += [f"**{env['name']}**: cannot read: {env['problem']}", ""]
            continue
        now = env["live"]
        live = f"`{now['version']}` on {now['color'] or '-'} since {now['since']}" if now else "nothing"
        lines += [f"**{env['name']}**: live {live}; {env['deploys']} deploys, {env['rollbacks']} rollbacks, "
                  f"MTTR {human_seconds(env['mttr_seconds'])}", ""]
        rows = [[d["id"], d["kind"], d["version"], d["status"], human_seconds(d["duration_seconds"])]
                for d in env["recent"]]
        lines += [*_rows(["#", "Kind", "Version", "Outcome", "Took"], rows), ""]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def render(data: dict[str, Any]) -> str:
    reports = data["reports"]
    parts = [f"## Delivery report ({data['generated_at']})", ""]
    if "performance" in reports:
        parts.append(performance(reports["performance"]))
    if "quality" in reports:
        parts.append(quality(reports["quality"]))
    if "deployment" in reports:
        parts.append(deployment(reports["deployment"]))
    parts += [dora(report) for report in data.get("dora", {}).values()]
    return "\n".join(parts)
