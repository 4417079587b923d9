"""The Python API's deploy and rollback against real nginx and service processes (as docs/API.md says)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.integration.deploy.deploy_harness import Project, live_version

from cicd import api
from cicd.errors import DeploymentError, RollbackError

pytestmark = pytest.mark.integration


@pytest.fixture
def project(tmp_path):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh installs it)")
    proj = Project(tmp_path)
    proj.add_env("staging")
    yield proj
    proj.shut_down()


def test_deploy_then_roll_back_through_the_api(project, capsys):
    config = project.config_dir

    def deploy(version: str, artifact: Path) -> dict:
        return api.manage_deployments({"version": version, "artifact": str(artifact), "reason": "api test"},
                                      "staging", config_dir=config)

    first = deploy("1.0.0", project.artifact("v1"))
    second = deploy("1.1.0", project.artifact("v2"))
    assert capsys.readouterr().out == ""  # phase lines are captured, not printed
    assert (first["id"], second["id"]) == ("staging/1", "staging/2")
    assert second["status"] == "completed" and second["rollback_available"] is True
    assert [p["name"] for p in second["phases"]][-1] not in ("", None)
    assert live_version(project, "staging") == "1.1.0"

    rollback = api.handle_rollback(second["id"], reason="api test: checkout errors", config_dir=config)
    assert rollback["status"] == "completed" and rollback["strategy"] == "immediate"
    assert rollback["rollback_id"] == "staging/3" and rollback["rollback_steps"]
    assert rollback["verification_results"]["live_version"] == "1.0.0"
    assert live_version(project, "staging") == "1.0.0"

    with pytest.raises(RollbackError, match=r"staging/2 is not live \(it deployed 1.1.0; live is 1.0.0\)"):
        api.handle_rollback(second["id"], config_dir=config)

    broken = project.artifact("broken", patch="self._send_json(500, {'error': 'boom'})\nreturn")
    with pytest.raises(DeploymentError):
        deploy("2.0.0", broken)
    assert live_version(project, "staging") == "1.0.0"  # the failed deploy never took the traffic
