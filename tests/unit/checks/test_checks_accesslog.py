"""The access-log parser on lines recorded from nginx 1.22 with the checks' format."""

from __future__ import annotations

from cicd.checks.accesslog import (
    LOG_FORMAT,
    LOG_FORMAT_NAME,
    Attempt,
    log_format_directive,
    parse_attempts,
    parse_line,
    parse_lines,
)

# Recorded: a dead server first, then a live one (nginx retried), a 500, a 404, an escaped URI, a read
# timeout (504) and a refused connection with no other server to try (502).
RECORDED = (
    "1795331980.459\t200\t0.002\t127.0.0.1:51453, 127.0.0.1:46119\t502, 200\t0.000, 0.002\t/api/a\t-\n"
    "1795331980.464\t500\t0.002\t127.0.0.1:46119\t500\t0.002\t/api/b\t-\n"
    "1795331980.468\t200\t0.003\t127.0.0.1:51453, 127.0.0.1:46119\t502, 200\t0.000, 0.003\t/api/c?q=1%202\t-\n"  # noqa: E501
    "1795331980.473\t404\t0.004\t127.0.0.1:46119\t404\t0.004\t/missing\t-\n"
    "1795331980.478\t500\t0.004\t127.0.0.1:51453, 127.0.0.1:46119\t502, 500\t0.000, 0.004\t/api/%22x%22%09\t-\n"  # noqa: E501
    "1795331981.488\t504\t0.501\t127.0.0.1:33399\t504\t0.501\t/api/slow\t-\n"
    "1795331982.003\t502\t0.000\t127.0.0.1:51453\t502\t0.000\t/api/dead\tcicd-checks/1\n"
)


def test_format_is_tab_separated_builtin_variables_only():
    assert LOG_FORMAT.split("\t")[:3] == ["$msec", "$status", "$request_time"]
    assert log_format_directive() == f"log_format {LOG_FORMAT_NAME} '{LOG_FORMAT}';"
    assert "'" not in LOG_FORMAT  # safe inside the single-quoted nginx string


def test_recorded_lines_parse_with_every_attempt():
    records, skipped = parse_lines(RECORDED.splitlines())
    assert skipped == 0 and len(records) == 7
    retried = records[0]
    assert retried.time == 1795331980.459 and retried.status == 200 and retried.request_time == 0.002
    assert retried.attempts == (
        Attempt("127.0.0.1:51453", 502, 0.0),
        Attempt("127.0.0.1:46119", 200, 0.002),
    )
    assert retried.attempts[0].failed and not retried.attempts[1].failed
    assert records[2].uri == "/api/c?q=1%202"
    assert records[5].attempts == (Attempt("127.0.0.1:33399", 504, 0.501),)
    assert records[6].user_agent == "cicd-checks/1" and records[0].user_agent == "-"


def test_request_answered_by_nginx_itself_has_no_attempts():
    record = parse_line("1795331982.003\t301\t0.000\t-\t-\t-\t/old\t-")
    assert record is not None and record.status == 301 and record.attempts == ()


def test_attempt_without_response_has_no_status():
    attempts = parse_attempts("10.0.0.1:80, 10.0.0.2:80", "-, 200", "-, 0.010")
    assert attempts == (Attempt("10.0.0.1:80", None, None), Attempt("10.0.0.2:80", 200, 0.01))
    assert attempts[0].failed


def test_internal_redirect_between_upstream_groups_splits_on_colon_with_spaces():
    attempts = parse_attempts(
        "192.168.1.1:80, 192.168.1.2:80, unix:/tmp/sock : 192.168.10.1:80",
        "502, 502, 504 : 200",
        "0.001, 0.002, 1.000 : 0.020",
    )
    assert [a.address for a in attempts] == [
        "192.168.1.1:80",
        "192.168.1.2:80",
        "unix:/tmp/sock",
        "192.168.10.1:80",
    ]
    assert [a.status for a in attempts] == [502, 502, 504, 200]


def test_no_live_upstreams_keeps_the_group_name():
    record = parse_line("1795331982.003\t502\t0.000\tcicd_live\t502\t0.000\t/x\t-")
    assert record is not None and record.attempts == (Attempt("cicd_live", 502, 0.0),)


def test_lines_in_another_format_are_skipped_not_fatal():
    lines = [
        '127.0.0.1 - - [22/Nov/2026:07:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"',
        "notanumber\t200\t0.001\t-\t-\t-\t/",
        "1795331982.003\tabc\t0.001\t-\t-\t-\t/",
        "",
        "1795331982.003\t200\t0.001\t-\t-\t-\t/",
    ]
    records, skipped = parse_lines(lines)
    assert len(records) == 1 and skipped == 3


def test_older_seven_field_lines_still_parse():
    record = parse_line("1795331982.003\t200\t0.001\t127.0.0.1:1\t200\t0.001\t/")
    assert record is not None and record.user_agent == ""
