"""One `requests` session for GitHub's REST API: retries, rate limits, pagination, one-line errors.

- Gateway errors (502/503/504) and connection failures are retried with exponential backoff by urllib3,
  for idempotent methods only: a POST is never repeated blindly (it may have been acted on). Callers
  that create something look it up before creating it again (see deployments.create_deployment).
- A primary rate limit (`x-ratelimit-remaining: 0`) is waited out when it resets soon; a secondary one
  (403/429 with `retry-after`, or GitHub's "secondary rate limit" message without it) backs off at least
  60 s, doubling up to a cap, each wait logged; otherwise the error says when to try again.
- GETs are conditional: the ETag of each URL is remembered and a 304 answers from the copy (polling a
  run costs no rate limit when nothing changed).
- Lists follow the `Link: <...>; rel="next"` header.
- Any other failure becomes one GitHubError line: `GitHub API POST /repos/o/r/deployments: 422 ...`.
The token travels only in the Authorization header and is registered for masking and redaction.

The client stays hand-written rather than githubkit: cicd uses about twenty endpoints, and this module
gives them the retry, rate-limit and redaction rules above in ~250 lines without a runtime dependency
whose generated models cost seconds of import time per command; githubkit's models still check every
request and answer in the tests (tests/support/github_contract.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cicd import __version__, secrets
from cicd.errors import GitHubError
from cicd.github.settings import API_VERSION, GitHubSettings

log = logging.getLogger(__name__)

PER_PAGE = 100  # GitHub's maximum page size: fewest round trips
RATE_LIMIT_STATUSES = (403, 429)
SECONDARY_MIN_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute before retrying
SECONDARY_MAX_WAIT = 600.0  # and back off exponentially, but not past this
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


class GitHubApiError(GitHubError):
    """GitHub answered with an error status; `status` lets callers tell a 403 from a 404."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class _GatewayRetry(Retry):
    """Retry gateway errors and broken connections for idempotent methods only.

    A 502 or a timeout does not prove GitHub did nothing: a POST behind it may have created the comment
    or deployment already, so a POST is answered as it came and its caller decides (look up, then create).
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return method.upper() in IDEMPOTENT and bool(
            self.status_forcelist and status_code in self.status_forcelist
        )


class GitHubClient:
    def __init__(
        self,
        settings: GitHubSettings,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        max_rate_limit_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.timeout = timeout
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._etags: dict[str, tuple[str, requests.Response]] = {}
        self.session = requests.Session()
        retry = _GatewayRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(502, 503, 504),
            allowed_methods=IDEMPOTENT,
            raise_on_status=False,  # the last answer becomes a GitHubError with GitHub's message
            respect_retry_after_header=False,  # rate limits are ours to decide: wait or explain
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {settings.token}",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"cicd/{__version__}",
            }
        )

    @classmethod
    def from_env(cls, *, repository: str | None = None, **options: Any) -> GitHubClient:
        return cls(GitHubSettings.from_env(repository=repository), **options)

    def repo_path(self, suffix: str) -> str:
        return f"/repos/{self.settings.repository}{suffix}"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- requests --------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, *, json: Any = None, params: dict | None = None
    ) -> requests.Response:
        """Send one call (retried and rate-limit aware); return the response or raise GitHubError."""
        url = path if path.startswith(("http://", "https://")) else f"{self.settings.api_url}{path}"
        shown = _shown_path(url, self.settings.api_url)
        for attempt in range(4):
            response = self._send(method, url, shown, json=json, params=params)
            wait = self._rate_limit_wait(response, method, shown, attempt)
            if wait is None:
                break
            log.warning("GitHub rate limit on %s %s: waiting %.0f s (attempt %d)", method, shown, wait,
                        attempt + 1)
            self._sleep(wait)
        if response.status_code == 304 and method == "GET":
            return self._etags[self._etag_key(url, params)][1]
        if not response.ok:
            raise GitHubApiError(_error_line(method, shown, response), status=response.status_code)
        return response

    @staticmethod
    def _etag_key(url: str, params: dict | None) -> str:
        return url + "?" + "&".join(f"{key}={value}" for key, value in sorted((params or {}).items()))

    def _send(self, method: str, url: str, shown: str, **kwargs: Any) -> requests.Response:
        log.debug("GitHub API %s %s", method, shown)
        key = self._etag_key(url, kwargs.get("params"))
        headers = {}
        if method == "GET" and key in self._etags:
            headers["If-None-Match"] = self._etags[key][0]
        try:
            response = self.session.request(method, url, timeout=self.timeout, headers=headers, **kwargs)
        except requests.RequestException as err:
            reason = secrets.redact(str(getattr(err, "args", [err])[0]))
            raise GitHubError(
                f"GitHub API {method} {shown}: cannot reach {self.settings.api_url} ({type(err).__name__}: "
                f"{_short(reason)})",
                hint="check GITHUB_API_URL and the network",
            ) from err
        if method == "GET" and response.status_code == 200 and response.headers.get("etag"):
            self._etags[key] = (response.headers["etag"], response)
        return response

    def _rate_limit_wait(
        self, response: requests.Response, method: str, shown: str, attempt: int = 0
    ) -> float | None:
        """Seconds to wait before trying again, None when this is no rate limit; raise if too long."""
        headers = response.headers
        if response.status_code not in RATE_LIMIT_STATUSES:
            return None
        secondary = "secondary rate limit" in response.text.lower()
        limited = headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers or secondary
        if not limited:
            return None
        if "retry-after" in headers or (secondary and headers.get("x-ratelimit-remaining") != "0"):
            # GitHub's rule for secondary limits: retry-after when given, else at least a minute,
            # growing exponentially between tries.
            floor = min(SECONDARY_MIN_WAIT * 2**attempt, SECONDARY_MAX_WAIT)
            wait = max(float(headers.get("retry-after", 0)), floor)
            if wait <= SECONDARY_MAX_WAIT and attempt < 3:
                return wait
            raise GitHubError(
                f"GitHub API {method} {shown}: secondary rate limit still in force after "
                f"{attempt + 1} waits (retry-after {headers.get('retry-after', 'not given')})",
                hint="too many requests at once: run fewer jobs against the API in parallel, then retry",
            )
        else:
            resets = float(headers.get("x-ratelimit-reset", time.time() + 60))
            wait = max(0.0, resets - time.time()) + 1.0  # the reset second itself may still be limited
        if wait <= self.max_rate_limit_wait:
            return wait
        at = time.strftime("%H:%M:%S UTC", time.gmtime(resets))
        raise GitHubError(
            f"GitHub API {method} {shown}: rate limit exceeded; it resets at {at} (in {wait / 60:.0f} min)",
            hint="wait for the reset, or use a token with a higher limit",
        )

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.request("POST", path, json=body)
        return response.json() if response.content else None

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    def paginate(self, path: str, *, item_key: str | None = None, **params: Any) -> Iterator[Any]:
        """Every item of a list endpoint, page by page (100 a page) along the Link header."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **params}
        while url:
            response = self.request("GET", url, params=query)
            data = response.json()
            yield from (data[item_key] if item_key else data)
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the whole query
            if url and not url.startswith(self.settings.api_url + "/"):
                # The token goes wherever the request goes: follow links only within the API.
                raise GitHubError(
                    f"GitHub API GET {_shown_path(path, self.settings.api_url)}: "
                    f"next page outside {self.settings.api_url}: {url}"
                )


def _shown_path(url: str, api_url: str) -> str:
    path = url[len(api_url) :] if url.startswith(api_url) else url
    return path.split("?", 1)[0]


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_line(method: str, shown: str, response: requests.Response) -> str:
    """`GitHub API POST /path: 422 Validation Failed: field: problem; ...` from GitHub's error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        text = str(body["message"])
        details = [_error_item(item) for item in body.get("errors") or []]
        if details:
            text += ": " + "; ".join(detail for detail in details if detail)
    else:
        text = response.reason or _short(response.text)
    return secrets.redact(f"GitHub API {method} {shown}: {response.status_code} {_short(text, 400)}")


def _error_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if item.get("message"):
        return str(item["message"])
    where = ".".join(str(item[key]) for key in ("resource", "field") if item.get(key))
    return f"{where} {item.get('code', 'invalid')}".strip()
