"""`cicd workflows pin`: offline pinning from the lock file, byte-for-byte except the uses lines."""

import subprocess
import sys
from pathlib import Path

import pytest

from cicd.errors import CicdError, ConfigValidationError
from cicd.workflows import pins

CHECKOUT = "11bd71901bbe5b1630ceea73d27597364c9af683"
CACHE = "5a3ec84eff668545956fd18022155c47e93e2684"
SARIF = "ff0a06e83cb2de871e5a09832bc6a81e7276941f"
LOCK = f"""actions:
  actions/checkout: {{tag: v4.2.2, sha: {CHECKOUT}}}
  actions/cache: {{tag: v4.2.3, sha: {CACHE}}}
  github/codeql-action: {{tag: v3.28.18, sha: {SARIF}}}
"""

# Deliberately untidy: flow mappings, odd indentation, quotes, comments everywhere, blank lines,
# a long folded string, a local action and a docker:// reference that must be left alone.
WORKFLOW = """# top comment
name:   CI   # spaced
on: {push: {branches: [main]}}
permissions: {}
jobs:
  a:
      runs-on: ubuntu-latest   # weird indent
      steps:
        - uses: actions/checkout@v4    # v4 old comment
          with: { persist-credentials: false }

        -   uses: "actions/cache@v4"
            with:
              key: >-
                a very long folded
                value
        - uses: ./.github/actions/setup-cicd
        - uses: docker://alpine:3.20
        - name: sarif
          uses: github/codeql-action/upload-sarif@v3
        - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
  call:
    uses: ./.github/workflows/deploy.yml
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "actions-lock.yml").write_text(LOCK)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    return tmp_path


def cicd(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cicd", *args], cwd=cwd, capture_output=True, text=True)


def test_rewrite_changes_only_the_uses_lines(repo):
    path = repo / ".github" / "workflows" / "ci.yml"
    before = path.read_bytes().decode().splitlines(keepends=True)
    result = cicd("workflows", "pin", cwd=repo)
    assert result.returncode == 0, result.stderr
    after = path.read_bytes().decode().splitlines(keepends=True)
    assert len(after) == len(before)
    changed = {i: (b, a) for i, (b, a) in enumerate(zip(before, after, strict=True)) if a != b}
    assert changed == {
        8: (before[8], f"        - uses: actions/checkout@{CHECKOUT}    # v4.2.2\n"),
        11: (before[11], f"        -   uses: actions/cache@{CACHE} # v4.2.3\n"),
        19: (before[19], f"          uses: github/codeql-action/upload-sarif@{SARIF} # v3.28.18\n"),
    }
    assert "pinned: actions/checkout@v4 -> actions/checkout@" in result.stdout


def test_rewrite_is_idempotent_and_check_passes_after(repo):
    assert cicd("workflows", "pin", cwd=repo).returncode == 0
    path = repo / ".github" / "workflows" / "ci.yml"
    once = path.read_bytes()
    again = cicd("workflows", "pin", cwd=repo)
    assert again.returncode == 0 and again.stdout == ""
    assert path.read_bytes() == once
    check = cicd("workflows", "pin", "--check", cwd=repo)
    assert check.returncode == 0 and "all actions pinned" in check.stdout


def test_check_lists_unpinned_and_mismatched_uses_and_changes_nothing(repo):
    path = repo / ".github" / "workflows" / "ci.yml"
    text = WORKFLOW.replace(f"checkout@{CHECKOUT} # v4.2.2", "checkout@" + "0" * 40 + " # v4.2.2")
    path.write_text(text)
    result = cicd("workflows", "pin", "--check", cwd=repo)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "unpinned or mismatched" in line]
    assert [line.split(":")[1] for line in lines] == ["9", "12", "20", "21"]
    assert "0000000000000000000000000000000000000000 -> actions/checkout@" + CHECKOUT in lines[3]
    assert path.read_text() == text


def test_a_stale_version_comment_is_a_mismatch(repo):
    path = repo / ".github" / "workflows" / "ci.yml"
    path.write_text(f"jobs:\n  a:\n    steps:\n      - uses: actions/checkout@{CHECKOUT} # v4.1.0\n")
    assert cicd("workflows", "pin", "--check", cwd=repo).returncode == 1
    assert cicd("workflows", "pin", cwd=repo).returncode == 0
    assert path.read_text().endswith(f"actions/checkout@{CHECKOUT} # v4.2.2\n")


def test_action_missing_from_the_lock_fails_both_modes(repo):
    path = repo / ".github" / "workflows" / "ci.yml"
    path.write_text("jobs:\n  a:\n    steps:\n      - uses: someone/else@v1\n")
    for args in (("workflows", "pin"), ("workflows", "pin", "--check")):
        result = cicd(*args, cwd=repo)
        assert result.returncode == 1
        assert "ci.yml:4: someone/else@v1 is not in the lock file" in result.stderr


def test_crlf_files_keep_their_line_endings(repo):
    path = repo / ".github" / "workflows" / "ci.yml"
    path.write_bytes(b"jobs:\r\n  a:\r\n    steps:\r\n      - uses: actions/cache@v4\r\n        with: {}\r\n")
    assert cicd("workflows", "pin", cwd=repo).returncode == 0
    assert path.read_bytes() == (
        "jobs:\r\n  a:\r\n    steps:\r\n"
        f"      - uses: actions/cache@{CACHE} # v4.2.3\r\n        with: {{}}\r\n"
    ).encode()


def test_composite_actions_are_pinned_too(repo):
    action = repo / ".github" / "actions" / "x" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("runs:\n  using: composite\n  steps:\n    - uses: actions/checkout@v4\n")
    assert cicd("workflows", "pin", cwd=repo).returncode == 0
    assert f"actions/checkout@{CHECKOUT} # v4.2.2" in action.read_text()


def test_bad_lock_files_are_located_errors(tmp_path):
    lock = tmp_path / "lock.yml"
    lock.write_text("actions:\n  actions/checkout: {tag: v4, sha: abc}\n")
    with pytest.raises(ConfigValidationError, match="needs 'tag' and a 40-hex 'sha'"):
        pins.load_lock(lock)
    lock.write_text("- nope\n")
    with pytest.raises(CicdError, match="expected a mapping"):
        pins.load_lock(lock)
    result = cicd("workflows", "pin", "--lock", str(tmp_path / "missing.yml"), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot read the action lock file")
    assert "Traceback" not in result.stderr


def test_this_repository_is_fully_pinned():
    repo = Path(__file__).resolve().parents[2]
    result = cicd("workflows", "pin", "--check", cwd=repo)
    assert result.returncode == 0, result.stderr
