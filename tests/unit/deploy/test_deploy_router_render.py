"""The nginx config is data: rendered from a Traffic split, and the live color is parsed back from it."""

from __future__ import annotations

from cicd.config.deploy import NginxRouter
from cicd.deploy.routers.base import parse_traffic
from cicd.deploy.routers.nginx import NginxTrafficRouter, Traffic, _nginx_error
from cicd.deploy.runtimes.base import Slot

SLOTS = {"blue": Slot("blue", 9001), "green": Slot("green", 9002)}


def router() -> NginxTrafficRouter:
    return NginxTrafficRouter(
        NginxRouter(listen="127.0.0.1:9000", preview_listen="127.0.0.1:9009"),
        environment="staging",
        log_format="$status\t$upstream_addr",
    )


def test_all_traffic_to_one_color_and_preview_to_the_other():
    text = router().render(Traffic(0, 100, "blue", "g1"), SLOTS, prefix="/p")
    assert "# cicd-traffic: blue=0 green=100 preview=blue generation=g1" in text
    live = text.split("upstream cicd_live {")[1].split("}")[0]
    assert "127.0.0.1:9002 weight=100" in live and "9001" not in live
    preview = text.split("listen 127.0.0.1:9009;")[1]
    assert "proxy_pass http://cicd_blue;" in preview
    assert "pid /p/nginx.pid;" in text and "error_log /p/logs/error.log" in text
    assert "access_log /p/logs/access.log cicd_access;" in text
    assert "keepalive" in live and "proxy_next_upstream error timeout" in text


def test_canary_split_is_a_weighted_upstream():
    text = router().render(Traffic(75, 25, "green", "g2"), SLOTS, prefix="/p")
    live = text.split("upstream cicd_live {")[1].split("}")[0]
    assert "127.0.0.1:9001 weight=75" in live and "127.0.0.1:9002 weight=25" in live


def test_nothing_live_answers_503_instead_of_an_ungated_color():
    text = router().render(Traffic(0, 0, "blue", "g0"), SLOTS, prefix="/p")
    assert "upstream cicd_live" not in text and "return 503" in text


def test_parse_traffic_round_trip_and_foreign_config():
    traffic = Traffic(25, 75, "blue", "abc-1")
    assert parse_traffic(router().render(traffic, SLOTS, prefix="/p")) == traffic
    assert parse_traffic("events {}\nhttp {}\n") is None
    assert traffic.live_color == "green" and traffic.split
    assert Traffic.all_to("blue") == Traffic(100, 0, "green")


def test_log_format_quotes_are_escaped():
    custom = NginxTrafficRouter(NginxRouter(), environment="e", log_format="it's\t$status")
    assert "log_format cicd_access 'it\\'s\t$status';" in custom.render(
        Traffic.all_to("blue"), SLOTS, prefix="/p"
    )


def test_nginx_error_is_one_line_without_timestamp():
    stderr = (
        'nginx: [emerg] 2026/11/22 07:12:08 [emerg] 151#151: host not found in "x.invalid:1" of the "listen" '
        "directive in /p/nginx.conf.next:40\nnginx: configuration file /p/nginx.conf.next test failed\n"
    )
    line = _nginx_error(stderr.replace("nginx: [emerg] 2026", "nginx: 2026"))
    assert line.startswith("[emerg] host not found") and "\n" not in line


def test_live_since_is_part_of_the_marker():
    traffic = Traffic(100, 0, "green", "g3", live_since=1763800000.25)
    text = router().render(traffic, SLOTS, prefix="/p")
    assert "live_since=1763800000.250" in text
    assert parse_traffic(text) == traffic
