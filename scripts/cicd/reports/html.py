"""The dashboard: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched; a
Content-Security-Policy forbids fetching). Each panel is a <section data-panel=NAME>; a panel without
data says so and carries data-empty, so a reader (and the browser test) can tell empty from broken."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from cicd.reports import svg
from cicd.reports.dora import METRIC_TITLES
from cicd.reports.stats import human_seconds

# Nothing may be fetched: the page must look the same on a laptop offline as in an artifact viewer.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"
PANELS = ("live", "dora", "timelines", "durations", "flaky", "quality")
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
header{background:#24292f;color:#fff;padding:12px 20px}header h1{margin:0;font-size:18px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px;padding:16px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;overflow-x:auto}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:middle}
.elite{color:#1a7f37}.high{color:#0969da}.medium{color:#9a6700}.low{color:#cf222e}
.ok{color:#1a7f37}.miss{color:#cf222e}.muted{color:#57606a}code{font-size:12px}
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _e(value: Any) -> str:
    return "-" if value is None else escape(str(value))


def live_panel(data: dict[str, Any]) -> str:
    rows = []
    for env in data.get("reports", {}).get("deployment", {}).get("environments", []):
        now = env.get("live")
        if env.get("problem"):
            rows.append([_e(env["name"]), f'<span class="miss">{_e(env["problem"])}</span>', "", "", ""])
        elif now:
            digest = f"<code>{_e((now.get('digest') or '')[:19] or None)}</code>"
            since = f"{_e(now['since'])} <span class='muted'>by {_e(now['deployed_by'])}</span>"
            rows.append([_e(env["name"]), f"<b>{_e(now['version'])}</b>", digest, _e(now["color"]), since])
        else:
            rows.append([_e(env["name"]), '<span class="muted">nothing live</span>', "", "", ""])
    if not rows:
        return ""
    note = "<p class='muted'>as each environment's state records it; `cicd status` asks the router itself</p>"
    return _table(["Environment", "Version", "Digest", "Color", "Since"], rows) + note


def dora_panel(data: dict[str, Any]) -> str:
    parts = []
    for env, report in data.get("dora", {}).items():
        rows = []
        for key, title in METRIC_TITLES.items():
            metric = report[key]
            band = metric["band"] or "-"
            met = metric["meets_target"]
            mark = {True: '<span class="ok">meets</span>', False: '<span class="miss">misses</span>'}
            rows.append([
                escape(title),
                f"<b>{_e(metric['shown'])}</b>",
                f'<span class="{band}">{band}</span>',
                f"{mark.get(met, 'no data')} {_e(metric['target'])}",
            ])
        sources = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in report["sources"].items())
        parts.append(f"<h3>{_e(env)} <span class='muted'>since {_e(report['since'])}</span></h3>"
                     + _table(["Metric", "Value", "Band", "Target"], rows)
                     + f"<p class='muted'>{escape(sources)}</p>")
    return "".join(parts)


def timelines_panel(data: dict[str, Any]) -> str:
    parts: list[str] = []
    known: list[str] = []  # known: phase names in order of appearance, which fixes their colors
    for env in data.get("reports", {}).get("deployment", {}).get("environments", []):
        recent = env.get("recent", [])
        longest = max((sum(p["seconds"] for p in item["phases"]) for item in recent), default=0.0)
        rows = [
            [
                f"{_e(item['kind'])} <b>{_e(item['version'])}</b>",
                f'<span style="color:{svg.color(item["status"])}">{_e(item["status"])}</span>',
                _e(human_seconds(item["duration_seconds"])),
                svg.timeline(item["phases"], known, longest=longest),
            ]
            for item in recent
        ]
        if rows:
            table = _table(["Deploy", "Outcome", "Took", "Phases"], rows)
            parts.append(f"<h3>{_e(env['name'])}</h3>{table}")
    swatch = '<span style="display:inline-block;width:10px;height:10px;background:{}"></span> {}'
    legend = " ".join(swatch.format(svg.phase_color(name, known), _e(name)) for name in known)
    return "".join(parts) + (f"<p class='muted'>{legend}</p>" if parts else "")


def durations_panel(data: dict[str, Any]) -> str:
    perf = data.get("reports", {}).get("performance")
    if not perf or not perf["runs"]:
        return ""
    rows = [
        [_e(name), _e(job["stage"]), _e(human_seconds(job["median_seconds"])),
         _e(human_seconds(job["p95_seconds"])), _e(job["trend"]), _e(job["retries"])]
        for name, job in perf["jobs"].items()
    ]
    path = perf.get("critical_path")
    line = f"<p>critical path {human_seconds(path['seconds'])}: " + escape(
        " → ".join(f"{j['stage']}/{j['job']}" for j in path["jobs"])) + "</p>" if path else ""
    return (svg.bars(perf["recent_runs"]) + line
            + _table(["Job", "Stage", "Median", "p95", "Trend", "Retries"], rows))


def flaky_panel(data: dict[str, Any]) -> str:
    quality = data.get("reports", {}).get("quality")
    if not quality:
        return ""
    tests = [[f"<code>{_e(t['test'])}</code>", _e(t["runs"])] for t in quality["flaky_tests"][:30]]
    jobs = [[_e(j["job"]), _e(j["runs_passed_on_retry"])] for j in quality["flaky_jobs"]]
    if not tests and not jobs:
        scanned = quality["runs_scanned"]
        if not scanned:
            return ""
        return f"<p>No flaky test: no job passed on a retry in the {scanned} runs read.</p>"
    return (_table(["Flaky test (failed, then passed on retry)", "Runs"], tests)
            + _table(["Job that passed on retry", "Runs"], jobs))


def quality_panel(data: dict[str, Any]) -> str:
    quality = data.get("reports", {}).get("quality")
    if not quality or not (quality["tests"] or quality["coverage"] or quality["lint"]):
        return ""
    rows = []
    if quality["tests"]:
        t = quality["tests"]
        rows.append(["Tests", f"{t['passed']} passed, {t['failed']} failed, {t['errors']} errors, "
                              f"{t['skipped']} skipped"])
    if quality["coverage"]:
        percent = quality["coverage"]["percent"]
        rows.append(["Coverage", f"{percent:.1f} % {svg.gauge(percent / 100)}"])
    rows += [[f"Lint: {_e(job)}", f"{count} findings"] for job, count in quality["lint"].items()]
    return _table(["", ""], rows)


RENDERERS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "live": ("What is live where", live_panel),
    "dora": ("DORA metrics", dora_panel),
    "timelines": ("Deploy timelines", timelines_panel),
    "durations": ("Pipeline duration trends", durations_panel),
    "flaky": ("Flaky tests", flaky_panel),
    "quality": ("Quality", quality_panel),
}


def dashboard(data: dict[str, Any], title: str = "Delivery dashboard") -> str:
    sections = []
    for name in PANELS:
        heading, render = RENDERERS[name]
        body = render(data)
        empty = ' data-empty="true"' if not body else ""
        sections.append(f'<section data-panel="{name}"{empty}><h2>{escape(heading)}</h2>'
                        f"{body or '<p class=muted>no data recorded yet</p>'}</section>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{POLICY}\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><span>generated {_e(data.get('generated_at'))}</span></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )
