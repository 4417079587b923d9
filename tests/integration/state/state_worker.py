"""A separate process that uses the state store, for the concurrency tests (run with sys.executable).

state_worker.py race DB ENV START_AT      try the lock at START_AT (epoch); exit 0 won, 3 lost
state_worker.py hold DB ENV TTL SECONDS   hold the lock with heartbeats for SECONDS (inf: until killed)
state_worker.py append DB ENV COUNT       append COUNT ledger entries
"""

from __future__ import annotations

import os
import sys
import time

from cicd.errors import ConcurrencyError
from cicd.state import LockOwner, open_state


def race(store, start_at: float) -> int:
    time.sleep(max(0.0, start_at - time.time()))
    try:
        lock = store.acquire_lock(LockOwner.current(f"racer-{os.getpid()}"), 30, "race")
    except ConcurrencyError as err:
        print(f"lost: {err}", flush=True)
        return 3
    # Keep it (no release): however late a slow racer starts, it must find the lock taken.
    print(f"won {lock.info.pid}", flush=True)
    return 0


def hold(store, ttl: float, seconds: float) -> int:
    with store.locked(LockOwner.current("holder"), ttl_seconds=ttl, reason="long deploy") as held:
        store.start_deployment("9.9.9", actor="holder", reason="long deploy")
        print(f"held {os.getpid()}", flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            held.check()
    print("released", flush=True)
    return 0


def append(store, count: int) -> int:
    for number in range(count):
        store.append_audit({"action": "note", "reason": f"{os.getpid()} #{number}"})
    return 0


def main(argv: list[str]) -> int:
    mode, db, env, *rest = argv
    store = open_state(env, db)
    if mode == "race":
        return race(store, float(rest[0]))
    if mode == "hold":
        return hold(store, float(rest[0]), float(rest[1]))
    return append(store, int(rest[0]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
