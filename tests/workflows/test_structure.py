"""What act cannot run, checked on the parsed YAML: permissions, approvals, concurrency, timeouts,
pins, the reusable workflow's contract and CI's job graph against config/pipeline.yml."""

import re
from pathlib import Path

import pytest

from cicd.workflows import pins

from .conftest import GITHUB, REPO, WORKFLOWS, load, triggers

pytestmark = pytest.mark.workflows

EXPECTED = {
    "ci.yml", "cd-staging.yml", "cd-production.yml", "rollback.yml", "security-scan.yml",
    "release.yml", "dependency-update.yml", "deploy.yml", "suite.yml", "conventional-commits.yml",
    "flags.yml", "drill.yml",
    "promotion-monitor.yml",
    "auto-merge.yml",
}


def jobs_of(workflow):
    return workflow["jobs"].items()


def steps_of(workflow):
    for _, job in jobs_of(workflow):
        yield from job.get("steps", [])


def test_the_suite_is_complete(workflows):
    assert set(workflows) == EXPECTED
    assert (GITHUB / "actions" / "setup-cicd" / "action.yml").is_file()
    assert (GITHUB / "dependabot.yml").is_file() and (GITHUB / "actions-lock.yml").is_file()


def test_top_level_permissions_are_empty_and_jobs_grant_their_own(workflows):
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {}, name
        for job_id, job in jobs_of(workflow):
            assert "permissions" in job, f"{name}: job {job_id} has no explicit permissions"
            for scope, level in job["permissions"].items():
                assert level in ("read", "write"), (name, job_id, scope)


def test_every_job_has_a_timeout(workflows):
    for name, workflow in workflows.items():
        for job_id, job in jobs_of(workflow):
            if "uses" in job:  # a call: the called workflow's jobs carry the timeout (checked there)
                assert job["uses"].startswith("./.github/workflows/"), (name, job_id)
                continue
            assert job.get("timeout-minutes"), f"{name}: job {job_id} has no timeout-minutes"


def test_checkouts_never_persist_credentials(workflows):
    action = load(GITHUB / "actions" / "setup-cicd" / "action.yml")
    all_steps = [s for wf in workflows.values() for s in steps_of(wf)] + action["runs"]["steps"]
    checkouts = [s for s in all_steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert len(checkouts) >= 10
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False, step


def test_no_dangerous_triggers_and_secrets_inherited_only_by_calls_into_this_repository(workflows):
    for name, workflow in workflows.items():
        assert "pull_request_target" not in triggers(workflow), name
        # workflow_run only after CI, never running the pull request's code (test_auto_merge_workflow.py)
        assert "workflow_run" not in triggers(workflow) or name == "auto-merge.yml", name
        for job_id, job in jobs_of(workflow):
            if job.get("secrets") == "inherit":
                # Environment secrets reach a called workflow only this way (actions/runner#4453); the
                # callee must be this repository's own file at the same commit.
                assert job["uses"].startswith("./.github/workflows/"), (name, job_id)
    text = (WORKFLOWS / "cd-production.yml").read_text()
    assert "secrets: inherit # zizmor: ignore[secrets-inherit]" in text


def test_no_expressions_inside_run_scripts():
    # Every value reaches a script through env:, so nothing can be pasted into shell code.
    files = [*WORKFLOWS.glob("*.yml"), GITHUB / "actions" / "setup-cicd" / "action.yml"]
    for path in files:
        workflow = load(path)
        steps = workflow["runs"]["steps"] if "runs" in workflow else list(steps_of(workflow))
        for step in steps:
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}: expression in run:"


def test_every_action_is_pinned_to_the_lock_file():
    lock = pins.load_lock(GITHUB / "actions-lock.yml")
    refs = [ref for path in pins.workflow_files(GITHUB) for ref in pins.find_uses(path)]
    changes, unknown = pins.plan(refs, lock)
    assert unknown == [] and changes == []
    remote = [r for r in refs if not r.value.startswith("./")]
    assert remote and all(re.search(r"@[0-9a-f]{40}$", r.value) and r.comment for r in remote)


def test_deploy_workflow_contract():
    deploy = load(WORKFLOWS / "deploy.yml")
    call = triggers(deploy)["workflow_call"]
    assert set(call["inputs"]) >= {"environment", "operation", "version", "artifact", "digest", "reason"}
    assert {i["type"] for i in call["inputs"].values()} <= {"string", "boolean", "number"}
    assert call["inputs"]["environment"]["required"] is True
    assert set(call["outputs"]) == {"version", "digest", "url"}
    # Names that GitHub secrets can have, so `secrets: inherit` and an explicit mapping both work.
    assert set(call["secrets"]) == {"DEPLOY_SSH_KEY", "REGISTRY_PASSWORD"}
    assert all(s["required"] is False for s in call["secrets"].values())
    gate, job = deploy["jobs"]["gate"], deploy["jobs"]["deploy"]
    assert job["needs"] == ["gate"] and "environment" not in gate  # refused before anyone approves
    gate_runs = " ".join(step.get("run", "") for step in gate["steps"])
    assert "cicd workflows on-main" in gate_runs and "deploy-step gate" in gate_runs
    # attestations: `cicd supply verify` asks GitHub for the digest's provenance and SBOM
    # deployments: the newest deployment before approval (a rollback after it stops the deploy)
    assert gate["permissions"] == {"contents": "read", "actions": "read", "attestations": "read",
                                   "deployments": "read"}
    guard = [step for step in job["steps"] if "deploy-step released" in step.get("run", "")]
    assert guard and guard[0]["env"]["CICD_SINCE_DEPLOYMENT"] == "${{ needs.gate.outputs.since }}"
    assert gate["outputs"]["since"] == "${{ steps.gate.outputs.since }}"
    released = [step.get("run", "") for step in job["steps"]].index("cicd workflows deploy-step released")
    assert released < min(i for i, step in enumerate(job["steps"]) if "DEPLOY_SSH_KEY" in str(step))
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    assert job["environment"]["deployment"] is False  # cicd opens the run's one GitHub deployment
    group = job["concurrency"]["group"]
    assert "format('deploy-{0}', inputs.environment)" in group
    assert "format('rollback-{0}-{1}', inputs.environment, github.run_id)" in group
    assert job["concurrency"]["cancel-in-progress"] is False
    assert job["permissions"] == {  # actions: the run's review history (who approved the job)
        "contents": "read", "actions": "read", "deployments": "write", "packages": "read",
        "attestations": "read"}


def calls_to_deploy(workflows):
    for name, workflow in workflows.items():
        for job_id, job in jobs_of(workflow):
            if job.get("uses") == "./.github/workflows/deploy.yml":
                yield name, job_id, job


def test_every_deploy_goes_through_the_gated_deploy_workflow(workflows):
    calls = {(name, job["with"]["environment"]) for name, _, job in calls_to_deploy(workflows)}
    assert calls == {
        ("cd-staging.yml", "staging"),
        ("cd-production.yml", "production"),
        ("rollback.yml", "${{ inputs.environment }}"),
    }
    # ... so each deploy job holds `deploy-<env>` (asserted on deploy.yml) and runs in its Environment.
    for name, workflow in workflows.items():
        for job_id, job in jobs_of(workflow):
            scripts = " ".join(step.get("run", "") for step in job.get("steps", []))
            if re.search(r"\bcicd (deploy|rollback)\b|deploy-step run", scripts):
                assert name == "deploy.yml", f"{name}: {job_id} deploys outside deploy.yml"
    # Calling jobs must not take the same group themselves: the called job would wait for its caller.
    for name, job_id, job in calls_to_deploy(workflows):
        assert "concurrency" not in job, (name, job_id)


def test_production_runs_in_the_production_environment(workflows):
    (production,) = [job for name, _, job in calls_to_deploy(workflows) if name == "cd-production.yml"]
    assert production["with"]["environment"] == "production"
    assert production["with"]["digest"] == "${{ needs.staged.outputs.digest }}"
    assert production["with"]["ref"] == "${{ needs.staged.outputs.ref }}"
    staged = workflows["cd-production.yml"]["jobs"]["staged"]
    assert staged["permissions"] == {"contents": "read", "deployments": "read"}  # GitHub's record
    assert "cicd workflows staged" in " ".join(step.get("run", "") for step in staged["steps"])
    # Promotion, never a rebuild: nothing in cd-production builds an image.
    text = (WORKFLOWS / "cd-production.yml").read_text()
    assert "build-push-action" not in text and "docker build" not in text
    assert "version" in triggers(workflows["cd-production.yml"])["workflow_dispatch"]["inputs"]


def test_rollback_dispatch_inputs(workflows):
    inputs = triggers(workflows["rollback.yml"])["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice"
    envs = sorted(p.stem for p in (REPO / "config" / "environments").glob("*.yml"))
    assert sorted(inputs["environment"]["options"]) == envs
    assert inputs["version"]["required"] is False and inputs["reason"]["required"] is True
    job = workflows["rollback.yml"]["jobs"]["rollback"]  # then the postmortem (test_flag_drill_workflows)
    assert job["with"]["operation"] == "rollback"


def test_ci_job_graph_matches_the_pipeline_stages(workflows):
    pipeline = load(REPO / "config" / "pipeline.yml")
    ci = workflows["ci.yml"]["jobs"]
    for stage in pipeline["stages"]:
        assert stage["name"] in ci, f"stage {stage['name']} has no CI job"
        needs = ci[stage["name"]].get("needs", [])
        assert sorted(needs) == sorted(stage.get("dependencies", [])), stage["name"]
    assert ci["integration"]["needs"] == ["unit-tests"]
    assert ci["unit-tests"]["strategy"]["matrix"]["shard"] == [1, 2]
    # The report gathers every job: it is the one required check.
    assert set(ci["report"]["needs"]) == set(ci) - {"report", "staging"}
    assert ci["report"]["if"] == "always()"


def test_ci_triggers_and_staging_handoff(workflows):
    on = triggers(workflows["ci.yml"])
    assert on["pull_request"]["types"] == ["opened", "synchronize", "reopened"]
    assert on["push"]["branches"] == ["main", "develop"]
    staging = workflows["ci.yml"]["jobs"]["staging"]
    assert staging["uses"] == "./.github/workflows/cd-staging.yml"
    assert staging["needs"] == ["report"]
    assert staging["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def test_runs_that_may_deploy_are_never_cancelled(workflows):
    # CI on main carries the staging deploy: only pull-request runs may be superseded.
    ci_concurrency = workflows["ci.yml"]["concurrency"]
    assert ci_concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    for name in ("cd-staging.yml", "cd-production.yml", "rollback.yml", "deploy.yml", "release.yml"):
        assert workflows[name].get("concurrency", {}).get("cancel-in-progress", False) is False, name


def test_caches_are_keyed_on_lock_files(workflows):
    caches = [s for s in steps_of(workflows["ci.yml"]) if str(s.get("uses", "")).startswith("actions/cache@")]
    assert caches
    for step in caches:
        assert "hashFiles('.github/ci-requirements.txt', 'pyproject.toml')" in step["with"]["key"]


def test_security_scan_uploads_sarif_and_runs_weekly(workflows):
    scan = workflows["security-scan.yml"]
    on = triggers(scan)
    assert "pull_request" in on and on["schedule"][0]["cron"].endswith("* * 1")
    uploads = [s for s in steps_of(scan) if "upload-sarif" in str(s.get("uses", ""))]
    assert len(uploads) == 3
    for job_id, job in jobs_of(scan):
        if job.get("permissions", {}).get("security-events") == "write":
            assert job["permissions"]["actions"] == "read", job_id  # upload-sarif in private repos
    # Each Trivy gate takes its severities, unfixed rule and ignores from config/security-policy.yml.
    gates = [s for s in steps_of(scan) if s.get("with", {}).get("exit-code") == "1"]
    assert len(gates) == 2
    for gate in gates:
        assert gate["with"]["severity"] == "${{ steps.policy.outputs.severity }}"
        assert gate["with"]["trivyignores"] == "${{ steps.policy.outputs.trivyignores }}"


def test_dependabot_covers_pip_actions_and_docker():
    config = load(GITHUB / "dependabot.yml")
    assert {u["package-ecosystem"] for u in config["updates"]} == {"pip", "github-actions", "docker"}


def test_compose_file_serves_the_sample_service_behind_nginx():
    compose = load(REPO / "docker-compose.ci.yml")
    assert compose["services"]["service"]["build"]["context"] == "examples/service"
    proxy = compose["services"]["proxy"]
    assert proxy["depends_on"]["service"]["condition"] == "service_healthy"
    template = Path(proxy["volumes"][0].split(":")[0])
    assert (REPO / template).is_file()


LEVEL = {"read": 1, "write": 2}


def test_callers_grant_what_the_called_jobs_need(workflows):
    # GitHub refuses to start a called job that asks for more than its caller granted.
    needed: dict[str, int] = {}
    for job in workflows["deploy.yml"]["jobs"].values():
        for scope, level in job["permissions"].items():
            needed[scope] = max(needed.get(scope, 0), LEVEL[level])
    for name, job_id, job in calls_to_deploy(workflows):
        granted = {scope: LEVEL[level] for scope, level in job["permissions"].items()}
        assert all(granted.get(scope, 0) >= level for scope, level in needed.items()), (name, job_id)


def test_staging_takes_only_commits_on_main_and_lower_cases_image_names(workflows):
    image = workflows["cd-staging.yml"]["jobs"]["image"]
    steps = image["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    runs = [step.get("run", "") for step in steps]
    on_main = next(index for index, run in enumerate(runs) if "cicd workflows on-main" in run)
    build = next(index for index, step in enumerate(steps) if "build-push-action" in str(step.get("uses")))
    assert on_main < build
    assert any("${REPOSITORY,,}" in run for run in runs)


def test_the_suite_checks_itself_on_pull_requests(workflows):
    suite = workflows["suite.yml"]
    assert "pull_request" in triggers(suite)
    runs = " ".join(step.get("run", "") for step in steps_of(suite))
    for command in ("ruff check", "mypy", "actionlint -shellcheck", "zizmor --offline",
                    "cicd workflows pin --check", ".ci/run", "-c constraints.txt"):
        assert command in runs, command


def test_ci_tool_pins_agree_with_the_constraints():
    # Both files are installed together (setup-cicd: --constraint plus --requirement): a disagreement
    # is a resolution error on every CI job.
    constraints = dict(
        line.split("==", 1) for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for line in (GITHUB / "ci-requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            assert constraints.get(name, version) == version, f"{name}: {version} vs {constraints[name]}"
