"""SIGTERM while a deploy or rollback holds its lock (a cancelled CI job, a service manager stopping
the deployer) takes the path of any other failure: clean up, record the outcome, exit non-zero. A
second SIGTERM during that cleanup is ignored; SIGKILL stays the way to stop at once (the next run
converges what it leaves)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived during a deploy or rollback (exits like an interrupt, 130)."""

    def __str__(self) -> str:
        return "terminated (SIGTERM)"


def _terminate(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
    raise Terminated()


@contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread (elsewhere: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
