"""The validated-environment snapshot `cicd rollback` reads instead of validating again: the same
values as the models, refused when the file, pipeline.yml or the validating code changed, and a
rollback's loading that imports neither pydantic nor PyYAML."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cicd.cli.deploy import _target
from cicd.config import load_environment, snapshot
from cicd.errors import ConfigValidationError, UsageError

ENVIRONMENT = """\
name: staging
type: staging
url: http://127.0.0.1:18080
secrets: [API_TOKEN]
deploy:
  runtime:
    kind: process
    command: [python3, -m, app, --port, "{port}"]
    env: {MODE: fast, EMPTY: ""}
    secrets: [DB_PASSWORD]
  colors:
    blue: {port: 18091}
    green: {port: 18092}
  router: {kind: haproxy, listen: "127.0.0.1:18080", preview_listen: "127.0.0.1:18081"}
  smoke: [{name: version, path: /version}]
  hooks: {pre_deploy: [[echo, hi]]}
"""
PIPELINE = """\
name: app
secrets: [PIPELINE_TOKEN]
steps:
  - {name: test, command: "true"}
"""


def loaded(config_dir: Path, name: str = "staging", *, snapshot_first: bool = True):
    args = argparse.Namespace(env=name, config_dir=config_dir)
    return _target(args, from_snapshot=snapshot_first)


@pytest.fixture
def saved(config) -> Path:
    """A valid environment whose snapshot a full validation (as `cicd deploy` does) wrote."""
    config.write("environments/staging.yml", ENVIRONMENT)
    config.write("pipeline.yml", PIPELINE)
    loaded(config.root, snapshot_first=False)
    assert snapshot.snapshot_path(config.root, "staging").is_file()
    return config.root


def test_a_snapshot_holds_what_validation_gave(saved: Path):
    validated = load_environment(saved, "staging")
    result = snapshot.load(saved, "staging")
    assert result is not None
    env, pipeline_secrets = result
    assert pipeline_secrets == ("PIPELINE_TOKEN",)
    assert (env.name, env.type, env.url) == ("staging", "staging", "http://127.0.0.1:18080")
    assert env.secrets == ("API_TOKEN",)
    deploy, expected = env.deploy, validated.deploy
    assert deploy is not None and expected is not None
    assert deploy.runtime.env == {"MODE": "fast", "EMPTY": ""} and isinstance(deploy.runtime.env, dict)
    assert deploy.runtime.command == expected.runtime.command
    assert deploy.router.kind == "haproxy" and deploy.router.listen_port == 18080
    assert deploy.router.preview_port == 18081
    assert deploy.router.drain_timeout_seconds == expected.router.drain_timeout_seconds
    assert deploy.colors.green.port == 18092
    assert deploy.health.path == expected.health.path and deploy.health.host_header is None
    assert [check.path for check in deploy.smoke] == ["/version"]
    assert deploy.hooks.pre_deploy == [["echo", "hi"]]
    assert deploy.verification.window_seconds == expected.verification.window_seconds
    assert deploy.lock_ttl_seconds == expected.lock_ttl_seconds
    assert deploy.warm_seconds == expected.warm_seconds
    key = "deploy.colors.blue.port"
    assert env.locations[key].line == validated.locations[key].line
    with pytest.raises(AttributeError, match="frozen"):
        deploy.warm_seconds = 1  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        _ = deploy.nonsense  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "change",
    ["environment", "pipeline", "no pipeline", "code", "garbage", "format", "writable by others"],
)
def test_a_stale_or_unreadable_snapshot_is_not_used(saved: Path, change: str, monkeypatch):
    path = snapshot.snapshot_path(saved, "staging")
    if change == "environment":  # one byte more: the same settings, but not the bytes validated
        (saved / "environments" / "staging.yml").write_text(ENVIRONMENT + "\n")
    elif change == "pipeline":
        (saved / "pipeline.yml").write_text(PIPELINE.replace("PIPELINE_TOKEN", "OTHER_TOKEN"))
    elif change == "no pipeline":
        (saved / "pipeline.yml").unlink()
    elif change == "code":
        monkeypatch.setattr(snapshot, "code_digest", lambda: "0" * 64)
    elif change == "writable by others":
        path.chmod(0o666)
    elif change == "garbage":
        path.write_text(path.read_text()[:100])
    else:
        stored = json.loads(path.read_text())
        path.write_text(json.dumps({**stored, "format": 0}))
    assert snapshot.load(saved, "staging") is None


def test_rollback_validates_in_full_when_the_file_changed(saved: Path):
    """An edit that breaks the file after the snapshot was written is found, not skipped."""
    broken = ENVIRONMENT.replace("blue: {port: 18091}", "blue: {port: 99999}")
    (saved / "environments" / "staging.yml").write_text(broken)
    with pytest.raises(ConfigValidationError, match=r"deploy\.colors\.blue\.port"):
        loaded(saved)


def test_rollback_writes_the_snapshot_it_lacked(config):
    config.write("environments/staging.yml", ENVIRONMENT)
    assert snapshot.load(config.root, "staging") is None
    env, _ = loaded(config.root)
    assert env.deploy is not None and type(env.deploy).__name__ == "DeploySettings"
    assert snapshot.load(config.root, "staging") is not None


def test_a_name_is_never_a_path(saved: Path):
    with pytest.raises(UsageError):
        snapshot.load(saved, "../staging")


def test_a_dry_run_writes_no_snapshot(config, tmp_path: Path):
    config.write("environments/staging.yml", ENVIRONMENT)
    args = argparse.Namespace(env="staging", config_dir=config.root)
    _target(args, keep_snapshot=False)
    assert not snapshot.snapshot_path(config.root, "staging").exists()


def test_rollback_loading_imports_neither_pydantic_nor_yaml(saved: Path):
    """What makes the instant rollback instant: the target is built from the snapshot alone, and
    neither the checks nor the plan machinery (runner, steps, strategies) load before its switch."""
    script = textwrap.dedent(f"""
        import argparse, sys
        from pathlib import Path
        from cicd.cli.deploy import _target
        import cicd.deploy.rollback
        args = argparse.Namespace(env="staging", config_dir=Path({str(saved)!r}))
        env, target = _target(args, from_snapshot=True)
        assert target.router.__class__.__name__ == "HaproxyTrafficRouter", target.router
        slow = ("pydantic", "yaml", "cicd.checks", "cicd.deploy.runner", "cicd.deploy.steps")
        heavy = sorted(name for name in sys.modules if name.startswith(slow))
        print(type(env.deploy).__name__, heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Frozen []"


@pytest.mark.parametrize("command", ["deploy", "rollback"])
def test_an_environment_file_that_is_a_fifo_is_refused_located_not_read(config, command: str):
    """Digesting the inputs opens nothing but regular files: a FIFO would block the command forever."""
    fifo = config.root / "environments" / "staging.yml"
    fifo.unlink()
    os.mkfifo(fifo)
    script = textwrap.dedent(f"""
        import argparse
        from pathlib import Path
        from cicd.cli.deploy import _target
        from cicd.errors import ConfigValidationError
        args = argparse.Namespace(env="staging", config_dir=Path({str(config.root)!r}))
        try:
            _target(args, from_snapshot={command == "rollback"})
        except ConfigValidationError as err:
            print(err)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "staging.yml" in result.stdout and "not a regular file" in result.stdout
    assert not snapshot.snapshot_path(config.root, "staging").exists()
