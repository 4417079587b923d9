"""Access logs rotate at deploy time: copied aside and truncated in place, while the writer (opened
for appending, as nginx and HAProxy's stdout are) goes on at the new end (defect 11)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cicd.config import load_environment
from cicd.deploy.logrotate import rotate_access_logs
from cicd.deploy.report import Reporter
from cicd.deploy.target import build_target

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_a_large_access_log_is_rotated_and_the_writer_goes_on(tmp_path: Path, capsys) -> None:
    shutil.copytree(REPO_CONFIG, tmp_path / "config")
    target = build_target(load_environment(tmp_path / "config", "staging"), base_dir=str(tmp_path))
    access = Path(target.router.access_log_path(target.primary))
    access.parent.mkdir(parents=True)
    preview = access.parent / "preview.log"
    preview.write_text("small\n")
    writer = os.open(access, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(writer, b"old line\n" * 2000)  # 18 000 bytes
        rotate_access_logs(target, Reporter(), limit=10_000)
        os.write(writer, b"new line\n")
    finally:
        os.close(writer)
    assert access.read_bytes() == b"new line\n"  # no hole of zeros: the writer appends
    assert Path(f"{access}.1").read_bytes() == b"old line\n" * 2000
    assert preview.read_text() == "small\n" and not Path(f"{preview}.1").exists()
    assert f"rotated {access}" in capsys.readouterr().out

    rotate_access_logs(target, Reporter(), limit=10_000)  # under the limit now: untouched
    assert access.read_bytes() == b"new line\n"
