"""The gates on a remote target: the access log followed and the probes sent through a real sshd host."""

from __future__ import annotations

import time

import pytest
from checks_harness import Load

from cicd.checks import HostLogSource, Phase, curl_prober, measure_baseline, verify, wait_healthy
from cicd.checks.logsource import LogUnavailableError
from cicd.config.deploy import HealthCheck, Verification

pytestmark = pytest.mark.integration

HEALTH = HealthCheck(path="/healthz", interval_seconds=0.1, timeout_seconds=5)


def test_remote_log_follower_over_ssh(sshd_hosts):
    spec = sshd_hosts[0]
    host = spec.ssh_host()
    log = spec.home / "logs" / "access.log"
    log.parent.mkdir()
    log.write_text("before\n")
    source = HostLogSource(host, str(log))
    source.seek_end()
    with log.open("a") as handle:
        handle.write("one\ntw")
    assert source.read_new() == ["one"]
    log.rename(log.with_suffix(".log.1"))
    log.write_text("three\n")
    assert source.read_new() == ["three"]  # rotated: the new file from its start
    assert source.read_recent(1024) == ["three"]


def test_remote_log_errors_are_unavailable_not_crashes(sshd_hosts):
    spec = sshd_hosts[0]
    source = HostLogSource(spec.ssh_host(), str(spec.home / "missing.log"))
    with pytest.raises(LogUnavailableError, match=r"missing\.log on web-1 does not exist"):
        source.read_new()
    (spec.home / "present.log").write_text("x\n")
    cut = HostLogSource(spec.ssh_host(), str(spec.home / "present.log"))
    cut.seek_end()
    spec.cut_off()
    with pytest.raises(LogUnavailableError, match=r"present\.log on web-1 cannot be read"):
        cut.read_new()


def test_verification_through_an_ssh_host_catches_a_broken_version(sshd_hosts, upstream, router):
    host = sshd_hosts[0].ssh_host()
    old, new = upstream(), upstream(error_share=0.3)
    nginx = router(old)
    prober = curl_prober(host)
    assert wait_healthy(f"http://127.0.0.1:{new}", HEALTH, prober=prober).ok
    log = HostLogSource(host, str(nginx.access_log))
    settings = Verification(window_seconds=10, interval_seconds=0.25)
    with Load(nginx.port):
        time.sleep(0.3)
        baseline = measure_baseline(
            nginx.url, settings, HEALTH, log=log, upstreams={f"127.0.0.1:{old}"}, prober=prober
        )
        nginx.switch(new)
        result = verify(
            nginx.url,
            settings,
            HEALTH,
            log=log,
            upstreams={f"127.0.0.1:{new}"},
            baseline=baseline,
            skip_existing=False,
            prober=prober,
        )
    assert baseline.stats.requests >= 10 and baseline.stats.errors == 0
    assert result.phase is Phase.FAILED and result.reason.startswith("error rate "), result.reason
    assert result.detect_after_s is not None and result.detect_after_s < 4
