"""`cicd lock`, `unlock`, `audit verify|show` and `history` against a config directory under tmp_path."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from cicd import gha
from cicd.cli import main

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root with the repository's environments; the state lands under its .cicd/."""
    shutil.copytree(REPO_CONFIG / "environments", tmp_path / "config" / "environments")
    (tmp_path / "config" / "environments" / "scratch.yml").write_text("name: scratch\ntype: development\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")  # the actor is GitHub's only inside Actions
    # Actions mode counts annotations per process: these tests' own must not use up other tests' quota
    monkeypatch.setattr(gha, "_annotation_counts", {})
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    return tmp_path


def cicd(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_lock_then_unlock_by_its_owner(project: Path, capsys) -> None:
    code, out, _ = cicd(capsys, "lock", "--env", "staging", "--reason", "incident 42: freeze")
    assert code == 0
    assert "staging is locked by alice" in out and "incident 42: freeze" in out and "no expiry" in out
    assert (project / ".cicd" / "state" / "staging.db").is_file()

    code, _, err = cicd(capsys, "lock", "--env", "staging", "--reason", "again")
    assert code == 1 and err.count("\n") == 1 and "staging is locked by alice" in err

    code, out, _ = cicd(capsys, "unlock", "--env", "staging", "--reason", "incident over")
    assert code == 0 and "released the lock on staging held by alice" in out
    code, out, _ = cicd(capsys, "unlock", "--env", "staging")
    assert code == 0 and "staging is not locked" in out


def test_only_the_owner_unlocks_without_force_and_force_needs_a_reason(
    project: Path, capsys, monkeypatch
) -> None:
    assert cicd(capsys, "lock", "--env", "production", "--reason", "release freeze")[0] == 0
    monkeypatch.setenv("GITHUB_ACTOR", "bob")

    code, _, err = cicd(capsys, "unlock", "--env", "production")
    assert code == 1 and "only alice may unlock it" in err and "--force --reason" in err
    code, _, err = cicd(capsys, "unlock", "--env", "production", "--force")
    assert code == 2 and "--force needs --reason" in err

    code, out, _ = cicd(capsys, "unlock", "--env", "production", "--force", "--reason", "alice is away")
    assert code == 0 and "forced the lock on production held by alice" in out
    code, out, _ = cicd(capsys, "audit", "show", "--env", "production", "--json")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [(e["action"], e["actor"], e["reason"]) for e in entries] == [
        ("lock.hold", "alice", "release freeze"),
        ("lock.force_release", "bob", "alice is away"),
    ]


def test_audit_verify_exits_1_naming_the_tampered_seq(project: Path, capsys) -> None:
    cicd(capsys, "lock", "--env", "staging", "--reason", "one")
    cicd(capsys, "unlock", "--env", "staging")
    code, out, _ = cicd(capsys, "audit", "verify", "--env", "staging")
    assert code == 0 and "ledger of staging intact: 2 entries" in out

    db = sqlite3.connect(project / ".cicd" / "state" / "staging.db")
    db.execute("UPDATE ledger SET body = replace(body, 'one', 'two') WHERE seq = 1")
    db.commit()
    code, _, err = cicd(capsys, "audit", "verify", "--env", "staging")
    assert code == 1
    assert "ledger of staging has been tampered with at seq 1: its hash does not match its content" in err


def test_history_table_and_json(project: Path, capsys) -> None:
    from cicd.state import open_state

    state = open_state("staging", str(project / ".cicd" / "state" / "{environment}.db"))
    deployment = state.start_deployment("1.2.0", actor="alice", run_id="555", reason="ship it")
    state.finish_deployment(
        deployment, "succeeded", phases=[{"name": "switch", "status": "ok", "seconds": 0.1}]
    )

    code, out, _ = cicd(capsys, "history", "--env", "staging")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:5] == ["ID", "STARTED", "(UTC)", "KIND", "VERSION"]
    assert "1.2.0" in row and "succeeded" in row and "alice (run 555)" in row and "ship it" in row

    code, out, _ = cicd(capsys, "history", "--env", "staging", "--json", "--limit", "5")
    [record] = json.loads(out)
    assert record["version"] == "1.2.0" and record["phases"][0]["name"] == "switch"


def test_an_environment_without_a_deploy_block_uses_the_default_path(project: Path, capsys) -> None:
    code, out, _ = cicd(capsys, "history", "--env", "scratch")
    assert code == 0 and "no deployments recorded for scratch yet" in out
    assert (project / ".cicd" / "state" / "scratch.db").is_file()


def test_unknown_environment_is_one_line(project: Path, capsys) -> None:
    for argv in (["history"], ["lock", "--reason", "x"], ["unlock"], ["audit", "verify"]):
        code, _, err = cicd(capsys, *argv, "--env", "nowhere")
        assert code == 1
        assert err.count("\n") == 1 and "no environment 'nowhere'" in err and "staging" in err


def test_bad_arguments_are_usage_errors(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["history", "--env", "staging", "--limit", "0"])
    assert caught.value.code == 2
    code, _, err = cicd(capsys, "lock", "--env", "staging", "--reason", "  ")
    assert code == 2 and "--reason must say why" in err


def test_outside_actions_the_lock_owner_is_the_process_account_and_may_unlock(
    project: Path, capsys, monkeypatch
) -> None:
    import os
    import pwd
    import socket

    monkeypatch.delenv("GITHUB_ACTIONS")
    monkeypatch.setenv("USER", "dana")  # anyone can set these; the records must not believe them
    monkeypatch.setenv("LOGNAME", "dana")
    account = f"{pwd.getpwuid(os.geteuid()).pw_name}@{socket.gethostname()}"
    code, out, _ = cicd(capsys, "lock", "--env", "staging", "--reason", "freeze")
    assert code == 0 and f"locked by {account}" in out
    code, out, _ = cicd(capsys, "unlock", "--env", "staging")
    assert code == 0 and f"released the lock on staging held by {account}" in out
    code, out, _ = cicd(capsys, "audit", "show", "--env", "staging", "--json")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [(e["actor"], e["identity"]["kind"]) for e in entries] == [(account, "local")] * 2
    code, out, _ = cicd(capsys, "audit", "show", "--env", "staging")
    assert "IDENTITY" in out.splitlines()[0] and f"{account}  local" in out
