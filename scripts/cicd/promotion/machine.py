"""The hands-off promotion as a state machine. Pure: a state and a verdict in, a decision out.

    canary --(healthy for step_delay)--> stepping (step i) --> ... --> monitoring (100 %)
    monitoring --(healthy for monitor_seconds)--> promoted
    any active state --(breach)--> rolling-back --> rolled-back      (rollback_on_breach: true)
    any active state --(breach)--> paused                            (rollback_on_breach: false)
    canary | stepping --(healthy, auto_promote: false)--> paused --(resume)--> next step
    any active state --(traffic moved by a deploy or rollback)--> superseded

The state is one JSON document in the environment's SQLite state (state/store/promotions.py); every
transition writes it together with its ledger entry. Effects (switching traffic, judging the canary)
live in cicd.promotion.run; this module only says what is due.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

CANARY = "canary"
STEPPING = "stepping"
MONITORING = "monitoring"
ROLLING_BACK = "rolling-back"
PROMOTED = "promoted"
ROLLED_BACK = "rolled-back"
PAUSED = "paused"
SUPERSEDED = "superseded"
ACTIVE = (CANARY, STEPPING, MONITORING, ROLLING_BACK)
FINAL = (PROMOTED, ROLLED_BACK, SUPERSEDED)

# Verification verdicts (checks/verdict.py Phase values)
SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR = "Successful", "Failed", "Inconclusive", "Error"


@dataclass(frozen=True)
class PromotionState:
    """What is persisted. `weights` ends with 100; `step` indexes it; `entered_at` is when the current
    step (or the monitor window) began: the traffic judged is the traffic since then."""

    version: str
    stable_version: str
    canary_color: str
    stable_color: str
    weights: tuple[int, ...]
    step_delay_seconds: float
    monitor_seconds: float
    rollback_on_breach: bool
    auto_promote: bool
    status: str = CANARY
    step: int = 0
    started_at: float = 0.0
    entered_at: float = 0.0
    reason: str = ""
    paused_from: str = ""
    baseline: dict[str, Any] = field(default_factory=dict)  # the stable color's figures before the start
    revision: int = 0
    deployment_id: int | None = None  # the start's history row, where the promotion's verdict is kept
    updated_at: float = 0.0

    @property
    def weight(self) -> int:
        """The canary's share of traffic in this state."""
        return self.weights[min(self.step, len(self.weights) - 1)]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def open(self) -> bool:
        """Not finished: active or paused (a person decides)."""
        return self.status not in FINAL

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"] = list(self.weights)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PromotionState:
        known = {name for name in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in known}
        values["weights"] = tuple(int(w) for w in values.get("weights", (100,)))
        return cls(**values)


@dataclass(frozen=True)
class Verdict:
    """The canary's health over the traffic since `entered_at` (cicd.promotion.judge)."""

    phase: str
    summary: str


@dataclass(frozen=True)
class Decision:
    """What `advance` does now: wait, step (to `weight`), monitor, promote, rollback or pause."""

    action: str
    reason: str
    weight: int | None = None


def due_in(state: PromotionState, now: float) -> float:
    """Seconds until the current step's delay (or the monitor window) has passed; 0 when due."""
    span = state.monitor_seconds if state.status == MONITORING else state.step_delay_seconds
    return max(0.0, state.entered_at + span - now)


def decide(state: PromotionState, verdict: Verdict, now: float, on_inconclusive: str) -> Decision:
    """The next move of an active promotion, given the canary's verdict so far."""
    if state.status == ROLLING_BACK:
        return Decision("rollback", state.reason or "finishing an interrupted rollback")
    if verdict.phase in (FAILED, ERROR):
        action = "rollback" if state.rollback_on_breach else "pause"
        return Decision(action, f"{verdict.phase} at {state.weight} %: {verdict.summary}")
    wait = due_in(state, now)
    if wait > 0:
        what = "the monitor window ends" if state.status == MONITORING else "the next step is due"
        return Decision("wait", f"{verdict.summary}; {what} in {wait:.0f} s")
    if verdict.phase == INCONCLUSIVE:
        if on_inconclusive != "keep":
            action = "rollback" if on_inconclusive == "rollback" else "pause"
            return Decision(action, f"Inconclusive at {state.weight} %: {verdict.summary}")
        # The policy moves on without a verdict: the record must not call the step healthy.
        return healthy_move(state, verdict.summary, judged="Inconclusive (on_inconclusive: keep)")
    return healthy_move(state, verdict.summary)


def healthy_move(state: PromotionState, summary: str, *, confirmed: bool = False,
                 judged: str = "healthy") -> Decision:
    """A healthy step moves on (or pauses for a person when auto_promote is off, unless `confirmed`)."""
    if state.status == MONITORING:
        return Decision("promote", f"{judged} for the {state.monitor_seconds:g} s monitor window: {summary}")
    if not state.auto_promote and not confirmed:
        return Decision("pause", f"{judged} at {state.weight} % ({summary}); auto_promote is off")
    following = state.weights[state.step + 1]
    action = "monitor" if following >= 100 else "step"
    return Decision(action, f"{judged} at {state.weight} %: {summary}", following)


def after(state: PromotionState, decision: Decision, now: float) -> PromotionState:
    """The state a decision leads to (the effects of cicd.promotion.run go with it)."""
    if decision.action == "step":
        return replace(state, status=STEPPING, step=state.step + 1, entered_at=now, reason=decision.reason)
    if decision.action == "monitor":
        last = len(state.weights) - 1
        return replace(state, status=MONITORING, step=last, entered_at=now, reason=decision.reason)
    if decision.action == "promote":
        return replace(state, status=PROMOTED, entered_at=now, reason=decision.reason)
    if decision.action == "rollback":
        moving = state.status != ROLLING_BACK
        return replace(state, status=ROLLING_BACK, entered_at=now if moving else state.entered_at,
                       reason=decision.reason)  # fmt: skip
    if decision.action == "pause":
        return replace(state, status=PAUSED, paused_from=state.status, entered_at=now, reason=decision.reason)
    raise ValueError(f"no transition for {decision.action!r}")


def resumed(state: PromotionState) -> PromotionState:
    """A paused promotion back in the state it paused from, its clock restarted."""
    return replace(state, status=state.paused_from or STEPPING, paused_from="")
