"""PromQL as a verification metric source, beside the access log (like an Argo Rollouts
AnalysisTemplate or a Flagger metric template): each configured query is run against Prometheus's
HTTP API at every verification interval and its value held against `max` and/or `min`.

A query must return one number: a scalar, or an instant vector of one series (wrap it in `sum(...)`).
No series at all means no data yet (a fresh rate() window), which breaches nothing; Prometheus being
unreachable or answering an error is a broken metrics source, not a failure of the application.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from cicd.errors import CicdError

if TYPE_CHECKING:
    from cicd.config.deploy import PrometheusSource, PromQLCheck


class QueryUnavailableError(CicdError):
    """Prometheus did not answer a query with one number."""


def query_value(url: str, query: str, timeout: float) -> float | None:
    """The value of an instant query, None when it returns no series."""
    import requests

    try:
        response = requests.get(f"{url.rstrip('/')}/api/v1/query", params={"query": query}, timeout=timeout)
        body = response.json()
    except (requests.RequestException, ValueError) as err:
        raise QueryUnavailableError(f"Prometheus at {url} did not answer: {err}") from err
    if body.get("status") != "success":
        problem = body.get("error", response.status_code)
        raise QueryUnavailableError(f"Prometheus rejected {query!r}: {problem}")
    data = body.get("data") or {}
    result = data.get("result")
    if data.get("resultType") == "scalar" and isinstance(result, list):
        return _number(result[1], query)
    if data.get("resultType") != "vector" or not isinstance(result, list):
        raise QueryUnavailableError(f"{query!r} returned a {data.get('resultType')}: one number is needed")
    if not result:
        return None
    if len(result) > 1:
        raise QueryUnavailableError(f"{query!r} returned {len(result)} series: aggregate it, e.g. sum(...)")
    return _number(result[0]["value"][1], query)


def _number(text: str, query: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) else value  # 0/0 in a ratio: no traffic yet


def breach_of(check: PromQLCheck, value: float | None) -> str | None:
    if value is None:
        return None
    if check.max is not None and value > check.max:
        return f"{check.name} = {value:.4g} > {check.max:g} (PromQL)"
    if check.min is not None and value < check.min:
        return f"{check.name} = {value:.4g} < {check.min:g} (PromQL)"
    return None


def first_breach(source: PrometheusSource) -> str | None:
    """The first query over its threshold now, or None; QueryUnavailableError if one cannot be read."""
    for check in source.queries:
        found = breach_of(check, query_value(source.url, check.query, source.timeout_seconds))
        if found:
            return found
    return None
