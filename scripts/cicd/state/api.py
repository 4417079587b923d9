"""StateStore: lock, history, current state, releases and the audit ledger of one environment."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from cicd.errors import CicdError
from cicd.state.client import LockHeldError, Transport, poll_until
from cicd.state.heartbeat import HeldLock
from cicd.state.records import (
    AuditEntry,
    AuditReport,
    Deployment,
    DeploymentState,
    Lock,
    LockInfo,
    LockOwner,
    Release,
    current_actor,
    current_run_id,
)

DEFAULT_STATE_PATH = ".cicd/state/{environment}.db"
# Writes a deploy makes while it holds the lock carry its fencing token: the store refuses them once
# the lock was forced away or taken over, in the same transaction as the write.
FENCED_OPS = frozenset(
    {
        "deployment_start", "deployment_finish", "deployment_verified", "set_current", "release_record",
        "release_mark_good", "release_revoke_good", "release_forget", "audit_append", "promotion_transition",
    }
)  # fmt: skip
log = logging.getLogger(__name__)


class StateStore:
    """One environment's state. Every method is one request to store.py (see cicd.state)."""

    def __init__(self, environment: str, transport: Transport, actor: str | None = None):
        self.environment = environment
        self._transport = transport
        # Who the records name when a call does not say: one spelling for every entry of a run.
        self.actor = actor or current_actor()
        self._fence: str | None = None  # the token of the lock held by `locked()`

    def __repr__(self) -> str:
        return f"StateStore({self.environment!r} at {self._transport.where})"

    @property
    def where(self) -> str:
        return self._transport.where

    def _call(self, op: str, **args: Any) -> Any:
        if self._fence is not None and op in FENCED_OPS:
            args["fence"] = self._fence
        return self._transport.call(op, args)

    # ------------------------------------------------------------ lock

    def acquire_lock(
        self,
        owner: LockOwner,
        ttl_seconds: float | None,
        reason: str,
        *,
        wait_seconds: float = 0,
        purpose: str = "deploy",
        poll_seconds: float = 0.5,
    ) -> Lock:
        """Take the lock, or raise LockHeldError naming the holder (after polling up to wait_seconds).
        A lock whose heartbeat is older than its TTL is taken over and the takeover is audited.
        ttl_seconds None: a manual hold that never goes stale (released with `cicd unlock`)."""

        def attempt() -> Lock:
            answer = self._call(
                "lock_acquire", owner=owner.as_dict(), reason=reason, ttl_seconds=ttl_seconds, purpose=purpose
            )
            return Lock(
                self.environment,
                answer["token"],
                LockInfo.from_dict(answer),
                LockInfo.optional(answer.get("recovered_from")),
            )

        deadline = time.monotonic() + max(0.0, wait_seconds)
        try:
            return poll_until(deadline, attempt, poll_seconds)
        except LockHeldError as err:
            if wait_seconds > 0:
                err.message = f"{err.message} (waited {wait_seconds:g}s)"
            raise

    def heartbeat(self, lock: Lock) -> LockInfo:
        """Refresh the lock; LockLostError if it was released by force or taken over meanwhile."""
        return LockInfo.from_dict(self._call("lock_heartbeat", token=lock.token))

    def release(self, lock: Lock) -> bool:
        """Release the lock if this run still holds it; False when it no longer did."""
        return bool(self._call("lock_release", token=lock.token))

    @contextmanager
    def locked(
        self,
        owner: LockOwner,
        ttl_seconds: float,
        reason: str,
        *,
        wait_seconds: float = 0,
        heartbeat_seconds: float | None = None,
    ) -> Iterator[HeldLock]:
        """Hold the lock for a block, heartbeating in a thread; released on the way out, even on error.
        Call `held.check()` before each irreversible step: it raises LockLostError if the lock was lost."""
        lock = self.acquire_lock(owner, ttl_seconds, reason, wait_seconds=wait_seconds)
        held = HeldLock(self, lock, heartbeat_seconds or max(0.05, ttl_seconds / 3))
        held.start()
        self._fence = lock.token
        try:
            yield held
        finally:
            self._fence = None
            held.stop()
            try:
                self.release(lock)
            except CicdError as err:  # e.g. the host went away: the lock expires after its TTL anyway
                log.warning(
                    "could not release the lock on %s (it expires %gs after its last heartbeat): %s",
                    self.environment,
                    ttl_seconds,
                    err,
                )

    @contextmanager
    def leased(
        self, name: str, owner: LockOwner, reason: str, *, ttl_seconds: float, wait_seconds: float
    ) -> Iterator[dict]:
        """Hold the short lease `name` (state/store/leases.py) for a block, waiting up to wait_seconds
        for its holder; the environment lock is neither needed nor touched. Yields the expired lease
        taken over, if there was one (its holder was killed mid-change)."""

        def attempt() -> dict:
            return self._call(
                "lease_acquire", name=name, owner=owner.as_dict(), reason=reason, ttl_seconds=ttl_seconds
            )

        answer = poll_until(time.monotonic() + wait_seconds, attempt, 0.05)
        try:
            yield answer.get("expired") or {}
        finally:
            try:
                self._call("lease_release", name=name, token=answer["token"])
            except CicdError as err:  # the lease expires after its TTL anyway
                log.warning("could not release the %s lease of %s: %s", name, self.environment, err)

    def lock_info(self) -> LockInfo | None:
        return LockInfo.optional(self._call("lock_info"))

    def steal_lock(self, holder: LockInfo, *, reason: str, proof: str, actor: str | None = None) -> None:
        """Release the lock of `holder`, whose process the caller proved gone (`proof` says how), only
        if that holder still has it; LockHeldError naming the new holder otherwise. Audited."""
        self._call(
            "lock_steal",
            actor=actor or self.actor,
            run_id=current_run_id(),
            reason=reason,
            proof=proof,
            holder={k: getattr(holder, k) for k in ("actor", "host", "pid", "acquired_at")},
        )

    def unlock_own(self, actor: str | None = None, reason: str | None = None) -> LockInfo | None:
        """Release the lock held by `actor` (default: the current actor); LockHeldError if another
        actor holds it. Returns what was released, None if the environment was not locked."""
        return LockInfo.optional(
            self._call(
                "lock_release_owned", actor=actor or self.actor, run_id=current_run_id(), reason=reason
            )
        )

    def force_unlock(self, reason: str, actor: str | None = None) -> LockInfo | None:
        """Release whatever lock is held, recorded in the ledger with who and why."""
        return LockInfo.optional(
            self._call(
                "lock_force_release", actor=actor or self.actor, run_id=current_run_id(), reason=reason
            )
        )

    # ------------------------------------------------------------ deployments

    def start_deployment(
        self,
        version: str,
        *,
        kind: str = "deploy",
        actor: str | None = None,
        run_id: str | None = None,
        reason: str | None = None,
        previous_version: str | None = None,
        artifact: str | None = None,
        digest: str | None = None,
        strategy: str | None = None,
    ) -> int:
        """Record a deployment (kind "deploy" or "rollback") as running; returns its id."""
        return int(
            self._call(
                "deployment_start",
                kind=kind,
                version=version,
                actor=actor or self.actor,
                run_id=run_id or current_run_id(),
                reason=reason,
                previous_version=previous_version,
                artifact=artifact,
                digest=digest,
                strategy=strategy,
            )
        )

    def finish_deployment(
        self,
        deployment_id: int,
        status: str,
        *,
        phases: list[dict] | None = None,
        error: str | None = None,
        digest: str | None = None,
    ) -> Deployment:
        """status: succeeded | failed | rolled_back | aborted | interrupted. phases: [{name, status,
        seconds, detail}] in order; their timings go to the ledger too."""
        return Deployment.from_dict(
            self._call(
                "deployment_finish",
                deployment_id=deployment_id,
                status=status,
                phases=phases or [],
                error=error,
                digest=digest,
            )
        )

    def set_current(
        self,
        version: str,
        *,
        color: str | None = None,
        digest: str | None = None,
        deployed_by: str | None = None,
        artifact: str | None = None,
        run_id: str | None = None,
        deployment_id: int | None = None,
        reason: str | None = None,
    ) -> DeploymentState:
        """Traffic now goes to `version` (audited as traffic.switch); the old one becomes previous."""
        return DeploymentState.from_dict(
            self._call(
                "set_current",
                version=version,
                deployed_by=deployed_by or self.actor,
                color=color,
                digest=digest,
                artifact=artifact,
                run_id=run_id or current_run_id(),
                deployment_id=deployment_id,
                reason=reason,
            )
        )

    def record_verification(self, deployment_id: int, phase: str, summary: str) -> Deployment:
        """Store a deployment's verification verdict (ledger: deploy.verification)."""
        return Deployment.from_dict(
            self._call("deployment_verified", deployment_id=deployment_id, phase=phase, summary=summary)
        )

    def current(self) -> DeploymentState:
        return DeploymentState.from_dict(self._call("current"))

    def history(self, limit: int = 20, *, kind: str | None = None) -> list[Deployment]:
        """Newest first."""
        return [Deployment.from_dict(row) for row in self._call("history", limit=limit, kind=kind)]

    def last_good(self, exclude: Iterable[str | None] = ()) -> str | None:
        """The newest version whose deployment succeeded, other than those in `exclude`."""
        return self._call("last_good", exclude=[v for v in exclude if v])

    # ------------------------------------------------------------ releases

    def record_release(self, version: str, artifact: str | None = None, digest: str | None = None) -> None:
        self._call(
            "release_record",
            version=version,
            artifact=artifact,
            digest=digest,
            actor=self.actor,
            run_id=current_run_id(),
        )

    def mark_known_good(self, version: str) -> None:
        self._call("release_mark_good", version=version, actor=self.actor, run_id=current_run_id())

    def revoke_known_good(self, version: str, reason: str | None = None) -> bool:
        """`version` was rolled back from: no longer known good (ledger: release.rolled_back_from)."""
        return bool(
            self._call(
                "release_revoke_good",
                version=version,
                actor=self.actor,
                run_id=current_run_id(),
                reason=reason,
            )
        )

    def releases(self) -> list[Release]:
        """Newest (last deployed, else recorded) first."""
        return [Release.from_dict(row) for row in self._call("releases")]

    def last_known_good(self) -> str | None:
        return next((r.version for r in self.releases() if r.last_known_good), None)

    def prune_plan(self, keep: int, protect: Iterable[str | None] = ()) -> list[str]:
        """Versions to remove beyond the newest `keep`: never the live, previous or last known good
        version, nor any in `protect` (e.g. the warm color's)."""
        return list(self._call("prune_plan", keep=keep, protect=[v for v in protect if v]))

    def forget_release(self, version: str, reason: str | None = None) -> bool:
        """Drop a pruned release from the record (audited)."""
        return bool(
            self._call(
                "release_forget",
                version=version,
                actor=self.actor,
                run_id=current_run_id(),
                reason=reason,
            )
        )

    # ------------------------------------------------------------ audit ledger

    def append_audit(self, entry: dict[str, Any]) -> AuditEntry:
        """Append {action, version?, digest?, reason?, outcome?, details?, actor?, run_id?}; actor and
        run id default to the current ones. Unknown keys go into details."""
        known = {"action", "actor", "run_id", "version", "digest", "reason", "outcome", "details"}
        body = {key: value for key, value in entry.items() if key in known}
        extra = {key: value for key, value in entry.items() if key not in known}
        body["details"] = {**(body.get("details") or {}), **extra}
        body.setdefault("actor", self.actor)
        body.setdefault("run_id", current_run_id())
        return AuditEntry.from_dict(self._call("audit_append", entry=body))

    def audit_entries(self, limit: int = 50) -> list[AuditEntry]:
        """The newest `limit` entries, oldest first."""
        return [AuditEntry.from_dict(row) for row in self._call("audit_entries", limit=limit)]

    def verify_audit(self) -> AuditReport:
        return AuditReport.from_dict(self._call("audit_verify"))

    def audit_head(self) -> dict:
        """{seq, hash} of the newest entry (seq 0 and the genesis hash when empty)."""
        return dict(self._call("audit_head"))

    def audit_hash_at(self, seq: int) -> str | None:
        return self._call("audit_hash_at", seq=seq)

    def audit_seq_of(self, digest: str) -> int | None:
        """The seq of the entry whose hash is `digest`, None when the chain holds no such entry."""
        return self._call("audit_seq_of", digest=digest)

    # ------------------------------------------------------------ hands-off promotion

    def promotion(self) -> dict | None:
        """The environment's promotion state (cicd.promotion), None when it never had one."""
        return self._call("promotion")

    def promotion_transition(self, state: dict, expected_revision: int, entry: dict) -> dict:
        """Move the promotion from `expected_revision` to `state`, with `entry` in the ledger in the same
        transaction; refused (StateError) when another runner moved it first."""
        body = {**entry, "actor": entry.get("actor") or self.actor, "run_id": current_run_id()}
        return dict(
            self._call("promotion_transition", state=state, expected_revision=expected_revision, entry=body)
        )


def open_state(
    environment: str,
    path: str = DEFAULT_STATE_PATH,
    host: Any = None,
    *,
    in_process: bool | None = None,
    python: str | None = None,
    actor: str | None = None,
) -> StateStore:
    """The state store of `environment` at `path` ({environment} is filled in) on `host`: in process
    when host is None or a LocalHost (relative paths against its cwd), else on the host through
    `python3 -` (or `python`, the interpreter to run there). in_process=False forces the
    out-of-process path, e.g. through a LocalHost. `actor` names who acts in every record that does
    not say otherwise (default: cicd.identity, the GitHub actor in Actions, else account@host)."""
    resolved = path.replace("{environment}", environment)
    transport = Transport(environment, resolved, host, in_process=in_process, python=python)
    return StateStore(environment, transport, actor)
