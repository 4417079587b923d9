"""Publishing flag definitions: one atomic write per host of an environment, audited in its ledger.

Where the truth lives: the file on the environment's hosts (`.cicd/flags/<env>.json`, resolved on each
host) is what services read, through OpenFeature's flagd provider in file mode, which notices a new
file within its poll interval. config/flags/<env>.json in the repository is the reviewed definition:
`cicd flags push` publishes it, and every change made with `cicd flags` is written back to it (when it
exists) so `git diff` shows what changed on the hosts.

A change is checked against flagd's schema before any host sees it, and either reaches every host or
none: when a host fails the write, the hosts written before it get their previous file back. Changes
are serialised by the `flags` lease in the environment's state store: two made at once both land.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cicd.errors import CicdError, ConfigValidationError, DeploymentError, UsageError
from cicd.flags.definitions import FlagSummary, summarize
from cicd.flags.schema import check_flag_file, problems_in
from cicd.hosts.base import Host

if TYPE_CHECKING:
    from cicd.config.context import EnvironmentContext
    from cicd.state.api import StateStore

LIVE_PATH = ".cicd/flags/{environment}.json"


def live_path(host: Host, environment: str) -> str:
    return host.resolve(LIVE_PATH.replace("{environment}", environment))


def encode(data: dict) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


@dataclass
class FlagTarget:
    """An environment's flag files: its hosts (the first holds the ledger) and the reviewed definition."""

    environment: str
    hosts: list[Host]
    config_file: Path
    open_ledger: Callable[[], StateStore]

    def read_live(self) -> dict | None:
        raw = self.hosts[0].get(live_path(self.hosts[0], self.environment))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError as err:
            where = f"{live_path(self.hosts[0], self.environment)} on {self.hosts[0].name}"
            hint = "publish it again: cicd flags push"
            raise CicdError(f"{where} is not valid JSON ({err})", hint=hint) from err
        return data if isinstance(data, dict) else None

    def disagreeing(self) -> list[str]:
        """Hosts whose flag file differs from the first host's. A change reaches every host or none,
        so a difference is a change killed between two hosts (or a hand edit): the first host, which
        list and show read, then says nothing about the others."""
        first = self.hosts[0].get(live_path(self.hosts[0], self.environment))
        return [host.name for host in self.hosts[1:] if host.get(live_path(host, self.environment)) != first]

    def read_config(self) -> dict:
        checked = check_flag_file(self.config_file)
        if checked.problems:
            raise ConfigValidationError(checked.problems)
        return dict(checked.model)

    def current(self) -> tuple[dict, str]:
        """The definitions in force and where they were read: the hosts, else the repository file."""
        live = self.read_live()
        if live is not None:
            return live, f"{self.hosts[0].name}:{live_path(self.hosts[0], self.environment)}"
        if not self.config_file.is_file():
            raise UsageError(
                f"no flags for {self.environment}: {self.config_file} does not exist and none are published",
                hint=f"create {self.config_file} in flagd's format (docs/DEPLOYMENT.md, Feature flags)",
            )
        return self.read_config(), f"{self.config_file} (not published yet)"


@dataclass
class Published:
    hosts: list[str]
    elapsed_ms: float
    before: FlagSummary | None = None
    after: FlagSummary | None = None
    entry_seq: int | None = None
    changed_files: list[str] = field(default_factory=list)


def _restore(host: Host, path: str, previous: bytes | None) -> None:
    if previous is None:
        host.run(["rm", "-f", path], check=False)
    else:
        host.put(path, previous)


def _put_back(done: list[tuple[Host, str, bytes | None]]) -> str:
    """Give the hosts already written their old file back; says what happened, for the error."""
    failed = []
    for host, path, previous in reversed(done):
        try:
            _restore(host, path, previous)
        except (CicdError, OSError):
            failed.append(host.name)
    if failed:
        return f"could not put back the old file on {', '.join(failed)}: run the command again"
    return f"{len(done)} host(s) already written were put back"


def write_everywhere(target: FlagTarget, data: dict) -> list[str]:
    """Write `data` to every host, or to none: the hosts already written get their old file back."""
    problems = problems_in(data, None, "flag definitions")
    if problems:
        raise ConfigValidationError(problems)
    payload = encode(data)
    done: list[tuple[Host, str, bytes | None]] = []
    for host in target.hosts:
        try:
            path = live_path(host, target.environment)  # over ssh, resolving is a command too
            previous = host.get(path)
            host.put(path, payload)
        except (CicdError, OSError) as err:
            raise DeploymentError(
                f"flag change not applied: cannot write {LIVE_PATH} on {host.name} ({err}); "
                + _put_back(done)
            ) from err
        done.append((host, path, previous))
    return [host.name for host, _path, _old in done]


def _write_config(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(encode(data))
    os.replace(temporary, path)


# Flag changes take this lease in the environment's state store, so two at once never both read the
# same file and the second write drops the first one's change. Not the deploy lock: a kill switch must
# work during a deploy (or a rollout, which holds that lock). A holder killed mid-change delays the next
# change by at most the lease's TTL, which grows with the hosts to write.
FLAGS_LEASE = "flags"
LEASE_SECONDS, LEASE_SECONDS_PER_HOST = 10.0, 2.0
# Test-only: hold the lease this long between reading and writing (widens the window a lost update needs).
PAUSE_ENV = "CICD_TEST_FLAGS_PAUSE_SECONDS"


def apply_change(
    target: FlagTarget,
    action: str,
    name: str | None,
    edit: Callable[[dict], dict],
    reason: str | None,
    *,
    write_back: bool = True,
) -> Published:
    """Under the flags lease: read the definitions in force, apply `edit`, publish to every host, write
    back the repository file, and append `flag.<action>` to the ledger with the flag's state before and
    after."""
    from cicd.state.records import LockOwner

    store = target.open_ledger()
    owner, why = LockOwner.current(store.actor), f"flag.{action} {name or 'all flags'}"
    ttl = LEASE_SECONDS + LEASE_SECONDS_PER_HOST * len(target.hosts)
    with store.leased(FLAGS_LEASE, owner, why, ttl_seconds=ttl, wait_seconds=ttl + 5):
        current, _source = target.current()
        changed = edit(current)
        time.sleep(float(os.environ.get(PAUSE_ENV) or 0))
        result = _publish(target, current, changed, name, write_back=write_back)
        entry = store.append_audit({
            "action": f"flag.{action}",
            "reason": reason,
            "outcome": "applied",
            "details": {
                "flag": name,
                "before": result.before.describe() if result.before else None,
                "after": result.after.describe() if result.after else None,
                "hosts": result.hosts,
            },
        })  # fmt: skip
    result.entry_seq = entry.seq
    return result


def _publish(
    target: FlagTarget, current: dict, changed: dict, name: str | None, *, write_back: bool
) -> Published:
    started = time.monotonic()
    result = Published(write_everywhere(target, changed), (time.monotonic() - started) * 1000)
    if name is not None:
        result.before, result.after = summarize(current, name), summarize(changed, name)
    if write_back and target.config_file.parent.is_dir():
        _write_config(target.config_file, changed)
        result.changed_files.append(str(target.config_file))
    return result


def flag_target(config_dir: Path, environment: str, env: EnvironmentContext | None = None) -> FlagTarget:
    """The flag files of `environment` from its config (`env` when already loaded): hosts from
    deploy.hosts, ledger on the first."""
    from cicd.config import load_environment
    from cicd.hosts import build_host
    from cicd.state import open_state

    env = env or load_environment(config_dir, environment)
    if env.deploy is None:
        raise UsageError(f"environment {env.name} has no deploy block, so no hosts to publish flags to")
    base_dir = str(Path(config_dir).resolve().parent)
    hosts: Sequence[Host] = [build_host(spec, base_dir=base_dir) for spec in env.deploy.hosts]
    state_path = env.deploy.state_path
    return FlagTarget(
        env.name,
        list(hosts),
        Path(config_dir) / "flags" / f"{env.name}.json",
        lambda: open_state(env.name, state_path, hosts[0]),
    )
