"""actionlint (with shellcheck for every run: script) and zizmor (offline, default persona) over
.github/: any finding fails the test and is printed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .conftest import GITHUB, REPO

pytestmark = pytest.mark.workflows
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail(f"{name} is not installed (make install)")
    return found


def test_actionlint_with_shellcheck_is_clean():
    shellcheck = tool("shellcheck")
    result = subprocess.run(
        [tool("actionlint"), "-shellcheck", shellcheck, "-no-color"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_offline_is_clean(persona):
    # "regular" is zizmor's default persona; "auditor" adds the findings it marks as possibly noisy.
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", f"--persona={persona}",
         str(GITHUB)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_catches_an_injected_expression(tmp_path):
    # The guard works: untrusted context pasted into run: is reported (so a clean run means something).
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    bad = str(wf / "bad.yml")
    result = subprocess.run(
        [tool("actionlint"), "-no-color", bad], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1 and "potentially untrusted" in result.stdout


def test_zizmor_catches_unpinned_actions_and_missing_permissions(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
    )
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", str(tmp_path / ".github")],
        capture_output=True, text=True,
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unpinned-uses" in out and "excessive-permissions" in out and "artipacked" in out


def composite_scripts():
    standins = REPO / "tests" / "e2e" / "actions"
    actions = [*(GITHUB / "actions").glob("*/action.yml"), *standins.glob("*/action.yml")]
    for path in sorted(actions):
        steps = YAML(typ="safe").load(path.read_text())["runs"]["steps"]
        for index, step in enumerate(steps):
            if "run" in step:
                yield pytest.param(step["run"], id=f"{path.parent.name}-{index}")


@pytest.mark.parametrize("script", list(composite_scripts()))
def test_composite_action_scripts_pass_shellcheck(script):
    # actionlint checks workflow files only; the scripts of composite actions get shellcheck here.
    assert "${{" not in script
    result = subprocess.run(
        [tool("shellcheck"), "--shell=bash", "--severity=style", "-"],
        input=script, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout
