"""The ledger's anchor beside the router config (real SQLite state, real files through LocalHost): a lost
or rewritten chain, a forged or unsigned anchor and an unknown external head are each found; the
fencing token refuses writes of a run whose lock was forced away; an isolated command sees nothing of
the deployer's environment; step outputs and summaries hold no registered secret."""

from __future__ import annotations

import json

import pytest
import yaml

from cicd.config import load_environment
from cicd.deploy import anchor, isolation
from cicd.deploy.record import open_record
from cicd.deploy.target import build_target
from cicd.hosts.local import LocalHost
from cicd.state import LockOwner
from cicd.state.client import LockLostError

KEY = "ledger-key-for-tests-0123456789"


@pytest.fixture
def target_and_record(tmp_path):
    deploy = {
        "runtime": {"kind": "process", "command": ["true"]},
        "colors": {"blue": {"port": 20001}, "green": {"port": 20002}},
        "router": {"listen": "127.0.0.1:20003", "preview_listen": "127.0.0.1:20004"},
    }
    env_dir = tmp_path / "config" / "environments"
    env_dir.mkdir(parents=True)
    environment = {"name": "staging", "type": "staging", "deploy": deploy}
    (env_dir / "staging.yml").write_text(yaml.safe_dump(environment))
    env = load_environment(tmp_path / "config", "staging")
    target = build_target(env, base_dir=str(tmp_path))
    record = open_record(target, env)
    for number in range(3):
        record.audit({"action": "test.entry", "outcome": "ok", "details": {"n": number}})
    return target, record


def _anchor_file(target):
    host = target.primary
    return target.router.prefix(host) + "/" + anchor.ANCHOR_FILE


def test_an_intact_chain_matches_its_signed_anchor_and_a_known_external_head(target_and_record, monkeypatch):
    target, record = target_and_record
    monkeypatch.setenv(anchor.KEY_VARIABLE, KEY)
    head = record.ledger_head()
    anchor.write(target, head)
    assert head["seq"] == 3 and len(head["hash"]) == 64
    assert anchor.problems(target, record) == []
    assert anchor.problems(target, record, head["hash"]) == []
    assert "no entry with hash" in anchor.problems(target, record, "f" * 64)[0]


def test_a_forged_or_unsigned_anchor_fails_when_the_key_is_set(target_and_record, monkeypatch):
    target, record = target_and_record
    anchor.write(target, record.ledger_head())  # written without a key
    monkeypatch.setenv(anchor.KEY_VARIABLE, KEY)
    assert "not signed" in anchor.problems(target, record)[0]
    path = _anchor_file(target)
    forged = json.loads(LocalHost().get(path) or b"{}")
    forged["mac"] = anchor.sign(b"a guessed key", "staging", forged["seq"], forged["hash"])
    LocalHost().put(path, json.dumps(forged).encode())
    assert "MAC" in anchor.problems(target, record)[0]


def test_a_deleted_database_or_a_rewritten_entry_is_found(target_and_record, tmp_path):
    target, record = target_and_record
    anchor.write(target, record.ledger_head())
    for path in (tmp_path / ".cicd" / "state").glob("staging.db*"):
        path.unlink()
    assert "deleted, truncated or replaced" in anchor.problems(target, record)[0]
    for number in range(3):  # a new chain as long as the old one: same seq, another hash
        record.audit({"action": "forged.entry", "outcome": "ok", "details": {"n": number}})
    assert "was rewritten" in anchor.problems(target, record)[0]
    anchor.reconcile(target, record, _Silent())
    assert [entry.action for entry in record.state.audit_entries(1)] == ["ledger.gap"]


def test_writes_of_a_run_whose_lock_was_forced_away_are_refused(target_and_record):
    _, record = target_and_record
    with record.lock(owner="a", reason="deploy 1", ttl=30, wait=False):
        record.audit({"action": "while.held", "outcome": "ok"})
        record.state.force_unlock("stuck", actor="on-call")
        with pytest.raises(LockLostError):
            record.check()
        with pytest.raises(LockLostError):
            record.audit({"action": "after.loss", "outcome": "refused"})
    actions = [entry.action for entry in record.state.audit_entries(10)]
    assert "while.held" in actions and "lock.force_release" in actions and "after.loss" not in actions
    lock = record.state.acquire_lock(LockOwner.current(), 30, "next")
    assert lock.token.split(".")[0] == "2"  # the generation moved on


def test_an_isolated_command_sees_only_what_it_is_given(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_from_the_deployer")
    argv = isolation.isolated(["sh", "-c", "env; cat"], on_stdin=True)
    shown = LocalHost().run(argv, input=isolation.exports({"APP": "it's $(not run)\nline 2"})).stdout
    names = {line.split("=", 1)[0] for line in shown.splitlines() if "=" in line}
    assert names <= {"APP", "PATH", "HOME", "LANG", "PWD"}
    assert "it's $(not run)\nline 2" in shown and "ghp_from_the_deployer" not in shown
    with pytest.raises(Exception, match="invalid environment variable name"):
        isolation.exports({"BAD NAME": "x"})


class _Silent:
    def phase(self, *args, **kwargs) -> None:
        pass


def test_step_outputs_and_the_summary_never_hold_a_registered_secret(tmp_path, monkeypatch):
    from cicd import gha, secrets

    secrets.register("summary-secret-8c1f")
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.setenv(name, str(tmp_path / name))
    assert gha.set_output("result", "failed: summary-secret-8c1f printed by a hook")
    assert gha.append_summary("| result | summary-secret-8c1f |")
    written = (tmp_path / "GITHUB_OUTPUT").read_text() + (tmp_path / "GITHUB_STEP_SUMMARY").read_text()
    assert "summary-secret-8c1f" not in written and written.count("***") == 2
