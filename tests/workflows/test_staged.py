"""Promotion reads what staging verified from GitHub's deployments (the stand-in, schema-checked), never
from a runner's disk; the commit must be on main; an ambiguous or unknown ref is an error."""

import subprocess
import sys
from pathlib import Path

import pytest

from cicd.errors import CicdError
from cicd.github import deployments
from cicd.workflows.staged import Staged, cross_check, lookup, pick, require_on_main, resolve_commit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn  # noqa: E402

pytestmark = pytest.mark.workflows
DIGEST = {v: "sha256:" + c * 64 for v, c in (("1.0.0", "a"), ("1.1.0", "b"), ("1.2.0", "c"))}


@pytest.fixture
def client(tmp_path, monkeypatch):
    from cicd.github.client import GitHubClient

    with GitHubApiStandIn(state_file=tmp_path / "github.json") as api:
        monkeypatch.setenv("GITHUB_API_URL", api.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/sample")
        monkeypatch.setenv("GITHUB_TOKEN", DEFAULT_TOKEN)
        with GitHubClient.from_env(backoff=0) as github:
            yield github
        assert api.violations == [] and api.bugs == []


def record(client, version, state, *, task="deploy", sha="1" * 40):
    request = deployments.DeploymentRequest(
        ref=sha, environment="staging", version=version, task=task,
        digest=DIGEST.get(version) if task == "deploy" else None,
        artifact=f"ghcr.io/acme/sample@{DIGEST[version]}" if task == "deploy" else None,
    )
    deployment_id = deployments.start_deployment(client, request)
    deployments.finish_deployment(client, deployment_id, state)


def test_promotion_takes_the_live_version_with_the_artifact_staging_verified(client):
    record(client, "1.0.0", "success", sha="a" * 40)
    record(client, "1.1.0", "success", sha="b" * 40)
    record(client, "1.2.0", "failure", sha="c" * 40)  # verification failed: rolled back by itself
    staged = lookup(client, "staging", "")
    assert staged == Staged("1.1.0", f"ghcr.io/acme/sample@{DIGEST['1.1.0']}", DIGEST["1.1.0"], "b" * 40)
    # An older verified version may be promoted by name (its status is inactive now, success before).
    assert lookup(client, "staging", "1.0.0").ref == "a" * 40
    with pytest.raises(CicdError, match=r"'1\.2\.0' has no successful staging deployment"):
        lookup(client, "staging", "1.2.0")


def test_after_a_rollback_the_live_version_is_the_one_rolled_back_to(client):
    record(client, "1.0.0", "success", sha="a" * 40)
    record(client, "1.1.0", "success", sha="b" * 40)
    record(client, "1.0.0", "success", task="deploy:rollback", sha="b" * 40)
    staged = lookup(client, "staging", "")
    assert (staged.version, staged.digest, staged.ref) == ("1.0.0", DIGEST["1.0.0"], "a" * 40)


def test_nothing_verified_is_an_error_with_the_fix(client):
    with pytest.raises(CicdError, match="nothing is live in staging"):
        lookup(client, "staging", "")
    with pytest.raises(CicdError, match="has no successful staging deployment"):
        pick([{"task": "deploy", "payload": {"version": "1.0.0"}, "states": ["failure"]}], "1.0.0")


def test_the_target_history_only_cross_checks():
    staged = Staged("1.1.0", "img", DIGEST["1.1.0"], "b" * 40)
    cross_check(staged, [{"version": "1.1.0", "digest": DIGEST["1.1.0"]}])
    cross_check(staged, [])  # a target that has not heard of it: GitHub's record decides
    with pytest.raises(CicdError, match="refusing to promote"):
        cross_check(staged, [{"version": "1.1.0", "digest": DIGEST["1.0.0"]}])


def git(repo, *args):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_only_commits_reachable_from_main_are_promoted(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    on_main = git(tmp_path, "rev-parse", "HEAD")
    git(tmp_path, "checkout", "-q", "-b", "feature")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "unreviewed")
    feature = git(tmp_path, "rev-parse", "HEAD")
    assert require_on_main(on_main, "main", str(tmp_path)) == on_main
    with pytest.raises(CicdError, match=r"is not on main .*only reviewed code from main deploys"):
        require_on_main(feature, "main", str(tmp_path))


def test_an_ambiguous_or_unknown_short_sha_is_an_error_not_head(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    # 1500 commits in one fast-import stream: two of them surely share a 4-character prefix.
    stream = "".join(
        f"commit refs/heads/main\ncommitter t <t@e> {1700000000 + n} +0000\ndata {len(str(n))}\n{n}\n"
        for n in range(1500)
    )
    subprocess.run(["git", "-C", str(tmp_path), "fast-import", "--quiet"], input=stream, text=True,
                   check=True)
    prefixes = [sha[:4] for sha in git(tmp_path, "rev-list", "main").split()]
    shared = next(prefix for prefix in prefixes if prefixes.count(prefix) > 1)
    with pytest.raises(CicdError, match="cannot be resolved"):
        resolve_commit(shared, str(tmp_path))
    with pytest.raises(CicdError, match="cannot be resolved"):
        resolve_commit("deadbee", str(tmp_path))
    head = git(tmp_path, "rev-parse", "HEAD")
    assert resolve_commit(head, str(tmp_path)) == head
