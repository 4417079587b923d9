"""Release notes from Conventional Commits (https://www.conventionalcommits.org).

`feat` → Features, `fix` → Bug fixes, `perf` → Performance, a `!` after the type or a
`BREAKING CHANGE:` footer → Breaking changes; other types are left out of the notes. The next version
follows the same rules (breaking → major, feat → minor, fix/perf → patch; below 1.0.0 a breaking
change bumps the minor, as release-please and python-semantic-release allow).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from cicd.errors import CicdError

HEADER_RE = re.compile(r"^(?P<type>[a-zA-Z]+)(?:\((?P<scope>[^()\r\n]+)\))?(?P<bang>!)?: (?P<subject>.+)$")
BREAKING_RE = re.compile(r"^BREAKING[ -]CHANGE: (?P<text>.+)", re.MULTILINE)
SECTIONS = (
    ("breaking", "Breaking changes"),
    ("feat", "Features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
)
# A record separator that cannot appear in commit messages, so bodies may hold anything.
RS, US = "\x1e", "\x1f"


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


@dataclass(frozen=True)
class Entry:
    kind: str  # feat | fix | perf
    scope: str | None
    subject: str
    sha: str
    breaking: str | None  # the breaking-change text, if any


def parse(commit: Commit) -> Entry | None:
    """The commit as a notes entry, or None when its header is not a Conventional Commit."""
    header, _, body = commit.message.strip().partition("\n")
    match = HEADER_RE.match(header.strip())
    if match is None:
        return None
    footer = BREAKING_RE.search(body)
    breaking = footer["text"].strip() if footer else (match["subject"] if match["bang"] else None)
    return Entry(match["type"].lower(), match["scope"], match["subject"].strip(), commit.sha, breaking)


def next_version(current: str, entries: list[Entry]) -> str | None:
    """The version these changes call for, or None when nothing releasable changed."""
    major, minor, patch = _semver(current)
    if any(e.breaking for e in entries):
        return f"{major}.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"
    if any(e.kind == "feat" for e in entries):
        return f"{major}.{minor + 1}.0"
    if any(e.kind in ("fix", "perf") for e in entries):
        return f"{major}.{minor}.{patch + 1}"
    return None


def _semver(version: str) -> tuple[int, int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version.strip())
    if match is None:
        raise CicdError(f"not a semantic version: {version!r} (expected e.g. v1.2.3)")
    return int(match[1]), int(match[2]), int(match[3])


def render(title: str, entries: list[Entry], *, repo_url: str | None = None) -> str:
    """Markdown notes: one section per kind, newest first as given, short SHAs (linked when possible)."""
    lines = [f"## {title}", ""]
    for key, heading in SECTIONS:
        chosen = [e for e in entries if (e.breaking if key == "breaking" else e.kind == key)]
        if not chosen:
            continue
        lines += [f"### {heading}", ""]
        for entry in chosen:
            text = entry.breaking if key == "breaking" else entry.subject
            scope = f"**{entry.scope}:** " if entry.scope else ""
            sha = entry.sha[:7]
            ref = f"[{sha}]({repo_url}/commit/{entry.sha})" if repo_url else sha
            lines.append(f"- {scope}{text} ({ref})")
        lines.append("")
    if len(lines) == 2:
        lines += ["No user-facing changes.", ""]
    return "\n".join(lines)


def git_commits(repo: str, since: str | None, until: str) -> list[Commit]:
    """Commits reachable from `until` and not from `since` (all of them when `since` is None)."""
    span = f"{since}..{until}" if since else until
    out = _git(repo, "log", f"--format=%H{US}%B{RS}", span)
    commits = []
    for record in out.split(RS):
        sha, _, message = record.strip("\n").partition(US)
        if sha.strip():
            commits.append(Commit(sha.strip(), message))
    return commits


def previous_tag(repo: str, until: str) -> str | None:
    """The newest version tag strictly before `until` (None for the first release)."""
    try:
        return _git(repo, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", f"{until}^").strip()
    except CicdError:
        return None


def _git(repo: str, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=False)
    except OSError as err:
        raise CicdError(f"cannot run git: {err}") from err
    if done.returncode != 0:
        raise CicdError(f"git {args[0]} failed: {done.stderr.strip().splitlines()[-1:] or ['?']}")
    return done.stdout
