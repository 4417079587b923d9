"""flags/guard.py without a deploy: which verdicts may try the flag, and a flag that cannot be turned
off leaving the rollback to happen (a real flag file, state store and lease under tmp_path)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from cicd.config.deploy import Verification
from cicd.deploy.gates import GateResult
from cicd.flags.guard import disable_instead
from cicd.hosts.local import LocalHost

OFF = {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
FLAGS = {"flags": {"quote-v2": OFF}}


class Recorded:
    def __init__(self, tmp_path, flag: str | None):
        settings = SimpleNamespace(
            verification=Verification(disable_flag=flag), state_path=".cicd/state/{environment}.db"
        )
        host = LocalHost("local", cwd=str(tmp_path))
        self.target = SimpleNamespace(
            environment="staging", settings=settings, hosts=[host], primary=host, base_dir=str(tmp_path)
        )
        self.run = SimpleNamespace(version="2.0.0", figures={})
        self.phases: list[tuple[str, str, str]] = []
        self.out = SimpleNamespace(phase=lambda status, name, message, seconds: self.phases.append(
            (status, name, message)))  # fmt: skip
        self.record = SimpleNamespace(phase=lambda *args: None)


def failed(phase: str = "Failed") -> GateResult:
    return GateResult(False, "error rate 100.0% > 5.0%", {}, None, phase)


@pytest.mark.parametrize(("flag", "phase"), [(None, "Failed"), ("quote-v2", "Error"), ("quote-v2", None)])
def test_only_a_failed_verdict_with_a_flag_named_tries_the_flag(tmp_path, flag, phase):
    runner: Any = Recorded(tmp_path, flag)
    assert disable_instead(runner, "green", failed(phase)) is None
    assert runner.phases == []  # nothing was touched


def test_a_flag_that_cannot_be_turned_off_leaves_the_rollback_to_happen(tmp_path):
    runner: Any = Recorded(tmp_path, "quote-v2")
    assert disable_instead(runner, "green", failed()) is None  # no flag file anywhere
    [(status, name, message)] = runner.phases
    assert (status, name) == ("fail", "disable-flag") and "rolling back 2.0.0" in message
    assert "no flags for staging" in message

    (tmp_path / "config" / "flags").mkdir(parents=True)
    (tmp_path / "config" / "flags" / "staging.json").write_text(json.dumps(FLAGS))
    assert disable_instead(runner, "green", failed()) is None  # off already: the code is the fault
    assert "was already off during the verification" in runner.phases[-1][2]
