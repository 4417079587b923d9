"""The config models' validators, built once and reused by later runs.

Building pydantic's validators for the config models costs more than validating a 200-job pipeline,
and every `cicd validate` would pay it again. Models declared with `defer_build=True` skip that work at
import; their validators are then kept in a pickle in the user's cache directory, next to the
SHA-256 of the source of every cicd module the validators refer to. A changed source, another
pydantic or Python version, or any error while reading or writing means the validator is simply built
as usual: the cache can make a run faster, never different.

The cache is the user's own, like the bytecode Python writes: it is used only when the current user
owns it and nobody else may write it. `CICD_CACHE_DIR` moves it; `CICD_CACHE_DIR=` (empty) turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import BaseModel

_FORMAT = 1
_loaded: dict[str, Any] | None = None  # the cache file's contents, read once per process


_validators: dict[str, Any] = {}
_built_from: dict[str, str | None] = {}  # module -> the sha256 of its source when validators were built


def validator(model: type[BaseModel]) -> Any:
    """`model`'s SchemaValidator, from the cache when it is current; built (and cached) otherwise."""
    key = f"{model.__module__}.{model.__qualname__}"
    if key not in _validators:
        _validators[key] = _cached(key) or _build(model, key)
    return _validators[key]


def _cached(key: str) -> Any:
    entry = _cache().get("validators", {}).get(key)
    if entry is None:
        return None
    try:
        return pickle.loads(entry)  # noqa: S301 - our own cache file, checked in _read
    except Exception:  # a stale or unreadable entry: build instead
        return None


def _build(model: type[BaseModel], key: str) -> Any:
    # The sources as they are now, before building: one edited while this runs must not be recorded
    # as the source of a validator built from its older text.
    for name in [name for name in sys.modules if name == "cicd" or name.startswith("cicd.")]:
        _built_from.setdefault(name, _source_hash(name))
    if not model.__pydantic_complete__:  # declared with defer_build: build it now
        model.model_rebuild()
    built = model.__pydantic_validator__
    _store(key, built)
    return built


def cache_file() -> Path | None:
    configured = os.environ.get("CICD_CACHE_DIR")
    if configured is not None:
        base = Path(configured) if configured else None
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "cicd"
    if base is None:
        return None
    version = f"py{sys.version_info[0]}{sys.version_info[1]}-core{pydantic_core.__version__}"
    return base / f"config-validators-{version}.pickle"


def _cache() -> dict[str, Any]:
    global _loaded
    if _loaded is None:
        _loaded = _read(cache_file())
    return _loaded


def _read(path: Path | None) -> dict[str, Any]:
    """The cache contents if the file is ours, private, of this format and its sources are unchanged."""
    try:
        if path is None or not _private(path):
            return {}
        data = pickle.loads(path.read_bytes())  # noqa: S301 - plain dict of str/bytes; owner checked
    except Exception:
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    if any(_source_hash(module) != digest for module, digest in data.get("sources", {}).items()):
        return {}
    return data


def _private(path: Path) -> bool:
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _source_hash(module_name: str) -> str | None:
    try:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        return hashlib.sha256(Path(module.__file__ or "").read_bytes()).hexdigest()
    except Exception:
        return None


def _store(key: str, built: Any) -> None:
    path = cache_file()
    if path is None:
        return
    with contextlib.suppress(Exception):  # no cache is fine; a failed write must never fail a run
        entry, modules = _dumps(built)
        data = dict(_cache()) or {"format": _FORMAT, "sources": {}, "validators": {}}
        built_from = {name: _built_from.get(name, _source_hash(name)) for name in modules}
        sources = {**data["sources"], **built_from}
        if None in sources.values():  # a source we cannot hash could change unnoticed: keep no cache
            return
        data = {"format": _FORMAT, "sources": sources, "validators": {**data["validators"], key: entry}}
        import tempfile  # only when writing: reading is the common case

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
            handle.write(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        os.chmod(handle.name, 0o600)
        os.replace(handle.name, path)
        global _loaded
        _loaded = data


def _dumps(built: Any) -> tuple[bytes, set[str]]:
    """Pickle a validator; also the cicd modules whose classes and functions it refers to."""
    import io

    buffer = io.BytesIO()
    pickler = _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dump(built)
    return buffer.getvalue(), pickler.modules


class _Pickler(pickle.Pickler):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.modules: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType)):
            module = getattr(obj, "__module__", "") or ""
            if module == "cicd" or module.startswith("cicd."):
                self.modules.add(module)
                if isinstance(obj, types.FunctionType) and "<" in obj.__qualname__:
                    reference = _default_factory_reference(obj)
                    if reference is not None:
                        return _default_factory, reference
        return NotImplemented


def _default_factory_reference(function: types.FunctionType) -> tuple[str, str, str] | None:
    """(module, class, field) of a model field whose default_factory is this lambda."""
    for name, value in vars(sys.modules[function.__module__]).items():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for field_name, field in value.model_fields.items():
                if field.default_factory is function:
                    return function.__module__, name, field_name
    return None


def _default_factory(module: str, class_name: str, field_name: str) -> Any:
    model = getattr(importlib.import_module(module), class_name)
    return model.model_fields[field_name].default_factory
