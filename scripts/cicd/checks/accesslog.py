"""The nginx access-log format the post-switch verification reads, and its pure parser.

For the router (deploy part): include the format in the rendered config and write one access log per
environment for the live listener (the preview listener gets its own file), unbuffered:

    log_format cicd_access '<LOG_FORMAT>';            # or log_format_directive()
    access_log <prefix>/logs/access.log cicd_access;  # no buffer=/flush=: verification tails it live

Fields are tab-separated. nginx's default log escaping writes any tab, quote or control character of
a request as `\\xHH`, so a tab inside a field cannot happen and one split is a correct parse. The
first seven fields are what verification needs; later fields are optional, so the format can grow.

    $msec  $status  $request_time  $upstream_addr  $upstream_status  $upstream_response_time
    $request_uri  $http_user_agent

HAProxy (deploy/routers/haproxy.py) writes the same fields, its times in whole milliseconds marked
`ms` ("12ms"; "-1ms" when the server never answered), which the parser reads as seconds.

When nginx tried several upstream servers (a retry after a failed connect, a canary split), the three
upstream fields list one value per attempt, "a, b"; an internal redirect to another upstream group
adds " : ". An upstream that gave no response shows status "-" or 502/504.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

LOG_FORMAT_NAME = "cicd_access"
LOG_FORMAT = (
    "$msec\t$status\t$request_time\t$upstream_addr\t$upstream_status\t$upstream_response_time"
    "\t$request_uri\t$http_user_agent"
)
REQUIRED_FIELDS = 7
_ATTEMPT_SPLIT = re.compile(r"\s*(?:,|\s:\s)\s*")


def log_format_directive(name: str = LOG_FORMAT_NAME) -> str:
    """The `log_format` line to put in nginx's http block."""
    return f"log_format {name} '{LOG_FORMAT}';"


class Attempt(NamedTuple):
    """One try at an upstream server within a request. (Named tuples: a busy log has many lines.)"""

    address: str
    status: int | None  # None: no response header arrived (refused, timed out, reset)
    response_time: float | None  # seconds; None when nginx recorded "-"

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500


class AccessRecord(NamedTuple):
    """One request as nginx logged it."""

    time: float  # epoch seconds ($msec)
    status: int  # what the client got
    request_time: float  # seconds, nginx's whole handling time
    attempts: tuple[Attempt, ...]
    uri: str = ""
    user_agent: str = ""


def _number(text: str) -> float | None:
    """Seconds ("0.012", nginx) or milliseconds marked "ms" ("12ms", HAProxy); a negative is no value."""
    scale = 1.0
    if text.endswith("ms"):
        text, scale = text[:-2], 1000.0
    try:
        value = float(text)
    except ValueError:
        return None
    return value / scale if value >= 0 else None


def _status(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _split_attempts(text: str) -> list[str]:
    text = text.strip()
    return [] if text in ("", "-") else _ATTEMPT_SPLIT.split(text)


def parse_attempts(addrs: str, statuses: str, times: str) -> tuple[Attempt, ...]:
    """Pair up the per-attempt lists; a missing status or time for an attempt means no response."""
    if "," not in addrs and " : " not in addrs:  # the common case: one attempt
        return () if addrs in ("", "-") else (Attempt(addrs, _status(statuses), _number(times)),)
    addresses = _split_attempts(addrs)
    status_items = _split_attempts(statuses)
    time_items = _split_attempts(times)
    attempts = []
    for index, address in enumerate(addresses):
        status = _status(status_items[index]) if index < len(status_items) else None
        response_time = _number(time_items[index]) if index < len(time_items) else None
        attempts.append(Attempt(address, status, response_time))
    return tuple(attempts)


def parse_line(line: str) -> AccessRecord | None:
    """One log line -> record; None for a line that is not in our format (skipped, never fatal)."""
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < REQUIRED_FIELDS:
        return None
    msec, status, request_time = _number(fields[0]), _status(fields[1]), _number(fields[2])
    if msec is None or status is None or request_time is None:
        return None
    return AccessRecord(
        time=msec,
        status=status,
        request_time=request_time,
        attempts=parse_attempts(fields[3], fields[4], fields[5]),
        uri=fields[6],
        user_agent=fields[7] if len(fields) > 7 else "",
    )


def parse_lines(lines: Iterable[str]) -> tuple[list[AccessRecord], int]:
    """Parse many lines; returns the records and how many non-empty lines were not in our format."""
    records, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        record = parse_line(line)
        if record is None:
            skipped += 1
        else:
            records.append(record)
    return records, skipped
