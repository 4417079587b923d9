"""An error a model validator raises to point at one key below the model it validates.

A plain ValueError from a validator is reported at the model's own key; `InvalidKey` names the key
that is wrong, so `cicd validate` shows that key's line and column:

    raise InvalidKey(("colors", "green", "port"), "green and blue must use different ports")
"""

from __future__ import annotations


class InvalidKey(ValueError):
    def __init__(self, key: tuple[str | int, ...] | str, message: str, hint: str | None = None):
        super().__init__(message)
        self.key = (key,) if isinstance(key, str) else tuple(key)
        self.message = message
        self.hint = hint
