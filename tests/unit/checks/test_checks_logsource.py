"""Following a log file by offset, on real files: the local follower and the command-based one
(run here through LocalHost, the same commands an SSH host runs)."""

from __future__ import annotations

import os

import pytest

from cicd.checks.logsource import FileLogSource, LineSplitter, LogUnavailableError, complete_tail_lines
from cicd.checks.remote import HostLogSource, log_source_for, parse_read_output, read_argv
from cicd.hosts.local import LocalHost


@pytest.fixture(params=["file", "host"])
def make_source(request):
    def make(path):
        return FileLogSource(str(path)) if request.param == "file" else HostLogSource(LocalHost(), str(path))

    return make


def append(path, text: str) -> None:
    with open(path, "a") as handle:
        handle.write(text)


def test_only_lines_written_after_seek_end(tmp_path, make_source):
    log = tmp_path / "access.log"
    log.write_text("old 1\nold 2\n")
    source = make_source(log)
    source.seek_end()
    assert source.read_new() == []
    append(log, "new 1\nnew 2\n")
    assert source.read_new() == ["new 1", "new 2"]
    assert source.read_new() == []


def test_a_partial_line_waits_for_its_newline(tmp_path, make_source):
    log = tmp_path / "access.log"
    log.write_text("")
    source = make_source(log)
    source.seek_end()
    append(log, "first\nsec")
    assert source.read_new() == ["first"]
    append(log, "ond\n")
    assert source.read_new() == ["second"]


def test_rotation_by_rename_moves_to_the_new_file(tmp_path, make_source):
    log = tmp_path / "access.log"
    log.write_text("before\n")
    source = make_source(log)
    source.seek_end()
    append(log, "a\n")
    os.rename(log, tmp_path / "access.log.1")
    log.write_text("b\n")
    lines = source.read_new()
    assert "b" in lines
    append(log, "c\n")
    assert source.read_new() == ["c"]


def test_local_follower_still_reads_the_rotated_file_nginx_writes_until_reopen(tmp_path):
    log = tmp_path / "access.log"
    log.write_text("")
    source = FileLogSource(str(log))
    source.seek_end()
    rotated = tmp_path / "access.log.1"
    os.rename(log, rotated)
    append(rotated, "late 1\n")  # nginx has not reopened yet
    assert source.read_new() == ["late 1"]
    log.write_text("new 1\n")  # reopen created the new file
    append(rotated, "late 2\n")
    assert sorted(source.read_new()) == ["late 2", "new 1"]


def test_truncation_in_place_starts_over(tmp_path, make_source):
    log = tmp_path / "access.log"
    log.write_text("x" * 100 + "\n")
    source = make_source(log)
    source.seek_end()
    with open(log, "r+") as handle:
        handle.truncate(0)
    append(log, "after truncate\n")
    assert source.read_new() == ["after truncate"]


def test_missing_log_is_unavailable_and_read_from_its_start_once_it_exists(tmp_path, make_source):
    log = tmp_path / "access.log"
    source = make_source(log)
    with pytest.raises(LogUnavailableError, match="does not exist"):
        source.seek_end()
    with pytest.raises(LogUnavailableError, match="does not exist"):
        source.read_new()
    log.write_text("one\n")
    assert source.read_new() == ["one"]


def test_unreadable_log_names_the_file(tmp_path):
    source = FileLogSource(str(tmp_path))  # a directory: open works, reading does not
    source.seek_end()
    with pytest.raises(LogUnavailableError, match=f"access log {tmp_path} cannot be read"):
        source.read_new()


def test_read_recent_returns_whole_lines_only(tmp_path, make_source):
    log = tmp_path / "access.log"
    log.write_text("line 1\nline 2\nline 3\npartial")
    source = make_source(log)
    assert source.read_recent(1 << 20) == ["line 1", "line 2", "line 3"]
    assert source.read_recent(16) == ["line 3"]  # the cut "2\n" is dropped, and "partial"


def test_line_splitter_and_tail_helpers():
    splitter = LineSplitter()
    assert splitter.feed(b"a\nb") == ["a"]
    assert splitter.feed(b"") == []
    assert splitter.feed(b"\n") == ["b"]
    assert complete_tail_lines(b"cut\nwhole\nhalf", from_start=False) == ["whole"]
    assert complete_tail_lines(b"whole\n", from_start=True) == ["whole"]
    assert complete_tail_lines(b"no newline", from_start=True) == []


def test_remote_read_command_passes_values_as_arguments():
    argv = read_argv("/var/log/a b;rm -rf /.log", 41, 100)
    assert argv[:2] == ["sh", "-c"] and "rm" not in argv[2]
    assert argv[4:] == ["/var/log/a b;rm -rf /.log", "42", "100"]
    chunk = parse_read_output("1234 5678\nline\n")
    assert (chunk.inode, chunk.size, chunk.data) == (1234, 5678, b"line\n")
    with pytest.raises(ValueError):
        parse_read_output("stat: cannot stat\n")


def test_local_hosts_get_the_file_follower(tmp_path):
    assert isinstance(log_source_for(LocalHost(), str(tmp_path / "a.log")), FileLogSource)
