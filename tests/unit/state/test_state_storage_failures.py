"""The state database when its storage fails: corrupt, full, read-only. Each is one line naming the file
and the way out, never a traceback or "cannot rollback - no transaction is active" (defects 12, 13)."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

CICD = [sys.executable, "-m", "cicd"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config" / "environments").mkdir(parents=True)
    (tmp_path / "config" / "environments" / "scratch.yml").write_text("name: scratch\ntype: development\n")
    return tmp_path


def cicd(project: Path, *argv: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:  # writes past this size fail with EFBIG, as on a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [*CICD, *argv], cwd=project, env=env, capture_output=True, text=True, timeout=60, preexec_fn=limit
    )


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 1, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line and "internal error" not in line
    assert "no transaction is active" not in line
    for text in expected:
        assert text in line
    return line


def make_history(project: Path) -> Path:
    assert cicd(project, "lock", "--env", "scratch", "--reason", "first").returncode == 0
    assert cicd(project, "unlock", "--env", "scratch").returncode == 0
    return project / ".cicd" / "state" / "scratch.db"


def test_a_corrupt_database_names_the_file_and_the_recovery(project: Path) -> None:
    db = make_history(project)
    db.write_bytes(b"not sqlite at all " * 400)
    line = one_line_error(cicd(project, "history", "--env", "scratch"), "is corrupt", f"mv {db}")
    assert "State storage problems" in line


def test_a_full_disk_names_the_file_and_the_recovery(project: Path) -> None:
    db = make_history(project)
    result = cicd(project, "lock", "--env", "scratch", "--reason", "y" * 400, fsize=8192)
    one_line_error(result, f"no space to write the state database {db}", "df -h")
    assert cicd(project, "history", "--env", "scratch").returncode == 0  # nothing half written


def test_a_read_only_state_directory_still_reads_and_says_why_it_cannot_write(project: Path) -> None:
    db = make_history(project)
    with read_only(db.parent):
        assert cicd(project, "audit", "verify", "--env", "scratch").returncode == 0
        assert cicd(project, "history", "--env", "scratch").returncode == 0
        result = cicd(project, "lock", "--env", "scratch", "--reason", "x")
        one_line_error(result, f"state database {db} cannot be written", "read-only", f"ls -ld {db.parent}")


@contextlib.contextmanager
def read_only(folder: Path):  # type: ignore[no-untyped-def]
    """A read-only mount when root (root ignores permissions), else permissions."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)
