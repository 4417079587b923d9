"""StateStore: the client of one environment's state store, the same API for local and remote targets.

Each call becomes one request to the store package (cicd/state/store/): in process for a local target
(host None or a LocalHost), or on the target's primary host as `python3 - DB_PATH` through `Host.run`,
with the store's sources and the request on stdin and the answer as one JSON line on stdout. Every
string in a request is passed through cicd.secrets.redact first, so no secret value reaches the history
or the ledger.
"""

from __future__ import annotations

import json
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

from cicd import identity, secrets
from cicd.errors import ConcurrencyError, HostError, StateError
from cicd.state import store
from cicd.state.records import LockInfo

REMOTE_TIMEOUT_SECONDS = 60.0
_UNREDACTED_KEYS = frozenset({"token", "fence"})


class LockHeldError(ConcurrencyError):
    """The environment is locked by someone else; `holder` says who."""

    def __init__(self, message: str, holder: LockInfo | None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.holder = holder


class LockLostError(ConcurrencyError):
    """This run's lock was released by force or taken over; it must not touch the environment now."""

    def __init__(self, message: str, holder: LockInfo | None):
        super().__init__(message)
        self.holder = holder


# Runs on the remote host: loads the store's modules from their sources (string literals, never
# pasted code) under a private package name, then answers the request given as a string literal.
_LOADER = """\
import sys, types
PACKAGE = "cicd_state_store"
SOURCES = {sources!r}
package = types.ModuleType(PACKAGE)
package.__path__ = []
package.__package__ = PACKAGE
sys.modules[PACKAGE] = package
for name in {order!r}:
    module = types.ModuleType(PACKAGE + "." + name)
    module.__package__ = PACKAGE
    sys.modules[module.__name__] = module
    setattr(package, name, module)
    exec(compile(SOURCES[name], "cicd/state/store/" + name + ".py", "exec"), module.__dict__)
exec(compile(SOURCES["__init__"], "cicd/state/store/__init__.py", "exec"), package.__dict__)
raise SystemExit(package.serve(sys.argv[1:], {request!r}))
"""


@cache
def store_sources() -> dict[str, str]:
    folder = Path(store.__file__).parent
    names = (*store.MODULES, "__init__")
    return {name: (folder / f"{name}.py").read_text(encoding="utf-8") for name in names}


def remote_program(request: dict) -> str:
    """The program `python3 -` runs on the host: the store package and one request, all as literals."""
    return _LOADER.format(sources=store_sources(), order=store.MODULES, request=json.dumps(request))


def parse_answer(stdout: str) -> dict | None:
    """The last marked line of the remote output (a login banner or shell noise may precede it)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(store.ANSWER_MARK):
            try:
                answer = json.loads(line[len(store.ANSWER_MARK) :])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def _redacted(value: Any, key: str | None = None) -> Any:
    if isinstance(value, str):
        return value if key in _UNREDACTED_KEYS else secrets.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def _is_local(host: Any) -> bool:
    return host is None or host.local


class Transport:
    """Carries requests to the store: in process, or as `python3 - DB_PATH` through a Host."""

    def __init__(
        self,
        environment: str,
        path: str,
        host: Any = None,
        *,
        in_process: bool | None = None,
        python: str | None = None,
    ):
        self.environment = environment
        self.host = host
        self.in_process = _is_local(host) if in_process is None else in_process
        if not self.in_process and host is None:
            raise ValueError("running the store out of process needs a host")
        # Remote hosts: their python3. Out of process on this machine: this very interpreter.
        self.python = python or (sys.executable if _is_local(host) else "python3")
        self.path = self._local_path(path) if self.in_process else path
        self.where = path if host is None else f"{path} on {host.name}"

    def _local_path(self, path: str) -> str:
        return self.host.resolve(path) if self.host is not None else path

    def call(self, op: str, args: dict) -> Any:
        # who asks: the store stamps every ledger entry of this request with the identity's kind
        who = identity.current().as_dict()
        request = {"op": op, "environment": self.environment, "args": _redacted(args), "identity": who}
        # The JSON round trip in process too, so both paths see exactly the same values.
        request = json.loads(json.dumps(request))
        answer = store.handle(self.path, request) if self.in_process else self._remote(request)
        if answer.get("ok"):
            return answer.get("result")
        raise self._error(answer.get("error") or {})

    def _remote(self, request: dict) -> dict:
        # -I: isolated from the host's PYTHON* variables and user site-packages; stdlib only is needed.
        try:
            result = self.host.run(
                [self.python, "-I", "-S", "-", self.path],
                input=remote_program(request),
                timeout=REMOTE_TIMEOUT_SECONDS,
                check=False,
            )
        except HostError as err:
            raise HostError(
                f"cannot reach the state of {self.environment} on {self.host.name}: {err}"
            ) from err
        answer = parse_answer(result.stdout)
        if answer is not None:
            return answer
        if result.returncode == 127:
            raise StateError(
                f"{self.host.name}: {self.python} is needed there to keep the state at {self.path}"
            )
        detail = " ".join(secrets.redact(result.stderr or result.stdout).split())[-300:]
        detail = detail or f"exit {result.returncode}"
        raise StateError(f"state store at {self.where} did not answer: {detail}")

    def _error(self, error: dict) -> Exception:
        kind, message = error.get("kind"), error.get("message", "unknown failure")
        holder = LockInfo.optional(error.get("holder"))
        env = self.environment
        if kind == "locked" and holder is not None:
            liveness = (
                "a manual hold"
                if holder.ttl_seconds is None
                else f"heartbeat {holder.heartbeat_age_seconds:.0f}s ago, ttl {holder.ttl_seconds:g}s"
            )
            return LockHeldError(
                f"{env} is locked by {holder.describe()} ({liveness})", holder, hint=_locked_hint(env, holder)
            )
        if kind == "not_owner" and holder is not None:
            return LockHeldError(
                f"{env} is locked by {holder.describe()}; only {holder.actor} may unlock it",
                holder,
                hint=f"to override: cicd unlock --env {env} --force --reason TEXT (recorded in the ledger)",
            )
        if kind == "lease_held":  # a short hold (one flag change): callers wait it out (poll_until)
            return LockHeldError(f"{env}: {message}", None, hint="retry in a few seconds")
        if kind == "lock_lost":
            now = f"; it is now held by {holder.describe()}" if holder else ""
            return LockLostError(f"this run no longer holds the lock on {env}{now}", holder)
        return StateError(f"state of {env} ({self.where}): {message}")


def _locked_hint(env: str, holder: LockInfo) -> str:
    if holder.ttl_seconds is None:
        return (
            f"its owner releases it with cicd unlock --env {env}; else cicd unlock --env {env} --force "
            "--reason TEXT (recorded in the ledger)"
        )
    steal = f"cicd rollback --env {env} --steal-stale-lock --reason TEXT"
    # the holder ran here: /proc answers, so the person at 3 a.m. need not go and check (lockholder.py)
    from cicd.deploy.lockholder import holder_alive

    if holder_alive(holder) is False:
        return f"its process {holder.pid} is gone from this machine: {steal}, or re-run with --wait"
    return (
        f"a fresh heartbeat does not prove it alive: if its process is gone, {steal} (or cicd unlock "
        f"--env {env} --force --reason TEXT); else wait with --wait"
    )


def poll_until(deadline: float, attempt, interval: float = 0.5):
    """Call attempt() until it stops raising LockHeldError or the deadline passes (then re-raise)."""
    while True:
        try:
            return attempt()
        except LockHeldError:
            if time.monotonic() + interval > deadline:
                raise
            time.sleep(interval)
