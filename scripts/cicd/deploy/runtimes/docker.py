"""The docker runtime: one container per color, driven through the `docker` CLI on the host.

Only the Docker Engine API as the docker CLI speaks it (dockerd in GitHub Actions, podman's compatible
service here, any engine on a remote host over SSH): every command is an argv list run through the Host,
and every answer is parsed by a pure function below. Nothing podman-only.

    <app>-<environment>-<color>      the container of a color, published on 127.0.0.1:<slot port> and
                                     labelled cicd.env / cicd.color / cicd.version
    <image>:<version>                a prepared release: the image, pulled (or tagged from --artifact)
    <state_dir>/releases.json        when each release was prepared, so pruning keeps the newest

Releases retained are images kept; pruning untags old ones and never touches the running, warm or last
known good release (the runner protects those).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cicd.deploy import isolation
from cicd.deploy.runtimes.base import VERSION_PATTERN, Release, Slot, SlotStatus
from cicd.errors import DeploymentError, HostError
from cicd.hosts.base import Host
from cicd.hosts.procfs import listening_ports

if TYPE_CHECKING:  # annotations only: the settings may be a snapshot (cicd/config/snapshot.py)
    from cicd.config.deploy import DockerRuntime

DOCKER = "docker"
STATE_DIR = ".cicd/docker/{environment}"
PULL_TIMEOUT = 900.0
NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
PORT_TAKEN = ("port is already allocated", "address already in use", "bind: address already in use")


@dataclass(frozen=True)
class ContainerState:
    running: bool
    version: str | None
    detail: str


def parse_inspect(stdout: str) -> ContainerState | None:
    """`docker inspect --type container NAME` -> its state; None when the output holds no container."""
    try:
        items = json.loads(stdout)
    except ValueError:
        return None
    if not items:
        return None
    item = items[0]
    state = item.get("State") or {}
    labels = (item.get("Config") or {}).get("Labels") or {}
    running = bool(state.get("Running"))
    status = state.get("Status") or ("running" if running else "stopped")
    detail = status if running else f"{status} (exit code {state.get('ExitCode', '?')})"
    return ContainerState(running, labels.get("cicd.version"), detail)


def parse_image_tags(stdout: str, repository: str) -> list[str]:
    """`docker image ls --format '{{.Repository}}:{{.Tag}}' REPO` -> the tags of that repository.
    Engines may prefix the registry (podman lists `docker.io/library/app`), so match the tail too."""
    tags = []
    for line in stdout.splitlines():
        repo, _, tag = line.strip().rpartition(":")
        if repo and tag and tag != "<none>" and (repo == repository or repo.endswith("/" + repository)):
            tags.append(tag)
    return sorted(set(tags))


def parse_digest(stdout: str, repository: str) -> str | None:
    """`docker image inspect --format '{{json .RepoDigests}} {{.Id}}'` -> the digest of `repository`,
    else the image id. An image pushed under several names carries several digests: match the name."""
    digests_json, _, image_id = stdout.strip().rpartition(" ")
    try:
        digests = json.loads(digests_json) if digests_json else []
    except ValueError:
        digests = []
    for entry in digests or []:
        repo, _, digest = entry.rpartition("@")
        if digest.startswith("sha256:") and (repo == repository or repo.endswith("/" + repository)):
            return digest
    return image_id or None


def _tail(text: str, limit: int = 200) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    return last if len(last) <= limit else last[:limit] + "..."


class DockerRuntimeImpl:
    kind = "docker"

    def __init__(self, settings: DockerRuntime, *, environment: str, base_dir: str):
        self.settings = settings
        self.environment = environment
        self.base_dir = base_dir
        self.app = NAME_UNSAFE.sub("-", settings.image.rsplit("/", 1)[-1].split(":")[0]).strip("-.") or "app"

    # -- names ---------------------------------------------------------------------------------------
    def container(self, slot: Slot) -> str:
        return f"{self.app}-{self.environment}-{slot.color}"

    def image_ref(self, version: str) -> str:
        if not VERSION_PATTERN.match(version):
            raise DeploymentError(f"invalid version {version!r}: use letters, digits and . _ + -")
        return f"{self.settings.image}:{version}"

    def _state_file(self, host: Host) -> str:
        state_dir = STATE_DIR.replace("{environment}", self.environment)
        return host.resolve(os.path.join(state_dir, "releases.json"))

    def _docker(self, host: Host, *args: str, timeout: float = 120.0, env: dict[str, str] | None = None):
        try:
            return host.run([DOCKER, *args], check=False, timeout=timeout, env=env)
        except HostError as err:
            raise DeploymentError(f"docker on {host.name}: {err}") from err

    # -- releases ------------------------------------------------------------------------------------
    def _image_id(self, host: Host, ref: str) -> str | None:
        """The image's content digest (its id, sha256:...) on the host; None when it is not there."""
        found = self._docker(host, "image", "inspect", "--format", "{{.Id}}", ref)
        return found.stdout.strip() or None if found.ok else None

    def prepared_digest(self, host: Host, version: str) -> str | None:
        return self._image_id(host, self.image_ref(version)) if version in self._prepared(host) else None

    def check_artifact(self, release: Release) -> None:
        """Images are checked on the hosts when prepared (they live in a registry, not here)."""

    def prepare(self, host: Host, release: Release, *, rebuild: bool = False) -> str:
        """Pull the image when it is not on the host; an --artifact image is tagged as <image>:<version>.
        Returns the image id. A version already prepared as another image is refused unless `rebuild`."""
        wanted = self.image_ref(release.version)
        source = release.artifact or wanted
        image_id = self._image_id(host, source)
        if image_id is None:
            pulled = self._docker(host, "pull", source, timeout=PULL_TIMEOUT)
            image_id = self._image_id(host, source) if pulled.ok else None
            if image_id is None:
                raise DeploymentError(
                    f"image not found: {source} on {host.name} ({_tail(pulled.stderr or pulled.stdout)}); "
                    "build and push it first, or check the name and tag"
                )
        if source != wanted:
            prepared = self._image_id(host, wanted) if release.version in self._prepared(host) else None
            if prepared not in (None, image_id) and not rebuild:
                raise DeploymentError(
                    f"version {release.version} is already prepared on {host.name} as {prepared}, but "
                    f"{source} is {image_id}: give the new image a new version, or pass --rebuild to "
                    "replace it"
                )
            tagged = self._docker(host, "tag", source, wanted)
            if not tagged.ok:
                detail = _tail(tagged.stderr)
                raise DeploymentError(f"cannot tag {source} as {wanted} on {host.name}: {detail}")
        self._remember(host, release.version)
        return image_id

    def _prepared(self, host: Host) -> dict[str, float]:
        raw = host.get(self._state_file(host))
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _remember(self, host: Host, version: str, *, forget: bool = False) -> None:
        prepared = self._prepared(host)
        if forget:
            prepared.pop(version, None)
        elif version not in prepared:
            prepared[version] = time.time()
        host.put(self._state_file(host), json.dumps(prepared, sort_keys=True).encode())

    def releases(self, host: Host) -> list[str]:
        """Versions prepared here whose image is still on the host, oldest prepared first. Tags of the
        repository this runtime never prepared (built or pulled by hand) are not ours to prune."""
        fmt = "{{.Repository}}:{{.Tag}}"
        listed = self._docker(host, "image", "ls", "--format", fmt, self.settings.image)
        tags = parse_image_tags(listed.stdout, self.settings.image) if listed.ok else []
        prepared = self._prepared(host)
        return sorted((tag for tag in tags if tag in prepared), key=lambda tag: (prepared[tag], tag))

    def remove_release(self, host: Host, version: str) -> None:
        # Untag only (no -f): an image a container still uses stays, the engine refuses.
        self._docker(host, "rmi", self.image_ref(version))
        self._remember(host, version, forget=True)

    def digest(self, host: Host, version: str) -> str | None:
        """The image digest of a prepared release (for the ledger); None when it is not on the host."""
        fmt = "{{json .RepoDigests}} {{.Id}}"
        result = self._docker(host, "image", "inspect", "--format", fmt, self.image_ref(version))
        return parse_digest(result.stdout, self.settings.image) if result.ok else None

    # -- slots ---------------------------------------------------------------------------------------
    def _inspect(self, host: Host, slot: Slot) -> ContainerState | None:
        result = self._docker(host, "inspect", "--type", "container", self.container(slot))
        return parse_inspect(result.stdout) if result.ok else None

    def run_argv(self, slot: Slot, release: Release) -> list[str]:
        """`docker run` for a slot. Environment values are not in argv (`-e NAME` reads them from the
        docker CLI's environment), so they never show in process lists or error messages."""
        argv = [
            DOCKER, "run", "-d", "--name", self.container(slot),
            "-p", f"127.0.0.1:{slot.port}:{self.settings.container_port}",
            "--label", "cicd.managed=true", "--label", f"cicd.env={self.environment}",
            "--label", f"cicd.color={slot.color}", "--label", f"cicd.version={release.version}",
        ]  # fmt: skip
        for name in sorted(self.container_env(slot, release)):
            argv += ["-e", name]
        return [*argv, self.image_ref(release.version)]

    def container_env(self, slot: Slot, release: Release) -> dict[str, str]:
        facts = {
            **release.env,
            "SERVICE_VERSION": release.version,
            "CICD_ENVIRONMENT": self.environment,
            "CICD_COLOR": slot.color,
        }
        return isolation.service_env(self.settings.env, self.settings.secrets, facts)

    def start(self, host: Host, slot: Slot, release: Release) -> None:
        where = f"{slot.color} on {host.name}"
        current = self._inspect(host, slot)
        if current is not None and current.running:
            raise DeploymentError(f"{where} is still running {current.version}; stop it first")
        if current is not None:  # an exited container of ours keeps the name: clear it
            self._docker(host, "rm", "-f", self.container(slot))
        if slot.port in listening_ports(host):
            raise DeploymentError(
                f"port {slot.port} ({slot.color}) on {host.name} is already in use by another process: "
                f"stop it or change deploy.colors.{slot.color}.port"
            )
        argv = self.run_argv(slot, release)
        result = self._docker(host, *argv[1:], timeout=120, env=self.container_env(slot, release))
        if not result.ok:
            self._docker(host, "rm", "-f", self.container(slot))
            message = _tail(result.stderr or result.stdout)
            if any(text in message.lower() for text in PORT_TAKEN):
                raise DeploymentError(
                    f"port {slot.port} ({slot.color}) on {host.name} is already in use: {message}"
                )
            raise DeploymentError(f"cannot start {release.version} in {where}: {message}")

    def status(self, host: Host, slot: Slot) -> SlotStatus:
        state = self._inspect(host, slot)
        if state is None:
            return SlotStatus(slot.color, False, None, "no container")
        return SlotStatus(slot.color, state.running, state.version if state.running else None, state.detail)

    def stop(self, host: Host, slot: Slot, *, grace_seconds: float = 10.0) -> None:
        name = self.container(slot)
        if self._inspect(host, slot) is None:
            return
        grace = str(max(0, round(grace_seconds)))
        self._docker(host, "stop", "-t", grace, name, timeout=grace_seconds + 60)
        removed = self._docker(host, "rm", "-f", name, timeout=60)
        if not removed.ok and self._inspect(host, slot) is not None:
            raise DeploymentError(f"cannot remove container {name} on {host.name}: {_tail(removed.stderr)}")

    def logs(self, host: Host, slot: Slot, lines: int = 40) -> str:
        result = self._docker(host, "logs", "--tail", str(lines), self.container(slot))
        return (result.stdout + result.stderr) if result.ok else ""
