"""Integration tests of the sample service behind nginx (docker-compose.ci.yml or the host-mode script).

They need SERVICE_URL (the proxy); ci.yml's integration job sets it after starting the services.
"""

import json
import os
import urllib.request

import pytest

SERVICE_URL = os.environ.get("SERVICE_URL", "")
pytestmark = pytest.mark.skipif(not SERVICE_URL, reason="SERVICE_URL not set: start docker-compose.ci.yml")


def get(path):
    with urllib.request.urlopen(f"{SERVICE_URL}{path}", timeout=5) as response:
        return response.status, json.load(response), response.headers


def test_health_through_proxy():
    status, body, _ = get("/healthz")
    assert (status, body["status"]) == (200, "ok")


def test_version_header_survives_the_proxy():
    status, body, headers = get("/version")
    assert status == 200 and headers["X-Service-Version"] == body["version"]


def test_quote_through_proxy():
    status, body, _ = get("/api/quote?sku=widget&quantity=2")
    assert (status, body["total"]) == (200, "5.00")
