import json
import threading
import urllib.error
import urllib.request

import pytest

from sample_service.app import make_server


@pytest.fixture
def base_url():
    server = make_server("127.0.0.1", 0, "9.9.9")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response), response.headers
    except urllib.error.HTTPError as err:
        return err.code, json.load(err), err.headers


def test_health_and_version(base_url):
    status, body, headers = get(f"{base_url}/healthz")
    assert status == 200 and body["status"] == "ok"
    status, body, headers = get(f"{base_url}/version")
    assert (status, body, headers["X-Service-Version"]) == (200, {"version": "9.9.9"}, "9.9.9")


def test_quote_endpoint(base_url):
    status, body, _ = get(f"{base_url}/api/quote?sku=gizmo&quantity=10")
    assert status == 200 and body["total"] == "949.05"


def test_quote_rejects_bad_input(base_url):
    status, body, _ = get(f"{base_url}/api/quote?sku=gizmo&quantity=-1")
    assert status == 400 and "between" in body["error"]


def test_unknown_route_is_404(base_url):
    status, body, _ = get(f"{base_url}/missing")
    assert status == 404 and body == {"error": "no route for /missing"}
