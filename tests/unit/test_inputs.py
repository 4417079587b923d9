"""The one input checker: reasons are cleaned, never refused; values that reach a command, a request or
a router config are refused unless they fit (defects 4, 8, 9 and 13)."""

from __future__ import annotations

import pytest

from cicd import inputs
from cicd.errors import UsageError


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("rollback: p99 2x; see #42 | $(id) `x` && <b>", "rollback: p99 2x; see #42 | $(id) `x` && <b>"),
        ("line one\nline two", "line one line two"),
        ("forged\n::error title=X::deploy refused", "forged ::error title=X::deploy refused"),
        ("ansi \x1b[31mred\x1b[0m", "ansi \ufffd[31mred\ufffd[0m"),
        ("next line \x85 here", "next line   here"),
        ("c1 \x9b31m csi", "c1 \ufffd31m csi"),
        ("bidi \u202egnp.exe\u202c \u2066i\u2069 \u200f", "bidi \ufffdgnp.exe\ufffd \ufffdi\ufffd \ufffd"),
        ("del\x7f nul\x00", "del\ufffd nul\ufffd"),
        ("  padded  ", "padded"),
        (None, None),
    ],
)
def test_reasons_are_cleaned_never_refused(given: str | None, stored: str | None) -> None:
    assert inputs.clean_reason(given) == stored


def test_a_long_reason_is_cut_with_a_visible_mark() -> None:
    stored = inputs.clean_reason("x" * 2000)
    assert stored is not None and len(stored) == inputs.MAX_REASON and stored.endswith("\u2026")


def test_a_changed_reason_is_noted(capsys: pytest.CaptureFixture[str]) -> None:
    assert inputs.reason_from_user("ok; fine") == "ok; fine"
    assert capsys.readouterr().err == ""
    assert inputs.reason_from_user("a\nb") == "a b"
    assert "note: the reason is stored as 'a b'" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["1.0.0", "2024.11.22-rc1", "v1+build.5", "abc_DEF", "x" * 128])
def test_good_versions(version: str) -> None:
    assert inputs.check_version(version) == version


@pytest.mark.parametrize(
    "version", ["", "1.0.0\n", "1.0;id", "$(id)", "a b", "../etc", "-rf", "x" * 129, "1`id`", "1.0\r"]
)
def test_bad_versions_including_a_trailing_newline(version: str) -> None:
    with pytest.raises(UsageError, match="invalid version"):
        inputs.check_version(version)


@pytest.mark.parametrize("name", ["../../x", "a/b", "/etc/passwd", "..", ".hidden", "staging\n", ""])
def test_environment_names_are_names_only(name: str) -> None:
    with pytest.raises(UsageError, match="invalid environment name"):
        inputs.check_environment_name(name)
    assert inputs.check_environment_name("prod-eu.1") == "prod-eu.1"


@pytest.mark.parametrize(
    "prefix",
    ["/x; error_log injected.log debug; #", "a b", "x{y}", "$var", "x\ny", "x\\y", "'q'", '"q"', "", "-s"],
)
def test_router_paths_refuse_config_syntax(prefix: str) -> None:
    with pytest.raises(ValueError, match="cannot go into a router config"):
        inputs.check_router_path(prefix)


def test_router_paths_accept_ordinary_paths() -> None:
    for prefix in (".cicd/nginx/{environment}", "/srv/app-1/router_2", "~deploy/x+y@z=1,2"):
        assert inputs.check_router_path(prefix) == prefix


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("127.0.0.1:0", "out of range"),
        ("127.0.0.1:99999", "out of range"),
        ("127.0.0.1:8080\n", "not a listen address"),
        ("127.0.0.1:80; include /etc/x", "not a listen address"),
    ],
)
def test_listen_addresses(listen: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inputs.check_listen(listen)
    assert inputs.check_listen("[::1]:65535") == "[::1]:65535"


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "tab\tend\n", " lead", "\x7f", "caf\u00e9"])
def test_header_values_refuse_line_breaks_and_controls(value: str) -> None:
    with pytest.raises(ValueError, match="not a valid HTTP header value"):
        inputs.check_header_value(value)
    assert inputs.check_header_value("shop.example.com:8443") == "shop.example.com:8443"


def test_url_paths_and_host_addresses() -> None:
    assert inputs.check_url_path("/api/quote?sku=widget&quantity=2") == "/api/quote?sku=widget&quantity=2"
    for bad in ("healthz", "/a b", "/x\r\nHost: evil"):
        with pytest.raises(ValueError, match="not a URL path"):
            inputs.check_url_path(bad)
    assert inputs.check_host_address("10.0.0.5") == "10.0.0.5"
    for bad in ("1.2.3.4;", "-oProxyCommand=x", "a b"):
        with pytest.raises(ValueError, match="not a host name"):
            inputs.check_host_address(bad)


@pytest.mark.parametrize("path", ["", "-rf", "--x", "a\nb", "tab\there", "x\x1b[0m"])
def test_argv_paths_are_never_options_or_multi_line(path: str) -> None:
    with pytest.raises(ValueError, match="not usable as a path"):
        inputs.check_argv_path(path)
    assert inputs.check_argv_path("/srv/my app/releases") == "/srv/my app/releases"


def test_a_github_token_with_a_line_break_is_refused_without_showing_it() -> None:
    from cicd.errors import GitHubError
    from cicd.github.settings import GitHubSettings

    with pytest.raises(GitHubError, match="GITHUB_TOKEN cannot go into an HTTP header") as caught:
        GitHubSettings.from_env({"GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "ghp_tokenvalue42\r\n"})
    assert "tokenvalue42" not in str(caught.value)
