"""SSHHost against real sshd hosts on loopback addresses (and one in a network namespace)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from cicd.errors import HostError

pytestmark = pytest.mark.integration

HOSTILE = ["a b", "$(touch pwned)", "x;touch pwned", "'", '"', "*", "", "line\nbreak", "-n", "~", "\\"]


def test_argv_reaches_the_remote_program_exactly(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    script = "import json, sys; print(json.dumps(sys.argv[1:]))"
    result = host.run([sys.executable, "-c", script, *HOSTILE])
    assert json.loads(result.stdout) == HOSTILE
    assert not (sshd_hosts[0].home / "pwned").exists()


def test_env_and_stdin_reach_the_command(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    result = host.run(["sh", "-c", 'printf "%s|" "$GREETING"; cat'], input="from stdin\n",
                      env={"GREETING": "hello; $(world)"})
    assert result.stdout == "hello; $(world)|from stdin\n"


def test_each_host_has_its_own_login_directory(sshd_hosts):
    first, second = (spec.ssh_host() for spec in sshd_hosts)
    assert first.cwd == str(sshd_hosts[0].home)
    assert second.cwd == str(sshd_hosts[1].home)


def test_a_failing_command_names_host_command_and_stderr(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    with pytest.raises(HostError) as err:
        host.run(["ls", "/no/such/dir"])
    message = str(err.value)
    assert message.startswith("web-1: `ls /no/such/dir` exited 2:") and "No such file" in message
    assert "\n" not in message


def test_exit_255_of_the_remote_command_is_not_an_unreachable_host(sshd_hosts):
    result = sshd_hosts[0].ssh_host().run(["sh", "-c", "echo oops >&2; exit 255"], check=False)
    assert result.returncode == 255 and result.stderr == "oops\n"


def test_put_and_get_round_trip_binary_files_atomically(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    data = bytes(range(256)) * 1000
    host.put("deep/er/file with spaces.bin", data, mode=0o600)
    assert host.get("deep/er/file with spaces.bin") == data
    local = sshd_hosts[0].home / "deep" / "er"
    assert oct((local / "file with spaces.bin").stat().st_mode & 0o777) == "0o600"
    assert os.listdir(local) == ["file with spaces.bin"]  # no temp file left behind
    host.put("deep/er/file with spaces.bin", b"new")
    assert host.get("deep/er/file with spaces.bin") == b"new"


def test_get_of_a_missing_file_is_none_and_of_a_directory_an_error(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    assert host.get("no-such-file") is None
    with pytest.raises(HostError, match="cannot read /"):
        host.get("/")


def test_put_into_an_unwritable_place_is_a_host_error(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    host.put("blocker", b"a file, not a directory")
    with pytest.raises(HostError, match="cannot write blocker/x"):
        host.put("blocker/x", b"data")


def test_a_command_that_outlives_its_timeout_is_stopped(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    started = time.monotonic()
    with pytest.raises(HostError, match=r"web-1 \(ssh root@127.0.0.2:\d+\): `sleep 30` timed out after 0.5s"):
        host.run(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert host.run(["echo", "still usable"]).stdout == "still usable\n"


def test_commands_reuse_one_master_connection(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    host.run(["true"])
    check = subprocess.run([*host.ssh_options(), "-O", "check", host.address], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    started = time.monotonic()
    for _ in range(20):
        host.run(["true"])
    assert time.monotonic() - started < 5  # a fresh handshake each time would be far slower
    host.close()
    check = subprocess.run([*host.ssh_options(), "-O", "check", host.address], capture_output=True, text=True)
    assert check.returncode != 0


def test_a_killed_master_is_replaced(sshd_hosts):
    host = sshd_hosts[0].ssh_host()
    host.run(["true"])
    check = subprocess.run([*host.ssh_options(), "-O", "check", host.address], capture_output=True, text=True)
    master_pid = int(check.stderr.split("pid=")[1].split(")")[0])
    os.kill(master_pid, 9)  # leaves a stale socket file behind
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{master_pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert host.run(["echo", "again"]).stdout == "again\n"
    check = subprocess.run([*host.ssh_options(), "-O", "check", host.address], capture_output=True, text=True)
    assert check.returncode == 0 and f"pid={master_pid})" not in check.stderr


def test_a_stopped_sshd_is_a_one_line_connection_refused(sshd_hosts):
    target = sshd_hosts[1]
    host = target.ssh_host()
    host.run(["true"])
    target.cut_off()
    with pytest.raises(HostError) as err:
        host.run(["true"])
    assert str(err.value) == (
        f"ssh root@127.0.0.3:{target.port}: connection refused — "
        "check that sshd runs there and the port is right"
    )
    with pytest.raises(HostError, match="connection refused"):
        host.run(["true"], check=False)  # unreachable is never a mere non-zero exit
    with pytest.raises(HostError, match="connection refused"):
        host.get("anything")


def test_an_unreachable_network_times_out_within_the_connect_timeout(sshd_fleet):
    target = sshd_fleet.start("far", isolated=True)
    host = target.ssh_host(connect_timeout=1)
    assert host.run(["true"]).ok
    host.close()
    target.cut_off()
    started = time.monotonic()
    with pytest.raises(HostError, match=rf"ssh root@{target.address}:22: timed out — check"):
        host.run(["true"], timeout=20)
    assert time.monotonic() - started < 10


def test_an_unknown_host_key_is_refused(sshd_hosts):
    target = sshd_hosts[0]
    empty = target.home.parent / "empty_known_hosts"
    empty.write_text("")
    spec = target.host_spec().model_copy(update={"known_hosts_file": str(empty)})
    from cicd.hosts.ssh import SSHHost

    with pytest.raises(HostError, match="host key unknown — check add the host's key"):
        SSHHost(spec).run(["true"])
    # accept-new, when asked for explicitly, trusts the first key and records it
    assert SSHHost(spec, accept_new_host_keys=True).run(["true"]).ok
    assert "ssh-ed25519" in empty.read_text()


def test_a_changed_host_key_is_refused(sshd_hosts):
    first, second = sshd_hosts
    # web-1's known_hosts line with web-2's key: what a man in the middle would present
    forged = first.home.parent / "forged_known_hosts"
    key = " ".join(second.host_key_line.split()[:2])
    forged.write_text(f"[{first.address}]:{first.port} {key}\n")
    spec = first.host_spec().model_copy(update={"known_hosts_file": str(forged)})
    from cicd.hosts.ssh import SSHHost

    with pytest.raises(HostError, match="host key mismatch — check the host key changed"):
        SSHHost(spec, accept_new_host_keys=True).run(["true"])


def test_unix_request_reaches_a_socket_on_the_host_and_back(sshd_hosts):
    """What the HAProxy router's runtime API calls go through: bytes in, the answer to its end out."""
    import socket
    import threading

    spec = sshd_hosts[0]
    path = spec.home / "echo.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()

    def answer_once() -> None:
        conn, _ = server.accept()
        with conn:
            asked = b"".join(iter(lambda: conn.recv(4096), b""))
            conn.sendall(b"you said: " + asked)

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        host = spec.ssh_host()
        assert host.unix_request("echo.sock", b"show stat\n") == b"you said: show stat\n"
        with pytest.raises(HostError):
            host.unix_request("nothing-listens.sock", b"show stat\n")
    finally:
        thread.join(timeout=10)
        server.close()
        path.unlink(missing_ok=True)
