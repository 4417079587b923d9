"""The state of a remote target lives on its primary host and is reached over real sshd: every runner
(here: separate SSHHost clients) sees the same lock, history and ledger."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from cicd import gha
from cicd.cli import main
from cicd.errors import CicdError, StateError
from cicd.state import LockHeldError, LockOwner, open_state

pytestmark = pytest.mark.integration


@pytest.fixture
def web(sshd_hosts):
    return sshd_hosts[0]


def remote_state(host, **kwargs):
    return open_state("staging", ".cicd/state/{environment}.db", host.ssh_host(), **kwargs)


def test_state_lives_on_the_primary_host_and_all_runners_share_it(web, tmp_path: Path) -> None:
    runner_a, runner_b = remote_state(web), remote_state(web)
    lock = runner_a.acquire_lock(LockOwner("alice", "runner-a", 11, "100"), 30, "deploy 1.0.0")
    deployment = runner_a.start_deployment("1.0.0", actor="alice", run_id="100", strategy="blue_green")
    runner_a.set_current(
        "1.0.0", color="blue", digest="sha256:abc", deployed_by="alice", deployment_id=deployment
    )
    runner_a.finish_deployment(
        deployment, "succeeded", phases=[{"name": "gate", "status": "ok", "seconds": 0.5}]
    )

    with pytest.raises(LockHeldError, match=r"locked by alice on runner-a \(pid 11, run 100\)"):
        runner_b.acquire_lock(LockOwner("bob", "runner-b", 22, "200"), 30, "deploy 1.1.0")
    assert runner_b.current().current_version == "1.0.0" and runner_b.current().locked
    assert runner_a.release(lock)
    assert (
        runner_b.acquire_lock(LockOwner("bob", "runner-b", 22, "200"), 30, "deploy 1.1.0").info.actor == "bob"
    )

    assert (web.home / ".cicd" / "state" / "staging.db").is_file()
    assert not (tmp_path / ".cicd").exists()
    assert [d.version for d in runner_b.history()] == ["1.0.0"]
    assert runner_b.verify_audit().ok and runner_b.verify_audit().entries == 3


def test_hostile_text_travels_as_data(web, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    reason = f'it\'s "quoted" $(touch {marker}) `touch {marker}`; rm -rf / \n\\x00 ✓ \'\'\' """'
    state = remote_state(web)
    deployment = state.start_deployment("1.0.0-rc.1+build.7", actor="alice", reason=reason)
    assert state.history()[0].reason == reason and state.history()[0].id == deployment
    assert state.audit_entries()[-1].reason == reason
    assert not marker.exists()


def test_tampering_on_the_host_is_reported_by_the_cli(web, tmp_path: Path, capsys, monkeypatch) -> None:
    config = tmp_path / "config" / "environments"
    config.mkdir(parents=True)
    spec = web.spec()
    (config / "staging.yml").write_text(
        textwrap.dedent(f"""\
        name: staging
        type: staging
        deploy:
          hosts:
            - {json.dumps(spec)}
          runtime: {{kind: process, command: [python3, app.py, "{{port}}"]}}
          colors: {{blue: {{port: 18191}}, green: {{port: 18192}}}}
          router: {{listen: "127.0.0.1:18190", preview_listen: "127.0.0.1:18193"}}
    """)
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setattr(gha, "_annotation_counts", {})  # annotations counted per process
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    assert main(["lock", "--env", "staging", "--reason", "freeze"]) == 0
    assert main(["unlock", "--env", "staging"]) == 0
    assert main(["audit", "verify", "--env", "staging"]) == 0
    assert "intact: 2 entries" in capsys.readouterr().out

    db = sqlite3.connect(web.home / ".cicd" / "state" / "staging.db")
    db.execute("DELETE FROM ledger WHERE seq = 1")
    db.commit()
    assert main(["audit", "verify", "--env", "staging"]) == 1
    assert "tampered with at seq 2" in capsys.readouterr().err
    assert main(["history", "--env", "staging"]) == 0


def test_unreachable_host_and_missing_python_are_one_line_errors(web) -> None:
    with pytest.raises(StateError, match="no-such-python is needed there"):
        remote_state(web, python="no-such-python").lock_info()

    state = remote_state(web)
    state.lock_info()
    web.cut_off()
    with pytest.raises(CicdError) as caught:
        remote_state(web).lock_info()
    assert "\n" not in str(caught.value)
    assert "cannot reach the state of staging on web-1" in str(caught.value)
