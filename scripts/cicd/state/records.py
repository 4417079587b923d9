"""What the state store hands back: small frozen dataclasses built from the store's JSON answers."""

from __future__ import annotations

import dataclasses
import functools
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from cicd import identity
from cicd.inputs import printable


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


def _pick(cls: type, data: dict) -> dict:
    # Once per class, not per record: a report reads tens of thousands of history rows.
    names = _field_names(cls)
    return {key: value for key, value in data.items() if key in names}


def _printable(data: dict, *keys: str) -> dict:
    """A lock's free text stored by an older version, or by a tool other than cicd, shown as one clean
    line wherever the lock is described. History and ledger entries stay as stored (the ledger's hashes
    cover them); their tables clean what they show (render.py)."""
    return {
        key: printable(value) if key in keys and isinstance(value, str) else value
        for key, value in data.items()
    }


def current_actor() -> str:
    """Who is acting (cicd.identity): the GitHub actor inside Actions, else account@host of this process."""
    return identity.actor()


def current_run_id() -> str | None:
    return identity.run_id()


@dataclass(frozen=True)
class LockOwner:
    actor: str
    host: str | None = None
    pid: int | None = None
    run_id: str | None = None

    @classmethod
    def current(cls, actor: str | None = None) -> LockOwner:
        return cls(actor or current_actor(), socket.gethostname(), os.getpid(), current_run_id())

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LockInfo:
    """The lock as anyone may see it (no token)."""

    actor: str
    host: str | None
    pid: int | None
    run_id: str | None
    reason: str
    purpose: str
    ttl_seconds: float | None
    acquired_at: str
    heartbeat_at: str
    held_seconds: float
    heartbeat_age_seconds: float
    stale: bool

    @classmethod
    def from_dict(cls, data: dict) -> LockInfo:
        return cls(**_printable(_pick(cls, data), "reason"))

    @classmethod
    def optional(cls, data: dict | None) -> LockInfo | None:
        return cls.from_dict(data) if data else None

    def describe(self) -> str:
        """`alice on runner-7 (pid 42, run 987) since 2026-...Z, reason: deploy 1.2.0`"""
        where = []
        if self.pid is not None:
            where.append(f"pid {self.pid}")
        if self.run_id:
            where.append(f"run {self.run_id}")
        text = self.actor + (f" on {self.host}" if self.host else "")
        text += f" ({', '.join(where)})" if where else ""
        return f"{text} since {self.acquired_at}, reason: {self.reason}"


@dataclass(frozen=True)
class Lock:
    """A lock this run holds: the token proves ownership for heartbeat and release."""

    environment: str
    token: str
    info: LockInfo
    recovered_from: LockInfo | None = None

    @property
    def ttl_seconds(self) -> float | None:
        return self.info.ttl_seconds


@dataclass(frozen=True)
class Deployment:
    id: int
    kind: str
    version: str
    status: str
    actor: str
    started_at: str
    previous_version: str | None = None
    artifact: str | None = None
    digest: str | None = None
    strategy: str | None = None
    run_id: str | None = None
    reason: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    phases: list[dict] = field(default_factory=list)
    error: str | None = None
    verification: dict | None = None  # {phase, summary} of the post-switch verification, if one ran

    @classmethod
    def from_dict(cls, data: dict) -> Deployment:
        return cls(**_pick(cls, data))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DeploymentState:
    """The seeds' Deployment State contract plus where traffic is; health and warm color come from
    the deployer, which reads them from the target."""

    environment: str
    current_version: str | None
    previous_version: str | None
    deployed_at: str | None
    deployed_by: str | None
    locked: bool
    live_color: str | None = None
    digest: str | None = None
    run_id: str | None = None
    deployment_id: int | None = None
    lock: LockInfo | None = None
    health: str | None = None
    warm_color: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> DeploymentState:
        values = _pick(cls, data)
        values["lock"] = LockInfo.optional(data.get("lock"))
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Release:
    version: str
    artifact: str | None
    digest: str | None
    recorded_at: str
    last_deployed_at: str | None
    known_good: bool
    last_known_good: bool
    live: bool
    previous: bool

    @classmethod
    def from_dict(cls, data: dict) -> Release:
        return cls(**_pick(cls, data))


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    environment: str
    action: str
    actor: str | None = None
    run_id: str | None = None
    version: str | None = None
    digest: str | None = None
    reason: str | None = None
    outcome: str | None = None
    details: dict = field(default_factory=dict)
    hash: str | None = None
    identity: dict | None = None  # {kind: github-actions | local, host, run_id, workflow}; older: None

    @classmethod
    def from_dict(cls, data: dict) -> AuditEntry:
        return cls(**_pick(cls, data))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AuditReport:
    """`ok` when the chain is intact; otherwise the first entry that does not fit and why."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> AuditReport:
        return cls(**_pick(cls, data))
