"""The auto-merge policy (`config/automerge.yml`): who may be merged without a person, which paths,
how the trust score is weighed and where it must reach. Validated by `cicd validate` like every other
config file: unknown keys refused, each problem one located line.

    environment: production          # whose deploy history and ledger judge past changes
    threshold: 75                    # merge only at or above this score (0-100)
    merge_method: squash             # merge | squash | rebase
    authors: ["dependabot[bot]"]     # the bots whose pull requests may be merged
    paths: [requirements*.txt, constraints.txt]   # every changed file must match one
    ecosystems:                      # which changes count as similar: same ecosystem
      pip: [requirements*.txt, pyproject.toml]
    ci_workflow: ci.yml              # its runs give the flake history
    max_diff_lines: 400              # additions + deletions at which the size factor reaches 0
    weights: {ci: 30, flakes: 10, similar: 35, author: 15, size: 10}
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cicd.config.document import Document
from cicd.errors import ConfigValidationError, Location, Problem

DEFAULT_POLICY = Path("config/automerge.yml")
Glob = Annotated[str, StringConstraints(pattern=r"^[^\s/][^\s]*$", max_length=255)]
Login = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$", max_length=80)]
EcosystemName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
Weight = Annotated[float, Field(ge=0, le=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)


class Weights(_Strict):
    """The share of each factor in the score; they need not add up to 100 (they are normalised)."""

    ci: Weight = 30
    flakes: Weight = 10
    similar: Weight = 35
    author: Weight = 15
    size: Weight = 10


class AutoMergePolicy(_Strict):
    environment: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
    threshold: Annotated[float, Field(ge=0, le=100)] = 75
    merge_method: Literal["merge", "squash", "rebase"] = "squash"
    authors: list[Login] = Field(min_length=1)
    paths: list[Glob] = Field(min_length=1)
    ecosystems: dict[EcosystemName, list[Glob]] = Field(default_factory=dict)
    ci_workflow: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+\.ya?ml$")] = "ci.yml"
    max_diff_lines: Annotated[int, Field(gt=0, le=1_000_000)] = 400
    weights: Weights = Weights()

    def allows_path(self, path: str) -> bool:
        return any(glob_match(pattern, path) for pattern in self.paths)

    def ecosystems_of(self, paths: list[str]) -> list[str]:
        """The ecosystems the changed paths belong to, in policy order."""
        return [name for name, globs in self.ecosystems.items()
                if any(glob_match(pattern, path) for pattern in globs for path in paths)]


@functools.cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Git-style globs: `**` crosses folders, `*` and `?` stay within one path segment."""
    regex = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(regex)


def glob_match(pattern: str, path: str) -> bool:
    return _glob_regex(pattern).fullmatch(path) is not None


def policy_rules(doc: Document, config_dir: Path) -> list[Problem]:
    """Cross-key rules: the environment exists, some factor has weight."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []
    environment = data.get("environment")
    known = sorted(p.stem for p in (config_dir / "environments").glob("*.yml"))
    if isinstance(environment, str) and environment not in known:
        hint = f"known environments: {', '.join(known)}" if known else f"create {config_dir}/environments"
        problems.append(Problem(doc.locate(("environment",)), f"no environment '{environment}'", hint))
    given = data.get("weights")
    weights = {**Weights().model_dump(), **(given if isinstance(given, dict) else {})}
    if not any(isinstance(value, int | float) and value > 0 for value in weights.values()):
        hint = "give at least one factor a weight"
        problems.append(Problem(doc.locate(("weights",)), "every weight is 0", hint))
    return problems


def check_policy(path: Path, config_dir: Path):
    """Every problem of the policy file (cicd.config.loader.Checked)."""
    from cicd.config.loader import check_file

    return check_file(path, AutoMergePolicy, lambda doc: policy_rules(doc, config_dir))


def load_policy(path: Path, config_dir: Path) -> AutoMergePolicy:
    """The validated policy, or ConfigValidationError listing every problem."""
    checked = check_policy(path, config_dir)
    if checked.problems or checked.model is None:
        raise ConfigValidationError(checked.problems or [Problem(Location(checked.file), "invalid")])
    return checked.model
