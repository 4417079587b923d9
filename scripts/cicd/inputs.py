"""The one checker for text that comes from outside: arguments, config values, reasons.

Two kinds of rule, for two kinds of input:

- Free text that is only stored and shown (a deploy, rollback or lock reason) is never refused: a
  rollback at 3 a.m. must not fail on its reason. Characters that could forge output are taken out:
  control characters (C0, DEL, C1 including U+0085) and bidirectional overrides, embeddings, isolates
  and marks. Line breaks and tabs become a space; every other removed character becomes U+FFFD, so the
  reader sees that something was there. Shell metacharacters are harmless in stored text and stay.
- Values that reach an argv, a file name, an HTTP header or a router config are refused when they do
  not fit that use, with the rule in the message: versions, environment names, header values, paths
  and listen addresses in a router config. Every check is a full match: a trailing newline fails.

The functions for config values raise ValueError (pydantic turns it into a located problem); the ones
for command-line values raise UsageError.
"""

from __future__ import annotations

import re
import sys

from cicd.errors import UsageError

MAX_REASON = 500
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"
_LINE_BREAKS = re.compile("[\t\n\v\f\r\x85\u2028\u2029]+")
_FORGING = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# nginx and HAProxy read these unquoted: no space, quote, ';', '#', '{', '}', '$' or backslash.
ROUTER_PATH = re.compile(r"[A-Za-z0-9_./+@=,~-]+")
LISTEN = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")
HOST_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*|\[?[0-9A-Fa-f:.]+\]?")
URL_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")
# RFC 9110 field-value: visible ASCII, space and tab inside, no CR or LF.
HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")


def printable(text: str) -> str:
    """`text` as one line that cannot forge output: line breaks become spaces, control and bidi
    characters U+FFFD."""
    return _FORGING.sub(REPLACEMENT, _LINE_BREAKS.sub(" ", text)).strip()


def clean_reason(reason: str | None) -> str | None:
    """`reason` safe to store and show: one line, no control or bidi characters, at most MAX_REASON."""
    if reason is None:
        return None
    text = printable(reason)
    if len(text) > MAX_REASON:
        text = text[: MAX_REASON - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return text


def reason_from_user(given: str | None) -> str | None:
    """`clean_reason`, with a note on stderr when what is stored differs from what was typed."""
    cleaned = clean_reason(given)
    if given is not None and cleaned is not None and cleaned != given.strip():
        shown = cleaned if len(cleaned) <= 80 else cleaned[:79] + "\N{HORIZONTAL ELLIPSIS}"
        print(
            f"note: the reason is stored as {shown!r}: line breaks become spaces, control and "
            f"bidirectional characters become {REPLACEMENT}, and it is cut at {MAX_REASON} characters",
            file=sys.stderr,
        )
    return cleaned


def check_version(version: str) -> str:
    if not VERSION.fullmatch(version):
        raise UsageError(
            f"invalid version {version!r}: use letters, digits and . _ + - (at most 128, starting with "
            "a letter or digit; no spaces, newlines or shell metacharacters)"
        )
    return version


def check_environment_name(name: str) -> str:
    """A name from --env, never a path: it only ever selects config/environments/NAME.yml."""
    if not ENVIRONMENT_NAME.fullmatch(name):
        raise UsageError(
            f"invalid environment name {name!r}: a name like 'staging' (letters, digits, _ . and -), "
            "not a path"
        )
    return name


def check_router_path(value: str) -> str:
    bad = sorted(set(ROUTER_PATH.sub("", value.replace("{environment}", "x"))))
    if value.startswith("-"):  # it is also an argv item (`nginx -p PREFIX`): never an option
        bad.insert(0, "a leading '-'")
    if bad or not value:
        found = ", ".join(char if len(char) > 1 else repr(char) for char in bad) or "nothing"
        raise ValueError(
            f"{value!r} cannot go into a router config unquoted: use letters, digits and . _ / + @ = , ~ - "
            f"(and {{environment}}); found {found}"
        )
    return value


def check_argv_path(value: str) -> str:
    """A path that becomes an argv item (mkdir, tar, ssh -i, a router binary): never an option."""
    if not value or value.startswith("-") or _FORGING.search(value) or _LINE_BREAKS.search(value):
        raise ValueError(
            f"{value!r} is not usable as a path: it must not be empty, start with '-', or contain line "
            "breaks or control characters"
        )
    return value


def check_listen(value: str) -> str:
    match = LISTEN.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is not a listen address: use HOST:PORT, e.g. 127.0.0.1:8080")
    check_port(int(match["port"]))
    return value


def check_port(port: int) -> int:
    if not 1 <= port <= 65_535:
        raise ValueError(f"port {port} is out of range: use 1 to 65535")
    return port


def check_host_address(value: str) -> str:
    if not HOST_ADDRESS.fullmatch(value):
        raise ValueError(f"{value!r} is not a host name or IP address")
    return value


def check_url_path(value: str) -> str:
    if not URL_PATH.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a URL path: start with '/', no spaces, quotes or control characters "
            "(percent-encode them)"
        )
    return value


def check_header_value(value: str) -> str:
    if not HEADER_VALUE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid HTTP header value: visible ASCII characters and inner spaces "
            "only, no line breaks or control characters"
        )
    return value
