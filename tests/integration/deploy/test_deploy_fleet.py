"""Fleet-atomic switching with two real nginx instances: when the second host's switch fails, the first
host is switched back, so no fleet is left with mixed versions. (The remote part runs the same over two
sshd hosts; here host "b" is a second prefix on this machine whose nginx cannot bind the live port.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_harness import live_version

from cicd.config import load_environment
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.routers.nginx import Traffic
from cicd.deploy.runner import Runner, RunState
from cicd.deploy.runtimes.base import Release
from cicd.deploy.target import build_target
from cicd.errors import DeploymentError
from cicd.hosts.local import LocalHost

pytestmark = pytest.mark.integration


def test_a_failed_switch_on_one_host_switches_the_others_back(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")  # host a: blue live
    target = build_target(load_environment(project.config_dir, "staging"), base_dir=str(project.root))
    host_a = target.primary
    host_b = LocalHost("b", cwd=str(Path(project.root) / "b"))  # its nginx cannot bind the live port
    target.runtime.prepare(host_a, Release("2.0.0"))
    target.runtime.start(host_a, target.slot("green"), Release("2.0.0"))
    target.hosts = [host_a, host_b]

    runner = Runner(target, Record(), Reporter(quiet=True), RunState("2.0.0", "blue", "1.0.0"))
    with pytest.raises(DeploymentError, match=r"switch failed on b; switched back local"):
        runner.switch_all(Traffic.all_to("green"))

    assert target.router.read(host_a).live_color == "blue"
    assert live_version(project, "staging") == "1.0.0"
    target.router.stop(host_b)
