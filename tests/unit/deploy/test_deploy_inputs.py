"""/proc parsers; LocalHost (inputs that reach argv, file names and the ledger: tests/unit/test_inputs.py)."""

from __future__ import annotations

import pytest

from cicd.errors import HostError
from cicd.hosts.local import LocalHost
from cicd.hosts.procfs import parse_listening_ports, parse_stat_state

TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:46A4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:46A5 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1
"""


def test_listening_ports_only_listen_state():
    assert parse_listening_ports(TCP) == {0x46A4}


def test_stat_state_with_spaces_and_parens_in_the_name():
    assert parse_stat_state("123 (python3 (x) y) S 1 123 123 0") == "S"
    assert parse_stat_state("124 (zombie) Z 1 124") == "Z"
    assert parse_stat_state("garbage") is None


def test_local_host_put_is_atomic_and_get_missing_is_none(tmp_path):
    host = LocalHost(cwd=str(tmp_path))
    host.put("a/b/file.txt", b"one", mode=0o600)
    assert host.get("a/b/file.txt") == b"one"
    assert oct((tmp_path / "a/b/file.txt").stat().st_mode & 0o777) == "0o600"
    assert host.get("missing") is None
    assert not [p for p in (tmp_path / "a/b").iterdir() if p.name.startswith(".")]


def test_local_host_run_errors_are_one_line(tmp_path):
    host = LocalHost(cwd=str(tmp_path))
    assert host.run(["sh", "-c", "echo $X", "sh"], env={"X": "from env"}).stdout == "from env\n"
    with pytest.raises(HostError, match="exited 3: boom"):
        host.run(["sh", "-c", "echo boom >&2; exit 3"])
    with pytest.raises(HostError, match=r"timed out after 0\.3s"):
        host.run(["sleep", "5"], timeout=0.3)
    with pytest.raises(HostError, match="cannot run"):
        host.run(["/nonexistent/binary"])
    assert not host.run(["false"], check=False).ok
