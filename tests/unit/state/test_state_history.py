"""History, current state and releases of an environment."""

from __future__ import annotations

import pytest
from state_helpers import owner

from cicd import secrets
from cicd.errors import StateError
from cicd.state import StateStore


def deploy(store: StateStore, version: str, color: str, status: str = "succeeded") -> int:
    deployment = store.start_deployment(
        version,
        actor="alice",
        run_id="77",
        reason=f"ship {version}",
        strategy="blue_green",
        artifact=f"img:{version}",
    )
    store.set_current(
        version, color=color, digest=f"sha256:{version}", deployed_by="alice", deployment_id=deployment
    )
    store.finish_deployment(deployment, status, phases=[{"name": "gate", "status": "ok", "seconds": 1.25}])
    return deployment


def test_current_follows_the_deployment_state_contract(any_store: StateStore) -> None:
    empty = any_store.current()
    assert (empty.environment, empty.current_version, empty.locked) == ("staging", None, False)

    deploy(any_store, "1.0.0", "blue")
    deploy(any_store, "1.1.0", "green")
    any_store.acquire_lock(owner(), 30, "deploy 1.2.0")

    state = any_store.current().as_dict()
    assert state["current_version"] == "1.1.0"
    assert state["previous_version"] == "1.0.0"
    assert state["deployed_by"] == "alice"
    assert state["deployed_at"].endswith("Z")
    assert state["locked"] is True
    assert state["live_color"] == "green"
    assert state["digest"] == "sha256:1.1.0"
    assert {"health", "warm_color"} <= state.keys()


def test_redeploying_the_live_version_keeps_its_previous_version(store: StateStore) -> None:
    deploy(store, "1.0.0", "blue")
    deploy(store, "1.1.0", "green")
    deploy(store, "1.1.0", "blue")  # a re-run converges on the same version
    assert store.current().previous_version == "1.0.0"


def test_history_is_newest_first_with_phases_and_durations(any_store: StateStore) -> None:
    first = deploy(any_store, "1.0.0", "blue")
    second = any_store.start_deployment("1.1.0", actor="bob", reason="try", previous_version="1.0.0")
    any_store.finish_deployment(second, "rolled_back", error="error rate 40% above 5% after the switch")

    rows = any_store.history(limit=10)
    assert [row.id for row in rows] == [second, first]
    assert rows[0].status == "rolled_back" and "error rate" in rows[0].error
    assert rows[1].phases == [{"name": "gate", "status": "ok", "seconds": 1.25}]
    assert rows[1].duration_seconds is not None and rows[1].finished_at >= rows[1].started_at
    assert [row.id for row in any_store.history(limit=1)] == [second]


def test_finish_with_an_unknown_status_or_deployment_is_a_state_error(store: StateStore) -> None:
    deployment = store.start_deployment("1.0.0", actor="alice")
    with pytest.raises(StateError, match="unknown deployment status 'done'"):
        store.finish_deployment(deployment, "done")
    with pytest.raises(StateError, match="no deployment with id 999"):
        store.finish_deployment(999, "failed")


def test_deploy_records_reach_the_ledger_with_timings(store: StateStore) -> None:
    deploy(store, "1.0.0", "blue")
    entries = store.audit_entries()
    assert [e.action for e in entries] == ["deploy.start", "traffic.switch", "deploy.finish"]
    finish = entries[-1]
    assert (finish.actor, finish.run_id, finish.version, finish.outcome) == (
        "alice",
        "77",
        "1.0.0",
        "succeeded",
    )
    assert finish.digest == "sha256:1.0.0"
    assert finish.details["timings"] == {"gate": 1.25}
    assert entries[1].details["color"] == "blue"


def test_last_good_skips_failed_and_excluded_versions(store: StateStore) -> None:
    deploy(store, "1.0.0", "blue")
    deploy(store, "1.1.0", "green")
    deploy(store, "1.2.0", "blue", status="failed")
    assert store.last_good() == "1.1.0"
    assert store.last_good(exclude=["1.1.0", None]) == "1.0.0"
    assert store.last_good(exclude=["1.0.0", "1.1.0"]) is None


def test_prune_plan_never_removes_live_previous_last_known_good_or_protected(store: StateStore) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"):
        store.record_release(version, artifact=f"img:{version}")
    deploy(store, "1.0.0", "blue")
    store.mark_known_good("1.0.0")
    deploy(store, "1.3.0", "green")
    deploy(store, "1.4.0", "blue")  # live 1.4.0, previous 1.3.0

    releases = {r.version: r for r in store.releases()}
    assert releases["1.4.0"].live and releases["1.3.0"].previous and releases["1.0.0"].last_known_good
    assert store.last_known_good() == "1.0.0"
    assert store.prune_plan(keep=2) == ["1.2.0", "1.1.0"]
    assert store.prune_plan(keep=1, protect=["1.2.0"]) == ["1.1.0"]
    assert store.prune_plan(keep=10) == []

    assert store.forget_release("1.1.0", reason="pruned") is True
    assert "1.1.0" not in {r.version for r in store.releases()}
    with pytest.raises(StateError, match=r"1\.0\.0 is live or the last known good"):
        store.forget_release("1.0.0")
    assert store.audit_entries()[-1].action == "release.prune"


def test_the_newest_known_good_mark_wins(store: StateStore) -> None:
    store.mark_known_good("1.0.0")
    store.mark_known_good("1.1.0")
    assert store.last_known_good() == "1.1.0"
    assert [r.version for r in store.releases() if r.known_good] == ["1.1.0", "1.0.0"]


def test_secret_values_never_reach_history_or_ledger(any_store: StateStore) -> None:
    secrets.register("hunter2-token-value")
    deployment = any_store.start_deployment("1.0.0", actor="alice", reason="deploy with hunter2-token-value")
    any_store.finish_deployment(
        deployment, "failed", error="curl -H 'Authorization: hunter2-token-value' 401"
    )
    any_store.append_audit({"action": "note", "reason": "x", "header": "Bearer hunter2-token-value"})

    dumped = repr(any_store.history()) + repr(any_store.audit_entries())
    assert "hunter2-token-value" not in dumped
    assert "***" in dumped


def test_the_store_actor_names_every_record_that_does_not_say(tmp_path) -> None:
    from cicd.state import open_state

    state = open_state("staging", str(tmp_path / "{environment}.db"), actor="ci-bot (run 9)")
    deployment = state.start_deployment("1.0.0")
    state.record_release("1.0.0", artifact="img:1.0.0")
    state.mark_known_good("1.0.0")
    state.set_current("1.0.0", deployment_id=deployment)
    state.append_audit({"action": "note"})
    assert {entry.actor for entry in state.audit_entries()} == {"ci-bot (run 9)"}
    assert state.current().deployed_by == "ci-bot (run 9)"


def test_a_finished_deployment_takes_artifact_and_digest_from_its_release(store: StateStore) -> None:
    store.record_release("2.0.0", artifact="registry.local/app:2.0.0", digest="sha256:feed")
    deployment = store.start_deployment("2.0.0", actor="alice")
    store.finish_deployment(deployment, "succeeded")
    [row] = store.history()
    assert (row.artifact, row.digest) == ("registry.local/app:2.0.0", "sha256:feed")
    assert store.audit_entries()[-1].digest == "sha256:feed"
