"""HeldLock: keeps a lock fresh from a background thread while a long deploy runs."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from cicd.errors import CicdError
from cicd.state.client import LockLostError

if TYPE_CHECKING:
    from cicd.state.api import StateStore
    from cicd.state.records import Lock

log = logging.getLogger(__name__)


class HeldLock:
    """A held lock plus its heartbeat thread. The thread beats every `interval` seconds (a third of
    the TTL by default, so two missed beats still keep the lock); if the lock was taken over or
    released by force, `lost` is set and `check()` raises, so the deploy stops before the next
    irreversible step instead of racing the new holder."""

    def __init__(self, store: StateStore, lock: Lock, interval: float):
        self.store = store
        self.lock = lock
        self.interval = interval
        self.beats = 0
        self.lost: LockLostError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lock-heartbeat-{lock.environment}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, self.interval * 2))

    def check(self) -> None:
        """Raise LockLostError if the lock is no longer ours. Asks the store, not only the heartbeat
        thread: a run stopped (SIGSTOP, a frozen VM) past its TTL resumes in its main thread first."""
        if self.lost is not None:
            raise self.lost
        try:
            self.store.heartbeat(self.lock)
        except LockLostError as err:
            self.lost = err
            raise
        except CicdError as err:  # unreachable for a moment: the fenced writes still refuse a lost lock
            log.warning("lock check for %s failed: %s", self.lock.environment, err)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.store.heartbeat(self.lock)
                self.beats += 1
            except LockLostError as err:
                self.lost = err
                log.warning("%s", err)
                return
            except CicdError as err:  # a blip (host briefly unreachable): the next beat may succeed
                log.warning("lock heartbeat for %s failed: %s", self.lock.environment, err)
