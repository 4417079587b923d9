"""Free text and names from the command line, through the real entry point: a lock reason cannot forge
an annotation or garble a terminal (defect 8); `--env` is a name, never a path (defect 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cicd.cli import main

FORGED = "freeze\n::error title=Deploy refused::forged \x1b[31mred\x1b[0m \u202eevil"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config" / "environments").mkdir(parents=True)
    (tmp_path / "config" / "environments" / "scratch.yml").write_text("name: scratch\ntype: development\n")
    (tmp_path / "outside.yml").write_text("name: outside\ntype: development\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    return tmp_path


def test_a_lock_reason_cannot_forge_output_and_is_stored_clean(project: Path, capsys) -> None:
    assert main(["lock", "--env", "scratch", "--reason", FORGED]) == 0
    out, err = capsys.readouterr()
    assert "note: the reason is stored as" in err
    assert main(["lock", "--env", "scratch", "--reason", "again"]) == 1  # refused: shows the lock
    out, err = capsys.readouterr()
    shown = out + err
    assert "\x1b" not in shown and "\u202e" not in shown
    assert not any(line.startswith("::error title=Deploy refused") for line in shown.splitlines())
    assert "freeze ::error title=Deploy refused::forged \ufffd[31mred" in shown
    assert main(["unlock", "--env", "scratch", "--reason", "done;\tok"]) == 0
    capsys.readouterr()
    assert main(["audit", "show", "--env", "scratch", "--json"]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reasons = [entry["reason"] for entry in entries if entry["action"].startswith("lock.")]
    assert len(reasons) == 2 and reasons[1] == "done; ok"
    assert reasons[0].startswith("freeze ::error title=Deploy refused::forged \ufffd[31mred")
    assert all("\x1b" not in r and "\n" not in r and "\u202e" not in r for r in reasons)


@pytest.mark.parametrize("name", ["../outside", "../../x", "/etc/passwd"])
def test_env_takes_names_only(project: Path, capsys, name: str) -> None:
    assert main(["history", "--env", name]) == 2
    err = capsys.readouterr().err
    assert f"invalid environment name {name!r}" in err and len(err.strip().splitlines()) == 1


def test_a_dirty_reason_stored_by_an_older_version_is_shown_clean(project: Path, capsys) -> None:
    import sqlite3

    assert main(["lock", "--env", "scratch", "--reason", "placeholder"]) == 0
    db = sqlite3.connect(project / ".cicd" / "state" / "scratch.db")
    with db:
        db.execute("UPDATE lock SET reason = ?", (FORGED,))
    db.close()
    capsys.readouterr()
    assert main(["lock", "--env", "scratch", "--reason", "again"]) == 1
    shown = "".join(capsys.readouterr())
    assert "\x1b" not in shown and "\u202e" not in shown and "\n::error" not in shown
    assert "freeze ::error title=Deploy refused::forged \ufffd[31mred" in shown
