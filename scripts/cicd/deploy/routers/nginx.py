"""nginx as the traffic switch: the whole config rendered as text, tested, swapped atomically.

The rendered config carries one marker line, `# cicd-traffic: blue=100 green=0 preview=green
generation=...`, so what is live is read back from the target, never assumed from local state. Two
listeners: the live one (`router.listen`) and a private preview one (`router.preview_listen`) that
always points at the idle color, where smoke tests reach a new version before any user does.

A switch is: write `nginx.conf.next`, `nginx -t` it (a config that fails never goes live), rename it
over `nginx.conf` (one atomic step), `nginx -s reload` (graceful: old workers finish their requests),
then wait until the preview listener answers with the new generation, i.e. the new workers serve.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING

from cicd.deploy.routers.base import (
    DRAIN_POLL_SECONDS,
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
from cicd.hosts.http import fetch
from cicd.hosts.procfs import process_alive

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import NginxRouter

# Used when the checks package does not provide its own; fields the verification reads, tab-separated.
DEFAULT_LOG_FORMAT = (
    "$msec\t$status\t$request_time\t$upstream_addr\t$upstream_status\t$upstream_response_time\t$request_uri"
)
GENERATION_PATH = "/__cicd/generation"
SBIN_LOOKUP_SCRIPT = 'PATH="$PATH:/usr/sbin:/sbin" command -v "$1"'
# How long a switch waits for the old workers to finish their in-flight requests and exit.
OLD_WORKERS_GRACE = 5.0
PREVIEW_MARKER = re.compile(r"^# cicd-preview-listen: (?P<listen>\S+)$", re.MULTILINE)


def _nginx_error(stderr: str) -> str:
    lines = [line.removeprefix("nginx: ").strip() for line in stderr.splitlines() if line.strip()]
    important = [line for line in lines if "[emerg]" in line or "[alert]" in line or "[crit]" in line]
    first = (important or lines or ["no output"])[0]
    # "2026/11/22 07:12:08 [emerg] 151#151: message" -> "[emerg] message"
    return re.sub(r"^\S+ \S+ (\[\w+\]) \d+#\d+: ", r"\1 ", first)


class NginxTrafficRouter:
    kind = "nginx"

    def __init__(self, settings: NginxRouter, *, environment: str, log_format: str = DEFAULT_LOG_FORMAT):
        self.settings = settings
        self.environment = environment
        self.log_format = log_format
        self._binaries: dict[str, str] = {}  # host name -> resolved nginx path

    # -- paths ---------------------------------------------------------------------------------------
    def prefix(self, host: Host) -> str:
        return host.resolve(self.settings.prefix.replace("{environment}", self.environment))

    def conf_path(self, host: Host) -> str:
        return os.path.join(self.prefix(host), "nginx.conf")

    def access_log_path(self, host: Host) -> str:
        return os.path.join(self.prefix(host), "logs", "access.log")

    def _nginx(self, host: Host, conf: str, *extra: str) -> list[str]:
        return [self._binary(host), "-p", self.prefix(host) + "/", "-c", conf, *extra]

    def _binary(self, host: Host) -> str:
        """The nginx binary on the host. Debian installs it in /usr/sbin, which a non-root PATH (or
        ssh's) often lacks, so a bare name is looked up there too (as a positional parameter)."""
        binary = self.settings.binary
        if "/" in binary:
            return binary
        if host.name not in self._binaries:
            found = host.run(["sh", "-c", SBIN_LOOKUP_SCRIPT, "sh", binary], check=False, timeout=10)
            self._binaries[host.name] = found.stdout.strip() or binary
        return self._binaries[host.name]

    # -- rendering (pure) ----------------------------------------------------------------------------
    def render(self, traffic: Traffic, slots: dict[Color, Slot], *, prefix: str) -> str:
        live_servers = "\n".join(
            f"        server {slots[color].upstream} weight={traffic.weight(color)} max_fails=0;"
            for color in COLORS
            if traffic.weight(color) > 0
        )
        if live_servers:
            live_upstream = f"    upstream cicd_live {{\n{live_servers}\n        keepalive 32;\n    }}"
            live_location = "proxy_pass http://cicd_live;"
        else:  # before the first switch nothing is live: say so rather than send users to an ungated color
            live_upstream = "    # no color is live yet"
            live_location = 'return 503 "no version is live yet\\n";'

        color_upstreams = "\n".join(
            f"    upstream cicd_{color} {{\n        server {slots[color].upstream} max_fails=0;\n"
            f"        keepalive 8;\n    }}"
            for color in COLORS
        )
        escaped_format = self.log_format.replace("\\", "\\\\").replace("'", "\\'")
        return f"""# Managed by cicd for environment {self.environment}: rendered whole, tested with nginx -t,
# swapped by one rename and a graceful reload. Edits by hand are overwritten by the next switch.
{marker_line(traffic)}
# cicd-preview-listen: {self.settings.preview_listen}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/temp/client_body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    log_format cicd_access '{escaped_format}';
    # Keep-alive to the colors, and a retry on another server when a connection fails, so a swap
    # or a canary step drops no request.
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_next_upstream error timeout http_502;
    proxy_next_upstream_tries 2;
    proxy_connect_timeout 2s;
    proxy_read_timeout 60s;
    proxy_max_temp_file_size 0;
{color_upstreams}
{live_upstream}
    server {{
        listen {self.settings.listen};
        access_log {prefix}/logs/access.log cicd_access;
        location / {{
            {live_location}
        }}
    }}
    # Private: smoke tests reach the idle color here; never expose this listener.
    server {{
        listen {self.settings.preview_listen};
        access_log {prefix}/logs/preview.log cicd_access;
        location = {GENERATION_PATH} {{
            return 200 "{traffic.generation}\\n";
        }}
        location / {{
            proxy_pass http://cicd_{traffic.preview};
        }}
    }}
}}
"""

    # -- reading the target --------------------------------------------------------------------------
    def read(self, host: Host) -> Traffic | None:
        return read_traffic(host, self.conf_path(host))

    def is_running(self, host: Host) -> bool:
        return self._master_pid(host) is not None

    def served_generation(self, host: Host) -> str | None:
        # Ask where the config on disk says the preview listener is: settings may have changed since.
        raw = host.get(self.conf_path(host))
        match = PREVIEW_MARKER.search(raw.decode(errors="replace")) if raw else None
        listen = match["listen"] if match else self.settings.preview_listen
        body = fetch(host, f"http://{listen}{GENERATION_PATH}", timeout=1.0)
        return body.strip() if body is not None else None

    # -- changing the target -------------------------------------------------------------------------
    def apply(self, host: Host, traffic: Traffic, slots: dict[Color, Slot]) -> Traffic:
        """Make `traffic` live on the host; returns it with its generation. Raises DeploymentError and
        leaves the running config untouched when the new one fails `nginx -t`."""
        traffic = stamped(traffic, self.read(host))
        prefix = self.prefix(host)
        conf, candidate = self.conf_path(host), self.conf_path(host) + ".next"
        host.run(["mkdir", "-p", f"{prefix}/logs", f"{prefix}/temp"])
        host.put(candidate, self.render(traffic, slots, prefix=prefix).encode())
        test = host.run(self._nginx(host, candidate, "-t", "-q"), check=False, timeout=20)
        if not test.ok:
            host.run(["rm", "-f", candidate], check=False)
            raise DeploymentError(
                f"nginx config for {self.environment} failed `nginx -t` on {host.name}, traffic unchanged: "
                f"{_nginx_error(test.stderr)}"
            )
        host.run(["mv", "-f", candidate, conf])  # the switch: one atomic rename ...
        self.reload(host)  # ... and one graceful reload
        return traffic

    def reload(self, host: Host) -> None:
        """Load the config file into nginx (start it when down) and wait until new workers serve it."""
        current = self.read(host)
        conf = self.conf_path(host)
        old_workers = self._workers(host)
        try:
            if self.is_running(host):
                host.run(self._nginx(host, conf, "-s", "reload"), timeout=20)
            else:
                host.run(self._nginx(host, conf), timeout=20)
        except HostError as err:
            raise DeploymentError(f"nginx on {host.name} did not take the new config: {err}") from err
        if current is not None:
            self.wait_for_generation(host, current.generation)
        # Old workers keep accepting on the shared listen socket until they process the shutdown
        # signal; the switch is done only when none of them can take a new request. A worker that got
        # it renames itself "... is shutting down" as it closes its listeners (then finishes in-flight
        # requests, which need no waiting for).
        deadline = time.monotonic() + OLD_WORKERS_GRACE
        while any(self._still_accepting(host, pid) for pid in old_workers) and time.monotonic() < deadline:
            time.sleep(0.005)

    @staticmethod
    def _still_accepting(host: Host, pid: int) -> bool:
        cmdline = host.get(f"/proc/{pid}/cmdline")
        return cmdline is not None and b"shutting down" not in cmdline and process_alive(host, pid)

    def drain(self, host: Host, color: Color, timeout: float) -> Drained:
        """nginx counts no requests per color: drained means every old worker (the ones a reload asked
        to shut down, which may still proxy to the color switched away from) has exited."""
        started = time.monotonic()
        deadline = started + timeout
        old = self._old_workers(host)
        while old and time.monotonic() < deadline:
            time.sleep(DRAIN_POLL_SECONDS)
            old = self._old_workers(host)
        return Drained(len(old), time.monotonic() - started, timeout)

    def _old_workers(self, host: Host) -> list[int]:
        old = []
        for pid in self._workers(host):
            cmdline = host.get(f"/proc/{pid}/cmdline")
            if cmdline is not None and b"shutting down" in cmdline:
                old.append(pid)
        return old

    def server_stats(self, host: Host) -> dict[Color, ServerStats] | None:
        return None  # the access log is nginx's only metrics source

    def _master_pid(self, host: Host) -> int | None:
        return running_pid(host, os.path.join(self.prefix(host), "nginx.pid"))

    def _workers(self, host: Host) -> list[int]:
        master = self._master_pid(host)
        if master is None:
            return []
        result = host.run(["pgrep", "-P", str(master)], check=False, timeout=10)
        return [int(pid) for pid in result.stdout.split() if pid.isdigit()]

    def wait_for_generation(self, host: Host, generation: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.served_generation(host) == generation:
                return
            time.sleep(0.02)
        raise DeploymentError(
            f"nginx on {host.name} did not serve config generation {generation} within {timeout:g}s; "
            f"see {self.prefix(host)}/logs/error.log"
        )

    def converge(self, host: Host) -> Traffic | None:
        """After an interrupted run: make sure nginx runs and serves the config file on disk."""
        current = self.read(host)
        if current is None:
            return None
        if not self.is_running(host) or self.served_generation(host) != current.generation:
            self.reload(host)
        return current

    def stop(self, host: Host) -> None:
        if self.is_running(host):
            host.run(self._nginx(host, self.conf_path(host), "-s", "stop"), check=False, timeout=20)
            pid_raw = host.get(os.path.join(self.prefix(host), "nginx.pid"))
            deadline = time.monotonic() + 5
            while pid_raw and time.monotonic() < deadline and process_alive(host, int(pid_raw.strip())):
                time.sleep(0.05)
