"""What the orchestrator records about a run, on top of cicd.state (history, ledger, lock, releases).

`Record` is the small surface the runner needs; `StateRecord` implements it with cicd.state, and
`NullRecord` (dry runs, status without state) records nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

# `--wait`: how long a deploy waits for another run's lock before giving up (Kamal's lock-wait).
WAIT_FOR_LOCK_SECONDS = 900.0


class Record:
    """No-op base: a dry run records nothing."""

    deployment_id: int | None = None  # the history row of the run begun (none in a dry run)

    def lock(self, *, owner: str, reason: str, ttl: float, wait: bool) -> AbstractContextManager[Any]:
        return nullcontext()

    def begin(
        self,
        *,
        kind: str,
        version: str,
        strategy: str,
        actor: str,
        reason: str | None,
        previous_version: str | None,
    ) -> None:
        pass

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        pass

    def finish(
        self, status: str, detail: str, *, live_version: str | None, live_color: str | None, figures: dict
    ) -> None:
        pass

    def check(self) -> None:
        """Before an irreversible step: raise if the lock was lost (forced away, taken over)."""

    def switched(self, version: str | None, color: str | None, reason: str | None = None) -> None:
        """All traffic now goes to `version` on `color`: current and previous change with the switch
        itself (a traffic.switch ledger entry), so a kill right after it cannot leave them behind."""

    def current_version(self) -> str | None:
        """What the state says is live (the router says what is; converge repairs the difference)."""
        return None

    def audit(self, entry: dict[str, Any]) -> None:
        """Append one ledger entry ({action, outcome, details, ...})."""

    def ledger_head(self) -> dict:
        """{seq, hash} of the ledger's newest entry (anchor.py keeps it beside the router config)."""
        return {}

    def ledger_hash_at(self, seq: int) -> str | None:
        return None

    def ledger_seq_of(self, digest: str) -> int | None:
        return None

    def release(self, version: str, artifact: str | None, digest: str | None = None) -> None:
        pass

    def forget(self, version: str) -> None:
        pass

    def warm(self, color: str, version: str | None, until: float) -> None:
        pass

    def verified(self, phase: str, summary: str) -> None:
        """The verification verdict of this run (Successful, Failed, Inconclusive, Error)."""

    def mark_known_good(self, version: str) -> None:
        pass

    def rolled_back_from(self, version: str, reason: str | None) -> None:
        """`version` was rolled back from: it is no longer known good."""

    def known_good(self) -> str | None:
        return None

    def known_good_versions(self) -> list[str]:
        """Every version still known good, newest deployed first (rollback targets)."""
        return []

    def deployments(self, limit: int = 50) -> list[Any]:
        """The newest deployments and rollbacks, newest first (cicd.state Deployment)."""
        return []

    def lock_holder(self) -> Any:
        """The lock as it stands (cicd.state LockInfo), or None."""
        return None

    def steal_lock(self, holder: Any, *, reason: str, proof: str) -> None:
        """Release the lock of `holder`, proved dead, if it still holds it (audited as lock.steal)."""

    def accepted(self, version: str, reason: str) -> None:
        """A person accepted an unverified live version after a pause: it becomes known good."""

    def protected(self) -> set[str]:
        """Versions pruning must keep whatever the count: live, previous, last known good."""
        return set()

    def snapshot(self) -> dict[str, Any]:
        """deployed_at, deployed_by, current_version, previous_version, locked (Deployment State)."""
        return {}


NullRecord = Record


class StateRecord(Record):
    """History, ledger, lock and releases in cicd.state (SQLite on the primary host)."""

    def __init__(self, state: Any, actor: str):
        self.state = state
        self.actor = actor
        self.held: Any = None
        self.deployment_id: int | None = None
        self.phases: list[dict] = []
        # called with the ledger head after every finished run (anchor.write on the target's hosts)
        self.anchor: Callable[[dict], None] | None = None
        self.digests: dict[str, str] = {}  # version -> content digest, as prepared by this run

    @contextmanager
    def lock(self, *, owner: str, reason: str, ttl: float, wait: bool) -> Iterator[Any]:
        from cicd.deploy import interrupts
        from cicd.state import LockOwner

        with self.state.locked(
            LockOwner.current(self.actor),
            ttl_seconds=ttl,
            reason=reason,
            wait_seconds=WAIT_FOR_LOCK_SECONDS if wait else 0,
        ) as held, interrupts.terminate_raises():
            self.held = held
            try:
                yield held
            finally:
                self.held = None

    def check(self) -> None:
        if self.held is not None:
            self.held.check()

    def switched(self, version: str | None, color: str | None, reason: str | None = None) -> None:
        if version:
            self.state.set_current(
                version, color=color, digest=self.digest_of(version), deployed_by=self.actor,
                deployment_id=self.deployment_id, reason=reason,
            )  # fmt: skip

    def current_version(self) -> str | None:
        return self.state.current().current_version

    def audit(self, entry: dict[str, Any]) -> None:
        self.state.append_audit(entry)

    def ledger_head(self) -> dict:
        return self.state.audit_head()

    def ledger_hash_at(self, seq: int) -> str | None:
        return self.state.audit_hash_at(seq)

    def ledger_seq_of(self, digest: str) -> int | None:
        return self.state.audit_seq_of(digest)

    def begin(
        self,
        *,
        kind: str,
        version: str,
        strategy: str,
        actor: str,
        reason: str | None,
        previous_version: str | None,
    ) -> None:
        self.phases = []
        self.deployment_id = self.state.start_deployment(
            version,
            kind=kind,
            actor=actor,
            reason=reason,
            previous_version=previous_version,
            strategy=strategy,
        )

    def phase(self, name: str, status: str, seconds: float, detail: str = "") -> None:
        self.phases.append({"name": name, "status": status, "seconds": round(seconds, 3), "detail": detail})

    def finish(
        self, status: str, detail: str, *, live_version: str | None, live_color: str | None, figures: dict
    ) -> None:
        if self.deployment_id is None:  # nothing was started (a no-op re-run); converge may have written
            if self.anchor is not None:
                self.anchor(self.ledger_head())
            return
        if live_version and live_version != self.state.current().current_version:
            self.state.set_current(
                live_version, color=live_color, digest=self.digest_of(live_version), deployed_by=self.actor,
                deployment_id=self.deployment_id,
            )  # fmt: skip
        error = None if status == "succeeded" else detail
        self.state.finish_deployment(self.deployment_id, status, phases=self.phases, error=error)
        if figures:
            self.state.append_audit(
                {
                    "action": "deploy.figures",
                    "outcome": status,
                    "details": {k: v for k, v in figures.items() if v is not None},
                }
            )
        self.deployment_id = None
        if self.anchor is not None:
            self.anchor(self.ledger_head())

    def warm(self, color: str, version: str | None, until: float) -> None:
        self.state.append_audit(
            {"action": "warm.keep", "version": version, "details": {"color": color, "until": until}}
        )

    def release(self, version: str, artifact: str | None, digest: str | None = None) -> None:
        self.state.record_release(version, artifact, digest)
        if digest:
            self.digests[version] = digest

    def digest_of(self, version: str) -> str | None:
        """The content digest of `version`: as prepared by this run, else as recorded when it was."""
        if version not in self.digests:
            known = {release.version: release.digest for release in self.state.releases()}
            self.digests.update({v: d for v, d in known.items() if d})
        return self.digests.get(version)

    def forget(self, version: str) -> None:
        self.state.forget_release(version, reason="pruned")

    def verified(self, phase: str, summary: str) -> None:
        if self.deployment_id is not None:
            self.state.record_verification(self.deployment_id, phase, summary)

    def mark_known_good(self, version: str) -> None:
        self.state.mark_known_good(version)

    def rolled_back_from(self, version: str, reason: str | None) -> None:
        self.state.revoke_known_good(version, reason=reason)

    def known_good(self) -> str | None:
        return self.state.last_known_good()

    def known_good_versions(self) -> list[str]:
        return [release.version for release in self.state.releases() if release.known_good]

    def deployments(self, limit: int = 50) -> list[Any]:
        return self.state.history(limit)

    def lock_holder(self) -> Any:
        return self.state.lock_info()

    def steal_lock(self, holder: Any, *, reason: str, proof: str) -> None:
        self.state.steal_lock(holder, reason=reason, proof=proof)

    def accepted(self, version: str, reason: str) -> None:
        entry = {"action": "release.accept", "version": version, "reason": reason, "outcome": "accepted"}
        self.state.append_audit(entry)
        self.state.mark_known_good(version)

    def protected(self) -> set[str]:
        current = self.state.current()
        return {v for v in (current.current_version, current.previous_version, self.known_good()) if v}

    def snapshot(self) -> dict[str, Any]:
        current = self.state.current()
        lock = current.lock
        return {
            "current_version": current.current_version,
            "previous_version": current.previous_version,
            "deployed_at": current.deployed_at,
            "deployed_by": current.deployed_by,
            "locked": current.locked,
            "lock_holder": f"{lock.actor} ({lock.reason})" if lock else None,
            "last_known_good": self.known_good(),
        }


def open_record(target: Any, env: Any) -> Record:
    """The record of an environment: cicd.state on the target's primary host."""
    from cicd import identity
    from cicd.deploy import anchor
    from cicd.state import open_state

    actor = identity.actor()
    state = open_state(target.environment, target.settings.state_path, target.primary, actor=actor)
    record = StateRecord(state, actor)
    record.anchor = lambda head: anchor.write(target, head)
    return record
