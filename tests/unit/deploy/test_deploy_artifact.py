"""What a process release ships and its digest (deploy/runtimes/artifact.py), on real folders and git."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import pytest

from cicd.deploy.runtimes.artifact import inspect_artifact
from cicd.errors import DeploymentError


def service(root):
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    return root


def test_the_digest_is_the_content_not_the_file_times(tmp_path):
    first = inspect_artifact(service(tmp_path / "a"))
    again = service(tmp_path / "b")
    os.utime(again / "app" / "main.py", (1, 1))
    assert inspect_artifact(again).digest == first.digest and first.files == ("app/main.py", "run.sh")
    os.chmod(again / "run.sh", 0o644)  # the executable bit is content too
    assert inspect_artifact(again).digest != first.digest
    (again / "app" / "main.py").write_text("print('changed')\n")
    assert inspect_artifact(again).digest.startswith("sha256:")


def test_outside_git_the_root_gitignore_and_never_shipped_folders_are_left_out(tmp_path):
    root = service(tmp_path / "svc")
    (root / ".gitignore").write_text("# build output\n*.log\nbuild/\n/secret.txt\n")
    for name in (".cicd/state/db.sqlite", ".git/HEAD", "app/__pycache__/x.pyc", "debug.log", "build/out",
                 "secret.txt", "app/secret.txt"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    artifact = inspect_artifact(root)
    assert artifact.files == (".gitignore", "app/main.py", "app/secret.txt", "run.sh")
    with tarfile.open(fileobj=io.BytesIO(artifact.pack())) as tar:
        assert sorted(tar.getnames()) == sorted(artifact.files)
    assert inspect_artifact(root, include=["app/*"]).files == ("app/main.py", "app/secret.txt")


def test_inside_git_what_git_would_ship_and_an_ignored_folder_is_walked(tmp_path):
    repo = service(tmp_path / "repo")
    (repo / ".gitignore").write_text("*.tmp\nout/\n")
    (repo / "scratch.tmp").write_text("x\n")
    (repo / "out" / "release").mkdir(parents=True)
    (repo / "out" / "release" / "main.py").write_text("print('built')\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    assert inspect_artifact(repo).files == (".gitignore", "app/main.py", "run.sh")
    assert inspect_artifact(repo / "out" / "release").files == ("main.py",)  # ignored as a whole


def test_a_tarball_is_its_bytes_and_a_bad_artifact_is_one_line(tmp_path):
    tarball = tmp_path / "svc.tar.gz"
    tarball.write_bytes(b"not really gzip, but bytes have a digest")
    assert inspect_artifact(tarball).files == () and inspect_artifact(tarball).pack() == tarball.read_bytes()
    with pytest.raises(DeploymentError, match=r"not found: give --artifact a directory or a \.tar\.gz"):
        inspect_artifact(tmp_path / "missing")
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    with pytest.raises(DeploymentError, match="ships no file"):
        inspect_artifact(tmp_path / "empty")
