"""Who is acting, in one spelling for every lock, history row and ledger entry of a run.

Inside GitHub Actions the identity is GitHub's: the actor who triggered the run, the run id and the
workflow, which GitHub sets and a step cannot change for its own run. Elsewhere it is the OS account
this process runs as, read from the process (effective uid), never from `$USER` or `$LOGNAME`, which
anyone can set, plus the machine's name. The ledger stores which kind each entry is, so a reader knows
how far to trust it: `github-actions` is backed by GitHub's record of the run, `local` only by the
machine's account database.
"""

from __future__ import annotations

import os
import socket
from typing import NamedTuple

from cicd import gha

GITHUB = "github-actions"
LOCAL = "local"


class Identity(NamedTuple):
    kind: str  # github-actions | local
    name: str  # the actor as records show it: the GitHub login, or account@host
    host: str
    run_id: str | None = None
    workflow: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return self._asdict()

    def describe(self) -> str:
        """`octocat (GitHub Actions run 42, workflow Rollback)` or `root@vm (local account)`."""
        if self.kind == GITHUB:
            run = f" run {self.run_id}" if self.run_id else ""
            workflow = f", workflow {self.workflow}" if self.workflow else ""
            return f"{self.name} (GitHub Actions{run}{workflow})"
        return f"{self.name} (local account)"


def os_account() -> str:
    """The account of this process's effective uid; `uid-N` when the passwd database has no entry
    (an arbitrary uid in a container)."""
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def run_id() -> str | None:
    """`$GITHUB_RUN_ID`, with `.attempt` on a re-run so two attempts never share an id."""
    run = os.environ.get("GITHUB_RUN_ID")
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT")
    if run and attempt and attempt != "1":
        return f"{run}.{attempt}"
    return run or None


def in_actions() -> bool:
    return gha.in_actions() and bool(os.environ.get("GITHUB_ACTOR"))


def current() -> Identity:
    host = socket.gethostname()
    if in_actions():
        return Identity(GITHUB, os.environ["GITHUB_ACTOR"], host, run_id(), os.environ.get("GITHUB_WORKFLOW"))
    return Identity(LOCAL, f"{os_account()}@{host}", host)


def actor() -> str:
    """The actor name every record of this process uses."""
    return current().name
