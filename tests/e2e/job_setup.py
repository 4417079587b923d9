"""The runner's "Set up job", which act lacks: the harness puts this first into every job it copies.

On GitHub-hosted runners each job starts on a fresh machine, with a token GitHub mints for that job
alone (its `permissions:`), and only once the Environment it names lets it (required reviewers). Here:
- the job asks the GitHub API stand-in to start it (tests/support/github_runner.py): the stand-in
  mints the job's token from the workflow file and, for a protected Environment, holds the job as
  "waiting" until a review is posted through GET/POST .../actions/runs/{id}/pending_deployments;
- a rejected job fails here, before any of its own steps;
- the job's token replaces act's one token for every later step (`E2E_JOB_TOKEN`, which the copied
  workflows read where the originals read `github.token`), and HOME becomes a new empty folder.
Standard library only: it runs before any setup step, under the runner's python3.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

POLL_SECONDS = 0.3


def call(method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(os.environ["E2E_RUNNER_API"] + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:  # GitHub would not start the job: say why, as it does
        sys.exit(f"::error::{json.load(err).get('message')}")


def start_job() -> dict:
    return call("POST", "/_runner/jobs", {
        "run_id": os.environ["GITHUB_RUN_ID"], "repository": os.environ["GITHUB_REPOSITORY"],
        "workflow_path": os.environ["E2E_WORKFLOW_PATH"], "job": os.environ["E2E_JOB_ID"],
        "top_workflow_path": os.environ.get("E2E_TOP_WORKFLOW_PATH", ""),
        "environment": os.environ.get("E2E_ENVIRONMENT", ""),
        "concurrency": os.environ.get("E2E_CONCURRENCY", ""),
        "sha": os.environ.get("GITHUB_SHA", ""), "event": os.environ.get("GITHUB_EVENT_NAME", ""),
        "ref_name": os.environ.get("GITHUB_REF_NAME", ""),
    })


def wait_for_review(job: dict) -> dict:
    environment = os.environ.get("E2E_ENVIRONMENT", "")
    print(f"Waiting for a review to deploy to {environment} (job {job['id']})", flush=True)
    deadline = time.monotonic() + float(os.environ.get("E2E_REVIEW_TIMEOUT", "300"))
    while job["state"] == "waiting":
        if time.monotonic() > deadline:
            sys.exit(f"::error::no review of the deployment to {environment} came")
        time.sleep(POLL_SECONDS)
        job = call("GET", f"/_runner/jobs/{job['id']}")
    return job


def main() -> int:
    job = start_job()
    if job["state"] == "waiting":
        job = wait_for_review(job)
    if job["state"] == "rejected":
        environment = os.environ.get("E2E_ENVIRONMENT")
        print(f"::error::the deployment to {environment} was rejected: {job['comment']}")
        return 1
    home = tempfile.mkdtemp(prefix="home-", dir=os.environ["E2E_HOMES_DIR"])
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as env:
        env.write(f"E2E_JOB_TOKEN={job['token']}\nHOME={home}\n")
    print(f"::add-mask::{job['token']}")
    print(f"job token: {json.dumps(job['permissions'], sort_keys=True)}; HOME {home}; "
          f"workspace {os.getcwd()} holds {len(os.listdir('.'))} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
