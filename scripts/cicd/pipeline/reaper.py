"""Runs one job's command so that every process it starts dies with it, `setsid` ones included.

    python3 -I -S reaper.py PARENT_PID GRACE_SECONDS -- bash -c COMMAND

A process group is not enough: `setsid` (or a daemonizing double fork) leaves the group, and a killed
`cicd run` kills nobody. So this small process stands between cicd and the job:

- it is a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant whose parent dies is re-parented to
  it, not to PID 1, so every process the job ever started stays in its tree, whatever its session;
- it asks for SIGTERM when cicd dies (PR_SET_PDEATHSIG), even by SIGKILL;
- when the command exits, or on SIGTERM/SIGINT/SIGHUP, it sends SIGTERM to every descendant, SIGKILL
  after GRACE_SECONDS to whatever is left, reaps them all, and exits as the command did.

It is started as a script with the standard library only (`-I -S`: no site, quick to start). The
subreaper and the parent-death signal are Linux features (GitHub's Linux runners have both); elsewhere
the command's process group is ended instead, which a `setsid` descendant escapes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# Python ignores these; an exec'd command must start with the default action (`yes | head` ends).
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
HAVE_PROCFS = os.path.isdir("/proc/self/task")


class Stop(Exception):
    """Raised by the signal handler to leave the wait for the command."""


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _on_stop(_signum: int, _frame: object) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # one stop is enough; the cleanup must not be interrupted
    raise Stop


def descendants() -> list[int]:
    """Live (non-zombie) processes below this one; none known without procfs (not Linux)."""
    if not HAVE_PROCFS:
        return []
    if os.path.exists(f"/proc/self/task/{os.getpid()}/children"):
        return _walk_children()
    return _scan_proc()


def _walk_children() -> list[int]:
    """Down the tree through /proc/PID/task/TID/children: only our own subtree is read."""
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # exited while we looked
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as listing:
                    children = [int(child) for child in listing.read().split()]
            except OSError:
                continue
            todo += children
            found += [child for child in children if _state(child) not in (b"Z", None)]
    return found


def _state(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _scan_proc() -> list[int]:
    """One pass over all of /proc, for kernels without the children files."""
    children: dict[int, list[tuple[int, bytes]]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        children.setdefault(int(fields[1]), []).append((int(entry), fields[0]))
    found, todo = [], [os.getpid()]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            todo.append(pid)
            if state != b"Z":
                found.append(pid)
    return found


def _reap() -> None:
    """Collect every exited child (re-parented orphans included) without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):  # gone, or a reused pid
            continue


def end_all(grace: float, group: int | None) -> None:
    """SIGTERM (and SIGCONT, so a stopped one can act on it) to every descendant; SIGKILL after `grace`
    to what is left, again and again, so one forking while it is killed is caught too. Without procfs
    (not Linux) the command's process group stands in for the tree, as far as it reaches."""
    pids = descendants()
    for signum in (signal.SIGTERM, signal.SIGCONT):
        _signal_group(group, signum)
        _signal_all(pids, signum)
    deadline = time.monotonic() + grace
    while (pids or _group_left(group)) and time.monotonic() < deadline:
        time.sleep(0.02)  # only on the way out, bounded by the grace period
        _reap()
        pids = descendants()
    _signal_group(group, signal.SIGKILL)
    while pids:
        _signal_all(pids, signal.SIGKILL)
        time.sleep(0.01)
        _reap()
        pids = descendants()
    _reap()


def _signal_group(group: int | None, signum: int) -> None:
    if group is not None:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            return


def _group_left(group: int | None) -> bool:
    """Without procfs only: is anything left in the command's group?"""
    if HAVE_PROCFS or group is None:
        return False
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_for(child: int) -> int:
    """Reap children (orphans re-parented to us too) until `child` exits; its wait status."""
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == child:
            return status


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        import resource  # only here: every import costs each job's start

        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the command's crash, not ours, is the news
        signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    sys.exit(os.waitstatus_to_exitcode(status))


def main(argv: list[str]) -> None:
    parent, grace, command = int(argv[1]), float(argv[2]), argv[4:]
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop)
    status: int | None = None
    child: int | None = None
    try:
        if os.getppid() != parent:  # cicd died before it could ask to be told
            raise Stop
        try:
            # A group of its own: `kill 0` in the job (a common cleanup trap) must not reach us.
            child = os.posix_spawnp(
                command[0], command, os.environ, setpgroup=0, setsigdef=RESTORED_SIGNALS
            )
        except OSError as err:
            print(f"[cicd] cannot start {command[0]}: {err.strerror}", file=sys.stderr, flush=True)
            sys.exit(127)
        status = _wait_for(child)
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # from here on, nothing interrupts
    except Stop:
        pass
    end_all(grace, child)
    if status is None:
        sys.exit(128 + signal.SIGTERM)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv)
