"""Pure edits of a flagd flag file (a dict): the state of a flag, and a percentage split with flagd's
`fractional` operation. Nothing here reads or writes a file; publish.py does.

A percentage split sends P % of evaluation contexts to one variant and the rest to the default
variant, bucketed by flagd's default (the flag key and the context's targetingKey hashed together):
the same user gets the same answer at every percentage, and a user inside 10 % stays inside at 25 %.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from cicd.errors import UsageError
from cicd.flags.schema import fractional_buckets


@dataclass(frozen=True)
class FlagSummary:
    name: str
    state: str  # ENABLED | DISABLED
    default: str | None
    # share of contexts per variant under a top-level fractional rule; None: no split (other targeting
    # or none, shown as "rules" or "-")
    split: dict[str, int] | None
    targeted: bool

    def describe(self) -> str:
        if self.state == "DISABLED":
            return "off (disabled: every answer is the application's own default)"
        if self.split:
            total = sum(self.split.values()) or 1
            shares = ", ".join(f"{name} {round(100 * share / total)}%" for name, share in self.split.items())
            return f"on, split {shares}"
        return "on, targeting rules" if self.targeted else f"on, everyone gets {self.default}"


def flag_names(data: dict) -> list[str]:
    return sorted((data.get("flags") or {}).keys())


def get_flag(data: dict, name: str) -> dict:
    flags = data.get("flags") or {}
    if name not in flags:
        known = ", ".join(sorted(flags)) or "none"
        # The commands read the published file: a flag added only to the repository file is not there yet.
        raise UsageError(f"no flag named {name!r} (known: {known})",
                         hint="add it to config/flags/<env>.json, then `cicd flags push` publishes it")
    return flags[name]


def summarize(data: dict, name: str) -> FlagSummary:
    flag = get_flag(data, name)
    buckets = fractional_buckets(flag)
    split = {str(b[0]): int(b[1]) if len(b) > 1 else 1 for b in buckets} or None
    return FlagSummary(
        name, flag.get("state", "ENABLED"), flag.get("defaultVariant"), split, bool(flag.get("targeting"))
    )


def with_state(data: dict, name: str, enabled: bool) -> dict:
    """A copy of `data` with flag `name` enabled or disabled (its variants and targeting kept)."""
    changed = copy.deepcopy(data)
    get_flag(changed, name)["state"] = "ENABLED" if enabled else "DISABLED"
    return changed


def on_variant(flag: dict, name: str, chosen: str | None) -> str:
    """The variant a percentage goes to: `chosen`, else the one whose value is true."""
    variants = flag.get("variants") or {}
    if chosen is not None:
        if chosen not in variants:
            raise UsageError(f"flag {name!r} has no variant {chosen!r} (it has: {', '.join(variants)})")
        return chosen
    truthy = [key for key, value in variants.items() if value is True]
    if len(truthy) != 1:
        raise UsageError(
            f"flag {name!r} is not a boolean flag with one true variant", hint="name one with --variant"
        )
    return truthy[0]


def with_percent(data: dict, name: str, percent: int, variant: str | None = None) -> dict:
    """A copy of `data` where `percent` % of users get the chosen variant and the rest the default
    variant, through flagd's fractional targeting; the flag is enabled."""
    if not 0 <= percent <= 100:
        raise UsageError(f"--percent must be 0 to 100, got {percent}")
    changed = copy.deepcopy(data)
    flag = get_flag(changed, name)
    target = on_variant(flag, name, variant)
    default = flag.get("defaultVariant")
    if not isinstance(default, str) or default == target:
        raise UsageError(
            f"flag {name!r} needs a defaultVariant other than {target!r} for the rest of the users",
            hint="set defaultVariant to the 'off' variant in config/flags/<env>.json",
        )
    flag["state"] = "ENABLED"
    flag["targeting"] = {"fractional": [[target, percent], [default, 100 - percent]]}
    return changed
