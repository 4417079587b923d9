"""Loading config files: located YAML, model validation, cross-key rules, then the frozen context.

`check_pipeline` / `check_environment` collect every problem of one file; `load_pipeline` /
`load_environment` raise ConfigValidationError with all of them, or return the runtime context.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cicd.config import compiled, rules
from cicd.config.context import (
    EnvironmentContext,
    JobSpec,
    PipelineContext,
    RollbackSpec,
    StageSpec,
)
from cicd.config.document import Document, SourceError, format_path
from cicd.config.messages import problems_from
from cicd.config.models import Environment, Job, Pipeline
from cicd.config.source import load_document
from cicd.errors import ConfigValidationError, Location, Problem
from cicd.inputs import check_environment_name


@dataclass
class Checked:
    """The outcome of checking one file: its model when valid, and every problem found."""

    file: str
    model: Any = None
    document: Document | None = None
    problems: list[Problem] = field(default_factory=list)


def display_path(path: Path) -> str:
    """The path as shown in messages and annotations: relative to the working directory when inside it,
    else to the checkout in GitHub Actions (annotations attach only to repository-relative paths)."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    for base in [Path.cwd(), *([Path(workspace)] if workspace else [])]:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
            continue
    return str(path)


def _check(path: Path, model: type[BaseModel]) -> Checked:
    file = display_path(path)
    checked = Checked(file)
    if not path.is_file():
        # Never opened: a FIFO or device given as a config file would block or never end.
        what = "not a regular file" if path.exists() else "file not found"
        if path.is_symlink() and not path.exists():
            what = "symbolic link to nothing readable (broken, or a loop); fix or remove it"
        checked.problems.append(Problem(Location(file), what))
        return checked
    try:
        doc = load_document(path, file)
    except SourceError as err:
        checked.problems.append(err.problem)
        return checked
    checked.document = doc
    checked.problems.extend(doc.problems)
    try:
        checked.model = compiled.validator(model).validate_python(doc.data)
    except ValidationError as err:
        checked.problems.extend(problems_from(err, doc, model))
    except RecursionError:  # the composer caps nesting well below this; kept as a last line of defence
        checked.problems.append(Problem(Location(file, 1, 1), "nesting is too deep"))
    return checked


MAX_PROBLEMS = 100  # per file: past this, more lines bury the first ones rather than help


def _capped(checked: Checked) -> Checked:
    """Problems in line order; past MAX_PROBLEMS, a last line counts the rest."""
    checked.problems = sort_problems(checked.problems)
    if len(checked.problems) > MAX_PROBLEMS:
        hidden = len(checked.problems) - MAX_PROBLEMS
        del checked.problems[MAX_PROBLEMS:]
        summary = f"{hidden} more problems not shown; fix the ones above first"
        checked.problems.append(Problem(Location(checked.file), summary))
    return checked


def check_pipeline(path: Path, config_dir: Path, *, require_secrets: bool = False) -> Checked:
    checked = _check(path, Pipeline)
    if checked.document is not None:
        checked.problems += rules.pipeline_rules(checked.document, config_dir)
        if require_secrets:
            checked.problems += rules.secret_rules(checked.document)
    return _capped(checked)


def check_environment(path: Path, *, require_secrets: bool = False) -> Checked:
    checked = _check(path, Environment)
    if checked.document is not None:
        checked.problems += rules.environment_rules(checked.document, path.stem)
        if require_secrets:
            checked.problems += rules.secret_rules(checked.document)
    return _capped(checked)


def check_file(path: Path, model: type[BaseModel], rules: Callable[[Document], list[Problem]]) -> Checked:
    """A config file of another kind (the auto-merge policy, say): `model`, then its cross-key `rules`."""
    checked = _check(path, model)
    if checked.document is not None:
        checked.problems += rules(checked.document)
    return _capped(checked)


def _raise_if_invalid(checked: Checked) -> None:
    if checked.problems or checked.model is None:
        raise ConfigValidationError(checked.problems or [Problem(Location(checked.file), "invalid")])


def sort_problems(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.location.file, p.location.line or 0, p.location.col or 0))


def load_pipeline(
    config_dir: Path = Path("config"), path: Path | None = None, *, require_secrets: bool = False
) -> PipelineContext:
    """The validated pipeline of `config_dir` (or of the file `path`).

    Raises ConfigValidationError listing every problem of the file.
    """
    config_dir = Path(config_dir)
    checked = check_pipeline(
        Path(path) if path else config_dir / "pipeline.yml", config_dir, require_secrets=require_secrets
    )
    _raise_if_invalid(checked)
    assert checked.document is not None
    return pipeline_context(checked.model, checked.document)


def load_environment(config_dir: Path, name: str, *, require_secrets: bool = False) -> EnvironmentContext:
    """The validated environment `config_dir/environments/<name>.yml`; `name` is a name, never a path."""
    check_environment_name(name)
    env_dir = Path(config_dir) / "environments"
    path = env_dir / f"{name}.yml"
    if not path.exists():  # there but not a regular file (a FIFO, a device): _check says what it is
        known = sorted(p.stem for p in env_dir.glob("*.yml")) if env_dir.is_dir() else []
        hint = f"known environments: {', '.join(known)}" if known else f"create {display_path(path)}"
        raise ConfigValidationError([Problem(Location(display_path(path)), f"no environment '{name}'", hint)])
    checked = check_environment(path, require_secrets=require_secrets)
    _raise_if_invalid(checked)
    assert checked.document is not None
    return environment_context(checked.model, checked.document)


def stringify(value: Any) -> str:
    """Variables reach commands as environment variables: YAML booleans become `true` / `false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _job(job: Job, stage: str, doc: Document, path: tuple) -> JobSpec:
    return JobSpec(
        name=job.name,
        stage=stage,
        command=job.command,
        timeout=job.timeout,
        retry=job.retry,
        continue_on_fail=job.continue_on_fail,
        artifacts=tuple(job.artifacts),
        location=doc.locate(path),
    )


def _stages(model: Pipeline, doc: Document) -> tuple[StageSpec, ...]:
    if model.stages is not None:
        return tuple(
            StageSpec(
                name=stage.name,
                dependencies=tuple(dict.fromkeys(stage.dependencies)),
                jobs=tuple(
                    _job(job, stage.name, doc, ("stages", i, "jobs", j)) for j, job in enumerate(stage.jobs)
                ),
                when=stage.when,
                location=doc.locate(("stages", i)),
            )
            for i, stage in enumerate(model.stages)
        )
    # The flat `steps:` shorthand: each step is a one-job stage depending on the step before it.
    steps = model.steps or []
    return tuple(
        StageSpec(
            name=step.name,
            dependencies=(steps[i - 1].name,) if i else (),
            jobs=(_job(step, step.name, doc, ("steps", i)),),
            location=doc.locate(("steps", i)),
        )
        for i, step in enumerate(steps)
    )


def pipeline_context(model: Pipeline, doc: Document) -> PipelineContext:
    return PipelineContext(
        name=model.name,
        trigger=model.trigger,
        environment=model.environment,
        timeout_seconds=model.timeout_seconds,
        variables={name: stringify(value) for name, value in model.variables.items()},
        secrets=tuple(model.secrets),
        stages=_stages(model, doc),
        rollback=RollbackSpec(enabled=model.rollback.enabled, strategy=model.rollback.strategy),
        source=doc.file,
    )


def environment_context(model: Environment, doc: Document) -> EnvironmentContext:
    locations = {
        format_path(path): Location(doc.file, line, col, format_path(path))
        for path, (line, col) in doc.value_marks.items()
    }
    return EnvironmentContext(
        name=model.name,
        type=model.type,
        url=model.url,
        approval=model.approval,
        lock_environment=model.lock_environment,
        secrets=tuple(model.secrets),
        deploy=model.deploy,
        supply_chain=model.supply_chain,
        source=doc.file,
        locations=locations,
    )
