"""The steps of the reusable deploy workflow (.github/workflows/deploy.yml), as data plus one runner.

Inputs arrive as environment variables (CICD_ENVIRONMENT, CICD_OPERATION, CICD_VERSION, ...) set by
the workflow from its typed inputs: never pasted into a shell line. Each step builds the argv of the
`cicd` verbs it needs (deploy, rollback, status, github deployment) and runs them; the GitHub reporting
steps never fail a deploy, the deploy itself does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from cicd import gha
from cicd.errors import CicdError, UsageError

OPERATIONS = ("deploy", "rollback")


@dataclass(frozen=True)
class DeployInputs:
    environment: str
    operation: str
    version: str
    artifact: str
    digest: str
    reason: str
    config_dir: str
    package: str = ""  # a workflow artifact holding the release archive (process runtimes)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DeployInputs:
        inputs = cls(
            environment=env.get("CICD_ENVIRONMENT", "").strip(),
            operation=env.get("CICD_OPERATION", "deploy").strip() or "deploy",
            version=env.get("CICD_VERSION", "").strip(),
            artifact=env.get("CICD_ARTIFACT", "").strip(),
            digest=env.get("CICD_DIGEST", "").strip(),
            reason=env.get("CICD_REASON", "").strip(),
            config_dir=env.get("CICD_CONFIG_DIR", "config").strip() or "config",
            package=env.get("CICD_PACKAGE", "").strip(),
        )
        if not inputs.environment:
            raise UsageError("the deploy workflow needs an environment (input 'environment')")
        if inputs.operation not in OPERATIONS:
            raise UsageError(f"operation must be one of {', '.join(OPERATIONS)}, got {inputs.operation!r}")
        if inputs.operation == "deploy" and not inputs.version:
            raise UsageError("a deploy needs a version (input 'version')")
        return inputs


def run_argv(inputs: DeployInputs) -> list[str]:
    """The one command that changes the environment."""
    if inputs.operation == "rollback":
        # --wait: a rollback queues on the target's lock behind a deploy in progress, never gives up.
        argv = ["cicd", "rollback", "--env", inputs.environment, "--config-dir", inputs.config_dir, "--wait"]
        if inputs.version:
            argv += ["--to", inputs.version]
        return [*argv, "--reason", inputs.reason or "rollback dispatched from GitHub Actions"]
    # An environment with a promotion: block deploys to its first canary weight and records the promotion;
    # the scheduled workflow promotion-monitor.yml finishes it (docs/DEPLOYMENT.md, "Hands-off production").
    verb = ["promotion", "start", "--wait"] if promotes(inputs) else ["deploy"]
    argv = ["cicd", *verb, "--env", inputs.environment, "--version", inputs.version]
    argv += ["--config-dir", inputs.config_dir]
    if inputs.artifact and (runtime_kind(inputs) == "docker" or inputs.artifact.endswith(".tar.gz")):
        argv += ["--artifact", inputs.artifact]
    if inputs.reason:
        argv += ["--reason", inputs.reason]
    return argv


def promotes(inputs: DeployInputs) -> bool:
    """Whether the environment file has a promotion: block (hands-off production)."""
    from cicd.config import load_environment

    environment = load_environment(Path(inputs.config_dir), inputs.environment)
    return bool(environment.deploy and environment.deploy.promotion)


def hands_off(inputs: DeployInputs) -> bool:
    """promotion.automatic: true: the GitHub Environment asks no reviewer (environments check warns)."""
    from cicd.config import load_environment

    deploy = load_environment(Path(inputs.config_dir), inputs.environment).deploy
    return bool(deploy and deploy.promotion and deploy.promotion.automatic)


def runtime_kind(inputs: DeployInputs) -> str:
    """"docker" ships the image; "process" ships the checked-out service of the same commit."""
    from cicd.config import load_environment

    environment = load_environment(Path(inputs.config_dir), inputs.environment)
    return str(environment.deploy.runtime.kind) if environment.deploy else "process"


def with_package(inputs: DeployInputs, folder: Path) -> DeployInputs:
    """On a process runtime, the release archive CI built (downloaded into `folder`) is what runs: it
    becomes the artifact, and its sha256 the digest the GitHub deployment records. Without one, the
    checked-out source of `ref` runs, and no artifact or digest is claimed for it (the commit is its
    identity): an image digest handed down from staging would describe something else."""
    if inputs.operation != "deploy" or runtime_kind(inputs) != "process":
        return inputs
    if not inputs.package:
        return replace(inputs, artifact="", digest="")
    archives = sorted(folder.glob("*.tar.gz"))
    if len(archives) != 1:
        raise CicdError(
            f"the workflow artifact {inputs.package!r} holds {len(archives)} .tar.gz files in {folder}; "
            "a release is one archive",
            hint="upload exactly one .tar.gz under that name in the build job",
        )
    digest = "sha256:" + hashlib.sha256(archives[0].read_bytes()).hexdigest()
    return replace(inputs, artifact=str(archives[0]), digest=digest)


def status_argv(inputs: DeployInputs) -> list[str]:
    return ["cicd", "status", "--env", inputs.environment, "--config-dir", inputs.config_dir, "--json"]


# `cicd status` exits 3 when degraded and 4 when down: it still printed the state, which matters most then.
STATUS_READ = (0, 3, 4)


def read_status(inputs: DeployInputs) -> dict[str, object]:
    """`cicd status --json` of the environment; {} when nothing was ever deployed or it cannot say."""
    done = subprocess.run(status_argv(inputs), capture_output=True, text=True, check=False)
    if done.returncode not in STATUS_READ:
        print(done.stderr.strip(), file=sys.stderr)
        return {}
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def state_file(name: str) -> Path:
    return Path(os.environ.get("RUNNER_TEMP", ".cicd")) / f"cicd-{name}.json"


def summary(inputs: DeployInputs, before: dict[str, object], after: dict[str, object], outcome: str) -> str:
    """Markdown for the job summary: what was live before and after, and how it went."""

    def cell(state: dict[str, object], key: str) -> str:
        value = state.get(key)
        return f"`{value}`" if value not in (None, "") else "—"

    icon = "✅" if outcome == "success" else "❌"
    rows = [
        f"### {icon} {inputs.operation} `{inputs.environment}`: {outcome}",
        "",
        "| | before | after |",
        "|---|---|---|",
        f"| version | {cell(before, 'current_version')} | {cell(after, 'current_version')} |",
        f"| live color | {cell(before, 'live_color')} | {cell(after, 'live_color')} |",
        f"| previous version | {cell(before, 'previous_version')} | {cell(after, 'previous_version')} |",
    ]
    if inputs.operation == "deploy":
        rows.append(f"| requested | `{inputs.version}` | {f'`{inputs.digest}`' if inputs.digest else ''} |")
    if inputs.reason:
        rows += ["", f"Reason: {inputs.reason}"]
    return "\n".join(rows)


def step_before(inputs: DeployInputs) -> int:
    before = read_status(inputs)
    state_file("before").parent.mkdir(parents=True, exist_ok=True)
    state_file("before").write_text(json.dumps(before), encoding="utf-8")
    gha.set_output("version", str(before.get("current_version") or ""))
    print(f"live in {inputs.environment} before: {before.get('current_version') or 'nothing'}")
    return 0


def _default_rollback_target(before: dict[str, object]) -> str:
    """Where `cicd rollback` without --to goes (status's rollback_target: a known-good release), else
    the previous version (a status from before rollback targets existed)."""
    target = before.get("rollback_target")
    if isinstance(target, dict) and target.get("version"):
        return str(target["version"])
    return str(before.get("previous_version") or "")


def open_argv(inputs: DeployInputs, ref: str, before: dict[str, object]) -> list[str]:
    """The one GitHub deployment of this run: what promotion later reads back. A rollback names the
    version it goes back to (the given one, else the previous one) and carries the task deploy:rollback."""
    rollback = inputs.operation == "rollback"
    version = inputs.version or (_default_rollback_target(before) if rollback else "") or "previous"
    argv = ["cicd", "github", "deployment", "start", "--env", inputs.environment, "--version", version]
    argv += ["--ref", ref, "--description", f"{inputs.operation} {version}"[:140]]
    argv += ["--task", "deploy:rollback" if rollback else "deploy"]
    if inputs.digest:
        argv += ["--digest", inputs.digest]
    if inputs.artifact:
        # A downloaded archive is recorded by its workflow artifact's name, not this runner's path.
        shown = f"{inputs.package}/{Path(inputs.artifact).name}" if inputs.package else inputs.artifact
        argv += ["--artifact", shown]
    return argv


def step_open(inputs: DeployInputs, ref: str) -> int:
    """Open the GitHub deployment (the Environments page shows it; promotion reads it back). Failing to
    record a production-bound staging deploy would make it unpromotable, so a failure here fails."""
    before_path = state_file("before")
    before = json.loads(before_path.read_text(encoding="utf-8")) if before_path.exists() else {}
    argv = open_argv(inputs, ref, before)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        gha.annotate("error", f"could not open the GitHub deployment: {done.stderr.strip()[:300]}")
        return 1
    deployment_id = _deployment_id(done.stdout)
    gha.set_output("id", deployment_id)
    print(f"GitHub deployment {deployment_id or '?'} opened")
    return 0


def _deployment_id(stdout: str) -> str:
    text = stdout.strip()
    try:
        data = json.loads(text)
        return str(data.get("id", "")) if isinstance(data, dict) else ""
    except json.JSONDecodeError:
        return text.splitlines()[-1].strip() if text else ""


def step_run(inputs: DeployInputs) -> int:
    argv = run_argv(inputs)
    print("+ " + " ".join(argv), flush=True)
    return subprocess.run(argv, check=False).returncode


def step_after(inputs: DeployInputs, env: dict[str, str]) -> int:
    outcome = env.get("RUN_OUTCOME", "") or "unknown"
    before_path = state_file("before")
    before = json.loads(before_path.read_text(encoding="utf-8")) if before_path.exists() else {}
    after = read_status(inputs)
    live = str(after.get("current_version") or "")
    url = str(after.get("url") or "")
    gha.set_output("version", live)
    gha.set_output("digest", str(after.get("digest") or (inputs.digest if live == inputs.version else "")))
    gha.set_output("url", url)
    gha.append_summary(summary(inputs, before, after, outcome))
    print(summary(inputs, before, after, outcome))
    _report_status(env.get("DEPLOYMENT_ID", ""), outcome, url, env.get("LOG_URL", ""))
    return 0


def _report_status(deployment_id: str, outcome: str, url: str, log_url: str) -> None:
    if not deployment_id:
        return
    state = {"success": "success", "failure": "failure"}.get(outcome, "error")
    argv = ["cicd", "github", "deployment", "finish", "--id", deployment_id, "--state", state]
    for flag, value in (("--url", url), ("--log-url", log_url)):
        argv += [flag, value] if value else []
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        gha.annotate("warning", f"could not report the deployment status: {done.stderr.strip()[:300]}")


def needs_approval(inputs: DeployInputs) -> bool:
    """Production, or any environment whose file says approval.required: GitHub must enforce it."""
    from cicd.config import load_environment

    environment = load_environment(Path(inputs.config_dir), inputs.environment)
    return environment.approval.required or environment.type == "production"


def step_gate(inputs: DeployInputs) -> int:
    """Before anyone is asked to approve: refuse an environment whose approval GitHub would not enforce,
    then note the environment's newest GitHub deployment (output `since`, for rollback_guard)."""
    if needs_approval(inputs):
        argv = ["cicd", "github", "environments", "check", "--env", inputs.environment,
                "--config-dir", inputs.config_dir]
        print("+ " + " ".join(argv), flush=True)
        code = subprocess.run(argv, check=False).returncode
        if code != 0:
            return code
    else:
        print(f"{inputs.environment} requires no approval")
    from cicd.github.client import GitHubClient
    from cicd.workflows.rollback_guard import newest_deployment_id

    with GitHubClient.from_env() as client:
        newest = newest_deployment_id(client, inputs.environment)
    gha.set_output("since", str(newest))
    print(f"newest GitHub deployment to {inputs.environment} before approval: {newest or 'none'}")
    return 0


def step_approved(inputs: DeployInputs, env: dict[str, str]) -> int:
    """After GitHub released the job: an environment that requires approval shows who approved it."""
    from cicd.github.approval import recorded_approval
    from cicd.github.client import GitHubClient

    if not needs_approval(inputs):
        print(f"{inputs.environment} requires no approval")
        return 0
    if hands_off(inputs):
        print(f"{inputs.environment}: nobody approves (promotion.automatic: true; the gate's environments "
              "check warned)")
        return 0
    with GitHubClient.from_env() as client:
        review = recorded_approval(client, env.get("GITHUB_RUN_ID", ""), inputs.environment)
    who = (review.get("user") or {}).get("login", "?")
    print(f"{inputs.operation} of {inputs.environment} approved by {who}: {review.get('comment') or ''}")
    return 0


def step_released(inputs: DeployInputs, env: dict[str, str]) -> int:
    """Once GitHub released the deploy job: the approval it records (step_approved), and a deploy
    requested before a rollback of the environment refuses instead of undoing it (rollback_guard)."""
    from cicd.github.client import GitHubClient
    from cicd.workflows.rollback_guard import refuse_if_rolled_back

    since = env.get("CICD_SINCE_DEPLOYMENT", "").strip()
    if inputs.operation == "deploy" and not since.isdigit():
        raise UsageError(
            "CICD_SINCE_DEPLOYMENT must be the gate job's deployment id (output 'since')",
            hint="run `deploy-step gate` first and pass its output: CICD_SINCE_DEPLOYMENT: "
            "${{ needs.gate.outputs.since }}",
        )
    step_approved(inputs, env)
    if inputs.operation == "deploy":
        with GitHubClient.from_env() as client:
            refuse_if_rolled_back(client, inputs.environment, inputs.version, int(since))
        print(f"no rollback of {inputs.environment} since this deploy was requested")
    return 0


def run_step(name: str, env: dict[str, str], ref: str = "") -> int:
    inputs = DeployInputs.from_env(env)
    if name in ("open", "run", "after"):
        inputs = with_package(inputs, Path(env.get("RUNNER_TEMP", ".cicd")) / "cicd-package")
    if name == "gate":
        return step_gate(inputs)
    if name == "released":
        return step_released(inputs, env)
    if name == "before":
        return step_before(inputs)
    if name == "open":
        return step_open(inputs, ref or env.get("GITHUB_SHA", "HEAD"))
    if name == "run":
        return step_run(inputs)
    if name == "after":
        return step_after(inputs, env)
    raise CicdError(f"unknown deploy step {name!r}")
