"""config/automerge.yml: checked by `cicd validate` with every problem on one located line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cicd.config.validation import validate_config
from cicd.errors import ConfigValidationError

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


def config_dir(tmp_path: Path, policy: str) -> Path:
    directory = tmp_path / "config"
    (directory / "environments").mkdir(parents=True)
    (directory / "pipeline.yml").write_text("name: app\nsteps: [{name: test, command: 'true'}]\n")
    (directory / "environments" / "production.yml").write_text("name: production\ntype: production\n")
    (directory / "automerge.yml").write_text(policy)
    return directory


def test_the_repositorys_policy_is_valid_and_part_of_the_default_check():
    assert (REPO_CONFIG / "automerge.yml").is_file()
    environments = len(list((REPO_CONFIG / "environments").glob("*.yml")))
    flags = len(list((REPO_CONFIG / "flags").glob("*.json")))
    assert validate_config(REPO_CONFIG) == 1 + environments + flags + 1


def test_every_problem_of_a_bad_policy_is_one_located_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    directory = config_dir(tmp_path, "\n".join([
        "environment: prod",
        "threshhold: 70",
        "authors: ['dependabot[bot]', 'not a login']",
        "paths: [/etc/passwd]",
        "merge_method: fast-forward",
        "weights: {ci: 0, flakes: 0, similar: 0, author: 0, size: 0}",
        "",
    ]))
    with pytest.raises(ConfigValidationError) as invalid:
        validate_config(directory)
    lines = [problem.render() for problem in invalid.value.problems]
    assert lines[0] == ("config/automerge.yml:1:14: error: no environment 'prod' "
                        "(known environments: production) (environment)")
    assert lines[1] == "config/automerge.yml:2:1: error: unknown key 'threshhold' (did you mean 'threshold'?)"
    assert lines[2].startswith("config/automerge.yml:3:30: error: ") and "authors[1]" in lines[2]
    assert lines[3].startswith("config/automerge.yml:4:9: error: ") and "paths[0]" in lines[3]
    assert lines[4] == ("config/automerge.yml:5:15: error: 'merge_method' must be one of merge, squash, "
                        "rebase; got 'fast-forward' (merge_method)")
    assert lines[5] == (
        "config/automerge.yml:6:10: error: every weight is 0 (give at least one factor a weight) (weights)"
    )
    assert len(lines) == 6
