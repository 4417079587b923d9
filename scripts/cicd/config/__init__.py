"""Configuration: raw models, located loading, validation, JSON Schema export.

    from cicd.config import load_pipeline, load_environment
    pipeline = load_pipeline(Path("config"))          # PipelineContext
    staging = load_environment(Path("config"), "staging")  # EnvironmentContext

Both raise cicd.errors.ConfigValidationError listing every located problem of the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cicd.config.loader import load_environment, load_pipeline

__all__ = ["load_environment", "load_pipeline"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the loader pulls in pydantic, which plain `cicd --version` must not pay for.
    if name in __all__:
        from cicd.config import loader

        return getattr(loader, name)
    raise AttributeError(name)
