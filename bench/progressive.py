#!/usr/bin/env python3
"""Progressive delivery benchmark: feature flags, rollback drills and a bad flag caught by verification,
on a real blue-green deploy behind nginx with the sample service reading flags through OpenFeature's
flagd provider in file mode, driven through the real `cicd` CLI.

- flag_change_to_effect_ms: `cicd flags set quote-v2 --percent 100` started -> every probed user's
  answer over HTTP follows it (median of --repeat; the command's own start-up included);
- flag_kill_ms: the same for `cicd flags disable quote-v2` (from 100 % to nobody);
- flag_command_ms: beside them, the `cicd flags set` process alone (start to exit): the rest of
  flag_change_to_effect_ms is the provider noticing the file (its poll interval, 100 ms here);
- flag_split_error_pct: |share - 10| in points at 10 %, over --users distinct users' live requests;
- drill_restore_ms: the time to restore measured by `cicd drill` (median of --drills);
- bad_flag_auto_disabled: a build whose quote-v2 path answers 500, `cicd flags rollout --steps 10,50`
  under load: true when verification turned the flag off and the errors stopped.
- auto_promotion_steps: a hands-off promotion (`cicd promotion start`, then `cicd promotion advance` as
  the scheduled workflow runs it, a fresh process each time) of a healthy version under load, steps
  5 -> 25 -> 50 -> 100 % with 1 s delays and a 1 s monitor window: the moves it made by itself until
  promoted (step, monitor, promote entries in the ledger; 4 when every step went as configured);
  auto_promotion_promoted says it ended promoted, auto_promotion_failed_requests what the load saw.

    python3 bench/progressive.py [--repeat 5] [--users 5000] [--drills 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.integration.deploy.deploy_harness import Project  # noqa: E402  (the deploy test project)

FLAGS = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
    },
}
BROKEN_V2 = """from sample_service.features import FEATURES
if FEATURES.enabled("quote-v2", query.get("user", [None])[0]):
    self._send_json(500, {"error": "quote v2 is broken"})
    return"""
PROBED_USERS = [f"probe-{n}" for n in range(20)]


class Client:
    """One keep-alive connection through the router."""

    def __init__(self, listen: str):
        host, port = listen.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=5)

    def quote(self, user: str) -> tuple[int, str | None]:
        self.conn.request("GET", f"/api/quote?sku=widget&quantity=2&user={user}")
        response = self.conn.getresponse()
        body = json.loads(response.read())
        return response.status, body.get("engine")


def time_to_effect(project: Project, client: Client, command: list[str], engine: str) -> tuple[float, float]:
    """(command start -> every answer follows, command start -> command exit) in ms."""
    started = time.monotonic()
    project.cicd(*command, "--env", "staging").check_returncode()
    exited = time.monotonic()
    while any(client.quote(user)[1] != engine for user in PROBED_USERS):
        if time.monotonic() - started > 30:
            raise SystemExit(f"{command} never took effect")
    return (time.monotonic() - started) * 1000, (exited - started) * 1000


def flag_figures(project: Project, client: Client, repeat: int, users: int) -> dict:
    effect, kill, command = [], [], []
    for _ in range(repeat):
        total, own = time_to_effect(project, client, ["flags", "set", "quote-v2", "--percent", "100"], "v2")
        effect.append(total)
        command.append(own)
        kill.append(time_to_effect(project, client, ["flags", "disable", "quote-v2"], "v1")[0])
    project.cicd("flags", "set", "quote-v2", "--percent", "10", "--env", "staging").check_returncode()
    time.sleep(1.0)  # several poll intervals of the provider
    salt = random.randrange(10**9)
    on = sum(client.quote(f"user-{salt}-{n}")[1] == "v2" for n in range(users))
    return {
        "flag_change_to_effect_ms": round(statistics.median(effect), 1),
        "flag_kill_ms": round(statistics.median(kill), 1),
        # beside the first: the command alone (interpreter start-up, schema check, write, ledger)
        "flag_command_ms": round(statistics.median(command), 1),
        "flag_split_error_pct": round(abs(100 * on / users - 10), 2),
        "flag_split_users": users,
    }


def drill_figure(project: Project, drills: int) -> float:
    project.must_deploy("staging", "2.0.0")
    for _ in range(drills):
        project.cicd("drill", "--env", "staging").check_returncode()
    audit = project.cicd("audit", "show", "--env", "staging", "--json", "--limit", "500").stdout
    restores = [e["details"]["restore_ms"] for line in audit.splitlines()
                if (e := json.loads(line))["action"] == "drill"]  # fmt: skip
    return round(statistics.median(restores), 1)


def bad_flag_disabled(project: Project, listen: str) -> bool:
    project.cicd("flags", "set", "quote-v2", "--percent", "0", "--env", "staging").check_returncode()
    project.must_deploy("staging", "3.0.0", "--artifact", str(project.artifact("v2-broken", BROKEN_V2)))
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        client = Client(listen)
        while not stop.is_set():
            statuses.append(client.quote(f"u{random.randrange(10**6)}")[0])
            stop.wait(0.005)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    rollout = project.cicd("flags", "rollout", "quote-v2", "--steps", "10,50", "--env", "staging")
    time.sleep(1.0)
    seen = len(statuses)
    time.sleep(1.0)
    stop.set()
    thread.join()
    return rollout.returncode == 1 and bool(statuses[seen:]) and set(statuses[seen:]) == {200}


def promotion_figures(project: Project) -> dict:
    from load import Load  # scripts/load.py: the keep-alive load client of the tests and the demo

    promotion = {"steps": [5, 25, 50], "step_delay_seconds": 1, "monitor_seconds": 1}
    env = project.add_env("promoted", router={"kind": "haproxy"}, promotion=promotion)

    def cicd(*args: str):
        return project.cicd("promotion", *args, "--env", "promoted")

    cicd("start", "--version", "1.0.0").check_returncode()  # nothing live yet: a plain deploy
    load = Load(env["url"] + "/api/quote?sku=widget&quantity=2", workers=2, seconds=120).start()
    try:
        cicd("start", "--version", "1.1.0").check_returncode()
        status = None
        deadline = time.monotonic() + 120
        while status not in ("promoted", "rolled-back") and time.monotonic() < deadline:
            cicd("advance")
            status = json.loads(cicd("status", "--json").stdout)["status"]
    finally:
        summary = load.stop().summary()
    audit = project.cicd("audit", "show", "--env", "promoted", "--json", "--limit", "500").stdout
    automatic = ("promotion.step", "promotion.monitor", "promotion.promote")
    moves = [line for line in audit.splitlines() if json.loads(line)["action"] in automatic]
    return {
        "auto_promotion_steps": len(moves),
        "auto_promotion_promoted": status == "promoted",
        "auto_promotion_failed_requests": summary["failed"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--drills", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-progressive-") as root:
        project = Project(Path(root))
        flag_file = project.root / ".cicd" / "flags" / "staging.json"
        env = project.add_env("staging", runtime={"env": {"FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flag_file)}})
        listen = env["deploy"]["router"]["listen"]
        (project.config_dir / "flags").mkdir()
        (project.config_dir / "flags" / "staging.json").write_text(json.dumps(FLAGS))
        try:
            project.cicd("flags", "push", "--env", "staging").check_returncode()
            project.must_deploy("staging", "1.0.0")
            figures = flag_figures(project, Client(listen), args.repeat, args.users)
            figures["drill_restore_ms"] = drill_figure(project, args.drills)
            figures["bad_flag_auto_disabled"] = bad_flag_disabled(project, listen)
            figures.update(promotion_figures(project))
        finally:
            project.shut_down()
    figures["repeat"] = args.repeat
    figures["load_average"] = [round(value, 2) for value in os.getloadavg()]  # comparable within a run only
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
