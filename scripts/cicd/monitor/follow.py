"""Read a run, live or finished, from its run directory: result.json when it has ended, else its live
record (events.jsonl). A run whose runner process is gone and that never wrote a result has failed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cicd.errors import MonitoringError
from cicd.monitor.health import Baseline, JobView, RunView
from cicd.monitor.journal import read_events

BASELINE_RUNS = 50  # newest earlier runs a run is compared with


def run_dirs(runs_dir: Path) -> list[Path]:
    """Run directories, newest first by modification time (a live run's journal touches its dir)."""
    found = []
    try:
        with os.scandir(runs_dir) as entries:
            for entry in entries:
                if entry.is_dir():
                    found.append((entry.stat().st_mtime, entry.name))
    except OSError as err:
        raise MonitoringError(f"cannot read the runs directory {runs_dir}: {err.strerror or err}") from err
    found.sort(reverse=True)
    return [runs_dir / name for _, name in found]


def find_run(runs_dir: Path, run_id: str | None, dirs: list[Path]) -> Path:
    if run_id is None:
        if not dirs:
            raise MonitoringError(f"no runs in {runs_dir}", hint="start one with `cicd run`")
        return dirs[0]
    matches = [path for path in dirs if path.name == run_id] or [p for p in dirs if p.name.startswith(run_id)]
    if len(matches) != 1:
        what = "no run" if not matches else f"{len(matches)} runs"
        raise MonitoringError(f"{what} with id {run_id!r} in {runs_dir}", hint="`cicd monitor --latest`")
    return matches[0]


def _result(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise MonitoringError(f"cannot read {run_dir / 'result.json'}: {err}") from err
    return data if isinstance(data, dict) else None


def from_result(data: dict[str, Any]) -> RunView:
    jobs = [
        JobView(str(step.get("name")), str(step.get("stage")), str(step.get("status")),
                float(step.get("duration_seconds") or 0), int(step.get("attempts") or 0))
        for step in data.get("steps") or []
        if isinstance(step, dict)
    ]
    return RunView(str(data.get("pipeline_id")), data.get("name"), str(data.get("status")),
                   float(data.get("duration_seconds") or 0), jobs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def from_events(run_dir: Path, events: list[dict[str, Any]], now: float) -> RunView:
    plan = next((e for e in events if e.get("event") == "plan"), None)
    if plan is None:
        raise MonitoringError(f"run {run_dir.name} has neither a result nor a live record yet")
    jobs = {j["name"]: JobView(j["name"], j["stage"]) for j in plan.get("jobs", []) if isinstance(j, dict)}
    first_start: dict[str, float] = {}
    for event in events:
        job = jobs.get(str(event.get("job")))
        if job is None:
            continue
        if event["event"] == "started":
            job.state, job.attempts = "running", int(event.get("attempt") or 1)
            first_start.setdefault(job.name, float(event["t"]))
        elif event["event"] == "finished":
            job.state, job.seconds = str(event.get("status")), float(event.get("seconds") or 0)
            job.attempts = int(event.get("attempts") or job.attempts)
    for job in jobs.values():
        if job.state == "running":
            job.seconds = now - first_start[job.name]
    view = RunView(str(plan.get("pipeline_id") or run_dir.name), plan.get("name"), "running",
                   now - float(plan["t"]), list(jobs.values()))
    pid = plan.get("pid")
    here = plan.get("host") in (None, os.uname().nodename)  # a pid means nothing on another machine
    if here and isinstance(pid, int) and not _alive(pid):
        view.status = "failed"
        view.problem = f"the runner (pid {pid}) is gone and wrote no result: it was killed or crashed"
    return view


def baseline(dirs: list[Path], run_dir: Path, name: str | None) -> Baseline:
    results = []
    for path in dirs:
        if path == run_dir:
            continue
        try:
            data = json.loads((path / "result.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and (name is None or data.get("name") == name):
            results.append(data)
            if len(results) >= BASELINE_RUNS:
                break
    return Baseline.of(results)


def observe(runs_dir: Path, run_id: str | None, now: float | None = None) -> tuple[RunView, Baseline]:
    dirs = run_dirs(runs_dir)
    run_dir = find_run(runs_dir, run_id, dirs)
    data = _result(run_dir)
    view = from_result(data) if data else from_events(run_dir, read_events(run_dir), now or time.time())
    return view, baseline(dirs, run_dir, view.name)

