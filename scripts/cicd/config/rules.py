"""Rules across keys that a model of one key cannot check: names, dependencies, files, secrets.

They run on the raw data, not the validated model, so they still report when another key of the
same file has a type error: `cicd validate` shows every problem of a run at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cicd.config.document import Document, Path_
from cicd.config.messages import did_you_mean
from cicd.errors import Problem


def _items(doc: Document, key: str) -> Iterator[tuple[Path_, dict]]:
    """(path, mapping) of each mapping in the top-level list `key`."""
    value = doc.data.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield (key, index), item


def _names(doc: Document, key: str) -> Iterator[tuple[Path_, str]]:
    for path, item in _items(doc, key):
        if isinstance(item.get("name"), str):
            yield path, item["name"]


def pipeline_rules(doc: Document, config_dir: Path) -> list[Problem]:
    problems = _duplicate_stages(doc) + _duplicate_jobs(doc)
    problems += _dependencies(doc)
    problems += _environment_file(doc, config_dir)
    return problems


def _duplicate_stages(doc: Document) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for path, name in _names(doc, "stages"):
        location = doc.locate((*path, "name"))
        if name in seen:
            problems.append(
                Problem(
                    location,
                    f"duplicate stage name '{name}' (first defined at line {seen[name]})",
                    "stage names must be unique",
                )
            )
        else:
            seen[name] = location.line or 0
    return problems


def _jobs(doc: Document) -> Iterator[tuple[Path_, str]]:
    for stage_path, stage in _items(doc, "stages"):
        jobs = stage.get("jobs")
        for index, job in enumerate(jobs if isinstance(jobs, list) else []):
            if isinstance(job, dict) and isinstance(job.get("name"), str):
                yield (*stage_path, "jobs", index), job["name"]
    yield from _names(doc, "steps")


def _duplicate_jobs(doc: Document) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for path, name in _jobs(doc):
        location = doc.locate((*path, "name"))
        if name in seen:
            problems.append(
                Problem(
                    location,
                    f"duplicate job name '{name}' (first defined at line {seen[name]})",
                    "job names must be unique across the pipeline: logs are kept by job name",
                )
            )
        else:
            seen[name] = location.line or 0
    return problems


def _dependency_graph(doc: Document) -> tuple[dict[str, list[tuple[str, Path_]]], list[Problem]]:
    """Edges stage -> dependency (with the path of the dependency item), and the unknown or self ones."""
    stages = list(dict.fromkeys(name for _, name in _names(doc, "stages")))
    graph: dict[str, list[tuple[str, Path_]]] = {name: [] for name in stages}
    problems = []
    for path, stage in _items(doc, "stages"):
        name, deps = stage.get("name"), stage.get("dependencies")
        if not isinstance(name, str) or not isinstance(deps, list):
            continue
        for index, dep in enumerate(deps):
            dep_path = (*path, "dependencies", index)
            if not isinstance(dep, str):
                continue
            if dep == name:
                problems.append(
                    Problem(
                        doc.locate(dep_path),
                        f"stage '{name}' depends on itself",
                        "remove it from its own dependencies",
                    )
                )
            elif dep not in graph:
                hint = did_you_mean(dep, stages) or f"known stages: {', '.join(stages)}"
                problems.append(
                    Problem(doc.locate(dep_path), f"stage '{name}' depends on unknown stage '{dep}'", hint)
                )
            else:
                graph[name].append((dep, dep_path))
    return graph, problems


def _dependencies(doc: Document) -> list[Problem]:
    graph, problems = _dependency_graph(doc)
    covered: set[str] = set()
    for cycle, dep_path in _cycles(graph):
        if set(cycle) <= covered:
            continue
        covered.update(cycle)
        shown = " -> ".join([*cycle, cycle[0]])
        problems.append(
            Problem(doc.locate(dep_path), f"dependency cycle: {shown}", "remove one of these dependencies")
        )
    return problems


def _cycles(graph: dict[str, list[tuple[str, Path_]]]) -> Iterator[tuple[list[str], Path_]]:
    """Each back edge of an iterative depth-first search closes one cycle: (its stages, the edge's path)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in graph:
        if start in state:
            continue
        path: list[str] = [start]
        state[start] = 1
        pending = [iter(graph[start])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                state[path.pop()] = 2
                pending.pop()
                continue
            dep, dep_path = step
            if state.get(dep) == 1:
                yield path[path.index(dep) :], dep_path
            elif dep not in state:
                state[dep] = 1
                path.append(dep)
                pending.append(iter(graph[dep]))


def _environment_file(doc: Document, config_dir: Path) -> list[Problem]:
    name = doc.data.get("environment")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        return []
    env_dir = config_dir / "environments"
    if (env_dir / f"{name}.yml").is_file():
        return []
    known = sorted(path.stem for path in env_dir.glob("*.yml")) if env_dir.is_dir() else []
    hint = did_you_mean(name, known) or (
        f"known environments: {', '.join(known)}" if known else f"create {env_dir / (name + '.yml')}"
    )
    return [
        Problem(doc.locate(("environment",)), f"environment '{name}' has no file {env_dir / name}.yml", hint)
    ]


def environment_rules(doc: Document, stem: str) -> list[Problem]:
    name = doc.data.get("name")
    if isinstance(name, str) and name != stem:
        return [
            Problem(
                doc.locate(("name",)),
                f"environment name '{name}' does not match its file name '{stem}.yml'",
                f"set name: {stem}, or rename the file to {name}.yml",
            )
        ]
    return []


def secret_rules(doc: Document, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """Secrets named in `secrets:` but not set; only names are printed, never a value."""
    env = os.environ if environ is None else environ
    secrets: Any = doc.data.get("secrets")
    problems = []
    for index, name in enumerate(secrets if isinstance(secrets, list) else []):
        if isinstance(name, str) and not env.get(name):
            problems.append(
                Problem(
                    doc.locate(("secrets", index)),
                    f"secret '{name}' is not set",
                    f"export {name} in the environment, or add it as a GitHub secret",
                )
            )
    return problems
