from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from tests.support.delivery_history import seed_project

from cicd.cli import main


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_from_seeded_history(tmp_path, capsys):
    config = seed_project(tmp_path)
    assert main(["metrics", "--config-dir", str(config), "--runs-dir", str(tmp_path / ".cicd/runs")]) == 0
    text = capsys.readouterr().out
    values = samples(text)
    staging = (("environment", "staging"),)
    assert values[("cicd_deploys_total", (("environment", "staging"), ("status", "succeeded")))] == 4
    assert values[("cicd_deploys_total", (("environment", "staging"), ("status", "rolled_back")))] == 1
    assert values[("cicd_rollbacks_total", staging)] == 1
    assert values[("cicd_deploy_duration_seconds_count", staging)] == 5
    live = ("cicd_live_version_info", (("color", "green"), ("digest", "sha256:<script>alert(1)</script>"),
                                       ("environment", "staging"), ("version", "1.3.0")))
    assert values[live] == 1
    assert values[("cicd_verification_passed", (("environment", "staging"), ("version", "1.3.0")))] == 1
    assert values[("cicd_dora_change_failure_rate", staging)] == 0.2
    assert values[("cicd_pipeline_job_seconds", (("job", "unit"), ("pipeline", "sample-service"),
                                                 ("status", "success")))] == 12.5
    assert "_created" not in text


def test_textfile_for_node_exporter(tmp_path, capsys):
    config = seed_project(tmp_path)
    target = tmp_path / "textfile/cicd.prom"
    target.parent.mkdir()
    argv = ["metrics", "--env", "production", "--textfile", str(target), "--config-dir", str(config)]
    assert main(argv) == 0
    assert capsys.readouterr().out == ""
    values = samples(target.read_text())
    assert values[("cicd_deploys_total", (("environment", "production"), ("status", "succeeded")))] == 2
    assert not any(labels and ("environment", "staging") in labels for _, labels in values)


def test_bad_textfile_name_and_unreachable_gateway_are_one_line(tmp_path, capsys):
    config = seed_project(tmp_path)
    assert main(["metrics", "--textfile", str(tmp_path / "x.txt"), "--config-dir", str(config)]) == 2
    assert "only files ending in .prom" in capsys.readouterr().err
    code = main(["metrics", "--push", "http://127.0.0.1:9", "--config-dir", str(config)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: cannot push to the Pushgateway at http://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1
