"""Conventional Commits (https://www.conventionalcommits.org) checked where they are written: a pull
request's title (the squash-merge commit) and its commits. The release rules read these headers, so
one that does not parse is a change the next version and the changelog would silently miss."""

from __future__ import annotations

from cicd.workflows.release_notes import HEADER_RE

TYPES = ("feat", "fix", "perf", "refactor", "docs", "test", "build", "ci", "chore", "style", "revert")
MAX_HEADER = 100
EXAMPLE = 'e.g. "fix(deploy): keep the lock when verification times out"'


def header_problem(header: str) -> str | None:
    """Why `header` is not a Conventional Commit header, or None when it is one."""
    header = header.strip()
    match = HEADER_RE.match(header)
    if match is None:
        return f'expected "type(scope)!: subject" with type one of {", ".join(TYPES)} ({EXAMPLE})'
    if match["type"] not in TYPES:
        return f"unknown type {match['type']!r}: use one of {', '.join(TYPES)} (lower case)"
    if len(header) > MAX_HEADER:
        return f"{len(header)} characters: keep the header within {MAX_HEADER}"
    if match["subject"].rstrip().endswith("."):
        return "the subject ends with a period: drop it"
    return None


def skipped(message: str) -> bool:
    """Commits git writes itself (merges, reverts of merges) or fixups squashed away before merging."""
    return message.startswith(("Merge ", "fixup! ", "squash! ", "amend! "))
