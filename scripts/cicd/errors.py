"""One base error and small subclasses.

Every expected failure is a CicdError: the top-level handler in cli prints its one-line message (plus a
GitHub annotation inside Actions) and exits with its exit_code. Anything else is a bug and shows a
traceback only with -v. Library exceptions are translated at the boundary with `raise ... from err`.
"""

from __future__ import annotations

from typing import NamedTuple


class Location(NamedTuple):
    """Where in a file a problem is; line and col are 1-based, None when unknown."""

    file: str
    line: int | None = None
    col: int | None = None
    key_path: str | None = None

    def prefix(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class Problem(NamedTuple):
    """One located configuration problem: `FILE:LINE:COL: error: message (key path)`."""

    location: Location
    message: str
    hint: str | None = None

    def render(self) -> str:
        text = f"{self.location.prefix()}: error: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if self.location.key_path:
            text += f" ({self.location.key_path})"
        return text


class CicdError(Exception):
    """Base of every expected failure. `str(err)` is the one line shown to the user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        text = self.message
        if self.location is not None:
            text = f"{self.location.prefix()}: {text}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class UsageError(CicdError):
    """Bad command-line usage (exit 2, like argparse)."""

    exit_code = 2


class PipelineError(CicdError):
    """The pipeline cannot be run as asked (unknown stage, bad selection, ...)."""


class ConfigValidationError(CicdError):
    """One or more located problems in the configuration; `problems` holds all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0].render() if self.problems else "invalid configuration"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)

    def __str__(self) -> str:
        return self.message


class BuildError(CicdError):
    """A build or job failed."""


class StepTimeoutError(CicdError):
    """A job ran past its timeout and was killed with every process it started."""


class DeploymentError(CicdError):
    """A deployment could not be completed; the live version keeps serving."""


class HealthCheckError(DeploymentError):
    """A new version failed its health gate, smoke tests or verification."""


class VerificationPaused(DeploymentError):
    """Verification was Inconclusive where a person decides (production): the new version stays live
    unverified, the old one warm, and the run stops with exit 5 naming the two commands to choose."""

    exit_code = 5


class RollbackError(CicdError):
    """A rollback is impossible or failed."""


class ConcurrencyError(CicdError):
    """Another run holds the environment's lock."""


class HostError(CicdError):
    """A host could not be reached or a command on it failed."""


class StateError(CicdError):
    """The deployment state, history or ledger is unreadable or inconsistent."""


class GitHubError(CicdError):
    """A call to the GitHub API failed."""


class SupplyChainError(CicdError):
    """A digest's provenance, signature or SBOM fails the policy, or an audit bundle fails its checks."""


class PipelineExecutionError(PipelineError):
    """A pipeline run did not succeed (the Python API's run_pipeline; `cicd run` exits 1 instead)."""


class MonitoringError(CicdError):
    """A run cannot be followed: unknown id, or neither its result nor its live record is readable."""


class ReportGenerationError(CicdError):
    """A report could not be built or written."""


class OptimizationError(CicdError):
    """No recommendation can be made: no measured run of the pipeline to learn from."""
