"""The scanners' policy file: located errors for typos, expired or open-ended ignores; Trivy's file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cicd.cli import main
from cicd.errors import ConfigValidationError
from cicd.supply import scan_policy

TODAY = dt.date(2026, 11, 30)
REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "security-policy.yml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigValidationError) as info:
        scan_policy.load(path, TODAY)
    return [p.render() for p in info.value.problems]


def outputs_of(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name<<DELIM / value / DELIM` records."""
    lines, found = text.splitlines(), {}
    for index, line in enumerate(lines):
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            found[name] = lines[index + 1] if lines[index + 2] == delimiter else "?"
    return found


def test_the_repository_policy_is_valid_today() -> None:
    policy = scan_policy.load(REPO / "config" / "security-policy.yml", dt.date.today())
    assert policy.severities == ("HIGH", "CRITICAL") and policy.ignore_unfixed


def test_live_ignores_become_trivy_ignores_with_their_expiry(tmp_path: Path) -> None:
    path = write(tmp_path, """trivy:
  severities: [CRITICAL]
  ignores:
    - {id: CVE-2026-1234, expires: 2027-01-31, reason: "not reachable: we never parse TIFF"}
""")
    policy = scan_policy.load(path, TODAY)
    assert policy.severities == ("CRITICAL",) and policy.ignore_unfixed
    assert scan_policy.trivy_ignore_file(policy).splitlines()[1:] == [
        "vulnerabilities:",
        '  - id: "CVE-2026-1234"',
        '    statement: "not reachable: we never parse TIFF"',
        "    expired_at: 2027-01-31",
    ]


def test_an_expired_ignore_fails_the_gate_naming_line_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, """trivy:
  ignores:
    - {id: GHSA-aaaa-bbbb-cccc, expires: 2027-02-01, reason: fine}
    - {id: CVE-2025-1, expires: 2026-11-29, reason: waiting for upstream}
""")
    assert problems(path) == [
        f"{path}:4: error: ignore of CVE-2025-1 expired on 2026-11-29"
        " (fix or upgrade, or renew it with a new date) (trivy.ignores[1])"
    ]


def test_typos_unknown_severities_and_open_ended_ignores_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, """trivy:
  severity: [HIGH]
  severities: [HIGH, CRITCAL]
  ignores:
    - {id: CVE-2026-2, reason: later}
    - {id: CVE-2026-3, expires: 2029-01-01, reason: much later}
    - {id: CVE-2026-4, expires: 2027-01-01}
    - {id: CVE-2026-5, expire: 2027-01-01, reason: typo}
""")
    found = problems(path)
    assert f"{path}:2: error: unknown key 'severity' (did you mean 'severities'?) (trivy.severity)" in found
    assert any("unknown severity 'CRITCAL'" in p for p in found)
    assert any(":5: error: CVE-2026-2 has no expiry date" in p for p in found)
    assert any(":6: error: ignore of CVE-2026-3 runs too long (pick a date before 2027-12-01)" in p
               for p in found)
    assert any(":7: error: ignore of CVE-2026-4 needs a reason" in p for p in found)
    assert any("unknown key 'expire' (did you mean 'expires'?)" in p for p in found)


def test_cli_writes_trivy_ignores_and_outputs_or_exits_1(tmp_path: Path, capsys, monkeypatch) -> None:
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    good = write(tmp_path, "trivy:\n  ignores: [{id: CVE-2026-9, expires: 2026-12-24, reason: in Jan}]\n")
    ignore_file = tmp_path / "trivyignore.yaml"
    argv = ["supply", "scan-policy", "--policy", str(good), "--trivyignore", str(ignore_file),
            "--today", "2026-11-30"]
    assert main(argv) == 0
    assert "expired_at: 2026-12-24" in ignore_file.read_text()
    outputs = outputs_of(output.read_text())
    assert outputs == {
        "severity": "HIGH,CRITICAL", "ignore-unfixed": "true", "trivyignores": str(ignore_file)
    }
    capsys.readouterr()
    assert main([*argv[:-1], "2026-12-25"]) == 1
    assert "ignore of CVE-2026-9 expired on 2026-12-24" in capsys.readouterr().err
