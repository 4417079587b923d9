"""Flags as a safety net on a real deploy behind nginx: a deploy whose verification names a flag turns
that flag off instead of rolling the code back (and still rolls back when the flag was not the fault);
flag changes made at the same moment by separate processes all land."""

from __future__ import annotations

import json
import threading

import pytest
from tests.integration.deploy.deploy_harness import Project, live_version
from tests.integration.flags.test_flag_rollout import BROKEN_V2, Load, ledger
from tests.integration.flags.test_flags_live import engines, wait_for

pytestmark = pytest.mark.integration

FLAGS = {
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
        "dark-mode": {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
        "beta-banner": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
    },
}
# v3 fails every user's quote, flag or not (the smoke check, which names no user, still passes)
BROKEN_FOR_USERS = 'if query.get("user"):\n    self._send_json(500, {"error": "quotes fail"})\n    return'


def flag_project(tmp_path, **deploy_overrides) -> tuple[Project, dict]:
    project = Project(tmp_path)
    flag_file = project.root / ".cicd" / "flags" / "staging.json"
    runtime = {"env": {"FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flag_file)}}
    env = project.add_env("staging", runtime=runtime, **deploy_overrides)
    (project.config_dir / "flags").mkdir()
    (project.config_dir / "flags" / "staging.json").write_text(json.dumps(FLAGS))
    project.cicd("flags", "push", "--env", "staging").check_returncode()
    return project, env


def live_flags(project: Project) -> dict:
    return json.loads((project.root / ".cicd" / "flags" / "staging.json").read_text())["flags"]


def test_a_bad_flag_is_disabled_by_the_deploys_verification_and_the_release_stays(tmp_path):
    verification = {"disable_flag": "quote-v2", "window_seconds": 2, "min_samples": 20}
    project, env = flag_project(tmp_path, verification=verification)
    load = Load(env["deploy"]["router"]["listen"])
    try:
        project.must_deploy("staging", "1.0.0")
        project.cicd("flags", "set", "quote-v2", "--percent", "100", "--env", "staging").check_returncode()
        load.start()

        v2 = project.deploy("staging", "2.0.0", "--artifact", str(project.artifact("v2", BROKEN_V2)))
        assert v2.returncode == 0, v2.stdout + v2.stderr
        assert "quote-v2 turned off on 1 host(s)" in v2.stdout
        assert "verification Failed with quote-v2 on" in v2.stdout and "2.0.0 stays live" in v2.stdout
        assert live_version(project, "staging") == "2.0.0"
        assert live_flags(project)["quote-v2"]["state"] == "DISABLED"
        repo_file = json.loads((project.config_dir / "flags" / "staging.json").read_text())
        assert repo_file["flags"]["quote-v2"]["state"] == "DISABLED"  # a later `flags push` keeps it off
        seen = len(load.statuses)
        threading.Event().wait(1.0)
        after = load.statuses[seen:]
        assert len(after) > 5 and set(after) == {200}, "errors went on after the flag was disabled"

        # The flag is off already, so it cannot be the fault: code that fails anyway is rolled back.
        v3 = project.deploy("staging", "3.0.0", "--artifact", str(project.artifact("v3", BROKEN_FOR_USERS)))
        assert v3.returncode != 0, v3.stdout + v3.stderr
        assert "quote-v2 not turned off" in v3.stdout and "already off" in v3.stdout
        assert "rolled back to 2.0.0" in v3.stdout + v3.stderr
        assert live_version(project, "staging") == "2.0.0"
    finally:
        load.stopping.set()
        project.shut_down()

    entries = ledger(project)
    auto = [e for e in entries if e["action"] == "flag.auto-disable"]
    assert len(auto) == 1 and auto[0]["reason"].startswith("deploy verification of 2.0.0 Failed")
    assert auto[0]["details"]["before"].startswith("on") and auto[0]["details"]["after"].startswith("off")
    history = json.loads(project.cicd("history", "--env", "staging", "--json").stdout)
    by_version = {row["version"]: row for row in history}
    assert by_version["2.0.0"]["status"] == "succeeded"
    assert by_version["2.0.0"]["verification"]["summary"].startswith("with quote-v2 off")


def test_flag_changes_made_at_the_same_moment_all_land(tmp_path):
    project, env = flag_project(tmp_path)
    try:
        project.must_deploy("staging", "1.0.0")
        # Each change holds its read-change-write open for 0.5 s: unserialised, every one of them would
        # read the same file and the last write would drop the others' changes.
        slow = {"CICD_TEST_FLAGS_PAUSE_SECONDS": "0.5"}
        changes = [
            ("set", "quote-v2", "--percent", "100"),
            ("enable", "dark-mode"),
            ("disable", "beta-banner"),
        ]
        procs = [project.popen("flags", *change, "--env", "staging", extra_env=slow) for change in changes]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, out + err
        flags = live_flags(project)
        assert flags["quote-v2"]["targeting"] == {"fractional": [["on", 100], ["off", 0]]}
        assert flags["dark-mode"]["state"] == "ENABLED" and flags["beta-banner"]["state"] == "DISABLED"
        assert json.loads((project.config_dir / "flags" / "staging.json").read_text())["flags"] == flags
        listen = env["deploy"]["router"]["listen"]  # the service follows the merged file
        wait_for(listen, "user-1", "v2")
        assert set(engines(listen, [f"user-{n}" for n in range(50)]).values()) == {"v2"}
    finally:
        project.shut_down()
    entries = [e for e in ledger(project) if e["action"] in ("flag.set", "flag.enable", "flag.disable")]
    assert sorted(e["details"]["flag"] for e in entries) == ["beta-banner", "dark-mode", "quote-v2"]
