"""The README's main job, `make demo`, end to end: scripts/demo.sh on this checkout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]


def test_demo_deploys_without_a_failed_request_and_rolls_back_the_broken_version():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("GITHUB_")}
    demo = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=330
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output[-4000:]
    assert "sample-service: success" in output
    assert "no request failed" in output
    assert "rolled back to 1.1.0" in output
    assert "live      1.1.0 on green" in output
