"""HAProxy as the traffic switch: traffic moves through its runtime API, never a reload.

One private HAProxy per environment and host, with an admin socket in its prefix. Two listeners, as
with nginx: the live one (`router.listen`, backend `live`) and the private preview one
(`router.preview_listen`, backend `preview`), each with a server per color. A switch sets server
weights over the socket (`set weight live/green 100; set weight live/blue 0`): the new color gets
weight before the old one loses it, every client connection stays open, and requests in flight on the
old color finish there. Canary weights are the percentages themselves (HAProxy weights run 0-256).

The config file is still rendered whole and checked with `haproxy -c` at each switch: it carries the
traffic marker (what `read` returns) and the current weights, so a restarted HAProxy comes back with
the split that was live. Its access log goes to stdout, appended to `logs/access.log`, in the format
checks/accesslog.py parses (times in milliseconds, marked `ms`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import TYPE_CHECKING

from cicd.deploy.routers.base import (
    MARKER,
    Drained,
    ServerStats,
    Traffic,
    marker_line,
    read_traffic,
    running_pid,
    stamped,
)
from cicd.deploy.runtimes.base import COLORS, Color, Slot
from cicd.errors import DeploymentError, HostError
from cicd.hosts.base import Host
from cicd.hosts.procfs import process_alive

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import HaproxyRouter

# HAProxy refuses a stats socket path longer than this (sun_path, less room for its temporary name).
MAX_SOCKET_PATH = 97


def admin_socket(prefix: str) -> str:
    """The admin socket: in the prefix, or, where that path is too long for a unix socket (a deep
    project folder), a short name in /tmp derived from the prefix, so every command finds the same one."""
    path = os.path.join(prefix, "admin.sock")
    if len(path) <= MAX_SOCKET_PATH:
        return path
    # Only the path is short-lived-looking: HAProxy creates the socket itself, mode 600, owned by us.
    return f"/tmp/cicd-haproxy-{hashlib.sha256(prefix.encode()).hexdigest()[:20]}.sock"  # noqa: S108


def _haproxy_error(output: str) -> str:
    """The first alert of `haproxy -c`, without its pid and config-position preamble."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    alerts = [line for line in lines if "[ALERT]" in line] or lines or ["no output"]
    return re.sub(r"^\[ALERT\]\s+\(\d+\) : (config : )?", "", alerts[0])

# A drain in one process on the host: ask `show stat` every 20 ms until the named servers (proxy/server)
# have no current session or the timeout (seconds) is over; prints what is still in flight.
# argv: socket path, timeout, servers...
DRAIN_SCRIPT = (
    "import socket, sys, time\n"
    "path, timeout, servers = sys.argv[1], float(sys.argv[2]), set(sys.argv[3:])\n"
    "deadline = time.monotonic() + timeout\n"
    "while True:\n"
    "    s = socket.socket(socket.AF_UNIX)\n"
    "    s.settimeout(5)\n"
    "    s.connect(path)\n"
    "    s.sendall(b'show stat\\n')\n"
    "    s.shutdown(socket.SHUT_WR)\n"
    "    rows = s.makefile('rb').read().decode().splitlines()\n"
    "    s.close()\n"
    "    head = rows[0][2:].split(',')\n"
    "    stats = [dict(zip(head, row.split(','))) for row in rows[1:] if row]\n"
    "    busy = sum(int(r['scur'] or 0) for r in stats if r['pxname'] + '/' + r['svname'] in servers)\n"
    "    if not busy or time.monotonic() >= deadline:\n"
    "        break\n"
    "    time.sleep(0.02)\n"
    "print(busy)\n"
)
# $1 binary, $2 config, $3 access log, $4 error log, $5 pid file. HAProxy stays in the foreground of
# its own session so its stdout (the access log) can be a file.
START_SCRIPT = 'setsid "$1" -f "$2" >>"$3" 2>>"$4" </dev/null & echo $! >"$5"'
LOG_FORMAT = (
    r"%Ts.%ms\t%ST\t%Ta%[str(ms)]\t%si:%sp\t%ST\t%Tr%[str(ms)]\t%HU\t%[capture.req.hdr(0)]"
)
STOP_GRACE_SECONDS = 5.0
WEIGHT = re.compile(r" weight \d+")
START_WAIT_SECONDS = 10.0


def parse_stat(csv_text: str) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` CSV -> {(proxy, server): {column: value}}."""
    lines = [line for line in csv_text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return {}
    columns = lines[0][2:].split(",")
    rows = {}
    for line in lines[1:]:
        row = dict(zip(columns, line.split(","), strict=False))
        rows[(row.get("pxname", ""), row.get("svname", ""))] = row
    return rows


def _shape(config_text: str) -> str:
    """The config without what a switch changes (the traffic marker, server weights)."""
    return WEIGHT.sub(" weight *", MARKER.sub("", config_text))


def _int(value: str | None) -> int:
    return int(value) if value and value.lstrip("-").isdigit() else 0


def weight_commands(traffic: Traffic) -> str:
    """Runtime API commands for a split: the color gaining traffic first, so the backend is never empty."""
    gaining = sorted(COLORS, key=lambda color: -traffic.weight(color))
    live = [f"set weight live/{color} {traffic.weight(color)}" for color in gaining]
    preview = [f"set weight preview/{color} {1 if color == traffic.preview else 0}" for color in COLORS]
    return "; ".join(live + preview) + "\n"


class HaproxyTrafficRouter:
    kind = "haproxy"

    def __init__(self, settings: HaproxyRouter, *, environment: str):
        self.settings = settings
        self.environment = environment

    # -- paths ---------------------------------------------------------------------------------------
    def prefix(self, host: Host) -> str:
        return host.resolve(self.settings.prefix.replace("{environment}", self.environment))

    def conf_path(self, host: Host) -> str:
        return os.path.join(self.prefix(host), "haproxy.cfg")

    def access_log_path(self, host: Host) -> str:
        return os.path.join(self.prefix(host), "logs", "access.log")

    def socket_path(self, host: Host) -> str:
        return admin_socket(self.prefix(host))

    def _pid_path(self, host: Host) -> str:
        return os.path.join(self.prefix(host), "haproxy.pid")

    # -- rendering (pure) ----------------------------------------------------------------------------
    def render(self, traffic: Traffic, slots: dict[Color, Slot], *, prefix: str) -> str:
        def servers(weight_of) -> str:
            return "\n".join(
                f"    server {color} {slots[color].upstream} weight {weight_of(color)}" for color in COLORS
            )

        return f"""# Managed by cicd for environment {self.environment}: traffic moves through the runtime API
# ({admin_socket(prefix)}), never a reload. The weights below are what a restart comes back with.
{marker_line(traffic)}
# cicd-preview-listen: {self.settings.preview_listen}
global
    stats socket {admin_socket(prefix)} mode 600 level admin
    log stdout format raw local0
    maxconn 4096
defaults
    mode http
    log global
    log-format "{LOG_FORMAT}"
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    # a connection refused by a color is retried on the other one: no request fails on it
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response
frontend live
    bind {self.settings.listen}
    capture request header User-Agent len 128
    default_backend live
backend live
    balance roundrobin
{servers(traffic.weight)}
# Private: smoke tests reach the idle color here; never expose this listener.
frontend preview
    bind {self.settings.preview_listen}
    no log
    default_backend preview
backend preview
{servers(lambda color: 1 if color == traffic.preview else 0)}
"""

    # -- the runtime API -----------------------------------------------------------------------------
    def _api(self, host: Host, commands: str) -> str:
        try:
            return host.unix_request(self.socket_path(host), commands.encode()).decode(errors="replace")
        except HostError as err:
            raise DeploymentError(f"HAProxy runtime API on {host.name} did not answer: {err}") from err

    def _stat_rows(self, host: Host) -> dict[tuple[str, str], dict[str, str]]:
        return parse_stat(self._api(host, "show stat\n"))

    def live_weights(self, host: Host) -> dict[Color, int] | None:
        """The weights HAProxy applies now (None when it does not run)."""
        if not self.is_running(host):
            return None
        rows = self._stat_rows(host)
        return {color: _int(rows.get(("live", color), {}).get("weight")) for color in COLORS}

    def server_stats(self, host: Host) -> dict[Color, ServerStats] | None:
        if not self.is_running(host):
            return None
        rows = self._stat_rows(host)
        stats = {}
        for color in COLORS:
            row = rows.get(("live", color), {})
            stats[color] = ServerStats(
                color, _int(row.get("scur")), _int(row.get("stot")), _int(row.get("hrsp_5xx")),
                _int(row.get("rtime")),
            )  # fmt: skip
        return stats

    # -- reading the target --------------------------------------------------------------------------
    def read(self, host: Host) -> Traffic | None:
        return read_traffic(host, self.conf_path(host))

    def is_running(self, host: Host) -> bool:
        return self._pid(host) is not None

    def _pid(self, host: Host) -> int | None:
        return running_pid(host, self._pid_path(host))

    # -- changing the target -------------------------------------------------------------------------
    def apply(self, host: Host, traffic: Traffic, slots: dict[Color, Slot]) -> Traffic:
        traffic = stamped(traffic, self.read(host))
        conf = self.conf_path(host)
        text = self.render(traffic, slots, prefix=self.prefix(host))
        current = host.get(conf)
        if current is not None and _shape(current.decode(errors="replace")) == _shape(text):
            host.put(conf, text.encode())  # only weights changed, on a config HAProxy already checked
        else:
            self._check_and_install(host, text)
        if self.is_running(host):
            self._api(host, weight_commands(traffic))
        else:
            self._start(host)
        return traffic

    def _check_and_install(self, host: Host, text: str) -> None:
        """A new config shape (first start, other ports): `haproxy -c` first, then one rename."""
        conf, candidate = self.conf_path(host), self.conf_path(host) + ".next"
        host.run(["mkdir", "-p", f"{self.prefix(host)}/logs"])
        host.put(candidate, text.encode())
        test = host.run([self.settings.binary, "-c", "-f", candidate], check=False, timeout=20)
        if not test.ok:
            host.run(["rm", "-f", candidate], check=False)
            raise DeploymentError(
                f"HAProxy config for {self.environment} failed `haproxy -c` on {host.name}, traffic "
                f"unchanged: {_haproxy_error(test.stderr + test.stdout)}"
            )
        host.run(["mv", "-f", candidate, conf])

    def _start(self, host: Host) -> None:
        prefix = self.prefix(host)
        argv = [
            "sh", "-c", START_SCRIPT, "cicd-haproxy", self.settings.binary, self.conf_path(host),
            self.access_log_path(host), os.path.join(prefix, "logs", "error.log"), self._pid_path(host),
        ]  # fmt: skip
        host.run(["rm", "-f", self.socket_path(host)], check=False)
        host.run(argv, timeout=20)
        deadline = time.monotonic() + START_WAIT_SECONDS
        while time.monotonic() < deadline:
            if self.is_running(host) and host.run(["test", "-S", self.socket_path(host)], check=False).ok:
                return
            time.sleep(0.05)
        raise DeploymentError(
            f"HAProxy for {self.environment} did not start on {host.name}; see {prefix}/logs/error.log"
        )

    def drain(self, host: Host, color: Color, timeout: float) -> Drained:
        """Wait until the color's server in both backends has no current session (one process on the
        host asks HAProxy every 20 ms: no command per poll)."""
        started = time.monotonic()
        if not self.is_running(host):
            return Drained(0, 0.0, timeout)
        argv = ["python3", "-c", DRAIN_SCRIPT, self.socket_path(host), f"{timeout:g}", f"live/{color}",
                f"preview/{color}"]  # fmt: skip
        try:
            answer = host.run(argv, timeout=timeout + 20).stdout.strip()
        except HostError as err:
            raise DeploymentError(f"HAProxy runtime API on {host.name} did not answer: {err}") from err
        return Drained(int(answer) if answer.isdigit() else 0, time.monotonic() - started, timeout)

    def converge(self, host: Host) -> Traffic | None:
        """Start HAProxy when down; when its weights differ from the config file's, apply the file's."""
        current = self.read(host)
        if current is None:
            return None
        if not self.is_running(host):
            self._start(host)
        elif self.live_weights(host) != {color: current.weight(color) for color in COLORS}:
            self._api(host, weight_commands(current))
        return current

    def stop(self, host: Host) -> None:
        """Soft stop (SIGUSR1): listeners close, sessions in flight finish; then SIGTERM if needed."""
        pid = self._pid(host)
        if pid is None:
            return
        host.run(["kill", "-USR1", str(pid)], check=False)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and process_alive(host, pid):
            time.sleep(0.05)
        if process_alive(host, pid):
            host.run(["kill", "-TERM", str(pid)], check=False)
