"""The request/answer protocol between the client and the store, and its failure paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cicd.errors import StateError
from cicd.hosts.local import LocalHost
from cicd.state import open_state
from cicd.state import store as store_package
from cicd.state.client import parse_answer, remote_program


def run_program(request: dict, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-", str(db)],
        input=remote_program(request),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_remote_program_answers_one_marked_line(tmp_path: Path) -> None:
    done = run_program(
        {
            "op": "audit_append",
            "environment": "staging",
            "args": {"entry": {"action": "note", "reason": "x\"\"\"\n'''\\"}},
        },
        tmp_path / "s.db",
    )
    assert done.returncode == 0, done.stderr
    answer = parse_answer(done.stdout)
    assert answer["ok"] is True and answer["result"]["reason"] == "x\"\"\"\n'''\\"
    assert answer["result"]["seq"] == 1


def test_parse_answer_skips_banners_and_rejects_garbage() -> None:
    mark = store_package.ANSWER_MARK
    assert parse_answer(f'Welcome to web-1\n{mark}{{"ok": true, "result": 3}}\n') == {"ok": True, "result": 3}
    assert parse_answer("Welcome\n") is None
    assert parse_answer(f"{mark}not json\n") is None
    assert parse_answer(f"{mark}[1, 2]\n") is None


@pytest.mark.parametrize(
    ("request_", "kind"),
    [
        ({"op": "drop_tables", "environment": "staging"}, "bad_request"),
        ({"environment": "staging"}, "bad_request"),
        ({"op": "history", "environment": "staging", "args": {"no_such_argument": 1}}, "bad_request"),
        (
            {"op": "audit_append", "environment": "staging", "args": {"entry": {"reason": "no action"}}},
            "bad_request",
        ),
    ],
)
def test_malformed_requests_are_refused(tmp_path: Path, request_: dict, kind: str) -> None:
    answer = store_package.handle(str(tmp_path / "s.db"), request_)
    assert answer["ok"] is False and answer["error"]["kind"] == kind


def test_a_file_that_is_not_a_database_is_a_one_line_state_error(tmp_path: Path) -> None:
    path = tmp_path / "staging.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError) as caught:
        open_state("staging", str(path)).history()
    message = str(caught.value)
    assert "\n" not in message and "staging" in message and str(path) in message


def test_an_unwritable_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(StateError, match="state of staging"):
        open_state("staging", str(blocker / "state" / "staging.db")).lock_info()


def test_relative_paths_resolve_against_the_local_host_directory(tmp_path: Path) -> None:
    for in_process in (True, False):
        state = open_state(
            "staging", "nested/{environment}.db", LocalHost(cwd=str(tmp_path)), in_process=in_process
        )
        state.append_audit({"action": "note"})
    assert (tmp_path / "nested" / "staging.db").is_file()
    assert open_state("staging", str(tmp_path / "nested" / "staging.db")).verify_audit().entries == 2


def test_a_remote_side_that_crashes_is_reported_with_its_output(tmp_path: Path) -> None:
    state = open_state(
        "staging", str(tmp_path / "s.db"), LocalHost(), in_process=False, python=str(tmp_path / "fake-python")
    )
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'Traceback: it broke' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(StateError, match="did not answer: Traceback: it broke"):
        state.lock_info()
