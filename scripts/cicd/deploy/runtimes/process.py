"""The process runtime: a release directory plus a supervised command with a port, one per color.

Layout on the host (paths from the `deploy.runtime` block):

    <releases_dir>/<version>/      the artifact, copied or extracted once (immutable per version)
    <run_dir>/<color>.json         what runs in the slot: version, port, release dir (written first)
    <run_dir>/<color>.pid          pid of the session leader (written by the start command itself)
    <run_dir>/<color>.log          stdout and stderr of the current start

The command starts detached (its own session) so the deploy that started it can exit or be killed
without taking it down. Everything goes through the Host, so the same code runs over SSH.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cicd.deploy import isolation
from cicd.deploy.runtimes import systemd
from cicd.deploy.runtimes.artifact import Artifact, inspect_artifact
from cicd.deploy.runtimes.base import VERSION_PATTERN, Release, Slot, SlotStatus
from cicd.errors import DeploymentError, HostError
from cicd.hosts.base import Host
from cicd.hosts.procfs import listening_ports, process_alive

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import ProcessRuntime

# Positional arguments, never values pasted into the script: $1 cwd, $2 log, $3 pid file, then argv.
# stdin (the service's environment, see isolation.py) stays readable on fd 3 for the background job.
START_SCRIPT = (
    'exec 3<&0; cd "$1" || exit 97; log=$2; pidfile=$3; shift 3; '
    'setsid "$@" >"$log" 2>&1 </dev/null & '
    'echo $! >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile"'
)
# Supervision, like systemd's Restart=on-failure: the command runs as a child of this loop (the
# session leader whose pid is recorded); a non-zero exit or a kill restarts it after 1 s, then 2, 4 ...
# up to 30 s, back to 1 s once it had run for 30 s. A clean exit (0) ends the slot. SIGTERM (a stop)
# goes to the whole session: the loop then waits for the command to finish draining and exits with
# it, never restarting. $1 is the file counting restarts; the command follows.
SUPERVISE_SCRIPT = (
    'restarts_file=$1; shift; restarts=0; delay=1; stopping=""; '
    'trap \'stopping=1; kill -TERM "$child" 2>/dev/null\' TERM INT; '
    "while :; do "
    'started=$(date +%s); "$@" & child=$!; '
    'wait "$child"; code=$?; '
    'while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done; '
    '[ -n "$stopping" ] && exit "$code"; '
    '[ "$code" -eq 0 ] && exit 0; '
    '[ $(( $(date +%s) - started )) -ge 30 ] && delay=1; '
    "restarts=$((restarts + 1)); "
    'echo "$restarts $code" >"$restarts_file"; '
    'echo "cicd: exited with status $code; restart $restarts in ${delay}s" >&2; '
    'sleep "$delay" & wait $!; '
    '[ -n "$stopping" ] && exit "$code"; '
    "delay=$((delay * 2)); [ $delay -gt 30 ] && delay=30; "
    "done"
)


def _marker_digest(raw: bytes) -> str | None:
    try:
        marker = json.loads(raw)
    except ValueError:
        return None
    return marker.get("digest") if isinstance(marker, dict) else None


class ProcessRuntimeImpl:
    kind = "process"

    def __init__(self, settings: ProcessRuntime, *, environment: str, base_dir: str):
        self.settings = settings
        self.environment = environment
        self.base_dir = base_dir

    # -- paths ---------------------------------------------------------------------------------------
    def _dir(self, host: Host, template: str) -> str:
        return host.resolve(template.replace("{environment}", self.environment))

    def release_dir(self, host: Host, version: str) -> str:
        if not VERSION_PATTERN.match(version):
            raise DeploymentError(f"invalid version {version!r}: use letters, digits and . _ + -")
        return os.path.join(self._dir(host, self.settings.releases_dir), version)

    def _run_file(self, host: Host, slot: Slot, suffix: str) -> str:
        return os.path.join(self._dir(host, self.settings.run_dir), f"{slot.color}.{suffix}")

    # -- releases ------------------------------------------------------------------------------------
    def check_artifact(self, release: Release) -> Artifact:
        """The artifact on the deploying machine, checked, with its digest (before any hook runs)."""
        source = Path(release.artifact or self.settings.default_artifact)
        if not source.is_absolute():
            source = Path(self.base_dir) / source
        return inspect_artifact(source, self.settings.include)

    def prepare(self, host: Host, release: Release, *, rebuild: bool = False) -> str:
        """Unpack the artifact as the version's release dir; returns its digest. A version names one
        content: the same version with another digest is refused, naming both, unless `rebuild`."""
        if self._systemd:  # a host without systemd is refused before its release is unpacked
            systemd.check_running(host)
        artifact = self.check_artifact(release)
        raw = host.get(os.path.join(self.release_dir(host, release.version), ".cicd-release"))
        prepared = _marker_digest(raw) if raw is not None else None
        if raw is not None and prepared in (artifact.digest, None):
            return artifact.digest  # the same content (or a release from before digests): reused
        if raw is not None and not rebuild:
            raise DeploymentError(
                f"version {release.version} is already prepared on {host.name} as {prepared}, but this "
                f"artifact is {artifact.digest}: give the new content a new version, or pass --rebuild "
                "to replace it"
            )
        self._unpack(host, release.version, artifact)
        return artifact.digest

    def prepared_digest(self, host: Host, version: str) -> str | None:
        raw = host.get(os.path.join(self.release_dir(host, version), ".cicd-release"))
        return _marker_digest(raw) if raw is not None else None

    def _unpack(self, host: Host, version: str, artifact: Artifact) -> None:
        final = self.release_dir(host, version)
        incoming = f"{final}.incoming"
        archive = f"{final}.tar.gz"
        host.put(archive, artifact.pack())
        host.run(["rm", "-rf", incoming])
        host.run(["mkdir", "-p", incoming])
        host.run(["tar", "-xzf", archive, "-C", incoming])
        marker = {"version": version, "digest": artifact.digest, "prepared_at": time.time()}
        host.put(os.path.join(incoming, ".cicd-release"), json.dumps(marker).encode())
        host.run(["rm", "-rf", final])
        host.run(["mv", incoming, final])  # one rename: a release dir is complete or absent
        host.run(["rm", "-f", archive])

    def releases(self, host: Host) -> list[str]:
        root = self._dir(host, self.settings.releases_dir)
        result = host.run(
            [
                "find",
                root,
                "-mindepth",
                "2",
                "-maxdepth",
                "2",
                "-name",
                ".cicd-release",
                "-printf",
                "%T@ %h\n",
            ],
            check=False,
        )
        found = []
        for line in result.stdout.splitlines():
            stamp, _, path = line.partition(" ")
            found.append((float(stamp), os.path.basename(path)))
        return [version for _, version in sorted(found)]

    def remove_release(self, host: Host, version: str) -> None:
        host.run(["rm", "-rf", self.release_dir(host, version)])

    # -- slots ---------------------------------------------------------------------------------------
    def command(self, host: Host, slot: Slot, release: Release) -> list[str]:
        values = {
            "port": str(slot.port),
            "version": release.version,
            "color": slot.color,
            "release_dir": self.release_dir(host, release.version),
        }
        return [item.format_map(values) for item in self.settings.command]

    def supervised(self, host: Host, slot: Slot, release: Release) -> list[str]:
        """The command under the restart loop (SUPERVISE_SCRIPT)."""
        restarts = self._run_file(host, slot, "restarts")
        return ["sh", "-c", SUPERVISE_SCRIPT, "cicd-supervise", restarts, *self.command(host, slot, release)]

    def restarts(self, host: Host, slot: Slot) -> tuple[int, int | None]:
        """How often the slot's command was restarted since its start, and its last exit status."""
        if self._systemd:
            shown = systemd.state(host, self._unit(slot))
            count, status = shown.get("NRestarts", ""), shown.get("ExecMainStatus", "")
            return (int(count), int(status) if status.isdigit() else None) if count.isdigit() else (0, None)
        raw = host.get(self._run_file(host, slot, "restarts"))
        fields = raw.decode(errors="replace").split() if raw else []
        if len(fields) != 2 or not all(field.isdigit() for field in fields):
            return 0, None
        return int(fields[0]), int(fields[1])

    def _env(self, slot: Slot, release: Release) -> dict[str, str]:
        facts = {
            **release.env,
            "PORT": str(slot.port),
            "SERVICE_VERSION": release.version,
            "CICD_ENVIRONMENT": self.environment,
            "CICD_COLOR": slot.color,
        }
        return isolation.service_env(self.settings.env, self.settings.secrets, facts)

    @property
    def _systemd(self) -> bool:
        return self.settings.supervisor == "systemd"

    def _unit(self, slot: Slot) -> str:
        return systemd.unit_name(self.environment, slot.color)

    def start(self, host: Host, slot: Slot, release: Release) -> None:
        if self._systemd:
            systemd.check_running(host)
        if self._pid(host, slot) is not None:
            raise DeploymentError(f"{slot.color} slot on {host.name} is still running; stop it first")
        if slot.port in listening_ports(host):
            raise DeploymentError(
                f"port {slot.port} ({slot.color}) on {host.name} is already in use by another process: "
                f"stop it or change deploy.colors.{slot.color}.port"
            )
        release_dir = self.release_dir(host, release.version)
        record = {"version": release.version, "port": slot.port, "release_dir": release_dir}
        host.put(self._run_file(host, slot, "json"), json.dumps(record).encode())
        if self._systemd:
            self._start_unit(host, slot, release)
            return
        host.run(["rm", "-f", self._run_file(host, slot, "restarts")])
        argv = [
            "sh", "-c", START_SCRIPT, "cicd-start", release_dir,
            self._run_file(host, slot, "log"), self._run_file(host, slot, "pid"),
            *isolation.isolated(self.supervised(host, slot, release)),
        ]  # fmt: skip
        try:
            host.run(argv, input=isolation.exports(self._env(slot, release)), timeout=30)
        except HostError as err:
            where = f"{slot.color} on {host.name}"
            raise DeploymentError(f"cannot start {release.version} in {where}: {err}") from err

    def unit_text(self, host: Host, slot: Slot, release: Release) -> str:
        """The systemd unit that runs `release` in `slot` (supervisor: systemd)."""
        return systemd.unit_text(
            description=f"cicd {self.environment}: {release.version} in {slot.color}",
            argv=self.command(host, slot, release),
            working_directory=self.release_dir(host, release.version),
            environment_file=self._run_file(host, slot, "env"),
            log=self._run_file(host, slot, "log"),
            stop_seconds=self.settings.stop_grace_seconds,
        )

    def _start_unit(self, host: Host, slot: Slot, release: Release) -> None:
        # the environment (secrets included) in a file only the deploying user reads, never in the unit
        env_file = systemd.environment_file(self._env(slot, release))
        host.put(self._run_file(host, slot, "env"), env_file.encode(), mode=0o600)
        systemd.start(host, self._unit(slot), self.unit_text(host, slot, release))

    def _pid(self, host: Host, slot: Slot) -> int | None:
        if self._systemd:
            return systemd.main_pid(host, self._unit(slot))
        raw = host.get(self._run_file(host, slot, "pid"))
        if not raw or not raw.strip().isdigit():
            return None
        pid = int(raw.strip())
        return pid if process_alive(host, pid) else None

    def status(self, host: Host, slot: Slot) -> SlotStatus:
        raw = host.get(self._run_file(host, slot, "json"))
        version = json.loads(raw).get("version") if raw else None
        running = self._pid(host, slot) is not None
        restarts, last_exit = self.restarts(host, slot)
        detail = f"restarted {restarts} time(s), last exit status {last_exit}" if restarts else ""
        if not running:
            return SlotStatus(slot.color, False, None, "stopped")
        return SlotStatus(slot.color, True, version, detail, restarts)

    def stop(self, host: Host, slot: Slot, *, grace_seconds: float | None = None) -> None:
        if self._systemd:  # systemd stops the whole group, SIGKILL after the unit's TimeoutStopSec
            systemd.stop(host, self._unit(slot))
            files = [self._run_file(host, slot, suffix) for suffix in ("json", "env")]
            host.run(["rm", "-f", *files])
            return
        pid = self._pid(host, slot)
        grace = self.settings.stop_grace_seconds if grace_seconds is None else grace_seconds
        if pid is not None:
            # The whole session: a command that forks workers leaves none behind.
            host.run(["kill", "-TERM", "--", f"-{pid}"], check=False)
            deadline = time.monotonic() + grace
            while process_alive(host, pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(host, pid):
                host.run(["kill", "-KILL", "--", f"-{pid}"], check=False)
                while process_alive(host, pid) and time.monotonic() < deadline + 5:
                    time.sleep(0.05)
        host.run(["rm", "-f", self._run_file(host, slot, "pid"), self._run_file(host, slot, "json")])

    def logs(self, host: Host, slot: Slot, lines: int = 40) -> str:
        result = host.run(["tail", "-n", str(lines), self._run_file(host, slot, "log")], check=False)
        return result.stdout if result.ok else ""
