"""`cicd status`: the seeds' Deployment State, read from the target and probed live.

    {environment, current_version, previous_version, deployed_at, deployed_by, locked, health,
     live_color, warm_color, warm_version, warm_until, traffic, hosts}

`health` comes from a live probe now: healthy (every host's live color and router answer the health
check), degraded (some do), unhealthy (none, or nothing is live).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from cicd.deploy import gates
from cicd.deploy.orchestrator import inspect
from cicd.deploy.record import Record
from cicd.deploy.target import Target


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else None


def expire_warm(target: Target) -> None:
    """Stale warm slots are stopped when anyone looks (status, deploy, rollback)."""
    for host in target.hosts:
        warm = target.read_warm(host)
        if warm and warm.get("until", 0) < time.time():
            target.runtime.stop(host, target.slot(warm["color"]))
            target.clear_warm(host)


def _host_health(target: Target, color) -> list[dict[str, Any]]:
    rows = []
    settings = target.settings
    for host in target.hosts:
        slot_ok = color is not None and gates.probe_health(host, target.slot(color), settings)
        router = gates.prober_for(host)(
            f"http://{settings.router.listen}{settings.health.path}",
            host_header=settings.health.host_header,
            timeout=2.0,
        )
        rows.append(
            {
                "host": host.name,
                "slot_healthy": bool(slot_ok),
                "router_healthy": router.status == settings.health.expected_status,
            }
        )
    return rows


def environment_status(target: Target, record: Record) -> dict[str, Any]:
    snap = record.snapshot()
    if not snap.get("locked"):  # a running deploy owns the slots; it expires warm slots itself
        expire_warm(target)
    live = inspect(target)
    hosts = _host_health(target, live.color)
    healthy = [row["slot_healthy"] and row["router_healthy"] for row in hosts]
    health = "healthy" if live.color and all(healthy) else "degraded" if any(healthy) else "unhealthy"
    return {
        "environment": target.environment,
        "current_version": live.version,
        "previous_version": snap.get("previous_version") or live.warm_version,
        "deployed_at": snap.get("deployed_at"),
        "deployed_by": snap.get("deployed_by"),
        "locked": bool(snap.get("locked", False)),
        "health": health,
        "live_color": live.color,
        "warm_color": live.warm_color,
        "warm_version": live.warm_version,
        "warm_until": _iso(live.warm_until),
        "traffic": live.traffic.describe() if live.traffic and live.color else "nothing live",
        "url": target.url,
        "lock_holder": snap.get("lock_holder"),
        "last_known_good": snap.get("last_known_good"),
        "hosts": hosts,
    }


def render_status(state: dict[str, Any]) -> str:
    lines = [f"{state['environment']}: {state['health']}"]
    lines.append(
        f"  live      {state['current_version'] or '-'} on {state['live_color'] or '-'} ({state['traffic']})"
    )
    if state["warm_color"]:
        lines.append(
            f"  warm      {state['warm_version']} on {state['warm_color']} "
            f"until {state['warm_until']} (instant rollback: cicd rollback)"
        )
    lines.append(f"  previous  {state['previous_version'] or '-'}")
    if state["deployed_at"]:
        lines.append(f"  deployed  {state['deployed_at']} by {state['deployed_by']}")
    lock = f"yes, by {state['lock_holder']}" if state["locked"] else "no"
    lines.append(f"  locked    {lock}")
    for row in state["hosts"]:
        lines.append(
            f"  host {row['host']}: slot {'ok' if row['slot_healthy'] else 'DOWN'}, "
            f"router {'ok' if row['router_healthy'] else 'DOWN'}"
        )
    return "\n".join(lines) + "\n"
