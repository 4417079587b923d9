"""What a process release contains, and its digest: a version is a label, the digest is the identity.

A directory artifact ships the files git would ship: inside a git work tree, `git ls-files` (tracked,
plus untracked files .gitignore does not exclude); elsewhere every file, minus the root .gitignore's
patterns. `runtime.include` (glob patterns) narrows either to what it names. Never shipped, whatever
the lists say: .cicd/ (releases, logs, the state database), VCS folders and tool caches.

A folder git ignores as a whole (an artifact built under an ignored path) is walked like one
outside git.

The digest of a directory is sha256 over each file's path, executable bit and content hash, in path
order: the same tree gives the same digest on every machine, whatever the file times. A .tar.gz
artifact's digest is the sha256 of its bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cicd.errors import DeploymentError

NEVER_SHIPPED = {
    ".cicd", ".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox",
}  # fmt: skip


@dataclass(frozen=True)
class Artifact:
    source: Path
    digest: str  # "sha256:<hex>"
    files: tuple[str, ...]  # relative POSIX paths; empty for a tarball

    def pack(self) -> bytes:
        """The artifact as .tar.gz bytes (a tarball as it is)."""
        if not self.files:
            return self.source.read_bytes()
        import tarfile  # here, not at import: a rollback loads this module but never packs

        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name in self.files:
                tar.add(self.source / name, arcname=name, recursive=False)
        return buffer.getvalue()


def _shipped(name: str) -> bool:
    return not set(PurePosixPath(name).parts) & NEVER_SHIPPED


def _git_files(source: Path) -> list[str] | None:
    """Files git would ship from `source`, None when it is not inside a git work tree."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listed.returncode != 0:
        return None
    names = [name for name in listed.stdout.decode(errors="surrogateescape").split("\0") if name]
    if not names and _ignored_by_git(source):
        return None  # a folder git ignores as a whole (a build output, .cicd/...): not git's to list
    return names


def _ignored_by_git(source: Path) -> bool:
    argv = ["git", "-C", str(source), "check-ignore", "-q", "."]
    try:
        return subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _ignore_patterns(source: Path) -> list[str]:
    ignore = source / ".gitignore"
    if not ignore.is_file():
        return []
    lines = (line.strip() for line in ignore.read_text(errors="replace").splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith(("#", "!"))]


def _ignored(name: str, patterns: list[str]) -> bool:
    parts = PurePosixPath(name).parts
    for pattern in patterns:
        anchored = pattern.lstrip("/")
        if pattern.startswith("/") or "/" in anchored:  # from the root: the file or a folder above it
            if any(fnmatch.fnmatch("/".join(parts[:i]), anchored) for i in range(1, len(parts) + 1)):
                return True
        elif any(fnmatch.fnmatch(part, anchored) for part in parts):
            return True
    return False


def _walk_files(source: Path) -> list[str]:
    patterns = _ignore_patterns(source)
    found = []
    for folder, dirs, files in os.walk(source):
        dirs[:] = [d for d in dirs if d not in NEVER_SHIPPED]
        for file in files:
            name = (Path(folder) / file).relative_to(source).as_posix()
            if not _ignored(name, patterns):
                found.append(name)
    return found


def list_files(source: Path, include: list[str] | None = None) -> list[str]:
    names = _git_files(source)
    if names is None:
        names = _walk_files(source)
    names = [n for n in names if _shipped(n) and (source / n).is_file() and not (source / n).is_symlink()]
    if include:
        names = [n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in include)]
    return sorted(set(names))


def tree_digest(source: Path, files: list[str]) -> str:
    outer = hashlib.sha256()
    for name in files:
        path = source / name
        inner = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                inner.update(chunk)
        executable = "x" if os.access(path, os.X_OK) else "-"
        outer.update(f"{name}\0{executable}\0{inner.hexdigest()}\n".encode(errors="surrogateescape"))
    return f"sha256:{outer.hexdigest()}"


def inspect_artifact(source: Path, include: list[str] | None = None) -> Artifact:
    """Check the artifact on the deploying machine and compute its digest; one-line errors."""
    try:
        if source.is_dir():
            files = list_files(source, include)
            if not files:
                raise DeploymentError(
                    f"artifact {source} ships no file (all excluded by .gitignore, runtime.include or "
                    f"{', '.join(sorted(NEVER_SHIPPED))}): check what the service needs"
                )
            return Artifact(source, tree_digest(source, files), tuple(files))
        if source.is_file() and source.name.endswith((".tar.gz", ".tgz")):
            return Artifact(source, f"sha256:{hashlib.sha256(source.read_bytes()).hexdigest()}", ())
    except OSError as err:
        raise DeploymentError(f"artifact {source} cannot be read: {err.strerror}") from err
    raise DeploymentError(
        f"artifact {source} not found: give --artifact a directory or a .tar.gz of the service"
    )
