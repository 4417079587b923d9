"""What staging verified, read back from GitHub's Deployments API: what production may promote.

Runners keep nothing between jobs, so the record of what staging verified is the GitHub deployment each
staging deploy opened (payload: version, artifact, digest; `sha`: the commit) and its statuses. A
deployment counts as verified when one of its statuses is `success` (a later `inactive` only means a
newer one replaced it). Promotion then also requires the commit to be reachable from main: what staging
ran from a dispatched feature branch is never promotable. The target's own history is a cross-check
only, where the runner can read it: a digest it disagrees with stops the promotion.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cicd.errors import CicdError

if TYPE_CHECKING:
    from cicd.github.client import GitHubClient


@dataclass(frozen=True)
class Staged:
    version: str
    artifact: str
    digest: str
    ref: str = ""


def pick(deployments: list[dict[str, Any]], version: str) -> Staged:
    """The newest verified deploy of `version`, or of the version live in staging when none is given.

    `deployments` are newest first, each with `states` (its statuses' states, newest first). The live
    version is that of the newest deployment whose latest state is success: a deploy, or a rollback
    (task `deploy:rollback`, payload naming the version it went back to). Its artifact, digest and commit
    come from the newest successful deploy (task `deploy`) of that version."""
    wanted = version or _live_version(deployments)
    for deployment in deployments:
        payload = deployment.get("payload") or {}
        if deployment.get("task", "deploy") != "deploy" or payload.get("version") != wanted:
            continue
        if "success" in (deployment.get("states") or []):
            return Staged(wanted, str(payload.get("artifact") or ""), str(payload.get("digest") or ""),
                          str(deployment.get("sha") or ""))
    raise CicdError(
        f"version {wanted!r} has no successful staging deployment on GitHub",
        hint="promote only what staging verified: see the repository's Environments page, staging",
    )


def _live_version(deployments: list[dict[str, Any]]) -> str:
    for deployment in deployments:
        states = deployment.get("states") or []
        if states and states[0] == "success":
            return str((deployment.get("payload") or {}).get("version"))
    raise CicdError(
        "nothing is live in staging according to GitHub's deployments",
        hint="deploy to staging first (cd-staging), then promote",
    )


def lookup(client: GitHubClient, environment: str, version: str) -> Staged:
    from cicd.github.deployments import verified_deployments

    return pick(list(verified_deployments(client, environment)), version)


def resolve_commit(ref: str, repo: str = ".") -> str:
    """The full SHA of `ref`; an unknown or ambiguous ref is an error, never a silent fallback."""
    done = subprocess.run(
        ["git", "-C", repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[0] if done.stderr.strip() else "unknown revision"
        raise CicdError(
            f"commit {ref!r} cannot be resolved: {detail}",
            hint="give the full 40-character SHA (a short one may be ambiguous), and fetch with depth 0",
        )
    return done.stdout.strip()


def require_on_main(sha: str, main_ref: str, repo: str = ".") -> str:
    """`sha` in full, if it is reachable from `main_ref`; else an error naming both."""
    full = resolve_commit(sha, repo)
    main = resolve_commit(main_ref, repo)
    done = subprocess.run(
        ["git", "-C", repo, "merge-base", "--is-ancestor", full, main], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise CicdError(
            f"commit {full[:12]} is not on {main_ref} ({main[:12]}): only reviewed code from main deploys",
            hint="merge the change to main through a pull request; staging then deploys it from there",
        )
    return full


def cross_check(staged: Staged, history: list[dict[str, Any]]) -> None:
    """The target's history must not contradict GitHub's record of the same version."""
    for entry in history:
        if str(entry.get("version")) != staged.version:
            continue
        digest = str(entry.get("digest") or "")
        if digest and staged.digest and digest != staged.digest:
            raise CicdError(
                f"staging's history on the target records {staged.version} with digest {digest}, "
                f"GitHub's deployment with {staged.digest}: refusing to promote either",
                hint="find out which one is wrong (a rebuilt tag?), then redeploy staging and promote again",
            )
        return


def target_history(environment: str, config_dir: str) -> list[dict[str, Any]] | None:
    """`cicd history --json` of the environment, or None when this runner cannot read it."""
    argv = ["cicd", "history", "--env", environment, "--config-dir", config_dir, "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    entries = data.get("deployments", []) if isinstance(data, dict) else data
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else None
