"""The sticky pull-request comment: one comment per key, updated in place, never duplicated.

Our comment carries a hidden marker, `<!-- cicd:<key> -->`, as its first line. Publishing looks for it
across every page of the conversation, edits the comment that has it and creates one only when none does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient

MAX_BODY = 65536  # GitHub rejects longer comment bodies
_KEY = re.compile(r"[A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created", "updated" or "unchanged"
    comment_id: int
    url: str


def marker(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise GitHubError(f"invalid comment key {key!r}", hint="use letters, digits and . _ : / -")
    return f"<!-- cicd:{key} -->"


def sticky_body(key: str, body: str) -> str:
    """The marker line, then the body, cut to GitHub's size limit with a note saying so."""
    text = f"{marker(key)}\n{body.rstrip()}\n"
    if len(text) <= MAX_BODY:
        return text
    note = "\n\n… (truncated: GitHub comments hold at most 65536 characters; see the job summary)\n"
    return text[: MAX_BODY - len(note)] + note


def find_sticky(client: GitHubClient, pr_number: int, key: str) -> dict | None:
    wanted = marker(key)
    for comment in client.paginate(client.repo_path(f"/issues/{pr_number}/comments")):
        if (comment.get("body") or "").startswith(wanted):
            return comment
    return None


def upsert_sticky_comment(client: GitHubClient, pr_number: int, key: str, body: str) -> CommentResult:
    text = sticky_body(key, body)
    existing = find_sticky(client, pr_number, key)
    if existing is None:
        created = client.post(client.repo_path(f"/issues/{pr_number}/comments"), {"body": text})
        return CommentResult("created", created["id"], created["html_url"])
    if existing.get("body") == text:
        return CommentResult("unchanged", existing["id"], existing["html_url"])
    updated = client.patch(client.repo_path(f"/issues/comments/{existing['id']}"), {"body": text})
    return CommentResult("updated", updated["id"], updated["html_url"])
