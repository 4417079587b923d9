"""Validating a whole config directory or chosen files, collecting every problem of every file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from cicd.config.loader import Checked, check_environment, check_pipeline
from cicd.errors import ConfigValidationError, UsageError

AUTOMERGE_FILE = "automerge.yml"  # the trust-gated auto-merge policy (cicd.trust.policy)
_PIPELINE_KEY = re.compile(r"^(stages|steps)\s*:", re.MULTILINE)


def is_environment_file(path: Path) -> bool:
    """Environment files live in an `environments/` folder; elsewhere the contents decide."""
    if path.parent.name == "environments":
        return True
    if path.stem == "pipeline" or not path.is_file():  # never open a FIFO or device to peek
        return False
    try:
        head = path.read_bytes()[:65536].decode("utf-8", "replace")
    except OSError:
        return False
    return _PIPELINE_KEY.search(head) is None and re.search(r"^type\s*:", head, re.MULTILINE) is not None


def default_files(config_dir: Path) -> list[Path]:
    if not config_dir.is_dir():
        raise UsageError(f"config directory not found: {config_dir}", hint="pass --config-dir DIR")
    pipeline = config_dir / "pipeline.yml"
    if not pipeline.is_file():
        raise UsageError(f"no pipeline.yml in {config_dir}", hint="pass --config-dir DIR or name the files")
    flags = sorted((config_dir / "flags").glob("*.json"))  # feature flags in flagd's format
    automerge = [config_dir / AUTOMERGE_FILE] if (config_dir / AUTOMERGE_FILE).is_file() else []
    return [pipeline, *sorted((config_dir / "environments").glob("*.yml")), *flags, *automerge]


def validate_config(
    config_dir: Path | None = None, files: Sequence[Path] = (), *, require_secrets: bool = False
) -> int:
    """Check `files` (default: the pipeline and every environment of `config_dir`).

    Returns the number of valid files; raises ConfigValidationError with every problem of every file.
    """
    if config_dir is not None and not config_dir.is_dir():
        raise UsageError(f"config directory not found: {config_dir}", hint="pass --config-dir DIR")
    missing = [str(path) for path in files if not path.exists()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    paths = list(files) or default_files(config_dir or Path("config"))
    results: list[Checked] = []
    for path in paths:
        if path.suffix == ".json" and path.parent.name == "flags":
            from cicd.flags.schema import check_flag_file

            results.append(check_flag_file(path))
        elif path.name == AUTOMERGE_FILE:
            from cicd.trust.policy import check_policy

            results.append(check_policy(path, config_dir or path.parent))
        elif is_environment_file(path):
            from cicd.flags.guard import named_flag_problems

            results.append(check_environment(path, require_secrets=require_secrets))
            results[-1].problems += named_flag_problems(results[-1], config_dir or path.parent.parent)
        else:
            results.append(check_pipeline(path, config_dir or path.parent, require_secrets=require_secrets))
    # Each file's problems are already in line order; files in name order.
    problems = [problem for checked in sorted(results, key=lambda c: c.file) for problem in checked.problems]
    if problems:
        raise ConfigValidationError(problems)
    return len(paths)
