"""`cicd init`: what a repository needs to adopt the suite, written as files (data first, then one write).

Detects the service's kind from the files at the repository's root (a Dockerfile: it runs as a
container; else pyproject.toml/requirements.txt: Python; else package.json: Node), then renders
config/pipeline.yml, config/environments/{staging,production}.yml, the JSON Schema their `$schema`
lines name (config/schema/) and two caller workflows that
reference the suite by commit SHA (.github/workflows/cicd-ci.yml, cicd-deploy.yml), and adds `.cicd/`
(deploy state, releases, logs) to .gitignore. Nothing existing is overwritten without --force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cicd.config import schema
from cicd.errors import CicdError, UsageError

SUITE_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}$")


@dataclass(frozen=True)
class Project:
    name: str
    language: str  # "python" | "node"
    docker: bool
    jobs: tuple[tuple[str, str], ...]  # (stage, command) in order: each stage depends on the one before
    start: tuple[str, ...]  # the process runtime's command (unused with docker)
    requirements: str = ""  # what CI installs beside cicd so the jobs find their tools (pytest)


def detect(root: Path) -> Project:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", root.resolve().name).strip("-.") or "service"
    docker = (root / "Dockerfile").is_file()
    if any((root / f).is_file() for f in ("pyproject.toml", "requirements.txt", "setup.py")):
        jobs = (("quality", "python -m compileall -q ."), ("test", "python -m pytest -q"))
        start = ("python3", "-m", name.replace("-", "_"), "--port", "{port}")
        requirements = "requirements.txt" if (root / "requirements.txt").is_file() else ""
        return Project(name, "python", docker, jobs, start, requirements)
    if (root / "package.json").is_file():
        jobs = (("quality", "npm ci && npm run lint --if-present"), ("test", "npm test"))
        return Project(name, "node", docker, jobs, ("npm", "start", "--", "--port", "{port}"))
    raise UsageError(
        f"{root}: no pyproject.toml, requirements.txt, setup.py or package.json",
        hint="run `cicd init` at the root of a Python or Node service (a Dockerfile beside it is used)",
    )


def pipeline_yml(project: Project) -> str:
    lines = [
        "# yaml-language-server: $schema=schema/pipeline.schema.json",
        f"name: {project.name}",
        "trigger: push",
        "stages:",
    ]
    previous = ""
    for stage, command in project.jobs:
        lines += [f"  - name: {stage}", f"    dependencies: [{previous}]", "    jobs:",
                  f"      - name: {stage}", f"        command: {command}", "        timeout: 900"]
        previous = stage
    return "\n".join(lines) + "\nrollback: {enabled: true, strategy: previous_version}\n"


def environment_yml(project: Project, name: str, base_port: int) -> str:
    production = name == "production"
    if project.docker:
        runtime = f"    kind: docker\n    image: {project.name}\n    container_port: 8080\n"
    else:
        command = ", ".join(f'"{part}"' if "{" in part else part for part in project.start)
        runtime = ("    kind: process\n"
                   "    # the command that starts your service on {port} (and answers /healthz)\n"
                   f"    command: [{command}]\n    default_artifact: .\n")
    approval = (
        "# Required reviewers as GitHub ids (user:ID, team:ID), then once, with an admin token:\n"
        "#   cicd github environments apply --env production\n"
        "approval: {required: true, reviewers: [], prevent_self_review: true, deployment_branches: main}\n"
        if production else ""
    )
    return (
        "# yaml-language-server: $schema=../schema/environment.schema.json\n"
        f"name: {name}\ntype: {name}\nurl: http://127.0.0.1:{base_port}\n{approval}"
        "lock_environment: true\nsecrets: []\ndeploy:\n  strategy: blue_green\n"
        "  hosts:\n    - {name: local, transport: local}   # laptop or self-hosted runner; ssh for servers\n"
        f"  runtime:\n{runtime}"
        f"  colors:\n    blue: {{port: {base_port + 11}}}\n    green: {{port: {base_port + 12}}}\n"
        "  router:\n    kind: haproxy   # runtime API weights, no reload: no keep-alive request lost\n"
        f"    listen: 127.0.0.1:{base_port}\n    preview_listen: 127.0.0.1:{base_port + 1}\n"
        "  health: {path: /healthz, expected_status: 200, interval_seconds: 0.5, timeout_seconds: 30}\n"
        "  verification: {window_seconds: 60, interval_seconds: 1, max_error_rate: 0.05}\n"
    )


def check_suite(suite: str) -> tuple[str, str]:
    if not SUITE_REF.match(suite):
        raise UsageError(
            f"--suite {suite!r}: expected OWNER/REPO@<40-hex commit SHA>",
            hint="pin the suite by commit, like any third-party action: git ls-remote the tag you want",
        )
    repo, sha = suite.split("@")
    return repo, sha


def ci_workflow(project: Project, suite: str) -> str:
    repo, sha = check_suite(suite)
    # A fresh runner has none of the project's tools: `python -m pytest` needs them installed.
    install = ""
    if project.requirements:
        install = f"\n        with:\n          requirements: {project.requirements}"
    return f"""# CI: the stages of config/pipeline.yml, run by the cicd suite pinned by commit.
name: CI
on:
  pull_request:
  push:
    branches: [main]
permissions: {{}}
jobs:
  pipeline:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: {repo}/.github/actions/setup-cicd@{sha}{install}
      - run: cicd validate && cicd run --output "${{RUNNER_TEMP}}/result.json"
"""


def deploy_workflow(project: Project, suite: str) -> str:
    repo, sha = check_suite(suite)
    return f"""# Deploys through the cicd suite's reusable workflow (pinned by commit): staging on each
# push to main; staging or production by hand (production waits for its reviewers).
name: Deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [staging, production]
        default: staging
permissions: {{}}
jobs:
  deploy:
    permissions:
      contents: read
      actions: read
      attestations: read
      deployments: write
      packages: read
    uses: {repo}/.github/workflows/deploy.yml@{sha}
    # Your Environments' secrets (DEPLOY_SSH_KEY, REGISTRY_PASSWORD) reach the deploy only this way.
    secrets: inherit # zizmor: ignore[secrets-inherit]
    with:
      environment: ${{{{ inputs.environment || 'staging' }}}}
      version: ${{{{ github.sha }}}}
      reason: deploy of ${{{{ github.sha }}}}
"""


def plan(root: Path, suite: str) -> dict[Path, str]:
    """Every file `cicd init` writes, with its content."""
    project = detect(root)
    check_suite(suite)
    return {
        root / "config" / "pipeline.yml": pipeline_yml(project),
        # The `$schema` lines of the config files point here: editors complete and check from them.
        **{root / "config" / "schema" / name: schema.render(name) for name in schema.SCHEMAS},
        root / "config" / "environments" / "staging.yml": environment_yml(project, "staging", 18080),
        root / "config" / "environments" / "production.yml": environment_yml(project, "production", 28080),
        root / ".github" / "workflows" / "cicd-ci.yml": ci_workflow(project, suite),
        root / ".github" / "workflows" / "cicd-deploy.yml": deploy_workflow(project, suite),
    }


def write(root: Path, files: dict[Path, str], *, force: bool) -> list[str]:
    """Write the planned files and the .gitignore line; returns what was done, one line each."""
    existing = [path for path in files if path.exists()]
    if existing and not force:
        names = ", ".join(str(path.relative_to(root)) for path in existing)
        raise CicdError(f"{names} already exist(s): nothing written", hint="pass --force to overwrite them")
    done = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            done.append(f"wrote {path.relative_to(root)}")
        done.append(_ignore_state(root / ".gitignore"))
    except OSError as err:
        raise CicdError(f"cannot write {err.filename}: {err.strerror}") from err
    return done


def _ignore_state(gitignore: Path) -> str:
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if any(line.strip() in (".cicd", ".cicd/", "/.cicd/", "/.cicd") for line in lines):
        return ".gitignore already ignores .cicd/"
    with gitignore.open("a", encoding="utf-8") as out:
        if lines and lines[-1].strip():
            out.write("\n")
        out.write("# cicd's deploy state, releases and logs (never committed)\n.cicd/\n")
    return "added .cicd/ to .gitignore"
