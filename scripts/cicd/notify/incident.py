"""A failed production deploy opens a GitHub issue, or comments on the one still open for it, with the
deploy's error and the newest ledger entries; the on-call engineer starts from there.

One open issue per environment, found by its label and title, so a run of failures is one thread; the
rollback workflow posts the postmortem there too (`cicd postmortem --issue`, attach_postmortem).
Nothing happens without GITHUB_TOKEN and GITHUB_REPOSITORY; a GitHub error is a warning, never a
second failure of the deploy.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from cicd import secrets
from cicd.errors import CicdError

LABEL = "deploy-failure"
LEDGER_ENTRIES = 8


def issue_title(environment: str) -> str:
    return f"Deploy to {environment} failed"


def issue_body(environment: str, record: Any, ledger: list[dict[str, Any]]) -> str:
    run = os.environ.get("GITHUB_RUN_ID")
    server, repository = os.environ.get("GITHUB_SERVER_URL", "https://github.com"), os.environ.get(
        "GITHUB_REPOSITORY", ""
    )
    lines = [
        f"**{record.version}** failed on **{environment}** ({record.status}); "
        f"{record.previous_version or 'nothing'} was live before.",
        "",
        f"- error: {record.error or '-'}",
        f"- by: {record.actor}, started {record.started_at}",
    ]
    if run:
        lines.append(f"- run: {server}/{repository}/actions/runs/{run}")
    lines += ["", "Newest ledger entries (`cicd audit show`):", "", "```json"]
    lines += [json.dumps(entry, sort_keys=True) for entry in ledger]
    lines.append("```")
    return secrets.redact("\n".join(lines))


def _ledger(config_dir: Path, environment: str) -> list[dict[str, Any]]:
    from cicd.cli.state import open_environment_state

    entries = open_environment_state(config_dir, environment).audit_entries(LEDGER_ENTRIES)
    return [entry.as_dict() for entry in entries]


def report_failed_deploy(config_dir: Path, environment: str, record: Any) -> None:
    if not (os.environ.get("GITHUB_TOKEN") and os.environ.get("GITHUB_REPOSITORY")):
        return
    from cicd.github.client import GitHubClient

    try:
        body = issue_body(environment, record, _ledger(config_dir, environment))
        with GitHubClient.from_env(retries=2, timeout=15.0) as client:
            number = open_issue(client, environment)
            if number is None:
                client.post(client.repo_path("/issues"),
                            {"title": issue_title(environment), "body": body, "labels": [LABEL]})
            else:
                client.post(client.repo_path(f"/issues/{number}/comments"), {"body": body})
    except CicdError as err:
        print(f"warning: could not open or update the GitHub issue for {environment}: {err}", file=sys.stderr)


def open_issue(client: Any, environment: str) -> int | None:
    """The open issue of this environment's failures (pull requests are issues too: skipped)."""
    title = issue_title(environment)
    for issue in client.paginate(client.repo_path("/issues"), state="open", labels=LABEL, per_page=100):
        if issue.get("title") == title and "pull_request" not in issue:
            return int(issue["number"])
    return None


# GitHub refuses issue bodies and comments over 65,536 characters.
MAX_BODY = 60_000


def attach_postmortem(environment: str, text: str) -> int:
    """Post a postmortem on the environment's open failure issue, or open that issue with it; returns
    the issue's number. A missing token or a GitHub error is the caller's failure (one line)."""
    from cicd.errors import UsageError
    from cicd.github.client import GitHubClient

    if not (os.environ.get("GITHUB_TOKEN") and os.environ.get("GITHUB_REPOSITORY")):
        raise UsageError("--issue needs GITHUB_TOKEN and GITHUB_REPOSITORY (as inside GitHub Actions)")
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n\n_(cut at 60,000 characters: the job summary has all of it)_"
    body = secrets.redact(text)
    with GitHubClient.from_env(retries=2, timeout=15.0) as client:
        number = open_issue(client, environment)
        if number is None:
            created = client.post(client.repo_path("/issues"),
                                  {"title": issue_title(environment), "body": body, "labels": [LABEL]})
            return int(created["number"])
        client.post(client.repo_path(f"/issues/{number}/comments"), {"body": body})
    return number
