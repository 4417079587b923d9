"""The pruning rule as a property: whatever the releases, the protected ones are never pruned."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cicd.state.store.releases import select_prunable


@st.composite
def listings(draw):
    versions = draw(
        st.lists(st.from_regex(r"[0-9]\.[0-9]{1,2}\.[0-9]", fullmatch=True), unique=True, max_size=15)
    )
    live = draw(st.sampled_from([None, *versions]))
    previous = draw(st.sampled_from([None, *versions]))
    good = draw(st.sampled_from([None, *versions]))
    listed = [
        {"version": v, "live": v == live, "previous": v == previous, "last_known_good": v == good}
        for v in versions
    ]
    protect = draw(st.lists(st.sampled_from(versions), max_size=3)) if versions else []
    return listed, {live, previous, good, *protect} - {None}, protect


@given(case=listings(), keep=st.integers(1, 8))
def test_prune_keeps_the_newest_and_every_protected_release(case, keep) -> None:
    listed, protected, protect = case
    plan = select_prunable(listed, keep, protect)
    newest = [r["version"] for r in listed[:keep]]

    assert not set(plan) & protected
    assert not set(plan) & set(newest)
    kept = [r["version"] for r in listed if r["version"] not in plan]
    assert set(kept) == set(newest) | (protected & {r["version"] for r in listed})
    assert plan == [r["version"] for r in listed if r["version"] in plan]  # oldest last, order kept
