"""Reading YAML: located marks, malformed input, and hostile input refused fast with one clear line."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import yaml

from cicd.config.source import MAX_DEPTH, SourceError, _yaml_problem, load_document

PIPELINE_TAIL = "stages:\n  - name: a\n    jobs: [{name: j, command: 'true'}]\n"


def load(tmp_path: Path, content: str | bytes):
    path = tmp_path / "pipeline.yml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return load_document(path, "pipeline.yml")


def fatal(tmp_path: Path, content: str | bytes) -> str:
    with pytest.raises(SourceError) as caught:
        load(tmp_path, content)
    return caught.value.problem.render()


def test_marks_of_keys_and_values(tmp_path):
    doc = load(tmp_path, "name: demo\nstages:\n  - name: build\n    jobs:\n      - {name: c, timeout: 5}\n")
    assert doc.key_marks[("stages", 0, "name")] == (3, 5)
    assert doc.value_marks[("stages", 0, "name")] == (3, 11)
    assert doc.value_marks[("stages", 0, "jobs", 0)] == (5, 9)
    assert doc.value_marks[("stages", 0, "jobs", 0, "timeout")] == (5, 28)
    assert doc.data["stages"][0]["jobs"][0]["timeout"] == 5


def test_keys_stay_text_and_values_are_typed(tmp_path):
    doc = load(tmp_path, "on: yes\n1: 2.5\nnull: ~\nflag: false\n")
    assert doc.data == {"on": True, "1": 2.5, "null": None, "flag": False}


def test_malformed_yaml_names_its_line(tmp_path):
    message = fatal(tmp_path, "name: x\nstages:\n  - name: a\n   jobs: [\n")
    assert message == (
        "pipeline.yml:4:4: error: malformed YAML: did not find expected '-' indicator "
        "(while parsing a block collection)"
    )


def test_unclosed_flow_list(tmp_path):
    assert fatal(tmp_path, "name: x\nvariables: {A: [1, 2}\n").startswith(
        "pipeline.yml:2:21: error: malformed YAML"
    )


def test_tab_indentation(tmp_path):
    assert fatal(tmp_path, "name: x\nstages:\n\t- name: a\n").startswith(
        "pipeline.yml:3:1: error: malformed YAML"
    )


def test_empty_file(tmp_path):
    assert fatal(tmp_path, "") == "pipeline.yml:1:1: error: file is empty; expected a mapping of keys"


def test_comments_only_is_empty(tmp_path):
    assert (
        fatal(tmp_path, "# just a comment\n\n")
        == "pipeline.yml:1:1: error: file is empty; expected a mapping of keys"
    )


def test_root_list(tmp_path):
    assert (
        fatal(tmp_path, "- a\n- b\n")
        == "pipeline.yml:1:1: error: the top level must be a mapping of keys, got a list"
    )


def test_root_scalar(tmp_path):
    assert fatal(tmp_path, "hello\n") == (
        "pipeline.yml:1:1: error: the top level must be a mapping of keys, got a single value 'hello'"
    )


def test_two_documents(tmp_path):
    assert fatal(tmp_path, "name: a\n---\nname: b\n") == (
        "pipeline.yml:2:1: error: more than one YAML document in the file (remove the '---' line)"
    )


def test_duplicate_key_is_reported_not_overwritten_silently(tmp_path):
    doc = load(tmp_path, "name: a\nrollback:\n  enabled: true\n  enabled: false\n")
    assert [p.render() for p in doc.problems] == [
        "pipeline.yml:4:3: error: duplicate key 'enabled' (first defined at line 3) (remove one of them) (rollback)"
    ]


def test_merge_keys_merge_and_explicit_keys_win(tmp_path):
    text = "defaults: &d {timeout: 60, retry: 2}\njob:\n  <<: *d\n  retry: 0\n"
    doc = load(tmp_path, text)
    assert doc.data["job"] == {"retry": 0, "timeout": 60}
    assert doc.problems == []
    assert doc.value_marks[("job", "timeout")] == (3, 7)


def test_aliases_share_data(tmp_path):
    doc = load(tmp_path, "a: &x [1, 2]\nb: *x\n")
    assert doc.data["b"] == [1, 2]


def test_unknown_and_python_tags_are_refused_not_run(tmp_path):
    doc = load(tmp_path, "name: !!python/object/apply:os.system ['echo hi']\nother: !custom x\n")
    assert [p.render() for p in doc.problems] == [
        "pipeline.yml:1:7: error: unsupported YAML tag '!!python/object/apply:os.system' (remove the tag)",
        "pipeline.yml:2:8: error: unsupported YAML tag '!custom' (remove the tag)",
    ]


def test_complex_key_is_a_problem(tmp_path):
    doc = load(tmp_path, "? [a, b]\n: 1\nname: x\n")
    assert [p.render() for p in doc.problems] == [
        "pipeline.yml:1:3: error: a key must be plain text, got a list"
    ]
    assert doc.data == {"name": "x"}


def test_undefined_alias(tmp_path):
    assert (
        fatal(tmp_path, "a: *nope\n")
        == "pipeline.yml:1:4: error: undefined alias '*nope' (define it first with '&nope')"
    )


# --- hostile input: each refused with one line, fast, without a traceback ---------------------------


@pytest.fixture
def fast():
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 2.0


def test_alias_bomb(tmp_path, fast):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 12):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    message = fatal(tmp_path, "\n".join(lines) + "\n")
    assert (
        message == "pipeline.yml:5:16: error: aliases expand to more than 20000 values (use fewer aliases)"
    )


def test_recursive_alias(tmp_path, fast):
    assert fatal(tmp_path, "a: &x [*x]\n") == (
        "pipeline.yml:1:8: error: recursive alias '*x' refers to a node that contains it"
    )


def test_deep_flow_nesting(tmp_path, fast):
    # Older PyYAML lets the composer refuse at level MAX_DEPTH (column MAX_DEPTH + 3); newer PyYAML's
    # scanner refuses first, further along the line. Either way: one located line, the same words.
    message = fatal(tmp_path, "a: " + "[" * 300_000 + "]" * 300_000 + "\n")
    assert re.fullmatch(rf"pipeline\.yml:1:\d+: error: nesting is deeper than {MAX_DEPTH} levels", message)
    column = int(message.split(":")[2])
    assert MAX_DEPTH + 3 <= column <= 1010


def test_scanner_nesting_error_reads_as_ours():
    mark = yaml.Mark("pipeline.yml", 0, 4, 1002, None, None)
    err = yaml.scanner.ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)
    problem = _yaml_problem(err, "pipeline.yml", "")
    assert problem.render() == f"pipeline.yml:5:1003: error: nesting is deeper than {MAX_DEPTH} levels"


def test_deep_block_nesting(tmp_path, fast):
    text = "".join(" " * level + f"k{level}:\n" for level in range(200))
    assert fatal(tmp_path, text) == f"pipeline.yml:65:65: error: nesting is deeper than {MAX_DEPTH} levels"


def test_deep_alias_nesting(tmp_path, fast):
    deep = "[" * 40 + "]" * 40
    assert fatal(tmp_path, f"a: &d {deep}\nb: {'[' * 30}*d{']' * 30}\n").startswith(
        "pipeline.yml:2:34: error: alias '*d' nests deeper than"
    )


def test_ten_megabyte_file(tmp_path, fast):
    path = tmp_path / "pipeline.yml"
    with path.open("w") as handle:
        handle.write("name: x\n")
        handle.write(("# " + "x" * 1000 + "\n") * 10_000)
    with pytest.raises(SourceError) as caught:
        load_document(path, "pipeline.yml")
    assert caught.value.problem.render() == (
        "pipeline.yml:1:1: error: file is too large (9.6 MB); config files are limited to 1024 KB"
    )


def test_binary_garbage(tmp_path, fast):
    assert fatal(tmp_path, b"name: x\n\x00\x01\x02" + os.urandom(2048)) == (
        "pipeline.yml:2: error: binary file (contains NUL bytes); expected YAML"
    )


def test_not_utf8(tmp_path, fast):
    assert fatal(tmp_path, "name: x\ntrigger: caf\xe9\n".encode("latin-1")) == (
        "pipeline.yml:2:13: error: not UTF-8 text: invalid byte 0xe9 (save the file as UTF-8)"
    )


def test_control_character(tmp_path, fast):
    assert fatal(tmp_path, "name: a\x07b\n") == (
        "pipeline.yml:1:8: error: malformed YAML: character #x0007 is not allowed (control characters are not allowed)"
    )


def test_utf8_bom_is_accepted(tmp_path):
    assert load(tmp_path, "\ufeffname: x\n" + PIPELINE_TAIL).data["name"] == "x"


def test_unreadable_path_is_a_problem(tmp_path):
    with pytest.raises(SourceError) as caught:
        load_document(tmp_path, "config")
    assert caught.value.problem.render().startswith("config: error: cannot read file")


def test_too_many_values_without_aliases(tmp_path, fast):
    message = fatal(tmp_path, "name: x\nvariables: {A: [" + ",".join(["1"] * 300_000) + "]}\n")
    assert message.endswith("error: more than 20000 values; a config file is far smaller than that")
    assert message.startswith("pipeline.yml:2:")
