"""Feature flags on a real blue-green deploy behind nginx: `cicd flags` writes flagd's file on the host,
the sample service reads it through OpenFeature's flagd provider in file mode, and live requests through
the router show the split, stable answers per user, and the kill switch."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from tests.integration.deploy.deploy_harness import Project

pytestmark = pytest.mark.integration

FLAGS = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
    },
}
USERS = [f"user-{n}" for n in range(2000)]


def engines(listen: str, users: list[str]) -> dict[str, str]:
    """The quote engine each user gets, over one keep-alive connection through the router."""
    host, port = listen.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    answers = {}
    try:
        for user in users:
            conn.request("GET", f"/api/quote?sku=widget&quantity=2&user={user}")
            response = conn.getresponse()
            body = json.loads(response.read())
            assert response.status == 200, body
            answers[user] = body["engine"]
    finally:
        conn.close()
    return answers


def wait_for(listen: str, user: str, engine: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while engines(listen, [user])[user] != engine:
        assert time.monotonic() < deadline, f"{user} never got engine {engine}"
        time.sleep(0.05)


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    yield project
    project.shut_down()


def test_percentage_split_stable_users_kill_switch_and_ledger(project):
    flag_file = project.root / ".cicd" / "flags" / "staging.json"
    env = project.add_env("staging", runtime={"env": {"FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flag_file)}})
    listen = env["deploy"]["router"]["listen"]
    (project.config_dir / "flags").mkdir()
    (project.config_dir / "flags" / "staging.json").write_text(json.dumps(FLAGS, indent=2))

    pushed = project.cicd("flags", "push", "--env", "staging", "--reason", "first flags")
    assert pushed.returncode == 0, pushed.stderr
    project.must_deploy("staging", "1.0.0")
    assert set(engines(listen, USERS[:50]).values()) == {"v1"}  # published off: nobody has it

    ten = project.cicd("flags", "set", "quote-v2", "--percent", "10", "--env", "staging")
    assert ten.returncode == 0, ten.stderr
    assert "on, split on 10%, off 90%" in ten.stdout
    first = engines(listen, USERS)  # the provider may still answer from the old file for ~100 ms
    lucky = next(user for user, engine in first.items() if engine == "v2")
    wait_for(listen, lucky, "v2")
    at_ten = engines(listen, USERS)
    share = 100 * sum(engine == "v2" for engine in at_ten.values()) / len(USERS)
    assert 7 <= share <= 13, f"{share:.1f}% of users got the feature at 10%"
    assert engines(listen, USERS[:200]) == {u: at_ten[u] for u in USERS[:200]}  # same user, same answer

    project.cicd("flags", "set", "quote-v2", "--percent", "25", "--env", "staging").check_returncode()
    time.sleep(0.5)  # several poll intervals of the provider
    at_25 = engines(listen, USERS)
    assert all(at_25[u] == "v2" for u in USERS if at_ten[u] == "v2"), "a user inside 10% fell out at 25%"
    assert 20 <= 100 * sum(e == "v2" for e in at_25.values()) / len(USERS) <= 30

    killed = project.cicd("flags", "disable", "quote-v2", "--env", "staging", "--reason", "errors in v2")
    assert killed.returncode == 0, killed.stderr
    wait_for(listen, lucky, "v1")
    assert set(engines(listen, USERS[:300]).values()) == {"v1"}

    listed = project.cicd("flags", "list", "--env", "staging")
    assert "quote-v2" in listed.stdout and "disabled" in listed.stdout
    reviewed = json.loads((project.config_dir / "flags" / "staging.json").read_text())
    assert reviewed["flags"]["quote-v2"]["state"] == "DISABLED"  # written back for the commit

    audit = project.cicd("audit", "show", "--env", "staging", "--json")
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    actions = [entry["action"] for entry in entries]
    assert actions.count("flag.set") == 2 and "flag.push" in actions and "flag.disable" in actions
    disabled = next(entry for entry in entries if entry["action"] == "flag.disable")
    assert disabled["reason"] == "errors in v2" and disabled["details"]["flag"] == "quote-v2"


def test_bad_changes_are_refused_before_any_host_sees_them(project):
    project.add_env("staging")
    (project.config_dir / "flags").mkdir()
    (project.config_dir / "flags" / "staging.json").write_text(json.dumps(FLAGS))
    unknown = project.cicd("flags", "disable", "quote-v3", "--env", "staging")
    assert unknown.returncode == 2 and "no flag named 'quote-v3'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    too_much = project.cicd("flags", "set", "quote-v2", "--percent", "120", "--env", "staging")
    assert too_much.returncode == 2 and "0 to 100" in too_much.stderr
    assert not (project.root / ".cicd" / "flags" / "staging.json").exists()
