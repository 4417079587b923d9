"""Blue-green on real nginx and real processes: the happy path, zero failed requests under load,
status, warm and cold rollback, the faults that must leave the live version serving."""

from __future__ import annotations

import shutil
import socket
import time

import pytest
from deploy_harness import get, last_line, live_version

from load import Load

pytestmark = pytest.mark.integration


def test_deploy_under_load_drops_nothing_and_status_reads_the_target(project):
    project.add_env("staging")
    first = project.deploy("staging", "1.0.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert live_version(project, "staging") == "1.0.0"

    load = Load(project.url("staging", "/api/quote?sku=widget&quantity=2"), workers=3, seconds=20).start()
    time.sleep(0.3)
    second = project.deploy("staging", "1.1.0", "--reason", "second version")
    result = load.stop().summary()
    assert second.returncode == 0, second.stdout + second.stderr
    for phase in ("health", "smoke", "baseline", "switch", "warm", "verify", "known_good"):
        assert f" {phase} " in second.stdout
    assert result["failed"] == 0, result
    assert set(result["versions"]) == {"1.0.0", "1.1.0"}

    state = project.status("staging")
    assert state["current_version"] == "1.1.0"
    assert state["previous_version"] == "1.0.0"
    assert state["live_color"] == "green" and state["warm_color"] == "blue"
    assert state["health"] == "healthy" and state["locked"] is False
    assert state["deployed_by"]

    again = project.deploy("staging", "1.1.0")
    assert again.returncode == 0 and "already live" in again.stdout


def test_dry_run_prints_the_plan_and_changes_nothing(project):
    project.add_env("staging")
    result = project.deploy("staging", "1.0.0", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "switch all traffic to blue" in result.stdout and "health gate" in result.stdout
    assert not (project.root / ".cicd").exists()


def test_warm_rollback_is_instant_and_cold_rollback_goes_through_the_gate(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    # 1.1.0 is content the default artifact does not have: a cold rollback must start it as retained
    own_content = project.artifact("own-1.1.0", patch="pass  # the content 1.1.0 was released with")
    project.must_deploy("staging", "1.1.0", "--artifact", str(own_content))
    # The deploys left a snapshot of the validated file; an edit since is validated, never trusted.
    assert (project.root / ".cicd" / "validated" / "staging.json").is_file()
    env_file = project.config_dir / "environments" / "staging.yml"
    good = env_file.read_text()
    env_file.write_text(good.replace("warm_seconds: 120", "warm_seconds: -1"))
    refused = project.cicd("rollback", "--env", "staging", "--reason", "bad numbers")
    assert refused.returncode != 0 and "(deploy.warm_seconds)" in last_line(refused), refused.stderr
    assert live_version(project, "staging") == "1.1.0"
    env_file.write_text(good)

    started = time.monotonic()
    warm = project.cicd("rollback", "--env", "staging", "--reason", "bad numbers")
    elapsed = time.monotonic() - started
    assert warm.returncode == 0, warm.stderr
    assert live_version(project, "staging") == "1.0.0"
    assert "warm" in warm.stdout
    # The switch itself (printed with its timing) is well under a second; the whole command also pays
    # Python's start-up, which a loaded CI machine stretches: bench/zero_downtime.py measures it.
    switch_line = next(line for line in warm.stdout.splitlines() if " switch " in line)
    assert float(switch_line.rsplit("(", 1)[1].rstrip("s)")) < 1.0, switch_line
    assert elapsed < 10
    assert " start " not in warm.stdout  # nothing restarted

    # 1.1.0 is warm now; ask for 1.0.0's predecessor... there is none: 1.2.0 then cold back to 1.1.0
    project.must_deploy("staging", "1.2.0")  # green 1.2.0 live, blue 1.0.0 warm
    shutil.rmtree(own_content)  # the artifact of a retained release is never read again
    cold = project.cicd("rollback", "--env", "staging", "--to", "1.1.0")
    assert cold.returncode == 0, cold.stdout + cold.stderr
    assert " health " in cold.stdout and " smoke " in cold.stdout
    assert "release 1.1.0 (sha256:" in cold.stdout and "retained on 1 host(s)" in cold.stdout
    assert live_version(project, "staging") == "1.1.0"

    missing = project.cicd("rollback", "--env", "staging", "--to", "0.9.0")
    assert missing.returncode == 1
    assert "0.9.0 is not retained" in last_line(missing)
    assert live_version(project, "staging") == "1.1.0"


def test_rollback_with_nothing_to_roll_back_to(project):
    project.add_env("staging")
    nothing = project.cicd("rollback", "--env", "staging")
    assert nothing.returncode == 1
    assert last_line(nothing).startswith("error: nothing to roll back to")


def test_failed_health_gate_never_switches_and_shows_the_logs(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("crashes")
    (broken / "sample_service" / "app.py").write_text(
        "raise SystemExit('config file /etc/app.toml missing')\n"
    )
    result = project.deploy("staging", "2.0.0", "--artifact", str(broken))
    assert result.returncode == 1
    assert "health gate" in last_line(result) and "1.0.0 keeps serving" in last_line(result)
    assert "config file /etc/app.toml missing" in result.stdout  # the slot's last log lines
    assert live_version(project, "staging") == "1.0.0"
    assert project.status("staging")["warm_color"] is None  # the failed slot is gone


def test_failed_smoke_test_never_switches(project):
    project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("no-quotes", patch="self._send_json(500, {'error': 'boom'})\nreturn")
    result = project.deploy("staging", "2.0.0", "--artifact", str(broken))
    assert result.returncode == 1
    assert "smoke check(s) failed" in last_line(result) and "quote" in last_line(result)
    assert live_version(project, "staging") == "1.0.0"
    state = project.status("staging")
    assert state["current_version"] == "1.0.0" and state["warm_color"] is None


def test_port_in_use_is_one_line_and_live_keeps_serving(project):
    env = project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", env["deploy"]["colors"]["green"]["port"]))
    squatter.listen()
    try:
        result = project.deploy("staging", "1.1.0")
    finally:
        squatter.close()
    assert result.returncode == 1
    assert "already in use by another process" in last_line(result)
    assert live_version(project, "staging") == "1.0.0"


def test_nginx_config_failing_nginx_t_never_goes_live(project):
    env = project.add_env("staging")
    project.must_deploy("staging", "1.0.0")
    env["deploy"]["router"]["listen"] = "no-such-host.invalid:18999"
    project.write_env(env)
    result = project.deploy("staging", "1.1.0")
    assert result.returncode == 1
    line = last_line(result)
    assert "failed `nginx -t`" in line and "traffic unchanged" in line and "no-such-host.invalid" in line
    assert live_version(project, "staging") == "1.0.0"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["deploy", "--env", "nope", "--version", "1.0.0"], "no environment 'nope'"),
        (["deploy", "--env", "staging", "--version", "1.0;rm -rf /"], "invalid version"),
        (["deploy", "--env", "staging", "--version", "1.0.0\n"], "invalid version"),
        (["deploy", "--env", "../staging", "--version", "1.0.0"], "invalid environment name"),
        (["rollback", "--env", "staging", "--to", "`id`"], "invalid version"),
    ],
)
def test_bad_input_is_one_line(project, args, expected):
    project.add_env("staging")
    result = project.cicd(*args)
    assert result.returncode in (1, 2)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_live_color_is_read_back_and_ledger_tampering_is_detected(project):
    import sqlite3

    project.add_env("staging")
    for version in ("1.0.0", "1.1.0"):
        project.must_deploy("staging", version)
    conf = next(project.root.glob(".cicd/nginx/staging/nginx.conf")).read_text()
    assert "# cicd-traffic: blue=0 green=100 preview=blue" in conf
    status, _ = get(project.url("staging"))
    assert status == 200

    assert project.cicd("audit", "verify", "--env", "staging").returncode == 0
    db = sqlite3.connect(next(project.root.glob(".cicd/state/staging.db")))
    with db:
        db.execute("UPDATE ledger SET body = replace(body, '1.0.0', '0.9.9') WHERE seq = 2")
    db.close()
    tampered = project.cicd("audit", "verify", "--env", "staging")
    assert tampered.returncode == 1
    assert "2" in tampered.stdout + tampered.stderr


def test_recreate_that_fails_its_gate_starts_the_old_version_again(project):
    project.add_env("staging", strategy="recreate")
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("crashes")
    (broken / "sample_service" / "app.py").write_text("raise SystemExit('boom at start')\n")
    result = project.deploy("staging", "2.0.0", "--artifact", str(broken))
    assert result.returncode == 1
    assert "restore" in result.stdout and "1.0.0 started again" in result.stdout
    assert live_version(project, "staging") == "1.0.0"
