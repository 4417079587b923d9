"""Seeded delivery history for report, dashboard, monitor and benchmark tests.

Deployments go through the real state store (schema, environment claim, the current row); their times
are then moved into the past with one UPDATE, because the store stamps rows with its own clock and a
month of history cannot be waited for. Run results are written in the BuildResult format `cicd run`
writes, with job logs and JUnit/coverage artifacts where asked.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PHASES = ("hooks", "prepare", "stop", "start", "health", "smoke", "baseline", "switch", "warm", "verify")


@dataclass
class SeedDeploy:
    version: str
    status: str = "succeeded"  # succeeded | rolled_back | failed
    kind: str = "deploy"
    minutes_ago: float = 60.0
    phase_seconds: float = 1.0  # each phase
    failed_phase: str | None = None  # verify for rolled_back; the failing phase for failed
    previous_version: str | None = None
    digest: str | None = None
    phases: list[dict[str, Any]] = field(default_factory=list)

    def phase_list(self) -> list[dict[str, Any]]:
        if self.phases:
            return self.phases
        failing = self.failed_phase or ("verify" if self.status == "rolled_back" else None)
        if self.status == "failed" and failing is None:
            failing = "health"
        phases = []
        for name in PHASES if self.kind == "deploy" else ("switch", "verify"):
            failed = name == failing
            phases.append({"name": name, "status": "failed" if failed else "succeeded",
                           "seconds": self.phase_seconds, "detail": f"{name} (seeded)"})
            if failed:
                break
        return phases


def seed_deploys(
    db_path: Path, environment: str, deploys: list[SeedDeploy], *, now: datetime | None = None
) -> None:
    """Record `deploys` (oldest first) through the store, then backdate them; the last succeeded one
    is live (blue/green alternating)."""
    from cicd.state import open_state

    store = open_state(environment, str(db_path))
    live = None
    for index, item in enumerate(deploys):
        deployment_id = store.start_deployment(
            item.version, kind=item.kind, previous_version=item.previous_version, digest=item.digest,
            strategy="blue_green", reason="seeded",
        )
        store.finish_deployment(deployment_id, item.status, phases=item.phase_list(),
                                error=None if item.status == "succeeded" else "seeded failure")
        if item.status == "succeeded":
            live = (item, deployment_id, "blue" if index % 2 else "green")
    if live:
        store.set_current(live[0].version, color=live[2], digest=live[0].digest, deployment_id=live[1])
    backdate(db_path, deploys, now or datetime.now(UTC))


def backdate(db_path: Path, deploys: list[SeedDeploy], now: datetime) -> None:
    db = sqlite3.connect(db_path)
    with db:
        ids = [row[0] for row in db.execute("SELECT id FROM deployments ORDER BY id")][-len(deploys):]
        for row_id, item in zip(ids, deploys, strict=True):
            started = (now - timedelta(minutes=item.minutes_ago)).timestamp()
            took = sum(p["seconds"] for p in item.phase_list())
            db.execute("UPDATE deployments SET started_at = ?, finished_at = ? WHERE id = ?",
                       (started, started + took, row_id))
            db.execute("UPDATE current SET deployed_at = ? WHERE deployment_id = ?", (started + took, row_id))
    db.close()


def bulk_deploys(count: int, *, days: float = 30, seed: int = 7, versions: list[str] | None = None
                 ) -> list[SeedDeploy]:
    """`count` deploys spread over `days`: about 1 in 12 rolled back, 1 in 30 failed, 1 in 40 a rollback."""
    rng = random.Random(seed)
    items = []
    for index in range(count):
        minutes_ago = days * 1440 * (1 - index / count)
        version = versions[index % len(versions)] if versions else f"1.{index // 100}.{index % 100}"
        roll = rng.random()
        if roll < 1 / 40 and items:
            items.append(SeedDeploy(items[-1].version, kind="rollback", minutes_ago=minutes_ago,
                                    previous_version=version))
            continue
        status = "rolled_back" if roll < 1 / 12 else "failed" if roll < 1 / 12 + 1 / 30 else "succeeded"
        items.append(SeedDeploy(version, status=status, minutes_ago=minutes_ago,
                                phase_seconds=round(rng.uniform(0.05, 2.0), 3),
                                digest=f"sha256:{rng.getrandbits(256):064x}"))
    return items


def write_run(runs_dir: Path, run_id: str, started: datetime, steps: list[dict[str, Any]], *,
              name: str = "sample-service", artifacts: list[str] | None = None,
              logs: dict[str, str] | None = None) -> dict[str, Any]:
    """A finished run's result.json (and job logs) as `cicd run` writes them."""
    run_dir = runs_dir / run_id
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    for step in steps:
        log = run_dir / "logs" / f"{step['name']}.log"
        log.write_text((logs or {}).get(step["name"], ""), encoding="utf-8")
        step.setdefault("logs_url", str(log))
        step.setdefault("exit_code", 0 if step["status"] == "success" else 1)
        step.setdefault("reason", None)
        step.setdefault("attempts", 1)
    wall = max((s["duration_seconds"] for s in steps), default=0.0) * 1.5
    result = {
        "pipeline_id": run_id, "name": name,
        "status": "failed" if any(s["status"] == "failed" for s in steps) else "success",
        "started_at": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "completed_at": (started + timedelta(seconds=wall)).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "duration_seconds": round(wall, 3), "steps": steps, "artifacts": artifacts or [],
        "rollback_triggered": False,
    }
    (run_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return result


def bulk_runs(runs_dir: Path, count: int, *, seed: int = 11, now: datetime | None = None) -> None:
    """`count` runs of the sample pipeline's jobs, unit slowly getting slower, sometimes retried."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    for index in range(count):
        started = now - timedelta(hours=(count - index))
        unit_attempts = 2 if rng.random() < 0.1 else 1
        steps = [
            {"name": "lint", "stage": "quality", "status": "success", "duration_seconds": rng.uniform(1, 2)},
            {"name": "typecheck", "stage": "quality", "status": "success",
             "duration_seconds": rng.uniform(4, 6)},
            {"name": "static-analysis", "stage": "security", "status": "success",
             "duration_seconds": rng.uniform(1, 2)},
            {"name": "unit", "stage": "unit-tests", "status": "success", "attempts": unit_attempts,
             "duration_seconds": 10 + index * 0.002 + rng.uniform(0, 2) + 8 * (unit_attempts - 1)},
            {"name": "package", "stage": "build", "status": "success", "duration_seconds": rng.uniform(1, 3)},
        ]
        flaky = "FAILED tests/test_app.py::test_quote_cache - AssertionError\n"
        logs = {"unit": flaky} if unit_attempts > 1 else {}
        write_run(runs_dir, f"run-{index:05d}", started, steps, logs=logs)


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5" failures="1" errors="0" skipped="1" time="1.5">
<testcase classname="tests.test_app" name="test_health" time="0.1"/>
<testcase classname="tests.test_app" name="test_quote" time="0.2"/>
<testcase classname="tests.test_app" name="test_cache" time="0.3"><flakyFailure message="timing"/></testcase>
<testcase classname="tests.test_app" name="test_broken" time="0.4"><failure message="boom"/></testcase>
<testcase classname="tests.test_app" name="test_later" time="0"><skipped/></testcase>
</testsuite></testsuites>
"""
COVERAGE = """<?xml version="1.0" ?>
<coverage version="7.4" line-rate="0.8734" branch-rate="0" lines-covered="690" lines-valid="790"></coverage>
"""


def seed_project(base: Path, *, now: datetime | None = None) -> Path:
    """A project under `base` with the repository's config, a week of staging deploys (one rolled back),
    a production history, and 12 pipeline runs whose newest left JUnit and coverage artifacts.
    Returns the config dir."""
    import shutil

    now = now or datetime.now(UTC)
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "config", base / "config")
    staging = [
        SeedDeploy("1.0.0", minutes_ago=7 * 1440, digest="sha256:" + "a" * 64),
        SeedDeploy("1.1.0", minutes_ago=5 * 1440, digest="sha256:" + "b" * 64, phase_seconds=0.5),
        SeedDeploy("1.2.0", status="rolled_back", minutes_ago=3 * 1440, phase_seconds=0.8),
        SeedDeploy("1.2.1", minutes_ago=2 * 1440, digest="sha256:" + "c" * 64),
        SeedDeploy("1.3.0", minutes_ago=60, digest="sha256:<script>alert(1)</script>"),
    ]
    seed_deploys(base / ".cicd/state/staging.db", "staging", staging, now=now)
    production = [SeedDeploy("1.1.0", minutes_ago=4 * 1440), SeedDeploy("1.2.1", minutes_ago=1440)]
    seed_deploys(base / ".cicd/state/production.db", "production", production, now=now)
    bulk_runs(base / ".cicd/runs", 11, now=now - timedelta(hours=1))
    newest_run_with_reports(base, now)
    return base / "config"


def newest_run_with_reports(base: Path, now: datetime) -> None:
    """A run 30 minutes ago whose unit job passed on retry and left JUnit and coverage reports."""
    runs = base / ".cicd/runs"
    (base / "reports").mkdir(exist_ok=True)
    (base / "reports/junit.xml").write_text(JUNIT, encoding="utf-8")
    (base / "reports/coverage.xml").write_text(COVERAGE, encoding="utf-8")
    steps = [
        {"name": "lint", "stage": "quality", "status": "success", "duration_seconds": 1.2},
        {"name": "unit", "stage": "unit-tests", "status": "success", "duration_seconds": 12.5, "attempts": 2},
        {"name": "package", "stage": "build", "status": "success", "duration_seconds": 2.0},
    ]
    logs = {"lint": "All checks passed!\n", "unit": "FAILED tests/test_app.py::test_flaky_clock - boom\n"}
    write_run(runs, "run-newest", now - timedelta(minutes=30), steps, logs=logs,
              artifacts=["reports/junit.xml", "reports/coverage.xml"])


def bulk_insert(db_path: Path, environment: str, deploys: list[SeedDeploy], *, now: datetime) -> None:
    """Many deploys at once, for benchmarks: the store creates the schema and claims the environment
    (one real deploy), then the rest go in with one executemany in the store's own row format."""
    seed_deploys(db_path, environment, deploys[:1], now=now)
    rows = []
    for item in deploys[1:]:
        started = (now - timedelta(minutes=item.minutes_ago)).timestamp()
        phases = item.phase_list()
        rows.append((item.kind, item.version, item.previous_version, None, item.digest, "blue_green", "bench",
                     None, "seeded", item.status, started, started + sum(p["seconds"] for p in phases),
                     json.dumps(phases), None if item.status == "succeeded" else "seeded failure"))
    db = sqlite3.connect(db_path)
    with db:
        db.executemany(
            "INSERT INTO deployments (kind, version, previous_version, artifact, digest, strategy, actor,"
            " run_id, reason, status, started_at, finished_at, phases, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()
