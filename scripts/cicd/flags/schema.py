"""Checking a flag file against flagd's published JSON Schema, with located problems.

The schema files in schema/ are flagd's own (https://flagd.dev/schema/v0/flags.json and targeting.json,
from github.com/open-feature/flagd-schemas, Apache-2.0), kept beside the code so `cicd validate` works
offline. flags.json refers to targeting.json by a relative reference; both are registered under their
published ids so the reference resolves the way it does on flagd.dev.

The schema expresses each flag as "any of" the four flag types, so a single mistake fails every branch;
the problem shown is the one from the branch that came closest (fewest failures), deepest first.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cicd.config.document import Document, SourceError, describe, format_path
from cicd.config.loader import Checked, display_path
from cicd.config.source import load_document
from cicd.errors import Location, Problem

FLAGS_SCHEMA_ID = "https://flagd.dev/schema/v0/flags.json"
MAX_PROBLEMS = 100


@cache
def validator() -> Any:
    import jsonschema
    from referencing import Registry, Resource

    folder = resources.files("cicd.flags") / "schema"
    schemas = [json.loads((folder / name).read_text()) for name in ("flags.json", "targeting.json")]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    return jsonschema.Draft7Validator({"$ref": FLAGS_SCHEMA_ID}, registry=registry)


def closest(error: Any) -> Any:
    """The most telling error under an anyOf/oneOf failure: from the branch with the fewest failures,
    and among those the one whose own cause lies deepest (a branch failing at the node itself, such as
    flagd's "empty targeting" beside the rule branch, says less than one that got inside it)."""
    if not error.context:
        return error
    branches: dict[Any, list[Any]] = {}
    for child in error.context:
        branches.setdefault(child.schema_path[0] if child.schema_path else 0, []).append(child)
    ranked = []
    for group in branches.values():
        leaf = max((closest(e) for e in group), key=lambda e: len(e.absolute_path))
        ranked.append((len(group), -len(leaf.absolute_path), leaf))
    return min(ranked, key=lambda item: item[:2])[2]


def _semantic_problems(data: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    """What the schema cannot say: the default and the fractional buckets must name existing variants."""
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    flags = data.get("flags") if isinstance(data, dict) else None
    for name, flag in (flags or {}).items() if isinstance(flags, dict) else ():
        variants = flag.get("variants") if isinstance(flag, dict) else None
        if not isinstance(variants, dict):
            continue
        default = flag.get("defaultVariant")
        if isinstance(default, str) and default not in variants:
            found.append((
                ("flags", name, "defaultVariant"),
                f"default variant {default!r} of flag {name!r} is not one of its variants",
                f"use one of: {', '.join(sorted(variants))}",
            ))  # fmt: skip
        for index, bucket in enumerate(fractional_buckets(flag)):
            variant = bucket[0] if isinstance(bucket, list) and bucket else None
            if isinstance(variant, str) and variant not in variants:
                found.append((
                    ("flags", name, "targeting", "fractional", index, 0),
                    f"fractional bucket names variant {variant!r}, which flag {name!r} does not have",
                    f"use one of: {', '.join(sorted(variants))}",
                ))  # fmt: skip
    return found


def fractional_buckets(flag: dict) -> list[Any]:
    """The [variant, weight] buckets of a top-level `fractional` rule (its optional bucketing
    expression, an object, left out); [] for any other targeting."""
    targeting = flag.get("targeting")
    rule = targeting.get("fractional") if isinstance(targeting, dict) else None
    return [item for item in rule if isinstance(item, list)] if isinstance(rule, list) else []


def _message(error: Any) -> str:
    """jsonschema's message with a long value it quotes replaced by a short description: the location
    already says which value it is."""
    quoted = repr(error.instance)
    if len(quoted) > 60 and error.message.startswith(quoted):
        return describe(error.instance) + error.message[len(quoted) :]
    return error.message


def problems_in(data: Any, document: Document | None, file: str) -> list[Problem]:
    """Every schema and semantic problem of flag data, located through `document` when given."""

    def locate(path: tuple[str | int, ...]) -> Location:
        if document is None:
            return Location(file, None, None, format_path(path) or None)
        return document.locate(path)

    problems = []
    errors = sorted(validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors[:MAX_PROBLEMS]:
        leaf = closest(error)
        path = tuple(leaf.absolute_path)
        problems.append(Problem(locate(path), _message(leaf), "see https://flagd.dev/reference/flag-definitions/"))
    if not problems:
        problems = [Problem(locate(path), message, hint) for path, message, hint in _semantic_problems(data)]
    return problems


def check_flag_file(path: Path) -> Checked:
    """The outcome of checking config/flags/<env>.json: strict JSON first, then flagd's schema."""
    file = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except json.JSONDecodeError as err:
        where = Location(file, err.lineno, err.colno)
        return Checked(file, problems=[Problem(where, f"not valid JSON: {err.msg}", "flag files are JSON")])
    except (OSError, UnicodeDecodeError) as err:
        return Checked(file, problems=[Problem(Location(file), f"cannot read the flag file: {err}")])
    try:
        document: Document | None = load_document(path, file)
    except SourceError:  # valid JSON that YAML cannot place (a top-level list): problems go unlocated
        document = None
    problems = problems_in(data, document, file)
    return Checked(file, model=None if problems else data, document=document, problems=problems)
