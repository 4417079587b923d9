"""`cicd init` in a new repository: valid config, environment files, .gitignore, and caller workflows
pinned by SHA that actionlint and zizmor accept."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cicd.config import load_environment, load_pipeline
from cicd.config.schema import check_schemas
from cicd.errors import CicdError, UsageError
from cicd.workflows.init import detect, plan, write

pytestmark = pytest.mark.workflows
BIN = Path(sys.executable).parent
SUITE = "acme/cicd@" + "0123456789" * 4


def tool(name):
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail(f"{name} is not installed (make install)")
    return found


@pytest.fixture
def flask_app(tmp_path):
    root = tmp_path / "flaskr"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "flaskr"\n')
    (root / ".gitignore").write_text("instance/")  # no final newline
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_init_writes_a_valid_setup_that_lints_clean(flask_app):
    done = subprocess.run([str(BIN / "cicd"), "init", "--suite", SUITE], cwd=flask_app, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert "added .cicd/ to .gitignore" in done.stdout
    assert (flask_app / ".gitignore").read_text().splitlines()[-1] == ".cicd/"
    pipeline = load_pipeline(flask_app / "config")
    assert [stage.name for stage in pipeline.stages] == ["quality", "test"]
    production = load_environment(flask_app / "config", "production")
    assert production.approval.required and production.approval.deployment_branches == "main"
    staging = load_environment(flask_app / "config", "staging")
    assert staging.deploy.runtime.kind == "process"
    # New environments get the router that loses no keep-alive request at a switch.
    assert staging.deploy.router.kind == production.deploy.router.kind == "haproxy"
    # The editor schema the `$schema` line names is there, and is the current export.
    schema_line = (flask_app / "config" / "pipeline.yml").read_text().splitlines()[0]
    assert (flask_app / "config" / schema_line.split("$schema=")[1]).is_file()
    check_schemas(flask_app / "config" / "schema")  # what `cicd schema --check` runs
    # CI installs the project's requirements beside cicd only when there is such a file.
    assert "requirements:" not in (flask_app / ".github" / "workflows" / "cicd-ci.yml").read_text()
    deploy = (flask_app / ".github" / "workflows" / "cicd-deploy.yml").read_text()
    assert f"uses: acme/cicd/.github/workflows/deploy.yml@{'0123456789' * 4}" in deploy
    for argv in ([tool("actionlint"), "-no-color"],
                 [tool("zizmor"), "--offline", "--no-progress", "--format", "plain", ".github"]):
        lint = subprocess.run(argv, cwd=flask_app, capture_output=True, text=True, timeout=120)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    # A second run changes nothing it would overwrite, and says so.
    with pytest.raises(CicdError, match="already exist"):
        write(flask_app, plan(flask_app, SUITE), force=False)
    assert write(flask_app, plan(flask_app, SUITE), force=True)[-1] == ".gitignore already ignores .cicd/"


def test_a_dockerfile_makes_a_container_service_and_node_is_detected(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    assert detect(tmp_path).language == "node" and not detect(tmp_path).docker
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    files = plan(tmp_path, SUITE)
    write(tmp_path, files, force=False)
    assert load_environment(tmp_path / "config", "staging").deploy.runtime.kind == "docker"


def test_unknown_projects_and_unpinned_suites_are_refused(tmp_path):
    with pytest.raises(UsageError, match=r"no pyproject\.toml"):
        detect(tmp_path)
    (tmp_path / "requirements.txt").write_text("flask\n")
    with pytest.raises(UsageError, match="OWNER/REPO@<40-hex commit SHA>"):
        plan(tmp_path, "acme/cicd@v1")


def test_ci_installs_the_requirements_the_test_job_needs(tmp_path):
    (tmp_path / "requirements.txt").write_text("pytest\n")
    write(tmp_path, plan(tmp_path, SUITE), force=False)
    ci = yaml.safe_load((tmp_path / ".github" / "workflows" / "cicd-ci.yml").read_text())
    setup = next(step for step in ci["jobs"]["pipeline"]["steps"] if "setup-cicd" in step.get("uses", ""))
    assert setup["with"] == {"requirements": "requirements.txt"}
