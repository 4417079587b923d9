"""Reading process and socket state of a host from /proc: a Host.get plus a pure parser.

Works the same on this machine and over SSH (Linux targets), and the parsers are tested on recorded text.
"""

from __future__ import annotations

from cicd.hosts.base import Host

LISTEN = "0A"


def parse_listening_ports(text: str) -> set[int]:
    """Ports in LISTEN state in the text of /proc/net/tcp or /proc/net/tcp6."""
    ports = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == LISTEN:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def listening_ports(host: Host) -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        raw = host.get(table)
        if raw:
            ports |= parse_listening_ports(raw.decode(errors="replace"))
    return ports


def parse_stat_state(text: str) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, D, Z, ...). The command name may hold spaces and
    parentheses, so split after the last ')'."""
    _, sep, rest = text.rpartition(")")
    fields = rest.split()
    return fields[0] if sep and fields else None


def process_alive(host: Host, pid: int) -> bool:
    """True while the process exists and is not a zombie (an exited child nobody reaped yet)."""
    raw = host.get(f"/proc/{pid}/stat")
    if raw is None:
        return False
    return parse_stat_state(raw.decode(errors="replace")) not in (None, "Z", "X")
