"""runtime.supervisor: systemd. The generated unit (checked by `systemd-analyze verify` where that
binary exists), its environment file, what the process runtime asks of a host's systemctl (a recording
host), and the refusal on a host whose service manager is not systemd (this machine, for real).

Not tested here: a unit actually started, crashed and restarted by a running systemd. This machine's
PID 1 is not systemd, so nothing can start a unit; docs/DEPLOYMENT.md says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cicd.config import load_environment
from cicd.config.deploy import ProcessRuntime
from cicd.deploy.runtimes import systemd
from cicd.deploy.runtimes.base import Release, Slot
from cicd.deploy.runtimes.process import ProcessRuntimeImpl
from cicd.errors import ConfigValidationError, DeploymentError
from cicd.hosts.local import LocalHost

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:  # tests.support is importable however pytest was started
    sys.path.insert(0, str(REPO))

from tests.support.recording_host import RecordingHost  # noqa: E402

UNIT = "cicd-staging-blue.service"


class SystemdHost(RecordingHost):
    """The recording host with a service manager: units start (a pid), crash (restarts counted), stop."""

    def __init__(self) -> None:
        super().__init__()
        self.units: dict[str, dict[str, str]] = {}

    def _systemctl(self, argv: tuple[str, ...], _input: str) -> str:
        verb, unit = argv[1], argv[-1]
        if verb == "start":
            assert f"{systemd.UNIT_DIR}/{unit}" in self.files, "started before its unit file was written"
            self.next_pid += 1
            self.units[unit] = {"ActiveState": "active", "MainPID": str(self.next_pid), "NRestarts": "0",
                                "ExecMainStatus": "0"}  # fmt: skip
        elif verb == "stop" and unit in self.units:
            self.units[unit].update(ActiveState="inactive", MainPID="0")
        elif verb == "show":
            shown = self.units.get(unit, {"ActiveState": "inactive", "MainPID": "0", "NRestarts": "0"})
            return "".join(f"{key}={value}\n" for key, value in shown.items())
        return ""


def runtime(**settings) -> ProcessRuntimeImpl:
    config = ProcessRuntime(command=[sys.executable, "-m", "app", "--port", "{port}", "--label", "50%$HOME"],
                            supervisor="systemd", env={"MODE": 'say "hi" $USER'}, **settings)  # fmt: skip
    return ProcessRuntimeImpl(config, environment="staging", base_dir="/srv/app")


def test_the_unit_restarts_on_failure_in_the_release_with_the_explicit_environment():
    host = SystemdHost()
    text = runtime(stop_grace_seconds=20).unit_text(host, Slot("blue", 18091), Release("1.2.0"))
    lines = text.splitlines()
    assert "Restart=on-failure" in lines and "RestartSec=1" in lines and "StartLimitIntervalSec=0" in lines
    assert "WorkingDirectory=/home/deploy/.cicd/releases/staging/1.2.0" in lines
    assert "EnvironmentFile=/home/deploy/.cicd/run/staging/blue.env" in lines
    assert "TimeoutStopSec=20" in lines and "KillMode=control-group" in lines
    assert "StandardOutput=append:/home/deploy/.cicd/run/staging/blue.log" in lines
    # every argument quoted; % and $ stay literal (systemd would expand specifiers and variables)
    assert f'ExecStart="{sys.executable}" "-m" "app" "--port" "18091" "--label" "50%%$$HOME"' in lines
    assert not any("MODE" in line for line in lines), "the environment lives in the 0600 file, not the unit"


def verify(unit: Path) -> subprocess.CompletedProcess:
    argv = ["systemd-analyze", "verify", str(unit)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_generated_unit(tmp_path: Path):
    host = LocalHost(cwd=str(tmp_path))
    unit = tmp_path / UNIT
    unit.write_text(runtime().unit_text(host, Slot("blue", 18091), Release("1.2.0")))
    result = verify(unit)
    assert (result.returncode, result.stderr) == (0, "")  # not even a warning: systemd ignores bad lines
    # paths and the description keep `%` literal: `%z` in a releases_dir is no unit specifier at all
    odd = runtime(releases_dir="rel%z/{environment}", run_dir="run%h/{environment}")
    odd_unit = tmp_path / "cicd-staging-odd.service"
    odd_unit.write_text(odd.unit_text(host, Slot("blue", 18091), Release("1.2.0")))
    assert f"WorkingDirectory={tmp_path}/rel%%z/staging/1.2.0" in odd_unit.read_text().splitlines()
    assert f"StandardOutput=append:{tmp_path}/run%%h/staging/blue.log" in odd_unit.read_text().splitlines()
    assert (verify(odd_unit).returncode, verify(odd_unit).stderr) == (0, "")
    # a control character in an argument is a C escape: a raw carriage return would end the line
    escaped = tmp_path / "cicd-staging-escaped.service"
    escaped.write_text(systemd.unit_text(
        description="escaped", argv=[sys.executable, "-c", "pass", "a\rb\tc\nd"],
        working_directory=str(tmp_path), environment_file=str(tmp_path / "env"), log=str(tmp_path / "log"),
        stop_seconds=1,
    ))  # fmt: skip
    assert '"a\\x0db\\x09c\\x0ad"' in escaped.read_text()
    assert (verify(escaped).returncode, verify(escaped).stderr) == (0, "")
    broken = tmp_path / "cicd-staging-green.service"  # the check can fail: a unit systemd would refuse
    broken.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    refused = verify(broken)
    assert "Failed to parse service restart specifier" in refused.stderr


def test_the_environment_file_quotes_values_and_never_shows_one():
    text = systemd.environment_file({"MODE": 'say "hi" $USER `id`', "BACKSLASH": "a\\b"})
    assert text.splitlines() == [
        "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
        'MODE="say \\"hi\\" \\$USER \\`id\\`"', 'BACKSLASH="a\\\\b"',
    ]  # fmt: skip
    with pytest.raises(DeploymentError, match="TOKEN holds a line break") as caught:
        systemd.environment_file({"TOKEN": "s3cret\nline"})
    assert "s3cret" not in str(caught.value)


def test_start_status_stop_go_through_systemctl(monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "hunter2")
    host, slot = SystemdHost(), Slot("blue", 18091)
    process = ProcessRuntimeImpl(
        runtime().settings.model_copy(update={"secrets": ["DB_PASSWORD"]}), environment="staging",
        base_dir="/srv/app",
    )  # fmt: skip
    process.start(host, slot, Release("1.2.0"))
    env_file = host.files["/home/deploy/.cicd/run/staging/blue.env"].decode()
    assert 'DB_PASSWORD="hunter2"' in env_file and 'CICD_COLOR="blue"' in env_file
    assert not any("hunter2" in arg for argv in host.commands for arg in argv), "a secret in an argv"
    started = [argv[:2] for argv in host.commands if argv[0] == "systemctl" and argv[1] != "show"]
    assert started == [("systemctl", "daemon-reload"), ("systemctl", "reset-failed"), ("systemctl", "start")]
    status = process.status(host, slot)
    assert (status.running, status.version, status.restarts) == (True, "1.2.0", 0)
    host.units[UNIT].update(NRestarts="2", ExecMainStatus="1")  # crashed twice, restarted by systemd
    status = process.status(host, slot)
    assert status.restarts == 2 and "last exit status 1" in status.detail
    with pytest.raises(DeploymentError, match="still running"):
        process.start(host, slot, Release("1.3.0"))
    process.stop(host, slot)
    assert not process.status(host, slot).running
    assert f"{systemd.UNIT_DIR}/{UNIT}" not in host.files
    assert "/home/deploy/.cicd/run/staging/blue.env" not in host.files


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="this machine runs systemd")
def test_a_host_without_systemd_is_refused_before_anything_starts(tmp_path: Path):
    host = LocalHost(cwd=str(tmp_path))
    with pytest.raises(DeploymentError, match=r"does not run systemd .* use supervisor: builtin"):
        runtime().start(host, Slot("blue", 18091), Release("1.2.0"))
    with pytest.raises(DeploymentError, match=r"does not run systemd"):  # not even the release unpacked
        runtime(default_artifact=str(REPO / "examples" / "service")).prepare(host, Release("1.2.0"))
    assert list(tmp_path.iterdir()) == [], "nothing written on a refused host"


def write_staging(root: Path, command: str, supervisor: str) -> Path:
    environments = root / "environments"
    environments.mkdir(exist_ok=True)
    path = environments / "staging.yml"
    path.write_text(
        "name: staging\ntype: staging\ndeploy:\n  runtime:\n    kind: process\n"
        f"    command: [{command}]\n    supervisor: {supervisor}\n"
        "  colors: {blue: {port: 18091}, green: {port: 18092}}\n"
    )
    return path


def only_problem(root: Path) -> str:
    with pytest.raises(ConfigValidationError) as caught:
        load_environment(root, "staging")
    [problem] = caught.value.problems
    return problem.render()


def test_an_unknown_supervisor_is_a_located_error(tmp_path: Path):
    write_staging(tmp_path, "app", "upstart")
    assert only_problem(tmp_path).endswith(
        "staging.yml:7:17: error: 'supervisor' must be one of builtin, systemd; got 'upstart' "
        "(deploy.runtime.supervisor)"
    )


def test_a_command_systemd_would_read_as_an_exec_prefix_is_a_located_error(tmp_path: Path):
    write_staging(tmp_path, "+app", "systemd")
    assert only_problem(tmp_path).endswith(
        "staging.yml:6:14: error: command starts with '+app': under supervisor: systemd a leading '+' is "
        "an ExecStart prefix; name the program without it (deploy.runtime.command)"
    )
    write_staging(tmp_path, "+app", "builtin")
    assert load_environment(tmp_path, "staging").deploy is not None  # the built-in one runs it as named
    write_staging(tmp_path, '""', "systemd")
    assert load_environment(tmp_path, "staging").deploy is not None  # no prefix in an empty name
