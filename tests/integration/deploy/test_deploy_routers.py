"""Both routers, real nginx and real HAProxy, under keep-alive load: what a switch, a switch back and a
failed deploy leave to the clients."""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
import threading
import time

import pytest
from deploy_harness import last_line, live_version

from load import Load

pytestmark = pytest.mark.integration

ROUTERS = ["nginx", "haproxy"]
WRK_ERRORS = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ERRORS %d %d %d %d %d %d\\n", summary.requests, e.connect, e.read, e.write,
    e.timeout, e.status))
end
"""


@pytest.fixture(params=ROUTERS)
def router(request):
    if shutil.which(request.param) is None and shutil.which(f"/usr/sbin/{request.param}") is None:
        pytest.skip(f"{request.param} is not installed (scripts/install-system-deps.sh installs it)")
    return request.param


def slow_request(port: int, seconds: float, results: list) -> threading.Thread:
    """A long request on its own connection; appends (status, version) or (error name, None)."""

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=seconds + 20)
        try:
            conn.request("GET", f"/slow?seconds={seconds:g}")
            response = conn.getresponse()
            response.read()
            results.append((response.status, response.getheader("X-Service-Version")))
        except (OSError, http.client.HTTPException) as err:
            results.append((type(err).__name__, None))
        finally:
            conn.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wrk(url: str, seconds: float, tmp_path, connections: int = 16) -> subprocess.Popen:
    script = tmp_path / "errors.lua"
    script.write_text(WRK_ERRORS)
    # a request is a timeout only after 10 s: on a busy CI machine, wrk's default 2 s is queueing
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), url]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_errors(proc: subprocess.Popen) -> dict[str, int]:
    output, _ = proc.communicate(timeout=120)
    line = next(ln for ln in output.splitlines() if ln.startswith("ERRORS "))
    names = ("requests", "connect", "read", "write", "timeout", "status")
    return dict(zip(names, map(int, line.split()[1:]), strict=True))


def deploy_across_a_long_request(project, version: str, port: int, results: list) -> str:
    """Deploy `version`; just before its switch (the run pauses there), a 3 s request starts on the
    live color. Returns the deploy's output."""
    deploying = project.popen(
        "deploy", "--env", "staging", "--version", version,
        extra_env={"CICD_TEST_PAUSE_AT": "switch", "CICD_TEST_PAUSE_SECONDS": "0.5"},
    )  # fmt: skip
    lines = []
    for line in deploying.stdout:
        lines.append(line)
        if line.startswith("paused before switch"):
            break
    long_request = slow_request(port, 3.0, results)
    stdout, stderr = deploying.communicate(timeout=60)
    long_request.join(timeout=30)
    output = "".join(lines) + stdout
    assert deploying.returncode == 0, output + stderr
    return output


def test_switches_under_keepalive_load_let_long_requests_finish(project, router, tmp_path):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (scripts/install-system-deps.sh installs it)")
    # Verification still judges errors; the latency of a loaded 2-core machine under 64 connections,
    # just after a switch to a fresh process, is not this test's subject (bench/zero_downtime.py).
    env = project.add_env("staging", router={"kind": router, "drain_timeout_seconds": 20},
                          verification={"latency_floor_ms": 2000})  # fmt: skip
    port = int(env["url"].rsplit(":", 1)[1])
    project.must_deploy("staging", "1.0.0")

    # 64 keep-alive connections, as a load balancer or an API client pool holds them open
    load = wrk(project.url("staging", "/api/quote?sku=widget&quantity=2"), 30, tmp_path, connections=64)
    time.sleep(0.5)
    long_results: list = []
    outputs = [deploy_across_a_long_request(project, v, port, long_results) for v in ("1.1.0", "1.2.0")]
    load.send_signal(signal.SIGINT)  # wrk reports what it saw so far
    errors = wrk_errors(load)

    assert long_results == [(200, "1.0.0"), (200, "1.1.0")], long_results  # none cut by a switch
    for output, old in zip(outputs, ("blue", "green"), strict=True):
        drain_line = next(line for line in output.splitlines() if " drain " in line)
        assert f"{old} drained in" in drain_line, output
        assert float(drain_line.split("drained in ")[1].split("s")[0]) >= 1.5  # it waited for the request
    assert errors["requests"] > 500 and errors["status"] == 0, errors
    if router == "haproxy":  # a weight change closes no connection; an nginx reload closes idle ones
        assert errors["connect"] + errors["read"] + errors["write"] + errors["timeout"] == 0, errors
    assert live_version(project, "staging") == "1.2.0"


def test_switch_back_drains_the_failed_color_before_stopping_it(project, router):
    env = project.add_env(
        "staging",
        router={"kind": router, "drain_timeout_seconds": 20},
        verification={"window_seconds": 6, "interval_seconds": 0.25, "min_samples": 5},
        smoke=[],  # the broken version must reach live traffic: its quotes would fail the smoke tests
    )
    port = int(env["url"].rsplit(":", 1)[1])
    project.must_deploy("staging", "1.0.0")
    broken = project.artifact("broken", patch="self._send_json(500, {'error': 'boom'})\nreturn")

    deploying = project.popen(
        "deploy", "--env", "staging", "--version", "2.0.0", "--artifact", str(broken),
        extra_env={"CICD_TEST_PAUSE_AT": "warm", "CICD_TEST_PAUSE_SECONDS": "0.3"},
    )  # fmt: skip
    head = []
    for line in deploying.stdout:  # the switch to 2.0.0 is complete when the run pauses before `warm`
        head.append(line)
        if line.startswith("paused before warm"):
            break
    long_results: list = []
    # in flight on the broken color past the switch back; longer than the stop grace (3 s), so stopping
    # the color before it finished would cut it
    long_request = slow_request(port, 8.0, long_results)
    # traffic for the verification to judge, until the deploy ends
    quote_url = project.url("staging", "/api/quote?sku=widget&quantity=2")
    quotes = Load(quote_url, workers=1, pause=0.02, seconds=40)
    quotes.start()
    stdout, stderr = deploying.communicate(timeout=60)
    stdout = "".join(head) + stdout
    quotes.stop()
    long_request.join(timeout=30)

    assert deploying.returncode == 1, stdout + stderr
    assert "rolled back to 1.0.0" in stdout + stderr
    assert long_results == [(200, "2.0.0")], (long_results, stdout)  # finished on the failed color
    drain_line = next(line for line in stdout.splitlines() if "green drained in" in line)
    assert float(drain_line.split("drained in ")[1].split("s")[0]) >= 1.0, stdout
    assert live_version(project, "staging") == "1.0.0"
    assert project.status("staging")["live_color"] == "blue"


def test_a_failed_deploy_keeps_the_warm_previous_color(project, router):
    project.add_env("staging", router={"kind": router})
    for version in ("1.0.0", "1.1.0"):
        project.must_deploy("staging", version)
    assert project.status("staging")["warm_version"] == "1.0.0"
    crashing = project.artifact("crashes")
    (crashing / "sample_service" / "app.py").write_text("raise SystemExit('no config')\n")

    failed = project.deploy("staging", "2.0.0", "--artifact", str(crashing))

    assert failed.returncode == 1
    assert "1.0.0 warm in blue again" in failed.stdout, failed.stdout
    state = project.status("staging")
    assert state["current_version"] == "1.1.0"
    assert (state["warm_color"], state["warm_version"]) == ("blue", "1.0.0")
    started = time.monotonic()
    rollback = project.cicd("rollback", "--env", "staging", "--reason", "instant rollback still there")
    assert rollback.returncode == 0, rollback.stderr
    assert "warm blue" in rollback.stdout and time.monotonic() - started < 10
    assert live_version(project, "staging") == "1.0.0"


def test_a_version_is_its_content(project, router):
    """A version names one content: a changed artifact under a released version is refused (both
    digests named) until --rebuild; what ships leaves out .cicd/, VCS folders and .gitignored files."""
    project.add_env("staging", router={"kind": router})
    artifact = project.artifact("app")
    (artifact / ".gitignore").write_text("*.local\nscratch/\n")
    for leftover in (".cicd/state/x.db", ".git/HEAD", "notes.local", "scratch/big.bin"):
        (artifact / leftover).parent.mkdir(parents=True, exist_ok=True)
        (artifact / leftover).write_text("must not ship\n")
    for version in ("1.0.0", "1.1.0"):
        project.must_deploy("staging", version, "--artifact", str(artifact))
    release = project.root / ".cicd" / "releases" / "staging" / "1.0.0"
    assert (release / "sample_service" / "app.py").is_file()
    assert not any((release / name).exists() for name in (".cicd", ".git", "notes.local", "scratch"))

    (artifact / "sample_service" / "pricing.py").write_text(
        (artifact / "sample_service" / "pricing.py").read_text() + "\n# changed after the release\n"
    )
    dry = project.deploy("staging", "1.0.0", "--artifact", str(artifact), "--dry-run")
    refused = project.deploy("staging", "1.0.0", "--artifact", str(artifact))

    assert dry.returncode == 1 and refused.returncode == 1
    for result in (dry, refused):
        message = last_line(result)
        assert "version 1.0.0 was released as sha256:" in message and "this artifact is sha256:" in message
        digests = [word.rstrip(",:") for word in message.split() if word.startswith("sha256:")]
        assert len(set(digests)) == 2 and "--rebuild" in message
    assert live_version(project, "staging") == "1.1.0"

    rebuilt = project.deploy("staging", "1.0.0", "--artifact", str(artifact), "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "changed after the release" in (release / "sample_service" / "pricing.py").read_text()
    assert project.status("staging")["current_version"] == "1.0.0"
