"""The stdlib probe and the curl probe (run on a host), against a real HTTP server."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Sequence

from cicd.checks.http import USER_AGENT, join_url, probe
from cicd.checks.remote import curl_argv, curl_prober, parse_curl_output
from cicd.hosts.base import CommandResult
from cicd.hosts.local import LocalHost


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_join_url():
    assert join_url("http://h:1", "/healthz") == "http://h:1/healthz"
    assert join_url("http://h:1/", "healthz?x=1") == "http://h:1/healthz?x=1"
    assert join_url("http://h:1/base", "/v") == "http://h:1/base/v"


def test_probe_measures_status_latency_and_body(http_server):
    result = probe(f"{http_server}/ok")
    assert result.status == 200 and result.error is None and result.answered
    assert 0 < result.latency_ms < 1000 and result.body_excerpt == "ok"
    assert result.describe().startswith(f"{http_server}/ok: HTTP 200 in ")


def test_probe_sends_the_host_header_and_its_user_agent(http_server):
    result = probe(f"{http_server}/echo-host", host_header="app.example.test")
    assert result.body_excerpt == f"host=app.example.test ua={USER_AGENT}"


def test_probe_keeps_only_an_excerpt_of_the_body(http_server):
    assert len(probe(f"{http_server}/big", body_limit=100).body_excerpt) == 100


def test_probe_reports_errors_instead_of_raising(http_server):
    refused = probe(f"http://127.0.0.1:{closed_port()}/")
    assert refused.status is None and refused.error == "connection refused"
    slow = probe(f"{http_server}/slow", timeout=0.2)
    assert slow.error == "timed out after 0.2 s" and 150 < slow.latency_ms < 1000
    assert probe("ftp://x/").error == "not an http(s) URL: 'ftp://x/'"
    assert probe(f"{http_server}/status/503").status == 503
    assert probe(f"{http_server}/ok", method="HEAD").body_excerpt == ""


class ElsewhereHost:
    """A host whose argv runs here: curl_prober's commands are observable without an ssh server."""

    name, address = "elsewhere", "127.0.0.1"

    def run(self, argv: Sequence[str], *, input=None, env=None, timeout=60.0, check=True) -> CommandResult:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
        return CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def test_curl_prober_runs_on_the_host(http_server):
    remote = curl_prober(ElsewhereHost())
    assert LocalHost().probe(f"{http_server}/ok").status == 200  # LocalHost probes directly
    result = remote(f"{http_server}/echo-host", host_header="app.test")
    assert result.status == 200 and result.body_excerpt == f"host=app.test ua={USER_AGENT}"
    assert result.latency_ms > 0
    assert remote(f"{http_server}/status/500").status == 500
    assert remote(f"http://127.0.0.1:{closed_port()}/").error == "connection refused"
    assert remote(f"{http_server}/slow", timeout=0.3).error == "timed out after 0.3 s"


def test_curl_argv_and_output_parsing():
    argv = curl_argv("http://h/x", method="HEAD", host_header="a.test", timeout=2)
    assert "--head" in argv and argv[-2:] == ["--", "http://h/x"] and "Host: a.test" in argv
    assert "-X" in curl_argv("http://h/x", method="POST", host_header=None, timeout=2)
    ok = parse_curl_output("http://h/x", "body\n200 0.012", "", 0, 2.0)
    assert (ok.status, ok.body_excerpt, ok.latency_ms) == (200, "body", 12.0)
    refused = parse_curl_output("http://h/x", "\n000 0.001", "curl: (7) Failed to connect", 7, 2.0)
    assert refused.status is None and refused.error == "connection refused"
    odd = parse_curl_output("http://h/x", "", "curl: (35) TLS handshake failed", 35, 2.0)
    assert odd.error == "curl: (35) TLS handshake failed"
