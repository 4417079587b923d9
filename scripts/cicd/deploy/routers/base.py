"""The Router seam: how traffic moves between the two colors on a host, whichever proxy does it.

Two routers implement it: nginx (config rendered whole, graceful reload) and HAProxy (weights set
through its runtime API, never a reload). Callers hold a `Router` and never ask which one it is.

Both write the traffic split into their config file as one marker line, `# cicd-traffic: blue=100
green=0 preview=green generation=... live_since=...`, so what is live is read back from the target.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, replace
from typing import Protocol

from cicd.deploy.runtimes.base import Color, Slot, other_color
from cicd.hosts.base import Host
from cicd.hosts.procfs import process_alive

MARKER = re.compile(
    r"^# cicd-traffic: blue=(?P<blue>\d+) green=(?P<green>\d+) preview=(?P<preview>blue|green)"
    r" generation=(?P<generation>[A-Za-z0-9-]+)(?: live_since=(?P<since>[0-9.]+))?$",
    re.MULTILINE,
)
# How often a drain looks again at what is still in flight.
DRAIN_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Traffic:
    """Percent of live traffic per color (sum 100), and the color the preview listener shows."""

    blue: int
    green: int
    preview: Color
    generation: str = ""
    # When the current split went live (epoch seconds): a baseline must not count an earlier version
    # that served on the same port.
    live_since: float = 0.0

    @classmethod
    def all_to(cls, color: Color) -> Traffic:
        return cls(**{color: 100, other_color(color): 0}, preview=other_color(color))  # type: ignore[arg-type]

    def weight(self, color: Color) -> int:
        return self.blue if color == "blue" else self.green

    @property
    def live_color(self) -> Color:
        """The color with most traffic (the stable one during a canary)."""
        return "blue" if self.blue >= self.green else "green"

    @property
    def split(self) -> bool:
        return 0 < self.blue < 100

    def describe(self) -> str:
        if not self.split:
            return f"all traffic to {self.live_color}"
        return f"blue {self.blue}% / green {self.green}%"


@dataclass(frozen=True)
class Drained:
    """The end of a drain: what was still in flight when it ended, and after how long."""

    in_flight: int  # requests (HAProxy) or old nginx workers still finishing theirs; 0 when drained
    seconds: float
    timeout: float

    @property
    def complete(self) -> bool:
        return self.in_flight == 0

    def describe(self) -> str:
        if self.complete:
            return f"drained in {self.seconds:.2f}s"
        return f"drain timed out after {self.timeout:g}s with {self.in_flight} still in flight"


@dataclass(frozen=True)
class ServerStats:
    """Per-color figures a router counts itself (HAProxy's `show stat`): a second metrics source."""

    color: Color
    current_sessions: int
    total_sessions: int
    responses_5xx: int
    response_time_ms: int  # average over the last 1024 requests


def parse_traffic(config_text: str) -> Traffic | None:
    match = MARKER.search(config_text)
    if not match:
        return None
    return Traffic(
        int(match["blue"]),
        int(match["green"]),
        match["preview"],  # type: ignore[arg-type]  # the pattern allows blue|green only
        match["generation"],
        float(match["since"] or 0.0),
    )


def stamped(traffic: Traffic, before: Traffic | None) -> Traffic:
    """`traffic` with a new generation (what the router serves is read back by it) and the time its
    split went live: kept from `before` when only the generation changes, so a baseline still skips
    what an earlier version served."""
    now = time.time()
    same_split = before is not None and (before.blue, before.green) == (traffic.blue, traffic.green)
    return replace(
        traffic,
        generation=f"{int(now * 1000):x}-{secrets.token_hex(3)}",
        live_since=before.live_since if same_split and before else now,
    )


def read_traffic(host: Host, conf_path: str) -> Traffic | None:
    """The traffic split in a router's config file on the host; None before the first deploy."""
    raw = host.get(conf_path)
    return parse_traffic(raw.decode(errors="replace")) if raw else None


def running_pid(host: Host, pid_path: str) -> int | None:
    """The pid a router wrote to its pid file, while that process is alive."""
    raw = host.get(pid_path)
    pid = int(raw.strip()) if raw and raw.strip().isdigit() else None
    return pid if pid is not None and process_alive(host, pid) else None


def marker_line(traffic: Traffic) -> str:
    return (
        f"# cicd-traffic: blue={traffic.blue} green={traffic.green} preview={traffic.preview}"
        f" generation={traffic.generation} live_since={traffic.live_since:.3f}"
    )


class Router(Protocol):
    """What the deploy core asks of a traffic switch on one host."""

    kind: str

    def prefix(self, host: Host) -> str:
        """The router's folder on the host (config, logs, warm record)."""
        ...

    def access_log_path(self, host: Host) -> str:
        """The live listener's access log, in the format checks/accesslog.py parses."""
        ...

    def read(self, host: Host) -> Traffic | None:
        """The traffic split on the target; None before the first deploy."""
        ...

    def is_running(self, host: Host) -> bool: ...

    def apply(self, host: Host, traffic: Traffic, slots: dict[Color, Slot]) -> Traffic:
        """Make `traffic` live (starting the router when down); returns it with its generation. A config
        the proxy refuses leaves traffic as it was and raises DeploymentError."""
        ...

    def drain(self, host: Host, color: Color, timeout: float) -> Drained:
        """Wait until no request the router accepted is still in flight to `color`, up to `timeout`."""
        ...

    def server_stats(self, host: Host) -> dict[Color, ServerStats] | None:
        """Per-color counters of the live listener, when the router keeps them (else None)."""
        ...

    def converge(self, host: Host) -> Traffic | None:
        """After an interrupted run: the router runs and serves what its config file says."""
        ...

    def stop(self, host: Host) -> None: ...
