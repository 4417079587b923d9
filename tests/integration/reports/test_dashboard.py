"""The dashboard as a person sees it: real headless Chromium (Debian `chromium`, driven by playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support.delivery_history import seed_project

from cicd.cli import main
from cicd.reports.html import PANELS

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"


def browser_or_skip(playwright):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/install-system-deps.sh installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def test_dashboard_renders_every_panel_offline_without_console_errors(tmp_path, capsys):
    sync_api = pytest.importorskip("playwright.sync_api")
    config = seed_project(tmp_path)
    out = tmp_path / "site/dashboard.html"
    code = main(["report", "all", "--format", "html", "--out", str(out), "--config-dir", str(config),
                 "--runs-dir", str(tmp_path / ".cicd/runs"), "--workdir", str(tmp_path),
                 "--repo", str(tmp_path), "--no-github"])
    assert code == 0, capsys.readouterr().err
    html = out.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html  # recorded text is escaped, never markup
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    with sync_api.sync_playwright() as playwright:
        browser = browser_or_skip(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems: list[str] = []
        page.on("console", lambda msg: msg.type in ("error", "warning") and problems.append(msg.text))
        page.on("pageerror", lambda err: problems.append(str(err)))
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(out.as_uri())
        panels = page.eval_on_selector_all(
            "section[data-panel]",
            """sections => sections.map(s => ({
                name: s.dataset.panel, empty: s.hasAttribute('data-empty'),
                height: s.getBoundingClientRect().height,
                charts: s.querySelectorAll('svg rect').length, rows: s.querySelectorAll('tbody tr').length,
                text: s.innerText}))""",
        )
        screenshot = tmp_path / "dashboard.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()

    assert problems == []
    assert fetched == [out.as_uri()]  # nothing but the page itself: no CDN, no font, no image
    assert [p["name"] for p in panels] == list(PANELS)
    by_name = {p["name"]: p for p in panels}
    for panel in panels:
        assert not panel["empty"] and panel["height"] > 40, panel
    assert "1.3.0" in by_name["live"]["text"] and "1.2.1" in by_name["live"]["text"]
    assert "Change failure rate" in by_name["dora"]["text"] and "elite" in by_name["dora"]["text"]
    assert by_name["timelines"]["charts"] >= 5 * 8  # five staging deploys, their phases as bars
    assert "rolled_back" in by_name["timelines"]["text"]
    assert by_name["durations"]["charts"] == 12  # one bar per run
    assert "test_flaky_clock" in by_name["flaky"]["text"] and "test_cache" in by_name["flaky"]["text"]
    assert "87.3 %" in by_name["quality"]["text"] and "3 passed, 1 failed" in by_name["quality"]["text"]
    assert screenshot.stat().st_size > 10_000
    keep = Path(__file__).resolve().parents[3] / ".cicd/reports"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot, keep / "dashboard-test.png")
