"""setup-cicd reuses a cicd on PATH only when it is exactly the suite at the referenced commit."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cicd.workflows.suite import first_difference, installed_package

pytestmark = pytest.mark.workflows
REPO = Path(__file__).resolve().parents[2]
CICD = str(Path(sys.executable).parent / "cicd")


def test_the_running_package_is_this_checkout():
    assert first_difference(REPO / "scripts" / "cicd", installed_package()) is None


def test_an_older_or_foreign_suite_is_not_reused(tmp_path):
    suite = tmp_path / "suite" / "scripts" / "cicd"
    shutil.copytree(REPO / "scripts" / "cicd", suite, ignore=shutil.ignore_patterns("__pycache__"))
    gha = suite / "gha.py"
    gha.write_text(gha.read_text() + "\n# one line more at another commit\n")
    assert first_difference(suite, installed_package()) == "gha.py differs"
    (suite / "extra.py").write_text("")
    gha.unlink()
    assert first_difference(suite, installed_package()) == "extra.py is not installed"
    assert "holds no cicd modules" in (first_difference(tmp_path / "nothing", installed_package()) or "")
    done = subprocess.run([CICD, "workflows", "same-suite", str(tmp_path / "suite")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "is not the suite" in done.stdout
    done = subprocess.run([CICD, "workflows", "same-suite", str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_the_action_refuses_to_run_as_a_copy_and_installs_with_the_constraints():
    text = (REPO / ".github" / "actions" / "setup-cicd" / "action.yml").read_text()
    assert "grep -q '^name = \"cicd\"$'" in text and "reference it as OWNER/SUITE" in text
    assert '--constraint "${SUITE_ROOT}/constraints.txt"' in text
    assert 'cicd workflows same-suite "${SUITE_ROOT}"' in text
    assert "cicd --version)\" = \"cicd ${wanted}\"" not in text  # no "any cicd 0.1.0" shortcut
