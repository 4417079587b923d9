"""`cicd postmortem` after a real automatic rollback behind nginx: the timeline, the breached measurement
against its baseline, time to detect and to restore, all from the history and the ledger."""

from __future__ import annotations

import http.client
import re
import threading

import pytest
from tests.integration.deploy.deploy_harness import Project
from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn

pytestmark = pytest.mark.integration

# Fails only the requests the load sends (quantity 3): health and smoke checks pass, users do not.
FAILS_FOR_USERS = """if query.get("quantity") == ["3"]:
    self._send_json(500, {"error": "boom"})
    return"""


def test_postmortem_of_an_automatic_rollback(tmp_path):
    project = Project(tmp_path)
    env = project.add_env("staging")
    host, port = env["deploy"]["router"]["listen"].split(":")
    stop = threading.Event()

    def load() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        while not stop.is_set():
            try:
                conn.request("GET", "/api/quote?sku=widget&quantity=3")
                conn.getresponse().read()
            except OSError:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
            stop.wait(0.01)

    try:
        nothing = project.cicd("postmortem", "--env", "staging")
        assert nothing.returncode == 2 and "no rolled-back deployment" in nothing.stderr
        project.must_deploy("staging", "1.0.0")
        threading.Thread(target=load, daemon=True).start()
        bad = project.deploy("staging", "2.0.0", "--artifact", str(project.artifact("bad", FAILS_FOR_USERS)))
        assert bad.returncode != 0, bad.stdout
    finally:
        stop.set()
        project.shut_down()

    out, summary = tmp_path / "pm.md", tmp_path / "summary.md"
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    written = project.cicd("postmortem", "--env", "staging", "--output", str(out), extra_env=actions)
    assert written.returncode == 0, written.stderr
    text = out.read_text()
    assert summary.read_text().strip() == text.strip()  # the job summary has the same postmortem
    assert text.startswith("# Postmortem: deploy 2.0.0 (rolled_back)")
    assert "from 1.0.0 to 2.0.0" in text
    assert re.search(r"\| verify \| failed \| [0-9.]+ \| verification failed: error rate", text)
    assert "Verdict: **Failed**" in text
    assert re.search(r"\| error rate \| 0\.0 % \| ([5-9]\d|100)\.\d % \| \*\*breached\*\* \|", text)
    assert re.search(r"\| p95 latency \(ms\) \| [0-9.]+ \| [0-9.]+ \|  \|", text)  # not what breached
    detect = float(re.search(r"time to detect \(switch to breach\): ([0-9.]+) s", text).group(1))
    restore = float(re.search(r"time to restore \(switch to switch back\): ([0-9.]+) s", text).group(1))
    assert 0 < detect <= restore < 60
    assert text.index("traffic.switch 2.0.0") < text.index("deploy.verification 2.0.0")
    assert text.index("deploy.verification 2.0.0") < text.index("traffic.switch 1.0.0")
    assert "## Cause" in text and "## Actions" in text
    by_id = project.cicd("postmortem", "--env", "staging", "--deploy", "1")
    assert by_id.returncode == 0 and "No switch back was recorded" in by_id.stdout
    missing = project.cicd("postmortem", "--env", "staging", "--deploy", "99")
    assert missing.returncode == 2 and "no deployment 99" in missing.stderr

    # The rollback workflow's second job: the file the rollback job wrote, to the failure issue.
    attach = ("postmortem", "--env", "staging", "--from-file", str(out), "--issue")
    no_token = project.cicd(*attach)
    assert no_token.returncode == 2 and "--issue needs GITHUB_TOKEN" in no_token.stderr
    with GitHubApiStandIn() as github:
        api = {"GITHUB_TOKEN": DEFAULT_TOKEN, "GITHUB_REPOSITORY": "shop/web", "GITHUB_API_URL": github.url}
        opened = project.cicd(*attach, extra_env={**api, **actions})
        again = project.cicd(*attach, extra_env=api)
        assert github.violations == [] and github.bugs == []
        issues, comments = github.state["issues"], github.comments("shop/web", 1)
    assert opened.returncode == 0 and "postmortem posted on issue #1" in opened.stdout, opened.stderr
    assert again.returncode == 0 and "postmortem posted on issue #1" in again.stdout, again.stderr
    assert [(i["title"], i["labels"]) for i in issues] == [("Deploy to staging failed", ["deploy-failure"])]
    assert issues[0]["body"] == text.strip() and [c["body"] for c in comments] == [text.strip()]
    assert summary.read_text().count("# Postmortem: deploy 2.0.0") == 2  # and in that job's summary
