"""When was the code of a version committed? Lead time starts there.

A version names its commit in one of these ways, tried in order: a git ref of that name (a tag `1.2.0`
or `v1.2.0`, a branch), a commit hash written inside it (`1.2.0+g3f2a1bc`, `sha-3f2a1bc...`), or the
commit SHA a GitHub deployment of that version was made from. Git answers with two commands for any
number of versions (all refs, all commits), so 10,000 deploys cost what 10 do.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HEX_RUN = re.compile(r"(?<![0-9a-f])[0-9a-f]{7,40}(?![0-9a-f])")
GIT_TIMEOUT = 30


@dataclass
class CommitIndex:
    """Commit times of a repository, and the refs that point at commits."""

    times: dict[str, datetime] = field(default_factory=dict)  # full sha -> committer time
    refs: dict[str, str] = field(default_factory=dict)  # short ref name -> sha of its commit
    where: str | None = None
    problem: str | None = None
    _short: dict[str, str] = field(default_factory=dict, repr=False)  # 7-digit prefix -> sha

    def commit_of(self, version: str, shas: Mapping[str, str] | None = None) -> str | None:
        for name in (version, f"v{version}"):
            if name in self.refs:
                return self.refs[name]
        for run in HEX_RUN.findall(version.lower()):
            sha = self._by_prefix(run)
            if sha:
                return sha
        given = (shas or {}).get(version)
        return self._by_prefix(given.lower()) if given else None

    def _by_prefix(self, prefix: str) -> str | None:
        if prefix in self.times:
            return prefix
        if not self._short and self.times:
            for sha in self.times:
                # Two commits sharing 7 hex digits: neither is named by them (git calls that ambiguous).
                self._short[sha[:7]] = "" if sha[:7] in self._short else sha
        match = self._short.get(prefix[:7])
        return match if match and match.startswith(prefix) else None

    def commit_times(
        self, versions: Iterable[str], shas: Mapping[str, str] | None = None
    ) -> dict[str, datetime]:
        found = {}
        for version in set(versions):
            sha = self.commit_of(version, shas)
            if sha is not None:
                found[version] = self.times[sha]
        return found


def _git(repo: Path, *argv: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *argv], capture_output=True, text=True, check=True, timeout=GIT_TIMEOUT
    ).stdout


def read_index(repo: Path) -> CommitIndex:
    """All commits and refs of `repo`; an index with `problem` set when git cannot answer."""
    try:
        log = _git(repo, "log", "--all", "--format=%H %ct")
        refs = _git(repo, "for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)")
    except (OSError, subprocess.SubprocessError) as err:
        detail = getattr(err, "stderr", None) or str(err)
        return CommitIndex(where=str(repo), problem=f"git cannot read {repo}: {detail.strip()}")
    index = CommitIndex(where=str(repo))
    for line in log.splitlines():
        sha, _, stamp = line.partition(" ")
        if stamp.isdigit():
            index.times[sha] = datetime.fromtimestamp(int(stamp), UTC)
    for line in refs.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            # An annotated tag points at a tag object; %(*objectname) is the commit it tags.
            index.refs[parts[0].removeprefix("tags/")] = parts[-1]
    return index
