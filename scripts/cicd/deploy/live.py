"""What an environment serves now, read from its target, and bringing it back to one healthy live color.

The router on every host and the runtime's slot records are the truth, never local state: `inspect`
reads them; `converge` undoes what an interrupted run may have left (the router started and serving
its config file, a split left by a killed canary back on the stable color, hosts that disagree
following the primary, expired warm slots stopped) before any run plans; `healthy` is one health
request per host, no waiting; `switch_all` moves every host's traffic, or none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cicd.deploy import anchor, gates
from cicd.deploy.record import Record
from cicd.deploy.report import Reporter
from cicd.deploy.routers.base import Traffic
from cicd.deploy.runtimes.base import Color, other_color
from cicd.deploy.target import Target
from cicd.errors import CicdError, DeploymentError


@dataclass
class Live:
    """What the target serves now, read from it."""

    traffic: Traffic | None
    color: Color | None
    version: str | None
    warm_color: Color | None = None
    warm_version: str | None = None
    warm_until: float | None = None


def inspect(target: Target) -> Live:
    """Read-only: the primary host's traffic and the versions in its slots."""
    host = target.primary
    traffic = target.router.read(host)
    if traffic is None or traffic.weight(traffic.live_color) == 0:
        return Live(traffic, None, None)
    live_color = traffic.live_color
    live_status = target.runtime.status(host, target.slot(live_color))
    idle_status = target.runtime.status(host, target.slot(other_color(live_color)))
    warm = target.read_warm(host) or {}
    # Warm means: kept up on purpose (a warm record), not merely running (a leftover never is).
    is_warm = idle_status.running and not traffic.split and warm.get("color") == idle_status.color
    warm_color = idle_status.color if is_warm else None
    return Live(
        traffic, live_color, live_status.version, warm_color,
        idle_status.version if warm_color else None, warm.get("until") if warm_color else None,
    )  # fmt: skip


def converge(target: Target, out: Reporter, record: Record) -> None:
    """Undo what an interrupted run may have left, so planning starts from one healthy live color."""
    anchor.reconcile(target, record, out)
    primary_traffic = None
    for host in target.hosts:
        traffic = target.router.converge(host)
        primary_traffic = primary_traffic or traffic
        if traffic is None or primary_traffic is None:
            continue
        stable = primary_traffic.live_color
        if traffic.split or traffic.live_color != stable:
            # Both colors passed their gates before any traffic moved; the primary's color wins.
            target.router.apply(host, Traffic.all_to(stable), target.slots())
            was = traffic.describe()
            out.phase("warn", "converge", f"{host.name}: traffic was {was}; now all to {stable}")
    _repair_state(target, out, record)
    for host in target.hosts:
        warm = target.read_warm(host)
        traffic = target.router.read(host)
        if warm is None and traffic is not None and traffic.weight(traffic.live_color) > 0:
            idle = target.slot(other_color(traffic.live_color))
            status = target.runtime.status(host, idle)
            if status.running and status.version in record.protected():
                # the previous live version, left without its warm record by a run killed right
                # after the switch: it gets its warm window, then goes
                target.write_warm(host, idle.color, status.version, target.settings.warm_seconds)
                continue
            if status.running:  # a version that never went live (killed before its switch): never warm
                target.runtime.stop(host, idle)
                out.phase("info", "converge", f"{host.name}: stopped {status.version} left in {idle.color}")
                continue
        if warm and warm.get("until", 0) < time.time():
            target.runtime.stop(host, target.slot(warm["color"]))
            target.clear_warm(host)
            out.phase("info", "warm", f"{warm['color']} ({warm.get('version')}) warm window over: stopped")


def _repair_state(target: Target, out: Reporter, record: Record) -> None:
    """The router is the truth: a run killed between its switch and its record left the state behind."""
    live = inspect(target)
    recorded = record.current_version()
    if live.version and live.version != recorded:
        record.switched(live.version, live.color, reason="repaired from the router's live color")
        was = recorded or "nothing"
        out.phase("warn", "converge", f"state said {was}; the router serves {live.version}: state repaired")


def healthy(target: Target, color: Color) -> bool:
    for host in target.hosts:
        result = gates.probe_health(host, target.slot(color), target.settings)
        if not result:
            return False
    return True


def switch_all(target: Target, traffic: Traffic) -> None:
    """Fleet-atomic: apply on every host; on any failure (an unreadable router, a bug, a stop signal
    between two hosts) put the switched hosts back, then raise."""
    done: list[tuple] = []
    for host in target.hosts:
        try:
            before = target.router.read(host)
            target.router.apply(host, traffic, target.slots())
        except BaseException as err:
            reverted = _switch_back(target, done)
            if not isinstance(err, CicdError):  # a stop signal or a bug keeps its kind (exit code, trace)
                raise
            raise DeploymentError(f"switch failed on {host.name}{reverted}: {err}") from err
        done.append((host, before))


def _switch_back(target: Target, done: list[tuple]) -> str:
    """Each switched host back to its traffic before, every one tried; what happened, for the message."""
    back, stuck = [], []
    for switched_host, previous in reversed(done):
        try:
            if previous is not None:
                target.router.apply(switched_host, previous, target.slots())
            back.append(switched_host.name)
        except Exception:  # the next run's converge puts it on the primary's color
            stuck.append(switched_host.name)
    return (f"; switched back {', '.join(reversed(back))}" if back else "") + (
        f"; could not switch back {', '.join(reversed(stuck))} (the next run converges it)" if stuck else ""
    )
