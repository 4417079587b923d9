"""The changelog, rebuilt from git alone: one section per version tag, newest first, each from the
Conventional Commits between that tag and the one before (the same rules as `cicd release notes`).

Nothing has to be committed by CI (a release commit would fight branch protection): the same tags give
the same file, so CHANGELOG.md can be regenerated and reviewed like any other change.
"""

from __future__ import annotations

import re
import subprocess

from cicd.errors import CicdError
from cicd.workflows import release_notes as rn

SEMVER_TAG = re.compile(r"^v\d+\.\d+\.\d+$")

HEADER = "# Changelog\n\nEvery release, from its Conventional Commits (`cicd release changelog`).\n"


def version_tags(repo: str, until: str = "HEAD") -> list[str]:
    """v* tags merged into `until`, newest first by version."""
    argv = ["git", "-C", repo, "tag", "--list", "v[0-9]*", "--merged", until, "--sort=-v:refname"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as err:
        raise CicdError(f"cannot run git: {err}") from err
    if done.returncode != 0:
        raise CicdError(f"git tag failed in {repo}: {done.stderr.strip() or done.returncode}")
    return [tag for tag in done.stdout.split() if SEMVER_TAG.match(tag)]


def next_release(repo: str, until: str = "HEAD") -> tuple[str | None, str | None, list[rn.Entry]]:
    """(previous tag, next version or None, the releasable entries) for the commits after the last tag."""
    tags = version_tags(repo, until)
    previous = tags[0] if tags else None
    entries = _entries(repo, previous, until)
    return previous, rn.next_version(previous or "v0.0.0", entries), entries


def render(
    repo: str, *, until: str = "HEAD", unreleased: str | None = None, repo_url: str | None = None
) -> str:
    """The whole changelog; `unreleased` titles a section for the commits after the newest tag."""
    tags = version_tags(repo, until)
    sections = []
    if unreleased:
        pending = _entries(repo, tags[0] if tags else None, until)
        sections.append(rn.render(unreleased, pending, repo_url=repo_url))
    for index, tag in enumerate(tags):
        before = tags[index + 1] if index + 1 < len(tags) else None
        sections.append(rn.render(tag, _entries(repo, before, tag), repo_url=repo_url))
    return HEADER + "\n" + "\n".join(sections)


def _entries(repo: str, since: str | None, until: str) -> list[rn.Entry]:
    return [e for e in (rn.parse(c) for c in rn.git_commits(repo, since, until)) if e]
