"""The Python API: the seeds' seven functions as thin, typed layers over what the CLI runs.

    from cicd import api
    pipeline = api.create_pipeline("app", [{"name": "test", "jobs": [{"name": "unit", "command": "true"}]}])
    result = api.run_pipeline(pipeline)

Deploys and rollbacks go through the same argument parser and handlers as `cicd deploy` and
`cicd rollback` (their phase lines are captured, not printed), then read the outcome from the
environment's history. Errors are the seeds' named ones, all subclasses of cicd.errors.CicdError
except ValueError for invalid input. docs/API.md shows each call; its examples run as tests.
"""

from cicd.api.deployments import handle_rollback, manage_deployments
from cicd.api.insight import generate_pipeline_reports, monitor_pipeline_health
from cicd.api.pipelines import Pipeline, create_pipeline, optimize_pipeline_performance, run_pipeline

__all__ = [
    "Pipeline",
    "create_pipeline",
    "generate_pipeline_reports",
    "handle_rollback",
    "manage_deployments",
    "monitor_pipeline_health",
    "optimize_pipeline_performance",
    "run_pipeline",
]
