"""The one session: retries, rate limits, pagination, one-line errors, and a token that never leaks."""

from __future__ import annotations

import socket
import time

import pytest
from tests.support.github_api import DEFAULT_TOKEN

from cicd.errors import GitHubError
from cicd.github.client import GitHubClient
from cicd.github.settings import GitHubSettings

REPO = "octo/service"

DEPLOYMENTS = "/repos/octo/service/deployments"


def test_sends_token_version_and_user_agent_from_the_environment(client, api):
    client.get(client.repo_path("/deployments"))
    assert api.requests == [f"GET {DEPLOYMENTS}"]
    assert client.session.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert client.session.headers["User-Agent"].startswith("cicd/")


def test_retries_a_502_of_a_get_then_succeeds(client, api):
    api.fail_next("GET", "/deployments$", 502, times=2)
    assert client.get(client.repo_path("/deployments")) == []
    assert api.requests == [f"GET {DEPLOYMENTS}"] * 3


def test_never_repeats_a_post_on_its_own(client, api):
    # A 502 does not prove GitHub did nothing: the caller looks up before creating again.
    api.fail_next("POST", "/deployments$", 502)
    with pytest.raises(GitHubError, match="502"):
        client.post(client.repo_path("/deployments"), {"ref": "main", "environment": "staging"})
    assert api.requests == [f"POST {DEPLOYMENTS}"]


def test_gives_up_after_the_retries_with_one_line(client, api):
    api.fail_next("GET", "/deployments$", 503, times=10, body={"message": "Service Unavailable"})
    with pytest.raises(GitHubError) as caught:
        client.get(client.repo_path("/deployments"))
    assert str(caught.value) == f"GitHub API GET {DEPLOYMENTS}: 503 Service Unavailable"
    assert len(api.requests) == 4  # one try and three retries


def test_validation_errors_become_one_line(client, api):
    api.fail_next(
        "POST",
        "/deployments$",
        422,
        body={
            "message": "Validation Failed",
            "errors": [{"resource": "Deployment", "field": "ref", "code": "invalid"}],
            "documentation_url": "https://docs.github.com/rest",
        },
    )
    with pytest.raises(GitHubError) as caught:
        client.post(client.repo_path("/deployments"), {"ref": "nope"})
    assert (
        str(caught.value) == f"GitHub API POST {DEPLOYMENTS}: 422 Validation Failed: Deployment.ref invalid"
    )
    assert "\n" not in str(caught.value)


def test_waits_out_a_short_rate_limit(client, api):
    api.rate_limit_next("GET", "/deployments$", reset_in=1)
    started = time.monotonic()
    assert client.get(client.repo_path("/deployments")) == []
    assert time.monotonic() - started >= 1.0
    assert len(api.requests) == 2


@pytest.fixture
def slept(github_env):
    """A client whose sleeps are recorded instead of slept."""
    waits: list[float] = []
    with GitHubClient.from_env(backoff=0, sleep=waits.append) as github:
        yield github, waits


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}


def test_a_secondary_rate_limit_backs_off_a_minute_at_least_then_longer(slept, api, caplog):
    client, waits = slept
    api.fail_next("GET", "/deployments$", 429, headers={"retry-after": "1"}, body=SECONDARY)
    api.fail_next("GET", "/deployments$", 403, body=SECONDARY)  # no retry-after: GitHub says 60 s
    with caplog.at_level("WARNING", logger="cicd.github.client"):
        assert client.get(client.repo_path("/deployments")) == []
    assert waits == [60.0, 120.0]
    assert "waiting 60 s" in caplog.text and "waiting 120 s" in caplog.text


def test_a_secondary_rate_limit_that_persists_is_one_line_after_capped_waits(slept, api):
    client, waits = slept
    api.fail_next("GET", "/deployments$", 403, body=SECONDARY, times=10)
    with pytest.raises(GitHubError, match="secondary rate limit still in force after 4 waits"):
        client.get(client.repo_path("/deployments"))
    assert waits == [60.0, 120.0, 240.0] and max(waits) <= 600


def test_polling_sends_the_etag_and_a_304_answers_from_the_copy(client, api):
    first = client.get(client.repo_path("/deployments"))
    api.fail_next("GET", "/deployments$", 304, headers={"etag": 'W/"1"'})
    assert client.get(client.repo_path("/deployments")) == first
    assert client._etags  # the stand-in's answers carry an ETag


def test_a_long_rate_limit_says_when_it_resets(client, api):
    api.rate_limit_next("GET", "/deployments$", reset_in=3600)
    started = time.monotonic()
    with pytest.raises(GitHubError) as caught:
        client.get(client.repo_path("/deployments"))
    assert time.monotonic() - started < 1  # no hour-long sleep
    assert "rate limit exceeded; it resets at" in str(caught.value)
    assert "(in 60 min)" in str(caught.value)


def test_a_403_that_is_no_rate_limit_is_an_error_at_once(client, api):
    api.fail_next("GET", "/deployments$", 403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError, match="403 Resource not accessible by integration"):
        client.get(client.repo_path("/deployments"))
    assert len(api.requests) == 1


def test_paginates_along_the_link_header(client, api):
    for number in range(250):
        api.add_comment(REPO, 9, f"comment {number}")
    bodies = [c["body"] for c in client.paginate(client.repo_path("/issues/9/comments"))]
    assert bodies == [f"comment {number}" for number in range(250)]
    assert len(api.requests) == 3  # 100 a page


def test_unreachable_api_is_one_line_after_connection_retries(monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = GitHubSettings(repository=REPO, token=DEFAULT_TOKEN, api_url=f"http://127.0.0.1:{port}")
    with GitHubClient(settings, backoff=0) as client, pytest.raises(GitHubError) as caught:
        client.get("/repos/octo/service/deployments")
    message = str(caught.value)
    assert message.startswith(
        f"GitHub API GET /repos/octo/service/deployments: cannot reach http://127.0.0.1:{port}"
    )
    assert "hint: check GITHUB_API_URL" in message


def test_token_never_appears_in_an_error(client, api):
    api.fail_next("GET", "/deployments$", 401, body={"message": f"Bad credentials for {DEFAULT_TOKEN}"})
    with pytest.raises(GitHubError) as caught:
        client.get(client.repo_path("/deployments"))
    assert DEFAULT_TOKEN not in str(caught.value)
    assert "Bad credentials for ***" in str(caught.value)
    assert DEFAULT_TOKEN not in repr(client.settings)


def test_missing_token_or_repository_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    with pytest.raises(GitHubError, match="GITHUB_TOKEN is not set"):
        GitHubSettings.from_env()
    monkeypatch.setenv("GITHUB_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("GITHUB_REPOSITORY")
    with pytest.raises(GitHubError, match="--repo owner/name"):
        GitHubSettings.from_env()
    assert GitHubSettings.from_env(repository="a/b").api_url == "https://api.github.com"
