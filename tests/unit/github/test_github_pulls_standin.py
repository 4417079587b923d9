"""Pull requests in the stand-in are made from and merged into a real git repository (as GitHub hosts
it): the merge is a merge commit on the base branch, and GitHub's refusals hold."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

from tests.support.github_api import DEFAULT_TOKEN, GitHubApiStandIn

ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "d@example.com", "GIT_COMMITTER_NAME": "Dev",
       "GIT_COMMITTER_EMAIL": "d@example.com", "PATH": "/usr/bin:/bin"}


def call(api, method, path, body):
    request = urllib.request.Request(api.url + path, data=json.dumps(body).encode(), method=method, headers={
        "authorization": f"Bearer {DEFAULT_TOKEN}", "x-github-api-version": "2022-11-28"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=ENV).stdout.strip()


def test_a_pull_request_merges_into_main_as_a_merge_commit(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "commit", "-q", "--allow-empty", "-m", "feat: change")
    head = git(repo, "rev-parse", "HEAD")
    with GitHubApiStandIn(git_repo=repo) as api:
        status, pull = call(api, "POST", "/repos/acme/sample/pulls",
                            {"title": "Change", "head": "feature", "base": "main"})
        assert status == 201 and pull["head"]["sha"] == head and pull["state"] == "open"
        path = f"/repos/acme/sample/pulls/{pull['number']}/merge"
        assert call(api, "PUT", path, {"sha": "0" * 40})[0] == 409  # not the head the reviewer saw
        status, merged = call(api, "PUT", path, {"sha": head})
        assert status == 200 and merged["merged"] is True
        assert git(repo, "rev-parse", "main") == merged["sha"] == git(repo, "rev-parse", "origin/main")
        assert git(repo, "rev-parse", f"{merged['sha']}^2") == head
        assert call(api, "PUT", path, {})[0] == 405  # merged already
        assert api.violations == [] and api.bugs == []
