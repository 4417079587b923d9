#!/usr/bin/env python3
"""How fast the two emergency commands act, from the moment they are typed.

For each router (HAProxy and nginx), one project with the sample service on free loopback ports,
deployed with the real CLI (bench/zero_downtime.py's Bench):
- `cicd rollback` to the warm color: 1.0.0 is deployed, then a newer version (so 1.0.0 stays warm),
  then the command runs while a keep-alive client polls the live listener every ~2 ms. Measured: from
  the command's process start to the first answer after which every answer came from 1.0.0
  (`rollback_to_warm_ms`), the command's whole wall time, and the switch alone as the command timed it;
- `cicd flags set quote-v2 --percent 0|100`: from process start to the first answer after which every
  answer of a keep-alive client shows the new engine (`flag_change_to_effect_ms`), and the command's
  wall time;
- `cicd --version`: the interpreter's and the CLI's start-up, the floor under every command; and, once,
  an interpreter that only starts and one that only imports the libraries a rollback needs (pydantic,
  PyYAML, sqlite3, http.client...): what no change to our code can remove.
Medians over the repetitions; with --baseline, the other checkout runs interleaved with this one and its
figures go under `baseline`. The last line is one JSON object: the default router's figures, and
`routers` with the same keys for each router.

    python3 bench/rollback_fast.py [--repetitions 5] [--routers haproxy,nginx] [--baseline OTHER/scripts]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zero_downtime import DEFAULT_ROUTER, Bench, median, settled_on

POLL_SECONDS = 0.002
FLAGS = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
    },
}


class Poller(threading.Thread):
    """One keep-alive connection asking `path` every ~2 ms; records (at, what `read` found in the answer),
    None for a failed request (then a new connection, as a client would)."""

    def __init__(self, url: str, path: str, read: Callable[[http.client.HTTPResponse, bytes], str]):
        super().__init__(daemon=True)
        self.port = int(url.rsplit(":", 1)[1])
        self.path, self.read = path, read
        self.seen: list[tuple[float, str | None]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = None
        while not self.stopping.is_set():
            at = time.monotonic()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.path)
                response = conn.getresponse()
                self.seen.append((at, self.read(response, response.read())))
            except (OSError, http.client.HTTPException):
                conn = None
                self.seen.append((at, None))
            time.sleep(POLL_SECONDS)

    def stop(self) -> list[tuple[float, str | None]]:
        self.stopping.set()
        self.join(timeout=10)
        return self.seen


def served_version(response: http.client.HTTPResponse, _body: bytes) -> str:
    return response.getheader("X-Service-Version") or ""


def quote_engine(_response: http.client.HTTPResponse, body: bytes) -> str:
    return str(json.loads(body).get("engine"))


class Variant:
    """The code a command runs: this checkout, or the scripts/ folder of another one (--baseline), so
    both are measured side by side under the same load."""

    def __init__(self, name: str, scripts: Path | None = None):
        self.name, self.scripts = name, scripts

    def cicd(self, bench: Bench, *args: str) -> subprocess.CompletedProcess:
        saved = os.environ.get("PYTHONPATH")
        if self.scripts is not None:
            os.environ["PYTHONPATH"] = str(self.scripts)
        try:
            return bench.cicd(*args)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved


CURRENT = Variant("current")


def timed(
    bench: Bench, variant: Variant, poller: Poller, wanted: str, *args: str
) -> tuple[float | None, float, str]:
    """Run `cicd ARGS` while `poller` watches: (ms until only `wanted` is seen, command ms, stdout)."""
    poller.start()
    time.sleep(0.1)  # the connection is open and warm before the command starts
    started = time.monotonic()
    result = variant.cicd(bench, *args)
    ended = time.monotonic()
    time.sleep(0.3)
    seen = poller.stop()
    if result.returncode != 0:
        raise SystemExit(f"{variant.name}: cicd {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    settled = settled_on(seen, wanted, started)
    took = (settled - started) * 1000 if settled is not None else None
    return took, (ended - started) * 1000, result.stdout


def must(bench: Bench, *args: str) -> None:
    result = bench.cicd(*args)
    if result.returncode != 0:
        raise SystemExit(f"cicd {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def rollbacks(bench: Bench, variants: list[Variant], repetitions: int) -> dict[str, dict]:
    """Per repetition and variant: a new version deployed over 1.0.0 (kept warm), then `cicd rollback`."""
    seen: dict[str, dict[str, list]] = {v.name: {"effect": [], "command": [], "switch": []} for v in variants}
    must(bench, "deploy", "--version", "1.0.0")
    for number in range(repetitions):
        for variant in variants[number % len(variants):] + variants[: number % len(variants)]:
            must(bench, "deploy", "--version", f"2.{number}.{variant.name}")  # 1.0.0 is the warm color now
            poller = Poller(bench.url, "/version", served_version)
            took, wall, stdout = timed(bench, variant, poller, "1.0.0", "rollback", "--reason", "benchmark")
            figures = seen[variant.name]
            figures["effect"].append(took)
            figures["command"].append(wall)
            switch_line = next((line for line in stdout.splitlines() if " switch " in line), "")
            if "(" in switch_line:  # the switch alone, as the command timed it (10 ms resolution)
                figures["switch"].append(float(switch_line.rsplit("(", 1)[1].rstrip("s)")) * 1000)
    return {
        name: {
            "rollback_to_warm_ms": median(figures["effect"]),
            "rollback_command_ms": median(figures["command"]),
            "rollback_switch_ms": median(figures["switch"]),
            "rollbacks": repetitions,
        }
        for name, figures in seen.items()
    }


def with_flags(bench: Bench) -> None:
    """The sample reads the flag file `cicd flags` writes (flagd's file provider); published first."""
    live = bench.root / ".cicd" / "flags" / "bench.json"
    deploy = cast(dict, bench.env["deploy"])
    deploy["runtime"]["env"] = {"FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(live)}
    bench.write_env()
    reviewed = bench.root / "config" / "flags" / "bench.json"
    reviewed.parent.mkdir(parents=True, exist_ok=True)
    reviewed.write_text(json.dumps(FLAGS, indent=2))
    must(bench, "flags", "push", "--reason", "benchmark")


def flag_changes(bench: Bench, variants: list[Variant], repetitions: int) -> dict[str, dict]:
    """Per repetition and variant: quote-v2 to 100 % then back to 0 %, each watched until in effect."""
    seen: dict[str, dict[str, list]] = {v.name: {"effect": [], "command": []} for v in variants}
    path = "/api/quote?sku=widget&quantity=2&user=bench-user"
    for _number in range(repetitions):
        for variant in variants:
            for percent, engine in (("100", "v2"), ("0", "v1")):
                poller = Poller(bench.url, path, quote_engine)
                args = ("flags", "set", "quote-v2", "--percent", percent)
                took, wall, _out = timed(bench, variant, poller, engine, *args)
                seen[variant.name]["effect"].append(took)
                seen[variant.name]["command"].append(wall)
    return {
        name: {"flag_change_to_effect_ms": median(f["effect"]), "flags_set_command_ms": median(f["command"])}
        for name, f in seen.items()
    }


def start_up(variants: list[Variant], repetitions: int) -> dict[str, dict]:
    took: dict[str, list[float]] = {variant.name: [] for variant in variants}
    for _ in range(repetitions):
        for variant in variants:
            env = {**os.environ, **({"PYTHONPATH": str(variant.scripts)} if variant.scripts else {})}
            started = time.monotonic()
            argv = [sys.executable, "-m", "cicd", "--version"]
            subprocess.run(argv, capture_output=True, check=True, env=env)
            took[variant.name].append((time.monotonic() - started) * 1000)
    return {name: {"version_startup_ms": median(values)} for name, values in took.items()}


# What `cicd rollback` imports that is not ours: the floor under its time to switch, whatever the code.
LIBRARIES = (
    "import pydantic, yaml, sqlite3, http.client, json, argparse, logging, subprocess, dataclasses; "
    "from pydantic import BaseModel, Field, AfterValidator, Discriminator, Tag, StringConstraints"
)


def library_floor(repetitions: int) -> dict:
    """An interpreter that only starts, and one that imports the libraries a rollback needs."""
    figures = {}
    for name, code in (("python_startup_ms", "pass"), ("library_imports_ms", LIBRARIES)):
        took = []
        for _ in range(repetitions):
            started = time.monotonic()
            subprocess.run([sys.executable, "-c", code], check=True)
            took.append((time.monotonic() - started) * 1000)
        figures[name] = median(took)
    return figures


def measure(router: str, variants: list[Variant], repetitions: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"cicd-rollback-fast-{router}-"))
    bench = Bench(root, router)
    try:
        with_flags(bench)
        parts = (
            rollbacks(bench, variants, repetitions),
            flag_changes(bench, variants, repetitions),
            start_up(variants, repetitions * 2),
        )
        figures = {v.name: {key: x for part in parts for key, x in part[v.name].items()} for v in variants}
        result = figures.pop(CURRENT.name)
        return {**result, **figures}
    finally:
        bench.shut_down()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--routers", default="haproxy,nginx")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="SCRIPTS_DIR",
        help="also measure the scripts/ folder of another checkout, interleaved with this one (e.g. "
        "`git archive REV scripts | tar -x -C DIR`, then DIR/scripts); its figures go under `baseline`",
    )
    args = parser.parse_args()
    for binary in args.routers.split(","):
        if shutil.which(binary) is None and not os.path.exists(f"/usr/sbin/{binary}"):
            raise SystemExit(f"{binary} is not installed: run scripts/install-system-deps.sh")
    # As installed: pip compiles the package's bytecode, so commands do not compile their sources.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    load_before = os.getloadavg()[0]
    variants = [CURRENT] + ([Variant("baseline", args.baseline.resolve())] if args.baseline else [])
    routers = {router: measure(router, variants, args.repetitions) for router in args.routers.split(",")}
    default = DEFAULT_ROUTER if DEFAULT_ROUTER in routers else next(iter(routers))
    result = {
        "router": default,
        **routers[default],
        **library_floor(args.repetitions * 2),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "routers": routers,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
