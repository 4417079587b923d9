"""`cicd flags rollout`: a flag's percentage raised step by step, each step verified like a canary step.

Before the first step the live color's figures are measured (deploy/gates.measure_baseline); after each
step the live traffic is watched for the verification window (deploy/gates.verify, the same judge as a
canary step: error rate and latency against that baseline). Anything but Successful turns the flag off
(state DISABLED, the kill switch) and stops: a bad flag is disabled by verification, no code moves.

The rollout holds the environment's deploy lock, so the traffic it judges is not also moving because
of a deploy, and it refuses while a deploy splits traffic between colors. `cicd flags disable` does
not take the lock: a kill switch must work during a deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cicd.deploy.runtimes.base import COLORS, Color
from cicd.errors import DeploymentError, UsageError
from cicd.flags.definitions import with_percent, with_state
from cicd.flags.publish import FlagTarget, apply_change, flag_target


@dataclass(frozen=True)
class StepOutcome:
    percent: int
    phase: str
    summary: str


@dataclass
class RolloutResult:
    flag: str
    steps: list[StepOutcome] = field(default_factory=list)
    completed: bool = False
    disabled_because: str | None = None


def parse_steps(text: str) -> list[int]:
    """"5,25,50,100" -> [5, 25, 50, 100]: whole percentages from 1 to 100, each above the last."""
    try:
        steps = [int(part) for part in text.split(",")]
    except ValueError:
        steps = []
    if not steps or any(not 1 <= s <= 100 for s in steps) or steps != sorted(set(steps)):
        raise UsageError(f"--steps {text!r}: give rising percentages from 1 to 100, e.g. 5,25,50,100")
    return steps


def live_color(target) -> Color:
    """The color taking all live traffic on the primary host; a split means a deploy is under way."""
    traffic = target.router.read(target.primary)
    if traffic is None:
        raise DeploymentError(f"nothing is live in {target.environment}: deploy before rolling out a flag")
    for color in COLORS:
        if traffic.weight(color) == 100:
            return color
    raise DeploymentError(
        f"traffic in {target.environment} is split between colors (a canary is under way)",
        hint="finish or roll back that deploy, then roll out the flag",
    )


def _step(flags: FlagTarget, name: str, percent: int, variant: str | None, reason: str | None) -> None:
    apply_change(flags, "rollout-step", name, lambda data: with_percent(data, name, percent, variant), reason)


def run_steps(
    flags: FlagTarget,
    target,
    name: str,
    steps: list[int],
    *,
    variant: str | None = None,
    window_seconds: float | None = None,
    reason: str | None = None,
    out: Callable[[str], None] = print,
) -> RolloutResult:
    """Raise flag `name` through `steps`, verifying after each; turn it off at the first failed step."""
    from cicd.deploy import gates

    color = live_color(target)
    window = target.settings.verification.window_seconds if window_seconds is None else window_seconds
    baseline = gates.measure_baseline(target, color)
    out(f"baseline ({color}, flag as it is): {baseline.summary}")
    result = RolloutResult(name)
    for percent in steps:
        _step(flags, name, percent, variant, reason)
        verdict = gates.verify(target, color, window, baseline)
        phase = verdict.phase or ("Successful" if verdict.ok else "Failed")
        result.steps.append(StepOutcome(percent, phase, verdict.summary))
        out(f"{name} at {percent}%: {phase}: {verdict.summary}")
        if phase != "Successful":
            result.disabled_because = f"{percent}% step {phase}: {verdict.summary}"
            apply_change(flags, "auto-disable", name, lambda data: with_state(data, name, False),
                         f"verification at {percent}%: {verdict.summary}")  # fmt: skip
            out(f"{name} disabled: verification at {percent}% was {phase}")
            return result
    result.completed = True
    return result


def rollout(
    config_dir: Path, environment: str, name: str, steps: list[int], **options
) -> RolloutResult:  # fmt: skip
    """The whole command: lock, steps, and one `flag.rollout` ledger entry with every step's verdict."""
    from cicd.config import load_environment
    from cicd.deploy.target import build_target
    from cicd.state.records import LockOwner

    env = load_environment(config_dir, environment)
    flags = flag_target(config_dir, environment, env)
    target = build_target(env, base_dir=str(Path(config_dir).resolve().parent))
    store = flags.open_ledger()
    owner = LockOwner.current(store.actor)
    ttl = target.settings.lock_ttl_seconds
    with store.locked(owner, ttl, f"flag rollout {name} {steps}"):
        result = run_steps(flags, target, name, steps, **options)
    store.append_audit({
        "action": "flag.rollout",
        "reason": options.get("reason"),
        "outcome": "completed" if result.completed else "disabled",
        "details": {
            "flag": name,
            "steps": [{"percent": s.percent, "phase": s.phase, "summary": s.summary} for s in result.steps],
            "disabled_because": result.disabled_because,
        },
    })  # fmt: skip
    return result
