"""Deployment state of an environment: lock, history, current state, releases, hash-chained ledger.

    from cicd.state import open_state, LockOwner
    state = open_state("staging", ".cicd/state/{environment}.db", host, actor="alice")  # host: None,
                                                                       # a LocalHost or an SSHHost
    with state.locked(LockOwner.current(), ttl_seconds=30, reason="deploy 1.2.0") as held:
        deployment_id = state.start_deployment("1.2.0", previous_version="1.1.0", strategy="blue_green")
        ...; held.check()                       # LockLostError if the lock was forced away meanwhile
        state.set_current("1.2.0", color="green", digest="sha256:...", deployment_id=deployment_id)
        state.finish_deployment(deployment_id, "succeeded", phases=[{"name": "gate", "status": "ok",
                                                                       "seconds": 1.2, "detail": ""}])
        state.mark_known_good("1.2.0")

One SQLite database per environment (WAL, busy timeout, writes in BEGIN IMMEDIATE). For a remote
target the database lives on the primary host and every call runs the store package (store/, stdlib
only) there through `python3 -`, so local and remote share one code path and one API. Expected
failures are cicd.errors: LockHeldError / LockLostError (ConcurrencyError), StateError, HostError.
`actor` (default cicd.identity: the GitHub actor inside Actions, else account@host of this process)
names every record that does not name its own; run ids default to $GITHUB_RUN_ID. Every ledger entry
carries the identity's kind (github-actions or local). StateStore (api.py):

- lock: acquire_lock(owner, ttl_seconds, reason, wait_seconds=0, purpose="deploy") -> Lock, raising
  LockHeldError (a ConcurrencyError naming holder, since when, run id, reason, and how to release);
  heartbeat(lock), release(lock) -> bool, locked(...) context manager -> HeldLock (heartbeat thread,
  check()), lock_info() -> LockInfo | None, unlock_own(actor, reason), force_unlock(reason, actor)
  (audited). A lock whose heartbeat is older than its TTL is stale: the next acquire takes it over,
  marks the dead holder's running deployment "interrupted" and records lock.recover in the ledger.
- history: start_deployment(version, kind=deploy|rollback, ...) -> id, finish_deployment(id, status,
  phases=..., error=...) -> Deployment, set_current(version, color=, digest=, deployed_by=, ...) ->
  DeploymentState, current() -> DeploymentState, history(limit) -> [Deployment] newest first,
  last_good(exclude) -> version.
- releases: record_release(version, artifact, digest), mark_known_good(version), releases() ->
  [Release], last_known_good(), prune_plan(keep, protect) -> [version] (never the live, previous, last
  known good or protected ones), forget_release(version).
- ledger: append_audit({action, version, digest, reason, outcome, details}) -> AuditEntry,
  audit_entries(limit) -> [AuditEntry], verify_audit() -> AuditReport(ok, entries, first_bad_seq,
  reason). Deploy start/finish, traffic switches, release changes and manual or forced lock changes
  are recorded by the store itself, in the same transaction as the change.
"""

from __future__ import annotations

from cicd.state.api import DEFAULT_STATE_PATH, StateStore, open_state
from cicd.state.client import LockHeldError, LockLostError
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

__all__ = [
    "DEFAULT_STATE_PATH",
    "AuditEntry",
    "AuditReport",
    "Deployment",
    "DeploymentState",
    "HeldLock",
    "Lock",
    "LockHeldError",
    "LockInfo",
    "LockLostError",
    "LockOwner",
    "Release",
    "StateStore",
    "current_actor",
    "current_run_id",
    "open_state",
]
