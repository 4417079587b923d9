"""`cicd postmortem`: a Markdown timeline of one deployment from the history and the ledger.

Everything in it was recorded while it happened: the deployment record (phases with their timings, the
verification verdict, the error) and the ledger entries of that deployment (switches, the verification,
the switch back, the figures measured against the baseline). Nothing is re-measured or guessed; what was
not recorded says so. The cause and the actions are left for people to write, under headings ready
for them.

Time to detect: from the switch to the breach (the deploy's own `detect_after_s`, else the ledger's
switch and verification times). Time to restore: from the switch to the switch back, i.e. how long
users met the bad version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cicd.errors import UsageError
from cicd.state.records import AuditEntry, Deployment

PAIRS = (  # (what, baseline figure, measured figure, words of the verdict naming its breach)
    ("error rate", "baseline_error_rate", "verify_error_rate", ("error rate", "errors in a row")),
    ("p95 latency (ms)", "baseline_p95_ms", "verify_p95_ms", ("p95", "latency")),
    ("requests", "baseline_requests", "verify_requests", ()),
)


def choose(history: list[Deployment], deploy_id: int | None, environment: str) -> Deployment:
    """The deployment asked for, else the newest one that was rolled back: automatically (its status),
    or by a manual rollback, which names the deploy it undid (the newest older deploy of the version it
    left; the rollback itself when that deploy is not in the history). `history` is newest first."""
    if deploy_id is not None:
        for deployment in history:
            if deployment.id == deploy_id:
                return deployment
        hint = f"see cicd history --env {environment}"
        raise UsageError(f"no deployment {deploy_id} in {environment}", hint=hint)
    for index, deployment in enumerate(history):
        if deployment.status == "rolled_back":
            return deployment
        if deployment.kind == "rollback":
            left = deployment.previous_version
            undone = (d for d in history[index + 1 :] if d.kind == "deploy" and d.version == left)
            return next(undone, deployment)
    raise UsageError(f"no rolled-back deployment in {environment}'s history", hint="name one: --deploy ID")


def entries_of(deployment: Deployment, entries: list[AuditEntry]) -> list[AuditEntry]:
    """The ledger entries from this deployment's start to the next deployment's start."""
    started = next(
        (i for i, e in enumerate(entries) if e.details.get("deployment_id") == deployment.id), None
    )  # fmt: skip
    if started is None:
        return []
    chosen = [entries[started]]
    for entry in entries[started + 1 :]:
        if entry.action == "deploy.start":
            break
        chosen.append(entry)
    return chosen


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _offset(at: str, start: datetime | None) -> str:
    moment = _time(at)
    return f"+{(moment - start).total_seconds():.3f} s" if moment and start else at


def _cell(text: Any) -> str:
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def _figures(entries: list[AuditEntry]) -> dict[str, Any]:
    return next((e.details for e in reversed(entries) if e.action == "deploy.figures"), {})


# The moves that put traffic on a version: a switch, or a promotion's canary weight and its steps.
TRAFFIC_MOVES = ("traffic.switch", "promotion.start", "promotion.step", "promotion.monitor")
# The verdict that detected the breach: a deploy's verification, or a promotion's advance.
VERDICTS = ("deploy.verification", "promotion.rollback")


def _switches(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [e for e in entries if e.action in TRAFFIC_MOVES]


def detect_and_restore(entries: list[AuditEntry]) -> tuple[float | None, float | None]:
    """(time to detect, time to restore) in seconds, from the recorded figures and switch times."""
    switches = _switches(entries)
    first = _time(switches[0].time) if switches else None
    detect = _figures(entries).get("detect_after_s")
    verdict = next((e for e in entries if e.action in VERDICTS), None)
    if detect is None and first and verdict and (at := _time(verdict.time)):
        detect = (at - first).total_seconds()
    back = _time(switches[-1].time) if len(switches) > 1 else None
    restore = (back - first).total_seconds() if first and back else None
    return detect, restore


def _header(d: Deployment, entries: list[AuditEntry]) -> list[str]:
    first = entries[0] if entries else None
    who = first.identity if first and first.identity else {}
    through = f" through {who.get('workflow')} run {who.get('run_id')}" if who.get("run_id") else ""
    # a deploy that ended well and was undone later (by hand, or a promotion's advance) says so up front
    undone = next((e for e in entries if e.action == "rollback.finish" and e.outcome == "succeeded"), None)
    then = f", then rolled back to {undone.version}" if undone and d.status != "rolled_back" else ""
    return [
        f"# Postmortem: {d.kind} {d.version} ({d.status}{then})",
        "",
        f"- deployment {d.id}, {d.strategy or '-'}, from {d.previous_version or 'nothing'} to {d.version}",
        f"- started {d.started_at}, finished {d.finished_at or '-'} ({d.duration_seconds or 0:.1f} s)",
        f"- by {d.actor}{through}",
        f"- release digest {d.digest or 'not recorded'}; artifact {d.artifact or 'the default'}",
        f"- reason given: {d.reason or 'none'}",
        "",
    ]


def _phases(d: Deployment) -> list[str]:
    lines = ["## Deploy phases", "", "| phase | status | seconds | detail |", "|---|---|---|---|"]
    for phase in d.phases:
        name, status, seconds = phase.get("name"), phase.get("status"), phase.get("seconds") or 0
        lines.append(f"| {name} | {status} | {seconds:.3f} | {_cell(phase.get('detail'))} |")
    return [*lines, ""]


def _verification(d: Deployment, entries: list[AuditEntry]) -> list[str]:
    verdict = d.verification or {}
    lines = ["## Verification", "", f"Verdict: **{verdict.get('phase', 'none recorded')}**: "
             f"{_cell(verdict.get('summary'))}", ""]  # fmt: skip
    figures = _figures(entries)
    if not any(figures.get(seen) is not None for _what, _base, seen, _words in PAIRS):
        return lines
    failed = verdict.get("phase") == "Failed"
    summary = str(verdict.get("summary") or "")
    lines += ["| measure | baseline (old version) | measured (new version) | |", "|---|---|---|---|"]
    for what, base, seen, words in PAIRS:
        breached = failed and any(word in summary for word in words)
        shown = [_figure(what, figures.get(key)) for key in (base, seen)]
        lines.append(f"| {what} | {shown[0]} | {shown[1]} | {'**breached**' if breached else ''} |")
    return [*lines, ""]


def _figure(what: str, value: Any) -> str:
    if isinstance(value, float) and what == "error rate":
        return f"{100 * value:.1f} %"
    return _cell(round(value, 1) if isinstance(value, float) else value)


def _timeline(entries: list[AuditEntry]) -> list[str]:
    start = _time(entries[0].time) if entries else None
    head = "| time | since start | event | outcome | detail |"
    lines = ["## Timeline (ledger)", "", head, "|---|---|---|---|---|"]
    for e in entries:
        detail = e.reason or ", ".join(f"{k}={v}" for k, v in e.details.items() if k != "deployment_id")
        lines.append(f"| {e.time} | {_offset(e.time, start)} | {e.action} {e.version or ''} | "
                     f"{_cell(e.outcome)} | {_cell(detail)} |")  # fmt: skip
    return [*(lines if entries else ["## Timeline (ledger)", "", "No ledger entries recorded."]), ""]


def _rollback(entries: list[AuditEntry]) -> list[str]:
    detect, restore = detect_and_restore(entries)
    switch_back = _figures(entries).get("switch_back_ms")
    lines = ["## Rollback", ""]
    if restore is None:
        return [*lines, "No switch back was recorded for this deployment.", ""]
    detected = f"{detect:.3f} s" if detect is not None else "not recorded"
    lines += [
        f"- time to detect (switch to breach): {detected}",
        f"- time to restore (switch to switch back): {restore:.3f} s",
    ]
    if switch_back is not None:
        lines.append(f"- the switch back itself: {switch_back:.0f} ms")
    return [*lines, ""]


TEMPLATE = [
    "## Cause", "", "_What made the release fail? Link the change (commit, pull request), the evidence._", "",
    "## Impact", "", "_Who met the bad version, for how long (see time to restore), what they saw._", "",
    "## Actions", "", "| action | owner | due |", "|---|---|---|",
    "| _e.g. a smoke check for this path_ | | |", "",
]


def render(deployment: Deployment, entries: list[AuditEntry]) -> str:
    mine = entries_of(deployment, entries)
    parts = [
        *_header(deployment, mine), *_phases(deployment),
        *_verification(deployment, mine), *_rollback(mine), *_timeline(mine), *TEMPLATE,
    ]  # fmt: skip
    return "\n".join(parts)
