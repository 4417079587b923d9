"""cicd: validate and run pipelines, deploy blue-green behind nginx, verify, roll back."""

__version__ = "0.1.0"
