"""`cicd release notes`: Conventional Commits → sections and the next version, on a real git repo."""

import subprocess
import sys

import pytest

from cicd.workflows.release_notes import Commit, next_version, parse, render


def entry(message, sha="a" * 40):
    return parse(Commit(sha, message))


def test_parse_types_scopes_and_breaking_changes():
    assert entry("feat(api): quotes in euros").scope == "api"
    assert entry("fix: rounding").kind == "fix"
    assert entry("feat!: drop /v1").breaking == "drop /v1"
    footer = entry("refactor: config\n\nBREAKING CHANGE: environments need a type\n")
    assert footer.breaking == "environments need a type" and footer.kind == "refactor"
    assert entry("Merge branch 'main'") is None
    assert entry("feat:missing space") is None


@pytest.mark.parametrize(
    ("current", "messages", "expected"),
    [
        ("v1.2.3", ["fix: a"], "1.2.4"),
        ("v1.2.3", ["perf: a", "fix: b"], "1.2.4"),
        ("v1.2.3", ["feat: a", "fix: b"], "1.3.0"),
        ("v1.2.3", ["feat!: a"], "2.0.0"),
        ("v0.4.1", ["feat!: a"], "0.5.0"),
        ("v1.2.3", ["docs: a", "chore: b"], None),
    ],
)
def test_next_version(current, messages, expected):
    assert next_version(current, [entry(m) for m in messages]) == expected


def test_render_sections_in_order_with_links():
    entries = [entry("fix: b", "b" * 40), entry("feat(ui)!: a", "c" * 40), entry("docs: d")]
    text = render("v2.0.0", entries, repo_url="https://github.com/acme/app")
    assert text.index("### Breaking changes") < text.index("### Features") < text.index("### Bug fixes")
    assert "- **ui:** a ([ccccccc](https://github.com/acme/app/commit/" + "c" * 40 + "))" in text
    assert "docs" not in text and "### Performance" not in text


def git(repo, *args):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_cli_notes_between_tags_on_a_real_repository(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    for message in ["feat: first", "fix: old bug"]:
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", message)
    git(tmp_path, "tag", "v1.0.0")
    for message in ["feat(quote): bulk discounts", "fix: price | pipe", "chore: tidy",
                    "perf: faster\n\nBREAKING CHANGE: needs python 3.11"]:
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", message)
    git(tmp_path, "tag", "v2.0.0")
    out = tmp_path / "notes.md"
    result = subprocess.run(
        [sys.executable, "-m", "cicd", "release", "notes", "--repo", str(tmp_path), "--to", "v2.0.0",
         "--output", str(out)], capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("## v2.0.0\n")
    assert "- needs python 3.11" in text and "- **quote:** bulk discounts" in text
    assert "- price | pipe" in text and "faster" in text
    assert "first" not in text and "old bug" not in text and "tidy" not in text


def test_cli_unknown_tag_is_one_clear_line(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "feat: x")
    result = subprocess.run(
        [sys.executable, "-m", "cicd", "release", "notes", "--repo", str(tmp_path), "--to", "v9.9.9"],
        capture_output=True, text=True,
    )
    assert result.returncode == 1 and result.stderr.startswith("error: git log failed")
    assert "Traceback" not in result.stderr
