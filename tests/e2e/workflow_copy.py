"""What the harness changes in the copied workflow files so that act runs them as GitHub would.

- Every job with steps gets GitHub's "Set up job" as its first step (job_setup.py): the job's own token
  from the stand-in, a wait for the Environment's reviewers, a new empty HOME.
- `github.token` reads that job's token (`env.E2E_JOB_TOKEN`) instead of the one token act hands every
  job; act's own token is one the stand-in does not know, so a call that escaped the change is a 401.
- `environment.deployment`, which act's workflow schema predates (GitHub honours it, actionlint knows
  it), is left out; the GitHub deployment is cicd's own either way.
Everything else is the file as written. The edits are on the text, so comments and layout stay.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

JOB_SETUP = Path(__file__).resolve().parent / "job_setup.py"
ACT_UNKNOWN_KEY = "      deployment: false\n"
JOB_KEY = re.compile(r"^  ([A-Za-z_][\w-]*):\s*(#.*)?$")
STEPS_KEY = re.compile(r"^    steps:\s*$")


def _environment_name(job: dict[str, Any]) -> str:
    environment = job.get("environment") or ""
    return str(environment.get("name", "") if isinstance(environment, dict) else environment)


def _concurrency_group(job: dict[str, Any]) -> str:
    concurrency = job.get("concurrency") or ""
    return str(concurrency.get("group", "") if isinstance(concurrency, dict) else concurrency)


def setup_step(path: Path, job_id: str, job: dict[str, Any]) -> list[str]:
    env = {"E2E_WORKFLOW_PATH": str(path), "E2E_JOB_ID": job_id,
           "E2E_ENVIRONMENT": _environment_name(job), "E2E_CONCURRENCY": _concurrency_group(job)}
    lines = ["      - name: Set up job (GitHub's part, the harness's job_setup.py)", "        env:"]
    lines += [f"          {name}: {json.dumps(value)}" for name, value in env.items()]
    return [*lines, f"        run: python3 {json.dumps(str(JOB_SETUP))}"]


def rewrite(path: Path) -> None:
    text = path.read_text(encoding="utf-8").replace(ACT_UNKNOWN_KEY, "")
    if str(JOB_SETUP) in text:
        return  # rewritten already
    jobs = (YAML(typ="safe").load(text) or {}).get("jobs") or {}
    out: list[str] = []
    in_jobs, job_id = False, ""
    for line in text.splitlines():
        out.append(line)
        if re.match(r"^jobs:\s*(#.*)?$", line):
            in_jobs = True
        elif re.match(r"^\S", line):
            in_jobs = False
        elif in_jobs and (found := JOB_KEY.match(line)):
            job_id = found.group(1)
        elif in_jobs and job_id in jobs and STEPS_KEY.match(line):
            out += setup_step(path, job_id, jobs[job_id])
    text = "\n".join(out) + "\n"
    path.write_text(text.replace("${{ github.token }}", "${{ env.E2E_JOB_TOKEN }}")
                    .replace("|| github.token }}", "|| env.E2E_JOB_TOKEN }}"), encoding="utf-8")


def rewrite_all(repo: Path) -> None:
    for workflow in sorted((repo / ".github" / "workflows").glob("*.y*ml")):
        rewrite(workflow)
