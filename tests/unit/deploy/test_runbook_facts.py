"""docs/RUNBOOKS.md is read by a tired person who cannot check it against the code: the facts it states
about the GitHub path, the CLI and the lock must be those of the files they come from."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from cicd.cli import build_parser

REPO = Path(__file__).resolve().parents[3]
RUNBOOK = (REPO / "docs" / "RUNBOOKS.md").read_text()


def section(title: str) -> str:
    start = RUNBOOK.index(f"## {title}")
    end = RUNBOOK.find("\n## ", start + 1)
    return RUNBOOK[start : end if end > 0 else None]


def workflow(name: str) -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())


def test_the_github_path_names_the_real_inputs_branch_approval_and_timing() -> None:
    text = section("Rolling back through GitHub")
    inputs = workflow("rollback.yml")[True]["workflow_dispatch"]["inputs"]  # `on` parses as True
    for name in inputs:
        assert f"`{name}`" in text, name
    assert set(inputs["environment"]["options"]) <= set(re.findall(r"`(\w+)`", text))
    production = yaml.safe_load((REPO / "config" / "environments" / "production.yml").read_text())
    approval = production["approval"]
    assert approval["required"] and approval["prevent_self_review"]
    assert "prevent_self_review: true" in text and "cannot approve" in text
    assert f"Use workflow from: `{approval.get('deployment_branches', 'main')}`" in text
    assert f"wait_timer_minutes: {approval.get('wait_timer_minutes', 0)}" in text
    assert f"verification window, {production['deploy']['verification']['window_seconds']} s" in text
    assert f"`lock_ttl_seconds` ({production['deploy']['lock_ttl_seconds']} s)" in text
    group = workflow("deploy.yml")["jobs"]["deploy"]["concurrency"]["group"]
    assert "rollback-{0}-{1}" in group and "github.run_id" in group  # a group of its own run
    assert "concurrency group of its own run" in text and "cicd rollback --wait" in text


def test_the_3am_path_confirms_with_a_request_chooses_a_version_and_recovers_a_dead_lock() -> None:
    text = section("Rolling back at 3 a.m.")
    assert "Confirm with a real request" in text and "curl -s" in text
    assert "--to 1.9.3" in text and "VERIFIED" in text
    assert "--steal-stale-lock" in text and "ps -p" in text
    assert "fresh heartbeat does not prove" in text
    stale = section("Releasing a stuck lock")
    assert "smaller than the TTL means it is still" not in stale  # the old, wrong rule
    assert "ps -p" in stale


def test_every_cli_flag_the_runbook_uses_exists() -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    used = 0
    command = re.compile(r"cicd (rollback|status|accept|unlock|lock|history|deploy) ([^`\n]*)")
    for verb, rest in command.findall(RUNBOOK):
        options = {o for action in verbs[verb]._actions for o in action.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest):
            assert flag in options, (verb, flag)
            used += 1
    assert used > 20


def test_status_exit_codes_are_those_documented() -> None:
    from cicd.deploy.status import EXIT_CODES

    text = section("What status says")
    for health, code in EXIT_CODES.items():
        assert f"`{code}` {health}" in text


def test_the_flag_drill_and_postmortem_paths_name_the_real_workflows_inputs_and_options() -> None:
    kill = section("Turning a feature off (kill switch)")
    for name in workflow("flags.yml")[True]["workflow_dispatch"]["inputs"]:
        assert f"`{name}`" in kill, name
    from cicd.flags.publish import LEASE_SECONDS, LEASE_SECONDS_PER_HOST

    assert f"after {LEASE_SECONDS:g} s plus {LEASE_SECONDS_PER_HOST:g} s per host" in kill
    weekly = workflow("drill.yml")[True]["schedule"][0]["cron"]
    assert weekly.endswith(" 1") and "every Monday" in section("Rollback drills")
    saved = section("A deploy turned a flag off instead of rolling back")
    assert "`deploy.verification.disable_flag: FLAG`" in saved
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    used = 0
    commands = r"cicd (drill|postmortem|audit show|flags \w+|promotion \w+) ([^`\n]*)"
    for verb, rest in re.findall(commands, RUNBOOK):
        words = verb.split()
        chosen = verbs[words[0]]
        if len(words) > 1:
            chosen = chosen._subparsers._group_actions[0].choices[words[1]]
        options = {o for action in chosen._actions for o in action.option_strings}
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest):
            assert flag in options, (verb, flag)
            used += 1
    assert used > 8
