"""HAProxy's admin socket path fits its limit however deep the project lives, and `haproxy -c`'s
refusal reads as its first alert."""

from __future__ import annotations

from cicd.config.deploy import HaproxyRouter
from cicd.deploy.routers.base import Traffic
from cicd.deploy.routers.haproxy import MAX_SOCKET_PATH, HaproxyTrafficRouter, _haproxy_error, admin_socket
from cicd.deploy.runtimes.base import Slot


def test_a_short_prefix_keeps_its_socket_inside():
    assert admin_socket("/srv/app/.cicd/haproxy/staging") == "/srv/app/.cicd/haproxy/staging/admin.sock"


def test_a_deep_prefix_gets_a_short_stable_socket_per_prefix():
    deep = "/tmp/pytest-of-root/pytest-365/popen-gw1/test_a_version_is_its_content_0/.cicd/haproxy/staging"
    assert len(deep + "/admin.sock") > MAX_SOCKET_PATH
    path = admin_socket(deep)
    assert len(path) <= MAX_SOCKET_PATH and path.startswith("/tmp/cicd-haproxy-") and path.endswith(".sock")
    assert admin_socket(deep) == path and admin_socket(deep + "2") != path


def test_the_rendered_config_names_the_socket_the_router_talks_to():
    deep = "/" + "d" * 120
    router = HaproxyTrafficRouter(HaproxyRouter(), environment="staging")
    slots = {"blue": Slot("blue", 18091), "green": Slot("green", 18092)}
    text = router.render(Traffic.all_to("blue"), slots, prefix=deep)
    assert f"stats socket {admin_socket(deep)} mode 600 level admin" in text


def test_the_first_alert_of_haproxy_check_is_the_error():
    output = (
        "[NOTICE]   (22465) : haproxy version is 2.6.12-1+deb12u4\n"
        "[ALERT]    (22465) : config : parsing [/p/haproxy.cfg:2] : 'stats socket' : socket path too long\n"
        "[ALERT]    (22465) : config : Fatal errors found in configuration.\n"
    )
    assert _haproxy_error(output) == "parsing [/p/haproxy.cfg:2] : 'stats socket' : socket path too long"
    assert _haproxy_error("") == "no output"
