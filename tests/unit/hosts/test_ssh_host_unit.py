"""SSHHost without a network: the argv it builds, the remote command line, and its reading of ssh's
stderr (recorded from OpenSSH 9.2 against real sshd failures)."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cicd.config.deploy import HostSpec
from cicd.errors import HostError
from cicd.hosts.base import Host
from cicd.hosts.ssh import SSHHost, classify_ssh_failure, remote_command

SPEC = HostSpec(name="web-1", transport="ssh", address="10.0.0.5", port=2222, user="deploy",
                identity_file="/keys/id_ed25519", known_hosts_file="/keys/known_hosts")

REFUSED = "ssh: connect to host 10.0.0.5 port 2222: Connection refused\r\n"
TIMED_OUT = "ssh: connect to host 10.0.0.5 port 2222: Connection timed out\r\n"
BANNER = "Connection timed out during banner exchange\r\n"
UNKNOWN_KEY = (
    "No ED25519 host key is known for [10.0.0.5]:2222 and you have requested strict checking.\r\n"
    "Host key verification failed.\r\n"
)
CHANGED_KEY = """@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Offending ED25519 key in /keys/known_hosts:1
Host key for [10.0.0.5]:2222 has changed and you have requested strict checking.
Host key verification failed.
"""
DENIED = "deploy@10.0.0.5: Permission denied (publickey,password,keyboard-interactive).\r\n"
UNRESOLVED = "ssh: Could not resolve hostname web-1.invalid: Name or service not known\r\n"


def options(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, item in enumerate(argv) if item == "-o")


def test_is_a_host():
    assert isinstance(SSHHost(SPEC), Host)


def test_host_keys_are_checked_strictly_by_default():
    opts = options(SSHHost(SPEC).ssh_options())
    assert opts["StrictHostKeyChecking"] == "yes"
    assert opts["UserKnownHostsFile"] == "/keys/known_hosts"
    assert opts["BatchMode"] == "yes"
    assert opts["IdentityFile"] == "/keys/id_ed25519" and opts["IdentitiesOnly"] == "yes"


def test_accept_new_only_when_asked():
    opts = options(SSHHost(SPEC, accept_new_host_keys=True).ssh_options())
    assert opts["StrictHostKeyChecking"] == "accept-new"


def test_connection_reuse_with_a_short_control_path():
    host = SSHHost(SPEC, connect_timeout=3)
    opts = options(host.ssh_options())
    assert opts["ControlMaster"] == "no"  # commands are clients of one background master
    master = host.master_argv()
    assert "ControlMaster=yes" in master and "ControlPersist=60" in master
    assert master[-3:] == ["-N", "-f", "10.0.0.5"]
    assert opts["ConnectTimeout"] == "3"
    assert len(opts["ControlPath"]) < 100  # unix socket paths must stay under 108 bytes


def test_argv_ends_with_address_and_one_command_line():
    argv = SSHHost(SPEC).ssh_argv("true")
    assert argv[0] == "ssh" and argv[-2:] == ["10.0.0.5", "true"]
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "deploy"


@pytest.mark.parametrize("address", ["-oProxyCommand=x", "host name", "a;b", "$(id)"])
def test_hostile_addresses_are_refused(address):
    with pytest.raises(HostError, match="invalid address"):
        SSHHost(SPEC.model_copy(update={"address": address}))


def test_remote_command_quotes_every_item():
    line = remote_command(["echo", "a b", "$(id)", "x;rm -rf /", "'", ""])
    assert shlex.split(line) == ["echo", "a b", "$(id)", "x;rm -rf /", "'", ""]


def test_remote_command_passes_env_through_env():
    line = remote_command(["app"], {"VERSION": "1.2 3", "X": "$HOME"})
    assert shlex.split(line) == ["env", "VERSION=1.2 3", "X=$HOME", "app"]


def test_remote_command_refuses_bad_env_names():
    with pytest.raises(HostError, match="invalid environment variable name"):
        remote_command(["app"], {"A=B": "x"})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                        max_size=20), min_size=1, max_size=5))
def test_a_real_shell_parses_the_command_line_back_to_argv(argv):
    # What sshd does with the line: the login shell parses it once.
    line = remote_command(["printf", r"%s\0", *argv])
    out = subprocess.run(["bash", "-c", line], capture_output=True, check=True).stdout
    assert out.decode().split("\0")[:-1] == argv


@pytest.mark.parametrize(
    ("stderr", "what"),
    [
        (REFUSED, "connection refused"),
        (TIMED_OUT, "timed out"),
        (BANNER, "timed out"),
        (UNKNOWN_KEY, "host key unknown"),
        (CHANGED_KEY, "host key mismatch"),
        (DENIED, "authentication failed"),
        (UNRESOLVED, "unknown host name"),
    ],
)
def test_ssh_failures_are_recognised(stderr, what):
    found = classify_ssh_failure(stderr)
    assert found is not None and found[0] == what


def test_a_remote_commands_own_stderr_is_not_an_ssh_failure():
    assert classify_ssh_failure("sh: 1: exit: Illegal number: x\n") is None
    assert classify_ssh_failure("") is None
