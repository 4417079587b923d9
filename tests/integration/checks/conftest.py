"""Fixtures of the checks' integration tests (helpers live in checks_harness.py)."""

from checks_harness import router, sample_service_env, upstream

__all__ = ["router", "sample_service_env", "upstream"]
