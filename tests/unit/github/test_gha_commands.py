"""Workflow commands: escaping, the 10-per-level annotation cap, the 1 MiB step summary cap."""

from __future__ import annotations

import io

import pytest

from cicd import gha


@pytest.fixture
def in_actions(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    gha.flush_annotation_overflow(io.StringIO())  # counts are per process (per step): start clean
    yield tmp_path
    gha.flush_annotation_overflow(io.StringIO())


@pytest.mark.parametrize(
    ("message", "escaped"),
    [("50% done", "50%25 done"), ("line1\nline2", "line1%0Aline2"), ("a\r\nb", "a%0D%0Ab"), ("x::y", "x::y")],
)
def test_message_escaping(message, escaped):
    assert gha.command("error", message) == f"::error::{escaped}"


def test_property_escaping_covers_colon_and_comma():
    line = gha.command("warning", "m", file="dir,a:b.py", line=3, title="50%\nx")
    assert line == "::warning file=dir%2Ca%3Ab.py,line=3,title=50%25%0Ax::m"


def test_nothing_is_emitted_outside_actions(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    gha.error("boom", file="a.py", line=1)
    gha.notice("fyi")
    assert capsys.readouterr().out == ""


def test_notice_warning_error_helpers(in_actions):
    out = io.StringIO()
    gha.annotate("notice", "deployed 1.2", stream=out)
    gha.annotate("warning", "slow", file="a.py", line=2, col=5, stream=out)
    assert out.getvalue().splitlines() == ["::notice::deployed 1.2", "::warning file=a.py,line=2,col=5::slow"]


def test_annotations_past_ten_per_level_become_log_lines_and_one_summary(in_actions):
    out = io.StringIO()
    for number in range(13):
        gha.annotate("error", f"e{number}", file="a.py", line=number + 1, stream=out)
    for number in range(11):
        gha.annotate("warning", f"w{number}", stream=out)
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning::") for line in lines) == 10
    assert "error: a.py:13: e12" in lines and "warning: w10" in lines
    summary = io.StringIO()
    gha.flush_annotation_overflow(summary)
    assert summary.getvalue() == (
        "::notice::3 more error messages, 1 more warning message not annotated "
        "(GitHub shows 10 per level per step); see the log\n"
    )


def test_step_summary_is_kept_under_one_mebibyte(in_actions):
    path = in_actions / "summary.md"
    assert gha.append_summary("# Report\n")
    assert gha.append_summary("é" * (gha.SUMMARY_LIMIT_BYTES // 2))  # two bytes each: over the limit
    data = path.read_bytes()
    assert len(data) <= gha.SUMMARY_LIMIT_BYTES
    assert data.startswith(b"# Report")
    assert data.decode("utf-8").endswith("the rest is in the log.\n")  # cut on a character boundary
    assert gha.append_summary("more")  # no room left: nothing more is written
    assert path.read_bytes() == data


def test_outputs_use_a_heredoc_delimiter(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    assert gha.set_output("notes", "line1\nline2")
    name, *body, end = (tmp_path / "out").read_text().splitlines()
    assert name.startswith("notes<<ghadelim_") and body == ["line1", "line2"] and end == name.split("<<")[1]
