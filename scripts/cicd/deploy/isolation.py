"""What a started service or hook may see of the deployer: an explicit environment, nothing inherited.

A deploying machine holds GITHUB_TOKEN, registry passwords and every secret of its runner; a service
that faces the network must not. A process starts through `isolated(argv)` under `env -i` with a
minimal PATH, HOME and LANG, and receives its variables (the runtime's `env`, the secrets it is handed
by name, the CICD_* facts) as `export NAME='value'` lines on file descriptor 3: values never appear in
an argv (readable by every user in /proc/<pid>/cmdline) nor in an error message.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cicd import secrets
from cicd.errors import DeploymentError

MINIMAL_PATH = "/usr/local/bin:/usr/bin:/bin"
LANG = "C.UTF-8"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# $0 is a label; "$@" the command. HOME is the starting user's own; the rest is cleared by `env -i`.
# The inner shell reads the variables from fd 3, closes it, and becomes the command (same pid).
_WRAPPER = (
    'exec env -i HOME="${HOME:-/}" PATH=' + MINIMAL_PATH + " LANG=" + LANG + " sh -c "
    + shlex.quote('eval "$(cat <&3)"; exec 3<&-; exec "$@"')
    + ' cicd-env "$@"'
)  # fmt: skip


def isolated(argv: list[str], *, on_stdin: bool = False) -> list[str]:
    """`argv` started with an empty environment plus what `exports()` sends on fd 3 (on stdin with
    `on_stdin`: the command itself then reads /dev/null)."""
    wrapper = f"exec 3<&0 </dev/null; {_WRAPPER}" if on_stdin else _WRAPPER
    return ["sh", "-c", wrapper, "cicd-isolated", *argv]


def exports(env: Mapping[str, str]) -> str:
    """Shell text setting exactly `env`; names are checked, values quoted (never evaluated)."""
    lines = []
    for name, value in env.items():
        if not NAME.match(name):
            raise DeploymentError(f"invalid environment variable name {name!r}: use letters, digits and _")
        lines.append(f"export {name}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n"


def secret_values(names: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The named secrets from the deployer's environment (registered for redaction); a missing one is
    an error that names it, so a service never starts without a secret it was promised."""
    wanted = list(names)
    absent = secrets.missing(wanted, environ)
    if absent:
        raise DeploymentError(
            f"secret(s) {', '.join(absent)} not set: export them on the deploying machine "
            "(in GitHub Actions: add them to the environment's secrets)"
        )
    return secrets.resolve(wanted, environ)


def service_env(
    configured: Mapping[str, str], secret_names: Iterable[str], facts: Mapping[str, str]
) -> dict[str, str]:
    """All a service sees besides PATH, HOME and LANG: its configured env, its secrets, the facts."""
    return {**configured, **secret_values(secret_names), **facts}


def register_secrets(*name_lists: Iterable[str]) -> None:
    """Register every named secret that is set, before anything is printed or stored."""
    for names in name_lists:
        secrets.resolve(names)


def register_environment_secrets(
    env: Any, config_dir: Path, pipeline_secret_names: Iterable[str] | None = None
) -> None:
    """Deploy, rollback and status register the environment's secrets, those it hands to the service
    and its hooks, and the pipeline's (read from pipeline.yml unless given), before they print or
    store anything."""
    deploy = env.deploy
    register_secrets(env.secrets)
    if deploy is not None:
        register_secrets(deploy.runtime.secrets, deploy.hooks.secrets)
    register_secrets(pipeline_secrets(config_dir) if pipeline_secret_names is None else pipeline_secret_names)


def pipeline_secrets(config_dir: Path) -> tuple[str, ...]:
    """The secret names pipeline.yml declares; none when there is no such file or it is invalid."""
    from cicd.config import load_pipeline
    from cicd.errors import CicdError

    if (config_dir / "pipeline.yml").is_file():
        # a broken pipeline file is `cicd validate`'s finding; it must not stop a rollback
        with contextlib.suppress(CicdError):
            return tuple(load_pipeline(config_dir).secrets)
    return ()
