"""The validator cache: same results as building, and ignored whenever it might be stale or unsafe."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from cicd.config import compiled
from cicd.config.models import Environment, Pipeline
from cicd.config.source import load_document

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("CICD_CACHE_DIR", str(directory))
    fresh_process_state()
    yield directory
    fresh_process_state()


def fresh_process_state():
    compiled._loaded = None
    compiled._validators.clear()
    compiled._built_from.clear()


def repo_data(relative: str):
    return load_document(REPO / relative, relative).data


def test_cached_validator_gives_the_same_models(cache_dir):
    built = compiled.validator(Pipeline)
    assert compiled.cache_file() is not None and compiled.cache_file().is_file()
    fresh_process_state()
    cached = compiled.validator(Pipeline)
    assert cached is not built
    data = repo_data("config/pipeline.yml")
    assert cached.validate_python(data) == Pipeline.model_validate(data)
    environment = repo_data("config/environments/staging.yml")
    assert compiled.validator(Environment).validate_python(environment) == Environment.model_validate(
        environment
    )


def test_cached_validator_reports_the_same_errors(cache_dir):
    compiled.validator(Environment)
    fresh_process_state()
    bad = {"name": "x", "type": "qa", "deploy": {"runtime": {"kind": "process", "command": []}}}
    with pytest.raises(ValidationError) as from_cache:
        compiled.validator(Environment).validate_python(bad)
    with pytest.raises(ValidationError) as from_model:
        Environment.model_validate(bad)
    assert from_cache.value.errors(include_url=False) == from_model.value.errors(include_url=False)


def test_cache_records_the_sources_it_depends_on(cache_dir):
    compiled.validator(Environment)
    data = pickle.loads(compiled.cache_file().read_bytes())
    assert {"cicd.config.models", "cicd.config.deploy"} <= set(data["sources"])


def test_changed_source_invalidates_the_cache(cache_dir):
    compiled.validator(Pipeline)
    path = compiled.cache_file()
    data = pickle.loads(path.read_bytes())
    data["sources"]["cicd.config.models"] = "0" * 64
    path.write_bytes(pickle.dumps(data))
    assert compiled._read(path) == {}


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps(["wrong", "shape"])])
def test_unreadable_cache_is_ignored(cache_dir, content):
    compiled.validator(Pipeline)
    compiled.cache_file().write_bytes(content)
    fresh_process_state()
    assert compiled.validator(Pipeline).validate_python({"name": "x", "steps": []}).name == "x"


def test_cache_writable_by_others_is_ignored(cache_dir):
    compiled.validator(Pipeline)
    path = compiled.cache_file()
    assert compiled._read(path) != {}
    os.chmod(path, 0o666)
    assert compiled._read(path) == {}


def test_empty_cache_dir_setting_turns_the_cache_off(monkeypatch):
    monkeypatch.setenv("CICD_CACHE_DIR", "")
    fresh_process_state()
    assert compiled.cache_file() is None
    assert compiled.validator(Pipeline).validate_python({"name": "x", "steps": []}).name == "x"
    fresh_process_state()


def test_unwritable_cache_dir_is_harmless(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CICD_CACHE_DIR", str(blocker / "cache"))
    fresh_process_state()
    assert compiled.validator(Pipeline).validate_python({"name": "x", "steps": []}).name == "x"
    fresh_process_state()


def test_second_process_validates_from_the_cache(cache_dir):
    env = {**os.environ, "CICD_CACHE_DIR": str(cache_dir)}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "cicd", "validate"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, "")
    assert sorted(path.name.split("-")[0] for path in cache_dir.iterdir()) == ["config"]


def test_a_source_edited_while_validators_are_built_leaves_no_current_looking_cache(cache_dir, monkeypatch):
    """The cache names the source a validator was built from, not the file as it is when written."""
    real = compiled._source_hash
    edited: set[str] = set()
    monkeypatch.setattr(compiled, "_source_hash", lambda name: "edited" if name in edited else real(name))
    rebuild = Environment.model_rebuild

    def edit_while_building(*args, **kwargs):
        edited.add(Environment.__module__)  # someone saves the file while this process builds
        return rebuild(*args, **kwargs)

    monkeypatch.setattr(Environment, "__pydantic_complete__", False)
    monkeypatch.setattr(Environment, "model_rebuild", edit_while_building)
    compiled.validator(Environment)
    stored = pickle.loads(compiled.cache_file().read_bytes())
    assert stored["sources"][Environment.__module__] != "edited"  # the text it was built from
    fresh_process_state()
    assert compiled._read(compiled.cache_file()) == {}  # so the edited source makes the cache stale
