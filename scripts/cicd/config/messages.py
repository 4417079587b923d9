"""Pydantic validation errors turned into located, friendly problems.

A pydantic error's `loc` mixes keys of the data with names of union members (`'str'`, a discriminator
tag such as `'process'`, `'function-after[...]'`). The data path is recovered by walking the data and
keeping only the loc items that exist in it; the model path (all items) finds the field's type, for
the allowed keys, the allowed values and the allowed range.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cicd.config.document import Document, Path_, describe
from cicd.config.invalid import InvalidKey
from cicd.errors import Problem

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "tuple_type": "a list",
    "none_required": "nothing (null)",
}
_MAX_ERRORS = 500
_LEADING_KEY = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*)\b")
_NAME_PATTERNS = {
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "letters, digits, '_', '.' and '-', starting with a letter or digit",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "letters, digits and '_', not starting with a digit",
}


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str | None:
    import difflib  # only a run with problems needs it

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def problems_from(
    err: ValidationError, doc: Document, model: type[BaseModel], base: Path_ = ()
) -> list[Problem]:
    """One problem per failing place; errors of the members of one union are merged into one."""
    grouped: dict[Path_, list[tuple[tuple, dict]]] = {}
    # A hostile file can fail validation thousands of times; the first few hundred are plenty to show.
    for error in err.errors(include_url=False)[:_MAX_ERRORS]:
        loc = tuple(error["loc"])
        path = data_path(doc.data, (*base, *loc))
        grouped.setdefault(path, []).append((loc, dict(error)))
    problems = []
    for path, errors in grouped.items():
        if len(errors) > 1 and all(e["type"] in _EXPECTED for _, e in errors):
            problems.append(_union_type_problem(doc, path, errors))
        else:
            problems.extend(_problem(doc, model, path, loc, error) for loc, error in errors)
    return problems


def data_path(data: Any, loc: tuple) -> Path_:
    """The part of `loc` that names real keys and indexes of `data`."""
    path: list[str | int] = []
    node = data
    for item in loc:
        in_dict = isinstance(node, dict) and isinstance(item, str) and item in node
        in_list = isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
        if not (in_dict or in_list):
            continue
        node = node[item]
        path.append(item)
    return tuple(path)


def _subject(path: Path_) -> str:
    """What the message talks about: `'timeout'`, or `each item of 'stages'` for a list item."""
    names = [item for item in path if isinstance(item, str)]
    if not names:
        return "the value"
    return f"'{names[-1]}'" if not isinstance(path[-1], int) else f"each item of '{names[-1]}'"


def _count(number: Any, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _problem(doc: Document, model: type[BaseModel], path: Path_, loc: tuple, error: dict) -> Problem:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        allowed = field_names(model, loc[:-1])
        hint = did_you_mean(unknown, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None)
        return Problem(doc.locate(path, key=True, key_path=path[:-1]), f"unknown key '{unknown}'", hint)
    if kind == "missing":
        return Problem(doc.locate(path), f"missing required key '{loc[-1]}'")
    if kind == "value_error":
        return _validator_problem(doc, path, ctx.get("error"), error["msg"])
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(doc, path, kind, ctx)
    location, subject = doc.locate(path), _subject(path)
    if loc and loc[-1] == "[key]":  # a mapping key itself is invalid, e.g. a variable name
        location, subject = doc.locate(path, key=True), "the key"
    if kind in _EXPECTED:
        hint = _quote_hint(value) if kind == "string_type" else None
        return Problem(location, f"{subject} must be {_EXPECTED[kind]}, got {describe(value)}", hint)
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = _bounds(model, loc) or ctx
        return Problem(location, f"{subject} must be {_range_text(bounds)}, got {describe(value)}")
    if kind == "literal_error":
        choices = _literal_choices(model, loc) or [ctx.get("expected", "")]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
        message = f"{subject} must be one of {', '.join(choices)}; got {describe(value)}"
        return Problem(location, message, hint)
    return Problem(location, _other_message(kind, subject, value, ctx, error["msg"]))


def _validator_problem(doc: Document, path: Path_, cause: Any, msg: str) -> Problem:
    """A model validator's ValueError, located at the key it names when it names one.

    `InvalidKey` names the key explicitly; otherwise a message that starts with a key path below the
    model (`colors.green.port uses port ...`) is located at that key.
    """
    if isinstance(cause, InvalidKey):
        return Problem(doc.locate(data_path(doc.data, (*path, *cause.key))), cause.message, cause.hint)
    message = str(cause) if cause is not None else msg
    match = _LEADING_KEY.match(message)
    if match:
        parts = [part for part in re.split(r"[.\[\]]+", match[1]) if part]
        keys = tuple(int(part) if part.isdigit() else part for part in parts)
        target = data_path(doc.data, (*path, *keys))
        if len(target) == len(path) + len(keys):
            return Problem(doc.locate(target), message)
    return Problem(doc.locate(path), message)


def _tag_problem(doc: Document, path: Path_, kind: str, ctx: dict) -> Problem:
    key = str(ctx.get("discriminator", "kind")).strip("'")
    tags = str(ctx.get("expected_tags", "")).replace("'", "")
    if kind == "union_tag_not_found":
        return Problem(doc.locate(path), f"missing required key '{key}' (one of {tags})")
    target = (*path, key)
    location = doc.locate(target if data_path(doc.data, target) == target else path)
    return Problem(location, f"'{key}' must be one of {tags}; got {describe(ctx.get('tag'))}")


def _other_message(kind: str, subject: str, value: Any, ctx: dict, msg: str) -> str:
    if kind == "string_pattern_mismatch":
        rule = _NAME_PATTERNS.get(ctx.get("pattern", ""), f"the pattern {ctx.get('pattern')}")
        return f"{subject} is not valid: got {describe(value)}; use {rule}"
    if kind == "string_too_short":
        return f"{subject} must not be empty" if ctx.get("min_length") == 1 else f"{subject} is too short"
    if kind == "string_too_long":
        return f"{subject} must be at most {_count(ctx.get('max_length'), 'character')}"
    if kind == "too_short":
        return f"{subject} must have at least {_count(ctx.get('min_length'), 'item')}"
    if kind == "too_long":
        return f"{subject} must have at most {_count(ctx.get('max_length'), 'item')}"
    return f"{subject}: {msg[0].lower() + msg[1:] if msg else 'invalid value'}"


def _union_type_problem(doc: Document, path: Path_, errors: list[tuple[tuple, dict]]) -> Problem:
    expected = list(dict.fromkeys(_EXPECTED[e["type"]] for _, e in errors))
    wanted = ", ".join(expected[:-1]) + f" or {expected[-1]}" if len(expected) > 1 else expected[0]
    value = errors[0][1].get("input")
    return Problem(doc.locate(path), f"{_subject(path)} must be {wanted}, got {describe(value)}")


def _quote_hint(value: Any) -> str | None:
    if isinstance(value, (int, float, bool)) or value.__class__.__name__ in ("date", "datetime"):
        return "quote it to make it a string"
    return None


def _range_text(bounds: dict) -> str:
    low = ("at least", bounds["ge"]) if "ge" in bounds else ("greater than", bounds.get("gt"))
    high = ("at most", bounds["le"]) if "le" in bounds else ("less than", bounds.get("lt"))
    if "ge" in bounds and "le" in bounds:
        return f"between {bounds['ge']} and {bounds['le']}"
    parts = [f"{word} {number}" for word, number in (low, high) if number is not None]
    return " and ".join(parts) or "in range"


# --- walking the model types along a pydantic loc -------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [_unwrap(arg) for arg in typing.get_args(tp) if arg is not type(None)]
    return [tp]


def _step(tp: Any, item: str | int) -> Any:
    for member in _members(tp):
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            if item in member.model_fields:
                return member.model_fields[item]
            kind = member.model_fields.get("kind")
            if kind is not None and kind.default == item:
                return member
        elif origin in (list, tuple) and isinstance(item, int):
            return typing.get_args(member)[0]
        elif origin is dict and isinstance(item, str):
            return typing.get_args(member)[1]
    return None


def _walk(model: type[BaseModel], loc: tuple) -> Any:
    """The FieldInfo or type at `loc`, or None when the loc leaves the typed structure."""
    current: Any = model
    for item in loc:
        annotation = current.annotation if hasattr(current, "annotation") else current
        current = _step(annotation, item)
        if current is None:
            return None
    return current


def field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    target = _walk(model, loc)
    annotation = target.annotation if hasattr(target, "annotation") else target
    names: list[str] = []
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            names.extend(name for name in member.model_fields if name not in names)
    return names


def _bounds(model: type[BaseModel], loc: tuple) -> dict:
    target = _walk(model, loc)
    metadata = list(getattr(target, "metadata", []))
    annotation = getattr(target, "annotation", target)
    if typing.get_origin(annotation) is typing.Annotated:
        for extra in typing.get_args(annotation)[1:]:
            metadata.extend(getattr(extra, "metadata", [extra]))
    bounds = {}
    for item in metadata:
        for key in ("ge", "gt", "le", "lt"):
            if getattr(item, key, None) is not None:
                bounds[key] = getattr(item, key)
    return bounds


def _literal_choices(model: type[BaseModel], loc: tuple) -> list[str]:
    target = _walk(model, loc)
    annotation = getattr(target, "annotation", target)
    for member in _members(annotation):
        if typing.get_origin(member) is typing.Literal:
            return [str(arg) for arg in typing.get_args(member)]
    return []
