"""`cicd flags rollout` on a real deploy behind nginx: healthy steps are verified and the rollout completes;
a flag that breaks the service is turned off by verification, and the errors stop without a deploy."""

from __future__ import annotations

import http.client
import json
import random
import threading

import pytest
from tests.integration.deploy.deploy_harness import Project

pytestmark = pytest.mark.integration

FLAGS = {
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
    },
}
# quote-v2 in this build answers 500: the feature is broken, the rest of the service is fine
BROKEN_V2 = """from sample_service.features import FEATURES
if FEATURES.enabled("quote-v2", query.get("user", [None])[0]):
    self._send_json(500, {"error": "quote v2 is broken"})
    return"""


class Load(threading.Thread):
    """Keep-alive quote requests from random users through the router, counting answers by status."""

    def __init__(self, listen: str):
        super().__init__(daemon=True)
        self.host, self.port = listen.split(":")
        self.statuses: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=5)
        while not self.stopping.is_set():
            try:
                conn.request("GET", f"/api/quote?sku=widget&quantity=2&user=u{random.randrange(10**6)}")
                response = conn.getresponse()
                response.read()
                self.statuses.append(response.status)
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=5)
            self.stopping.wait(0.005)
        conn.close()


def ledger(project: Project) -> list[dict]:
    audit = project.cicd("audit", "show", "--env", "staging", "--json")
    return [json.loads(line) for line in audit.stdout.splitlines()]


def test_rollout_verified_step_by_step_and_a_bad_flag_disabled_by_verification(tmp_path):
    project = Project(tmp_path)
    flag_file = project.root / ".cicd" / "flags" / "staging.json"
    env = project.add_env("staging", runtime={"env": {"FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flag_file)}})
    (project.config_dir / "flags").mkdir()
    (project.config_dir / "flags" / "staging.json").write_text(json.dumps(FLAGS))
    load = Load(env["deploy"]["router"]["listen"])
    try:
        project.cicd("flags", "push", "--env", "staging").check_returncode()
        project.must_deploy("staging", "1.0.0")
        load.start()

        good = project.cicd("flags", "rollout", "quote-v2", "--steps", "20,100", "--env", "staging")
        assert good.returncode == 0, good.stdout + good.stderr
        assert "quote-v2 at 20%: Successful" in good.stdout and "quote-v2 at 100%: Successful" in good.stdout
        live = json.loads(flag_file.read_text())["flags"]["quote-v2"]
        assert live["targeting"]["fractional"][0] == ["on", 100]

        project.cicd("flags", "set", "quote-v2", "--percent", "0", "--env", "staging").check_returncode()
        project.must_deploy("staging", "2.0.0", "--artifact", str(project.artifact("v2-broken", BROKEN_V2)))

        bad = project.cicd("flags", "rollout", "quote-v2", "--steps", "10,50,100", "--env", "staging")
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "quote-v2 at 10%: Failed" in bad.stdout and "at 50%" not in bad.stdout
        assert "quote-v2 turned off in staging" in bad.stderr
        assert json.loads(flag_file.read_text())["flags"]["quote-v2"]["state"] == "DISABLED"
        seen = len(load.statuses)
        threading.Event().wait(1.0)  # the services read the file within their poll interval
        after = load.statuses[seen + 50 :]
        assert after and set(after) == {200}, "errors went on after the flag was disabled"
    finally:
        load.stopping.set()
        project.shut_down()

    entries = ledger(project)
    rollouts = [e for e in entries if e["action"] == "flag.rollout"]
    assert [e["outcome"] for e in rollouts] == ["completed", "disabled"]
    assert [s["percent"] for s in rollouts[1]["details"]["steps"]] == [10]
    steps = [e["details"]["after"] for e in entries if e["action"] == "flag.rollout-step"]
    assert steps[-1].endswith("on 10%, off 90%")
    auto = next(e for e in entries if e["action"] == "flag.auto-disable")
    assert auto["details"]["after"].startswith("off") and "verification at 10%" in auto["reason"]
