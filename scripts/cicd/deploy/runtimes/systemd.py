"""Supervision by systemd (`runtime.supervisor: systemd`): each color is a unit the host's service
manager starts, restarts on failure and stops, instead of the built-in restart loop.

The unit is generated, written to /run/systemd/system (the runtime unit directory: gone at reboot, like
a color the built-in loop runs) and started with systemctl:

    [Unit]     Description, StartLimitIntervalSec=0 (never give up restarting)
    [Service]  ExecStart (the command, quoted for systemd), WorkingDirectory (the release),
               EnvironmentFile (the explicit environment, mode 0600, beside the pid files),
               Restart=on-failure, RestartSec, TimeoutStopSec (runtime.stop_grace_seconds),
               KillMode=control-group, stdout and stderr appended to the slot's log

The service sees exactly the environment the built-in supervisor gives it (runtime.env, its secrets,
the CICD_* facts, PATH and LANG), from a file only the deploying user reads, never from an argv.
A host where systemd is not the running service manager is refused before anything starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cicd.deploy.isolation import LANG, MINIMAL_PATH, NAME
from cicd.errors import DeploymentError, HostError
from cicd.hosts.base import Host

UNIT_DIR = "/run/systemd/system"
RESTART_SECONDS = 1
# what `systemctl show` reports for a unit, in this order
_PROPERTIES = ("ActiveState", "MainPID", "NRestarts", "ExecMainStatus")
_CONTROL = re.compile("[\x01-\x1f\x7f]")


def unit_name(environment: str, color: str) -> str:
    return f"cicd-{environment}-{color}.service"


def quote_argument(argument: str) -> str:
    """One ExecStart argument: double-quoted, with systemd's specifiers (%) and variables ($) literal,
    and control characters as C escapes (a raw carriage return ends the line: the unit would not load)."""
    escaped = _CONTROL.sub(_c_escape, argument.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def _c_escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def literal(value: str) -> str:
    """A whole-line setting (a path, the description) with systemd's specifiers kept literal: `%h` in a
    releases_dir would otherwise be root's home, and an unknown `%z` makes the unit fail to load."""
    return value.replace("%", "%%")


def unit_text(
    *, description: str, argv: Sequence[str], working_directory: str, environment_file: str, log: str,
    stop_seconds: float,
) -> str:  # fmt: skip
    """The unit file of one color."""
    return "\n".join([
        "[Unit]",
        f"Description={literal(description)}",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=exec",
        f"ExecStart={' '.join(quote_argument(argument) for argument in argv)}",
        f"WorkingDirectory={literal(working_directory)}",
        f"EnvironmentFile={literal(environment_file)}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SECONDS}",
        f"TimeoutStopSec={stop_seconds:g}",
        "KillMode=control-group",
        f"StandardOutput=append:{literal(log)}",
        f"StandardError=append:{literal(log)}",
        "",
    ])  # fmt: skip


def environment_file(env: Mapping[str, str]) -> str:
    """The explicit environment as systemd reads an EnvironmentFile: one NAME="value" a line."""
    lines = [f"PATH={MINIMAL_PATH}", f"LANG={LANG}"]
    for name, value in env.items():
        if not NAME.match(name):
            raise DeploymentError(f"invalid environment variable name {name!r}: use letters, digits and _")
        if "\n" in str(value) or "\r" in str(value):  # the value itself is never shown: it may be a secret
            raise DeploymentError(f"environment variable {name} holds a line break: systemd cannot read it")
        escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        lines.append(f'{name}="{escaped}"')
    return "\n".join(lines) + "\n"


def check_running(host: Host) -> None:
    """systemd is the host's service manager (sd_booted: /run/systemd/system exists), or refused."""
    if not host.run(["test", "-d", UNIT_DIR], check=False).ok:
        raise DeploymentError(
            f"runtime.supervisor is systemd, but {host.name} does not run systemd ({UNIT_DIR} is "
            "missing): use supervisor: builtin there"
        )


def start(host: Host, unit: str, text: str) -> None:
    host.put(f"{UNIT_DIR}/{unit}", text.encode())
    _systemctl(host, "daemon-reload")
    host.run(["systemctl", "reset-failed", unit], check=False)  # a unit that failed before starts afresh
    _systemctl(host, "start", unit)


def stop(host: Host, unit: str) -> None:
    """Stop the unit (SIGTERM to its whole group, SIGKILL after TimeoutStopSec) and remove it."""
    host.run(["systemctl", "stop", unit], check=False, timeout=None)
    host.run(["rm", "-f", f"{UNIT_DIR}/{unit}"], check=False)
    host.run(["systemctl", "daemon-reload"], check=False)


def state(host: Host, unit: str) -> dict[str, str]:
    """The unit's ActiveState, MainPID, NRestarts and ExecMainStatus; empty when systemd has none."""
    result = host.run(["systemctl", "show", f"--property={','.join(_PROPERTIES)}", unit], check=False)
    if not result.ok:
        return {}
    fields = dict(line.partition("=")[::2] for line in result.stdout.splitlines() if "=" in line)
    return {key: fields[key] for key in _PROPERTIES if key in fields}


def main_pid(host: Host, unit: str) -> int | None:
    """The running command's pid, None when the unit is not active (stopped, failed, restarting)."""
    shown = state(host, unit)
    pid = shown.get("MainPID", "0")
    active = shown.get("ActiveState") in ("active", "reloading", "deactivating")
    return int(pid) if active and pid.isdigit() and int(pid) > 0 else None


def _systemctl(host: Host, *args: str) -> None:
    try:
        host.run(["systemctl", *args], timeout=60)
    except HostError as err:
        raise DeploymentError(f"systemctl {' '.join(args)} on {host.name}: {err}") from err
