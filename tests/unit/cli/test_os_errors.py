"""File-system failures are one line naming the path, in every command; never an internal error
(defect 12: a symlink loop in environments/ gave `internal error: RuntimeError`, exit 70)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from cicd.cli import main

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO_CONFIG, tmp_path / "config")
    (tmp_path / "config" / "environments" / "loop.yml").symlink_to("loop.yml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err and "Traceback" not in err
    return err


def test_a_symlink_loop_in_environments_is_one_located_line(project: Path, capsys) -> None:
    assert main(["validate"]) == 1
    line = one_line(capsys)
    assert line.startswith("config/environments/loop.yml: error:") and "loop" in line.split("error:")[1]
    for argv in (["status", "--env", "loop"], ["deploy", "--env", "loop", "--version", "1.0.0"],
                 ["history", "--env", "loop"]):
        assert main(argv) == 1, argv
        assert "no environment 'loop'" in one_line(capsys)


def test_an_unwritable_runs_directory_names_the_path(project: Path, capsys) -> None:
    (project / "config" / "pipeline.yml").write_text(
        textwrap.dedent(
            """\
            name: t
            stages:
              - name: s
                jobs:
                  - {name: a, command: "true"}
            """
        )
    )
    (project / "blocker").write_text("a file where a directory should be\n")
    assert main(["run", "--runs-dir", "blocker/runs"]) == 1
    line = one_line(capsys)
    assert "blocker/runs" in line and "Not a directory" in line
