"""Values that reach a router config, an argv or a request are checked for that syntax by `cicd validate`,
each with a located one-line error (defects 9 and 13)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cicd.cli import main

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_injection_and_out_of_range_values_are_located_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO_CONFIG, tmp_path / "config")
    path = tmp_path / "config" / "environments" / "staging.yml"
    text = path.read_text()
    for old, new in [
        ("    preview_listen: 127.0.0.1:18081\n",
         '    preview_listen: 127.0.0.1:99999\n    prefix: "/x; error_log injected.log debug; #"\n'),
        ("    listen: 127.0.0.1:18080\n", "    listen: 127.0.0.1:0\n"),
        ("{path: /healthz,", '{path: /healthz, host_header: "a\\r\\nX-Evil: 1",'),
        ("      transport: local\n", '      transport: local\n      address: "1.2.3.4;"\n'),
        ("  releases_to_keep: 5\n", '  releases_to_keep: 5\n  state_path: "--rf.db"\n'),
    ]:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main(["validate"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    expected = {
        "deploy.router.prefix": "cannot go into a router config unquoted",
        "deploy.router.listen": "port 0 is out of range",
        "deploy.router.preview_listen": "port 99999 is out of range",
        "deploy.health.host_header": "not a valid HTTP header value",
        "deploy.hosts[0].address": "not a host name or IP address",
        "deploy.state_path": "is not usable as a path",
    }
    assert len(lines) == len(expected)
    for key, message in expected.items():
        (line,) = [line for line in lines if line.endswith(f"({key})")]
        assert line.startswith("config/environments/staging.yml:") and message in line
