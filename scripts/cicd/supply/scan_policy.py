"""The scanners' gate in one file (config/security-policy.yml): which severities fail the build,
whether only findings with a fix count, and which findings are ignored until when.

An ignore without an expiry date, or one that has expired, fails the gate: an accepted risk is
looked at again, never forgotten. `trivy_ignore_file` turns the live ignores into Trivy's own
`.trivyignore.yaml` (with `expired_at`), so Trivy applies exactly what this file says.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from cicd.errors import ConfigValidationError, Location, Problem

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
TOP_KEYS = ("trivy",)
TRIVY_KEYS = ("severities", "ignore_unfixed", "ignores")
IGNORE_KEYS = ("id", "expires", "reason")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
MAX_IGNORE_DAYS = 366  # no accepted risk for longer than a year without a second look


@dataclass(frozen=True)
class Ignore:
    id: str
    expires: dt.date
    reason: str


@dataclass(frozen=True)
class ScanPolicy:
    severities: tuple[str, ...]
    ignore_unfixed: bool
    ignores: tuple[Ignore, ...]


def load(path: Path, today: dt.date) -> ScanPolicy:
    """The policy, or ConfigValidationError listing every problem (unknown keys, expired ignores)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as err:
        problem = Problem(Location(str(path)), f"cannot read the scan policy: {err}")
        raise ConfigValidationError([problem]) from err
    problems: list[Problem] = []
    root = _mapping(data, str(path), "", TOP_KEYS, problems)
    trivy = _mapping(root.get("trivy"), str(path), "trivy", TRIVY_KEYS, problems, at=(root, "trivy"))
    severities = _severities(trivy, str(path), problems)
    unfixed = trivy.get("ignore_unfixed", True)
    if not isinstance(unfixed, bool):
        problems.append(_problem(path, trivy, "ignore_unfixed", "trivy.ignore_unfixed must be true or false"))
    ignores = _ignores(trivy, path, today, problems)
    if problems:
        raise ConfigValidationError(problems)
    return ScanPolicy(tuple(severities), bool(unfixed), tuple(ignores))


def _mapping(node, file: str, where: str, allowed: tuple[str, ...], problems: list[Problem], at=None) -> dict:
    if not isinstance(node, dict):
        line = _line(*at) if at else None
        problems.append(Problem(Location(file, line, key_path=where or None), "expected a mapping"))
        return {}
    for key in node:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
            path = f"{where}.{key}" if where else str(key)
            location = Location(file, _line(node, key), key_path=path)
            problems.append(Problem(location, f"unknown key '{key}'", hint))
    return node


def _severities(trivy: dict, file: str, problems: list[Problem]) -> list[str]:
    values = trivy.get("severities", ["HIGH", "CRITICAL"])
    if not isinstance(values, list) or not values:
        problems.append(Problem(Location(file, _line(trivy, "severities")), "severities must be a list"))
        return []
    bad = [v for v in values if v not in SEVERITIES]
    if bad:
        hint = f"use {', '.join(SEVERITIES)}"
        location = Location(file, _line(trivy, "severities"), key_path="trivy.severities")
        problems.append(Problem(location, f"unknown severity {bad[0]!r}", hint))
    return [str(v) for v in values]


def _ignores(trivy: dict, path: Path, today: dt.date, problems: list[Problem]) -> list[Ignore]:
    entries = trivy.get("ignores") or []
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        where = f"trivy.ignores[{index}]"
        location = Location(str(path), _line(entries, index), key_path=where)

        def say(message: str, hint: str | None = None, location: Location = location) -> None:
            problems.append(Problem(location, message, hint))

        entry = _mapping(entry, str(path), where, IGNORE_KEYS, problems, at=(entries, index))
        ident, expires, reason = entry.get("id"), entry.get("expires"), entry.get("reason")
        if not isinstance(ident, str) or not ID_RE.match(ident):
            say("needs an 'id' (e.g. CVE-2024-1234)")
            continue
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            say(f"{ident} has no expiry date", "add expires: YYYY-MM-DD (at most a year ahead)")
            continue
        if expires < today:
            say(f"ignore of {ident} expired on {expires}", "fix or upgrade, or renew it with a new date")
        elif (expires - today).days > MAX_IGNORE_DAYS:
            latest = today + dt.timedelta(MAX_IGNORE_DAYS)
            say(f"ignore of {ident} runs too long", f"pick a date before {latest}")
        if not isinstance(reason, str) or not reason.strip():
            say(f"ignore of {ident} needs a reason")
        found.append(Ignore(ident, expires, str(reason or "")))
    return found


def _line(node, key) -> int | None:
    try:
        marks = node.lc  # type: ignore[attr-defined]  # ruamel's line/column marks
        return int((marks.key(key) if isinstance(node, dict) else marks.item(key))[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def _problem(path: Path, node, key: str, message: str) -> Problem:
    return Problem(Location(str(path), _line(node, key), key_path=f"trivy.{key}"), message)


def trivy_ignore_file(policy: ScanPolicy) -> str:
    """Trivy's .trivyignore.yaml: each ignore with its statement and expiry."""
    import json

    lines = ["# Written by `cicd supply scan-policy`: edit the scan policy instead.", "vulnerabilities:"]
    for ignore in policy.ignores:
        lines += [
            f"  - id: {json.dumps(ignore.id)}",
            f"    statement: {json.dumps(ignore.reason)}",
            f"    expired_at: {ignore.expires.isoformat()}",
        ]
    if not policy.ignores:
        lines[-1] = "vulnerabilities: []"
    return "\n".join(lines) + "\n"
