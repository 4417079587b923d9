"""Feature flags through OpenFeature, with flagd's provider in file (in-process) mode.

The flag file is the one `cicd flags` writes on this host; its path comes from flagd's own variable,
FLAGD_OFFLINE_FLAG_SOURCE_PATH. Without it (or without the SDK installed) no provider is set and every
flag answers the default given in code, so the service runs the same with or without flags. The
provider polls the file every FLAGD_DEADLINE_MS (100 ms here unless set), which bounds how long a
change takes to reach answers.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

POLL_MS_DEFAULT = 100


def open_client() -> Any | None:
    path = os.environ.get("FLAGD_OFFLINE_FLAG_SOURCE_PATH")
    if not path:
        return None
    try:
        from openfeature import api
        from openfeature.contrib.provider.flagd import FlagdProvider
        from openfeature.contrib.provider.flagd.config import ResolverType
    except ImportError as err:  # an interpreter without the SDK still serves, every flag at its default
        print(f"sample-service: feature flags off: {err} (pip install openfeature-provider-flagd)",
              file=sys.stderr, flush=True)  # fmt: skip
        return None

    # The provider logs a traceback at every poll while the file is missing (before the first
    # `cicd flags push`); evaluations then answer the code's default, which is what we want.
    logging.getLogger("openfeature").addHandler(logging.NullHandler())
    poll_ms = int(os.environ.get("FLAGD_DEADLINE_MS") or POLL_MS_DEFAULT)
    api.set_provider(
        FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=path, deadline_ms=poll_ms)
    )
    return api.get_client("sample-service")


class Features:
    """The service's flags; `enabled(name, user)` is stable per user (flagd buckets by targetingKey)."""

    def __init__(self, client: Any | None):
        self._client = client

    def enabled(self, name: str, user: str | None) -> bool:
        if self._client is None:
            return False
        from openfeature.evaluation_context import EvaluationContext

        context = EvaluationContext(targeting_key=user) if user else None
        return bool(self._client.get_boolean_value(name, False, context))


FEATURES = Features(open_client())
