from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from cicd.errors import UsageError
from cicd.reports import commits, dora
from cicd.reports.delivery import parse_since
from cicd.state.records import Deployment

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SWITCH_AT = 8  # phases before and including switch, 1 s each


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deploy(number: int, version: str, status: str, hours_ago: float, kind: str = "deploy",
           previous: str | None = None) -> Deployment:
    started = NOW - timedelta(hours=hours_ago)
    names = ["hooks", "prepare", "stop", "start", "health", "smoke", "baseline", "switch", "warm", "verify"]
    if status == "failed":
        names = names[:5]  # failed at health: never took traffic
    phases = [{"name": n, "status": "succeeded", "seconds": 1.0} for n in names]
    if status == "rolled_back":
        phases[-1] = {"name": "verify", "status": "failed", "seconds": 30.0}
    took = sum(p["seconds"] for p in phases)
    return Deployment(number, kind, version, status, "ci", stamp(started), previous_version=previous,
                      finished_at=stamp(started + timedelta(seconds=took)), phases=phases)


def test_four_metrics_bands_and_targets():
    history = [
        deploy(1, "1.0.0", "succeeded", 48),
        deploy(2, "1.1.0", "rolled_back", 40),  # restored 31 s after its switch (warm + verify)
        deploy(3, "1.1.1", "failed", 30),  # failed before the switch: not a change
        deploy(4, "1.2.0", "succeeded", 20),
        deploy(5, "1.3.0", "succeeded", 10),
        deploy(6, "1.2.0", "succeeded", 9, kind="rollback", previous="1.3.0"),  # 1.3.0 was bad
    ]
    commit_times = {"1.0.0": NOW - timedelta(hours=48.5), "1.2.0": NOW - timedelta(hours=22)}
    report = dora.compute(history, commit_times, NOW - timedelta(days=2), NOW)

    frequency = report["deployment_frequency"]
    assert frequency["deploys"] == 3 and frequency["value"] == 1.5
    assert frequency["band"] == "elite" and frequency["meets_target"] is True

    # 1.0.0: 30 min + 10 s; 1.2.0: 2 h + 10 s; 1.3.0 failed (rolled away), so it is no lead time sample
    lead = report["lead_time"]
    assert lead["samples"] == 2 and lead["without_commit"] == 0
    assert lead["value"] == pytest.approx((30 * 60 + 10 + 2 * 3600 + 10) / 2)
    assert lead["band"] == "high" and lead["meets_target"] is False

    rate = report["change_failure_rate"]  # changes: 1.0.0, 1.1.0 (rolled back), 1.2.0, 1.3.0 (rolled away)
    assert (rate["failures"], rate["changes"], rate["value"]) == (2, 4, 0.5)
    assert rate["band"] == "low" and rate["meets_target"] is False

    restore = report["time_to_restore"]  # 1.1.0: switch end -> finish = warm 1 s + verify 30 s
    assert restore["samples"] == 2
    # 1.3.0 was live from the end of its deploy (10 h ago + 10 s) to the end of the rollback (9 h ago + 10 s)
    assert restore["value"] == pytest.approx((31.0 + 3600.0) / 2)
    assert restore["band"] == "elite" and restore["meets_target"] is False


def test_a_failure_after_the_switch_is_restored_by_the_next_good_deploy():
    started = NOW - timedelta(hours=5)
    phases = [{"name": n, "status": "succeeded", "seconds": 2.0} for n in ("prepare", "switch")]
    phases.append({"name": "verify", "status": "failed", "seconds": 2.0})
    broken = Deployment(1, "deploy", "2.0.0", "failed", "ci", stamp(started),
                        finished_at=stamp(started + timedelta(seconds=6)), phases=phases)
    fixed = deploy(2, "2.0.1", "succeeded", 4)  # finishes 4 h ago + 10 s
    found = dora.changes([broken, fixed])
    assert [c.failed for c in found] == [True, False]
    assert found[0].restored_at is not None
    assert (found[0].restored_at - found[0].live_at).total_seconds() == pytest.approx(3600 + 10 - 4)


def test_no_history_means_no_data_not_zero():
    report = dora.compute([], {}, NOW - timedelta(days=30), NOW)
    assert report["deployment_frequency"]["value"] == 0 and report["deployment_frequency"]["band"] == "low"
    for key in ("lead_time", "change_failure_rate", "time_to_restore"):
        assert report[key]["value"] is None and report[key]["meets_target"] is None


def test_window_excludes_older_deploys():
    history = [deploy(1, "0.9.0", "rolled_back", 24 * 40), deploy(2, "1.0.0", "succeeded", 1)]
    report = dora.compute(history, {}, NOW - timedelta(days=30), NOW)
    assert report["change_failure_rate"]["changes"] == 1


@pytest.mark.parametrize(
    ("text", "hours"), [("30d", 720), ("12h", 12), ("2w", 336), ("2026-11-29T12:00:00+00:00", 24)]
)
def test_since(text, hours):
    assert NOW - parse_since(text, NOW) == timedelta(hours=hours)


def test_since_rejects_nonsense_in_one_line():
    with pytest.raises(UsageError, match="30d"):
        parse_since("last month", NOW)


def git(repo, *argv, env=None):
    return subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_versions_find_their_commits_by_tag_hash_or_github_sha(tmp_path):
    git(tmp_path, "init", "-q")
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin"}
    shas = []
    for day in (1, 2, 3):
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = f"2026-11-0{day}T10:00:00Z"
        git(tmp_path, "commit", "-q", "--allow-empty", "-m", f"c{day}", env=env)
        shas.append(git(tmp_path, "rev-parse", "HEAD"))
    git(tmp_path, "tag", "-a", "v1.0.0", shas[0], "-m", "release", env=env)
    index = commits.read_index(tmp_path)
    times = index.commit_times(
        ["1.0.0", f"1.1.0+g{shas[1][:9]}", "2.0.0", "9.9.9"], {"2.0.0": shas[2]}
    )
    assert times == {
        "1.0.0": datetime(2026, 11, 1, 10, tzinfo=UTC),
        f"1.1.0+g{shas[1][:9]}": datetime(2026, 11, 2, 10, tzinfo=UTC),
        "2.0.0": datetime(2026, 11, 3, 10, tzinfo=UTC),
    }


def test_no_repository_is_a_note_not_a_crash(tmp_path):
    index = commits.read_index(tmp_path / "missing")
    assert index.problem and "git cannot read" in index.problem
    assert index.commit_times(["1.0.0"]) == {}


def test_a_history_younger_than_the_window_is_measured_from_its_first_deploy():
    ten_days = [deploy(n, f"1.{n}.0", "succeeded", 24 * (10 - n)) for n in range(5)]
    report = dora.compute(ten_days, {}, NOW - timedelta(days=30), NOW)
    assert report["deployment_frequency"]["days"] == 10 and report["deployment_frequency"]["value"] == 0.5
    within_an_hour = [deploy(1, "1.0.0", "succeeded", 1), deploy(2, "1.1.0", "succeeded", 0.5)]
    report = dora.compute(within_an_hour, {}, NOW - timedelta(days=30), NOW)
    assert report["deployment_frequency"]["days"] == 1 and report["deployment_frequency"]["value"] == 2
