"""Pin every third-party action to the commit SHA the repository's lock file names, offline.

`uses: owner/repo[/path]@ref` values are found with ruamel.yaml's round-trip parser, which keeps each
value's line and column and the comment after it. The rewrite then replaces only those values (and
their trailing `# tag` comment) in the original text: every other byte of the file stays as it was,
which re-dumping the whole document could not promise (flow mappings, quoting, wrapping, blank lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cicd.errors import CicdError, ConfigValidationError, Location, Problem

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
USES_RE = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?P<path>/[^@]*)?@(?P<ref>[^\s@]+)$")


@dataclass(frozen=True)
class Pin:
    tag: str
    sha: str


@dataclass(frozen=True)
class UsesRef:
    """One `uses:` value in a file: where it sits and what it says."""

    file: Path
    line: int  # 0-based
    col: int  # 0-based column where the value starts
    value: str
    comment: str | None  # the comment after the value on the same line, without '#'

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line + 1}"


@dataclass(frozen=True)
class Change:
    uses: UsesRef
    new_value: str
    tag: str


def load_lock(path: Path) -> dict[str, Pin]:
    """Read `.github/actions-lock.yml`: `actions: {owner/repo: {tag: vX.Y.Z, sha: <40 hex>}}`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as err:
        raise CicdError(f"cannot read the action lock file {path}: {err}") from err
    actions = data.get("actions") if isinstance(data, dict) else None
    if not isinstance(actions, dict):
        raise CicdError(f"{path}: expected a mapping 'actions: {{owner/repo: {{tag, sha}}}}'")
    pins: dict[str, Pin] = {}
    problems: list[Problem] = []
    for repo, entry in actions.items():
        tag, sha = (entry.get("tag"), entry.get("sha")) if isinstance(entry, dict) else (None, None)
        if not isinstance(tag, str) or not isinstance(sha, str) or not SHA_RE.match(sha):
            problems.append(
                Problem(Location(str(path), key_path=f"actions.{repo}"), "needs 'tag' and a 40-hex 'sha'")
            )
            continue
        pins[str(repo)] = Pin(tag=tag, sha=sha)
    if problems:
        raise ConfigValidationError(problems)
    return pins


def find_uses(path: Path) -> list[UsesRef]:
    """Every `uses:` string in a workflow or action file, with its position and trailing comment."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        tree = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as err:
        raise CicdError(f"cannot parse {path}: {err}") from err
    found: list[UsesRef] = []
    _walk(tree, path, found)
    return sorted(found, key=lambda ref: (ref.line, ref.col))


def _walk(node: object, path: Path, found: list[UsesRef]) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if key == "uses" and isinstance(value, str):
                line, col = node.lc.value(key)
                found.append(UsesRef(path, line, col, value, _trailing_comment(node, key)))
            else:
                _walk(value, path, found)
    elif isinstance(node, CommentedSeq):
        for item in node:
            _walk(item, path, found)


def _trailing_comment(node: object, key: str) -> str | None:
    tokens = node.ca.items.get(key)  # type: ignore[attr-defined]
    if not tokens or len(tokens) < 3 or tokens[2] is None:
        return None
    text = tokens[2].value.split("\n", 1)[0].strip()
    return text[1:].strip() if text.startswith("#") else None


def plan(refs: list[UsesRef], pins: dict[str, Pin]) -> tuple[list[Change], list[str]]:
    """What to rewrite, and the uses that cannot be pinned (not in the lock file)."""
    changes: list[Change] = []
    unknown: list[str] = []
    for ref in refs:
        match = USES_RE.match(ref.value)
        if ref.value.startswith(("./", "$/", "docker://")) or match is None:
            continue
        pin = pins.get(match["repo"])
        if pin is None:
            unknown.append(f"{ref.location}: {ref.value} is not in the lock file (add its tag and sha)")
            continue
        new_value = f"{match['repo']}{match['path'] or ''}@{pin.sha}"
        if new_value != ref.value or ref.comment != pin.tag:
            changes.append(Change(ref, new_value, pin.tag))
    return changes, unknown


def apply(text: str, changes: list[Change]) -> str:
    """Replace each change's value and trailing comment on its line; nothing else moves."""
    lines = text.splitlines(keepends=True)
    for change in changes:
        ref = change.uses
        line = lines[ref.line]
        body, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if body.endswith("\r"):
            body, newline = body[:-1], "\r\n"
        value_end = _value_end(body, ref.col, ref.value)
        rest = body[value_end:]
        gap = rest[: len(rest) - len(rest.lstrip())] if "#" in rest else " "
        lines[ref.line] = f"{body[:ref.col]}{change.new_value}{gap or ' '}# {change.tag}{newline}"
    return "".join(lines)


def _value_end(body: str, col: int, value: str) -> int:
    """End column of the value as written (plain, or quoted with ' or ")."""
    quote = body[col : col + 1]
    if quote in ("'", '"'):
        close = body.find(quote, col + 1)
        if close < 0:
            raise CicdError(f"unterminated quoted uses value: {body.strip()}")
        return close + 1
    if body[col : col + len(value)] != value:
        raise CicdError(f"unexpected layout of uses value (multi-line?): {body.strip()}")
    return col + len(value)


def workflow_files(root: Path) -> list[Path]:
    """Workflow and action files under `.github/` (workflows/*.y*ml and any action.y*ml)."""
    files = sorted((root / "workflows").glob("*.y*ml")) if (root / "workflows").is_dir() else []
    files += sorted(p for p in root.rglob("action.y*ml") if p.is_file())
    return files


def pin_files(files: list[Path], pins: dict[str, Pin], *, check: bool) -> tuple[list[str], list[str]]:
    """Pin (or check) every file. Returns (report lines, problems); writes only when not checking."""
    report: list[str] = []
    problems: list[str] = []
    for path in files:
        changes, unknown = plan(find_uses(path), pins)
        problems.extend(unknown)
        for change in changes:
            what = "unpinned or mismatched" if check else "pinned"
            line = f"{change.uses.location}: {what}: {change.uses.value} -> {change.new_value} # {change.tag}"
            (problems if check else report).append(line)
        if changes and not check:
            # Bytes in, bytes out: line endings and everything else stay exactly as they were.
            original = path.read_bytes().decode("utf-8")
            path.write_bytes(apply(original, changes).encode("utf-8"))
    return report, problems
