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


def test_post_order_answers_created(base_url):
    request = urllib.request.Request(f"{base_url}/api/orders", data=b'{"sku": "gizmo"}', method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201 and json.load(response) == {"accepted_bytes": 16, "version": "9.9.9"}


def test_post_without_body_is_refused(base_url):
    request = urllib.request.Request(f"{base_url}/api/orders", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400


def test_slow_endpoint_sleeps_and_bounds_its_input(base_url):
    status, body, _ = get(f"{base_url}/slow?seconds=0.2")
    assert status == 200 and body == {"slept_seconds": 0.2, "version": "9.9.9"}
    status, body, _ = get(f"{base_url}/slow?seconds=999")
    assert status == 400 and "seconds" in body["error"]


def test_keep_alive_requests_answer_fast(base_url):
    """One write per response: no delayed-ACK stall (about 40 ms) between header and body."""
    import http.client
    import time
    from urllib.parse import urlsplit

    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base_url).port, timeout=5)
    timings = []
    for _ in range(20):
        started = time.monotonic()
        conn.request("GET", "/version")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Connection") is None
        response.read()
        timings.append(time.monotonic() - started)
    conn.close()
    assert sorted(timings)[10] < 0.030


def scrape(base_url):
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    assert "# TYPE sample_http_requests_total counter" in text
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return {name: int(value) for name, value in samples}


def test_metrics_count_requests_by_route_and_status(base_url):
    before = scrape(base_url)  # counters live as long as the process: compare, do not assume zero
    get(f"{base_url}/api/quote?sku=gizmo&quantity=1")
    get(f"{base_url}/api/quote?sku=nothing")
    get(f"{base_url}/no/such/page")
    after = scrape(base_url)
    series = 'sample_http_requests_total{{method="GET",route="{}",code="{}",version="9.9.9"}}'
    for route, code in (("/api/quote", 200), ("/api/quote", 400), ("other", 404)):
        name = series.format(route, code)
        assert after[name] - before.get(name, 0) == 1, name
