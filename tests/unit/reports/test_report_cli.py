from __future__ import annotations

import json

import pytest
from tests.support.delivery_history import seed_project

from cicd.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    base = tmp_path_factory.mktemp("project")
    return base, seed_project(base)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dora_json_names_its_sources_and_bands(project, capsys):
    base, config = project
    code, out, err = run(capsys, "report", "dora", "--env", "staging", "--json", "--config-dir", str(config),
                         "--repo", str(base), "--no-github")
    assert code == 0, err
    report = json.loads(out)
    assert report["environment"] == "staging"
    assert report["sources"]["deployments"].startswith("deploy history at .cicd/state/staging.db")
    assert "git cannot read" in report["sources"]["commit_times"]  # the seeded project is no git repo
    assert report["sources"]["github_deployments"] == "not used (--no-github)"
    assert report["change_failure_rate"]["failures"] == 1 and report["change_failure_rate"]["changes"] == 5
    assert report["time_to_restore"]["band"] == "elite" and report["time_to_restore"]["meets_target"] is True
    assert report["deployment_frequency"]["deploys"] == 4


def test_dora_text_shows_every_metric_with_target(project, capsys):
    _, config = project
    code, out, _ = run(capsys, "report", "dora", "--env", "production", "--config-dir", str(config),
                       "--since", "2d", "--no-github")
    assert code == 0
    for title in ("Deployment frequency", "Lead time", "Change failure rate", "Time to restore"):
        assert title in out
    assert "0.50 a day" in out and "target more than 1 a day" in out


def test_all_reports_as_json_and_markdown(project, capsys, tmp_path):
    base, config = project
    runs = str(base / ".cicd/runs")
    code, out, err = run(capsys, "report", "all", "--json", "--config-dir", str(config), "--runs-dir", runs,
                         "--workdir", str(base), "--no-github")
    assert code == 0, err
    data = json.loads(out)
    perf, quality = data["reports"]["performance"], data["reports"]["quality"]
    assert perf["runs"] == 12 and perf["jobs"]["unit"]["retries"] >= 1
    assert [step["job"] for step in perf["critical_path"]["jobs"]] == ["unit", "package"]
    assert quality["tests"]["failed_cases"] == ["tests.test_app::test_broken"]
    assert quality["coverage"]["percent"] == 87.34 and quality["lint"] == {"lint": 0}
    staging = next(e for e in data["reports"]["deployment"]["environments"] if e["name"] == "staging")
    assert staging["live"]["version"] == "1.3.0" and staging["rollbacks"] == 1
    assert [p["name"] for p in staging["recent"][0]["phases"]][-1] == "verify"
    out_path = tmp_path / "deep/report.md"
    code, _, err = run(capsys, "report", "deployment", "--format", "md", "--out", str(out_path),
                       "--config-dir", str(config), "--no-github")
    assert code == 0 and "written to" in err
    assert "| 3 | deploy | 1.2.0 | rolled_back |" in out_path.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "dora"], "needs one --env NAME"),
        (["report", "dora", "--env", "staging", "--since", "last week"], "--since 'last week'"),
        (["report", "performance", "--format", "text"], "--format text is for `report dora`"),
        (["report", "dora", "--env", "nowhere"], "nowhere"),
    ],
)
def test_bad_input_is_one_line(project, capsys, argv, message):
    _, config = project
    code, out, err = run(capsys, *argv, "--config-dir", str(config), "--no-github")
    assert code != 0 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_out_is_one_line(project, capsys, tmp_path):
    _, config = project
    blocker = tmp_path / "file"
    blocker.write_text("x")
    argv = ["report", "quality", "--out", str(blocker / "r.md"), "--config-dir", str(config)]
    code, _, err = run(capsys, *argv)
    assert code == 1 and err.startswith("error: cannot write the report to") and "Traceback" not in err
