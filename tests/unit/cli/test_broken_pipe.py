"""`cicd history | head` and `cicd audit show --json | head`: when the reader goes away, cicd stops
quietly with 141 (128 + SIGPIPE, what a shell reports for `yes | head`), never `internal error`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "argv", [["history", "--env", "scratch"], ["audit", "show", "--env", "scratch", "--json"]]
)
def test_a_closed_stdout_pipe_ends_quietly(tmp_path: Path, argv: list[str]) -> None:
    environments = tmp_path / "config" / "environments"
    environments.mkdir(parents=True)
    (environments / "scratch.yml").write_text("name: scratch\ntype: development\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    subprocess.run(
        [sys.executable, "-m", "cicd", "lock", "--env", "scratch", "--reason", "one entry to show"],
        cwd=tmp_path, env=env, check=True, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "cicd", *argv],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before cicd writes a byte
    stderr = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert (code, stderr) == (141, "")
