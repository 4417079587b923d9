"""A deploy's verification may name a feature flag to turn off before any code moves back
(`verification.disable_flag` in the environment file).

On a Failed verdict the flag is disabled on every host (the kill switch, audited in the ledger as
`flag.auto-disable`), the services get a second to read the file, and the live color is verified again
with the flag off. Successful: the release stays live and the flag stays off (a bad flag, not bad
code), and the deploy succeeds. Anything else, or a flag that was already off or cannot be turned off:
the deploy rolls back to the warm color as it would have, the flag left off.

deploy/decision.decide calls `disable_instead` before it switches back; nothing here raises.
`cicd flags rollout` has its own path (flags/rollout.py): there the flag is all that changed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cicd.errors import CicdError, Problem
from cicd.flags.definitions import summarize, with_state
from cicd.flags.publish import FlagTarget, apply_change

if TYPE_CHECKING:
    from cicd.config.loader import Checked
    from cicd.deploy.gates import GateResult
    from cicd.deploy.runner import Runner
    from cicd.deploy.target import Target

# How long services may take to read a changed flag file (the bound for a flag change to take
# effect); the second verification starts after it, so it judges the release with the flag off.
FLAG_SETTLE_SECONDS = 1.0
PHASE = "disable-flag"


class FlagAlreadyOff(CicdError):
    """Turning the flag off cannot help: it was off during the failed verification."""


def deploy_flags(target: Target) -> FlagTarget:
    """The flag files of the deploy's environment: its hosts, its ledger, config/flags/<env>.json."""
    from cicd.state import open_state

    config_file = Path(target.base_dir) / "config" / "flags" / f"{target.environment}.json"
    return FlagTarget(
        target.environment,
        list(target.hosts),
        config_file,
        lambda: open_state(target.environment, target.settings.state_path, target.primary),
    )


def _turn_off(name: str):
    def edit(data: dict) -> dict:
        if summarize(data, name).state == "DISABLED":
            raise FlagAlreadyOff(f"{name} was already off during the verification")
        return with_state(data, name, False)

    return edit


def disable_instead(runner: Runner, color: str, result: GateResult) -> str | None:
    """The verify step's message when turning the named flag off saved the release; None when the
    deploy must roll back (no flag named, not a Failed verdict, or still failing with the flag off)."""
    name = runner.target.settings.verification.disable_flag
    if name is None or result.phase != "Failed":
        return None
    version, started = runner.run.version, time.monotonic()
    why = f"deploy verification of {version} Failed: {result.summary}"
    try:
        published = apply_change(deploy_flags(runner.target), "auto-disable", name, _turn_off(name), why)
    except CicdError as err:
        _phase(runner, "fail", f"{name} not turned off ({err}): rolling back {version}", started)
        return None
    runner.run.figures["flag_disable_ms"] = round(published.elapsed_ms, 1)
    hosts = len(published.hosts)
    _phase(runner, "ok", f"{name} turned off on {hosts} host(s) (ledger #{published.entry_seq})", started)
    return _verify_again(runner, color, name, result)


def _verify_again(runner: Runner, color: str, name: str, failed: GateResult) -> str | None:
    from cicd.deploy import gates

    time.sleep(FLAG_SETTLE_SECONDS)
    window = runner.target.settings.verification.window_seconds
    again = gates.verify(runner.target, color, window, runner.run.baseline)  # type: ignore[arg-type]
    phase = again.phase or ("Successful" if again.ok else "Failed")
    runner.run.verification = again
    runner.run.figures.update({f"flag_off_{key}": value for key, value in again.figures.items()})
    runner.record.verified(phase, f"with {name} off: {again.summary}")
    if phase != "Successful":
        runner.out.line(f"  with {name} off verification was {phase}: {again.summary}; {name} stays off")
        return None
    return (
        f"verification Failed with {name} on ({failed.summary}); {name} turned off, then Successful "
        f"({again.summary}): {runner.run.version} stays live"
    )


def _phase(runner: Runner, status: str, message: str, started: float) -> None:
    seconds = time.monotonic() - started
    runner.out.phase(status, PHASE, message, seconds)
    runner.record.phase(PHASE, "succeeded" if status == "ok" else "failed", seconds, message)


def named_flag_problems(checked: Checked, config_dir: Path) -> list[Problem]:
    """`cicd validate` on an environment file: the flag its verification would turn off must be one
    config/flags/<env>.json defines (else the first breach could not use it and would roll back)."""
    from cicd.config.loader import display_path

    deploy = getattr(checked.model, "deploy", None)
    name = deploy.verification.disable_flag if deploy is not None else None
    if name is None or checked.document is None:
        return []
    flag_file = config_dir / "flags" / f"{checked.model.name}.json"
    try:
        flags = json.loads(flag_file.read_text(encoding="utf-8")).get("flags")
    except (OSError, ValueError, AttributeError):  # a broken flag file has its own problems reported
        flags = None
    if isinstance(flags, dict) and name in flags:
        return []
    known = ", ".join(sorted(flags)) if isinstance(flags, dict) and flags else "none"
    return [Problem(
        checked.document.locate(("deploy", "verification", "disable_flag")),
        f"disable_flag names {name!r}, which {display_path(flag_file)} does not define",
        f"name one of its flags ({known}) or add {name!r} there",
    )]  # fmt: skip
