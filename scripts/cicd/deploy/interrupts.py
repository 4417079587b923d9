"""SIGTERM or SIGINT while a deploy or rollback holds its lock (a cancelled CI job: Actions sends
SIGINT, then SIGTERM 7.5 s later; a service manager stopping the deployer; Ctrl-C) takes the path of
any other failure: clean up, record the outcome, exit 128 + the signal (130, 143). Further signals
of either kind are ignored until that cleanup is done; SIGKILL stays the way to stop at once (the
next run converges)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """A stop signal arrived during a deploy or rollback (the CLI exits 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}"


def _stop(signum, frame) -> None:
    for each in SIGNALS:  # let the cleanup finish
        signal.signal(each, signal.SIG_IGN)
    raise Terminated(signum)


@contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise Terminated in the main thread (elsewhere: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {each: signal.signal(each, _stop) for each in SIGNALS}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
