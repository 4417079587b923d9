"""What staging verified: the version and artifact digest production promotes, never rebuilt.

Reads `cicd history --env staging --json` (newest first) and picks the newest successful deploy of
the asked version, or of whatever is live in staging when no version is given.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from cicd.errors import CicdError

SUCCESS = {"success", "succeeded", "deployed", "live"}


@dataclass(frozen=True)
class Staged:
    version: str
    artifact: str
    digest: str
    ref: str = ""


def commit_for(version: str, repo: str = ".") -> str:
    """The commit a version was built from, by this suite's version scheme: `<semver>-<short sha>` from
    cd-staging, or a release tag `v<version>`. Empty when neither names a commit of the repository."""
    match = re.search(r"-([0-9a-f]{7,40})$", version)
    for candidate in ([match[1]] if match else []) + [f"v{version}", version]:
        done = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
            capture_output=True, text=True, check=False,
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return ""


def pick(history: list[dict[str, object]], version: str, live_version: str) -> Staged:
    """The newest successful deploy of `version` (or of the live one) in a newest-first history."""
    wanted = version or live_version
    if not wanted:
        raise CicdError("nothing is deployed to staging yet: deploy there first, then promote")
    for entry in history:
        outcome = str(entry.get("status") or entry.get("outcome") or "").lower()
        if str(entry.get("version")) == wanted and outcome in SUCCESS:
            return Staged(wanted, str(entry.get("artifact") or ""), str(entry.get("digest") or ""))
    raise CicdError(
        f"version {wanted!r} was never deployed successfully to staging",
        hint="promote only what staging verified: pick a version from `cicd history --env staging`",
    )


def _cicd_json(argv: list[str]) -> object:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CicdError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()[:300]}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as err:
        raise CicdError(f"{' '.join(argv[:3])} did not print JSON: {err}") from err


def lookup(env: str, version: str, config_dir: str) -> Staged:
    history = _cicd_json(["cicd", "history", "--env", env, "--config-dir", config_dir, "--json"])
    entries = history.get("deployments", []) if isinstance(history, dict) else history
    if not isinstance(entries, list):
        raise CicdError("cicd history --json printed neither a list nor {deployments: [...]}")
    live = ""
    if not version:
        status = _cicd_json(["cicd", "status", "--env", env, "--config-dir", config_dir, "--json"])
        live = str(status.get("current_version") or "") if isinstance(status, dict) else ""
    staged = pick([e for e in entries if isinstance(e, dict)], version, live)
    return Staged(staged.version, staged.artifact, staged.digest, commit_for(staged.version))
