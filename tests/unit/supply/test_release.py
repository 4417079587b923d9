"""`cicd release check|next|changelog` on a real git repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cicd.cli import main
from cicd.supply.conventional import header_problem

ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
       "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **ENV})
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, "feat: first")
    git(tmp_path, "tag", "v1.0.0")
    commit(tmp_path, "fix(api): rounding of totals")
    git(tmp_path, "tag", "v1.0.1")
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("feat(deploy): drain before the switch", None),
        ("fix!: refuse unsigned digests", None),
        ("Update the deploy", "expected \"type(scope)!: subject\""),
        ("Feat: capital type", "unknown type 'Feat'"),
        ("feature: not a type", "unknown type 'feature'"),
        ("fix: ends with a period.", "the subject ends with a period"),
        ("fix: " + "x" * 100, "105 characters"),
    ],
)
def test_header_rules(header: str, problem: str | None) -> None:
    found = header_problem(header)
    assert (found is None) if problem is None else (problem in (found or "")), found


def test_next_version_follows_the_commits_since_the_last_tag(repo: Path, capsys, monkeypatch) -> None:
    output = repo.parent / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    nothing = "no release: nothing releasable since v1.0.1\n"
    assert run(capsys, "release", "next", "--repo", str(repo))[1] == nothing
    commit(repo, "docs: typo")
    commit(repo, "feat(supply): audit bundles")
    assert run(capsys, "release", "next", "--repo", str(repo))[1] == "v1.1.0 (from v1.0.1)\n"
    commit(repo, "refactor!: one deploy API")
    assert run(capsys, "release", "next", "--repo", str(repo))[1] == "v2.0.0 (from v1.0.1)\n"
    assert "tag<<" in output.read_text() and "v2.0.0" in output.read_text()


def test_changelog_has_a_section_per_tag_newest_first(repo: Path, capsys) -> None:
    sha = commit(repo, "perf: faster bundles")
    code, out, _ = run(capsys, "release", "changelog", "--repo", str(repo), "--unreleased", "v1.0.2")
    assert code == 0
    titles = [line for line in out.splitlines() if line.startswith("## ")]
    assert titles == ["## v1.0.2", "## v1.0.1", "## v1.0.0"]
    assert f"- faster bundles ({sha[:7]})" in out and "- **api:** rounding of totals" in out


def test_check_title_and_commits(repo: Path, capsys) -> None:
    assert run(capsys, "release", "check", "--title", "fix(release): tag the verified digest")[0] == 0
    code, _, err = run(capsys, "release", "check", "--title", "misc changes")
    assert code == 1 and err.startswith("error: PR title 'misc changes' is not a Conventional Commit")
    commit(repo, "wip")
    commit(repo, "Merge branch 'main' into feature")
    code, out, err = run(capsys, "release", "check", "--repo", str(repo), "--commits", "v1.0.1..HEAD")
    assert code == 1 and "'wip'" in out and "Merge" not in out and "1 commit(s)" in err
    code, out, _ = run(capsys, "release", "check", "--repo", str(repo), "--commits", "v1.0.1..HEAD",
                       "--commits-warn-only")
    assert code == 0 and out.startswith("warning: commit")
