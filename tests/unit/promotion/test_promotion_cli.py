"""`cicd promotion`: one line with the fix when the environment has no promotion, the hands-off mode read
from the file alone (the scheduled workflow's first job), and a resume that needs approval like a deploy."""

from __future__ import annotations

from pathlib import Path

from cicd.cli import main

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"
PRODUCTION = """\
name: production
type: production
approval: {{required: true}}
deploy:
  runtime: {{kind: process, command: [app, "{{port}}"]}}
  colors: {{blue: {{port: 9001}}, green: {{port: 9002}}}}
  state_path: {state}
  promotion: {{steps: [5], automatic: {automatic}}}
"""


def write(tmp_path: Path, automatic: str) -> Path:
    (tmp_path / "environments").mkdir(exist_ok=True)
    text = PRODUCTION.format(automatic=automatic, state=tmp_path / "state.db")
    (tmp_path / "environments" / "production.yml").write_text(text)
    return tmp_path


def test_an_environment_without_a_promotion_block_is_one_line_with_the_fix(capsys):
    argv = ["promotion", "start", "--env", "production", "--version", "1.0", "--config-dir", str(REPO_CONFIG)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: production has no promotion: block")
    assert "add deploy.promotion to" in err and len(err.splitlines()) == 1


def test_mode_reads_automatic_from_the_file_alone(tmp_path, monkeypatch, capsys):
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    config = write(tmp_path, "true")
    assert main(["promotion", "mode", "--env", "production", "--config-dir", str(config)]) == 0
    assert "automatic<<" in output.read_text() and "\ntrue\n" in output.read_text()
    assert "promotion automatic: true" in capsys.readouterr().out
    assert not (tmp_path / "state.db").exists()  # no state was touched (no host, no secret needed)


def test_resume_needs_approval_outside_actions_unless_hands_off(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    config = write(tmp_path, "false")
    argv = ["promotion", "resume", "--env", "production", "--config-dir", str(config), "--reason", "fine"]
    assert main(argv) == 1
    assert "production requires approval" in capsys.readouterr().err
    write(tmp_path, "true")  # hands-off: nothing to approve, so it gets as far as the (empty) state
    assert main(argv) == 1
    assert "no promotion recorded" in capsys.readouterr().err


def test_start_needs_approval_outside_actions_unless_hands_off(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    config = write(tmp_path, "false")
    missing = str(tmp_path / "no-such-artifact")
    argv = ["promotion", "start", "--env", "production", "--version", "2.0", "--config-dir", str(config)]
    assert main([*argv, "--artifact", missing]) == 1
    assert "production requires approval" in capsys.readouterr().err
    write(tmp_path, "true")  # hands-off: nothing to approve, so it gets as far as the artifact
    assert main([*argv, "--artifact", missing]) == 1
    err = capsys.readouterr().err
    assert "requires approval" not in err and "no-such-artifact not found" in err, err


def test_abort_while_an_advance_holds_the_lock_fails_at_once_or_waits_with_wait(tmp_path, capsys):
    """On call aborts at the moment a scheduled advance holds the lock: one line whose hint (--wait)
    works, and with --wait the abort goes on as soon as the lock is free."""
    import threading

    from cicd.hosts.local import LocalHost
    from cicd.state import LockOwner, open_state

    config = write(tmp_path, "false")
    store = open_state("production", str(tmp_path / "state.db"), LocalHost(cwd=str(tmp_path)))
    argv = ["promotion", "abort", "--env", "production", "--config-dir", str(config), "--reason", "bad"]
    held = store.locked(LockOwner.current("scheduler"), ttl_seconds=30, reason="advance the promotion")
    held.__enter__()
    releaser = threading.Timer(1.0, held.__exit__, (None, None, None))
    try:
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: production is locked by") and "wait with --wait" in err, err
        assert len(err.splitlines()) == 1
        releaser.start()
        assert main([*argv, "--wait"]) == 1  # it got the lock: the (empty) state is what stops it now
        assert "no promotion recorded" in capsys.readouterr().err
    finally:
        if releaser.ident is None:
            held.__exit__(None, None, None)
        else:
            releaser.join()
