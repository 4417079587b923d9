"""`cicd status`: what is live, what a rollback would do, and who holds the lock, read at this moment
from the router (what is live and warm), a live probe (health) and the record (history, releases, lock).

The record follows the router, never the other way round: when a run was killed after its switch the
record may lag, and then the deploy facts of the live version come from its history row instead
(`record_in_sync` says which). docs/RUNBOOKS.md ("What status says") documents every field.

Exit status: 0 healthy, 3 degraded (some host or router does not answer its health check), 4 down
(nothing answers, or nothing is live); 1 when the state cannot be read at all (an error line).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cicd.deploy import gates
from cicd.deploy.live import Live, inspect
from cicd.deploy.lockholder import expires_at, holder_alive
from cicd.deploy.record import Record
from cicd.deploy.rollback import default_target
from cicd.deploy.target import Target

EXIT_CODES = {"healthy": 0, "degraded": 3, "down": 4}
# statuses of a history row whose version took traffic and may still hold it
_WENT_LIVE = ("succeeded", "paused", "interrupted", "running")


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


def _health(live: Live, hosts: list[dict[str, Any]]) -> str:
    healthy = [row["slot_healthy"] and row["router_healthy"] for row in hosts]
    if live.color and all(healthy):
        return "healthy"
    return "degraded" if any(healthy) else "down"


def _live_row(rows: list[Any], version: str | None) -> Any:
    """The newest history row that put `version` live (it may have been killed after its switch)."""
    return next((r for r in rows if r.version == version and r.status in _WENT_LIVE), None)


def _verification(rows: list[Any], version: str | None) -> dict[str, Any] | None:
    """The newest verdict on `version` (a rollback to it runs none: its deploy's verdict stands)."""
    return next((r.verification for r in rows if r.version == version and r.verification), None)


def _deploy_facts(snap: dict[str, Any], rows: list[Any], live: Live) -> dict[str, Any]:
    row = _live_row(rows, live.version)
    in_sync = live.version is not None and snap.get("current_version") == live.version
    if in_sync:
        at, by = snap.get("deployed_at"), snap.get("deployed_by")
    else:
        at, by = (row.started_at, row.actor) if row else (None, None)
    # A run reads its previous version from the router as it begins: right even after kills that left
    # the record behind; the record's own is the fallback.
    previous = row.previous_version if row else (snap.get("previous_version") if in_sync else None)
    return {
        "record_in_sync": in_sync or live.version is None,
        "previous_version": previous,
        "deployed_at": at,
        "deployed_by": by,
        "deployed_how": f"{row.kind}, {row.status}" if row else None,
        "verification": _verification(rows, live.version),
    }


def _warm_role(live: Live, good: list[str], rows: list[Any]) -> str | None:
    if not live.warm_version:
        return None
    if live.warm_version in good:
        return "rollback target"
    last = next((r for r in rows if r.kind == "rollback" and r.status == "succeeded"), None)
    if last is not None and last.previous_version == live.warm_version:
        return "rolled back from"
    return "not known good"


def _lock(record: Record) -> dict[str, Any] | None:
    lock = record.lock_holder()
    if lock is None:
        return None
    return {
        "actor": lock.actor,
        "host": lock.host,
        "pid": lock.pid,
        "run_id": lock.run_id,
        "purpose": lock.purpose,
        "reason": lock.reason,
        "acquired_at": lock.acquired_at,
        "heartbeat_age_seconds": round(lock.heartbeat_age_seconds, 1),
        "ttl_seconds": lock.ttl_seconds,
        "expires_at": _iso(expires_at(lock)),
        "stale": lock.stale,
        "process_alive": holder_alive(lock),
    }


def _rollback_target(target: Target, live: Live, record: Record) -> dict[str, Any] | None:
    version, how = default_target(live, record)
    if version is None:
        return None
    return {"version": version, "how": how, "command": f"cicd rollback --env {target.environment}"}


def environment_status(target: Target, record: Record) -> dict[str, Any]:
    snap = record.snapshot()
    if not snap.get("locked"):  # a running deploy owns the slots; it expires warm slots itself
        expire_warm(target)
    live = inspect(target)
    warm_over = live.warm_until is not None and live.warm_until < time.time()
    if warm_over:  # still running while a (dead) run holds the lock; the next run stops it: not warm
        live = replace(live, warm_color=None, warm_version=None, warm_until=None)
    hosts = _host_health(target, live.color)
    rows = record.deployments()
    good = record.known_good_versions()
    lock = _lock(record)
    health = _health(live, hosts)
    return {
        "environment": target.environment,
        "health": health,
        "exit_code": EXIT_CODES[health],
        "current_version": live.version,
        "live_color": live.color,
        "traffic": live.traffic.describe() if live.traffic and live.color else "nothing live",
        "url": target.url,
        "known_good": live.version in good,
        **_deploy_facts(snap, rows, live),
        "warm_color": live.warm_color,
        "warm_version": live.warm_version,
        "warm_until": _iso(live.warm_until),
        "warm_role": _warm_role(live, good, rows),
        "rollback_target": _rollback_target(target, live, record),
        "last_known_good": snap.get("last_known_good"),
        "locked": lock is not None and not lock["stale"],
        "lock": lock,
        "lock_holder": f"{lock['actor']} ({lock['reason']})" if lock else None,
        "hosts": hosts,
    }


def _lock_lines(state: dict[str, Any]) -> list[str]:
    lock, env = state["lock"], state["environment"]
    if lock is None:
        return ["  locked    no"]
    where = ", ".join(
        part
        for part in (
            f"pid {lock['pid']}" if lock["pid"] else None,
            f"on {lock['host']}" if lock["host"] else None,
            f"run {lock['run_id']}" if lock["run_id"] else None,
        )
        if part
    )
    alive = {True: "process running", False: "process GONE", None: "process: cannot tell from here"}
    expiry = f"expires {lock['expires_at']}" if lock["expires_at"] else "manual hold, never expires"
    state_word = "STALE (past its TTL)" if lock["stale"] else "yes"
    lines = [
        f"  locked    {state_word}: {lock['actor']} ({lock['purpose']}: {lock['reason']}) {where}".rstrip(),
        f"            since {lock['acquired_at']}, heartbeat {lock['heartbeat_age_seconds']:g}s ago, "
        f"{expiry}, {alive[lock['process_alive']]}",
    ]
    if lock["process_alive"] is False or lock["stale"]:
        steal = f"cicd rollback --env {env} --steal-stale-lock --reason TEXT"
        lines.append(f"            holder is dead: {steal}")
    elif lock["process_alive"] is None and lock["pid"] and lock["host"]:
        lines.append(f"            is it alive? run `ps -p {lock['pid']}` on {lock['host']}")
    return lines


def _warm_line(state: dict[str, Any]) -> str | None:
    if not state["warm_color"]:
        return None
    head = f"  warm      {state['warm_version']} on {state['warm_color']} until {state['warm_until']}"
    if state["warm_role"] == "rollback target":
        return f"{head} (instant rollback target)"
    back = f"cicd rollback --env {state['environment']} --to {state['warm_version']}"
    return f"{head}: {state['warm_role']}, never a default rollback target (to return to it: {back})"


def _rollback_line(state: dict[str, Any]) -> str:
    target = state["rollback_target"]
    if target is None:
        return "  rollback  no known-good release to go back to: name one with --to VERSION"
    how = "instant, warm" if target["how"] == "warm" else "cold: started again through health and smoke"
    return f"  rollback  `{target['command']}` goes to {target['version']} ({how})"


def render_status(state: dict[str, Any]) -> str:
    verification = state["verification"] or {}
    verified = verification.get("phase", "not verified")
    summary = str(verification.get("summary") or "").removeprefix(f"{verified}: ")
    good = "known good" if state["known_good"] else "NOT known good"
    lines = [
        f"{state['environment']}: {state['health']}",
        f"  live      {state['current_version'] or '-'} on {state['live_color'] or '-'} ({state['traffic']})",
        f"  verified  {verified}, {good}" + (f" ({summary})" if summary else ""),
    ]
    if state["deployed_at"]:
        how = f" ({state['deployed_how']})" if state["deployed_how"] else ""
        lines.append(f"  deployed  {state['deployed_at']} by {state['deployed_by']}{how}")
    lines.append(f"  previous  {state['previous_version'] or '-'}")
    if not state["record_in_sync"]:
        lines.append("  record    lags the router (a run was interrupted): these facts come from the history")
    lines += [line for line in (_warm_line(state), _rollback_line(state)) if line]
    lines.append(f"  known good {state['last_known_good'] or '-'} (the newest release marked known good)")
    lines += _lock_lines(state)
    for row in state["hosts"]:
        lines.append(
            f"  host {row['host']}: slot {'ok' if row['slot_healthy'] else 'DOWN'}, "
            f"router {'ok' if row['router_healthy'] else 'DOWN'}"
        )
    return "\n".join(lines) + "\n"
