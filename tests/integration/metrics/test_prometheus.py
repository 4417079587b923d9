"""Against a real Prometheus and Pushgateway (Debian packages) on loopback: a broken version caught
through PromQL during a deploy (the access-log threshold is switched off), and `cicd metrics --push`
read back through PromQL."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tests.integration.deploy.deploy_harness import Project, free_ports, last_line, live_version

from load import Load

pytestmark = pytest.mark.integration
PROMETHEUS, PUSHGATEWAY = "/usr/bin/prometheus", "/usr/bin/prometheus-pushgateway"
HALF_BROKEN = (  # every other quote fails once warmed up; health and the smoke test's quote pass
    "type(self).served = getattr(type(self), 'served', 0) + 1\n"
    "if self.served > 3 and self.served % 2 == 0:\n"
    "    self._send_json(500, {'error': 'pricing cache corrupted'})\n"
    "    return"
)
ERROR_RATIO = (
    'sum(rate(sample_http_requests_total{code=~"5.."}[3s])) / sum(rate(sample_http_requests_total[3s]))'
)


def wait_ready(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.1)


@pytest.fixture
def monitoring(tmp_path):
    """Prometheus scraping both colour slots of the test environment and a Pushgateway, every 0.5 s."""
    if not (Path(PROMETHEUS).exists() and Path(PUSHGATEWAY).exists()):
        pytest.skip("prometheus or prometheus-pushgateway is not installed (scripts/install-system-deps.sh)")
    prom_port, gateway_port = free_ports(2)
    project = Project(tmp_path / "project")
    env = project.add_env("staging")
    blue, green = env["deploy"]["colors"]["blue"]["port"], env["deploy"]["colors"]["green"]["port"]
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "500ms", "scrape_timeout": "400ms"},
        "scrape_configs": [
            {"job_name": "service",
             "static_configs": [{"targets": [f"127.0.0.1:{blue}", f"127.0.0.1:{green}"]}]},
            {"job_name": "pushgateway", "honor_labels": True,
             "static_configs": [{"targets": [f"127.0.0.1:{gateway_port}"]}]},
        ],
    }))
    processes = [
        subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{gateway_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                          f"--web.listen-address=127.0.0.1:{prom_port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    deadline = time.monotonic() + 30
    wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", deadline)
    wait_ready(f"http://127.0.0.1:{gateway_port}/-/ready", deadline)
    try:
        yield project, f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{gateway_port}"
    finally:
        project.shut_down()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def query(prometheus: str, promql: str) -> list[dict]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]["result"]


def test_promql_catches_a_broken_version_and_pushed_metrics_are_queryable(monitoring):
    project, prometheus, gateway = monitoring
    settings = {"window_seconds": 9, "interval_seconds": 0.5, "min_samples": 5,
                "max_error_rate": 1.0,  # the access log alone would let this version through
                "prometheus": {"url": prometheus, "queries": [{"name": "error_ratio", "query": ERROR_RATIO,
                                                               "max": 0.05}]}}
    project.write_env({**project.envs["staging"],
                       "deploy": {**project.envs["staging"]["deploy"], "verification": settings}})
    load = Load(project.url("staging", "/api/quote?sku=widget&quantity=2"), workers=2, seconds=90).start()
    try:
        good = project.deploy("staging", "1.0.0")
        assert good.returncode == 0, good.stdout + good.stderr  # a healthy version passes the query
        artifact = project.artifact("broken", HALF_BROKEN)
        broken = project.deploy("staging", "3.0.0", "--artifact", str(artifact))
    finally:
        load.stop()
    assert broken.returncode == 1, broken.stdout
    line = last_line(broken)
    assert "verification failed" in line and "error_ratio" in line and "(PromQL)" in line, line
    assert "rolled back to 1.0.0" in line
    assert live_version(project, "staging") == "1.0.0"

    pushed = project.cicd("metrics", "--env", "staging", "--push", gateway, "--job", "deploys")
    assert pushed.returncode == 0, pushed.stderr
    deadline = time.monotonic() + 20
    while not query(prometheus, 'cicd_deploys_total{environment="staging",status="rolled_back"}'):
        assert time.monotonic() < deadline, "the pushed metrics were never scraped"
        time.sleep(0.25)
    rolled_back = query(prometheus, 'cicd_deploys_total{environment="staging",status="rolled_back"}')
    assert rolled_back[0]["value"][1] == "1" and rolled_back[0]["metric"]["job"] == "deploys"
    live = query(prometheus, 'cicd_live_version_info{environment="staging"}')
    assert [series["metric"]["version"] for series in live] == ["1.0.0"]
    verified = query(prometheus, 'cicd_verification_passed{environment="staging"}')
    assert [(s["metric"]["version"], s["value"][1]) for s in verified] == [("3.0.0", "0")]


def test_an_unreachable_prometheus_is_a_broken_source_not_a_failed_version(tmp_path):
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.skip("nginx is not installed")
    project = Project(tmp_path)
    (nowhere,) = free_ports(1)
    env = project.add_env("staging")
    try:
        project.must_deploy("staging", "1.0.0")
        check = {"name": "error_ratio", "query": ERROR_RATIO, "max": 0.05}
        source = {"url": f"http://127.0.0.1:{nowhere}", "timeout_seconds": 0.5, "queries": [check]}
        verification = {"window_seconds": 2, "interval_seconds": 0.25, "consecutive_error_limit": 3,
                        "prometheus": source}
        project.write_env({**env, "deploy": {**env["deploy"], "verification": verification}})
        result = project.deploy("staging", "1.1.0")
        live = live_version(project, "staging")
    finally:
        project.shut_down()
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert f"Prometheus at http://127.0.0.1:{nowhere} did not answer" in text, text
    assert live == "1.0.0"  # a source nobody can read verifies nothing: the old version serves again
