"""Access logs do not grow without end: at each deploy, a router log past ACCESS_LOG_LIMIT_BYTES is
copied to `<log>.1` (replacing the previous copy) and truncated in place.

Copy-and-truncate, not rename-and-reopen, because it works the same for every router and host: nginx
opens its logs for appending, and HAProxy's access log is its stdout appended to the file, so both go
on writing at the new end of the truncated file with no signal. Lines written between the copy and the
truncation are lost: a few lines, once per LIMIT of traffic. Log readers (checks/logsource.py) follow
truncation. A rotation that fails (a full disk) is reported and never stops the deploy.
"""

from __future__ import annotations

import os

from cicd.deploy.report import Reporter
from cicd.deploy.target import Target
from cicd.errors import HostError
from cicd.hosts.base import Host

ACCESS_LOG_LIMIT_BYTES = 64 * 1024 * 1024
# Besides the access log: nginx's private preview listener's log, and the router's error log (nginx's
# error_log, HAProxy's stderr), all opened for appending.
SIBLING_LOGS = ("preview.log", "error.log")


# POSIX and python3 only (python3 is on every host already: the state store runs with it), so a
# laptop's BSD userland rotates the same way as a Linux host.
SIZE_COMMAND = ["python3", "-c", "import os, sys; print(os.path.getsize(sys.argv[1]))"]


def rotation_commands(path: str) -> list[list[str]]:
    # `cp /dev/null` truncates in place (the writers keep their file), where `truncate` is GNU only.
    return [["cp", "-f", "--", path, path + ".1"], ["cp", "--", "/dev/null", path]]


def rotate_access_logs(target: Target, out: Reporter, limit: int = ACCESS_LOG_LIMIT_BYTES) -> None:
    for host in target.hosts:
        access = target.router.access_log_path(host)
        folder = os.path.dirname(access)
        for path in (access, *(os.path.join(folder, name) for name in SIBLING_LOGS)):
            try:
                if rotate_if_large(host, path, limit):
                    out.line(f"  rotated {path} on {host.name}: over {limit} bytes (kept as {path}.1)")
            except HostError as err:
                out.phase("warn", "logs", f"could not rotate {path} on {host.name}: {err}")


def rotate_if_large(host: Host, path: str, limit: int) -> bool:
    size = host.run([*SIZE_COMMAND, path], check=False)
    if not size.ok or int(size.stdout.strip() or 0) <= limit:
        return False
    for argv in rotation_commands(path):
        host.run(argv)
    return True
