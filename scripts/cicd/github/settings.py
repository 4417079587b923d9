"""Where the GitHub API is, which repository, which token, and what event started the run.

All of it comes from the variables GitHub Actions sets (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN,
GITHUB_SHA, GITHUB_EVENT_PATH), so the same verbs work in a workflow, under act and on a laptop.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cicd import inputs, secrets
from cicd.errors import GitHubError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class GitHubSettings:
    repository: str
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, repository: str | None = None
    ) -> GitHubSettings:
        env = os.environ if environ is None else environ
        repo = repository or env.get("GITHUB_REPOSITORY", "")
        if not _REPOSITORY.fullmatch(repo):
            raise GitHubError(
                f"no repository to talk to: GITHUB_REPOSITORY is {repo!r}",
                hint="set GITHUB_REPOSITORY=owner/name or pass --repo owner/name",
            )
        token = env.get("GITHUB_TOKEN", "")
        if not token:
            raise GitHubError(
                "GITHUB_TOKEN is not set",
                hint="pass it to the step: env: {GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}}",
            )
        secrets.register(token)  # masked in Actions logs and redacted from anything cicd prints
        try:
            inputs.check_header_value(token)  # it goes into the Authorization header
        except ValueError:
            raise GitHubError(
                "GITHUB_TOKEN cannot go into an HTTP header: it has a line break, a control character or "
                "surrounding spaces",
                hint="set it without a trailing newline, e.g. from `$(cat token-file)`",
            ) from None  # the check's own message would quote the token
        api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        return cls(repository=repo, token=token, api_url=api_url)


def load_event(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The webhook payload of the event that started the run; empty outside Actions."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GitHubError(f"cannot read the event payload {path}: {err}") from err


def pull_request_number(event: Mapping[str, Any]) -> int | None:
    """The pull request of a pull_request(_target) or issue_comment event, if any."""
    for key in ("pull_request", "issue"):
        number = (event.get(key) or {}).get("number")
        if isinstance(number, int):
            return number
    number = event.get("number")
    return number if isinstance(number, int) else None


def head_sha(event: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str | None:
    """The commit checks belong to: a pull request's head (GITHUB_SHA is its merge commit) or GITHUB_SHA."""
    env = os.environ if environ is None else environ
    sha = ((event.get("pull_request") or {}).get("head") or {}).get("sha")
    return sha or event.get("after") or env.get("GITHUB_SHA") or None
