"""Benchmark of the delivery reports, the dashboard and the monitor on a large history.

Seeds a project with 10,000 production deploys over 30 days (their versions name commits of a
generated git repository, so lead time resolves) and 2,000 pipeline runs, then prints progress lines
and, as its last line, one JSON object:
  dora_ms_10k_deploys      `cicd report dora --env production --json` in process: history read from
                           SQLite, commit index from git, the four metrics (target < 500)
  report_html_ms           `cicd report all --format html --out F` in process (target < 1,500)
  report_html_bytes        the size of that dashboard
  monitor_startup_ms       wall time of `cicd monitor --latest --json` as a process, interpreter start
                           included, with 2,000 runs on disk (target < 200)
  chromium_console_errors  console errors and page errors when Debian's chromium opens the dashboard (0)
  panels_rendered          dashboard panels with content, of panels_total
Each time is the median of REPETITIONS runs; the 1-minute load average is reported beside them.
Run: .venv/bin/python bench/observability.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tests.support.delivery_history import (  # noqa: E402
    bulk_deploys,
    bulk_insert,
    bulk_runs,
    newest_run_with_reports,
)

REPETITIONS = 5
DEPLOYS = 10_000
RUNS = 2_000
COMMITS = 100
CICD = str(Path(sys.executable).parent / "cicd")


def git_repo(root: Path, now: datetime) -> list[str]:
    """COMMITS commits, one every few hours over the last 31 days; their short hashes."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    shas = []
    for index in range(COMMITS):
        stamp = (now - timedelta(days=31) + timedelta(hours=index * 7.4)).isoformat()
        env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
               "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        subprocess.run(["git", "-C", str(root), "commit", "-q", "--allow-empty", "-m", f"change {index}"],
                       check=True, env=env)
        shas.append(subprocess.run(["git", "-C", str(root), "rev-parse", "--short=9", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout.strip())
    return shas


def seed(root: Path) -> Path:
    import shutil

    now = datetime.now(UTC)
    shutil.copytree(REPO / "config", root / "config")
    shas = git_repo(root, now)
    versions = [f"1.{index}.0+g{sha}" for index, sha in enumerate(shas)]
    bulk_insert(root / ".cicd/state/production.db", "production", bulk_deploys(DEPLOYS, versions=versions),
                now=now)
    bulk_insert(root / ".cicd/state/staging.db", "staging", bulk_deploys(200, seed=3), now=now)
    bulk_runs(root / ".cicd/runs", RUNS - 1, now=now - timedelta(hours=1))
    newest_run_with_reports(root, now)
    return root / "config"


def timed(function, repetitions: int = REPETITIONS) -> float:
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 1)


def in_process(argv: list[str]) -> str:
    from cicd.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"cicd {' '.join(argv)} exited {code}")
    return out.getvalue()


def chromium(page_path: Path) -> tuple[int | None, int | None, int]:
    from cicd.reports.html import PANELS

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None, None, len(PANELS)
    if not Path("/usr/bin/chromium").exists():
        return None, None, len(PANELS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(page_path.as_uri())
        rendered = page.eval_on_selector_all(
            "section[data-panel]:not([data-empty])",
            "sections => sections.filter(s => s.getBoundingClientRect().height > 40).length",
        )
        browser.close()
    return len(errors), rendered, len(PANELS)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cicd-bench-observe-") as folder:
        root = Path(folder)
        start = time.perf_counter()
        config = seed(root)
        print(f"seeded {DEPLOYS} deploys and {RUNS} runs in {time.perf_counter() - start:.1f}s", flush=True)
        os.chdir(root)
        dora_argv = ["report", "dora", "--env", "production", "--json", "--config-dir", str(config),
                     "--repo", str(root), "--no-github"]
        dora = json.loads(in_process(dora_argv))
        print("DORA of production:", {key: dora[key]["shown"] for key in
                                      ("deployment_frequency", "lead_time", "change_failure_rate",
                                       "time_to_restore")}, flush=True)
        dora_ms = timed(lambda: in_process(dora_argv))
        page = root / "dashboard.html"
        html_argv = ["report", "all", "--format", "html", "--out", str(page), "--config-dir", str(config),
                     "--workdir", str(root), "--repo", str(root), "--no-github"]
        html_ms = timed(lambda: in_process(html_argv), 3)
        monitor = [CICD, "monitor", "--latest", "--json", "--runs-dir", str(root / ".cicd/runs")]
        subprocess.run(monitor, check=True, capture_output=True)  # warm the page cache once
        monitor_ms = timed(lambda: subprocess.run(monitor, check=True, capture_output=True))
        errors, rendered, total = chromium(page)
        print(json.dumps({
            "dora_ms_10k_deploys": dora_ms,
            "report_html_ms": html_ms,
            "report_html_bytes": page.stat().st_size,
            "monitor_startup_ms": monitor_ms,
            "chromium_console_errors": errors,
            "panels_rendered": rendered,
            "panels_total": total,
            "deploys": DEPLOYS,
            "runs": RUNS,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }))


if __name__ == "__main__":
    main()
