"""Flag files in flagd's format: located schema problems, percentage edits, all-or-nothing publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cicd.config.validation import validate_config
from cicd.errors import ConfigValidationError, DeploymentError, UsageError
from cicd.flags.definitions import summarize, with_percent, with_state
from cicd.flags.publish import FlagTarget, live_path, write_everywhere
from cicd.flags.schema import check_flag_file
from cicd.hosts.local import LocalHost

GOOD = {
    "$schema": "https://flagd.dev/schema/v0/flags.json",
    "flags": {
        "quote-v2": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
        "colour": {"state": "ENABLED", "variants": {"red": "r", "blue": "b"}, "defaultVariant": "red"},
    },
}

BAD = """{
  "flags": {
    "quote-v2": {
      "state": "ON",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off"
    },
    "split": {"state": "ENABLED", "variants": {"a": true, "b": false}, "defaultVariant": "a",
      "targeting": {"fractional": [["a", "ten"], ["b", 90]]}}
  }
}
"""


def flag_dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "flags").mkdir(exist_ok=True)
    path = tmp_path / "flags" / "staging.json"
    path.write_text(text)
    return path


def test_schema_problems_name_line_column_and_key(tmp_path):
    problems = [p.render() for p in check_flag_file(flag_dir(tmp_path, BAD)).problems]
    assert len(problems) == 2 and problems[0].startswith(f"{tmp_path}/flags/staging.json:4:16: error:")
    assert any(":4:16: error: 'ON' is not one of ['ENABLED', 'DISABLED']" in p for p in problems)
    assert ":9:" in problems[1] and "'ten' is not of type 'integer'" in problems[1]
    assert problems[1].endswith("(flags.split.targeting.fractional[0][1])")
    assert check_flag_file(flag_dir(tmp_path, json.dumps(GOOD))).problems == []


def test_what_the_schema_cannot_say_and_broken_json(tmp_path):
    missing = dict(GOOD, flags={"x": {"state": "ENABLED", "variants": {"a": True}, "defaultVariant": "b"}})
    [problem] = check_flag_file(flag_dir(tmp_path, json.dumps(missing))).problems
    assert "default variant 'b' of flag 'x' is not one of its variants" in problem.render()
    [broken] = check_flag_file(flag_dir(tmp_path, '{"flags": {},}')).problems
    assert broken.render().startswith(f"{tmp_path}/flags/staging.json:1:14: error: not valid JSON")


def test_cicd_validate_checks_the_flag_files_of_a_config_dir(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "pipeline.yml").write_text("name: x\nsteps:\n  - {name: a, command: 'true'}\n")
    flag_dir(config, BAD)
    with pytest.raises(ConfigValidationError) as caught:
        validate_config(config)
    rendered = [p.render() for p in caught.value.problems]
    assert len(rendered) == 2 and all("flags/staging.json" in line for line in rendered)


def test_percentages_use_fractional_targeting_and_state_changes_keep_it():
    ten = with_percent(GOOD, "quote-v2", 10)
    assert ten["flags"]["quote-v2"]["targeting"] == {"fractional": [["on", 10], ["off", 90]]}
    assert GOOD["flags"]["quote-v2"].get("targeting") is None  # a copy, the input untouched
    off = with_state(ten, "quote-v2", enabled=False)
    assert summarize(off, "quote-v2").describe().startswith("off (disabled")
    assert summarize(with_state(off, "quote-v2", True), "quote-v2").split == {"on": 10, "off": 90}
    blue = with_percent(GOOD, "colour", 30, "blue")
    assert summarize(blue, "colour").describe() == "on, split blue 30%, red 70%"
    with pytest.raises(UsageError, match="one true variant"):
        with_percent(GOOD, "colour", 30)
    with pytest.raises(UsageError, match="no flag named 'nope'") as unknown:
        with_state(GOOD, "nope", True)
    # The flag may be in the repository file already: it only reaches the hosts once pushed.
    assert "`cicd flags push` publishes it" in str(unknown.value.hint)


def test_a_failed_host_puts_back_the_hosts_already_written(tmp_path):
    good, bad = tmp_path / "a", tmp_path / "b"
    good.mkdir()
    bad.mkdir()
    (bad / ".cicd").write_text("a file where the directory should be")  # the write there fails
    hosts = [LocalHost("a", cwd=str(good)), LocalHost("b", cwd=str(bad))]
    target = FlagTarget("staging", hosts, tmp_path / "none.json", lambda: None)
    first = write_everywhere(FlagTarget("staging", hosts[:1], tmp_path / "none.json", lambda: None), GOOD)
    assert first == ["a"]
    with pytest.raises(DeploymentError, match=r"flag change not applied: cannot write .* on b"):
        write_everywhere(target, with_state(GOOD, "quote-v2", False))
    assert json.loads(Path(live_path(hosts[0], "staging")).read_text()) == GOOD  # as before the change
    with pytest.raises(ConfigValidationError, match="'ON' is not one of"):
        bad = {"x": {"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}}
        write_everywhere(target, {"flags": bad})


def test_a_long_value_is_described_not_quoted(tmp_path):
    listed = [{"key": f"flag-{n}", "state": "ENABLED", "variants": {"on": True}} for n in range(5)]
    [problem] = check_flag_file(flag_dir(tmp_path, json.dumps({"flags": listed}, indent=2))).problems
    where = f"{tmp_path}/flags/staging.json:2:12"
    assert problem.render().startswith(f"{where}: error: a list is not of type 'object'")


def test_cicd_validate_checks_the_flag_a_verification_would_turn_off(tmp_path):
    config = tmp_path / "config"
    (config / "environments").mkdir(parents=True)
    (config / "pipeline.yml").write_text("name: x\nsteps:\n  - {name: a, command: 'true'}\n")
    flag_dir(config, json.dumps(GOOD))
    staging = (Path(__file__).resolve().parents[3] / "config" / "environments" / "staging.yml").read_text()
    named = staging.replace("verification: {", "verification: {disable_flag: quote-v3, ", 1)
    assert named != staging
    (config / "environments" / "staging.yml").write_text(named)
    with pytest.raises(ConfigValidationError) as caught:
        validate_config(config)
    [problem] = [p.render() for p in caught.value.problems]
    line = 1 + named.splitlines().index(next(x for x in named.splitlines() if "disable_flag" in x))
    assert f"environments/staging.yml:{line}:" in problem and "disable_flag names 'quote-v3'" in problem
    assert "flags/staging.json does not define" in problem and "(colour, quote-v2)" in problem
    (config / "environments" / "staging.yml").write_text(named.replace("quote-v3", "quote-v2"))
    assert validate_config(config) == 3


def test_list_and_show_warn_when_a_host_has_another_flag_file(tmp_path, capsys):
    """A change killed between two hosts leaves them different; list and show read the first host only,
    so they say which hosts differ and how to make them agree."""
    from cicd.cli.flags import warn_if_split

    roots = [tmp_path / name for name in ("a", "b", "c")]
    for root in roots:
        root.mkdir()
    hosts = [LocalHost(root.name, cwd=str(root)) for root in roots]
    target = FlagTarget("staging", hosts, tmp_path / "config" / "flags" / "staging.json", lambda: None)
    write_everywhere(target, GOOD)
    assert target.disagreeing() == []
    warn_if_split(target)
    assert capsys.readouterr().err == ""

    write_everywhere(FlagTarget("staging", hosts[:2], target.config_file, lambda: None),
                     with_state(GOOD, "quote-v2", False))  # killed before host c
    assert target.disagreeing() == ["c"]
    warn_if_split(target)
    err = capsys.readouterr().err.strip()
    assert err.startswith("warning: the flag file on c differs from a's (a change stopped half-way?)")
    assert err.endswith(f"publish {target.config_file} with cicd flags push --env staging")
