"""The process runtime supervises what it starts: a crashed app comes back with backoff, a stop is
never mistaken for a crash, and a version that crashes during its health gate fails it at once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
from deploy_harness import last_line, live_version

pytestmark = pytest.mark.integration


def slot_pid(project, color: str) -> int:
    return int((project.root / ".cicd" / "run" / "staging" / f"{color}.pid").read_text())


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


@pytest.mark.parametrize("router", ["nginx", "haproxy"])
def test_a_crashed_app_is_restarted_and_a_stop_is_not_a_crash(project, router):
    if shutil.which(router) is None and shutil.which(f"/usr/sbin/{router}") is None:
        pytest.skip(f"{router} is not installed (scripts/install-system-deps.sh installs it)")
    project.add_env("staging", router={"kind": router})
    project.must_deploy("staging", "1.0.0")
    supervisor = slot_pid(project, "blue")
    [app] = children(supervisor)

    os.kill(app, signal.SIGKILL)  # a crash: no clean exit
    deadline = time.monotonic() + 15
    while live_version(project, "staging") != "1.0.0" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_version(project, "staging") == "1.0.0"
    [restarted] = children(supervisor)
    assert restarted != app
    restarts = project.root / ".cicd" / "run" / "staging" / "blue.restarts"
    assert restarts.read_text().split() == ["1", str(128 + signal.SIGKILL)]
    log = (project.root / ".cicd" / "run" / "staging" / "blue.log").read_text()
    assert "exited with status 137; restart 1 in 1s" in log

    project.must_deploy("staging", "1.1.0")  # blue stays warm; then roll back and forth: stops are clean
    project.must_deploy("staging", "1.2.0")  # stops blue (1.0.0) to make room: no restart follows
    time.sleep(1.5)
    assert live_version(project, "staging") == "1.2.0"
    assert not restarts.exists() or restarts.read_text().split()[0] == "0"  # a fresh start resets it


def test_a_version_crashing_in_its_health_gate_fails_it_at_once(project):
    project.add_env("staging", health={"timeout_seconds": 60})
    project.must_deploy("staging", "1.0.0")
    crashing = project.artifact("crashes")
    (crashing / "sample_service" / "app.py").write_text("raise SystemExit('config file missing')\n")

    started = time.monotonic()
    result = project.deploy("staging", "2.0.0", "--artifact", str(crashing))

    assert result.returncode == 1
    assert time.monotonic() - started < 30  # not the 60 s health timeout: the crash ended the gate
    assert "health gate" in last_line(result) and "1.0.0 keeps serving" in last_line(result)
    assert "config file missing" in result.stdout
    assert live_version(project, "staging") == "1.0.0"
