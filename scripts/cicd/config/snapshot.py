"""A validated environment kept as plain data, so the emergency path does not validate it again.

`cicd deploy`, `status` and `accept` validate config/environments/<name>.yml in full: located YAML,
the pydantic models, the cross-key rules. What came out is then written to .cicd/validated/<name>.json
beside the project's other local state, with the sha256 of the environment file's bytes, of
pipeline.yml's (whose secret names are registered for redaction) and of the code that validates
(cicd/config and cicd/inputs.py).

`cicd rollback` reads that snapshot when all three digests still match and validates in full
otherwise (no snapshot, an edited file, other code, an unreadable snapshot), then writes a fresh one.
So the same bytes go through the same checks once; a rollback skips importing pydantic and PyYAML
(about 100 ms of a command that should act at once), never a check. This module imports neither.

Models become `Frozen` objects: read-only attributes with the models' field names, and the values of
their properties (router.listen_port) computed when the snapshot was written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cicd.errors import Location

if TYPE_CHECKING:
    from cicd.config.context import EnvironmentContext

SNAPSHOT_DIR = Path(".cicd") / "validated"
FORMAT = 1
_MODEL = "__model__"
# The code whose checks a snapshot stands for: a change to any of these invalidates every snapshot.
_PACKAGE = Path(__file__).resolve().parent
_VALIDATING_CODE = (_PACKAGE, _PACKAGE.parent / "inputs.py")


class Frozen:
    """One validated model as read-only attributes (the snapshot's stand-in for the pydantic model)."""

    __slots__ = ("_kind", "_values")

    def __init__(self, kind: str, values: dict[str, Any]):
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._kind} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{self._kind} is frozen")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frozen) and (self._kind, self._values) == (other._kind, other._values)

    def __hash__(self) -> int:
        return hash((self._kind, json.dumps(self._values, sort_keys=True, default=repr)))

    def __repr__(self) -> str:
        return f"{self._kind}({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def snapshot_path(config_dir: Path, name: str) -> Path:
    return Path(config_dir).resolve().parent / SNAPSHOT_DIR / f"{name}.json"


def code_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(_sources()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _sources() -> Iterator[Path]:
    for entry in _VALIDATING_CODE:
        yield from (sorted(entry.glob("*.py")) if entry.is_dir() else [entry])


def input_digests(config_dir: Path, name: str) -> dict[str, str]:
    """The digests a snapshot is keyed to; a missing pipeline.yml has the digest of nothing."""
    config_dir = Path(config_dir)
    pipeline = config_dir / "pipeline.yml"
    return {
        "environment": _file_digest(config_dir / "environments" / f"{name}.yml"),
        "pipeline": _file_digest(pipeline) if pipeline.is_file() else hashlib.sha256(b"").hexdigest(),
        "code": code_digest(),
    }


def _file_digest(path: Path) -> str:
    if not path.is_file():  # a FIFO or device would block or never end: the loader says what it is
        raise FileNotFoundError(f"{path} is not a regular file")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save(config_dir: Path, env: EnvironmentContext, pipeline_secrets: tuple[str, ...], digests: dict) -> None:
    """Write the snapshot of `env`, validated from the inputs `digests` names (taken before it was
    loaded, so an edit made while validating leaves a stale snapshot, never a wrong one). Best effort:
    a project folder that cannot hold it only makes the next rollback validate in full."""
    snapshot = {
        "format": FORMAT,
        "digests": digests,
        "pipeline_secrets": list(pipeline_secrets),
        "environment": {
            "name": env.name, "type": env.type, "url": env.url, "approval": _plain(env.approval),
            "lock_environment": env.lock_environment, "secrets": list(env.secrets),
            "deploy": _plain(env.deploy), "supply_chain": _plain(env.supply_chain), "source": env.source,
            "locations": {key: list(location) for key, location in env.locations.items()},
        },
    }  # fmt: skip
    path = snapshot_path(config_dir, env.name)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        text = json.dumps(snapshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text)
        partial.chmod(0o600)
        os.replace(partial, path)  # a reader sees the old snapshot or the new one, never half of one
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            partial.unlink()


def load(config_dir: Path, name: str) -> tuple[EnvironmentContext, tuple[str, ...]] | None:
    """The environment `name` and its pipeline's secret names from a snapshot whose digests match the
    files and code as they are now; None when there is none or it is stale."""
    from cicd.config.context import EnvironmentContext
    from cicd.inputs import check_environment_name

    check_environment_name(name)  # a name, never a path
    path = snapshot_path(config_dir, name)
    try:
        if not _ours(path):
            return None
        digests = input_digests(config_dir, name)
        snapshot = json.loads(path.read_text(), object_hook=_frozen)
    except (OSError, ValueError):
        return None
    stamp = (snapshot.get("format"), snapshot.get("digests")) if isinstance(snapshot, dict) else None
    if stamp != (FORMAT, digests):
        return None
    try:
        fields = snapshot["environment"]
        if fields["name"] != name:
            return None
        fields["secrets"] = tuple(fields["secrets"])
        fields["locations"] = {key: Location(*where) for key, where in fields["locations"].items()}
        return EnvironmentContext(**fields), tuple(snapshot["pipeline_secrets"])
    except (KeyError, TypeError):  # written by other code than this: validate in full instead
        return None


def _ours(path: Path) -> bool:
    """Written by this user and writable by nobody else: what stands for validation is never a file
    another account could have put there (as the validator cache in compiled.py)."""
    stat = path.stat()
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _plain(value: Any) -> Any:
    """A validated model as {"__model__": its class, each field, each property of ours}; JSON as is."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        plain = {_MODEL: type(value).__name__}
        plain.update({field: _plain(getattr(value, field)) for field in fields})
        for klass in type(value).__mro__:
            if klass.__module__.startswith("cicd."):
                for attribute, member in vars(klass).items():
                    if isinstance(member, property):
                        plain[attribute] = _plain(getattr(value, attribute))
        return plain
    if isinstance(value, dict):
        if _MODEL in value:  # would read back as a model: no snapshot (the next rollback validates)
            raise ValueError(f"a key named {_MODEL}")
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _frozen(values: dict[str, Any]) -> Any:
    kind = values.pop(_MODEL, None)
    return values if kind is None else Frozen(kind, values)
