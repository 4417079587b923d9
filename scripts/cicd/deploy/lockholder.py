"""Is the holder of an environment's lock still alive? And taking over a lock whose holder is not.

A lock names the host and pid of the process that holds it. When that host is this machine, /proc
answers: the pid is gone, a zombie, or a newer process that reused the pid (it started after the lock
was taken) all mean the holder is dead. On another machine this process cannot tell; a heartbeat older
than the TTL is then the only proof, and the next acquire takes such a lock over by itself.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

from cicd.errors import ConcurrencyError
from cicd.hosts.local import LocalHost
from cicd.hosts.procfs import parse_stat_state

# A process that started this long after the lock was taken cannot be the one that took it.
PID_REUSE_SLACK_SECONDS = 2.0


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def parse_start_ticks(stat: str) -> int | None:
    """Field 22 of /proc/<pid>/stat: start time in clock ticks after boot (after the last ')')."""
    _, sep, rest = stat.rpartition(")")
    fields = rest.split()
    return int(fields[19]) if sep and len(fields) > 19 and fields[19].isdigit() else None


def parse_boot_time(proc_stat: str) -> float | None:
    for line in proc_stat.splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return None


def _started_at(host: LocalHost, stat: str) -> float | None:
    ticks, boot = parse_start_ticks(stat), parse_boot_time((host.get("/proc/stat") or b"").decode())
    if ticks is None or boot is None:
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def holder_alive(lock: Any, here: str | None = None) -> bool | None:
    """True or False when the holder ran on this machine; None when this machine cannot tell (another
    host, or a manual hold with no process)."""
    if lock is None or lock.pid is None or lock.host != (here or socket.gethostname()):
        return None
    host = LocalHost()
    raw = host.get(f"/proc/{lock.pid}/stat")
    if raw is None:
        return False
    stat = raw.decode(errors="replace")
    if parse_stat_state(stat) in (None, "Z", "X"):
        return False
    started = _started_at(host, stat)
    return started is None or started <= _epoch(lock.acquired_at) + PID_REUSE_SLACK_SECONDS


def expires_at(lock: Any) -> float | None:
    """When the lock goes stale without another heartbeat (None: a manual hold never does)."""
    if lock is None or lock.ttl_seconds is None:
        return None
    return time.time() - lock.heartbeat_age_seconds + lock.ttl_seconds


def steal_if_dead(record: Any, environment: str, reason: str) -> str:
    """`--steal-stale-lock`: release the lock of a provably dead holder (audited as lock.steal), say
    what happened; ConcurrencyError when the holder may be alive."""
    lock = record.lock_holder()
    if lock is None:
        return f"{environment} was not locked"
    if lock.stale:
        return f"the lock of {lock.actor} is past its TTL: taken over (lock.recover in the ledger)"
    alive = holder_alive(lock)
    if alive is False:
        proof = f"pid {lock.pid} is not running on {lock.host}"
        record.steal_lock(lock, reason=reason, proof=proof)
        return f"stole the lock of {lock.actor} on {environment}: {proof} (lock.steal in the ledger)"
    if lock.ttl_seconds is None:
        why = "it is a manual hold (cicd lock), which only its owner or `cicd unlock --force` releases"
    elif alive:
        why = f"pid {lock.pid} is still running on {lock.host}"
    else:
        left = max(0.0, lock.ttl_seconds - lock.heartbeat_age_seconds)
        why = (
            f"it was taken on {lock.host or 'another machine'}, where this machine cannot check pid "
            f"{lock.pid}; its heartbeat goes stale in {left:.0f}s (then --wait takes it over)"
        )
    raise ConcurrencyError(
        f"not stealing the lock on {environment} held by {lock.describe()}: {why}",
        hint=f"check with `ps -p {lock.pid}` on {lock.host}" if lock.pid and lock.host else None,
    )
